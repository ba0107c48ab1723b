/* test_parse.c — the daemon's input parsers: strict JSON, model specs, job
 * configs, JSON and CSV data sets. Every error is checked by its field.
 *
 * One helper runs any parser over text (parse_as), and one runs a table of
 * inputs each parser must refuse (refuses): a row gives the input, the
 * error's field and words of its message. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/parse_csv.h"
#include "../../server/parse_dataset.h"
#include "../../server/parse_job.h"
#include "../../server/parse_json.h"
#include "../../server/parse_spec.h"

/* Parse s from an exact-size heap copy (no NUL after it), so ASan catches a
 * parser that reads past the body. */
static int body(const char *s, size_t len, cJSON **out, api_error *err) {
  char *copy = malloc(len ? len : 1);
  cr_assert_not_null(copy);
  memcpy(copy, s, len);
  int rc = parse_json_body(copy, len, out, err);
  free(copy);
  return rc;
}

static cJSON *json_ok(const char *s) {
  cJSON *root = NULL;
  api_error err = {0};
  int rc = body(s, strlen(s), &root, &err);
  cr_assert_eq(rc, 0, "%s: %s", s, err.message);
  return root;
}

/* The parsers under test. JSON is parse_json_body alone; the others read a
 * body that parse_json_body accepts, except CSV, which reads text. (JSON data
 * sets stream in: test_parse_dataset.c.) */
typedef enum { JSON, SPEC, JOB, CSV } parser;

/* What a parser gives: the member of its kind. */
typedef struct {
  cJSON *root;                   /* JSON */
  nn_spec spec;                  /* SPEC */
  parse_job job;                 /* JOB */
  parse_dataset_out data;        /* CSV */
  char name[PARSE_NAME_MAX + 1]; /* SPEC */
} parsed;

static int csv_parse_cuts(const char *target, const char *text, size_t len, const size_t *cuts,
                          size_t n_cuts, parse_dataset_out *d, api_error *err);

/* Run one parser over len bytes of text (target: CSV's ?target=). */
static int parse_as(parser kind, const char *target, const char *text, size_t len, parsed *out,
                    api_error *err) {
  memset(out, 0, sizeof *out);
  if (kind == JSON) return body(text, len, &out->root, err);
  if (kind == CSV) return csv_parse_cuts(target, text, len, NULL, 0, &out->data, err);
  cJSON *root = NULL;
  api_error json_err = {0};
  cr_assert_eq(body(text, len, &root, &json_err), 0, "%s: %s", text, json_err.message);
  int rc = kind == SPEC ? parse_spec(root, &out->spec, out->name, err)
                        : parse_job_config(root, &out->job, err);
  cJSON_Delete(root);
  return rc;
}

/* Text that kind parses (what it gives is the caller's to free). */
static parsed accepted(parser kind, const char *target, const char *text) {
  parsed p;
  api_error err = {0};
  cr_assert_eq(parse_as(kind, target, text, strlen(text), &p, &err), 0, "%s: %s (%s)", text,
               err.message, err.field);
  return p;
}

/* One input a parser must refuse, and how. */
typedef struct {
  const char *target; /* CSV: the ?target= list */
  const char *text;
  size_t len;         /* bytes of text; 0: up to its NUL */
  const char *field;  /* the error's field, exactly */
  const char *says;   /* words of the message; NULL: any message */
  bool has_at;        /* JSON syntax: the message names byte `at` */
  size_t at;
} refusal;

#define LIT(lit) .text = (lit), .len = sizeof(lit) - 1 /* a literal, NULs and all */
#define AT(n) .has_at = true, .at = (n)
#define N_CASES(table) (sizeof(table) / sizeof((table)[0]))

/* Each row is refused as it says: invalid_argument, its field, its words, and
 * nothing left allocated. */
static void refuses(parser kind, const refusal *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const refusal *r = &rows[i];
    size_t len = r->len != 0 ? r->len : strlen(r->text);
    parsed p;
    api_error err = {0};
    cr_assert_eq(parse_as(kind, r->target, r->text, len, &p, &err), -API_INVALID_ARGUMENT,
                 "%s parsed", r->text);
    cr_assert_eq(err.code, API_INVALID_ARGUMENT);
    cr_assert_str_eq(err.field, r->field, "%s: field %s (%s)", r->text, err.field, err.message);
    cr_assert_neq(err.message[0], '\0');
    if (r->says != NULL)
      cr_assert(strstr(err.message, r->says) != NULL, "%s: message '%s' lacks '%s'", r->text,
                err.message, r->says);
    if (r->has_at) {
      char where[32];
      snprintf(where, sizeof where, "at byte %zu:", r->at);
      cr_assert(strstr(err.message, where) != NULL, "%s: '%s' should say %s", r->text,
                err.message, where);
    }
    cr_assert_null(p.root);
    cr_assert_null(p.data.x, "nothing is left allocated");
    cr_assert_null(p.data.classes);
  }
}

/* ---- strict JSON ------------------------------------------------------------ */

Test(parse_json, accepts_one_document_with_blanks_around) {
  cJSON *root = json_ok("  {\"a\":[1,2,{\"b\":true}]}\r\n\t ");
  cr_assert(cJSON_IsObject(root));
  cJSON_Delete(root);
}

/* A UTF-8 byte order mark is allowed (RFC 8259 lets parsers ignore it);
 * cJSON does not skip it, so it must be skipped before. */
Test(parse_json, accepts_a_byte_order_mark) {
  cJSON *root = json_ok("\xEF\xBB\xBF{\"a\":1}");
  cr_assert(cJSON_IsObject(root));
  cJSON_Delete(root);
  root = json_ok("\xEF\xBB\xBF" "7");
  cr_assert(cJSON_IsNumber(root));
  cJSON_Delete(root);
}

Test(parse_json, rejects_trailing_garbage_empty_and_malformed) {
  const refusal rows[] = {
      {.text = "{\"a\":1} x", .len = 9, .field = ""},
      {.text = "{\"a\":1}{}", .len = 9, .field = ""},
      {.text = "{\"a\":1}\0", .len = 8, .field = ""}, /* a NUL inside the body is garbage too */
      {.text = "", .len = 0, .field = ""},
      {.text = " \n ", .len = 3, .field = ""},
      {.text = "{\"a\":}", .len = 6, .field = ""},
      {.text = "{\"a\":1", .len = 6, .field = ""},
      {.text = "[1,2", .len = 4, .field = ""},
  };
  refuses(JSON, rows, N_CASES(rows));
}

Test(parse_json, rejects_duplicate_keys_anywhere) {
  const refusal rows[] = {
      {.text = "{\"a\":1,\"a\":2}", .len = 13, .field = "a"},
      {.text = "{\"layers\":[{\"units\":1},{\"type\":\"dense\",\"units\":1,\"units\":2}]}",
       .field = "layers[1].units"},
      {.text = "{\"o\":{\"p\":{\"x\":1,\"y\":2,\"x\":3}}}", .field = "o.p.x"},
  };
  refuses(JSON, rows, N_CASES(rows));
}

Test(parse_json, finds_duplicates_among_many_keys) {
  char s[16384];
  size_t n = 0;
  n += (size_t)sprintf(s + n, "{");
  for (int i = 0; i < 1000; i++) n += (size_t)sprintf(s + n, "\"k%d\":%d,", i, i);
  n += (size_t)sprintf(s + n, "\"k500\":0}");
  const refusal rows[] = {
      {.text = s, .len = n, .field = "k500"},
  };
  refuses(JSON, rows, N_CASES(rows));
}

static char *nested_arrays(int depth, size_t *len) {
  char *s = malloc(2 * (size_t)depth + 1);
  cr_assert_not_null(s);
  for (int i = 0; i < depth; i++) s[i] = '[';
  for (int i = 0; i < depth; i++) s[depth + i] = ']';
  *len = 2 * (size_t)depth;
  s[*len] = '\0';
  return s;
}

Test(parse_json, limits_nesting_depth) {
  size_t len;
  char *ok = nested_arrays(PARSE_JSON_MAX_DEPTH, &len);
  cJSON *root = NULL;
  api_error err = {0};
  cr_assert_eq(body(ok, len, &root, &err), 0);
  cJSON_Delete(root);
  free(ok);

  char *deep = nested_arrays(PARSE_JSON_MAX_DEPTH + 1, &len);
  cr_assert_eq(body(deep, len, &root, &err), -API_INVALID_ARGUMENT);
  cr_assert_null(root);
  cr_assert(strstr(err.message, "deeper") != NULL, "%s", err.message);
  cr_assert(strncmp(err.field, "[0][0]", 6) == 0, "%s", err.field);
  free(deep);

  char *very = nested_arrays(100000, &len); /* beyond cJSON's own limit */
  cr_assert_eq(body(very, len, &root, &err), -API_INVALID_ARGUMENT);
  free(very);
}

/* Bodies json_check refuses: the message names the problem and the byte. */
Test(parse_json, numbers_follow_rfc8259) {
  const refusal rows[] = {
      {LIT("[02]"), .field = "", .says = "leading zeros", AT(2)},
      {LIT("[-00]"), .field = "", .says = "leading zeros", AT(3)},
      {LIT("[1.]"), .field = "", .says = "decimal point", AT(3)},
      {LIT("[.5]"), .field = "", .says = "expected a value", AT(1)},
      {LIT("[+1]"), .field = "", .says = "expected a value", AT(1)},
      {LIT("[1e]"), .field = "", .says = "exponent", AT(3)},
      {LIT("[1e+]"), .field = "", .says = "exponent", AT(4)},
      {LIT("[-]"), .field = "", .says = "needs digits", AT(2)},
      {LIT("[0x10]"), .field = "", .says = "expected ',' or ']'", AT(2)},
      {LIT("[NaN]"), .field = "", .says = "NaN and Infinity are not JSON", AT(1)},
      {LIT("[Infinity]"), .field = "", .says = "NaN and Infinity are not JSON", AT(1)},
      {LIT("[-Infinity]"), .field = "", .says = "-Infinity is not JSON", AT(2)},
      {LIT("[nan]"), .field = "", .says = "true, false and null", AT(1)},
      {LIT("[tru]"), .field = "", .says = "true, false and null", AT(1)},
  };
  refuses(JSON, rows, N_CASES(rows));
  cJSON *ok = json_ok("[0, -0, 1E+5, 0.5e-3, -12.25E2, 1e999, true, false, null]");
  cr_assert_eq(cJSON_GetArraySize(ok), 9);
  cr_assert_eq(cJSON_GetArrayItem(ok, 3)->valuedouble, 0.5e-3);
  cJSON_Delete(ok);
}

