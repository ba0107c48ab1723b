/* test_table.c — typed tables: SipHash against the reference vectors, the
 * cell parsers, one-pass type inference from all cells, missing markers,
 * dictionary codes, the mostly-numeric report, overrides, limits, records
 * given column by column, and profiles checked against hand-computed values. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_util.h"

/* ---- SipHash-2-4 ------------------------------------------------------------ */

/* The reference implementation's vectors: key 00..0f, message 00..(n-1). */
static const uint64_t sip_vectors[64] = {
    0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
    0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
    0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
    0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
    0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
    0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
    0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
    0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
    0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
    0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
    0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
    0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
    0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
    0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
    0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
    0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
};

Test(siphash, reference_vectors) {
  uint8_t key[16], msg[64];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
  for (int i = 0; i < 64; i++) msg[i] = (uint8_t)i;
  for (int n = 0; n < 64; n++)
    cr_assert_eq(nn_siphash24(key, msg, (size_t)n), sip_vectors[n], "length %d", n);
}

Test(siphash, key_changes_the_hash) {
  uint8_t k1[16] = {0}, k2[16] = {1};
  cr_assert_neq(nn_siphash24(k1, "Biscoe", 6), nn_siphash24(k2, "Biscoe", 6));
}

/* ---- cells --------------------------------------------------------------------- */

static double num(const char *s, int *integral) {
  double v = -12345;
  cr_assert_eq(nn_parse_number(s, strlen(s), &v, integral), NN_OK, "'%s' is a number", s);
  return v;
}

Test(cells, numbers) {
  int integral;
  cr_assert_eq(num("42", &integral), 42.0);
  cr_assert_eq(integral, 1);
  cr_assert_eq(num(" -1.5 ", &integral), -1.5);
  cr_assert_eq(integral, 0);
  cr_assert_eq(num("1e3", &integral), 1000.0);
  cr_assert_eq(integral, 0, "an exponent is not integral syntax");
  cr_assert_eq(num("+.5", NULL), 0.5);
  cr_assert_eq(num("5.", NULL), 5.0);
  cr_assert_eq(num("0.1", NULL), 0.1);
  cr_assert_eq(num("007", NULL), 7.0);
  cr_assert_eq(num("1e-400", NULL), 0.0);
  cr_assert_eq(num("123456789012345678901234567890", NULL), 123456789012345678901234567890.0);
  cr_assert_eq(num("9007199254740993", &integral), 9007199254740992.0, "rounds to even");
  cr_assert_eq(integral, 1);
  const char *long_ones[] = {"0.1000000000000000000001", "1234567890123456789012.5",
                             ".000000000000000000000000001", "0000000000000000000000001.5",
                             "9007199254740993.00000000000000000000001", "1.00000000000000011102230246251565404236316680908203125"};
  for (size_t i = 0; i < sizeof long_ones / sizeof long_ones[0]; i++) {
    double want = strtod(long_ones[i], NULL), got = num(long_ones[i], NULL);
    cr_assert(memcmp(&got, &want, sizeof got) == 0, "%s: %.17g, strtod %.17g", long_ones[i], got,
              want);
  }
  cr_assert_eq(num("18014398509481984", &integral), 18014398509481984.0);
  cr_assert_eq(integral, 0, "beyond 2^53 is not held exactly");
  const char *bad[] = {"", " ", "0x10", "inf", "-Inf", "nan", "NaN", "1e400", ".", "-", "1e",
                       "1e+", "1.2.3", "1,000", "12a", "--1", "1 2", "0x1p3", "\xff"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    double v;
    cr_assert_eq(nn_parse_number(bad[i], strlen(bad[i]), &v, NULL), NN_EINVAL, "'%s'", bad[i]);
  }
}

/* The fast path and the slow one must both round like strtod. */
Test(cells, numbers_round_like_strtod) {
  uint64_t s = 88172645463325252ull;
  char buf[64];
  for (int i = 0; i < 200000; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    int digits = 1 + (int)(s % 20), point = (int)((s >> 8) % (unsigned)(digits + 1));
    int exp = (int)((s >> 16) % 61) - 30, n = 0;
    uint64_t d = s >> 24;
    if ((s >> 5) & 1) buf[n++] = '-';
    for (int k = 0; k < digits; k++) {
      if (k == point && k > 0) buf[n++] = '.';
      buf[n++] = (char)('0' + (d % 10));
      d = d / 10 + (uint64_t)k * 7919;
    }
    if ((s >> 6) & 1) n += snprintf(buf + n, sizeof buf - (size_t)n, "e%d", exp);
    buf[n] = '\0';
    double v, want = strtod(buf, NULL);
    cr_assert_eq(nn_parse_number(buf, (size_t)n, &v, NULL), NN_OK, "%s", buf);
    cr_assert(memcmp(&v, &want, sizeof v) == 0, "%s: %.17g, strtod %.17g", buf, v, want);
  }
}

