/* test_parse.c — the daemon's input parsers: strict JSON, model specs, job
 * configs, JSON and CSV data sets. Every error is checked by its field. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/parse_csv.h"
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

/* The body fails to parse; its error field must be field. */
static void json_fails(const char *s, size_t len, const char *field) {
  cJSON *root = NULL;
  api_error err = {0};
  int rc = body(s, len, &root, &err);
  cr_assert_eq(rc, -API_INVALID_ARGUMENT, "%s parsed", s);
  cr_assert_null(root);
  cr_assert_eq(err.code, API_INVALID_ARGUMENT);
  cr_assert_str_eq(err.field, field, "%s: field %s (%s)", s, err.field, err.message);
  cr_assert_neq(err.message[0], '\0');
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
  json_fails("{\"a\":1} x", 9, "");
  json_fails("{\"a\":1}{}", 9, "");
  json_fails("{\"a\":1}\0", 8, ""); /* a NUL inside the body is garbage too */
  json_fails("", 0, "");
  json_fails(" \n ", 3, "");
  json_fails("{\"a\":}", 6, "");
  json_fails("{\"a\":1", 6, "");
  json_fails("[1,2", 4, "");
}

Test(parse_json, rejects_duplicate_keys_anywhere) {
  json_fails("{\"a\":1,\"a\":2}", 13, "a");
  const char *nested = "{\"layers\":[{\"units\":1},{\"type\":\"dense\",\"units\":1,\"units\":2}]}";
  json_fails(nested, strlen(nested), "layers[1].units");
  const char *deep = "{\"o\":{\"p\":{\"x\":1,\"y\":2,\"x\":3}}}";
  json_fails(deep, strlen(deep), "o.p.x");
}