Test(parse_json, strings_are_utf8_without_nul_or_raw_controls) {
  const refusal rows[] = {
      {LIT("[\"a\tb\"]"), .field = "", .says = "control character", AT(3)},
      {LIT("[\"a\nb\"]"), .field = "", .says = "control character", AT(3)},
      {LIT("[\"\\x\"]"), .field = "", .says = "unknown escape", AT(2)},
      {LIT("[\"\\u12\"]"), .field = "", .says = "four hex digits", AT(2)},
      {LIT("[\"a\\u0000b\"]"), .field = "", .says = "\\u0000", AT(3)},
      {LIT("{\"a\\u0000\":1}"), .field = "", .says = "\\u0000", AT(3)},
      {LIT("[\"\\udc00\"]"), .field = "", .says = "surrogate", AT(2)},
      {LIT("[\"\\ud800\"]"), .field = "", .says = "surrogate", AT(2)},
      {LIT("[\"\\ud800\\u0041\"]"), .field = "", .says = "surrogate", AT(2)},
      {LIT("[\"\xff\"]"), .field = "", .says = "not UTF-8", AT(2)},
      {LIT("[\"ab\x80\"]"), .field = "", .says = "not UTF-8", AT(4)},
      {LIT("[\"\xc0\xaf\"]"), .field = "", .says = "not UTF-8", AT(2)}, /* overlong '/' */
      {LIT("[\"\xe0\x80\xaf\"]"), .field = "", .says = "not UTF-8", AT(2)}, /* overlong, 3 bytes */
      /* an encoded surrogate */
      {LIT("[\"\xed\xa0\x80\"]"), .field = "", .says = "not UTF-8", AT(2)},
      {LIT("[\"\xf4\x90\x80\x80\"]"), .field = "", .says = "not UTF-8", AT(2)}, /* above U+10FFFF */
      {LIT("[\"\xe2\x82\"]"), .field = "", .says = "not UTF-8", AT(2)}, /* cut short */
      {LIT("[\"abc"), .field = "", .says = "not closed", AT(5)},
      {LIT("[\"abc\\"), .field = "", .says = "not closed", AT(5)},
      /* Outside strings, bytes above 0x7f are no token at all. */
      {LIT("[1,\xc3\xa9]"), .field = "", .says = "expected a value", AT(3)},
  };
  refuses(JSON, rows, N_CASES(rows));
  cJSON *ok =
      json_ok("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"\\ud83d\\ude00\\u00e9\\/\\t\"]");
  cr_assert_str_eq(cJSON_GetArrayItem(ok, 0)->valuestring, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  cr_assert_str_eq(cJSON_GetArrayItem(ok, 1)->valuestring, "\xf0\x9f\x98\x80\xc3\xa9/\t");
  cJSON_Delete(ok);
}

Test(parse_json, structure_errors_name_the_byte) {
  const refusal rows[] = {
      {LIT("{'a':1}"), .field = "", .says = "member name in double quotes", AT(1)},
      {LIT("{\"a\" 1}"), .field = "", .says = "':'", AT(5)},
      {LIT("{\"a\":1,}"), .field = "", .says = "member name", AT(7)},
      {LIT("{\"a\":1 \"b\":2}"), .field = "", .says = "expected ',' or '}'", AT(7)},
      {LIT("[1 2]"), .field = "", .says = "expected ',' or ']'", AT(3)},
      {LIT("[1,]"), .field = "", .says = "expected a value", AT(3)},
      {LIT("[1,2"), .field = "", .says = "expected ',' or ']'", AT(4)},
      {LIT("{\"a\":"), .field = "", .says = "end of the body", AT(5)},
      {LIT("{\"a\":1} x"), .field = "", .says = "after the JSON value", AT(8)},
      {LIT("{\"a\":1 /* c */}"), .field = "", .says = "expected ',' or '}'", AT(7)},
      /* One byte order mark is skipped, as RFC 8259 allows; a second is not JSON. */
      {LIT("\xef\xbb\xbf\xef\xbb\xbf{}"), .field = "", .says = "expected a value", AT(3)},
  };
  refuses(JSON, rows, N_CASES(rows));
  cJSON *ok = json_ok("\xef\xbb\xbf {\"a\":[]}");
  cr_assert(cJSON_IsArray(cJSON_GetObjectItem(ok, "a")));
  cJSON_Delete(ok);
}

Test(parse_json, too_deep_names_the_path_through_objects) {
  char s[512];
  size_t n = (size_t)snprintf(s, sizeof s, "{\"a\":{\"b\":[1,");
  for (int i = 0; i < PARSE_JSON_MAX_DEPTH - 2; i++) s[n++] = '[';
  s[n] = '\0';
  cJSON *root = NULL;
  api_error err = {0};
  cr_assert_eq(body(s, n, &root, &err), -API_INVALID_ARGUMENT);
  cr_assert(strncmp(err.field, "a.b[1][0][0]", 12) == 0, "%s", err.field);
  cr_assert(strstr(err.message, "deeper than 64 levels") != NULL, "%s", err.message);
}

Test(parse_json, object_and_known_keys) {
  cJSON *root = json_ok("{\"a\":1,\"bee\":2}");
  api_error err = {0};
  cr_assert_eq(parse_json_object(root, NULL, &err), 0);
  cr_assert_eq(parse_json_object(cJSON_GetObjectItem(root, "a"), "x.a", &err),
               -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, "x.a");
  static const char *const allowed[] = {"a", "bee", NULL};
  static const char *const fewer[] = {"a", "be", NULL};
  cr_assert_eq(parse_json_known_keys(root, "x", allowed, &err), 0);
  cr_assert_eq(parse_json_known_keys(root, "x", fewer, &err), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, "x.bee");
  cr_assert_str_eq(err.message, "unknown field x.bee");
  cr_assert_eq(parse_json_applicable_keys(root, "", fewer, "a thing", &err), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.message, "bee does not apply to a thing");
  cJSON_Delete(root);
  cJSON *list = json_ok("[1]");
  cr_assert_eq(parse_json_object(list, NULL, &err), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, "");
  cJSON_Delete(list);
}

Test(parse_json, integers) {
  cJSON *o = json_ok("{\"a\":3,\"f\":1.5,\"s\":\"3\",\"neg\":-2,\"big\":1e999,\"e\":2e3,"
                     "\"huge\":1e300}");
  api_error err = {0};
  int64_t v = 42;
  cr_assert_eq(parse_json_int(o, "p", "a", PARSE_REQUIRED, 1, 10, &v, &err), 0);
  cr_assert_eq(v, 3);
  cr_assert_eq(parse_json_int(o, "p", "e", PARSE_REQUIRED, 0, 5000, &v, &err), 0);
  cr_assert_eq(v, 2000);
  v = 42;
  cr_assert_eq(parse_json_int(o, "p", "missing", PARSE_OPTIONAL, 1, 10, &v, &err), 0);
  cr_assert_eq(v, 42, "an absent optional member keeps the default");
  cr_assert_eq(parse_json_int(o, "p", "missing", PARSE_REQUIRED, 1, 10, &v, &err),
               -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, "p.missing");
  cr_assert_str_eq(err.message, "p.missing is required");
  const char *bad[] = {"f", "s", "neg", "big", "huge"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(parse_json_int(o, "p", bad[i], PARSE_REQUIRED, 1, 10, &v, &err),
                 -API_INVALID_ARGUMENT, "%s", bad[i]);
    char field[32];
    snprintf(field, sizeof field, "p.%s", bad[i]);
    cr_assert_str_eq(err.field, field);
    cr_assert(strstr(err.message, "must be a positive integer") != NULL, "%s", err.message);
  }
  cr_assert_eq(v, 42, "failures leave the value alone");
  cr_assert_eq(parse_json_int(o, "", "a", PARSE_REQUIRED, 5, 10, &v, &err), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.message, "a must be an integer from 5 to 10");
  int i32 = 7;
  cr_assert_eq(parse_json_int32(o, "", "missing", PARSE_OPTIONAL, 0, 9, &i32, &err), 0);
  cr_assert_eq(i32, 7);
  cr_assert_eq(parse_json_int32(o, "", "a", PARSE_OPTIONAL, 0, 9, &i32, &err), 0);
  cr_assert_eq(i32, 3);
  cJSON_Delete(o);
}

Test(parse_json, numbers_bools_strings_enums) {
  cJSON *o = json_ok("{\"x\":0.25,\"inf\":1e999,\"ninf\":-1e999,\"t\":true,\"n\":null,"
                     "\"s\":\"tanh\",\"empty\":\"\",\"bad\":\"tanhh\",\"num\":1,\"big\":1e39}");
  api_error err = {0};
  double d = 0;
  cr_assert_eq(parse_json_number(o, "", "x", PARSE_REQUIRED, 0, 1, &d, &err), 0);
  cr_assert_eq(d, 0.25);
  cr_assert_eq(parse_json_number(o, "", "x", PARSE_REQUIRED, 0.5, 1, &d, &err),
               -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.message, "x must be a number from 0.5 to 1");
  const char *not_finite[] = {"inf", "ninf", "t", "s", "n"};
  for (size_t i = 0; i < sizeof not_finite / sizeof not_finite[0]; i++) {
    cr_assert_eq(parse_json_number(o, "q", not_finite[i], PARSE_REQUIRED, -1e300, 1e300, &d, &err),
                 -API_INVALID_ARGUMENT);
    char msg[64];
    snprintf(msg, sizeof msg, "q.%s must be a finite number", not_finite[i]);
    cr_assert_str_eq(err.message, msg);
  }
  float f = 9;
  cr_assert_eq(parse_json_float(o, "", "big", PARSE_REQUIRED, -FLT_MAX, FLT_MAX, &f, &err),
               -API_INVALID_ARGUMENT, "1e39 does not fit a float");
  cr_assert_eq(parse_json_float(o, "", "x", PARSE_REQUIRED, -FLT_MAX, FLT_MAX, &f, &err), 0);
  cr_assert_eq(f, 0.25f);

  int b = 0;
  cr_assert_eq(parse_json_bool(o, "", "t", PARSE_REQUIRED, &b, &err), 0);
  cr_assert_eq(b, 1);
  cr_assert_eq(parse_json_bool(o, "", "num", PARSE_REQUIRED, &b, &err), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.message, "num must be true or false");

  const char *s = NULL;
  cr_assert_eq(parse_json_string(o, "", "s", PARSE_REQUIRED, 4, &s, &err), 0);
  cr_assert_str_eq(s, "tanh");
  cr_assert_eq(parse_json_string(o, "", "s", PARSE_REQUIRED, 3, &s, &err), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, "s");
  cr_assert_eq(parse_json_string(o, "", "empty", PARSE_REQUIRED, 3, &s, &err),
               -API_INVALID_ARGUMENT);
  cr_assert_eq(parse_json_string(o, "", "num", PARSE_REQUIRED, 3, &s, &err),
               -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.message, "num must be a string");

  int act = -1;
  cr_assert_eq(parse_json_enum(o, "", "s", PARSE_REQUIRED, NN_NAMES_ACT, &act, &err), 0);
  cr_assert_eq(act, NN_ACT_TANH);
  cr_assert_eq(parse_json_enum(o, "l", "bad", PARSE_REQUIRED, NN_NAMES_ACT, &act, &err),
               -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, "l.bad");
  cr_assert_str_eq(err.message,
                   "l.bad must be one of: linear, relu, leaky_relu, sigmoid, tanh, softmax");
  cr_assert_eq(parse_json_enum(o, "", "num", PARSE_REQUIRED, NN_NAMES_ACT, &act, &err),
               -API_INVALID_ARGUMENT);
  cr_assert_eq(act, NN_ACT_TANH);
  cJSON_Delete(o);
}

Test(parse_json, names) {
  api_error err = {0};
  cr_assert_eq(parse_check_name("xor-net_v1.2", "name", &err), 0);
  char long_name[PARSE_NAME_MAX + 2];
  memset(long_name, 'a', sizeof long_name);
  long_name[PARSE_NAME_MAX] = '\0';
  cr_assert_eq(parse_check_name(long_name, "name", &err), 0);
  long_name[PARSE_NAME_MAX] = 'a';
  long_name[PARSE_NAME_MAX + 1] = '\0';
  const char *bad[] = {"", "xor net", "a/b", "é", long_name};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(parse_check_name(bad[i], "name", &err), -API_INVALID_ARGUMENT, "%s", bad[i]);
    cr_assert_str_eq(err.field, "name");
  }
}

