/* test_predict_body.c — the predict fast path reads exactly what the generic
 * path would (the same floats, strtod's rounding), declines everything else,
 * and the answer writer prints floats that read back exactly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/json_buf.h"
#include "../../server/predict_body.h"

static predict_body_status read_body(const char *body, int width, size_t max_rows, float **x,
                                     size_t *rows) {
  size_t cap = 0;
  *x = NULL;
  return predict_body_read(body, strlen(body), width, max_rows, x, &cap, rows);
}

Test(predict_body, reads_rows) {
  float *x;
  size_t rows;
  cr_assert_eq(read_body(" { \"inputs\" :\n[[0, 1.5], [-2e3,\t0.25] ] } ", 2, 10, &x, &rows),
               PREDICT_BODY_OK);
  cr_assert_eq(rows, 2);
  float want[] = {0.0f, 1.5f, -2000.0f, 0.25f};
  for (int i = 0; i < 4; i++) cr_expect_eq(x[i], want[i], "x[%d] = %g", i, (double)x[i]);
  free(x);
}

/* A number converts to strtod's double, bit for bit, and takes its bytes. */
static void expect_strtod(const char *num) {
  double got, want = strtod(num, NULL);
  size_t len = strlen(num);
  cr_assert_eq(predict_body_number(num, len, &got), len, "%s", num);
  cr_assert_eq(memcmp(&got, &want, sizeof got), 0, "%s: %a, strtod %a", num, got, want);
}

Test(predict_body, numbers_match_strtod) {
  static const char *const fixed[] = {
      "0",     "-0",       "0.0",       "1",          "-1",        "0.1",
      "0.001", "123.456",  "1e10",      "1E-10",      "1e+5",      "3.4028234e38",
      "1e-45", "1.4e-45",  "7e-46",     "9007199254740993",        "0.30000000000000004",
      "123456789012345678901234567890", "0.000000000000000000000000000001",
      "2.718281828459045235360287471352662497757", "1e22", "1e23", "4.9e-324", "1e400",
      "8.5", "0.8", "12345678901234567890e-10"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) expect_strtod(fixed[i]);
  /* random decimals of every length and exponent the fast path takes, and beyond */
  uint64_t s = 12345;
  for (int i = 0; i < 300000; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    int digits = 1 + (int)((s >> 33) % 20), point = (int)((s >> 40) % (unsigned)(digits + 1));
    int exp = (int)((s >> 48) % 61) - 30;
    char num[64];
    int n = 0;
    if (s & 1) num[n++] = '-';
    for (int k = 0; k < digits; k++) {
      if (k == point && k > 0) num[n++] = '.';
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      /* no leading zero before another integer digit: JSON forbids it */
      int lead = k == 0 && (point == 0 || point > 1);
      num[n++] = (char)('0' + (lead ? 1 + (s >> 60) % 9 : (s >> 60) % 10));
    }
    n += snprintf(num + n, sizeof num - (size_t)n, (s & 2) ? "e%d" : "", exp);
    num[n] = '\0';
    expect_strtod(num);
  }
}

Test(predict_body, floats_are_the_rounded_double) {
  static const char *const nums[] = {"0.1", "16777217", "3.4028234e38", "1e-46", "-2.5e-3"};
  char body[128];
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    snprintf(body, sizeof body, "{\"inputs\":[[%s]]}", nums[i]);
    float *x, want = (float)strtod(nums[i], NULL);
    size_t rows;
    cr_assert_eq(read_body(body, 1, 1, &x, &rows), PREDICT_BODY_OK, "%s", nums[i]);
    cr_expect_eq(memcmp(&x[0], &want, sizeof want), 0, "%s", nums[i]);
    free(x);
  }
}

