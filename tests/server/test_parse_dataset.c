/* test_parse_dataset.c — JSON data sets (parse_dataset.h), streamed: every
 * case is parsed whole and a byte at a time with the same answer; malformed
 * bodies are refused as the buffered parser (json_check, parse_json_body)
 * refuses them, to the byte; the checks rank as in a parse of the whole
 * document, not in the order of its bytes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/parse_dataset.h"

/* Parse len bytes of s fed in pieces of `piece` bytes (each its own
 * allocation of exactly that size: ASan sees overreads). */
static int dataset_fed(const char *s, size_t len, size_t piece, parse_dataset_out *d,
                       char name[PARSE_NAME_MAX + 1], api_error *err) {
  parse_dataset_json *p;
  int rc = parse_dataset_json_new(&p, err);
  cr_assert_eq(rc, 0);
  for (size_t at = 0; at < len; at += piece) {
    size_t n = len - at < piece ? len - at : piece;
    char *bytes = malloc(n);
    cr_assert_not_null(bytes);
    memcpy(bytes, s + at, n);
    parse_dataset_json_feed(p, bytes, n);
    free(bytes);
  }
  rc = parse_dataset_json_finish(p, name, d, err);
  parse_dataset_json_free(p);
  return rc;
}

/* Parse s whole, and again a byte at a time: both must end alike. */
static int dataset_from(const char *s, parse_dataset_out *d, char name[PARSE_NAME_MAX + 1],
                        api_error *err) {
  size_t len = strlen(s);
  int rc = dataset_fed(s, len, len > 0 ? len : 1, d, name, err);
  parse_dataset_out d1;
  char name1[PARSE_NAME_MAX + 1];
  api_error err1 = {0};
  cr_assert_eq(dataset_fed(s, len, 1, &d1, name1, &err1), rc, "%s: fed bytewise: %s", s,
               err1.message);
  if (rc != 0) {
    cr_assert_str_eq(err1.field, err->field, "%s", s);
    cr_assert_str_eq(err1.message, err->message, "%s", s);
  } else {
    cr_assert_str_eq(name1, name);
    cr_assert_eq(d1.rows, d->rows);
    cr_assert_arr_eq(d1.x, d->x, d->rows * (size_t)d->features * sizeof(float));
  }
  parse_dataset_out_free(&d1);
  return rc;
}

static void dataset_fails(const char *s, const char *field, const char *message_part) {
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(dataset_from(s, &d, name, &err), -API_INVALID_ARGUMENT, "%s parsed", s);
  cr_assert_str_eq(err.field, field, "%s: field %s (%s)", s, err.field, err.message);
  cr_assert(strstr(err.message, message_part) != NULL, "%s: message '%s'", s, err.message);
  cr_assert_null(d.x, "nothing is left allocated");
  cr_assert_null(d.classes);
}

#define DS(x) "{\"name\":\"d\"," x "}"

Test(parse_dataset, json_regression) {
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(dataset_from("{\"name\":\"xor\",\"inputs\":[[0,0],[0,1],[1,0],[1,1]],"
                            "\"targets\":[[0,0.5],[1,-2],[1,3e2],[0,1e-3]]}",
                            &d, name, &err),
               0, "%s", err.message);
  cr_assert_str_eq(name, "xor");
  cr_assert_eq(d.rows, 4);
  cr_assert_eq(d.features, 2);
  cr_assert_eq(d.outputs, 2);
  cr_assert_eq(d.task, PARSE_TASK_REGRESSION);
  cr_assert_str_eq(parse_task_name(d.task), "regression");
  const float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
  const float y[] = {0, 0.5f, 1, -2, 1, 300, 0, 1e-3f};
  cr_assert_arr_eq(d.x, x, sizeof x);
  cr_assert_arr_eq(d.y, y, sizeof y);
  cr_assert_null(d.labels);
  cr_assert_eq(d.n_classes, 0);
  parse_dataset_out_free(&d);
  cr_assert_null(d.x);
  parse_dataset_out_free(&d); /* freeing twice is harmless */
}