static double when(const char *s, int *has_time) {
  double v = -1;
  cr_assert_eq(nn_parse_datetime(s, strlen(s), &v, has_time), NN_OK, "'%s' is a date", s);
  return v;
}

Test(cells, datetimes) {
  int t;
  cr_assert_eq(when("1970-01-01", &t), 0.0);
  cr_assert_eq(t, 0);
  cr_assert_eq(when("2000-01-01T00:00:00Z", &t), 946684800.0);
  cr_assert_eq(t, 1);
  /* 2024-02-29 is day 19782 since the epoch: 19782 * 86400 + 12.5 h */
  cr_assert_eq(when("2024-02-29T12:30:00Z", NULL), 19782.0 * 86400 + 45000);
  cr_assert_eq(when("2024-02-29 12:30", NULL), 19782.0 * 86400 + 45000, "space, no seconds");
  cr_assert_eq(when("2024-02-29T14:30:00+02:00", NULL), 19782.0 * 86400 + 45000, "offset east");
  cr_assert_eq(when("2024-02-29T07:00:00-0530", NULL), 19782.0 * 86400 + 45000, "offset west");
  cr_assert_eq(when("2024-02-29T12:30:00.25Z", NULL), 19782.0 * 86400 + 45000.25);
  cr_assert_eq(when("1969-12-31T23:59:59Z", NULL), -1.0);
  cr_assert_eq(when(" 1600-03-01 ", NULL), -11670912000.0, "before 1970, a 400-year leap");
  const char *bad[] = {"2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-1-01",
                       "2024-01-01T24:00", "2024-01-01T12:60", "2024-01-01T12:00:60",
                       "2024-01-01T12", "2024-01-01X", "2024-01-01T12:00+25:00", "20240101",
                       "2024-01-01T12:00:00.", "1.5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    double v;
    cr_assert_eq(nn_parse_datetime(bad[i], strlen(bad[i]), &v, NULL), NN_EINVAL, "'%s'", bad[i]);
  }
}

Test(cells, booleans) {
  cr_assert_eq(nn_parse_boolean("TRUE", 4), 1);
  cr_assert_eq(nn_parse_boolean(" yes", 4), 1);
  cr_assert_eq(nn_parse_boolean("False", 5), 0);
  cr_assert_eq(nn_parse_boolean("no", 2), 0);
  cr_assert_eq(nn_parse_boolean("1", 1), -1);
  cr_assert_eq(nn_parse_boolean("nope", 4), -1);
}

/* ---- type inference ------------------------------------------------------------- */

static const nn_table_column *col(const nn_table *t, const char *name) {
  int i = nn_table_find(t, name, strlen(name));
  cr_assert_geq(i, 0, "no column %s", name);
  return nn_table_column_at(t, i);
}

Test(table, each_type_inferred) {
  nn_table *t = table_ok("n,i,b,c,d\n"
                         "1.5,1,true,Biscoe,2024-01-02\n"
                         "2,-7,No,Dream,2024-01-03T10:00:00Z\n"
                         "3e2,0,YES,Biscoe,\n");
  cr_assert_eq(nn_table_rows(t), 3);
  cr_assert_eq(nn_table_columns(t), 5);
  cr_assert_eq(col(t, "n")->type, NN_COL_NUMBER);
  cr_assert_eq(col(t, "n")->values[2], 300.0);
  cr_assert_eq(col(t, "i")->type, NN_COL_INTEGER);
  cr_assert_eq(col(t, "i")->values[1], -7.0);
  const nn_table_column *b = col(t, "b");
  cr_assert_eq(b->type, NN_COL_BOOLEAN);
  cr_assert(b->values[0] == 1 && b->values[1] == 0 && b->values[2] == 1);
  const nn_table_column *c = col(t, "c");
  cr_assert_eq(c->type, NN_COL_CATEGORY);
  cr_assert_null(c->values);
  cr_assert_eq(c->n_categories, 2);
  cr_assert(c->codes[0] == 0 && c->codes[1] == 1 && c->codes[2] == 0, "codes in first-seen order");
  cr_assert_str_eq(table_category(c, 0), "Biscoe");
  cr_assert_str_eq(table_category(c, 1), "Dream");
  cr_assert(c->counts[0] == 2 && c->counts[1] == 1);
  cr_assert_eq(nn_table_category_code(t, 3, "Dream", 5), 1);
  cr_assert_eq(nn_table_category_code(t, 3, "Torgersen", 9), -1);
  const nn_table_column *d = col(t, "d");
  cr_assert_eq(d->type, NN_COL_DATETIME);
  cr_assert_eq(d->values[0], 19724.0 * 86400);
  cr_assert_eq(d->values[1], 19725.0 * 86400 + 36000);
  cr_assert(d->is_missing[2] && isnan(d->values[2]) && d->missing == 1);
  nn_table_free(t);
}

