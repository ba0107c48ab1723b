/* test_router.c — route matching, ids, 404/405/415 and query strings. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../server/router.h"

static void handler(app *a, const http_request *req, http_response *res) {
  (void)a;
  (void)req;
  (void)res;
}

enum {
  R_MODELS_LIST,
  R_MODELS_CREATE,
  R_MODEL_GET,
  R_MODEL_DELETE,
  R_MODEL_PREDICT,
  R_DATASETS_JSON,
  R_DATASETS_CSV,
  R_TWO_IDS,
  R_NAMED,
  R_NAMED_INFER,
  R_NAMED_VERSION,
  R_ROOT,
  R_FILES,
};

static const route table[] = {
    [R_MODELS_LIST] = {.method = "GET", .pattern = "/v1/models", .handler = handler},
    [R_MODELS_CREATE] = {.method = "POST", .pattern = "/v1/models", .body = ROUTE_BODY_JSON,
                         .handler = handler},
    [R_MODEL_GET] = {.method = "GET", .pattern = "/v1/models/{id}", .handler = handler},
    [R_MODEL_DELETE] = {.method = "DELETE", .pattern = "/v1/models/{id}", .handler = handler},
    [R_MODEL_PREDICT] = {.method = "POST", .pattern = "/v1/models/{id}/predict",
                         .body = ROUTE_BODY_JSON, .handler = handler},
    [R_DATASETS_JSON] = {.method = "POST", .pattern = "/v1/datasets", .body = ROUTE_BODY_JSON,
                         .limit = ROUTE_LIMIT_DATASET, .handler = handler},
    [R_DATASETS_CSV] = {.method = "POST", .pattern = "/v1/datasets", .body = ROUTE_BODY_STREAM,
                        .limit = ROUTE_LIMIT_DATASET, .media_type = "text/csv"},
    [R_TWO_IDS] = {.method = "GET", .pattern = "/v1/jobs/{id}/checkpoints/{epoch}",
                   .handler = handler},
    [R_NAMED] = {.method = "GET", .pattern = "/v2/models/{name}", .handler = handler},
    [R_NAMED_INFER] = {.method = "POST", .pattern = "/v2/models/{name}/infer",
                       .body = ROUTE_BODY_JSON, .untyped_json = true, .handler = handler},
    [R_NAMED_VERSION] = {.method = "GET", .pattern = "/v2/models/{name}/versions/{version}",
                         .handler = handler},
    [R_ROOT] = {.method = "GET", .pattern = "/", .handler = handler},
    [R_FILES] = {.method = "GET", .pattern = "/ui/{...}", .handler = handler},
};
#define N_TABLE (sizeof table / sizeof table[0])

static int match(const char *method, const char *path, const char *ct, route_match *m,
                 api_error *err) {
  return router_match(table, N_TABLE, method, path, ct, m, err);
}

/* The route a request lands on, or -1 (failing the test) when it lands nowhere. */
static long route_of(const char *method, const char *path, const char *ct, route_match *m) {
  api_error err = {0};
  int rc = match(method, path, ct, m, &err);
  cr_assert_eq(rc, 0, "%s %s: %s", method, path, err.message);
  return m->route - table;
}

static void expect_fail(const char *method, const char *path, const char *ct, api_code code) {
  route_match m;
  api_error err = {0};
  int rc = match(method, path, ct, &m, &err);
  cr_assert_eq(rc, -(int)code, "%s %s answered %d, not %d (%s)", method, path, rc, -(int)code,
               err.message);
  cr_assert_eq(err.code, code);
  cr_assert_null(m.route);
}

Test(router, literal_and_id_routes) {
  route_match m;
  cr_expect_eq(route_of("GET", "/v1/models", NULL, &m), R_MODELS_LIST);
  cr_expect_eq(m.n_ids, 0);
  cr_expect_eq(route_of("GET", "/v1/models/42", NULL, &m), R_MODEL_GET);
  cr_expect_eq(m.n_ids, 1);
  cr_expect_eq(m.ids[0], 42);
  cr_expect_eq(route_of("DELETE", "/v1/models/7", NULL, &m), R_MODEL_DELETE);
  cr_expect_eq(m.ids[0], 7);
  cr_expect_eq(route_of("POST", "/v1/models/3/predict", "application/json", &m), R_MODEL_PREDICT);
  cr_expect_eq(m.ids[0], 3);
  cr_expect_eq(route_of("GET", "/v1/jobs/5/checkpoints/12", NULL, &m), R_TWO_IDS);
  cr_expect_eq(m.n_ids, 2);
  cr_expect_eq(m.ids[0], 5);
  cr_expect_eq(m.ids[1], 12);
}

