/*
 * test_parse_table.c — typed tables read by the daemon (issue 14): the CSV
 * reader's typed path (sniffed separators, quoting, the numbers-or-table
 * decision, the mostly numeric report), JSON records, raw records encoded
 * for predict, and a spec's preprocess options. Every body is also fed a
 * byte at a time: a cell, a record or a header may span chunks.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/encode.h"
#include "../../core/table.h"
#include "../../server/parse_csv.h"
#include "../../server/parse_dataset.h"
#include "../../server/parse_preprocess.h"
#include "../../server/predict_records.h"

/* Parse a CSV body with the typed path on, whole (step 0) or step bytes at a time. */
static int typed_csv(const char *target, const parse_table_options *o, const char *text,
                     size_t step, parse_dataset_out *d, api_error *err) {
  parse_csv *p = NULL;
  size_t len = strlen(text);
  memset(d, 0, sizeof *d);
  int rc = parse_csv_new(target, &p, err);
  if (rc == 0) rc = parse_csv_typed(p, o, err);
  for (size_t at = 0; rc == 0 && at < len; at += step ? step : len) {
    size_t n = step && len - at > step ? step : len - at;
    char *piece = malloc(n); /* exact size: ASan sees overreads */
    cr_assert_not_null(piece);
    memcpy(piece, text + at, n);
    rc = parse_csv_feed(p, piece, n, err);
    free(piece);
  }
  if (rc == 0) rc = parse_csv_finish(p, d, err);
  parse_csv_free(p);
  return rc;
}

static const char penguins[] =
    "\xEF\xBB\xBFid;island;mass;seen;species\r\n"
    "1;Biscoe;4200;2021-03-04;Gentoo\r\n"
    "2;\"Dr;eam\nIsle\";;2021-03-09T10:00:00Z;Adelie\r\n"
    "3;\"Torgersen\";3300;2021-04-01;\r\n"
    "4;Biscoe;NA;2021-04-11;Gentoo\r\n";

Test(parse_table, a_sniffed_csv_becomes_a_typed_table_in_any_chunks) {
  parse_table_options o = {.ignore = "id"};
  for (size_t step = 0; step <= 3; step++) {
    parse_dataset_out d;
    api_error err;
    cr_assert_eq(typed_csv("species", &o, penguins, step, &d, &err), 0, "%s", err.message);
    cr_assert_not_null(d.table);
    cr_expect_null(d.x);
    cr_expect_eq(d.rows, 4);
    cr_expect_eq(d.features, 3);
    cr_expect_eq(d.rows_without_target, 1);
    cr_expect_eq(d.task, PARSE_TASK_CLASSIFICATION);
    cr_assert_eq(d.n_classes, 2);
    cr_expect_str_eq(d.classes[0], "Adelie");
    cr_expect_str_eq(d.target, "species");
    cr_assert_eq(nn_table_columns(d.table), 4); /* id ignored */
    const nn_table_column *island = nn_table_column_at(d.table, 0);
    cr_expect_str_eq(island->name, "island");
    cr_expect_eq(island->type, NN_COL_CATEGORY);
    cr_expect_geq(nn_table_category_code(d.table, 0, "Dr;eam\nIsle", 11), 0);
    const nn_table_column *mass = nn_table_column_at(d.table, 1);
    cr_expect_eq(mass->type, NN_COL_INTEGER);
    cr_expect_eq(mass->missing, 2); /* the empty cell and NA */
    cr_expect_eq(mass->values[2], 3300);
    cr_expect_eq(nn_table_column_at(d.table, 2)->type, NN_COL_DATETIME);
    parse_dataset_out_free(&d);
  }
}

Test(parse_table, numbers_all_through_stay_numbers_unless_a_table_is_asked_for) {
  parse_table_options none = {0}, ignore = {.ignore = "a"};
  parse_dataset_out d;
  api_error err;
  cr_assert_eq(typed_csv("y", &none, "a,b,y\n1,2,3\n4,5,6\n", 1, &d, &err), 0, "%s", err.message);
  cr_expect_null(d.table);
  cr_assert_not_null(d.x);
  cr_expect_eq(d.features, 2);
  cr_expect_eq(d.x[3], 5.0f);
  parse_dataset_out_free(&d);
  cr_assert_eq(typed_csv("y", &ignore, "a,b,y\n1,2,3\n4,5,6\n", 0, &d, &err), 0, "%s", err.message);
  cr_assert_not_null(d.table);
  cr_expect_eq(d.features, 1);
  cr_expect_eq(d.task, PARSE_TASK_REGRESSION);
  parse_dataset_out_free(&d);
}