/* The type comes from every cell: the last row alone changes it. */
Test(table, type_from_all_cells_not_the_first_rows) {
  char text[8192] = "a,b,c\n";
  size_t n = strlen(text);
  for (int r = 0; r < 500; r++) n += (size_t)snprintf(text + n, sizeof text - n, "%d,%d,%d\n", r, r, r);
  snprintf(text + n, sizeof text - n, "0.5,x,y\n");
  /* a: integers then a fraction: number. b: 500 numbers and one text cell:
   * mostly numeric, reported (below); so override b and c to category */
  nn_col_type types[3] = {NN_COL_AUTO, NN_COL_CATEGORY, NN_COL_CATEGORY};
  nn_table *t = NULL;
  nn_error err;
  cr_assert_eq(table_from_text(text, NULL, types, &t, NULL, &err), NN_OK, "%s", err.message);
  cr_assert_eq(col(t, "a")->type, NN_COL_NUMBER);
  cr_assert_eq(col(t, "a")->values[500], 0.5);
  cr_assert_eq(col(t, "b")->type, NN_COL_CATEGORY);
  cr_assert_eq(col(t, "b")->n_categories, 501);
  cr_assert_str_eq(table_category(col(t, "b"), col(t, "b")->codes[7]), "7", "verbatim text");
  nn_table_free(t);
}

Test(table, mostly_numbers_are_reported_not_turned_into_text) {
  char text[8192] = "id,x\n";
  size_t n = strlen(text);
  for (int r = 0; r < 100; r++)
    n += (size_t)snprintf(text + n, sizeof text - n, "%d,%s\n", r,
                          r == 17 ? "abc" : r == 60 ? "n.a." : r == 61 ? "" : "1.25");
  nn_table *t = NULL;
  nn_table_report rep;
  nn_error err;
  cr_assert_eq(table_from_text(text, NULL, NULL, &t, &rep, &err), NN_EINVAL);
  cr_assert_null(t);
  cr_assert_eq(rep.column, 1);
  cr_assert_eq(rep.type, NN_COL_NUMBER);
  cr_assert_eq(rep.offending, 2);
  cr_assert_eq(rep.valid, 97, "the empty cell is missing, not offending");
  cr_assert_eq(rep.n_cells, 2);
  cr_assert_eq(rep.cells[0].row, 17);
  cr_assert_str_eq(rep.cells[0].text, "abc");
  cr_assert_eq(rep.cells[1].row, 60);
  cr_assert_str_eq(rep.cells[1].text, "n.a.");
  cr_assert_str_eq(err.field, "x");
  cr_assert(strstr(err.message, "row 18 \"abc\"") != NULL, "%s", err.message);
  /* overridden to category, the numbers get their canonical text */
  nn_col_type types[2] = {NN_COL_AUTO, NN_COL_CATEGORY};
  cr_assert_eq(table_from_text(text, NULL, types, &t, &rep, &err), NN_OK, "%s", err.message);
  cr_assert_eq(rep.column, -1);
  const nn_table_column *x = col(t, "x");
  cr_assert_eq(x->n_categories, 3);
  cr_assert_str_eq(table_category(x, x->codes[0]), "1.25");
  nn_table_free(t);
}

Test(table, mixed_beyond_five_percent_is_a_category) {
  /* 10 numbers, 2 texts and 2 dates: no type has 95%: category, numbers and
   * dates in canonical form */
  nn_table *t = table_ok("x\n1\n2.50\n3\n4\n5\n6\n7\n8\n9\n1e1\nred\nblue\n2024-01-05\n"
                         "2024-01-05T01:02:03+01:00\n");
  const nn_table_column *x = col(t, "x");
  cr_assert_eq(x->type, NN_COL_CATEGORY);
  cr_assert_str_eq(table_category(x, x->codes[1]), "2.5");
  cr_assert_str_eq(table_category(x, x->codes[9]), "10");
  cr_assert_str_eq(table_category(x, x->codes[10]), "red");
  cr_assert_str_eq(table_category(x, x->codes[12]), "2024-01-05");
  cr_assert_str_eq(table_category(x, x->codes[13]), "2024-01-05T00:02:03Z", "%s", table_category(x, x->codes[13]));
  nn_table_free(t);
}

