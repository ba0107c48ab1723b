/* test_encode.c — the preprocessing encoding: each transform against
 * hand-computed values, the fit on training rows only, targets and their
 * inverse, raw records encoding to the same bits as table rows, and the
 * serialized form: round trips, and corrupt, truncated and future-version
 * bytes refused. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/nn_internal.h"
#include "table_util.h"

static nn_encoder *fit(const nn_table *t, const uint32_t *rows, size_t n,
                       const nn_encode_options *o) {
  nn_encoder *e = NULL;
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_encoder_fit(t, rows, n, o, &e, &err), NN_OK, "fit: %s", err.message);
  return e;
}

static float *encode(const nn_encoder *e, const nn_table *t, const uint32_t *rows, size_t n) {
  float *x = calloc(n * (size_t)nn_encoder_width(e) + 1, sizeof *x);
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_encoder_apply(e, t, rows, n, x, &err), NN_OK, "apply: %s", err.message);
  return x;
}

static const uint32_t ALL[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

Test(encode, number_mean_impute_and_standardize) {
  nn_table *t = table_ok("x\n1\n2\n3\n4\nNA\n");
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  nn_encoder *e = fit(t, ALL, 5, &o);
  cr_assert_eq(nn_encoder_width(e), 1);
  /* fill 2.5; imputed 1 2 3 4 2.5: mean 2.5, variance (2.25+0.25+0.25+2.25+0)/5 = 1 */
  float *x = encode(e, t, NULL, 5);
  float want[] = {-1.5f, -0.5f, 0.5f, 1.5f, 0.0f};
  for (int i = 0; i < 5; i++) cr_assert_eq(x[i], want[i], "row %d: %g", i, (double)x[i]);
  nn_encoder_column_info info;
  cr_assert_eq(nn_encoder_column(e, 0, &info), NN_OK);
  cr_assert(info.fill[0] == 2.5 && info.mean[0] == 2.5 && info.scale[0] == 1.0);
  free(x);
  nn_encoder_free(e);
  nn_table_free(t);
}

Test(encode, median_and_constant_impute_with_indicator) {
  nn_table *t = table_ok("x\n1\n2\n10\nNA\n");
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  o.by_type[NN_COL_INTEGER].impute = NN_IMPUTE_MEDIAN;
  o.by_type[NN_COL_INTEGER].standardize = 0;
  o.by_type[NN_COL_INTEGER].missing_indicator = 1;
  nn_encoder *e = fit(t, ALL, 4, &o);
  cr_assert_eq(nn_encoder_width(e), 2);
  float *x = encode(e, t, NULL, 4);
  float want[] = {1, 0, 2, 0, 10, 0, 2, 1}; /* median of 1 2 10 is 2 */
  for (int i = 0; i < 8; i++) cr_assert_eq(x[i], want[i], "value %d: %g", i, (double)x[i]);
  free(x);
  nn_encoder_free(e);
  /* an even count: the mean of the middle two; a constant, per column */
  nn_encode_column constant = o.by_type[NN_COL_INTEGER];
  constant.impute = NN_IMPUTE_CONSTANT;
  constant.fill_value = -1;
  const nn_encode_column *per[1] = {&constant};
  o.columns = per;
  e = fit(t, ALL, 4, &o);
  x = encode(e, t, NULL, 4);
  cr_assert_eq(x[6], -1.0f);
  free(x);
  nn_encoder_free(e);
  o.columns = NULL;
  uint32_t two[] = {0, 2};
  e = fit(t, two, 2, &o);
  nn_encoder_column_info info;
  nn_encoder_column(e, 0, &info);
  cr_assert_eq(info.fill[0], 5.5, "median of 1 and 10");
  nn_encoder_free(e);
  nn_table_free(t);
}