Test(parse_json, finds_duplicates_among_many_keys) {
  char s[16384];
  size_t n = 0;
  n += (size_t)sprintf(s + n, "{");
  for (int i = 0; i < 1000; i++) n += (size_t)sprintf(s + n, "\"k%d\":%d,", i, i);
  n += (size_t)sprintf(s + n, "\"k500\":0}");
  json_fails(s, n, "k500");
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

/* The body fails json_check; the message names the problem and the byte. */
static void strict_fails(const char *s, size_t len, const char *problem, size_t at) {
  cJSON *root = NULL;
  api_error err = {0};
  cr_assert_eq(body(s, len, &root, &err), -API_INVALID_ARGUMENT, "%s parsed", s);
  cr_assert_null(root);
  cr_assert_str_eq(err.field, "", "%s: field %s", s, err.field);
  char where[32];
  snprintf(where, sizeof where, "at byte %zu:", at);
  cr_assert(strstr(err.message, problem) != NULL && strstr(err.message, where) != NULL,
            "%s: '%s' should name '%s' %s", s, err.message, problem, where);
}
#define STRICT_FAILS(lit, problem, at) strict_fails(lit, sizeof lit - 1, problem, at)

Test(parse_json, numbers_follow_rfc8259) {
  STRICT_FAILS("[02]", "leading zeros", 2);
  STRICT_FAILS("[-00]", "leading zeros", 3);
  STRICT_FAILS("[1.]", "decimal point", 3);
  STRICT_FAILS("[.5]", "expected a value", 1);
  STRICT_FAILS("[+1]", "expected a value", 1);
  STRICT_FAILS("[1e]", "exponent", 3);
  STRICT_FAILS("[1e+]", "exponent", 4);
  STRICT_FAILS("[-]", "needs digits", 2);
  STRICT_FAILS("[0x10]", "expected ',' or ']'", 2);
  STRICT_FAILS("[NaN]", "NaN and Infinity are not JSON", 1);
  STRICT_FAILS("[Infinity]", "NaN and Infinity are not JSON", 1);
  STRICT_FAILS("[-Infinity]", "-Infinity is not JSON", 2);
  STRICT_FAILS("[nan]", "true, false and null", 1);
  STRICT_FAILS("[tru]", "true, false and null", 1);
  cJSON *ok = json_ok("[0, -0, 1E+5, 0.5e-3, -12.25E2, 1e999, true, false, null]");
  cr_assert_eq(cJSON_GetArraySize(ok), 9);
  cr_assert_eq(cJSON_GetArrayItem(ok, 3)->valuedouble, 0.5e-3);
  cJSON_Delete(ok);
}

Test(parse_json, strings_are_utf8_without_nul_or_raw_controls) {
  STRICT_FAILS("[\"a\tb\"]", "control character", 3);
  STRICT_FAILS("[\"a\nb\"]", "control character", 3);
  STRICT_FAILS("[\"\\x\"]", "unknown escape", 2);
  STRICT_FAILS("[\"\\u12\"]", "four hex digits", 2);
  STRICT_FAILS("[\"a\\u0000b\"]", "\\u0000", 3);
  STRICT_FAILS("{\"a\\u0000\":1}", "\\u0000", 3);
  STRICT_FAILS("[\"\\udc00\"]", "surrogate", 2);
  STRICT_FAILS("[\"\\ud800\"]", "surrogate", 2);
  STRICT_FAILS("[\"\\ud800\\u0041\"]", "surrogate", 2);
  STRICT_FAILS("[\"\xff\"]", "not UTF-8", 2);
  STRICT_FAILS("[\"ab\x80\"]", "not UTF-8", 4);
  STRICT_FAILS("[\"\xc0\xaf\"]", "not UTF-8", 2);         /* overlong '/' */
  STRICT_FAILS("[\"\xe0\x80\xaf\"]", "not UTF-8", 2);     /* overlong, 3 bytes */
  STRICT_FAILS("[\"\xed\xa0\x80\"]", "not UTF-8", 2);     /* an encoded surrogate */
  STRICT_FAILS("[\"\xf4\x90\x80\x80\"]", "not UTF-8", 2); /* above U+10FFFF */
  STRICT_FAILS("[\"\xe2\x82\"]", "not UTF-8", 2);         /* cut short */
  STRICT_FAILS("[\"abc", "not closed", 5);
  STRICT_FAILS("[\"abc\\", "not closed", 5);
  /* Outside strings, bytes above 0x7f are no token at all. */
  STRICT_FAILS("[1,\xc3\xa9]", "expected a value", 3);
  cJSON *ok =
      json_ok("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"\\ud83d\\ude00\\u00e9\\/\\t\"]");
  cr_assert_str_eq(cJSON_GetArrayItem(ok, 0)->valuestring, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  cr_assert_str_eq(cJSON_GetArrayItem(ok, 1)->valuestring, "\xf0\x9f\x98\x80\xc3\xa9/\t");
  cJSON_Delete(ok);
}

Test(parse_json, structure_errors_name_the_byte) {
  STRICT_FAILS("{'a':1}", "member name in double quotes", 1);
  STRICT_FAILS("{\"a\" 1}", "':'", 5);
  STRICT_FAILS("{\"a\":1,}", "member name", 7);
  STRICT_FAILS("{\"a\":1 \"b\":2}", "expected ',' or '}'", 7);
  STRICT_FAILS("[1 2]", "expected ',' or ']'", 3);
  STRICT_FAILS("[1,]", "expected a value", 3);
  STRICT_FAILS("[1,2", "expected ',' or ']'", 4);
  STRICT_FAILS("{\"a\":", "end of the body", 5);
  STRICT_FAILS("{\"a\":1} x", "after the JSON value", 8);
  STRICT_FAILS("{\"a\":1 /* c */}", "expected ',' or '}'", 7);
  /* One byte order mark is skipped, as RFC 8259 allows; a second is not JSON. */
  cJSON *ok = json_ok("\xef\xbb\xbf {\"a\":[]}");
  cr_assert(cJSON_IsArray(cJSON_GetObjectItem(ok, "a")));
  cJSON_Delete(ok);
  STRICT_FAILS("\xef\xbb\xbf\xef\xbb\xbf{}", "expected a value", 3);
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

static int spec_from(const char *s, nn_spec *spec, char name[PARSE_NAME_MAX + 1], api_error *err) {
  cJSON *root = json_ok(s);
  int rc = parse_spec(root, spec, name, err);
  cJSON_Delete(root);
  return rc;
}

static void spec_fails(const char *s, const char *field, const char *message_part) {
  nn_spec spec;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(spec_from(s, &spec, name, &err), -API_INVALID_ARGUMENT, "%s parsed", s);
  cr_assert_str_eq(err.field, field, "%s: field %s (%s)", s, err.field, err.message);
  cr_assert(strstr(err.message, message_part) != NULL, "%s: message '%s'", s, err.message);
}

Test(parse_spec, xor_example) {
  nn_spec spec;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(spec_from(XOR_SPEC, &spec, name, &err), 0, "%s", err.message);
  cr_assert_str_eq(name, "xor-net");
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

Test(parse_spec, defaults_are_filled_and_printed) {
  const char *s = "{\"name\":\"m\",\"inputs\":3,\"layers\":[{\"type\":\"dense\",\"units\":4,"
                  "\"activation\":\"leaky_relu\"},{\"type\":\"dropout\",\"rate\":0.5},"
                  "{\"type\":\"dense\",\"units\":2}],\"loss\":\"mse\"}";
  nn_spec spec;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(spec_from(s, &spec, name, &err), 0, "%s", err.message);
  cr_assert_eq(spec.layers[0].slope, 0.01f);
  cr_assert_eq(spec.layers[0].init, NN_INIT_HE);
  cr_assert_eq(spec.layers[1].rate, 0.5f);
  cr_assert_eq(spec.layers[2].act, NN_ACT_LINEAR);
  cr_assert_eq(spec.layers[2].init, NN_INIT_XAVIER);
  cr_assert_eq(spec.seed, 0);
  cr_assert_eq(spec.normalize, 0);

  cJSON *j = parse_spec_to_json(&spec, name);
  cr_assert_not_null(j);
  char *text = cJSON_PrintUnformatted(j);
  cr_assert_str_eq(text,
                   "{\"name\":\"m\",\"inputs\":3,\"layers\":[{\"type\":\"dense\",\"units\":4,"
                   "\"activation\":\"leaky_relu\",\"init\":\"he\",\"slope\":0.01},"
                   "{\"type\":\"dropout\",\"rate\":0.5},{\"type\":\"dense\",\"units\":2,"
                   "\"activation\":\"linear\",\"init\":\"xavier\"}],\"loss\":\"mse\","
                   "\"seed\":0,\"normalize\":false}");
  nn_spec again;
  char name2[PARSE_NAME_MAX + 1];
  cr_assert_eq(spec_from(text, &again, name2, &err), 0, "%s", err.message);
  cr_assert_str_eq(name2, "m");
  cr_assert_eq(memcmp(&again, &spec, sizeof spec), 0, "the normalized spec parses back the same");
  free(text);
  cJSON_Delete(j);

  cJSON *anonymous = parse_spec_to_json(&spec, NULL);
  cr_assert_null(cJSON_GetObjectItem(anonymous, "name"));
  cJSON_Delete(anonymous);
}

/* Found by fuzz_spec: cJSON printed seed 2^53 as 9.00719925474099e+15, which
 * reads back as another seed, so the stored spec trained other weights. */
Test(parse_spec, seeds_of_sixteen_digits_print_exactly) {
  static const char *const seeds[] = {"9007199254740992", "9007199254740991",
                                      "4503599627370497", "1000000000000000", "999999999999999"};
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    char s[256], want[64];
    snprintf(s, sizeof s,
             "{\"name\":\"m\",\"inputs\":1,\"layers\":[{\"type\":\"dense\",\"units\":1}],"
             "\"loss\":\"mse\",\"seed\":%s}",
             seeds[i]);
    nn_spec spec, again;
    char name[PARSE_NAME_MAX + 1];
    api_error err = {0};
    cr_assert_eq(spec_from(s, &spec, name, &err), 0, "%s", err.message);
    cr_assert_eq(spec.seed, strtoull(seeds[i], NULL, 10));
    cJSON *j = parse_spec_to_json(&spec, name);
    char *text = cJSON_PrintUnformatted(j);
    snprintf(want, sizeof want, "\"seed\":%s,", seeds[i]);
    cr_assert(strstr(text, want) != NULL, "%s printed as %s", seeds[i], text);
    cr_assert_eq(spec_from(text, &again, name, &err), 0, "%s", err.message);
    cr_assert_eq(again.seed, spec.seed);
    free(text);
    cJSON_Delete(j);
  }
}

Test(parse_spec, options) {
  const char *s = "{\"name\":\"c\",\"inputs\":4,\"layers\":[{\"type\":\"dense\",\"units\":3,"
                  "\"activation\":\"leaky_relu\",\"slope\":0.2,\"init\":\"xavier\"},"
                  "{\"type\":\"dense\",\"units\":3,\"activation\":\"softmax\"}],"
                  "\"loss\":\"cross_entropy\",\"seed\":9007199254740992,\"normalize\":true}";
  nn_spec spec;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(spec_from(s, &spec, name, &err), 0, "%s", err.message);
  cr_assert_eq(spec.layers[0].slope, 0.2f);
  cr_assert_eq(spec.layers[0].init, NN_INIT_XAVIER);
  cr_assert_eq(spec.loss, NN_LOSS_CROSS_ENTROPY);
  cr_assert_eq(spec.seed, 9007199254740992ull);
  cr_assert_eq(spec.normalize, 1);
}

#define L(x) "{\"name\":\"m\",\"inputs\":2,\"layers\":[" x "],\"loss\":\"mse\"}"
#define DENSE1 "{\"type\":\"dense\",\"units\":1}"

Test(parse_spec, rejects_unknown_and_inapplicable_fields) {
  spec_fails(L("{\"type\":\"dense\",\"unit\":8}"), "layers[0].unit", "unknown field");
  spec_fails(L(DENSE1 ",{\"type\":\"dropout\",\"rate\":0.1,\"units\":3}," DENSE1),
             "layers[1].units", "does not apply to a dropout layer");
  spec_fails(L("{\"type\":\"dense\",\"units\":1,\"rate\":0.1}"), "layers[0].rate",
             "does not apply to a dense layer");
  spec_fails(L("{\"type\":\"dense\",\"units\":1,\"activation\":\"tanh\",\"slope\":0.1}"),
             "layers[0].slope", "does not apply to activation tanh");
  spec_fails("{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"mse\",\"x\":1}",
             "x", "unknown field x");
}

Test(parse_spec, rejects_bad_values) {
  spec_fails(L(DENSE1 ",{\"type\":\"dense\",\"units\":-3}"), "layers[1].units",
             "layers[1].units must be a positive integer");
  spec_fails(L("{\"type\":\"dense\",\"units\":1048577}"), "layers[0].units",
             "must be a positive integer (at most 1048576)");
  spec_fails(L("{\"type\":\"dense\",\"units\":\"8\"}"), "layers[0].units", "positive integer");
  spec_fails(L("{\"type\":\"dense\",\"units\":2.5}"), "layers[0].units", "positive integer");
  spec_fails(L("{\"type\":\"dense\"}"), "layers[0].units", "layers[0].units is required");
  spec_fails(L("{\"units\":1}"), "layers[0].type", "layers[0].type is required");
  spec_fails(L("{\"type\":\"conv\",\"units\":1}"), "layers[0].type", "one of: dense, dropout");
  spec_fails(L("{\"type\":\"dense\",\"units\":1,\"activation\":\"gelu\"}"), "layers[0].activation",
             "must be one of");
  spec_fails(L("{\"type\":\"dense\",\"units\":1,\"init\":\"zeros\"}"), "layers[0].init",
             "one of: auto, xavier, he");
  spec_fails(L("{\"type\":\"dropout\",\"rate\":1e999}," DENSE1), "layers[0].rate",
             "layers[0].rate must be a finite number");
  spec_fails(L("{\"type\":\"dropout\"}," DENSE1), "layers[0].rate", "is required");
  spec_fails(L("{\"type\":\"dense\",\"units\":1,\"activation\":\"leaky_relu\",\"slope\":-1}"),
             "layers[0].slope", "[0, 1)");
  spec_fails(L("[]"), "layers[0]", "layers[0] must be an object");
  spec_fails(L(""), "layers", "1 to 64 layers");
  spec_fails("{\"name\":\"m\",\"inputs\":2,\"layers\":{},\"loss\":\"mse\"}", "layers", "array");
  spec_fails("{\"name\":\"m\",\"inputs\":2,\"loss\":\"mse\"}", "layers", "layers is required");
  spec_fails("{\"name\":\"m\",\"inputs\":0,\"layers\":[" DENSE1 "],\"loss\":\"mse\"}", "inputs",
             "positive integer");
  spec_fails("{\"name\":\"m\",\"layers\":[" DENSE1 "],\"loss\":\"mse\"}", "inputs", "required");
  spec_fails("{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1 "]}", "loss", "required");
  spec_fails("{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"hinge\"}", "loss",
             "mse, cross_entropy, binary_cross_entropy");
  spec_fails("{\"name\":\"x y\",\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"mse\"}", "name",
             "characters");
  spec_fails("{\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"mse\"}", "name", "required");
  spec_fails("{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1 "],\"loss\":\"mse\",\"seed\":-1}",
             "seed", "non-negative integer");
  spec_fails("{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1
             "],\"loss\":\"mse\",\"seed\":9007199254740993e3}",
             "seed", "at most 9007199254740992");
  spec_fails("{\"name\":\"m\",\"inputs\":2,\"layers\":[" DENSE1
             "],\"loss\":\"mse\",\"normalize\":1}",
             "normalize", "true or false");
  spec_fails("[1]", "", "object");
}

Test(parse_spec, core_validation_errors_pass_through) {
  spec_fails(L("{\"type\":\"dropout\",\"rate\":1}," DENSE1), "layers[0].rate", "[0, 1)");
  spec_fails(L(DENSE1 ",{\"type\":\"dropout\",\"rate\":0.5}"), "layers[1].type",
             "the last layer must be dense");
  spec_fails("{\"name\":\"m\",\"inputs\":2,\"layers\":[{\"type\":\"dense\",\"units\":2,"
             "\"activation\":\"sigmoid\"}],\"loss\":\"cross_entropy\"}",
             "layers[0].activation", "softmax");
  /* 2^20 x 2^20 weights overflow the parameter limit */
  spec_fails("{\"name\":\"m\",\"inputs\":1048576,\"layers\":[{\"type\":\"dense\","
             "\"units\":1048576}],\"loss\":\"mse\"}",
             "layers[0].units", "parameters");
}

Test(parse_spec, sixty_five_layers_are_too_many) {
  char s[8192] = "{\"name\":\"m\",\"inputs\":2,\"layers\":[";
  for (int i = 0; i <= NN_MAX_LAYERS; i++) strcat(s, i ? "," DENSE1 : DENSE1);
  strcat(s, "],\"loss\":\"mse\"}");
  spec_fails(s, "layers", "1 to 64 layers");
}

/* ---- job configs --------------------------------------------------------------------- */

static int job_from(const char *s, parse_job *job, api_error *err) {
  cJSON *root = json_ok(s);
  int rc = parse_job_config(root, job, err);
  cJSON_Delete(root);
  return rc;
}

static void job_fails(const char *s, const char *field, const char *message_part) {
  parse_job job;
  api_error err = {0};
  cr_assert_eq(job_from(s, &job, &err), -API_INVALID_ARGUMENT, "%s parsed", s);
  cr_assert_str_eq(err.field, field, "%s: field %s (%s)", s, err.field, err.message);
  cr_assert(strstr(err.message, message_part) != NULL, "%s: message '%s'", s, err.message);
}

/* A parsed job printed and parsed again is the same job. */
static void assert_round_trip(const parse_job *job) {
  cJSON *j = parse_job_to_json(job);
  cr_assert_not_null(j);
  char *text = cJSON_PrintUnformatted(j);
  parse_job again;
  api_error err = {0};
  cr_assert_eq(job_from(text, &again, &err), 0, "%s: %s", text, err.message);
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
  parse_job job;
  api_error err = {0};
  cr_assert_eq(job_from(s, &job, &err), 0, "%s", err.message);
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
  parse_job job;
  api_error err = {0};
  cr_assert_eq(job_from("{\"model\":2,\"dataset\":5}", &job, &err), 0, "%s", err.message);
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
                         "\"early_stopping\":{\"patience\":0,\"min_delta\":0},\"reset\":false}");
  free(text);
  cJSON_Delete(j);
  assert_round_trip(&job);
}