Test(table, mostly_dates_are_reported) {
  char text[4096] = "d\n";
  size_t n = strlen(text);
  for (int r = 0; r < 40; r++)
    n += (size_t)snprintf(text + n, sizeof text - n, "%s\n", r == 5 ? "yesterday" : "2024-05-01");
  nn_table *t = NULL;
  nn_table_report rep;
  cr_assert_eq(table_from_text(text, NULL, NULL, &t, &rep, NULL), NN_EINVAL);
  cr_assert_eq(rep.type, NN_COL_DATETIME);
  cr_assert_eq(rep.offending, 1);
  cr_assert_eq(rep.cells[0].row, 5);
}

Test(table, overrides_must_fit_their_cells) {
  nn_table *t = NULL;
  nn_table_report rep;
  nn_col_type integer[1] = {NN_COL_INTEGER}, number[1] = {NN_COL_NUMBER},
              boolean[1] = {NN_COL_BOOLEAN}, date[1] = {NN_COL_DATETIME};
  cr_assert_eq(table_from_text("x\n1\n2.5\n", NULL, integer, &t, &rep, NULL), NN_EINVAL);
  cr_assert(rep.offending == 1 && rep.cells[0].row == 1 && strcmp(rep.cells[0].text, "2.5") == 0);
  cr_assert_eq(table_from_text("x\n1.0\n2\n", NULL, integer, &t, &rep, NULL), NN_OK,
               "whole values fit an integer override");
  cr_assert_eq(col(t, "x")->type, NN_COL_INTEGER);
  nn_table_free(t);
  cr_assert_eq(table_from_text("x\n1\nred\n", NULL, number, &t, &rep, NULL), NN_EINVAL);
  cr_assert_eq(table_from_text("x\n1\n0\ntrue\n", NULL, boolean, &t, &rep, NULL), NN_OK);
  cr_assert(col(t, "x")->values[0] == 1 && col(t, "x")->values[2] == 1);
  nn_table_free(t);
  cr_assert_eq(table_from_text("x\n2\n", NULL, boolean, &t, &rep, NULL), NN_EINVAL);
  cr_assert_eq(table_from_text("x\n2024-01-01\n5\n", NULL, date, &t, &rep, NULL), NN_EINVAL);
  cr_assert_eq(rep.cells[0].row, 1);
}

Test(table, every_missing_marker) {
  const char *markers[] = {"", "NA", "N/A", "NaN", "null", "None", "?", " NA ", "\t?"};
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
    char text[64];
    snprintf(text, sizeof text, "x,c\n1,a\n%s,%s\n3,b\n", markers[i], markers[i]);
    nn_table *t = table_ok(text);
    const nn_table_column *x = col(t, "x"), *c = col(t, "c");
    cr_assert_eq(x->type, NN_COL_INTEGER, "marker '%s'", markers[i]);
    cr_assert(x->missing == 1 && x->is_missing[1] && !x->is_missing[0], "marker '%s'", markers[i]);
    cr_assert_eq(c->codes[1], -1, "marker '%s'", markers[i]);
    cr_assert_eq(c->n_categories, 2, "a marker is not a category");
    nn_table_free(t);
  }
  /* case matters, and markers are whole cells */
  nn_table *t = table_ok("c\nna\nNAN\nNA!\n");
  cr_assert_eq(col(t, "c")->missing, 0);
  nn_table_free(t);
}

Test(table, missing_markers_are_configurable) {
  const char *na[] = {"-", "missing"};
  nn_table_options o;
  nn_table_options_defaults(&o);
  o.na_values = na;
  o.n_na = 2;
  nn_table *t = NULL;
  nn_error err;
  cr_assert_eq(table_from_text("x,c\n1,NA\n-,missing\n", &o, NULL, &t, NULL, &err), NN_OK, "%s",
               err.message);
  cr_assert(col(t, "x")->is_missing[1] && col(t, "c")->is_missing[1]);
  cr_assert_eq(col(t, "c")->type, NN_COL_CATEGORY, "NA is text once the list is replaced");
  cr_assert_str_eq(table_category(col(t, "c"), 0), "NA");
  const char *const *kept;
  cr_assert_eq(nn_table_na_values(t, &kept), 2);
  cr_assert_str_eq(kept[1], "missing");
  nn_table_free(t);
  o.n_na = NN_TABLE_MAX_NA + 1;
  nn_table_builder *b = NULL;
  cr_assert_eq(nn_table_builder_new(&o, &b, &err), NN_EINVAL);
  cr_assert_null(b);
}