Test(parse_dataset, json_string_labels) {
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(dataset_from("{\"name\":\"iris\",\"inputs\":[[1],[2],[3],[4],[5]],"
                            "\"labels\":[\"virginica\",\"setosa\",\"versicolor\",\"setosa\","
                            "\"virginica\"]}",
                            &d, name, &err),
               0, "%s", err.message);
  cr_assert_eq(d.task, PARSE_TASK_CLASSIFICATION);
  cr_assert_str_eq(parse_task_name(d.task), "classification");
  cr_assert_eq(d.n_classes, 3);
  cr_assert_eq(d.outputs, 3);
  cr_assert_str_eq(d.classes[0], "setosa");
  cr_assert_str_eq(d.classes[1], "versicolor");
  cr_assert_str_eq(d.classes[2], "virginica");
  const int32_t labels[] = {2, 0, 1, 0, 2};
  cr_assert_arr_eq(d.labels, labels, sizeof labels);
  cr_assert_null(d.y);
  parse_dataset_out_free(&d);
}

Test(parse_dataset, json_integer_labels) {
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(dataset_from("{\"name\":\"digits\",\"inputs\":[[1,1],[2,2],[3,3]],"
                            "\"labels\":[3,0,3.0]}",
                            &d, name, &err),
               0, "%s", err.message);
  cr_assert_eq(d.n_classes, 4, "classes 0..max, even those without rows");
  cr_assert_str_eq(d.classes[0], "0");
  cr_assert_str_eq(d.classes[3], "3");
  const int32_t labels[] = {3, 0, 3};
  cr_assert_arr_eq(d.labels, labels, sizeof labels);
  parse_dataset_out_free(&d);
}

Test(parse_dataset, json_errors_name_the_element) {
  dataset_fails(DS("\"inputs\":[],\"targets\":[]"), "inputs", "non-empty");
  dataset_fails(DS("\"inputs\":[[]],\"targets\":[[1]]"), "inputs[0]", "1 to 1048576 numbers");
  dataset_fails(DS("\"inputs\":[1,2],\"targets\":[[1],[2]]"), "inputs[0]", "array");
  dataset_fails(DS("\"inputs\":[[1,2],[3,4],[5]],\"targets\":[[1],[2],[3]]"), "inputs[2]",
                "inputs[2] must be an array of 2 numbers, like inputs[0]");
  dataset_fails(DS("\"inputs\":[[1,2],[3,4,5]],\"targets\":[[1],[2]]"), "inputs[1]", "2 numbers");
  dataset_fails(DS("\"inputs\":[[1,2],{}],\"targets\":[[1],[2]]"), "inputs[1]", "2 numbers");
  dataset_fails(DS("\"inputs\":[[0,0],[0,1],[1,0],[1,1e999]],\"targets\":[[0],[1],[1],[0]]"),
                "inputs[3][1]", "inputs[3][1] must be a finite number");
  dataset_fails(DS("\"inputs\":[[0,1e39]],\"targets\":[[0]]"), "inputs[0][1]", "finite");
  dataset_fails(DS("\"inputs\":[[0,\"1\"]],\"targets\":[[0]]"), "inputs[0][1]", "finite");
  dataset_fails(DS("\"inputs\":[[0,null]],\"targets\":[[0]]"), "inputs[0][1]", "finite");
  dataset_fails(DS("\"inputs\":[[0],[1]],\"targets\":[[0]]"), "targets",
                "targets must have 2 rows");
  dataset_fails(DS("\"inputs\":[[0],[1]],\"targets\":[[0],[1,2]]"), "targets[1]", "1 numbers");
  dataset_fails(DS("\"inputs\":[[0]],\"targets\":[[-1e999]]"), "targets[0][0]", "finite");
  dataset_fails(DS("\"targets\":[[0]]"), "inputs", "inputs is required");
  dataset_fails(DS("\"inputs\":[[0]]"), "targets", "required");
  dataset_fails(DS("\"inputs\":[[0]],\"targets\":[[0]],\"labels\":[0]"), "labels", "not both");
  dataset_fails(DS("\"inputs\":[[0]],\"target\":[[0]]"), "target", "unknown field");
  dataset_fails(DS("\"inputs\":[[0],[1]],\"labels\":[\"a\"]"), "labels", "2 labels");
  dataset_fails(DS("\"inputs\":[[0],[1]],\"labels\":\"ab\""), "labels", "2 labels");
  dataset_fails(DS("\"inputs\":[[0],[1]],\"labels\":[\"a\",1]"), "labels[1]", "string");
  dataset_fails(DS("\"inputs\":[[0],[1]],\"labels\":[\"a\",\"\"]"), "labels[1]", "string");
  dataset_fails(DS("\"inputs\":[[0],[1]],\"labels\":[1,\"a\"]"), "labels[1]", "class number");
  dataset_fails(DS("\"inputs\":[[0],[1]],\"labels\":[1,-1]"), "labels[1]", "from 0 to");
  dataset_fails(DS("\"inputs\":[[0],[1]],\"labels\":[0,1.5]"), "labels[1]", "class number");
  dataset_fails(DS("\"inputs\":[[0]],\"labels\":[10000]"), "labels[0]", "from 0 to 9999");
  dataset_fails(DS("\"inputs\":[[0]],\"labels\":[true]"), "labels[0]", "class");
  dataset_fails("{\"inputs\":[[0]],\"labels\":[0]}", "name", "required");
  dataset_fails("{\"name\":\"a b\",\"inputs\":[[0]],\"labels\":[0]}", "name", "characters");
}