/* Found by fuzz_job: ids and seeds near 2^53 printed rounded (as in
 * parse_spec.seeds_of_sixteen_digits_print_exactly). */
Test(parse_job, ids_and_seeds_of_sixteen_digits_print_exactly) {
  parse_job job;
  api_error err = {0};
  const char *s = "{\"model\":9007199254740992,\"dataset\":9007199254740991,"
                  "\"seed\":4503599627370497}";
  cr_assert_eq(job_from(s, &job, &err), 0, "%s", err.message);
  cr_assert_eq(job.model, 9007199254740992LL);
  cr_assert_eq(job.dataset, 9007199254740991LL);
  cr_assert_eq(job.config.seed, 4503599627370497ULL);
  cJSON *j = parse_job_to_json(&job);
  char *text = cJSON_PrintUnformatted(j);
  cr_assert(strstr(text, "{\"model\":9007199254740992,\"dataset\":9007199254740991,") == text,
            "%s", text);
  cr_assert(strstr(text, "\"seed\":4503599627370497,") != NULL, "%s", text);
  free(text);
  cJSON_Delete(j);
  assert_round_trip(&job);
}

Test(parse_job, optimizers_and_schedules) {
  parse_job job;
  api_error err = {0};
  cr_assert_eq(job_from("{\"model\":1,\"dataset\":1,\"optimizer\":{\"type\":\"sgd\",\"lr\":0.1,"
                        "\"momentum\":0.9,\"nesterov\":true},\"lr_schedule\":{\"type\":\"step\"}}",
                        &job, &err),
               0, "%s", err.message);
  cr_assert_eq(job.config.optim.type, NN_OPT_SGD);
  cr_assert_eq(job.config.optim.momentum, 0.9f);
  cr_assert_eq(job.config.optim.nesterov, 1);
  cr_assert_eq(job.config.sched.step_size, 10, "core's default");
  cr_assert_eq(job.config.sched.gamma, 0.1f, "core's default");
  assert_round_trip(&job);

  cr_assert_eq(job_from("{\"model\":1,\"dataset\":1,\"optimizer\":{\"type\":\"rmsprop\","
                        "\"alpha\":0.9,\"eps\":1e-6},\"lr_schedule\":{\"type\":\"cosine\","
                        "\"min_lr\":0.001}}",
                        &job, &err),
               0, "%s", err.message);
  cr_assert_eq(job.config.optim.alpha, 0.9f);
  cr_assert_eq(job.config.optim.lr, 0.01f, "rmsprop's default lr");
  cr_assert_eq(job.config.sched.type, NN_SCHED_COSINE);
  cr_assert_eq(job.config.sched.min_lr, 0.001f);
  assert_round_trip(&job);

  cr_assert_eq(job_from("{\"model\":1,\"dataset\":1,\"optimizer\":{\"type\":\"adamw\"},"
                        "\"lr_schedule\":{\"type\":\"exponential\",\"gamma\":0.95}}",
                        &job, &err),
               0, "%s", err.message);
  cr_assert_eq(job.config.optim.weight_decay, 0.01f, "adamw's default decay");
  cr_assert_eq(job.config.sched.gamma, 0.95f);
  assert_round_trip(&job);

  cr_assert_eq(job_from("{\"model\":1,\"dataset\":1,\"optimizer\":{\"lr\":0.5}}", &job, &err), 0);
  cr_assert_eq(job.config.optim.type, NN_OPT_ADAM, "the type defaults to core's");
  cr_assert_eq(job.config.optim.lr, 0.5f);
}