Test(table, all_missing_column_is_a_number) {
  nn_table *t = table_ok("x,y\n,1\nNA,2\n");
  cr_assert_eq(col(t, "x")->type, NN_COL_NUMBER);
  cr_assert_eq(col(t, "x")->missing, 2);
  nn_table_free(t);
}

/* JSON records: cells by column in any order, absent keys missing. */
Test(table, records_in_any_column_order) {
  nn_table_options o;
  nn_table_options_defaults(&o);
  nn_table_builder *b = NULL;
  nn_table *t = NULL;
  nn_error err;
  cr_assert_eq(nn_table_builder_new(&o, &b, &err), NN_OK);
  cr_assert_eq(nn_table_builder_column(b, "mass", 4, NN_COL_AUTO, &err), NN_OK);
  cr_assert_eq(nn_table_builder_column(b, "island", 6, NN_COL_AUTO, &err), NN_OK);
  cr_assert_eq(nn_table_builder_find(b, "island", 6), 1);
  cr_assert_eq(nn_table_builder_cell_at(b, 1, "Biscoe", 6, &err), NN_OK);
  cr_assert_eq(nn_table_builder_number_at(b, 0, 4200, &err), NN_OK);
  cr_assert_eq(nn_table_builder_number_at(b, 0, 1, &err), NN_EINVAL, "given twice");
  cr_assert_str_eq(err.field, "mass");
  cr_assert_eq(nn_table_builder_end_row(b, &err), NN_OK);
  cr_assert_eq(nn_table_builder_cell_at(b, 1, "Dream", 5, &err), NN_OK); /* no mass */
  cr_assert_eq(nn_table_builder_end_row(b, &err), NN_OK);
  cr_assert_eq(nn_table_builder_missing_at(b, 1, &err), NN_OK);
  cr_assert_eq(nn_table_builder_number_at(b, 0, NAN, &err), NN_EINVAL);
  cr_assert_eq(nn_table_builder_number_at(b, 0, 3.5, &err), NN_OK);
  cr_assert_eq(nn_table_builder_end_row(b, &err), NN_OK);
  cr_assert_eq(nn_table_builder_cell_at(b, 2, "x", 1, &err), NN_EINVAL, "no such column");
  cr_assert_eq(nn_table_builder_column(b, "late", 4, NN_COL_AUTO, &err), NN_EINVAL);
  cr_assert_eq(nn_table_builder_finish(b, &t, NULL, &err), NN_OK, "%s", err.message);
  nn_table_builder_free(b);
  const nn_table_column *m = col(t, "mass"), *is = col(t, "island");
  cr_assert_eq(m->type, NN_COL_NUMBER);
  cr_assert(m->values[0] == 4200 && m->is_missing[1] && m->values[2] == 3.5);
  cr_assert(is->codes[0] == 0 && is->codes[1] == 1 && is->codes[2] == -1);
  nn_table_free(t);
}

Test(table, limits_name_the_column) {
  nn_table_options o;
  nn_table_options_defaults(&o);
  nn_table *t = NULL;
  nn_error err;
  o.max_columns = 2;
  cr_assert_eq(table_from_text("a,b,c\n1,2,3\n", &o, NULL, &t, NULL, &err), NN_ERANGE);
  cr_assert_str_eq(err.field, "c");
  nn_table_options_defaults(&o);
  o.max_cell = 4;
  cr_assert_eq(table_from_text("a,b\n1,2\n3,hello\n", &o, NULL, &t, NULL, &err), NN_ERANGE);
  cr_assert_str_eq(err.field, "b");
  cr_assert(strstr(err.message, "row 2") != NULL, "%s", err.message);
  o.max_name = 3;
  cr_assert_eq(table_from_text("abcd\n1\n", &o, NULL, &t, NULL, &err), NN_ERANGE);
  cr_assert_eq(table_from_text("a,a\n1,2\n", NULL, NULL, &t, NULL, &err), NN_EINVAL);
  cr_assert(strstr(err.message, "twice") != NULL);
  cr_assert_eq(table_from_text("a\n1\n2\n3,4\n", NULL, NULL, &t, NULL, &err), NN_EINVAL);
  cr_assert(strstr(err.message, "row 3") != NULL, "%s", err.message);
  cr_assert_null(t);
}