/* n rows of one feature labelled "c<i % classes>"; malloc'd. */
static char *many_classes(int n, int classes) {
  char *s = malloc((size_t)n * 40 + 64);
  cr_assert_not_null(s);
  size_t at = (size_t)sprintf(s, "{\"name\":\"d\",\"inputs\":[");
  for (int i = 0; i < n; i++) at += (size_t)sprintf(s + at, "%s[%d]", i ? "," : "", i);
  at += (size_t)sprintf(s + at, "],\"labels\":[");
  for (int i = 0; i < n; i++) at += (size_t)sprintf(s + at, "%s\"c%d\"", i ? "," : "", i % classes);
  sprintf(s + at, "]}");
  return s;
}

/* At most PARSE_MAX_CLASSES classes, refused at the label of the one past it. */
Test(parse_dataset, classes_are_capped) {
  char *s = many_classes(PARSE_MAX_CLASSES + 5, PARSE_MAX_CLASSES);
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(dataset_from(s, &d, name, &err), 0, "%s", err.message);
  cr_assert_eq(d.n_classes, PARSE_MAX_CLASSES);
  parse_dataset_out_free(&d);
  free(s);
  s = many_classes(PARSE_MAX_CLASSES + 5, PARSE_MAX_CLASSES + 1);
  dataset_fails(s, "labels[10000]", "names class 10001; a dataset may have at most 10000");
  free(s);
}

Test(parse_dataset, long_class_names_are_rejected) {
  char s[1024];
  char label[PARSE_CLASS_NAME_MAX + 2];
  memset(label, 'c', sizeof label);
  label[PARSE_CLASS_NAME_MAX + 1] = '\0';
  snprintf(s, sizeof s, DS("\"inputs\":[[0],[1]],\"labels\":[\"a\",\"%s\"]"), label);
  dataset_fails(s, "labels[1]", "1 to 256 bytes");
}