#define JOB(x) "{\"model\":1,\"dataset\":1," x "}"

Test(parse_job, rejects_bad_configs) {
  job_fails("{\"dataset\":1}", "model", "model is required");
  job_fails("{\"model\":1}", "dataset", "dataset is required");
  job_fails("{\"model\":0,\"dataset\":1}", "model", "positive integer");
  job_fails("{\"model\":\"1\",\"dataset\":1}", "model", "positive integer");
  job_fails("{\"model\":1,\"dataset\":1.5}", "dataset", "positive integer");
  job_fails(JOB("\"epoch\":5"), "epoch", "unknown field epoch");
  job_fails(JOB("\"epochs\":0"), "epochs", "positive integer");
  job_fails(JOB("\"epochs\":1000001"), "epochs", "at most 1000000");
  job_fails(JOB("\"epochs\":2147483648"), "epochs", "at most 1000000");
  job_fails(JOB("\"batch_size\":1048577"), "batch_size", "at most 1048576");
  job_fails(JOB("\"optimizer\":\"adam\""), "optimizer", "optimizer must be an object");
  job_fails(JOB("\"optimizer\":{\"type\":\"lbfgs\"}"), "optimizer.type",
            "one of: sgd, adam, adamw, rmsprop");
  job_fails(JOB("\"optimizer\":{\"lrr\":0.1}"), "optimizer.lrr", "unknown field");
  job_fails(JOB("\"optimizer\":{\"type\":\"adam\",\"momentum\":0.9}"), "optimizer.momentum",
            "does not apply to optimizer adam");
  job_fails(JOB("\"optimizer\":{\"type\":\"sgd\",\"beta1\":0.9}"), "optimizer.beta1",
            "does not apply to optimizer sgd");
  job_fails(JOB("\"optimizer\":{\"lr\":1e999}"), "optimizer.lr",
            "optimizer.lr must be a finite number");
  job_fails(JOB("\"optimizer\":{\"lr\":-0.1}"), "optimizer.lr", "positive");
  job_fails(JOB("\"optimizer\":{\"type\":\"sgd\",\"nesterov\":true}"), "optimizer.nesterov",
            "momentum");
  job_fails(JOB("\"optimizer\":{\"type\":\"sgd\",\"nesterov\":1}"), "optimizer.nesterov",
            "true or false");
  job_fails(JOB("\"lr_schedule\":{\"gamma\":0.5}"), "lr_schedule.type", "required");
  job_fails(JOB("\"lr_schedule\":{\"type\":\"cosine\",\"gamma\":0.5}"), "lr_schedule.gamma",
            "does not apply to lr_schedule cosine");
  job_fails(JOB("\"lr_schedule\":{\"type\":\"step\",\"step_size\":0}"), "lr_schedule.step_size",
            "positive integer");
  job_fails(JOB("\"lr_schedule\":{\"type\":\"step\",\"gamma\":2}"), "lr_schedule.gamma",
            "(0, 1]");
  job_fails(JOB("\"lr_schedule\":{\"type\":\"warmup\"}"), "lr_schedule.type", "cosine");
  job_fails(JOB("\"validation_split\":1"), "validation_split", "[0, 1)");
  job_fails(JOB("\"shuffle\":\"yes\""), "shuffle", "true or false");
  job_fails(JOB("\"seed\":-7"), "seed", "non-negative");
  job_fails(JOB("\"checkpoint_every\":0"), "checkpoint_every", "positive integer");
  job_fails(JOB("\"clip_norm\":-1"), "clip_norm", ">= 0");
  job_fails(JOB("\"early_stopping\":{\"patience\":-1}"), "early_stopping.patience",
            "non-negative");
  job_fails(JOB("\"early_stopping\":{\"min_delta\":1e999}"), "early_stopping.min_delta",
            "finite");
  job_fails(JOB("\"early_stopping\":{\"wait\":3}"), "early_stopping.wait", "unknown field");
  job_fails(JOB("\"reset\":null"), "reset", "true or false");
  job_fails("[]", "", "object");
}