Test(router, ids_up_to_2_pow_53) {
  route_match m;
  cr_expect_eq(route_of("GET", "/v1/models/9007199254740992", NULL, &m), R_MODEL_GET);
  cr_expect_eq(m.ids[0], 9007199254740992ull);
  cr_expect_eq(route_of("GET", "/v1/models/1", NULL, &m), R_MODEL_GET);
  cr_expect_eq(m.ids[0], 1);
}

Test(router, bad_ids_are_not_found) {
  const char *bad[] = {
      "/v1/models/0",        "/v1/models/007",    "/v1/models/-1",
      "/v1/models/+1",       "/v1/models/1e3",    "/v1/models/abc",
      "/v1/models/1.0",      "/v1/models/0x10",   "/v1/models/9007199254740993",
      "/v1/models/99999999999999999999999999", "/v1/models/%201",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_fail("GET", bad[i], NULL, API_NOT_FOUND);
  }

  route_match m;
  api_error err;
  match("GET", "/v1/models/abc", NULL, &m, &err);
  cr_expect(strstr(err.message, "'abc' is not an id") != NULL, "%s", err.message);
  /* a bad id followed by a wrong literal is just an unknown path */
  match("GET", "/v1/models/abc/nothing", NULL, &m, &err);
  cr_expect(strstr(err.message, "no route for") != NULL, "%s", err.message);
}

Test(router, root_and_tail_routes) {
  route_match m;
  cr_expect_eq(route_of("GET", "/", NULL, &m), R_ROOT);
  cr_expect_str_eq(m.tail, "");
  cr_expect_eq(route_of("GET", "/ui/app.css", NULL, &m), R_FILES);
  cr_expect_str_eq(m.tail, "app.css");
  cr_expect_eq(route_of("GET", "/ui/js/pages/job.js", NULL, &m), R_FILES);
  cr_expect_str_eq(m.tail, "js/pages/job.js");
  cr_expect_eq(m.n_ids, 0);
  cr_expect_eq(route_of("GET", "/ui/%6As/a%20b.js", NULL, &m), R_FILES);
  cr_expect_str_eq(m.tail, "js/a b.js", "each segment decoded");
  cr_expect_eq(route_of("GET", "/ui/../index.html", NULL, &m), R_FILES);
  cr_expect_str_eq(m.tail, "../index.html", "dots are names, never resolved");
  cr_expect_eq(route_of("GET", "/v1/models", NULL, &m), R_MODELS_LIST);
  cr_expect_str_eq(m.tail, "", "a route without a tail leaves it empty");

  route_match refused;
  api_error err;
  cr_expect_eq(match("POST", "/", "application/json", &refused, &err), -API_METHOD_NOT_ALLOWED);
  cr_expect_str_eq(refused.allow, "GET, HEAD");
  cr_expect_eq(match("DELETE", "/ui/app.css", NULL, &refused, &err), -API_METHOD_NOT_ALLOWED);
  /* Without those rows, "/" and "/ui/..." are unknown paths. */
  cr_expect_eq(router_match(table, R_ROOT, "GET", "/", NULL, &refused, &err), -API_NOT_FOUND);
  cr_expect_eq(router_match(table, R_ROOT, "GET", "/ui/app.css", NULL, &refused, &err),
               -API_NOT_FOUND);
}

Test(router, tails_need_a_segment_and_keep_slashes_as_separators) {
  const char *bad[] = {"/ui", "/ui/", "/ui//app.css", "/ui/js/", "/ui/js%2Fapp.js", "//"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_fail("GET", bad[i], NULL, API_NOT_FOUND);
  }
  /* A tail longer than ROUTE_TAIL_MAX matches nothing (segments of 200 bytes, 15 of them). */
  char path[4096] = "/ui";
  for (int i = 0; i < 15; i++) {
    strcat(path, "/");
    memset(path + strlen(path), 'a', 200);
  }
  expect_fail("GET", path, NULL, API_NOT_FOUND);
  char fits[1024] = "/ui";
  for (int i = 0; i < 2; i++) {
    strcat(fits, "/");
    memset(fits + strlen(fits), 'b', 200);
  }
  route_match m;
  cr_expect_eq(route_of("GET", fits, NULL, &m), R_FILES);
  cr_expect_eq(strlen(m.tail), 401);
}