Test(parse_json, floats_print_short_and_exact) {
  cJSON *o = cJSON_CreateObject();
  cr_assert_eq(parse_json_add_float(o, "a", 0.01f), 0);
  cr_assert_eq(parse_json_add_float(o, "b", 1e-8f), 0);
  cr_assert_eq(parse_json_add_float(o, "c", 1.0f / 3.0f), 0);
  char *s = cJSON_PrintUnformatted(o);
  cr_assert_str_eq(s, "{\"a\":0.01,\"b\":1e-08,\"c\":0.33333334}");
  cr_assert_eq((float)cJSON_GetObjectItem(o, "c")->valuedouble, 1.0f / 3.0f);
  free(s);
  cJSON_Delete(o);
}

/* ---- model specs ----------------------------------------------------------------- */

#define XOR_SPEC                                                                           \
  "{\"name\":\"xor-net\",\"inputs\":2,\"layers\":[{\"type\":\"dense\",\"units\":8,"        \
  "\"activation\":\"tanh\"},{\"type\":\"dense\",\"units\":1,\"activation\":\"sigmoid\"}]," \
  "\"loss\":\"mse\",\"seed\":1,\"normalize\":false}"

Test(parse_spec, xor_example) {
  parsed p = accepted(SPEC, NULL, XOR_SPEC);
  const nn_spec spec = p.spec;
  cr_assert_str_eq(p.name, "xor-net");
  cr_assert_eq(spec.inputs, 2);
  cr_assert_eq(spec.n_layers, 2);
  cr_assert_eq(spec.layers[0].type, NN_LAYER_DENSE);
  cr_assert_eq(spec.layers[0].units, 8);
  cr_assert_eq(spec.layers[0].act, NN_ACT_TANH);
  cr_assert_eq(spec.layers[0].init, NN_INIT_XAVIER, "auto resolves by activation");
  cr_assert_eq(spec.layers[1].act, NN_ACT_SIGMOID);
  cr_assert_eq(spec.loss, NN_LOSS_MSE);
  cr_assert_eq(spec.seed, 1);
  cr_assert_eq(spec.normalize, 0);
  cr_assert_eq(nn_spec_param_count(&spec), 33);
}

/* Without inputs a model takes a table's columns (issue 14): inputs 0,
 * left out when printed. */
Test(parse_spec, inputs_may_come_from_a_table) {
  cJSON *root = cJSON_Parse("{\"name\":\"t\",\"layers\":[{\"type\":\"dense\",\"units\":1}],"
                            "\"loss\":\"mse\",\"preprocess\":{\"types\":{\"number\":"
                            "{\"impute\":\"median\"}}}}");
  nn_spec spec;
  char name[PARSE_NAME_MAX + 1];
  api_error err;
  cr_assert_eq(parse_spec(root, &spec, name, &err), 0, "%s", err.message);
  cr_expect_eq(spec.inputs, 0);
  cJSON *out = parse_spec_to_json(&spec, name);
  cr_expect_null(cJSON_GetObjectItemCaseSensitive(out, "inputs"));
  cJSON_Delete(out);
  cJSON_Delete(root);
}

Test(parse_spec, defaults_are_filled_and_printed) {
  const char *s = "{\"name\":\"m\",\"inputs\":3,\"layers\":[{\"type\":\"dense\",\"units\":4,"
                  "\"activation\":\"leaky_relu\"},{\"type\":\"dropout\",\"rate\":0.5},"
                  "{\"type\":\"dense\",\"units\":2}],\"loss\":\"mse\"}";
  parsed p = accepted(SPEC, NULL, s);
  const nn_spec spec = p.spec;
  cr_assert_eq(spec.layers[0].slope, 0.01f);
  cr_assert_eq(spec.layers[0].init, NN_INIT_HE);
  cr_assert_eq(spec.layers[1].rate, 0.5f);
  cr_assert_eq(spec.layers[2].act, NN_ACT_LINEAR);
  cr_assert_eq(spec.layers[2].init, NN_INIT_XAVIER);
  cr_assert_eq(spec.seed, 0);
  cr_assert_eq(spec.normalize, 0);

  cJSON *j = parse_spec_to_json(&spec, p.name);
  cr_assert_not_null(j);
  char *text = cJSON_PrintUnformatted(j);
  cr_assert_str_eq(text,
                   "{\"name\":\"m\",\"inputs\":3,\"layers\":[{\"type\":\"dense\",\"units\":4,"
                   "\"activation\":\"leaky_relu\",\"init\":\"he\",\"slope\":0.01},"
                   "{\"type\":\"dropout\",\"rate\":0.5},{\"type\":\"dense\",\"units\":2,"
                   "\"activation\":\"linear\",\"init\":\"xavier\"}],\"loss\":\"mse\","
                   "\"seed\":0,\"normalize\":false}");
  parsed again = accepted(SPEC, NULL, text);
  cr_assert_str_eq(again.name, "m");
  cr_assert_eq(memcmp(&again.spec, &spec, sizeof spec), 0,
               "the normalized spec parses back the same");
  free(text);
  cJSON_Delete(j);

  cJSON *anonymous = parse_spec_to_json(&spec, NULL);
  cr_assert_null(cJSON_GetObjectItem(anonymous, "name"));
  cJSON_Delete(anonymous);
}

/* Found by fuzz_spec: cJSON printed seed 2^53 as 9.00719925474099e+15, which
 * reads back as another seed, so the stored spec trained other weights. */
Test(parse_spec, seeds_of_sixteen_digits_print_exactly) {
  static const char *const seeds[] = {"9007199254740990", "9007199254740991",
                                      "4503599627370497", "1000000000000000", "999999999999999"};
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    char s[256], want[64];
    snprintf(s, sizeof s,
             "{\"name\":\"m\",\"inputs\":1,\"layers\":[{\"type\":\"dense\",\"units\":1}],"
             "\"loss\":\"mse\",\"seed\":%s}",
             seeds[i]);
    parsed p = accepted(SPEC, NULL, s);
    cr_assert_eq(p.spec.seed, strtoull(seeds[i], NULL, 10));
    cJSON *j = parse_spec_to_json(&p.spec, p.name);
    char *text = cJSON_PrintUnformatted(j);
    snprintf(want, sizeof want, "\"seed\":%s,", seeds[i]);
    cr_assert(strstr(text, want) != NULL, "%s printed as %s", seeds[i], text);
    parsed again = accepted(SPEC, NULL, text);
    cr_assert_eq(again.spec.seed, p.spec.seed);
    free(text);
    cJSON_Delete(j);
  }
}