/* ---- JSON data sets ----------------------------------------------------------------- */

static int dataset_from(const char *s, parse_dataset_out *d, char name[PARSE_NAME_MAX + 1],
                        api_error *err) {
  cJSON *root = json_ok(s);
  int rc = parse_dataset_json(root, name, d, err);
  cJSON_Delete(root);
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

#define DS(x) "{\"name\":\"d\"," x "}"

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

static void csv_fails(const char *target, const char *text, const char *field,
                      const char *message_part) {
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse(target, text, &d, &err), -API_INVALID_ARGUMENT, "%s parsed", text);
  cr_assert_str_eq(err.field, field, "%s: field %s (%s)", text, err.field, err.message);
  cr_assert(strstr(err.message, message_part) != NULL, "%s: message '%s'", text, err.message);
  cr_assert_null(d.x);
}

/* n rows of one feature and a target naming class "c<i % classes>": as a
 * JSON dataset (json) or as CSV (csv); malloc'd. */
static char *many_classes(int n, int classes, int csv) {
  char *s = malloc((size_t)n * 40 + 64);
  cr_assert_not_null(s);
  size_t at = 0;
  if (csv) {
    at += (size_t)sprintf(s, "x,y\n");
    for (int i = 0; i < n; i++) at += (size_t)sprintf(s + at, "%d,c%d\n", i, i % classes);
    return s;
  }
  at += (size_t)sprintf(s, "{\"name\":\"d\",\"inputs\":[");
  for (int i = 0; i < n; i++) at += (size_t)sprintf(s + at, "%s[%d]", i ? "," : "", i);
  at += (size_t)sprintf(s + at, "],\"labels\":[");
  for (int i = 0; i < n; i++) at += (size_t)sprintf(s + at, "%s\"c%d\"", i ? "," : "", i % classes);
  sprintf(s + at, "]}");
  return s;
}