Test(parse_dataset, matrix_sizes_are_checked_for_overflow) {
  cr_assert_eq(parse_matrix_bytes(4, 2), 32);
  cr_assert_eq(parse_matrix_bytes(1 << 15, 1 << 15), (size_t)4 << 30);
  cr_assert_eq(parse_matrix_bytes((1 << 15) + 1, 1 << 15), 0, "over the value limit");
  cr_assert_eq(parse_matrix_bytes(SIZE_MAX / 2, 4), 0, "rows * cols overflows");
  cr_assert_eq(parse_matrix_bytes(3, SIZE_MAX), 0);
  cr_assert_eq(parse_matrix_bytes(0, 3), 0);
}

/* A data set body refused as parse_json_body refuses it, to the byte. */
static void dataset_syntax_fails(const char *s, size_t len) {
  cJSON *root = NULL;
  api_error want = {0}, got = {0};
  cr_assert_neq(parse_json_body(s, len, &root, &want), 0, "%.*s is JSON", (int)len, s);
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  for (size_t piece = 1; piece <= len; piece = piece < 4 ? piece + 1 : piece < len ? len : len + 1) {
    cr_assert_eq(dataset_fed(s, len, piece, &d, name, &got), -API_INVALID_ARGUMENT, "%.*s",
                 (int)len, s);
    cr_assert_str_eq(got.message, want.message, "%.*s in pieces of %zu", (int)len, s, piece);
    cr_assert_str_eq(got.field, want.field, "%.*s in pieces of %zu", (int)len, s, piece);
    cr_assert_null(d.x);
  }
}

#define SYNTAX_FAILS(lit) dataset_syntax_fails(lit, sizeof lit - 1)

