/* test_parse_dataset.c — JSON data sets streamed in pieces: every cut gives
 * the same answer, malformed bodies are refused as the buffered parser
 * (json_check, parse_json_body) refuses them, to the byte, and the checks
 * rank as in a parse of the whole document, not in the order of the bytes. */
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
}

#define DS(x) "{\"name\":\"d\"," x "}"

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

Test(parse_dataset_stream, json_syntax_as_the_buffered_parser) {
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

Test(parse_dataset_stream, json_semantics_come_after_the_whole_body_is_checked) {
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

Test(parse_dataset_stream, long_numbers_and_a_byte_order_mark) {
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