/* At most PARSE_MAX_CLASSES classes, refused at the row of the one past it. */
Test(parse_dataset, classes_are_capped) {
  char *s = many_classes(PARSE_MAX_CLASSES + 5, PARSE_MAX_CLASSES, 0);
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  api_error err = {0};
  cr_assert_eq(dataset_from(s, &d, name, &err), 0, "%s", err.message);
  cr_assert_eq(d.n_classes, PARSE_MAX_CLASSES);
  parse_dataset_out_free(&d);
  free(s);
  s = many_classes(PARSE_MAX_CLASSES + 5, PARSE_MAX_CLASSES + 1, 0);
  dataset_fails(s, "labels[10000]", "names class 10001; a dataset may have at most 10000");
  free(s);
  s = many_classes(PARSE_MAX_CLASSES + 5, PARSE_MAX_CLASSES, 1);
  cr_assert_eq(csv_parse("y", s, &d, &err), 0, "%s", err.message);
  cr_assert_eq(d.n_classes, PARSE_MAX_CLASSES);
  parse_dataset_out_free(&d);
  free(s);
  s = many_classes(PARSE_MAX_CLASSES + 5, PARSE_MAX_CLASSES + 1, 1);
  csv_fails("y", s, "row 10001, column y", "makes 10001 classes; a dataset may have at most 10000");
  /* numbers are not classes: any count of distinct values is a regression */
  size_t at = (size_t)sprintf(s, "x,y\n");
  for (int i = 0; i < PARSE_MAX_CLASSES + 5; i++) at += (size_t)sprintf(s + at, "%d,%d\n", i, i);
  cr_assert_eq(csv_parse("y", s, &d, &err), 0, "%s", err.message);
  cr_assert_eq(d.task, PARSE_TASK_REGRESSION);
  parse_dataset_out_free(&d);
  free(s);
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
  csv_fails("species",
            "sepal_length,sepal_width,species\n1,2,a\n1,2,a\n1,2,a\n1,2,a\n1,2,a\n1,2,a\n"
            "1,abc,b\n",
            "row 7, column sepal_width", "row 7, column sepal_width must be a number");
  csv_fails("t", "x,t\n1,2\n,3\n", "row 2, column x", "must be a number");
  csv_fails("t", "x,t\n1,2\nnan,3\n", "row 2, column x", "must be a number");
  csv_fails("t", "x,t\n1,2\ninf,3\n", "row 2, column x", "must be a number");
  csv_fails("t", "x,t\n1e39,2\n", "row 1, column x", "must be a number");
  csv_fails("t", "x,t\n1 2,2\n", "row 1, column x", "must be a number");
  csv_fails("t", "x,t\n1,\n", "row 1, column t", "is empty");
  csv_fails("a,b", "x,a,b\n1,2,3\n1,2,q\n", "row 2, column b", "several target columns");
  csv_fails("t", "x,t\n1,2\n1,2,3\n", "row 2", "more than the header's 2 columns");
  csv_fails("t", "x,t\n1,2\n1\n", "row 2", "row 2 has 1 columns where the header has 2");
  csv_fails("t", "x,t\n1,2\n1,2,\n", "row 2", "more than the header's 2 columns");
}