Test(parse_spec, options) {
  const char *s = "{\"name\":\"c\",\"inputs\":4,\"layers\":[{\"type\":\"dense\",\"units\":3,"
                  "\"activation\":\"leaky_relu\",\"slope\":0.2,\"init\":\"xavier\"},"
                  "{\"type\":\"dense\",\"units\":3,\"activation\":\"softmax\"}],"
                  "\"loss\":\"cross_entropy\",\"seed\":9007199254740991,\"normalize\":true}";
  const nn_spec spec = accepted(SPEC, NULL, s).spec;
  cr_assert_eq(spec.layers[0].slope, 0.2f);
  cr_assert_eq(spec.layers[0].init, NN_INIT_XAVIER);
  cr_assert_eq(spec.loss, NN_LOSS_CROSS_ENTROPY);
  cr_assert_eq(spec.seed, 9007199254740991ull);
  cr_assert_eq(spec.normalize, 1);
}

#define L(x) "{\"name\":\"m\",\"inputs\":2,\"layers\":[" x "],\"loss\":\"mse\"}"
#define DENSE1 "{\"type\":\"dense\",\"units\":1}"

Test(parse_spec, rejects_unknown_and_inapplicable_fields) {
  const refusal rows[] = {
      {.text = L("{\"type\":\"dense\",\"unit\":8}"), .field = "layers[0].unit",
       .says = "unknown field"},
      {.text = L(DENSE1 ",{\"type\":\"dropout\",\"rate\":0.1,\"units\":3}," DENSE1),
       .field = "layers[1].units", .says = "does not apply to a dropout layer"},
      {.text = L("{\"type\":\"dense\",\"units\":1,\"rate\":0.1}"), .field = "layers[0].rate",
       .says = "does not apply to a dense layer"},
      {.text = L("{\"type\":\"dense\",\"units\":1,\"activation\":\"tanh\",\"slope\":0.1}"),
       .field = "layers[0].slope", .says = "does not apply to activation tanh"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"mse\",\"x\":1}",
       .field = "x", .says = "unknown field x"},
  };
  refuses(SPEC, rows, N_CASES(rows));
}

Test(parse_spec, rejects_bad_values) {
  const refusal rows[] = {
      {.text = L(DENSE1 ",{\"type\":\"dense\",\"units\":-3}"), .field = "layers[1].units",
       .says = "layers[1].units must be a positive integer"},
      {.text = L("{\"type\":\"dense\",\"units\":1048577}"), .field = "layers[0].units",
       .says = "must be a positive integer (at most 1048576)"},
      {.text = L("{\"type\":\"dense\",\"units\":\"8\"}"), .field = "layers[0].units",
       .says = "positive integer"},
      {.text = L("{\"type\":\"dense\",\"units\":2.5}"), .field = "layers[0].units",
       .says = "positive integer"},
      {.text = L("{\"type\":\"dense\"}"), .field = "layers[0].units",
       .says = "layers[0].units is required"},
      {.text = L("{\"units\":1}"), .field = "layers[0].type", .says = "layers[0].type is required"},
      {.text = L("{\"type\":\"conv\",\"units\":1}"), .field = "layers[0].type",
       .says = "one of: dense, dropout"},
      {.text = L("{\"type\":\"dense\",\"units\":1,\"activation\":\"gelu\"}"),
       .field = "layers[0].activation", .says = "must be one of"},
      {.text = L("{\"type\":\"dense\",\"units\":1,\"init\":\"zeros\"}"), .field = "layers[0].init",
       .says = "one of: auto, xavier, he"},
      {.text = L("{\"type\":\"dropout\",\"rate\":1e999}," DENSE1), .field = "layers[0].rate",
       .says = "layers[0].rate must be a finite number"},
      {.text = L("{\"type\":\"dropout\"}," DENSE1), .field = "layers[0].rate",
       .says = "is required"},
      {.text = L("{\"type\":\"dense\",\"units\":1,\"activation\":\"leaky_relu\",\"slope\":-1}"),
       .field = "layers[0].slope", .says = "[0, 1)"},
      {.text = L("[]"), .field = "layers[0]", .says = "layers[0] must be an object"},
      {.text = L(""), .field = "layers", .says = "1 to 64 layers"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":{},\"loss\":\"mse\"}", .field = "layers",
       .says = "array"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"loss\":\"mse\"}", .field = "layers",
       .says = "layers is required"},
      {.text = "{\"name\":\"m\",\"inputs\":0,\"layers\":[" DENSE1 "],\"loss\":\"mse\"}",
       .field = "inputs", .says = "positive integer"},
      {.text = "{\"name\":\"m\",\"layers\":[" DENSE1 "],\"loss\":\"mse\",\"preprocess\":"
               "{\"types\":{\"text\":{}}}}",
       .field = "preprocess.types.text", .says = "not a column type"},
      {.text = "{\"name\":\"m\",\"layers\":[" DENSE1 "],\"loss\":\"mse\",\"preprocess\":"
               "{\"columns\":{\"a\":{\"impute\":\"mode\"}}}}",
       .field = "preprocess.columns.a.impute", .says = "must be one of"},
      {.text = "{\"name\":\"m\",\"layers\":[" DENSE1 "],\"loss\":\"mse\",\"preprocess\":"
               "{\"types\":{\"category\":{\"max_categories\":0}}}}",
       .field = "preprocess.types.category.max_categories", .says = "positive integer"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1 "]}", .field = "loss",
       .says = "required"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"hinge\"}",
       .field = "loss", .says = "mse, cross_entropy, binary_cross_entropy"},
      {.text = "{\"name\":\"x y\",\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"mse\"}",
       .field = "name", .says = "characters"},
      {.text = "{\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"mse\"}", .field = "name",
       .says = "required"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"mse\",\"seed\":-1}",
       .field = "seed", .says = "non-negative integer"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1
               "],\"loss\":\"mse\",\"seed\":9007199254740993e3}",
       .field = "seed", .says = "at most 9007199254740991"},
      /* Found by outside testing: 2^53 + 1 reads as the double 2^53 and was
       * trained as that seed. Integers are taken in RFC 8259's interoperable
       * range, +-(2^53 - 1), where no other integer reads as the same double. */
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1
               "],\"loss\":\"mse\",\"seed\":9007199254740993}",
       .field = "seed", .says = "at most 9007199254740991"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1
               "],\"loss\":\"mse\",\"seed\":9007199254740992}",
       .field = "seed", .says = "at most 9007199254740991"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1
               "],\"loss\":\"mse\",\"normalize\":1}",
       .field = "normalize", .says = "true or false"},
      {.text = "[1]", .field = "", .says = "object"},
  };
  refuses(SPEC, rows, N_CASES(rows));
}

Test(parse_spec, core_validation_errors_pass_through) {
  const refusal rows[] = {
      {.text = L("{\"type\":\"dropout\",\"rate\":1}," DENSE1), .field = "layers[0].rate",
       .says = "[0, 1)"},
      {.text = L(DENSE1 ",{\"type\":\"dropout\",\"rate\":0.5}"), .field = "layers[1].type",
       .says = "the last layer must be dense"},
      {.text = "{\"name\":\"m\",\"inputs\":2,\"layers\":[{\"type\":\"dense\",\"units\":2,"
               "\"activation\":\"sigmoid\"}],\"loss\":\"cross_entropy\"}",
       .field = "layers[0].activation", .says = "softmax"},
      /* 2^20 x 2^20 weights overflow the parameter limit */
      {.text = "{\"name\":\"m\",\"inputs\":1048576,\"layers\":[{\"type\":\"dense\","
               "\"units\":1048576}],\"loss\":\"mse\"}",
       .field = "layers[0].units", .says = "parameters"},
  };
  refuses(SPEC, rows, N_CASES(rows));
}

Test(parse_spec, sixty_five_layers_are_too_many) {
  char s[8192] = "{\"name\":\"m\",\"inputs\":2,\"layers\":[";
  for (int i = 0; i <= NN_MAX_LAYERS; i++) strcat(s, i ? "," DENSE1 : DENSE1);
  strcat(s, "],\"loss\":\"mse\"}");
  const refusal rows[] = {
      {.text = s, .field = "layers", .says = "1 to 64 layers"},
  };
  refuses(SPEC, rows, N_CASES(rows));
}

/* ---- job configs --------------------------------------------------------------------- */

/* A parsed job printed and parsed again is the same job. */
static void assert_round_trip(const parse_job *job) {
  cJSON *j = parse_job_to_json(job);
  cr_assert_not_null(j);
  char *text = cJSON_PrintUnformatted(j);
  parse_job again = accepted(JOB, NULL, text).job;
  cr_assert_eq(memcmp(&again, job, sizeof *job), 0, "%s parses back differently", text);
  free(text);
  cJSON_Delete(j);
}

Test(parse_job, full_example) {
  const char *s = "{\"model\":1,\"dataset\":3,\"epochs\":500,\"batch_size\":4,"
                  "\"optimizer\":{\"type\":\"adam\",\"lr\":0.01},\"validation_split\":0.25,"
                  "\"shuffle\":false,\"seed\":7,\"checkpoint_every\":5,"
                  "\"early_stopping\":{\"patience\":20,\"min_delta\":0.001},\"reset\":true,"
                  "\"clip_norm\":1.5,\"lr_schedule\":{\"type\":\"step\",\"step_size\":10,"
                  "\"gamma\":0.5}}";
  parse_job job = accepted(JOB, NULL, s).job;
  const nn_train_config *c = &job.config;
  cr_assert_eq(job.model, 1);
  cr_assert_eq(job.dataset, 3);
  cr_assert_eq(c->epochs, 500);
  cr_assert_eq(c->batch_size, 4);
  cr_assert_eq(c->optim.type, NN_OPT_ADAM);
  cr_assert_eq(c->optim.lr, 0.01f);
  cr_assert_eq(c->optim.beta1, 0.9f, "the optimizer's other members keep its defaults");
  cr_assert_eq(c->optim.beta2, 0.999f);
  cr_assert_eq(c->validation_split, 0.25f);
  cr_assert_eq(c->shuffle, 0);
  cr_assert_eq(c->seed, 7);
  cr_assert_eq(job.checkpoint_every, 5);
  cr_assert_eq(c->patience, 20);
  cr_assert_eq(c->min_delta, 0.001f);
  cr_assert_eq(job.reset, 1);
  cr_assert_eq(c->clip_norm, 1.5f);
  cr_assert_eq(c->sched.type, NN_SCHED_STEP);
  cr_assert_eq(c->sched.step_size, 10);
  cr_assert_eq(c->sched.gamma, 0.5f);
  assert_round_trip(&job);
}