Test(parse_table, a_mostly_numeric_column_is_reported_with_its_rows) {
  char body[1024] = "x|y\n";
  for (int i = 0; i < 30; i++) strcat(body, "1.5|a\n");
  strcat(body, "oops|b\n");
  parse_table_options o = {0};
  parse_dataset_out d;
  api_error err;
  cr_assert_eq(typed_csv("y", &o, body, 0, &d, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "column x");
  cr_expect_not_null(strstr(err.message, "row 31 (oops)"), "%s", err.message);
  parse_table_options text = {.types = "x:category"};
  cr_assert_eq(typed_csv("y", &text, body, 7, &d, &err), 0, "%s", err.message);
  cr_expect_eq(nn_table_column_at(d.table, 0)->type, NN_COL_CATEGORY);
  parse_dataset_out_free(&d);
}

Test(parse_table, options_are_checked) {
  parse_table_options o;
  api_error err;
  cr_expect_eq(parse_table_query(NULL, NULL, NULL, "#", &o, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "delimiter");
  cr_assert_eq(parse_table_query("a", NULL, "-1,?", "tab", &o, &err), 0);
  cr_expect_eq(o.delimiter, '\t');
  cr_expect(parse_table_options_given(&o));
  parse_dataset_out d;
  cr_expect_eq(typed_csv("y", &o, "b\ty\n1\t2\n", 0, &d, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "ignore");
  o = (parse_table_options){.types = "x:text"};
  cr_expect_eq(typed_csv("y", &o, "x,y\n1,2\n", 0, &d, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "types");
  o = (parse_table_options){.na_values = "-999"};
  cr_assert_eq(typed_csv("y", &o, "x,y\n-999,a\nNA,b\n", 0, &d, &err), 0, "%s", err.message);
  const nn_table_column *x = nn_table_column_at(d.table, 0);
  cr_expect_eq(x->missing, 1);           /* -999 is missing, NA is text now */
  cr_expect_eq(x->type, NN_COL_CATEGORY);
  parse_dataset_out_free(&d);
}

/* ---- JSON records ------------------------------------------------------------------ */

static int records(const char *body, size_t step, parse_dataset_out *d, api_error *err) {
  parse_dataset_json *p;
  char name[PARSE_NAME_MAX + 1];
  size_t len = strlen(body);
  cr_assert_eq(parse_dataset_json_new(&p, err), 0);
  for (size_t at = 0; at < len; at += step) {
    size_t n = len - at > step ? step : len - at;
    parse_dataset_json_feed(p, body + at, n);
  }
  int rc = parse_dataset_json_finish(p, name, d, err);
  parse_dataset_json_free(p);
  return rc;
}

Test(parse_table, json_records_are_a_table) {
  const char *body =
      "{\"name\":\"r\",\"records\":[{\"a\":1,\"b\":\"x\",\"c\":true,\"y\":\"p\"},"
      "{\"b\":null,\"a\":2.5,\"y\":\"q\"},{\"a\":3,\"c\":false,\"y\":null}],\"target\":\"y\"}";
  for (size_t step = 1; step <= 64; step *= 4) {
    parse_dataset_out d;
    api_error err;
    cr_assert_eq(records(body, step, &d, &err), 0, "%s", err.message);
    cr_assert_not_null(d.table);
    cr_expect_eq(d.rows, 3);
    cr_expect_eq(d.rows_without_target, 1);
    cr_expect_eq(nn_table_column_at(d.table, 0)->type, NN_COL_NUMBER);
    cr_expect_eq(nn_table_column_at(d.table, 0)->values[1], 2.5);
    cr_expect_eq(nn_table_column_at(d.table, 1)->missing, 2);
    cr_expect_eq(nn_table_column_at(d.table, 2)->type, NN_COL_BOOLEAN);
    cr_expect_eq(nn_table_column_at(d.table, 2)->missing, 1);
    parse_dataset_out_free(&d);
  }
}

Test(parse_table, bad_json_records_are_named) {
  static const struct {
    const char *body, *field;
  } cases[] = {
      {"{\"name\":\"r\",\"target\":\"y\",\"records\":[{\"a\":1,\"y\":\"p\"},{\"z\":1}]}",
       "records[1].z"},
      {"{\"name\":\"r\",\"target\":\"y\",\"records\":[{\"a\":[1],\"y\":\"p\"}]}", "records[0].a"},
      {"{\"name\":\"r\",\"target\":\"y\",\"records\":[3]}", "records[0]"},
      {"{\"name\":\"r\",\"target\":\"y\",\"records\":[]}", "records"},
      {"{\"name\":\"r\",\"records\":[{\"a\":1}]}", "target"},
      {"{\"name\":\"r\",\"target\":\"y\",\"inputs\":[[1]],\"records\":[{\"a\":1}]}", "records"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    parse_dataset_out d;
    api_error err;
    cr_expect_eq(records(cases[i].body, 5, &d, &err), -API_INVALID_ARGUMENT, "%s",
                 cases[i].body);
    cr_expect_str_eq(err.field, cases[i].field, "%s: %s", cases[i].body, err.message);
  }
}

/* ---- raw records for predict, preprocess ------------------------------------------------ */

Test(parse_table, raw_records_encode_as_the_table_rows_do) {
  parse_table_options o = {0};
  parse_dataset_out d;
  api_error err;
  const char *body = "island,mass,y\nBiscoe,4200,a\nDream,,b\nBiscoe,3900,a\nTorgersen,4100,b\n";
  cr_assert_eq(typed_csv("y", &o, body, 0, &d, &err), 0, "%s", err.message);
  cJSON *pre = cJSON_Parse("{\"columns\":{\"mass\":{\"impute\":\"constant\",\"fill_value\":1,"
                           "\"missing_indicator\":true}}}");
  nn_encode_options eo;
  nn_encode_column *cols;
  const nn_encode_column **ptrs;
  cr_assert_eq(parse_preprocess_options(pre, d.table, 2, &eo, &cols, &ptrs, &err), 0, "%s",
               err.message);
  nn_encoder *e;
  nn_error ne;
  uint32_t rows[] = {0, 1, 2, 3};
  cr_assert_eq(nn_encoder_fit(d.table, rows, 4, &eo, &e, &ne), NN_OK, "%s", ne.message);
  int w = nn_encoder_width(e);
  cr_expect_eq(w, 4 + 2); /* three islands and the other slot; mass and its indicator */
  float want[4 * 6], got[4 * 6];
  cr_assert_eq(nn_encoder_apply(e, d.table, NULL, 4, want, &ne), NN_OK);
  cJSON *recs = cJSON_Parse("[{\"mass\":4200,\"island\":\"Biscoe\",\"id\":7},"
                            "{\"island\":\"Dream\",\"mass\":null},{\"island\":\"Biscoe\","
                            "\"mass\":\"3900\"},{\"mass\":4100,\"island\":\"Torgersen\"}]");
  cr_assert_eq(predict_records_read(recs, e, got, &err), 0, "%s", err.message);
  cr_expect_eq(memcmp(want, got, sizeof want), 0);
  cr_expect_eq(got[1 * 6 + 5], 1.0f); /* the indicator of the missing mass */
  cJSON *bad = cJSON_Parse("[{\"island\":\"Dream\"},{\"mass\":\"heavy\"}]");
  cr_expect_eq(predict_records_read(bad, e, got, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "records[1].mass");
  cJSON *unseen = cJSON_Parse("[{\"island\":\"Atlantis\"}]");
  cr_assert_eq(predict_records_read(unseen, e, got, &err), 0, "%s", err.message);
  cr_expect_eq(got[3], 1.0f); /* the other slot */
  cJSON_Delete(unseen);
  cJSON_Delete(bad);
  cJSON_Delete(recs);
  nn_encoder_free(e);
  free(cols);
  free(ptrs);
  cJSON_Delete(pre);
  parse_dataset_out_free(&d);
}

Test(parse_table, preprocess_naming_an_absent_column_is_unprocessable) {
  parse_table_options o = {0};
  parse_dataset_out d;
  api_error err;
  cr_assert_eq(typed_csv("y", &o, "a,y\nx,1\n", 0, &d, &err), 0, "%s", err.message);
  cJSON *pre = cJSON_Parse("{\"columns\":{\"b\":{\"skip\":true}}}");
  nn_encode_options eo;
  nn_encode_column *cols;
  const nn_encode_column **ptrs;
  cr_expect_eq(parse_preprocess_options(pre, d.table, 1, &eo, &cols, &ptrs, &err),
               -API_UNPROCESSABLE);
  cr_expect_str_eq(err.field, "preprocess.columns.b");
  free(cols);
  free(ptrs);
  cJSON_Delete(pre);
  parse_dataset_out_free(&d);
}

/* The first cell that is no number may be in the last record, without its
 * line end: the hand-over to the table happens at the finish. */
Test(parse_table, the_hand_over_may_come_at_the_last_record) {
  parse_table_options o = {0};
  for (size_t step = 0; step <= 2; step++) {
    parse_dataset_out d;
    api_error err;
    cr_assert_eq(typed_csv("y", &o, "x,y\n1,1\n2,2\nabc,3", step, &d, &err), 0, "%s",
                 err.message);
    cr_assert_not_null(d.table);
    cr_expect_eq(d.rows, 3);
    cr_expect_eq(nn_table_column_at(d.table, 0)->type, NN_COL_CATEGORY);
    cr_expect_eq(d.task, PARSE_TASK_REGRESSION);
    parse_dataset_out_free(&d);
    /* a structural error past the hand-over reads as the numbers' would */
    cr_expect_eq(typed_csv("y", &o, "x,y\nabc,1\n2,2,2\n", step, &d, &err),
                 -API_INVALID_ARGUMENT);
    cr_expect_str_eq(err.field, "row 2");
    cr_expect_not_null(strstr(err.message, "has more than the header's 2 columns"), "%s",
                       err.message);
  }
}

/* A header wider than a table takes (NN_TABLE_MAX_COLUMNS) is still a numeric
 * data set when its cells are numbers; a cell that is no number then fails
 * with the table's refusal of the header, as a table reader would. */
Test(parse_table, a_header_too_wide_for_a_table_may_still_be_numbers) {
  int cols = NN_TABLE_MAX_COLUMNS + 10;
  size_t cap = (size_t)cols * 16 + 64, at = 0;
  char *text = malloc(cap);
  cr_assert_not_null(text);
  for (int c = 0; c < cols; c++) at += (size_t)snprintf(text + at, cap - at, "c%d,", c);
  at += (size_t)snprintf(text + at, cap - at, "y\n");
  for (int c = 0; c < cols; c++) at += (size_t)snprintf(text + at, cap - at, "%d.5,", c);
  at += (size_t)snprintf(text + at, cap - at, "1\n");
  parse_table_options o = {0};
  parse_dataset_out d;
  api_error err;
  cr_assert_eq(typed_csv("y", &o, text, 0, &d, &err), 0, "%s", err.message);
  cr_expect_null(d.table);
  cr_assert_not_null(d.x);
  cr_expect_eq(d.features, cols);
  cr_expect_eq(d.x[cols - 1], (float)(cols - 1) + 0.5f);
  parse_dataset_out_free(&d);
  text[at - 4] = 'x'; /* the last feature cell: "4105.x" */
  cr_expect_eq(typed_csv("y", &o, text, 0, &d, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "header");
  cr_expect_not_null(strstr(err.message, "at most 4096 columns"), "%s", err.message);
  free(text);
}

/* The numbers a numeric set keeps are the float nearest each decimal, as
 * parse_text_to_float reads it, though the table read them as doubles; a
 * number beyond float range makes the body a table, as it did. */
Test(parse_table, numbers_gathered_from_the_table_are_the_decimals_floats) {
  static const char *const cells[] = {"0.1", "-1e-40", "3.4028234e38", "16777217", " 7 ",
                                      "+.5", "1e-50", "123456789.123456789"};
  char text[512] = "a,y\n";
  for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
    snprintf(text + strlen(text), sizeof text - strlen(text), "%s,%zu\n", cells[i], i);
  parse_table_options o = {0};
  parse_dataset_out d;
  api_error err;
  cr_assert_eq(typed_csv("y", &o, text, 1, &d, &err), 0, "%s", err.message);
  cr_assert_not_null(d.x);
  for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
    float want;
    cr_assert_eq(parse_text_to_float(cells[i], &want), 0);
    cr_expect_eq(memcmp(&d.x[i], &want, sizeof want), 0, "%s", cells[i]);
  }
  parse_dataset_out_free(&d);
  cr_assert_eq(typed_csv("y", &o, "a,y\n1,0\n3.5e38,1\n", 0, &d, &err), 0, "%s", err.message);
  cr_expect_not_null(d.table);
  parse_dataset_out_free(&d);
}