Test(parse_csv, malformed_csv) {
  csv_fails("t", "x,t\n1,\"abc\n", "row 1, column t", "never closed");
  csv_fails("t", "x,t\n1,ab\"c\n", "row 1, column t", "quote inside an unquoted cell");
  csv_fails("t", "x,t\n1,\"ab\"c\n", "row 1, column t", "text after its closing quote");
  csv_fails("t", "x,\"t\n", "header", "never closed");
  csv_fails("t", "x,t,x\n1,2,3\n", "header", "header names column x twice");
  csv_fails("t", "x,,t\n1,2,3\n", "header", "without a name");
  csv_fails("t", "", "", "empty");
  csv_fails("t", "\n\r\n", "", "empty");
  csv_fails("t", "x,t\n", "", "no data rows");
  csv_fails("t", "x,t", "", "no data rows");
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
  csv_fails("t", "x,t\n1,caf\xc3\xa9\n2,caf\xe9\n", "row 2, column t", "not UTF-8");
  csv_fails("t", "x\xff,t\n1,a\n", "header", "not UTF-8");
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("t", "x,t\n1,caf\xc3\xa9\n2,\xe2\x82\xac\n", &d, &err), 0, "%s",
               err.message);
  cr_assert_str_eq(d.classes[0], "caf\xc3\xa9");
  parse_dataset_out_free(&d);
}