Test(parse_job, defaults_are_filled_and_printed) {
  parse_job job = accepted(JOB, NULL, "{\"model\":2,\"dataset\":5}").job;
  nn_train_config d;
  nn_train_config_defaults(&d);
  cr_assert_eq(job.config.epochs, d.epochs);
  cr_assert_eq(job.config.batch_size, d.batch_size);
  cr_assert_eq(job.config.optim.type, d.optim.type);
  cr_assert_eq(job.config.optim.lr, d.optim.lr);
  cr_assert_eq(job.config.sched.type, NN_SCHED_CONSTANT);
  cr_assert_eq(job.checkpoint_every, 1);
  cr_assert_eq(job.reset, 0);
  cJSON *j = parse_job_to_json(&job);
  char *text = cJSON_PrintUnformatted(j);
  cr_assert_str_eq(text, "{\"model\":2,\"dataset\":5,\"epochs\":10,\"batch_size\":32,"
                         "\"optimizer\":{\"type\":\"adam\",\"lr\":0.001,\"beta1\":0.9,"
                         "\"beta2\":0.999,\"eps\":1e-08,\"weight_decay\":0},"
                         "\"lr_schedule\":{\"type\":\"constant\"},\"validation_split\":0,"
                         "\"shuffle\":true,\"seed\":0,\"checkpoint_every\":1,\"clip_norm\":0,"
                         "\"early_stopping\":{\"patience\":0,\"min_delta\":0,"
                         "\"restore_best\":false},\"reset\":false}");
  free(text);
  cJSON_Delete(j);
  assert_round_trip(&job);
}

/* Found by fuzz_job: ids and seeds near 2^53 printed rounded (as in
 * parse_spec.seeds_of_sixteen_digits_print_exactly). */
Test(parse_job, holdout_datasets_and_restore_best) {
  parse_job job = accepted(JOB, NULL,
                           "{\"model\":1,\"dataset\":2,\"validation_dataset\":3,"
                           "\"test_dataset\":4,\"early_stopping\":{\"restore_best\":true}}")
                      .job;
  cr_assert_eq(job.validation_dataset, 3);
  cr_assert_eq(job.test_dataset, 4);
  cr_assert_eq(job.config.restore_best, 1);
  cr_assert_eq(job.config.validation_split, 0.0f);
  cJSON *j = parse_job_to_json(&job);
  char *text = cJSON_PrintUnformatted(j);
  cr_assert(strstr(text, "\"validation_dataset\":3,\"test_dataset\":4,") != NULL, "%s", text);
  cr_assert(strstr(text, "validation_split") == NULL, "replaced: %s", text);
  cr_assert(strstr(text, "\"restore_best\":true") != NULL, "%s", text);
  free(text);
  cJSON_Delete(j);
  assert_round_trip(&job);

  job = accepted(JOB, NULL,
                 "{\"model\":1,\"dataset\":2,\"validation_split\":0.2,"
                 "\"early_stopping\":{\"restore_best\":true,\"patience\":3}}")
            .job;
  cr_assert_eq(job.config.restore_best, 1, "a split is something to validate on");
  cr_assert_eq(job.validation_dataset, 0);
  cr_assert_eq(job.test_dataset, 0);
  j = parse_job_to_json(&job);
  text = cJSON_PrintUnformatted(j);
  cr_assert(strstr(text, "test_dataset") == NULL && strstr(text, "validation_dataset") == NULL,
            "not given, not printed: %s", text);
  free(text);
  cJSON_Delete(j);
  assert_round_trip(&job);
}

Test(parse_job, ids_and_seeds_of_sixteen_digits_print_exactly) {
  const char *s = "{\"model\":9007199254740991,\"dataset\":9007199254740990,"
                  "\"seed\":4503599627370497}";
  parse_job job = accepted(JOB, NULL, s).job;
  cr_assert_eq(job.model, 9007199254740991LL);
  cr_assert_eq(job.dataset, 9007199254740990LL);
  cr_assert_eq(job.config.seed, 4503599627370497ULL);
  cJSON *j = parse_job_to_json(&job);
  char *text = cJSON_PrintUnformatted(j);
  cr_assert(strstr(text, "{\"model\":9007199254740991,\"dataset\":9007199254740990,") == text,
            "%s", text);
  cr_assert(strstr(text, "\"seed\":4503599627370497,") != NULL, "%s", text);
  free(text);
  cJSON_Delete(j);
  assert_round_trip(&job);
}

Test(parse_job, optimizers_and_schedules) {
  parse_job job = accepted(JOB, NULL,
                           "{\"model\":1,\"dataset\":1,\"optimizer\":{\"type\":\"sgd\","
                           "\"lr\":0.1,\"momentum\":0.9,\"nesterov\":true},"
                           "\"lr_schedule\":{\"type\":\"step\"}}")
                      .job;
  cr_assert_eq(job.config.optim.type, NN_OPT_SGD);
  cr_assert_eq(job.config.optim.momentum, 0.9f);
  cr_assert_eq(job.config.optim.nesterov, 1);
  cr_assert_eq(job.config.sched.step_size, 10, "core's default");
  cr_assert_eq(job.config.sched.gamma, 0.1f, "core's default");
  assert_round_trip(&job);

  job = accepted(JOB, NULL,
                 "{\"model\":1,\"dataset\":1,\"optimizer\":{\"type\":\"rmsprop\","
                 "\"alpha\":0.9,\"eps\":1e-6},\"lr_schedule\":{\"type\":\"cosine\","
                 "\"min_lr\":0.001}}")
            .job;
  cr_assert_eq(job.config.optim.alpha, 0.9f);
  cr_assert_eq(job.config.optim.lr, 0.01f, "rmsprop's default lr");
  cr_assert_eq(job.config.sched.type, NN_SCHED_COSINE);
  cr_assert_eq(job.config.sched.min_lr, 0.001f);
  assert_round_trip(&job);

  job = accepted(JOB, NULL,
                 "{\"model\":1,\"dataset\":1,\"optimizer\":{\"type\":\"adamw\"},"
                 "\"lr_schedule\":{\"type\":\"exponential\",\"gamma\":0.95}}")
            .job;
  cr_assert_eq(job.config.optim.weight_decay, 0.01f, "adamw's default decay");
  cr_assert_eq(job.config.sched.gamma, 0.95f);
  assert_round_trip(&job);

  job = accepted(JOB, NULL, "{\"model\":1,\"dataset\":1,\"optimizer\":{\"lr\":0.5}}").job;
  cr_assert_eq(job.config.optim.type, NN_OPT_ADAM, "the type defaults to core's");
  cr_assert_eq(job.config.optim.lr, 0.5f);
}

#define JOB(x) "{\"model\":1,\"dataset\":1," x "}"