/* Anything but the plain shape goes to the generic path, which names the error. */
Test(predict_body, declines_everything_else) {
  static const char *const others[] = {
      "",
      "[]",
      "{}",
      "{\"inputs\":[]}",
      "{\"inputs\":[[1,2]],\"extra\":1}",
      "{\"extra\":1,\"inputs\":[[1,2]]}",
      "{\"inputs\":[[1,2]],\"inputs\":[[1,2]]}",
      "{\"inputs\":[[1]]}",
      "{\"inputs\":[[1,2,3]]}",
      "{\"inputs\":[[1,\"2\"]]}",
      "{\"inputs\":[[1,null]]}",
      "{\"inputs\":[[1,NaN]]}",
      "{\"inputs\":[[1,Infinity]]}",
      "{\"inputs\":[[1,+2]]}",
      "{\"inputs\":[[1,.5]]}",
      "{\"inputs\":[[1,5.]]}",
      "{\"inputs\":[[1,01]]}",
      "{\"inputs\":[[1,0x10]]}",
      "{\"inputs\":[[1,1e]]}",
      "{\"inputs\":[[1,-]]}",
      "{\"inputs\":[[1,1e39]]}",
      "{\"inputs\":[[1,-1e39]]}",
      "{\"inputs\":[[1,2],]}",
      "{\"inputs\":[[1,2]]",
      "{\"inputs\":[[1,2]]} x",
      "{\"inputs\":[[1,2]]}}",
      "{\"inp\\u0075ts\":[[1,2]]}",
      "{\"inputs\":[[1,2],[3,4],[5,6]]}", /* more rows than max_rows (2) */
      "{\"inputs\":[1,2]}",
      "{\"inputs\":[[[1],2]]}",
  };
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    float *x;
    size_t rows;
    cr_expect_eq(read_body(others[i], 2, 2, &x, &rows), PREDICT_BODY_OTHER, "accepted %s",
                 others[i]);
    free(x);
  }
}

Test(predict_body, grows_a_kept_buffer) {
  char body[4096];
  int n = snprintf(body, sizeof body, "{\"inputs\":[");
  for (int r = 0; r < 100; r++) n += snprintf(body + n, sizeof body - (size_t)n, "%s[%d,%d,%d]",
                                               r ? "," : "", r, -r, r * 2);
  snprintf(body + n, sizeof body - (size_t)n, "]}");
  float *x = malloc(3 * sizeof *x);
  size_t cap = 3, rows;
  cr_assert_eq(predict_body_read(body, strlen(body), 3, 1000, &x, &cap, &rows), PREDICT_BODY_OK);
  cr_assert_eq(rows, 100);
  cr_assert_geq(cap, 300);
  for (int r = 0; r < 100; r++) {
    cr_expect_eq(x[3 * r], (float)r);
    cr_expect_eq(x[3 * r + 1], (float)-r);
    cr_expect_eq(x[3 * r + 2], (float)(2 * r));
  }
  free(x);
}

Test(json_buf, floats_read_back_exactly) {
  uint32_t bits = 0x3f800000u;
  for (int i = 0; i < 100000; i++) {
    bits = bits * 1664525u + 1013904223u;
    float v;
    memcpy(&v, &bits, sizeof v);
    json_buf b;
    json_buf_init(&b, 0);
    json_buf_float(&b, v);
    size_t len;
    char *text = json_buf_take(&b, &len);
    cr_assert_not_null(text);
    if (!isfinite(v)) {
      cr_assert_str_eq(text, "null");
    } else {
      float back = strtof(text, NULL);
      cr_assert_eq(memcmp(&back, &v, sizeof v), 0, "%a printed as %s", (double)v, text);
    }
    free(text);
  }
}

Test(json_buf, writes_a_document) {
  json_buf b;
  json_buf_init(&b, 1);
  json_buf_lit(&b, "{\"n\":");
  json_buf_int(&b, -9007199254740993ll);
  json_buf_lit(&b, ",\"s\":");
  json_buf_string(&b, "a\"b\\c\n\t\x01\xc3\xa9");
  json_buf_raw(&b, "}", 1);
  size_t len;
  char *text = json_buf_take(&b, &len);
  cr_assert_str_eq(text, "{\"n\":-9007199254740993,\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\xc3\xa9\"}");
  cr_assert_eq(len, strlen(text));
  free(text);
}