Test(router, unknown_and_malformed_paths) {
  const char *bad[] = {
      "",           "v1/models",      "/v1/models/",  "//v1/models",
      "/v1//models", "/v1/models/1/", "/v1/model",  "/v1/models/1/predict/x",
      "/v1/MODELS", "/v1/./models", "/v1/models/%zz", "/v1/models/%4", "/v1/mod%00els",
      "/v1/models%2F1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_fail("GET", bad[i], NULL, API_NOT_FOUND);
  }
}

Test(router, too_long_paths_are_not_found) {
  char path[2048] = "/v1/models/";
  memset(path + strlen(path), 'a', 600);
  expect_fail("GET", path, NULL, API_NOT_FOUND);
  char deep[256] = "";
  for (int i = 0; i < 20; i++) strcat(deep, "/x");
  expect_fail("GET", deep, NULL, API_NOT_FOUND);
}

/* Found by fuzz_router: past ROUTE_MAX_IDS parameters the id count ran past
 * the array, and the next id was written out of bounds. */
Test(router, patterns_with_more_ids_than_a_match_holds_match_nothing) {
  static const route many[] = {
      {.method = "GET", .pattern = "/a/{id}/{id}/{id}/{id}", .handler = handler},
      {.method = "GET", .pattern = "/b/{id}/{id}/{id}/{id}/{id}/{id}", .handler = handler},
  };
  route_match m;
  api_error err = {0};
  cr_assert_eq(router_match(many, 2, "GET", "/a/1/2/3/4", NULL, &m, &err), 0, "%s", err.message);
  cr_expect_eq(m.n_ids, 4);
  cr_expect_eq(m.ids[3], 4);
  cr_expect_eq(router_match(many, 2, "GET", "/b/1/2/3/4/5/6", NULL, &m, &err), -API_NOT_FOUND);
  cr_expect_null(m.route);
}

Test(router, segments_are_percent_decoded_one_by_one) {
  route_match m;
  cr_expect_eq(route_of("GET", "/v1/models/%34%32", NULL, &m), R_MODEL_GET);
  cr_expect_eq(m.ids[0], 42);
  cr_expect_eq(route_of("GET", "/v1/%6dodels", NULL, &m), R_MODELS_LIST);
  cr_expect_eq(route_of("GET", "/%76%31/models", NULL, &m), R_MODELS_LIST);
}

Test(router, wrong_method_is_405_with_allow) {
  route_match m;
  api_error err;
  cr_assert_eq(match("PUT", "/v1/models", NULL, &m, &err), -API_METHOD_NOT_ALLOWED);
  cr_expect_str_eq(m.allow, "GET, HEAD, POST");
  cr_expect_eq(err.code, API_METHOD_NOT_ALLOWED);
  cr_expect(strstr(err.message, "PUT") != NULL, "%s", err.message);

  cr_assert_eq(match("PATCH", "/v1/models/9", NULL, &m, &err), -API_METHOD_NOT_ALLOWED);
  cr_expect_str_eq(m.allow, "GET, HEAD, DELETE");
  cr_assert_eq(match("GET", "/v1/datasets", NULL, &m, &err), -API_METHOD_NOT_ALLOWED);
  cr_expect_str_eq(m.allow, "POST", "one method listed once, though two routes have it");
  cr_assert_eq(match("OPTIONS", "/v1/models", NULL, &m, &err), -API_METHOD_NOT_ALLOWED);
}

Test(router, head_is_get_and_unknown_methods_are_501) {
  route_match m;
  api_error err;
  cr_expect_eq(route_of("HEAD", "/v1/models/9", NULL, &m), R_MODEL_GET);
  cr_expect_eq(m.ids[0], 9);
  cr_expect_eq(route_of("HEAD", "/v1/models", NULL, &m), R_MODELS_LIST);
  cr_assert_eq(match("HEAD", "/v1/datasets", NULL, &m, &err), -API_METHOD_NOT_ALLOWED,
               "no GET there");
  cr_expect_str_eq(m.allow, "POST");
  const char *unknown[] = {"BREW", "get", "PROPFIND", "P\x1bOST", ""};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    cr_expect_eq(match(unknown[i], "/v1/models", NULL, &m, &err), -API_NOT_IMPLEMENTED, "%s",
                 unknown[i]);
    cr_expect_eq(match(unknown[i], "/nowhere", NULL, &m, &err), -API_NOT_IMPLEMENTED,
                 "whatever the path");
  }
  cr_expect(strstr(err.message, "not implemented") != NULL, "%s", err.message);
}