Test(parse_job, rejects_bad_configs) {
  const refusal rows[] = {
      {.text = "{\"dataset\":1}", .field = "model", .says = "model is required"},
      {.text = "{\"model\":1}", .field = "dataset", .says = "dataset is required"},
      {.text = "{\"model\":0,\"dataset\":1}", .field = "model", .says = "positive integer"},
      {.text = "{\"model\":\"1\",\"dataset\":1}", .field = "model", .says = "positive integer"},
      {.text = "{\"model\":1,\"dataset\":1.5}", .field = "dataset", .says = "positive integer"},
      {.text = JOB("\"epoch\":5"), .field = "epoch", .says = "unknown field epoch"},
      {.text = JOB("\"epochs\":0"), .field = "epochs", .says = "positive integer"},
      {.text = JOB("\"epochs\":1000001"), .field = "epochs", .says = "at most 1000000"},
      {.text = JOB("\"epochs\":2147483648"), .field = "epochs", .says = "at most 1000000"},
      {.text = JOB("\"batch_size\":1048577"), .field = "batch_size", .says = "at most 1048576"},
      {.text = JOB("\"optimizer\":\"adam\""), .field = "optimizer",
       .says = "optimizer must be an object"},
      {.text = JOB("\"optimizer\":{\"type\":\"lbfgs\"}"), .field = "optimizer.type",
       .says = "one of: sgd, adam, adamw, rmsprop"},
      {.text = JOB("\"optimizer\":{\"lrr\":0.1}"), .field = "optimizer.lrr",
       .says = "unknown field"},
      {.text = JOB("\"optimizer\":{\"type\":\"adam\",\"momentum\":0.9}"),
       .field = "optimizer.momentum", .says = "does not apply to optimizer adam"},
      {.text = JOB("\"optimizer\":{\"type\":\"sgd\",\"beta1\":0.9}"), .field = "optimizer.beta1",
       .says = "does not apply to optimizer sgd"},
      {.text = JOB("\"optimizer\":{\"lr\":1e999}"), .field = "optimizer.lr",
       .says = "optimizer.lr must be a finite number"},
      {.text = JOB("\"optimizer\":{\"lr\":-0.1}"), .field = "optimizer.lr", .says = "positive"},
      {.text = JOB("\"optimizer\":{\"type\":\"sgd\",\"nesterov\":true}"),
       .field = "optimizer.nesterov", .says = "momentum"},
      {.text = JOB("\"optimizer\":{\"type\":\"sgd\",\"nesterov\":1}"),
       .field = "optimizer.nesterov",
       .says = "true or false"},
      {.text = JOB("\"lr_schedule\":{\"gamma\":0.5}"), .field = "lr_schedule.type",
       .says = "required"},
      {.text = JOB("\"lr_schedule\":{\"type\":\"cosine\",\"gamma\":0.5}"),
       .field = "lr_schedule.gamma", .says = "does not apply to lr_schedule cosine"},
      {.text = JOB("\"lr_schedule\":{\"type\":\"step\",\"step_size\":0}"),
       .field = "lr_schedule.step_size", .says = "positive integer"},
      {.text = JOB("\"lr_schedule\":{\"type\":\"step\",\"gamma\":2}"), .field = "lr_schedule.gamma",
       .says = "(0, 1]"},
      {.text = JOB("\"lr_schedule\":{\"type\":\"warmup\"}"), .field = "lr_schedule.type",
       .says = "cosine"},
      {.text = JOB("\"validation_split\":1"), .field = "validation_split", .says = "[0, 1)"},
      {.text = JOB("\"shuffle\":\"yes\""), .field = "shuffle", .says = "true or false"},
      {.text = JOB("\"seed\":-7"), .field = "seed", .says = "non-negative"},
      /* as parse_spec.rejects_bad_values: 2^53 + 1 would read as 2^53 */
      {.text = JOB("\"seed\":9007199254740993"), .field = "seed",
       .says = "at most 9007199254740991"},
      {.text = "{\"model\":9007199254740993,\"dataset\":1}", .field = "model",
       .says = "at most 9007199254740991"},
      {.text = JOB("\"checkpoint_every\":0"), .field = "checkpoint_every",
       .says = "positive integer"},
      {.text = JOB("\"clip_norm\":-1"), .field = "clip_norm", .says = ">= 0"},
      {.text = JOB("\"early_stopping\":{\"patience\":-1}"), .field = "early_stopping.patience",
       .says = "non-negative"},
      {.text = JOB("\"early_stopping\":{\"min_delta\":1e999}"), .field = "early_stopping.min_delta",
       .says = "finite"},
      {.text = JOB("\"early_stopping\":{\"wait\":3}"), .field = "early_stopping.wait",
       .says = "unknown field"},
      {.text = JOB("\"reset\":null"), .field = "reset", .says = "true or false"},
      {.text = JOB("\"validation_dataset\":0"), .field = "validation_dataset",
       .says = "positive integer"},
      {.text = JOB("\"validation_dataset\":\"2\""), .field = "validation_dataset",
       .says = "positive integer"},
      {.text = JOB("\"test_dataset\":-1"), .field = "test_dataset", .says = "positive integer"},
      {.text = JOB("\"test_dataset\":9007199254740993"), .field = "test_dataset",
       .says = "at most 9007199254740991"},
      /* both given, even a split of 0: one of them says where validation comes from */
      {.text = JOB("\"validation_split\":0,\"validation_dataset\":2"),
       .field = "validation_dataset", .says = "replaces validation_split"},
      {.text = JOB("\"validation_dataset\":2,\"validation_split\":0.1"),
       .field = "validation_dataset", .says = "replaces validation_split"},
      {.text = JOB("\"early_stopping\":{\"restore_best\":true}"),
       .field = "early_stopping.restore_best", .says = "needs a validation_split"},
      {.text = JOB("\"validation_split\":0,\"early_stopping\":{\"restore_best\":true}"),
       .field = "early_stopping.restore_best", .says = "validation_dataset"},
      {.text = JOB("\"early_stopping\":{\"restore_best\":\"yes\"}"),
       .field = "early_stopping.restore_best", .says = "true or false"},
      {.text = "[]", .field = "", .says = "object"},
  };
  refuses(JOB, rows, N_CASES(rows));
}

/* ---- CSV data sets --------------------------------------------------------------------- */

/* Feed text in pieces cut at the given offsets (ascending, within len). */
static int csv_parse_cuts(const char *target, const char *text, size_t len, const size_t *cuts,
                          size_t n_cuts, parse_dataset_out *d, api_error *err) {
  memset(d, 0, sizeof *d);
  parse_csv *p = NULL;
  int rc = parse_csv_new(target, &p, err);
  if (rc != 0) return rc;
  size_t at = 0;
  for (size_t i = 0; i <= n_cuts && rc == 0; i++) {
    size_t end = i < n_cuts ? cuts[i] : len;
    char *piece = malloc(end - at + 1); /* exact size: ASan sees overreads */
    cr_assert_not_null(piece);
    memcpy(piece, text + at, end - at);
    rc = parse_csv_feed(p, piece, end - at, err);
    free(piece);
    at = end;
  }
  if (rc == 0) rc = parse_csv_finish(p, d, err);
  parse_csv_free(p);
  return rc;
}

static int csv_parse(const char *target, const char *text, parse_dataset_out *d, api_error *err) {
  return csv_parse_cuts(target, text, strlen(text), NULL, 0, d, err);
}

/* n rows of one feature and a target naming class "c<i % classes>", as CSV;
 * malloc'd. */
static char *many_classes(int n, int classes) {
  char *s = malloc((size_t)n * 40 + 64);
  cr_assert_not_null(s);
  size_t at = (size_t)sprintf(s, "x,y\n");
  for (int i = 0; i < n; i++) at += (size_t)sprintf(s + at, "%d,c%d\n", i, i % classes);
  return s;
}

/* At most PARSE_MAX_CLASSES classes, refused at the row of the one past it
 * (test_parse_dataset.c holds JSON data sets to the same cap). */
Test(parse_csv, classes_are_capped) {
  char *at_cap = many_classes(PARSE_MAX_CLASSES + 5, PARSE_MAX_CLASSES);
  char *over = many_classes(PARSE_MAX_CLASSES + 5, PARSE_MAX_CLASSES + 1);
  parse_dataset_out d = accepted(CSV, "y", at_cap).data;
  cr_assert_eq(d.n_classes, PARSE_MAX_CLASSES);
  parse_dataset_out_free(&d);
  const refusal rows[] = {
      {.target = "y", .text = over, .field = "row 10001, column y",
       .says = "makes 10001 classes; a dataset may have at most 10000"},
  };
  refuses(CSV, rows, N_CASES(rows));
  /* numbers are not classes: any count of distinct values is a regression */
  size_t at = (size_t)sprintf(over, "x,y\n");
  for (int i = 0; i < PARSE_MAX_CLASSES + 5; i++) at += (size_t)sprintf(over + at, "%d,%d\n", i, i);
  d = accepted(CSV, "y", over).data;
  cr_assert_eq(d.task, PARSE_TASK_REGRESSION);
  parse_dataset_out_free(&d);
  free(at_cap);
  free(over);
}

static void assert_same_dataset(const parse_dataset_out *a, const parse_dataset_out *b) {
  cr_assert_eq(a->rows, b->rows);
  cr_assert_eq(a->features, b->features);
  cr_assert_eq(a->outputs, b->outputs);
  cr_assert_eq(a->task, b->task);
  cr_assert_eq(a->n_classes, b->n_classes);
  for (int k = 0; k < a->n_classes; k++) cr_assert_str_eq(a->classes[k], b->classes[k]);
  cr_assert_arr_eq(a->x, b->x, a->rows * (size_t)a->features * sizeof(float));
  if (a->task == PARSE_TASK_REGRESSION)
    cr_assert_arr_eq(a->y, b->y, a->rows * (size_t)a->outputs * sizeof(float));
  else
    cr_assert_arr_eq(a->labels, b->labels, a->rows * sizeof(int32_t));
}

#define IRIS                                   \
  "sepal_length,sepal_width,species,petal\n"   \
  "5.1,3.5,setosa,0.2\n"                       \
  "6.3,3.3,virginica,2.5\n"                    \
  "5.7, 2.8 ,versicolor,1.3\n"                 \
  "4.9,3.0,setosa,-0.2e1\n"

Test(parse_csv, classification) {
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("species", IRIS, &d, &err), 0, "%s", err.message);
  cr_assert_eq(d.rows, 4);
  cr_assert_eq(d.features, 3);
  cr_assert_eq(d.task, PARSE_TASK_CLASSIFICATION);
  cr_assert_eq(d.n_classes, 3);
  cr_assert_eq(d.outputs, 3);
  cr_assert_str_eq(d.classes[0], "setosa");
  cr_assert_str_eq(d.classes[1], "versicolor");
  cr_assert_str_eq(d.classes[2], "virginica");
  const float x[] = {5.1f, 3.5f, 0.2f, 6.3f, 3.3f, 2.5f, 5.7f, 2.8f, 1.3f, 4.9f, 3.0f, -2.0f};
  cr_assert_arr_eq(d.x, x, sizeof x);
  const int32_t labels[] = {0, 2, 1, 0};
  cr_assert_arr_eq(d.labels, labels, sizeof labels);
  cr_assert_null(d.y);
  parse_dataset_out_free(&d);
}

Test(parse_csv, regression_with_one_and_several_targets) {
  const char *text = "a,b,c\n1,2,3\n4,5,6\n";
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("b", text, &d, &err), 0, "%s", err.message);
  cr_assert_eq(d.task, PARSE_TASK_REGRESSION);
  cr_assert_eq(d.outputs, 1);
  cr_assert_eq(d.features, 2);
  const float x1[] = {1, 3, 4, 6}, y1[] = {2, 5};
  cr_assert_arr_eq(d.x, x1, sizeof x1);
  cr_assert_arr_eq(d.y, y1, sizeof y1);
  cr_assert_null(d.labels);
  cr_assert_eq(d.n_classes, 0);
  parse_dataset_out_free(&d);

  cr_assert_eq(csv_parse("c,a", text, &d, &err), 0, "%s", err.message);
  cr_assert_eq(d.outputs, 2);
  cr_assert_eq(d.features, 1);
  const float x2[] = {2, 5}, y2[] = {3, 1, 6, 4}; /* targets in the order asked for */
  cr_assert_arr_eq(d.x, x2, sizeof x2);
  cr_assert_arr_eq(d.y, y2, sizeof y2);
  parse_dataset_out_free(&d);
}