/* The memory bound is checked before the columns grow, and text counts. */
Test(table, total_bytes_bounded) {
  nn_table_options o;
  nn_table_options_defaults(&o);
  o.max_bytes = 64 * 1024;
  nn_table_builder *b = NULL;
  nn_error err;
  cr_assert_eq(nn_table_builder_new(&o, &b, &err), NN_OK);
  cr_assert_eq(nn_table_builder_column(b, "x", 1, NN_COL_AUTO, &err), NN_OK);
  cr_assert_eq(nn_table_builder_column(b, "c", 1, NN_COL_AUTO, &err), NN_OK);
  int rc = NN_OK;
  size_t r;
  char cell[32];
  for (r = 0; r < 100000 && rc == NN_OK; r++) {
    int len = snprintf(cell, sizeof cell, "name-%zu", r);
    rc = nn_table_builder_cell(b, "1", 1, &err);
    if (rc == NN_OK) rc = nn_table_builder_cell(b, cell, (size_t)len, &err);
    if (rc == NN_OK) rc = nn_table_builder_end_row(b, &err);
  }
  cr_assert_eq(rc, NN_ERANGE);
  cr_assert(r > 500 && r < 5000, "stopped at row %zu", r);
  cr_assert(strstr(err.message, "65536 bytes") != NULL, "%s", err.message);
  nn_table_builder_free(b);
}

Test(table, no_columns_refused) {
  nn_table_options o;
  nn_table_options_defaults(&o);
  nn_table_builder *b = NULL;
  nn_table *t = NULL;
  cr_assert_eq(nn_table_builder_new(&o, &b, NULL), NN_OK);
  cr_assert_eq(nn_table_builder_end_row(b, NULL), NN_EINVAL);
  cr_assert_eq(nn_table_builder_cell(b, "1", 1, NULL), NN_EINVAL);
  cr_assert_eq(nn_table_builder_finish(b, &t, NULL, NULL), NN_EINVAL);
  nn_table_builder_free(b);
}

/* ---- profiles ------------------------------------------------------------------- */

Test(table, profile_by_hand) {
  nn_table *t = table_ok("x,c,b,d\n2,a,true,2024-01-01\n4,b,false,\n4,a,true,2024-01-03\n"
                         ",a,,\n10,c,true,\n");
  nn_column_profile p;
  cr_assert_eq(nn_table_profile(t, 0, &p), NN_OK);
  cr_assert_eq(p.type, NN_COL_INTEGER);
  cr_assert_eq(p.missing, 1);
  cr_assert_eq(p.distinct, 3);
  cr_assert_eq(p.min, 2);
  cr_assert_eq(p.max, 10);
  cr_assert_eq(p.mean, 5); /* (2 + 4 + 4 + 10) / 4 */
  /* squared deviations 9 + 1 + 1 + 25 = 36, over n - 1 = 3: std 2 sqrt 3 */
  cr_assert_float_eq(p.std, 2 * sqrt(3.0), 1e-12);
  cr_assert_eq(p.n_top, 0);
  cr_assert_eq(nn_table_profile(t, 1, &p), NN_OK);
  cr_assert_eq(p.type, NN_COL_CATEGORY);
  cr_assert_eq(p.distinct, 3);
  cr_assert_eq(p.n_top, 3);
  cr_assert(p.top[0].code == 0 && p.top[0].count == 3, "a three times");
  cr_assert(p.top[1].code == 1 && p.top[1].count == 1 && p.top[2].code == 2, "ties by code");
  cr_assert(isnan(p.mean) && isnan(p.min));
  cr_assert_eq(nn_table_profile(t, 2, &p), NN_OK);
  cr_assert_eq(p.type, NN_COL_BOOLEAN);
  cr_assert(p.n_top == 2 && p.top[0].code == 1 && p.top[0].count == 3 && p.top[1].count == 1);
  cr_assert_eq(p.mean, 0.75);
  cr_assert_eq(nn_table_profile(t, 3, &p), NN_OK);
  cr_assert_eq(p.type, NN_COL_DATETIME);
  cr_assert_eq(p.min, 19723.0 * 86400);
  cr_assert_eq(p.max - p.min, 2 * 86400.0);
  cr_assert_eq(nn_table_profile(t, 4, &p), NN_EINVAL);
  nn_table_free(t);
}