/* /metrics counts a 405 or 415 under the pattern the path matched. */
Test(router, a_refused_request_names_the_pattern_it_matched) {
  route_match m;
  api_error err;
  cr_assert_eq(match("PUT", "/v1/models", NULL, &m, &err), -API_METHOD_NOT_ALLOWED);
  cr_expect_eq(m.pattern, &table[R_MODELS_LIST]);
  cr_expect_null(m.route);
  cr_assert_eq(match("PATCH", "/v1/models/9", NULL, &m, &err), -API_METHOD_NOT_ALLOWED);
  cr_expect_eq(m.pattern, &table[R_MODEL_GET]);
  cr_assert_eq(match("POST", "/v1/models", "text/plain", &m, &err), -API_UNSUPPORTED_MEDIA);
  cr_expect_eq(m.pattern, &table[R_MODELS_CREATE], "a 415's route has the request's method");
  cr_assert_eq(match("GET", "/v1/nothing", NULL, &m, &err), -API_NOT_FOUND);
  cr_expect_null(m.pattern);
}

Test(router, json_routes_check_media_type) {
  route_match m;
  const char *good[] = {"application/json", "application/json; charset=utf-8",
                        "Application/JSON;charset=UTF-8", "application/json; charset=\"utf-8\"",
                        "application/json ; foo=bar"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    cr_expect_eq(route_of("POST", "/v1/models", good[i], &m), R_MODELS_CREATE, "%s", good[i]);
  }
  const char *bad[] = {NULL, "", "text/plain", "application/jsonp", "application/json-seq",
                       "application/json; charset=latin1", "application/x-www-form-urlencoded",
                       "text/json"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_fail("POST", "/v1/models", bad[i], API_UNSUPPORTED_MEDIA);
  }
  api_error err;
  match("POST", "/v1/models", "text/plain", &m, &err);
  cr_expect(strstr(err.message, "application/json") != NULL, "%s", err.message);
}

Test(router, media_type_picks_among_routes) {
  route_match m;
  cr_expect_eq(route_of("POST", "/v1/datasets", "application/json", &m), R_DATASETS_JSON);
  cr_expect_eq(route_of("POST", "/v1/datasets", "text/csv", &m), R_DATASETS_CSV);
  cr_expect_eq(route_of("POST", "/v1/datasets", "text/CSV; charset=utf-8", &m), R_DATASETS_CSV);
  api_error err;
  cr_assert_eq(match("POST", "/v1/datasets", "text/plain", &m, &err), -API_UNSUPPORTED_MEDIA);
  cr_expect(strstr(err.message, "accepts application/json, text/csv") != NULL, "%s", err.message);
}

Test(router, routes_without_body_ignore_media_type) {
  route_match m;
  cr_expect_eq(route_of("GET", "/v1/models", "text/plain", &m), R_MODELS_LIST);
}

Test(router, daemon_table_has_ops_routes) {
  size_t n;
  const route *t = router_table(&n);
  route_match m;
  api_error err;
  cr_assert_eq(router_match(t, n, "GET", "/healthz", NULL, &m, &err), 0);
  cr_expect_str_eq(m.route->pattern, "/healthz");
  cr_assert_eq(router_match(t, n, "GET", "/v1", NULL, &m, &err), 0);
  cr_expect_str_eq(m.route->pattern, "/v1");
  cr_assert_eq(router_match(t, n, "GET", "/", NULL, &m, &err), 0);
  cr_expect_eq(m.route->access, ROUTE_OPEN, "the dashboard page holds no data");
  cr_assert_eq(router_match(t, n, "GET", "/ui/js/app.js", NULL, &m, &err), 0);
  cr_expect_eq(m.route->access, ROUTE_OPEN);
  cr_expect_str_eq(m.tail, "js/app.js");
  cr_expect_eq(router_match(t, n, "GET", "/nothing", NULL, &m, &err), -API_NOT_FOUND);
  cr_assert_eq(router_match(t, n, "POST", "/v2/models/m/versions/2/infer", NULL, &m, &err), 0);
  cr_expect_str_eq(m.route->pattern, "/v2/models/{name}/versions/{version}/infer");
  for (size_t i = 0; i < n; i++) {
    cr_expect(t[i].body == ROUTE_BODY_STREAM ? t[i].stream != NULL && t[i].media_type != NULL
                                             : t[i].handler != NULL,
              "route %s %s lacks its handler", t[i].method, t[i].pattern);
  }
}