/* The decimal forms spreadsheets and printf write are numbers. */
Test(parse_csv, decimal_numbers) {
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("t", "x,t\n+1,.5\n5.,-0.25e+1\n 7E-1 ,1e3\n", &d, &err), 0, "%s",
               err.message);
  cr_assert_eq(d.task, PARSE_TASK_REGRESSION);
  const float x[] = {1, 5, 0.7f}, y[] = {0.5f, -2.5f, 1000};
  cr_assert_arr_eq(d.x, x, sizeof x);
  cr_assert_arr_eq(d.y, y, sizeof y);
  parse_dataset_out_free(&d);
  /* A hex target cell is text: the column holds classes. */
  cr_assert_eq(csv_parse("t", "x,t\n1,0x10\n2,16\n", &d, &err), 0, "%s", err.message);
  cr_assert_eq(d.task, PARSE_TASK_CLASSIFICATION);
  cr_assert_eq(d.n_classes, 2);
  cr_assert_str_eq(d.classes[0], "0x10");
  parse_dataset_out_free(&d);
}

Test(parse_csv, numeric_cells_of_a_label_column_become_classes) {
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("t", "x,t\n1,10\n2,b\n3,9\n4,10\n", &d, &err), 0, "%s", err.message);
  cr_assert_eq(d.task, PARSE_TASK_CLASSIFICATION);
  cr_assert_eq(d.n_classes, 3);
  cr_assert_str_eq(d.classes[0], "10"); /* sorted as text */
  cr_assert_str_eq(d.classes[1], "9");
  cr_assert_str_eq(d.classes[2], "b");
  const int32_t labels[] = {0, 2, 1, 0};
  cr_assert_arr_eq(d.labels, labels, sizeof labels);
  parse_dataset_out_free(&d);
}

#define QUOTED                                                    \
  "\xEF\xBB\xBF\"x \"\"1\"\"\",\"spe,cies\"\r\n"                  \
  "1,\"a\r\nb\"\r\n"                                              \
  "\r\n"                                                          \
  "\"2.5\",\"say \"\"hi\"\"\"\r\n"                                \
  "3,\"\"\"\"\r\n"                                                \
  "4,\"a\r\nb\"\r\n"                                              \
  "\n"

Test(parse_csv, quoted_cells_crlf_bom_and_blank_lines) {
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("spe,cies", QUOTED, &d, &err), -API_INVALID_ARGUMENT,
               "a target list is split at commas");
  cr_assert_str_eq(err.field, "target");

  /* Column names are unquoted (and the byte order mark dropped) before they
   * are matched and reported. */
  cr_assert_eq(csv_parse("x \"1\"", QUOTED, &d, &err), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, "row 1, column spe,cies");
  cr_assert_str_eq(err.message, "row 1, column spe,cies must be a number");

  /* The other way round: the quoted name with a comma is a feature. */
  const char *text = "\xEF\xBB\xBFlabel,\"f,1\"\n\"a\r\nb\",1\n\"\"\"\",2\n"
                     "\"say \"\"hi\"\"\",\"3\"";
  cr_assert_eq(csv_parse("label", text, &d, &err), 0, "%s", err.message);
  cr_assert_eq(d.rows, 3);
  cr_assert_eq(d.features, 1);
  cr_assert_eq(d.n_classes, 3);
  cr_assert_str_eq(d.classes[0], "\"");
  cr_assert_str_eq(d.classes[1], "a\r\nb");
  cr_assert_str_eq(d.classes[2], "say \"hi\"");
  const int32_t labels[] = {1, 0, 2};
  cr_assert_arr_eq(d.labels, labels, sizeof labels);
  const float x[] = {1, 2, 3};
  cr_assert_arr_eq(d.x, x, sizeof x);
  parse_dataset_out_free(&d);
}

Test(parse_csv, line_endings_and_final_newline_do_not_matter) {
  const char *variants[] = {"a,b\n1,x\n2,y\n", "a,b\r\n1,x\r\n2,y\r\n", "a,b\n1,x\n2,y",
                            "a,b\r\n1,x\r\n2,y", "a,b\n1,x\n2,y\n\n", "a,b\r1,x\r2,y\r",
                            "\na,b\n\n1,x\n\n2,y\n\n\n"};
  parse_dataset_out first;
  api_error err = {0};
  cr_assert_eq(csv_parse("b", variants[0], &first, &err), 0, "%s", err.message);
  cr_assert_eq(first.rows, 2);
  for (size_t i = 1; i < sizeof variants / sizeof variants[0]; i++) {
    parse_dataset_out d;
    cr_assert_eq(csv_parse("b", variants[i], &d, &err), 0, "variant %zu: %s", i, err.message);
    assert_same_dataset(&first, &d);
    parse_dataset_out_free(&d);
  }
  parse_dataset_out_free(&first);
}

/* Every cut of a small CSV into two and three pieces, and one byte at a time,
 * gives the same result as one piece. */
static void check_every_cut(const char *target, const char *text) {
  size_t len = strlen(text);
  parse_dataset_out whole;
  api_error err = {0};
  cr_assert_eq(csv_parse(target, text, &whole, &err), 0, "%s", err.message);
  for (size_t i = 0; i <= len; i++) {
    for (size_t j = i; j <= len; j++) {
      size_t cuts[] = {i, j};
      parse_dataset_out d;
      cr_assert_eq(csv_parse_cuts(target, text, len, cuts, 2, &d, &err), 0, "cut at %zu, %zu: %s",
                   i, j, err.message);
      assert_same_dataset(&whole, &d);
      parse_dataset_out_free(&d);
    }
  }
  size_t *bytes = malloc(len * sizeof *bytes);
  for (size_t i = 0; i < len; i++) bytes[i] = i;
  parse_dataset_out d;
  cr_assert_eq(csv_parse_cuts(target, text, len, bytes, len, &d, &err), 0, "%s", err.message);
  assert_same_dataset(&whole, &d);
  parse_dataset_out_free(&d);
  free(bytes);
  parse_dataset_out_free(&whole);
}

Test(parse_csv, chunk_boundaries_at_every_offset) {
  check_every_cut("species", "a,\"b \"\"q\"\"\",species\r\n1.5,-2,\"x,y\"\r\n3,4e1,\"z\"\"\"\r\n"
                             "\r\n5,6,x\r\n");
  check_every_cut("t2,t1", "f,t1,t2\n1,2,3\n4,5,6");
  check_every_cut("y", "x,y\r\n1,2\r\n3,4");
}

Test(parse_csv, bad_cells_name_row_and_column) {
  const refusal rows[] = {
      {.target = "species",
       .text = "sepal_length,sepal_width,species\n1,2,a\n1,2,a\n1,2,a\n1,2,a\n1,2,a\n1,2,a\n"
               "1,abc,b\n",
       .field = "row 7, column sepal_width", .says = "row 7, column sepal_width must be a number"},
      {.target = "t", .text = "x,t\n1,2\n,3\n", .field = "row 2, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\n1,2\nnan,3\n", .field = "row 2, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\n1,2\ninf,3\n", .field = "row 2, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\n1e39,2\n", .field = "row 1, column x",
       .says = "must be a number"},
      /* Found by outside testing: strtod's hex floats were numbers. A cell is a
       * decimal number only: no hex, no inf or nan words, no bare sign or point. */
      {.target = "t", .text = "x,t\n0x10,2\n", .field = "row 1, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\n0X1p3,2\n", .field = "row 1, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\n-0x1.8,2\n", .field = "row 1, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\ninfinity,2\n", .field = "row 1, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\n-NAN,2\n", .field = "row 1, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\n1e,2\n", .field = "row 1, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\n.,2\n", .field = "row 1, column x", .says = "must be a number"},
      {.target = "t", .text = "x,t\n-,2\n", .field = "row 1, column x", .says = "must be a number"},
      {.target = "t", .text = "x,t\n1.2.3,2\n", .field = "row 1, column x",
       .says = "must be a number"},
      {.target = "a,b", .text = "x,a,b\n1,2,0x3\n", .field = "row 1, column b",
       .says = "several target columns"},
      {.target = "t", .text = "x,t\n1 2,2\n", .field = "row 1, column x",
       .says = "must be a number"},
      {.target = "t", .text = "x,t\n1,\n", .field = "row 1, column t", .says = "is empty"},
      {.target = "a,b", .text = "x,a,b\n1,2,3\n1,2,q\n", .field = "row 2, column b",
       .says = "several target columns"},
      {.target = "t", .text = "x,t\n1,2\n1,2,3\n", .field = "row 2",
       .says = "more than the header's 2 columns"},
      {.target = "t", .text = "x,t\n1,2\n1\n", .field = "row 2",
       .says = "row 2 has 1 columns where the header has 2"},
      {.target = "t", .text = "x,t\n1,2\n1,2,\n", .field = "row 2",
       .says = "more than the header's 2 columns"},
  };
  refuses(CSV, rows, N_CASES(rows));
}

Test(parse_csv, malformed_csv) {
  const refusal rows[] = {
      {.target = "t", .text = "x,t\n1,\"abc\n", .field = "row 1, column t", .says = "never closed"},
      {.target = "t", .text = "x,t\n1,ab\"c\n", .field = "row 1, column t",
       .says = "quote inside an unquoted cell"},
      {.target = "t", .text = "x,t\n1,\"ab\"c\n", .field = "row 1, column t",
       .says = "text after its closing quote"},
      {.target = "t", .text = "x,\"t\n", .field = "header", .says = "never closed"},
      {.target = "t", .text = "x,t,x\n1,2,3\n", .field = "header",
       .says = "header names column x twice"},
      {.target = "t", .text = "x,,t\n1,2,3\n", .field = "header", .says = "without a name"},
      {.target = "t", .text = "", .field = "", .says = "empty"},
      {.target = "t", .text = "\n\r\n", .field = "", .says = "empty"},
      {.target = "t", .text = "x,t\n", .field = "", .says = "no data rows"},
      {.target = "t", .text = "x,t", .field = "", .says = "no data rows"},
  };
  refuses(CSV, rows, N_CASES(rows));
}

