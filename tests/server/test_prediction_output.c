/* test_prediction_output.c — a batch prediction's rows as csv and jsonl:
 * header, row numbers, floats as predict writes them, labels only when the
 * names fit the outputs, csv quoting of a name. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "../../server/prediction_output.h"

static char *text(prediction_format f, int outputs, const char *classes, int64_t first,
                  size_t rows, const float *y) {
  prediction_output o;
  json_buf b;
  cr_assert_eq(prediction_output_init(&o, f, outputs, classes), 0);
  json_buf_init(&b, 16);
  prediction_output_header(&o, &b);
  prediction_output_rows(&o, &b, first, rows, y);
  prediction_output_clear(&o);
  size_t len;
  char *s = json_buf_take(&b, &len);
  cr_assert_not_null(s);
  return s;
}

Test(prediction_output, csv_of_a_classification_has_labels) {
  float y[] = {0.1f, 0.7f, 0.2f, 0.6f, 0.3f, 0.1f};
  char *s = text(PREDICTION_CSV, 3, "[\"a\",\"b \\\"q\\\"\",\"c\"]", 10, 2, y);
  cr_assert_str_eq(s, "row,output_0,output_1,output_2,label\n"
                      "10,0.100000001,0.699999988,0.200000003,\"b \"\"q\"\"\"\n"
                      "11,0.600000024,0.300000012,0.100000001,\"a\"\n");
  free(s);
}

Test(prediction_output, one_sigmoid_unit_names_two_classes) {
  float y[] = {0.5f, 0.25f};
  char *s = text(PREDICTION_JSONL, 1, "[\"no\",\"yes\"]", 0, 2, y);
  cr_assert_str_eq(s, "{\"row\":0,\"outputs\":[0.5],\"label\":\"yes\"}\n"
                      "{\"row\":1,\"outputs\":[0.25],\"label\":\"no\"}\n");
  free(s);
}

Test(prediction_output, a_regression_or_names_that_do_not_fit_have_no_label) {
  float y[] = {1.5f, NAN};
  char *s = text(PREDICTION_CSV, 2, NULL, 0, 1, y);
  cr_assert_str_eq(s, "row,output_0,output_1\n0,1.5,null\n");
  free(s);
  s = text(PREDICTION_JSONL, 2, "[\"a\",\"b\",\"c\"]", 7, 1, y);
  cr_assert_str_eq(s, "{\"row\":7,\"outputs\":[1.5,null]}\n");
  free(s);
  prediction_output o;
  cr_assert_eq(prediction_output_init(&o, PREDICTION_CSV, 2, "not json"), -1);
}