Test(router, name_parameters_are_text) {
  route_match m;
  cr_expect_eq(route_of("GET", "/v2/models/xor-net", NULL, &m), R_NAMED);
  cr_expect_str_eq(m.name, "xor-net");
  cr_expect_eq(m.n_ids, 0);
  /* Any segment is a name, digits and leading zeros included, decoded. */
  cr_expect_eq(route_of("GET", "/v2/models/007", NULL, &m), R_NAMED);
  cr_expect_str_eq(m.name, "007");
  cr_expect_eq(route_of("GET", "/v2/models/a%20b%2Fc", NULL, &m), R_NAMED);
  cr_expect_str_eq(m.name, "a b/c");
  cr_expect_eq(route_of("GET", "/v2/models/m/versions/3", NULL, &m), R_NAMED_VERSION);
  cr_expect_str_eq(m.name, "m");
  cr_expect_eq(m.n_ids, 1);
  cr_expect_eq(m.ids[0], 3);
  /* Other parameters stay ids. */
  expect_fail("GET", "/v2/models/m/versions/v3", NULL, API_NOT_FOUND);
  expect_fail("GET", "/v2/models/m/versions/0", NULL, API_NOT_FOUND);
  /* Patterns without {name} leave it empty. */
  cr_expect_eq(route_of("GET", "/v1/models/4", NULL, &m), R_MODEL_GET);
  cr_expect_str_eq(m.name, "");
  expect_fail("GET", "/v2/models/", NULL, API_NOT_FOUND);
  expect_fail("GET", "/v2/models//x", NULL, API_NOT_FOUND);
}

Test(router, untyped_json_routes_take_a_body_without_content_type) {
  route_match m;
  cr_expect_eq(route_of("POST", "/v2/models/m/infer", NULL, &m), R_NAMED_INFER);
  cr_expect_eq(route_of("POST", "/v2/models/m/infer", "application/json", &m), R_NAMED_INFER);
  /* A type that is given must still be JSON. */
  expect_fail("POST", "/v2/models/m/infer", "text/plain", API_UNSUPPORTED_MEDIA);
  expect_fail("POST", "/v2/models/m/infer", "application/x-www-form-urlencoded",
              API_UNSUPPORTED_MEDIA);
  /* Other JSON routes keep requiring the header. */
  expect_fail("POST", "/v1/models", NULL, API_UNSUPPORTED_MEDIA);
}