/* One byte order mark opening the body is skipped, wherever the chunks cut
 * it. Found by outside testing: a second one stayed in the first column's
 * name, invisible; a name may not start with one. */
Test(parse_csv, one_byte_order_mark_is_skipped_a_second_is_refused) {
  check_every_cut("t", "\xEF\xBB\xBFx,t\n1,2\n");
  const refusal rows[] = {
      {.target = "t", .text = "\xEF\xBB\xBF\xEF\xBB\xBFx,t\n1,2\n", .field = "header",
       .says = "header column 1 (x) starts with a byte order mark"},
      {.target = "t", .text = "\xEF\xBB\xBF\"\xEF\xBB\xBFx\",t\n1,2\n", .field = "header",
       .says = "header column 1 (x) starts with a byte order mark"},
      {.target = "t", .text = "\xEF\xBB\xBF\xEF\xBB\xBF,t\n1,2\n", .field = "header",
       .says = "header column 1 () starts with a byte order mark"},
      {.target = "x", .text = "x,\xEF\xBB\xBFt\n1,2\n", .field = "header",
       .says = "header column 2 (t) starts with a byte order mark"},
  };
  refuses(CSV, rows, N_CASES(rows));
  /* Inside a name it is U+FEFF, a character like any other. */
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("a\xEF\xBB\xBF" "b", "x,a\xEF\xBB\xBF" "b\n1,2\n", &d, &err), 0, "%s",
               err.message);
  parse_dataset_out_free(&d);
}

Test(parse_csv, nul_bytes_are_rejected) {
  const char text[] = "x,t\n1,a\0b\n";
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse_cuts("t", text, sizeof text - 1, NULL, 0, &d, &err),
               -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, "row 1, column t");
  cr_assert(strstr(err.message, "NUL") != NULL, "%s", err.message);
}

Test(parse_csv, class_and_column_names_must_be_utf8) {
  const refusal rows[] = {
      {.target = "t", .text = "x,t\n1,caf\xc3\xa9\n2,caf\xe9\n", .field = "row 2, column t",
       .says = "not UTF-8"},
      {.target = "t", .text = "x\xff,t\n1,a\n", .field = "header", .says = "not UTF-8"},
  };
  refuses(CSV, rows, N_CASES(rows));
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("t", "x,t\n1,caf\xc3\xa9\n2,\xe2\x82\xac\n", &d, &err), 0, "%s",
               err.message);
  cr_assert_str_eq(d.classes[0], "caf\xc3\xa9");
  parse_dataset_out_free(&d);
}

Test(parse_csv, targets_must_exist_once) {
  const refusal rows[] = {
      {.target = "species", .text = "a,b\n1,2\n", .field = "target",
       .says = "target column species is not in the header"},
      {.target = "a,b,a", .text = "a,b,c\n1,2,3\n", .field = "target",
       .says = "names column a twice"},
      /* found by fuzz_csv: a name repeated right after itself was taken once */
      {.target = "a,a", .text = "a,b,c\n1,2,3\n", .field = "target",
       .says = "names column a twice"},
      {.target = "c,b,b", .text = "a,b,c\n1,2,3\n", .field = "target",
       .says = "names column b twice"},
      {.target = "a,,b", .text = "a,b,c\n1,2,3\n", .field = "target", .says = "comma-separated"},
      {.target = "a,", .text = "a,b,c\n1,2,3\n", .field = "target", .says = "comma-separated"},
      {.target = "", .text = "a,b,c\n1,2,3\n", .field = "target", .says = "required"},
      {.target = "a,b", .text = "a,b\n1,2\n", .field = "target", .says = "no features"},
  };
  refuses(CSV, rows, N_CASES(rows));

  parse_csv *p = (parse_csv *)1;
  api_error err = {0};
  cr_assert_eq(parse_csv_new(NULL, &p, &err), -API_INVALID_ARGUMENT);
  cr_assert_null(p);
}

/* A cell "<prefix><count sevens>\n" after the header; free it. */
static char *sevens(const char *header_and_prefix, size_t count) {
  size_t at = strlen(header_and_prefix);
  char *text = malloc(at + count + 2);
  cr_assert_not_null(text);
  memcpy(text, header_and_prefix, at);
  memset(text + at, '7', count);
  strcpy(text + at + count, "\n");
  return text;
}

Test(parse_csv, limits) {
  /* a cell of PARSE_CSV_MAX_CELL bytes fits; one more does not */
  size_t n = PARSE_CSV_MAX_CELL;
  char *class_name = sevens("x,t\n1,", n);
  char *number = sevens("t,x\n1,", n);
  char *too_long = sevens("t,x\n1,", n + 1);

  /* a header of PARSE_CSV_MAX_COLUMNS + 1 columns */
  size_t cap = (size_t)(PARSE_CSV_MAX_COLUMNS + 1) * 8 + 16;
  char *wide = malloc(cap);
  size_t len = 0;
  for (int c = 0; c <= PARSE_CSV_MAX_COLUMNS; c++)
    len += (size_t)snprintf(wide + len, cap - len, c ? ",c%d" : "c%d", c);
  strcpy(wide + len, "\n");

  const refusal rows[] = {
      {.target = "t", .text = class_name, .field = "row 1, column t",
       .says = "longer than 256 bytes"},
      /* 7777... fits a cell but is too big a number */
      {.target = "t", .text = number, .field = "row 1, column x", .says = "must be a number"},
      {.target = "t", .text = too_long, .field = "row 1, column x",
       .says = "longer than 1024 bytes"},
      {.target = "c0", .text = wide, .field = "header", .says = "more than 65536 columns"},
  };
  refuses(CSV, rows, N_CASES(rows));
  free(class_name);
  free(number);
  free(too_long);
  free(wide);
}

Test(parse_csv, a_finished_parser_hands_over_once) {
  parse_csv *p = NULL;
  api_error err = {0};
  cr_assert_eq(parse_csv_new("t", &p, &err), 0);
  cr_assert_eq(parse_csv_feed(p, "x,t\n1,2\n", 8, &err), 0);
  parse_dataset_out d, again;
  cr_assert_eq(parse_csv_finish(p, &d, &err), 0);
  cr_assert_eq(parse_csv_finish(p, &again, &err), -API_INTERNAL);
  cr_assert_null(again.x);
  cr_assert_eq(parse_csv_feed(p, "3,4\n", 4, &err), -API_INTERNAL);
  cr_assert_eq(d.rows, 1);
  parse_dataset_out_free(&d);
  parse_csv_free(p);
}

Test(parse_csv, errors_are_sticky) {
  parse_csv *p = NULL;
  api_error err = {0};
  cr_assert_eq(parse_csv_new("t", &p, &err), 0);
  cr_assert_eq(parse_csv_feed(p, "x,t\n1,2\nq,", 10, &err), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, "row 2, column x");
  api_error again = {0};
  cr_assert_eq(parse_csv_feed(p, "3\n", 2, &again), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(again.field, "row 2, column x");
  parse_dataset_out d;
  cr_assert_eq(parse_csv_finish(p, &d, &again), -API_INVALID_ARGUMENT);
  cr_assert_str_eq(again.message, err.message);
  cr_assert_null(d.x);
  parse_csv_free(p);
  parse_csv_free(NULL);
}

Test(parse_csv, many_rows_grow_the_arrays) {
  size_t rows = 5000;
  char *text = malloc(rows * 32 + 16);
  size_t len = (size_t)sprintf(text, "a,b,label\n");
  for (size_t i = 0; i < rows; i++)
    len += (size_t)sprintf(text + len, "%zu,%zu.5,c%zu\n", i, i, i % 7);
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("label", text, &d, &err), 0, "%s", err.message);
  cr_assert_eq(d.rows, rows);
  cr_assert_eq(d.n_classes, 7);
  for (size_t i = 0; i < rows; i++) {
    cr_assert_eq(d.x[2 * i], (float)i);
    cr_assert_eq(d.x[2 * i + 1], (float)i + 0.5f);
    cr_assert_eq(d.labels[i], (int32_t)(i % 7));
  }
  parse_dataset_out_free(&d);
  free(text);
}

/* "ranks" (issue #19): 1 by default and then not printed, so a job without
 * it reads back as before; larger counts print and round-trip. */
Test(parse_job, ranks) {
  parse_job job = accepted(JOB, NULL, "{\"model\":2,\"dataset\":5}").job;
  cr_assert_eq(job.ranks, 1);
  job = accepted(JOB, NULL, "{\"model\":2,\"dataset\":5,\"ranks\":256}").job;
  cr_assert_eq(job.ranks, PARSE_MAX_RANKS);
  cJSON *j = parse_job_to_json(&job);
  cr_assert_eq(cJSON_GetObjectItemCaseSensitive(j, "ranks")->valuedouble, 256);
  cJSON_Delete(j);
  assert_round_trip(&job);
  static const refusal rows[] = {
      {.text = "{\"model\":1,\"dataset\":1,\"ranks\":0}", .field = "ranks"},
      {.text = "{\"model\":1,\"dataset\":1,\"ranks\":257}", .field = "ranks"},
      {.text = "{\"model\":1,\"dataset\":1,\"ranks\":2.5}", .field = "ranks"},
      {.text = "{\"model\":1,\"dataset\":1,\"ranks\":\"2\"}", .field = "ranks"},
  };
  refuses(JOB, rows, N_CASES(rows));
}