Test(parse_dataset, json_syntax_as_the_buffered_parser) {
  SYNTAX_FAILS(" \r\n");
  SYNTAX_FAILS("\xEF\xBB\xBF");
  SYNTAX_FAILS("\xEF\xBB[1]");
  SYNTAX_FAILS("{\"name\":\"d\",\"inputs\":[[1,2],[3");
  SYNTAX_FAILS("{\"name\":\"d\"");
  SYNTAX_FAILS("{\"name\":\"d\",}");
  SYNTAX_FAILS("{'name':'d'}");
  SYNTAX_FAILS("{\"name\" \"d\"}");
  SYNTAX_FAILS("{\"name\":\"d");
  SYNTAX_FAILS("{\"name\":\"d\" /* c */}");
  SYNTAX_FAILS("{\"inputs\":[[02]]}");
  SYNTAX_FAILS("{\"inputs\":[[-02]]}");
  SYNTAX_FAILS("{\"inputs\":[[1.]]}");
  SYNTAX_FAILS("{\"inputs\":[[1.5e]]}");
  SYNTAX_FAILS("{\"inputs\":[[1e+]]}");
  SYNTAX_FAILS("{\"inputs\":[[-]]}");
  SYNTAX_FAILS("{\"inputs\":[[-Infinity]]}");
  SYNTAX_FAILS("{\"inputs\":[[NaN]]}");
  SYNTAX_FAILS("{\"inputs\":[[tru]]}");
  SYNTAX_FAILS("{\"inputs\":[[truex]]}");
  SYNTAX_FAILS("{\"inputs\":[[1,]]}");
  SYNTAX_FAILS("{\"inputs\":[[1 2]]}");
  SYNTAX_FAILS("{\"inputs\":[[1}]}");
  SYNTAX_FAILS("{\"inputs\":[[1]]} x");
  SYNTAX_FAILS("{}{}");
  SYNTAX_FAILS("{\"name\":\"\\q\"}");
  SYNTAX_FAILS("{\"name\":\"\\");
  SYNTAX_FAILS("{\"name\":\"\\u00\"}");
  SYNTAX_FAILS("{\"name\":\"\\u00");
  SYNTAX_FAILS("{\"name\":\"a\\u0000b\"}");
  SYNTAX_FAILS("{\"name\":\"\\udc00\"}");
  SYNTAX_FAILS("{\"name\":\"\\ud800\"}");
  SYNTAX_FAILS("{\"name\":\"\\ud800\\u0041\"}");
  SYNTAX_FAILS("{\"name\":\"\\ud800\\");
  SYNTAX_FAILS("{\"name\":\"\xff\xfe\"}");
  SYNTAX_FAILS("{\"name\":\"\xc0\xaf\"}");
  SYNTAX_FAILS("{\"name\":\"\xed\xa0\x80\"}");
  SYNTAX_FAILS("{\"name\":\"\xf4\x90\x80\x80\"}");
  SYNTAX_FAILS("{\"name\":\"\xe2\x82\"}");
  SYNTAX_FAILS("{\"name\":\"\xe2\x82");
  SYNTAX_FAILS("{\"name\":\"a\x01b\"}");
  SYNTAX_FAILS("{\"name\":\"a\",\"name\":\"b\"}");
  SYNTAX_FAILS("{\"name\":\"a\",\"na\\u006de\":\"b\"}");
  SYNTAX_FAILS("{\"b\":1,\"a\":1,\"b\":2,\"a\":2}");
  SYNTAX_FAILS("{\"x\":{\"a\":1,\"a\":1},\"x\":2}");
  SYNTAX_FAILS("{\"x\":[{\"a\":1},{\"b\":1,\"b\":1}],\"y\":{\"c\":1,\"c\":1}}");
  SYNTAX_FAILS("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
  SYNTAX_FAILS("{\"i\\n\":[0,1,{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
               "[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}");
}

Test(parse_dataset, json_semantics_come_after_the_whole_body_is_checked) {
  /* a later syntax error, or duplicate, outranks an earlier bad value */
  SYNTAX_FAILS("{\"name\":\"a b\",\"inputs\":[[1]],\"labels\":[0] x");
  SYNTAX_FAILS("{\"inputs\":[[\"x\"]],\"inputs\":[[1]]}");
  /* the order of a whole-document check, not the order of the document */
  dataset_fails("{\"labels\":[\"a\",1],\"inputs\":[[0],[1]],\"zz\":1,\"name\":\"d\"}", "zz",
                "unknown field zz");
  dataset_fails("{\"targets\":[[\"x\"]],\"inputs\":[[1],[\"y\"]],\"name\":\"d\"}",
                "inputs[1][0]", "finite");
  dataset_fails(DS("\"inputs\":[[\"x\",1],[1,2,3],[1]],\"targets\":[[1]]"), "inputs[0][0]",
                "finite");
  dataset_fails(DS("\"inputs\":[[1],[1,2],[\"x\"]],\"targets\":[[1]]"), "inputs[1]",
                "1 numbers");
  dataset_fails(DS("\"labels\":[\"a\",2],\"inputs\":[[1]]"), "labels", "1 labels");
  dataset_fails("[1]", "", "must be a JSON object");
  dataset_fails("\"x\"", "", "must be a JSON object");
  dataset_fails(DS("\"\":1,\"inputs\":[[1]],\"labels\":[0]"), "", "empty name");
  dataset_fails("{\"name\":7,\"inputs\":[[1]],\"labels\":[0]}", "name", "must be a string");
  dataset_fails("{\"name\":\"\",\"inputs\":[[1]],\"labels\":[0]}", "name", "1 to 64");
}

Test(parse_dataset, long_numbers_and_a_byte_order_mark) {
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  char s[512];
  snprintf(s, sizeof s, "\xEF\xBB\xBF" DS("\"inputs\":[[0.5%0200d]],\"labels\":[1.%0100d]"), 0, 0);
  cr_assert_eq(dataset_from(s, &d, name, &err), 0, "%s", err.message);
  cr_assert_eq(d.x[0], 0.5f, "%g", (double)d.x[0]);
  cr_assert_eq(d.labels[0], 1);
  parse_dataset_out_free(&d);
}