Test(router, parse_id_is_the_routers) {
  uint64_t v = 0;
  cr_expect(route_parse_id("42", &v));
  cr_expect_eq(v, 42);
  cr_expect(route_parse_id("9007199254740992", &v));
  const char *bad[] = {"", "0", "007", "+1", "1e3", "-1", "9007199254740993", "x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_expect(!route_parse_id(bad[i], &v), "'%s'", bad[i]);
}

/* ---- query strings ----------------------------------------------------------- */

Test(query, pairs_are_decoded) {
  route_query q;
  api_error err;
  cr_assert_eq(route_query_parse(&q, "name=iris&target=species%2Cpetal+width&flag&x=a=b", &err), 0);
  cr_expect_eq(q.count, 4);
  cr_expect_str_eq(route_query_get(&q, "name"), "iris");
  cr_expect_str_eq(route_query_get(&q, "target"), "species,petal width");
  cr_expect_str_eq(route_query_get(&q, "flag"), "");
  cr_expect_str_eq(route_query_get(&q, "x"), "a=b");
  cr_expect_null(route_query_get(&q, "missing"));
  cr_expect_null(route_query_get(&q, "Name"), "keys are case-sensitive");
}

Test(query, empty_and_repeated) {
  route_query q;
  api_error err;
  cr_assert_eq(route_query_parse(&q, "", &err), 0);
  cr_expect_eq(q.count, 0);
  cr_assert_eq(route_query_parse(&q, "&&a=1&&a=2&", &err), 0);
  cr_expect_eq(q.count, 2);
  cr_expect_str_eq(route_query_get(&q, "a"), "1", "the first of repeated keys wins");
  cr_expect_str_eq(q.values[1], "2");
  cr_assert_eq(route_query_parse(&q, "%6e%61me=%E2%9C%93", &err), 0);
  cr_expect_str_eq(route_query_get(&q, "name"), "\xE2\x9C\x93");
}

Test(query, malformed_is_invalid_argument) {
  route_query q;
  api_error err;
  cr_expect_eq(route_query_parse(&q, "=x", &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "query");
  cr_expect_eq(route_query_parse(&q, "%zz=1", &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "query");
  cr_expect_eq(route_query_parse(&q, "name=%zz", &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "name");
  cr_expect_eq(route_query_parse(&q, "name=a%00b", &err), -API_INVALID_ARGUMENT);
  cr_expect_eq(route_query_parse(&q, "name=abc%4", &err), -API_INVALID_ARGUMENT);
  cr_expect_eq(route_query_parse(&q, "name=abc%", &err), -API_INVALID_ARGUMENT);
}

Test(query, integers_in_a_range) {
  int64_t v = -7;
  cr_expect_eq(route_parse_int("0", 0, 60, &v), 0);
  cr_expect_eq(v, 0);
  cr_expect_eq(route_parse_int("0060", 0, 60, &v), 0, "leading zeros are digits too");
  cr_expect_eq(v, 60);
  cr_expect_eq(route_parse_int("9007199254740992", 0, ROUTE_MAX_ID, &v), 0);
  cr_expect_eq(v, (int64_t)ROUTE_MAX_ID);
  const char *bad[] = {"", "61", "-1", "+1", "1.0", "1e2", " 1", "1 ", "0x1", "abc",
                       "12345678901234567"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = -7;
    cr_expect_eq(route_parse_int(bad[i], 0, 60, &v), -1, "'%s'", bad[i]);
    cr_expect_eq(v, -7, "left as it was");
  }
  cr_expect_eq(route_parse_int("4", 5, 60, &v), -1, "below lo");

  route_query q;
  api_error err;
  cr_assert_eq(route_query_parse(&q, "wait=30&after_epoch=x", &err), 0);
  v = -1;
  cr_expect_eq(route_query_int(&q, "absent", 0, 60, &v, &err), 0);
  cr_expect_eq(v, -1, "absent: unchanged");
  cr_expect_eq(route_query_int(&q, "wait", 0, 60, &v, &err), 0);
  cr_expect_eq(v, 30);
  cr_expect_eq(route_query_int(&q, "wait", 0, 10, &v, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "wait");
  cr_expect_str_eq(err.message, "wait must be an integer from 0 to 10");
  cr_expect_eq(route_query_int(&q, "after_epoch", 0, 60, &v, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "after_epoch");
}

Test(query, bounded) {
  route_query q;
  api_error err;
  char many[256] = "";
  for (int i = 0; i < ROUTE_QUERY_MAX; i++) strcat(many, "k=v&");
  cr_expect_eq(route_query_parse(&q, many, &err), 0);
  cr_expect_eq(q.count, ROUTE_QUERY_MAX);
  strcat(many, "k=v");
  cr_expect_eq(route_query_parse(&q, many, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "query");

  static char big[ROUTE_QUERY_BYTES + 16];
  memcpy(big, "k=", 2);
  memset(big + 2, 'v', sizeof big - 3);
  cr_expect_eq(route_query_parse(&q, big, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "k");
  /* exactly full: "k", the value and their two NULs fill the buffer */
  big[2 + ROUTE_QUERY_BYTES - 2] = '\0';
  cr_expect_eq(route_query_parse(&q, big, &err), -API_INVALID_ARGUMENT);
  big[2 + ROUTE_QUERY_BYTES - 3] = '\0';
  cr_expect_eq(route_query_parse(&q, big, &err), 0);
  cr_expect_eq(strlen(route_query_get(&q, "k")), ROUTE_QUERY_BYTES - 3);
}