Test(parse_csv, targets_must_exist_once) {
  csv_fails("species", "a,b\n1,2\n", "target", "target column species is not in the header");
  csv_fails("a,b,a", "a,b,c\n1,2,3\n", "target", "names column a twice");
  /* found by fuzz_csv: a name repeated right after itself was taken once */
  csv_fails("a,a", "a,b,c\n1,2,3\n", "target", "names column a twice");
  csv_fails("c,b,b", "a,b,c\n1,2,3\n", "target", "names column b twice");
  csv_fails("a,,b", "a,b,c\n1,2,3\n", "target", "comma-separated");
  csv_fails("a,", "a,b,c\n1,2,3\n", "target", "comma-separated");
  csv_fails("", "a,b,c\n1,2,3\n", "target", "required");
  csv_fails("a,b", "a,b\n1,2\n", "target", "no features");

  parse_csv *p = (parse_csv *)1;
  api_error err = {0};
  cr_assert_eq(parse_csv_new(NULL, &p, &err), -API_INVALID_ARGUMENT);
  cr_assert_null(p);
}

Test(parse_csv, limits) {
  /* a cell of PARSE_CSV_MAX_CELL bytes fits; one more does not */
  size_t n = PARSE_CSV_MAX_CELL;
  char *text = malloc(n + 32);
  strcpy(text, "x,t\n1,");
  memset(text + 6, '7', n);
  strcpy(text + 6 + n, "\n");
  csv_fails("t", text, "row 1, column t", "longer than 256 bytes"); /* a class name */
  strcpy(text, "t,x\n1,");
  memset(text + 6, '7', n);
  strcpy(text + 6 + n, "\n");
  parse_dataset_out d;
  api_error err = {0};
  cr_assert_eq(csv_parse("t", text, &d, &err), -API_INVALID_ARGUMENT, "7777... is too big");
  cr_assert_str_eq(err.field, "row 1, column x");
  cr_assert(strstr(err.message, "must be a number") != NULL, "%s", err.message);
  memset(text + 6, '7', n + 1);
  strcpy(text + 7 + n, "\n");
  csv_fails("t", text, "row 1, column x", "longer than 1024 bytes");
  free(text);

  /* a header of PARSE_CSV_MAX_COLUMNS + 1 columns */
  size_t cap = (size_t)(PARSE_CSV_MAX_COLUMNS + 1) * 8 + 16;
  char *wide = malloc(cap);
  size_t len = 0;
  for (int c = 0; c <= PARSE_CSV_MAX_COLUMNS; c++)
    len += (size_t)snprintf(wide + len, cap - len, c ? ",c%d" : "c%d", c);
  strcpy(wide + len, "\n");
  csv_fails("c0", wide, "header", "more than 65536 columns");
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