/* A validation row's extreme value must not move the statistics. */
Test(encode, fitted_on_training_rows_only) {
  nn_table *t = table_ok("x,c\n1,a\n3,a\n1000000000,b\nNA,b\n");
  uint32_t train[] = {0, 1, 3};
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  nn_encoder *e = fit(t, train, 3, &o);
  nn_encoder_column_info info;
  nn_encoder_column(e, 0, &info);
  cr_assert_eq(info.fill[0], 2.0, "mean of 1 and 3, not of the validation row");
  cr_assert_eq(info.mean[0], 2.0);
  cr_assert_float_eq(info.scale[0], sqrt(2.0 / 3), 1e-15); /* 1 3 2: deviations 1 1 0 over 3 */
  nn_encoder_column(e, 1, &info);
  cr_assert_eq(info.n_categories, 2, "b is in a training row (missing x, but c is b)");
  nn_encoder_free(e);
  uint32_t only_a[] = {0, 1};
  e = fit(t, only_a, 2, &o);
  nn_encoder_column(e, 1, &info);
  cr_assert_eq(info.n_categories, 1, "b appears in validation rows only: not kept");
  float *x = encode(e, t, NULL, 4);
  /* width: x, then a and other */
  cr_assert(x[3 * 0 + 1] == 1 && x[3 * 0 + 2] == 0, "a in its slot");
  cr_assert(x[3 * 2 + 1] == 0 && x[3 * 2 + 2] == 1, "b goes to other");
  free(x);
  nn_encoder_free(e);
  nn_table_free(t);
}