/* Bins: as many as distinct values up to NN_PROFILE_BINS, equal-width from
 * min to max, max in the last; blanks and booleans and categories have none. */
Test(table, profile_histogram) {
  nn_table *t = table_ok("x,c,b,d\n2,a,true,2024-01-01\n4,b,false,\n4,a,true,2024-01-03\n"
                         ",a,,\n10,c,true,\n");
  nn_column_profile p;
  cr_assert_eq(nn_table_profile(t, 0, &p), NN_OK);
  /* 3 distinct values, 3 bins of width 8/3 from 2: 2 and 4 in the first, 10 the last */
  cr_assert_eq(p.n_bins, 3);
  cr_assert(p.bins[0] == 3 && p.bins[1] == 0 && p.bins[2] == 1);
  cr_assert_eq(nn_table_profile(t, 1, &p), NN_OK);
  cr_assert_eq(p.n_bins, 0);
  cr_assert_eq(nn_table_profile(t, 2, &p), NN_OK);
  cr_assert_eq(p.n_bins, 0);
  cr_assert_eq(nn_table_profile(t, 3, &p), NN_OK);
  cr_assert(p.n_bins == 2 && p.bins[0] == 1 && p.bins[1] == 1);
  nn_table_free(t);

  /* 0 to 99, a blank, and -0.5 and 99.5 making the span 100: 20 bins of 5,
   * the ends in the first and the last */
  char csv[1024] = "v\n-0.5\n\n99.5\n";
  size_t len = strlen(csv);
  for (int i = 0; i < 100; i++) len += (size_t)snprintf(csv + len, sizeof csv - len, "%d\n", i);
  t = table_ok(csv);
  cr_assert_eq(nn_table_profile(t, 0, &p), NN_OK);
  cr_assert_eq(p.n_bins, NN_PROFILE_BINS);
  uint64_t total = 0;
  for (int k = 0; k < p.n_bins; k++) {
    uint64_t want = k == 0 || k == NN_PROFILE_BINS - 1 ? 6 : 5;
    cr_assert_eq(p.bins[k], want, "bin %d: %llu", k, (unsigned long long)p.bins[k]);
    total += p.bins[k];
  }
  cr_assert_eq(total, 102, "the blank is no value");
  nn_table_free(t);

  t = table_ok("v\n7\n7\n\n"); /* one value: one bin holding it */
  cr_assert_eq(nn_table_profile(t, 0, &p), NN_OK);
  cr_assert(p.n_bins == 1 && p.bins[0] == 2);
  nn_table_free(t);
  t = table_ok("v,w\n,a\n,b\n"); /* no value: no bin */
  cr_assert_eq(nn_table_profile(t, 0, &p), NN_OK);
  cr_assert_eq(p.n_bins, 0);
  nn_table_free(t);
}

/* Found by fuzz_table: a last row without end_row was counted in the
 * dictionary but left out of the table. */
Test(table, finish_ends_a_started_row) {
  nn_table_options o;
  nn_table_options_defaults(&o);
  nn_table_builder *b = NULL;
  nn_table *t = NULL;
  cr_assert_eq(nn_table_builder_new(&o, &b, NULL), NN_OK);
  cr_assert_eq(nn_table_builder_column(b, "c", 1, NN_COL_AUTO, NULL), NN_OK);
  cr_assert_eq(nn_table_builder_column(b, "x", 1, NN_COL_AUTO, NULL), NN_OK);
  cr_assert_eq(nn_table_builder_cell(b, "a", 1, NULL), NN_OK);
  cr_assert_eq(nn_table_builder_cell(b, "1", 1, NULL), NN_OK);
  cr_assert_eq(nn_table_builder_end_row(b, NULL), NN_OK);
  cr_assert_eq(nn_table_builder_cell(b, "a", 1, NULL), NN_OK); /* no end_row */
  cr_assert_eq(nn_table_builder_finish(b, &t, NULL, NULL), NN_OK);
  nn_table_builder_free(b);
  cr_assert_eq(nn_table_rows(t), 2);
  const nn_table_column *c = nn_table_column_at(t, 0), *x = nn_table_column_at(t, 1);
  cr_assert(c->counts[0] == 2 && c->codes[1] == 0);
  cr_assert(x->is_missing[1] && x->missing == 1);
  nn_table_free(t);
}

/* Column types and imputations have one name each, as every enum in JSON. */
Test(table, type_and_impute_names) {
  const char *types[] = {"number", "integer", "boolean", "category", "datetime"};
  for (int t = 0; t < NN_COL_TYPES; t++) {
    int back = -1;
    cr_assert_str_eq(nn_name(NN_NAMES_COLUMN_TYPE, t), types[t]);
    cr_assert_eq(nn_parse_name(NN_NAMES_COLUMN_TYPE, types[t], &back), NN_OK);
    cr_assert_eq(back, t);
  }
  cr_assert_null(nn_name(NN_NAMES_COLUMN_TYPE, NN_COL_TYPES));
  cr_assert_str_eq(nn_name(NN_NAMES_IMPUTE, NN_IMPUTE_MEDIAN), "median");
  cr_assert_null(nn_name(NN_NAMES_IMPUTE, NN_IMPUTE_CONSTANT + 1));
}

/* A column's kind bytes come only with its first cell of another kind: the
 * mask is right whichever row that is, the first, a late one or none. */
Test(table, kinds_made_late_keep_every_cell) {
  char text[16384] = "late,first,never,text\n";
  size_t n = strlen(text);
  for (int r = 0; r < 700; r++)
    n += (size_t)snprintf(text + n, sizeof text - n, "%s,%s,%d,%s\n", r == 650 ? "" : "1.5",
                          r == 0 ? "NA" : "2", r, r == 3 ? "7" : r % 2 ? "Dream" : "Biscoe");
  nn_col_type types[4] = {NN_COL_AUTO, NN_COL_AUTO, NN_COL_AUTO, NN_COL_CATEGORY};
  nn_table *t = NULL;
  nn_error err;
  cr_assert_eq(table_from_text(text, NULL, types, &t, NULL, &err), NN_OK, "%s", err.message);
  const nn_table_column *late = col(t, "late"), *first = col(t, "first"), *never = col(t, "never");
  cr_assert_eq(late->missing, 1);
  for (int r = 0; r < 700; r++) {
    cr_assert_eq(late->is_missing[r], r == 650, "row %d", r);
    cr_assert_eq(first->is_missing[r], r == 0, "row %d", r);
    cr_assert_eq(never->is_missing[r], 0);
    cr_assert_eq(never->values[r], r);
  }
  cr_assert_eq(never->type, NN_COL_INTEGER);
  const nn_table_column *c = col(t, "text");
  cr_assert_eq(c->n_categories, 3);
  cr_assert(c->counts[0] == 350 && c->counts[1] == 349 && c->counts[2] == 1, "%llu %llu %llu",
            (unsigned long long)c->counts[0], (unsigned long long)c->counts[1],
            (unsigned long long)c->counts[2]);
  cr_assert_str_eq(table_category(c, c->codes[3]), "7");
  cr_assert_str_eq(table_category(c, c->codes[5]), "Dream");
  nn_table_free(t);
}

/* A column of numbers handed over as floats, in place; a cell that is no
 * number refuses it, and the current row's cell is seen as a number or not. */
Test(table, numbers_taken_as_floats) {
  nn_table_options o;
  nn_table_builder *b;
  nn_error err;
  nn_table_options_defaults(&o);
  cr_assert_eq(nn_table_builder_new(&o, &b, &err), NN_OK);
  cr_assert_eq(nn_table_builder_column(b, "x", 1, NN_COL_AUTO, &err), NN_OK);
  cr_assert_eq(nn_table_builder_column(b, "s", 1, NN_COL_AUTO, &err), NN_OK);
  for (int r = 0; r < 1000; r++) {
    char cell[32];
    double v;
    int len = snprintf(cell, sizeof cell, "%d.1", r);
    cr_assert_eq(nn_table_builder_cell(b, cell, (size_t)len, &err), NN_OK);
    cr_assert_eq(nn_table_builder_number(b, 0, &v), 1);
    cr_assert_eq(v, r + 0.1);
    cr_assert_eq(nn_table_builder_cell(b, r == 9 ? "a" : "1", 1, &err), NN_OK);
    cr_assert_eq(nn_table_builder_number(b, 1, &v), r != 9);
    cr_assert_eq(nn_table_builder_end_row(b, &err), NN_OK);
  }
  float *f;
  cr_assert_eq(nn_table_builder_take_floats(b, 1, &f, &err), NN_EINVAL);
  cr_assert_null(f);
  cr_assert_eq(nn_table_builder_take_floats(b, 0, &f, &err), NN_OK);
  for (int r = 0; r < 1000; r++) cr_assert_eq(f[r], (float)(r + 0.1), "row %d", r);
  free(f);
  cr_assert_eq(nn_table_builder_take_floats(b, 0, &f, &err), NN_EINVAL, "taken already");
  nn_table_builder_free(b);
}