Test(encode, one_hot_keeps_the_most_frequent) {
  nn_table *t = table_ok("c\nz\ny\nz\nx\ny\nz\nw\n\n");
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  o.by_type[NN_COL_CATEGORY].max_categories = 2;
  o.by_type[NN_COL_CATEGORY].missing_indicator = 1;
  nn_encoder *e = fit(t, ALL, 8, &o);
  /* z 3, y 2 kept, in text order: y then z; then other; then missing */
  cr_assert_eq(nn_encoder_width(e), 4);
  cr_assert_str_eq(nn_encoder_category(e, 0, 0), "y");
  cr_assert_str_eq(nn_encoder_category(e, 0, 1), "z");
  cr_assert_null(nn_encoder_category(e, 0, 2));
  float *x = encode(e, t, NULL, 8);
  float want[8][4] = {{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0},
                      {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
  cr_assert(memcmp(x, want, sizeof want) == 0);
  free(x);
  nn_encoder_free(e);
  /* ties go by text: x and w once each, with room for three: z y w */
  o.by_type[NN_COL_CATEGORY].max_categories = 3;
  e = fit(t, ALL, 8, &o);
  cr_assert_str_eq(nn_encoder_category(e, 0, 0), "w");
  nn_encoder_free(e);
  nn_table_free(t);
}

Test(encode, booleans_are_zero_one) {
  nn_table *t = table_ok("b\ntrue\nfalse\nyes\nNA\n");
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  nn_encoder *e = fit(t, ALL, 4, &o);
  float *x = encode(e, t, NULL, 4);
  cr_assert(x[0] == 1 && x[1] == 0 && x[2] == 1);
  cr_assert_float_eq(x[3], 2.0f / 3, 1e-7, "imputed with the share of true");
  free(x);
  nn_encoder_free(e);
  nn_table_free(t);
}

Test(encode, datetime_parts) {
  /* 2024-03-10 was a Sunday (6), day 31 + 29 + 10 = 70 of a leap year */
  nn_table *t = table_ok("d\n2024-03-10T15:30:00Z\n2023-01-01\n");
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  o.by_type[NN_COL_DATETIME].standardize = 0;
  nn_encoder *e = fit(t, ALL, 2, &o);
  cr_assert_eq(nn_encoder_width(e), 5);
  float *x = encode(e, t, NULL, 2);
  float want[10] = {2024, 3, 6, 70, 15, 2023, 1, 6, 1, 0}; /* 2023-01-01: a Sunday */
  for (int i = 0; i < 10; i++) cr_assert_eq(x[i], want[i], "part %d: %g", i, (double)x[i]);
  free(x);
  nn_encoder_free(e);
  o.by_type[NN_COL_DATETIME].cyclic = 1;
  e = fit(t, ALL, 2, &o);
  cr_assert_eq(nn_encoder_width(e), 9);
  x = encode(e, t, NULL, 1);
  cr_assert_float_eq(x[1], (float)sin(2 * M_PI * 3 / 12), 1e-6, "sin month");
  cr_assert_float_eq(x[2], (float)cos(2 * M_PI * 3 / 12), 1e-6, "cos month");
  cr_assert_float_eq(x[7], (float)sin(2 * M_PI * 15 / 24), 1e-6, "sin hour");
  free(x);
  nn_encoder_free(e);
  nn_table_free(t);
}

Test(encode, regression_target_and_inverse) {
  nn_table *t = table_ok("x,mpg\n1,10\n2,20\n3,30\n4,NA\n");
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  o.target = 1;
  uint32_t train[] = {0, 1, 2};
  nn_encoder *e = fit(t, train, 3, &o);
  cr_assert_eq(nn_encoder_width(e), 1, "the target is not an input");
  cr_assert_eq(nn_encoder_columns(e), 1);
  nn_target_kind kind;
  double mean, scale;
  cr_assert_str_eq(nn_encoder_target(e, &kind, &mean, &scale, NULL), "mpg");
  cr_assert_eq(kind, NN_TARGET_REGRESSION);
  cr_assert_eq(mean, 20);
  cr_assert_float_eq(scale, sqrt(200.0 / 3), 1e-12);
  float y[3];
  nn_error err;
  cr_assert_eq(nn_encoder_apply_target(e, t, train, 3, y, NULL, &err), NN_OK);
  cr_assert(y[1] == 0 && y[0] == -y[2]);
  double back[3];
  nn_encoder_unscale(e, y, 3, back);
  for (int i = 0; i < 3; i++) cr_assert_float_eq(back[i], 10.0 * (i + 1), 1e-5);
  uint32_t with_missing[] = {3};
  cr_assert_eq(nn_encoder_apply_target(e, t, with_missing, 1, y, NULL, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "mpg");
  nn_encoder_free(e);
  nn_encoder *bad = NULL;
  cr_assert_eq(nn_encoder_fit(t, ALL, 4, &o, &bad, &err), NN_EINVAL, "a training row lacks y");
  cr_assert_null(bad);
  nn_table_free(t);
}

Test(encode, classification_target) {
  nn_table *t = table_ok("x,species\n1,Gentoo\n2,Adelie\n3,Gentoo\n4,Chinstrap\n");
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  o.target = 1;
  uint32_t train[] = {0, 1, 2};
  nn_encoder *e = fit(t, train, 3, &o);
  nn_target_kind kind;
  int classes;
  nn_encoder_target(e, &kind, NULL, NULL, &classes);
  cr_assert_eq(kind, NN_TARGET_CLASSIFICATION);
  cr_assert_eq(classes, 3, "classes from the whole column");
  cr_assert_str_eq(nn_encoder_class(e, 0), "Adelie");
  cr_assert_str_eq(nn_encoder_class(e, 2), "Gentoo");
  int32_t labels[4];
  cr_assert_eq(nn_encoder_apply_target(e, t, NULL, 4, NULL, labels, NULL), NN_OK);
  cr_assert(labels[0] == 2 && labels[1] == 0 && labels[2] == 2 && labels[3] == 1);
  nn_encoder_free(e);
  o.target_kind = NN_TARGET_REGRESSION;
  nn_error err;
  cr_assert_eq(nn_encoder_fit(t, train, 3, &o, &e, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "species");
  o.target = 0;
  o.target_kind = NN_TARGET_CLASSIFICATION; /* numbers as classes: their text */
  e = fit(t, train, 3, &o);
  cr_assert_str_eq(nn_encoder_class(e, 3), "4");
  nn_encoder_free(e);
  nn_table_free(t);
}

static const char *PENGUINS = "island,mass,sex,seen,ok\n"
                              "Biscoe,4200,male,2024-01-02,true\n"
                              "Dream,3800.5,NA,2024-02-03T10:00:00Z,false\n"
                              "Biscoe,,female,,yes\n"
                              "Torgersen,5000,female,2023-12-31,no\n";

/* A record encodes to the bits of the table row it came from. */
Test(encode, records_equal_table_rows_bit_for_bit) {
  nn_table *t = table_ok(PENGUINS);
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  o.by_type[NN_COL_NUMBER].missing_indicator = 1;
  o.by_type[NN_COL_DATETIME].cyclic = 1;
  uint32_t train[] = {0, 1, 2};
  nn_encoder *e = fit(t, train, 3, &o);
  int w = nn_encoder_width(e);
  float *x = encode(e, t, NULL, 4);
  /* record cells in the encoder's order, some as JSON would give them */
  nn_cell cells[4][5] = {
      {{NN_CELL_TEXT, "Biscoe", 6, 0}, {NN_CELL_NUMBER, NULL, 0, 4200}, {NN_CELL_TEXT, "male", 4, 0},
       {NN_CELL_TEXT, "2024-01-02", 10, 0}, {NN_CELL_BOOLEAN, NULL, 0, 1}},
      {{NN_CELL_TEXT, "Dream", 5, 0}, {NN_CELL_TEXT, "3800.5", 6, 0}, {NN_CELL_MISSING, NULL, 0, 0},
       {NN_CELL_TEXT, "2024-02-03T11:00:00+01:00", 25, 0}, {NN_CELL_TEXT, "false", 5, 0}},
      {{NN_CELL_TEXT, "Biscoe", 6, 0}, {NN_CELL_TEXT, "NA", 2, 0}, {NN_CELL_TEXT, "female", 6, 0},
       {NN_CELL_MISSING, NULL, 0, 0}, {NN_CELL_TEXT, "yes", 3, 0}},
      {{NN_CELL_TEXT, "Torgersen", 9, 0}, {NN_CELL_NUMBER, NULL, 0, 5000},
       {NN_CELL_TEXT, "female", 6, 0}, {NN_CELL_TEXT, "2023-12-31", 10, 0},
       {NN_CELL_NUMBER, NULL, 0, 0}}};
  /* the encoder's columns are the table's, in order */
  cr_assert_eq(nn_encoder_find(e, "seen", 4), 3);
  float *xr = calloc(4 * (size_t)w, sizeof *xr);
  nn_error err;
  cr_assert_eq(nn_encoder_apply_records(e, &cells[0][0], 4, xr, NULL, &err), NN_OK, "%s",
               err.message);
  cr_assert(memcmp(x, xr, 4 * (size_t)w * sizeof *x) == 0, "records and rows differ");
  /* Torgersen was not in the training rows: the other slot of island */
  nn_encoder_column_info info;
  nn_encoder_column(e, 0, &info);
  cr_assert_eq(info.n_categories, 2);
  cr_assert_eq(xr[3 * w + info.n_categories], 1.0f);
  /* text in a number column names the column and the record */
  size_t bad_row = 99;
  cells[2][1] = (nn_cell){NN_CELL_TEXT, "heavy", 5, 0};
  cr_assert_eq(nn_encoder_apply_records(e, &cells[0][0], 4, xr, &bad_row, &err), NN_EINVAL);
  cr_assert_eq(bad_row, 2);
  cr_assert_str_eq(err.field, "mass");
  cr_assert(strstr(err.message, "record 3") != NULL, "%s", err.message);
  cells[2][1] = (nn_cell){NN_CELL_MISSING, NULL, 0, 0};
  cells[1][3] = (nn_cell){NN_CELL_TEXT, "soon", 4, 0};
  cr_assert_eq(nn_encoder_apply_records(e, &cells[0][0], 4, xr, &bad_row, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "seen");
  cells[1][3] = (nn_cell){NN_CELL_MISSING, NULL, 0, 0};
  cells[1][4] = (nn_cell){NN_CELL_NUMBER, NULL, 0, 2};
  cr_assert_eq(nn_encoder_apply_records(e, &cells[0][0], 4, xr, &bad_row, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "ok");
  free(x);
  free(xr);
  nn_encoder_free(e);
  nn_table_free(t);
}

Test(encode, another_table_by_name_and_type) {
  nn_table *t = table_ok("a,c\n1,x\n2,y\n");
  nn_table *u = table_ok("c,a\nq,1.5\ny,2\n");   /* other order, number instead of integer */
  nn_table *v = table_ok("a,c\nred,x\nblue,y\n"); /* a is a category there */
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  nn_encoder *e = fit(t, ALL, 2, &o);
  float *x = encode(e, u, NULL, 2);
  cr_assert(x[0] == 0 && x[1] == 0 && x[2] == 0 && x[3] == 1, "q is other");
  cr_assert(x[4] == 1 && x[6] == 1, "y matched by text");
  float y[6];
  nn_error err;
  cr_assert_eq(nn_encoder_apply(e, v, NULL, 2, y, &err), NN_ESHAPE);
  cr_assert_str_eq(err.field, "a");
  cr_assert_eq(nn_encoder_apply(e, t, ALL, 3, y, &err), NN_EINVAL, "row 3 is not in the table");
  free(x);
  nn_encoder_free(e);
  nn_table_free(t);
  nn_table_free(u);
  nn_table_free(v);
}

Test(encode, bad_options_refused) {
  nn_table *t = table_ok("a,c\n1,x\n");
  nn_encode_options o;
  nn_encoder *e = NULL;
  nn_error err;
  nn_encode_options_defaults(&o);
  o.by_type[NN_COL_CATEGORY].max_categories = 0;
  cr_assert_eq(nn_encoder_fit(t, ALL, 1, &o, &e, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "c");
  nn_encode_options_defaults(&o);
  o.by_type[NN_COL_INTEGER].impute = NN_IMPUTE_CONSTANT;
  o.by_type[NN_COL_INTEGER].fill_value = NAN;
  cr_assert_eq(nn_encoder_fit(t, ALL, 1, &o, &e, &err), NN_EINVAL);
  nn_encode_options_defaults(&o);
  cr_assert_eq(nn_encoder_fit(t, ALL, 0, &o, &e, &err), NN_EINVAL, "no rows");
  o.target = 5;
  cr_assert_eq(nn_encoder_fit(t, ALL, 1, &o, &e, &err), NN_EINVAL);
  nn_encode_column skip = o.by_type[NN_COL_INTEGER];
  skip.skip = 1;
  const nn_encode_column *per[2] = {&skip, NULL};
  o.columns = per;
  o.target = 1;
  cr_assert_eq(nn_encoder_fit(t, ALL, 1, &o, &e, &err), NN_EINVAL, "nothing left to encode");
  cr_assert_null(e);
  nn_table_free(t);
}

/* ---- serialization -------------------------------------------------------------- */

static nn_encoder *penguin_encoder(void) {
  nn_table *t = table_ok(PENGUINS);
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  o.by_type[NN_COL_NUMBER].missing_indicator = 1;
  o.by_type[NN_COL_NUMBER].impute = NN_IMPUTE_MEDIAN;
  o.by_type[NN_COL_DATETIME].cyclic = 1;
  o.target = 2; /* sex */
  uint32_t train[] = {0, 2, 3};
  nn_encoder *e = fit(t, train, 3, &o);
  nn_table_free(t);
  return e;
}

static const uint8_t KEY[16] = {9, 8, 7};

Test(encode_format, round_trip_is_exact) {
  nn_encoder *e = penguin_encoder();
  uint8_t *buf = NULL, *again = NULL;
  size_t len = 0, len2 = 0;
  cr_assert_eq(nn_encoder_save(e, &buf, &len), NN_OK);
  cr_assert_eq(memcmp(buf, "TRAINDEN", 8), 0);
  nn_encoder *l = NULL;
  nn_error err;
  cr_assert_eq(nn_encoder_load(buf, len, KEY, &l, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_encoder_save(l, &again, &len2), NN_OK);
  cr_assert(len == len2 && memcmp(buf, again, len) == 0, "save -> load -> save differs");
  /* and it encodes the same */
  nn_table *t = table_ok(PENGUINS);
  float *x = encode(e, t, NULL, 4), *y = encode(l, t, NULL, 4);
  cr_assert(memcmp(x, y, 4 * (size_t)nn_encoder_width(e) * sizeof *x) == 0);
  int classes;
  nn_encoder_target(l, NULL, NULL, NULL, &classes);
  cr_assert_eq(classes, 2);
  cr_assert_eq(nn_encoder_find(l, "mass", 4), 1);
  /* the table's missing markers, in order (the defaults hold NA) */
  int k = 0, na = 0;
  for (; nn_encoder_missing_marker(e, k) != NULL; k++) {
    cr_assert_str_eq(nn_encoder_missing_marker(l, k), nn_encoder_missing_marker(e, k));
    na |= strcmp(nn_encoder_missing_marker(e, k), "NA") == 0;
  }
  cr_assert(k > 0 && na);
  cr_assert_null(nn_encoder_missing_marker(l, k));
  cr_assert_null(nn_encoder_missing_marker(l, -1));
  free(x);
  free(y);
  nn_table_free(t);
  free(buf);
  free(again);
  nn_encoder_free(e);
  nn_encoder_free(l);
}

static nn_error refused(const uint8_t *buf, size_t len, int want, const char *why) {
  nn_encoder *e = (nn_encoder *)&why; /* garbage the loader must reset */
  nn_error err = {{0}, {0}};
  int rc = nn_encoder_load(buf, len, KEY, &e, &err);
  cr_assert_eq(rc, want, "%s: %d (%s)", why, rc, err.message);
  cr_assert_null(e, "%s", why);
  cr_assert_neq(err.message[0], '\0', "%s: no message", why);
  return err;
}

static void reseal(uint8_t *buf, size_t len) { nn__put_u32(buf + len - 4, nn_crc32(0, buf, len - 4)); }

Test(encode_format, corrupt_truncated_and_future_refused) {
  nn_encoder *e = penguin_encoder();
  uint8_t *buf = NULL;
  size_t len = 0;
  cr_assert_eq(nn_encoder_save(e, &buf, &len), NN_OK);
  uint8_t *copy = malloc(len);
  /* every truncation */
  for (size_t n = 0; n < len; n++) refused(buf, n, NN_EFORMAT, "truncated");
  /* every single flipped byte, as stored: the CRC catches it */
  for (size_t i = 12; i < len; i++) {
    memcpy(copy, buf, len);
    copy[i] ^= 0x5a;
    refused(copy, len, NN_EFORMAT, "flipped");
  }
  /* the magic, and a future version, even with a valid CRC */
  memcpy(copy, buf, len);
  copy[0] = 'X';
  refused(copy, len, NN_EFORMAT, "magic");
  memcpy(copy, buf, len);
  nn__put_u32(copy + 8, NN_ENCODE_FORMAT_VERSION + 1);
  reseal(copy, len);
  nn_error err = refused(copy, len, NN_EVERSION, "future version");
  cr_assert(strstr(err.message, "version 2") != NULL, "%s", err.message);
  /* resealed field damage is found by the field checks, never a crash */
  for (size_t i = 12; i < len - 4; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      memcpy(copy, buf, len);
      copy[i] ^= (uint8_t)(1u << bit);
      reseal(copy, len);
      nn_encoder *l = NULL;
      int rc = nn_encoder_load(copy, len, KEY, &l, NULL);
      cr_assert(rc == NN_OK || rc == NN_EFORMAT, "byte %zu bit %d: %d", i, bit, rc);
      nn_encoder_free(l);
    }
  }
  /* the width field: 4 bytes after the markers and the column count */
  free(copy);
  free(buf);
  nn_encoder_free(e);
}

Test(encode_format, crafted_fields_refused) {
  nn_encoder *e = penguin_encoder();
  uint8_t *buf = NULL;
  size_t len = 0;
  cr_assert_eq(nn_encoder_save(e, &buf, &len), NN_OK);
  /* after the header: n_na, then the markers (u32 length + bytes each) */
  size_t off = 12, n_na = nn__le32(buf + off);
  off += 4;
  for (size_t i = 0; i < n_na; i++) off += 4 + nn__le32(buf + off);
  uint8_t *copy = malloc(len + 4);
  memcpy(copy, buf, len);
  nn__put_u32(copy + off, 0xffffffffu); /* columns */
  reseal(copy, len);
  refused(copy, len, NN_EFORMAT, "huge column count");
  memcpy(copy, buf, len);
  nn__put_u32(copy + off + 4, nn__le32(buf + off + 4) + 1); /* width */
  reseal(copy, len);
  refused(copy, len, NN_EFORMAT, "wrong width");
  memcpy(copy, buf, len);
  nn__put_u32(copy + off + 8, 0x7fffffffu); /* first column's name length */
  reseal(copy, len);
  refused(copy, len, NN_EFORMAT, "huge name");
  memcpy(copy, buf, len);
  copy[off + 8 + 4 + 6 + 0] = 9; /* "island": its type */
  reseal(copy, len);
  refused(copy, len, NN_EFORMAT, "unknown type");
  /* bytes after the last section */
  memcpy(copy, buf, len);
  memcpy(copy + len, copy + len - 4, 4);
  reseal(copy, len + 4);
  refused(copy, len + 4, NN_EFORMAT, "trailing bytes");
  free(copy);
  free(buf);
  nn_encoder_free(e);
}

/* Found by fuzz_table: values beyond float range encoded to inf. */
Test(encode, beyond_float_range_refused_never_inf) {
  nn_table *t = table_ok("x,d\n1e300,2024-01-01\n-1e300,2024-01-02\n");
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  o.by_type[NN_COL_NUMBER].standardize = 0;
  nn_encoder *e = fit(t, ALL, 2, &o);
  float x[12];
  nn_error err;
  cr_assert_eq(nn_encoder_apply(e, t, NULL, 2, x, &err), NN_ERANGE);
  cr_assert_str_eq(err.field, "x");
  nn_cell cells[2] = {{NN_CELL_NUMBER, NULL, 0, 1}, {NN_CELL_NUMBER, NULL, 0, 1e300}};
  cr_assert_eq(nn_encoder_apply_records(e, cells, 1, x, NULL, &err), NN_EINVAL,
               "seconds far beyond year 9999 are not a date");
  cr_assert_str_eq(err.field, "d");
  nn_encoder_free(e);
  nn_table_free(t);
  /* sums that overflow a double cannot be fitted */
  t = table_ok("x\n1.7e308\n1.7e308\n");
  cr_assert_eq(nn_encoder_fit(t, ALL, 2, &o, &e, &err), NN_ERANGE);
  cr_assert_str_eq(err.field, "x");
  nn_table_free(t);
}
