/*
 * test_http.c — the HTTP layer in-process on a free port, spoken to over a
 * raw socket: routing, JSON errors, body limits, media types, streaming.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../../server/api_ops.h"
#include "../../server/api_v2.h"
#include "../../server/http.h"

#define MAX_BODY 64          /* the JSON routes' limit in these tests */
#define MAX_DATASET_BODY 256 /* the streamed route's limit */

/* POST /echo: {"len":N,"body":"...","nul":true} — nul says the body ends in NUL. */
static void echo(app *a, const http_request *req, http_response *res) {
  (void)a;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddNumberToObject(out, "len", (double)req->body_len);
  cJSON_AddStringToObject(out, "body", req->body);
  cJSON_AddBoolToObject(out, "nul", req->body[req->body_len] == '\0');
  http_json(res, 200, out);
}

/* GET /items/{id}?q=... : {"id":N,"q":"..."}. */
static void item(app *a, const http_request *req, http_response *res) {
  (void)a;
  const char *q = route_query_get(&req->query, "q");
  cJSON *out = cJSON_CreateObject();
  cJSON_AddNumberToObject(out, "id", (double)req->ids[0]);
  cJSON_AddStringToObject(out, "q", q != NULL ? q : "");
  http_json(res, 200, out);
}

/* GET /lost: text a failed buffer could not give (NULL), as out of memory does. */
static void lost(app *a, const http_request *req, http_response *res) {
  (void)a, (void)req;
  http_text(res, 200, NULL, 12, "text/plain");
}

/* GET /v2/things/{name}: {"name":"..."}, or 404 for the name "missing". */
static void thing(app *a, const http_request *req, http_response *res) {
  (void)a;
  if (strcmp(req->name, "missing") == 0) {
    http_fail(res, API_NOT_FOUND, "name", "unknown thing '%s'", req->name);
    return;
  }
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "name", req->name);
  http_json(res, 200, out);
}

/* GET /silent: a buggy handler that answers nothing. */
static void silent(app *a, const http_request *req, http_response *res) {
  (void)a;
  (void)req;
  (void)res;
}

/* GET /file: bytes that outlive the server, with headers, and 304 when
 * If-None-Match is "v1"; ?headers=N first adds N more headers than fit. */
static const char file_bytes[] = "body { color: red; }";

static void file(app *a, const http_request *req, http_response *res) {
  (void)a;
  const char *extra = route_query_get(&req->query, "headers");
  int over = extra != NULL ? atoi(extra) : 0;
  http_add_header(res, "ETag", "\"v1\"");
  http_add_header(res, "Cache-Control", "no-cache");
  for (int i = 0; i < over + HTTP_HEADERS_MAX - 2; i++) {
    int rc = http_add_header(res, "X-Extra", "1");
    if (i >= HTTP_HEADERS_MAX - 2 && rc != -1) {
      http_fail(res, API_INTERNAL, NULL, "header %d past the limit was taken", i);
      return;
    }
  }
  const char *tag = http_header(req, "if-none-match"); /* any case */
  if (tag != NULL && strcmp(tag, "\"v1\"") == 0) {
    http_static(res, 304, file_bytes, sizeof file_bytes - 1, "text/css; charset=utf-8");
    return;
  }
  http_static(res, 200, file_bytes, sizeof file_bytes - 1, "text/css; charset=utf-8");
}

/* POST /upload?name=...: counts streamed bytes; a body containing 'X' is refused. */
typedef struct {
  size_t bytes;
  size_t chunks;
} upload;

static int upload_begin(app *a, const http_request *req, void **ctx, api_error *err) {
  (void)a;
  if (route_query_get(&req->query, "name") == NULL) {
    return api_fail(err, API_INVALID_ARGUMENT, "name", "?name= is required");
  }
  *ctx = calloc(1, sizeof(upload));
  return *ctx != NULL ? 0 : api_fail(err, API_INTERNAL, NULL, "out of memory");
}

static int upload_chunk(void *ctx, const char *data, size_t len, api_error *err) {
  upload *u = ctx;
  if (memchr(data, 'X', len) != NULL) {
    return api_fail(err, API_INVALID_ARGUMENT, "row 1, column a", "not a number");
  }
  u->bytes += len;
  u->chunks++;
  return 0;
}

static void upload_end(app *a, const http_request *req, void *ctx, http_response *res) {
  (void)a;
  (void)req;
  upload *u = ctx;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddNumberToObject(out, "bytes", (double)u->bytes);
  http_json(res, 201, out);
}

static void upload_done(void *ctx) { free(ctx); }

static const http_stream_ops upload_ops = {upload_begin, upload_chunk, upload_end, upload_done};

/* GET /count?to=N: a streamed body, one line per reader call: the
 * X-Greeting header when sent, then 1..N. Without ?to= the handler changes
 * its mind and answers 400 after starting the stream. */
typedef struct {
  int next, to;
  char greeting[32];
} counter;

static atomic_int counters_freed;

static ssize_t count_read(void *ctx, uint64_t pos, char *buf, size_t max) {
  counter *c = ctx;
  (void)pos;
  if (c->greeting[0] != '\0') {
    int n = snprintf(buf, max, "%s\n", c->greeting);
    c->greeting[0] = '\0';
    return n;
  }
  if (c->next > c->to) return HTTP_BODY_END;
  return snprintf(buf, max, "%d\n", c->next++);
}

static void count_free(void *ctx) {
  free(ctx);
  atomic_fetch_add(&counters_freed, 1);
}

static void count(app *a, const http_request *req, http_response *res) {
  (void)a;
  const char *to = route_query_get(&req->query, "to");
  const char *greeting = http_header(req, "x-greeting");
  counter *c = calloc(1, sizeof *c);
  c->next = 1;
  c->to = to != NULL ? atoi(to) : 0;
  snprintf(c->greeting, sizeof c->greeting, "%s", greeting != NULL ? greeting : "");
  http_stream(res, 200, "text/plain", count_read, count_free, c);
  if (to == NULL) http_fail(res, API_INVALID_ARGUMENT, "to", "?to= is required");
}

static const route routes[] = {
    {.method = "GET", .pattern = "/healthz", .handler = api_ops_healthz},
    {.method = "GET", .pattern = "/v1", .handler = api_ops_info},
    {.method = "POST", .pattern = "/echo", .body = ROUTE_BODY_JSON, .handler = echo},
    {.method = "GET", .pattern = "/items/{id}", .handler = item},
    {.method = "GET", .pattern = "/silent", .handler = silent},
    {.method = "GET", .pattern = "/lost", .handler = lost},
    {.method = "GET", .pattern = "/v2/things/{name}", .handler = thing},
    {.method = "GET", .pattern = "/v2/health/ready", .handler = api_v2_ready},
    {.method = "GET", .pattern = "/file", .handler = file},
    {.method = "GET", .pattern = "/count", .handler = count},
    {.method = "POST", .pattern = "/upload", .body = ROUTE_BODY_STREAM,
     .limit = ROUTE_LIMIT_DATASET, .media_type = "text/csv", .stream = &upload_ops},
};

static app the_app;
static http_server *server;

/* Start with these flags (argv[0] included, NULL-terminated). */
static void start_argv(char *argv[]) {
  char err[256];
  char *env[] = {NULL};
  int argc = 0;
  while (argv[argc] != NULL) argc++;
  cr_assert_eq(config_parse(&the_app.cfg, argc, argv, env, err, sizeof err), CONFIG_RUN, "%s",
               err);
  the_app.cfg.max_body = MAX_BODY;
  the_app.cfg.max_dataset_body = MAX_DATASET_BODY;
  cr_assert_eq(http_start(&the_app, routes, sizeof routes / sizeof routes[0], &server), 0);
  cr_assert_neq(http_port(server), 0, "port 0 resolves to the kernel's pick");
}

static void start(const char *listen) {
  char *argv[] = {"traind", "--listen", (char *)listen, NULL};
  start_argv(argv);
}

static void start_v4(void) { start("127.0.0.1:0"); }

static void stop(void) {
  http_stop(server);
  server = NULL;
}

/* ---- a minimal HTTP client ---------------------------------------------------- */

typedef struct {
  char raw[16384];
  size_t len;
  int status; /* 0: the connection closed without an answer */
  const char *body;
} reply;

static int connect_server(void) {
  int fd;
  if (the_app.cfg.listen_addr.ss_family == AF_INET6) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(http_port(server)),
                             .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "%s", strerror(errno));
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(http_port(server))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "%s", strerror(errno));
  }
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* Send all of data; @return 0, or -1 when the server closed the connection. */
static int send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Read until the server closes; parse the status line and find the body. */
static void read_reply(int fd, reply *r) {
  r->len = 0;
  for (;;) {
    ssize_t n = recv(fd, r->raw + r->len, sizeof r->raw - 1 - r->len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r->len += (size_t)n;
  }
  r->raw[r->len] = '\0';
  r->status = 0;
  sscanf(r->raw, "HTTP/1.1 %d", &r->status);
  const char *end = strstr(r->raw, "\r\n\r\n");
  r->body = end != NULL ? end + 4 : "";
}

static void exchange(const char *request, reply *r) {
  int fd = connect_server();
  cr_assert_eq(send_all(fd, request, strlen(request)), 0);
  read_reply(fd, r);
  close(fd);
}

/* The value of a response header (case-insensitive name), copied into out. */
static const char *header(const reply *r, const char *name, char *out, size_t size) {
  const char *p = strstr(r->raw, "\r\n");
  const char *end = strstr(r->raw, "\r\n\r\n");
  size_t name_len = strlen(name);
  while (p != NULL && p < end) {
    p += 2;
    if (strncasecmp(p, name, name_len) == 0 && p[name_len] == ':') {
      const char *v = p + name_len + 1;
      v += strspn(v, " ");
      size_t len = strcspn(v, "\r");
      snprintf(out, size, "%.*s", (int)len, v);
      return out;
    }
    p = strstr(p, "\r\n");
  }
  return NULL;
}

static void expect_json_error(const reply *r, int status, const char *code, const char *field) {
  char ct[64];
  cr_assert_eq(r->status, status, "got %d:\n%s", r->status, r->raw);
  cr_expect_str_eq(header(r, "Content-Type", ct, sizeof ct), "application/json");
  cJSON *doc = cJSON_Parse(r->body);
  cr_assert_not_null(doc, "not JSON: %s", r->body);
  cJSON *error = cJSON_GetObjectItemCaseSensitive(doc, "error");
  cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "code")), code);
  cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "field")), field);
  const char *message = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "message"));
  cr_expect(message != NULL && message[0] != '\0', "an error says why");
  cr_expect_eq(cJSON_GetArraySize(error), 3, "code, message, field and nothing else");
  cJSON_Delete(doc);
}

/* ---- tests ------------------------------------------------------------------ */

TestSuite(http, .init = start_v4, .fini = stop, .timeout = 30);

Test(http, healthz) {
  reply r;
  char value[128];
  exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cr_expect_str_eq(r.body, "{\"status\":\"ok\"}");
  cr_expect_str_eq(header(&r, "Content-Type", value, sizeof value), "application/json");
  cr_assert_not_null(header(&r, "X-Request-Id", value, sizeof value));
  cr_expect_eq(strlen(value), 16, "a generated id: %s", value);
}

static int failing_check(app *a, api_error *err) {
  (void)a;
  return api_fail(err, API_UNAVAILABLE, NULL, "database is locked");
}

Test(http, healthz_reports_a_failing_check) {
  the_app.health_check = failing_check;
  reply r;
  exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 503, "unavailable", "");
  the_app.health_check = NULL;
}

Test(http, api_info) {
  reply r;
  exchange("GET /v1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cJSON *doc = cJSON_Parse(r.body);
  cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "name")), "traind");
  cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "version")), TRAIND_VERSION);
  cJSON_Delete(doc);
}

Test(http, client_request_id_is_echoed_when_sane) {
  reply r;
  char value[128];
  exchange("GET /v1 HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: job-42.retry_1:a\r\n"
           "Connection: close\r\n\r\n", &r);
  cr_expect_str_eq(header(&r, "X-Request-Id", value, sizeof value), "job-42.retry_1:a");
  exchange("GET /v1 HTTP/1.1\r\nHost: localhost\r\n"
           "X-Request-Id: <script>\r\nConnection: close\r\n\r\n",
           &r);
  cr_expect_str_neq(header(&r, "X-Request-Id", value, sizeof value), "<script>");
  cr_expect_eq(strlen(value), 16);
}

Test(http, missing_text_is_a_json_500) {
  reply r;
  exchange("GET /lost HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 500, "internal", "");
}

Test(http, unknown_route_is_json_404) {
  reply r;
  exchange("GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 404, "not_found", "");
  exchange("GET /items/abc HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 404, "not_found", "");
}

Test(http, wrong_method_is_405_with_allow) {
  reply r;
  char allow[64];
  exchange("DELETE /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 405, "method_not_allowed", "");
  cr_expect_str_eq(header(&r, "Allow", allow, sizeof allow), "GET, HEAD");
}

Test(http, ids_and_query) {
  reply r;
  exchange("GET /items/%34%32?q=a+b%21 HTTP/1.1\r\nHost: localhost\r\n"
           "Connection: close\r\n\r\n", &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cr_expect_str_eq(r.body, "{\"id\":42,\"q\":\"a b!\"}");
  exchange("GET /items/1?q=%zz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 400, "invalid_argument", "q");
}

/* An error in the Open Inference Protocol's shape: {"error":"..."} and no more. */
static void expect_v2_error(const reply *r, int status, const char *says) {
  cr_assert_eq(r->status, status, "got %d:\n%s", r->status, r->raw);
  cJSON *doc = cJSON_Parse(r->body);
  cr_assert_not_null(doc, "not JSON: %s", r->body);
  const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "error"));
  cr_expect(error != NULL && strstr(error, says) != NULL, "%s", r->body);
  cr_expect_eq(cJSON_GetArraySize(doc), 1, "error and nothing else: %s", r->body);
  cJSON_Delete(doc);
}

Test(http, name_parameters_reach_the_handler_decoded) {
  reply r;
  exchange("GET /v2/things/a%2Fb HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cr_expect_str_eq(r.body, "{\"name\":\"a/b\"}");
}

Test(http, errors_under_v2_take_the_protocols_shape) {
  reply r;
  char allow[64];
  exchange("GET /v2/things/missing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_v2_error(&r, 404, "unknown thing 'missing'");
  exchange("GET /v2/nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_v2_error(&r, 404, "no route for /v2/nothing");
  exchange("DELETE /v2/things/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_v2_error(&r, 405, "not allowed");
  cr_expect_str_eq(header(&r, "Allow", allow, sizeof allow), "GET, HEAD");
  /* Only /v2 itself and paths below it: /v2x is not the protocol's. */
  exchange("GET /v2x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 404, "not_found", "");
}

Test(http, v2_ready_follows_the_health_check) {
  reply r;
  exchange("GET /v2/health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cr_expect_str_eq(r.body, "{\"ready\":true}");
  the_app.health_check = failing_check;
  exchange("GET /v2/health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  the_app.health_check = NULL;
  cr_assert_eq(r.status, 400, "the protocol's \"not ready\" is a 4xx: %s", r.raw);
  cr_expect_str_eq(r.body, "{\"ready\":false,\"error\":\"database is locked\"}");
}

Test(http, json_body_is_buffered_whole) {
  reply r;
  exchange("POST /echo HTTP/1.1\r\nHost: localhost\r\n"
           "Content-Type: application/json; charset=utf-8\r\n"
           "Content-Length: 11\r\nConnection: close\r\n\r\n{\"a\":[1,2]}", &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cr_expect_str_eq(r.body, "{\"len\":11,\"body\":\"{\\\"a\\\":[1,2]}\",\"nul\":true}");
}

Test(http, chunked_json_body_within_the_limit) {
  reply r;
  exchange("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           "3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n", &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cr_expect_str_eq(r.body, "{\"len\":5,\"body\":\"[1,2]\",\"nul\":true}");
}

Test(http, empty_json_body_reaches_the_handler) {
  reply r;
  exchange("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           "Content-Length: 0\r\nConnection: close\r\n\r\n", &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cr_expect_str_eq(r.body, "{\"len\":0,\"body\":\"\",\"nul\":true}");
}

Test(http, content_length_over_the_limit_is_413_before_reading) {
  reply r;
  /* The body is never sent: the answer must come from the headers alone. */
  exchange("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           "Content-Length: 65\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 413, "payload_too_large", "");
}

Test(http, expect_continue_over_the_limit_gets_413_not_100) {
  reply r;
  exchange("POST /upload?name=a HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\n"
           "Content-Length: 1000000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 413, "payload_too_large", "");
}

Test(http, body_at_the_limit_is_accepted) {
  char request[512];
  char body[MAX_BODY + 1];
  memset(body, ' ', MAX_BODY);
  body[0] = '"';
  body[MAX_BODY - 1] = '"';
  body[MAX_BODY] = '\0';
  snprintf(request, sizeof request,
           "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           "Content-Length: %d\r\nConnection: close\r\n\r\n%s", MAX_BODY, body);
  reply r;
  exchange(request, &r);
  cr_expect_eq(r.status, 200, "%s", r.raw);
}

/* A chunked request: headers, then `chunks` chunks of `size` bytes of `fill`. */
static char *chunked_request(const char *target, const char *ct, int chunks, int size, char fill) {
  size_t cap = 512 + (size_t)chunks * ((size_t)size + 16);
  char *req = malloc(cap);
  cr_assert_not_null(req);
  int n = snprintf(req, cap, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: %s\r\n"
                   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", target, ct);
  for (int i = 0; i < chunks; i++) {
    n += snprintf(req + n, cap - (size_t)n, "%x\r\n", size);
    memset(req + n, fill, (size_t)size);
    n += size;
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
  }
  snprintf(req + n, cap - (size_t)n, "0\r\n\r\n");
  return req;
}

Test(http, streamed_body_arrives_in_chunks) {
  char *req = chunked_request("/upload?name=a", "text/csv", 4, 50, '1');
  reply r;
  exchange(req, &r);
  free(req);
  cr_assert_eq(r.status, 201, "%s", r.raw);
  cr_expect_str_eq(r.body, "{\"bytes\":200}");
}

Test(http, chunked_body_over_the_limit_is_413) {
  char *req = chunked_request("/upload?name=a", "text/csv", 10, 100, '1');
  reply r;
  exchange(req, &r);
  free(req);
  expect_json_error(&r, 413, "payload_too_large", "");

  req = chunked_request("/echo", "application/json", 3, 30, ' ');
  exchange(req, &r);
  free(req);
  expect_json_error(&r, 413, "payload_too_large", "");
}

Test(http, a_client_streaming_far_past_the_limit_is_cut_off) {
  int fd = connect_server();
  const char *head = "POST /upload?name=a HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  cr_assert_eq(send_all(fd, head, strlen(head)), 0);
  static char chunk[65536 + 16];
  int n = snprintf(chunk, sizeof chunk, "%x\r\n", 65536);
  memset(chunk + n, '1', 65536);
  memcpy(chunk + n + 65536, "\r\n", 2);
  size_t sent = 0;
  while (sent < 4 * (size_t)HTTP_DRAIN_MAX && send_all(fd, chunk, (size_t)n + 65538) == 0) {
    sent += 65536;
  }
  cr_expect_lt(sent, 4 * (size_t)HTTP_DRAIN_MAX, "the server stopped reading");
  reply r;
  read_reply(fd, &r);
  close(fd);
  cr_expect_eq(r.status, 0, "no answer, only a closed connection: %s", r.raw);
}

Test(http, wrong_media_type_is_415) {
  reply r;
  exchange("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
           "Content-Length: 2\r\nConnection: close\r\n\r\n{}", &r);
  expect_json_error(&r, 415, "unsupported_media_type", "");
  exchange("POST /echo HTTP/1.1\r\nHost: localhost\r\n"
           "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
           &r);
  expect_json_error(&r, 415, "unsupported_media_type", "");
  exchange("POST /upload?name=a HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           "Content-Length: 2\r\nConnection: close\r\n\r\n{}", &r);
  expect_json_error(&r, 415, "unsupported_media_type", "");
}

Test(http, stream_refused_at_begin) {
  reply r;
  exchange("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\n"
           "Content-Length: 3\r\nConnection: close\r\n\r\na,b", &r);
  expect_json_error(&r, 400, "invalid_argument", "name");
}

Test(http, stream_refused_mid_body_answers_at_the_end) {
  char *req = chunked_request("/upload?name=a", "text/csv", 3, 20, 'X');
  reply r;
  exchange(req, &r);
  free(req);
  expect_json_error(&r, 400, "invalid_argument", "row 1, column a");
}

static int count_headers(const reply *r, const char *name) {
  int n = 0;
  char line[64];
  snprintf(line, sizeof line, "\r\n%s: ", name);
  for (const char *p = strstr(r->raw, line); p != NULL; p = strstr(p + 1, line)) n++;
  return n;
}

Test(http, static_bodies_with_added_headers) {
  reply r;
  char value[64];
  exchange("GET /file HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cr_expect_str_eq(r.body, file_bytes);
  cr_expect_str_eq(header(&r, "Content-Type", value, sizeof value), "text/css; charset=utf-8");
  cr_expect_str_eq(header(&r, "ETag", value, sizeof value), "\"v1\"");
  cr_expect_str_eq(header(&r, "Cache-Control", value, sizeof value), "no-cache");
  cr_expect_eq(count_headers(&r, "X-Extra"), HTTP_HEADERS_MAX - 2);
  /* The same bytes again: nothing freed them. */
  exchange("GET /file HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_expect_str_eq(r.body, file_bytes);
}

Test(http, not_modified_has_headers_and_no_body) {
  reply r;
  char value[64];
  exchange("GET /file HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"v1\"\r\n"
           "Connection: close\r\n\r\n", &r);
  cr_assert_eq(r.status, 304, "%s", r.raw);
  cr_expect_str_eq(r.body, "");
  cr_expect_str_eq(header(&r, "ETag", value, sizeof value), "\"v1\"");
  cr_expect_null(header(&r, "Content-Type", value, sizeof value));
  exchange("GET /file HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"v0\"\r\n"
           "Connection: close\r\n\r\n", &r);
  cr_expect_eq(r.status, 200, "another tag gets the body");
}

Test(http, headers_past_the_limit_are_refused) {
  reply r;
  exchange("GET /file?headers=3 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_assert_eq(r.status, 200, "each extra header was refused: %s", r.raw);
  cr_expect_eq(count_headers(&r, "X-Extra"), HTTP_HEADERS_MAX - 2, "and not sent");
}

/* Decode a chunked body in place; @return 0, or -1 when malformed or unterminated. */
static int dechunk(const char *in, char *out, size_t size) {
  size_t used = 0;
  for (;;) {
    char *end;
    unsigned long len = strtoul(in, &end, 16);
    if (end == in || strncmp(end, "\r\n", 2) != 0) return -1;
    in = end + 2;
    if (len == 0) return strncmp(in, "\r\n", 2) == 0 ? 0 : -1;
    if (used + len >= size || strlen(in) < len + 2 || strncmp(in + len, "\r\n", 2) != 0)
      return -1;
    memcpy(out + used, in, len);
    used += len;
    out[used] = '\0';
    in += len + 2;
  }
}

static void wait_freed(int want) {
  for (int i = 0; i < 1500 && atomic_load(&counters_freed) < want; i++) usleep(10000);
  cr_expect_eq(atomic_load(&counters_freed), want, "the body's context is freed once");
}

Test(http, streamed_body_is_chunked_until_its_end) {
  reply r;
  char value[64], body[256];
  int freed = atomic_load(&counters_freed);
  exchange("GET /count?to=3 HTTP/1.1\r\nHost: localhost\r\n"
           "X-Greeting: hi\r\nConnection: close\r\n\r\n",
           &r);
  cr_assert_eq(r.status, 200, "%s", r.raw);
  cr_expect_str_eq(header(&r, "Content-Type", value, sizeof value), "text/plain");
  cr_expect_str_eq(header(&r, "Cache-Control", value, sizeof value), "no-store");
  cr_expect_str_eq(header(&r, "Transfer-Encoding", value, sizeof value), "chunked");
  cr_assert_eq(dechunk(r.body, body, sizeof body), 0, "%s", r.body);
  cr_expect_str_eq(body, "hi\n1\n2\n3\n");
  wait_freed(freed + 1);
}

Test(http, a_stream_dropped_by_its_handler_is_freed) {
  reply r;
  int freed = atomic_load(&counters_freed);
  exchange("GET /count HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 400, "invalid_argument", "to");
  wait_freed(freed + 1);
}

Test(http, a_client_leaving_mid_stream_frees_it) {
  int freed = atomic_load(&counters_freed);
  int fd = connect_server();
  const char *req = "GET /count?to=100000000 HTTP/1.1\r\nHost: localhost\r\n\r\n";
  cr_assert_eq(send_all(fd, req, strlen(req)), 0);
  char buf[4096];
  cr_assert_gt(recv(fd, buf, sizeof buf, 0), 0);
  close(fd);
  wait_freed(freed + 1);
}

Test(http, handler_answering_nothing_is_500) {
  reply r;
  exchange("GET /silent HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  expect_json_error(&r, 500, "internal", "");
}

Test(http, keep_alive_survives_errors_without_bodies) {
  int fd = connect_server();
  const char *three = "GET /v1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      "GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  cr_assert_eq(send_all(fd, three, strlen(three)), 0);
  reply r;
  read_reply(fd, &r);
  close(fd);
  cr_expect_eq(r.status, 200, "%s", r.raw);
  const char *second = strstr(r.raw + 1, "HTTP/1.1 404");
  cr_expect_not_null(second, "the 404 is missing: %s", r.raw);
  cr_expect(second != NULL && strstr(second, "{\"status\":\"ok\"}") != NULL,
            "the connection did not survive the 404: %s", r.raw);
}

Test(http, oversized_headers_are_refused_without_leaks) {
  static char req[HTTP_CONNECTION_MEMORY + 1024];
  int n = snprintf(req, sizeof req, "GET /v1 HTTP/1.1\r\nHost: localhost\r\nX-Big: ");
  memset(req + n, 'a', sizeof req - (size_t)n - 64);
  snprintf(req + sizeof req - 64, 64, "\r\nConnection: close\r\n\r\n");
  int fd = connect_server();
  send_all(fd, req, strlen(req)); /* the server may hang up before reading it all */
  reply r;
  read_reply(fd, &r);
  close(fd);
  cr_expect(r.status == 0 || r.status >= 400, "%s", r.raw);
  /* and the server still answers */
  exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_expect_eq(r.status, 200);
}

Test(http, url_names_the_bound_port) {
  char url[96], want[96];
  http_url(server, url, sizeof url);
  snprintf(want, sizeof want, "http://127.0.0.1:%u", (unsigned)http_port(server));
  cr_expect_str_eq(url, want);
}

Test(http, quiesce_stops_new_connections) {
  http_quiesce(server);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(http_port(server))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  if (rc == 0) {
    /* the socket may still accept into its backlog; nothing answers there */
    const char *get = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    send_all(fd, get, strlen(get));
    char buf[64];
    cr_expect_leq(recv(fd, buf, sizeof buf, 0), 0);
  }
  close(fd);
}

static void start_v6(void) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0) close(fd);
  if (!ok) cr_skip_test("no IPv6 loopback here");
  start("[::1]:0");
}

Test(http_v6, serves_on_ipv6_loopback, .init = start_v6, .fini = stop, .timeout = 30) {
  reply r;
  exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_expect_eq(r.status, 200, "%s", r.raw);
  char url[96], want[96];
  http_url(server, url, sizeof url);
  snprintf(want, sizeof want, "http://[::1]:%u", (unsigned)http_port(server));
  cr_expect_str_eq(url, want);
}

/* ---- connection limits and timeouts --------------------------------------------- */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Watch fd until the server closes it, sending it one byte of trickle (NULL:
 * nothing) every 100 ms meanwhile.
 * @return the seconds it took, or -1 when it stayed open limit_s seconds */
static double seconds_until_closed(int fd, const char *trickle, double limit_s) {
  struct timeval tv = {.tv_usec = 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  double start = now_s();
  size_t sent = 0;
  while (now_s() - start < limit_s) {
    if (trickle != NULL && trickle[sent] != '\0' && send_all(fd, trickle + sent++, 1) < 0)
      return now_s() - start;
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    cr_assert_leq(n, 0, "the server answered an unfinished request: %.*s", (int)n, buf);
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      return now_s() - start;
  }
  return -1;
}

/* Read one answer to GET /healthz on a kept-alive connection. */
static int read_health(int fd) {
  char buf[1024];
  size_t len = 0;
  while (len < sizeof buf - 1) {
    ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
    if (n <= 0) return -1;
    len += (size_t)n;
    buf[len] = '\0';
    if (strstr(buf, "{\"status\":\"ok\"}") != NULL) return strncmp(buf, "HTTP/1.1 200", 12);
  }
  return -1;
}

static void start_timeout_2s(void) {
  char *argv[] = {"traind", "--listen", "127.0.0.1:0", "--client-timeout", "2", NULL};
  start_argv(argv);
}

TestSuite(http_timeout, .init = start_timeout_2s, .fini = stop, .timeout = 30);

Test(http_timeout, a_trickled_request_head_is_cut_off) {
  /* A byte every 100 ms is never 2 s of silence: only the head deadline ends it. */
  static char trickle[256];
  memset(trickle, 'a', sizeof trickle - 1);
  memcpy(trickle, "X-Slow: ", 8);
  int fd = connect_server();
  const char *start = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n";
  cr_assert_eq(send_all(fd, start, strlen(start)), 0);
  double took = seconds_until_closed(fd, trickle, 20.0);
  close(fd);
  cr_expect_neq(took, -1.0, "still open after 20 s of trickled headers");
  cr_expect_geq(took, 1.5, "closed after %.2f s, before the 2 s timeout", took);
  reply r;
  exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_expect_eq(r.status, 200, "a fresh client is served");
}

Test(http_timeout, a_silent_connection_is_closed) {
  int fd = connect_server();
  double took = seconds_until_closed(fd, NULL, 20.0);
  close(fd);
  cr_expect_neq(took, -1.0, "a silent connection still open after 20 s");
  cr_expect_geq(took, 1.5, "closed after %.2f s, before the 2 s timeout", took);
}

Test(http_timeout, each_request_on_a_kept_alive_connection_gets_its_own_deadline) {
  const char *get = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
  int fd = connect_server();
  for (int i = 0; i < 3; i++) { /* 3.6 s in all: longer than one deadline */
    if (i > 0) usleep(1200 * 1000);
    cr_assert_eq(send_all(fd, get, strlen(get)), 0, "request %d: the connection was closed", i);
    cr_assert_eq(read_health(fd), 0, "request %d was not answered", i);
  }
  close(fd);
}

static void start_two_per_ip(void) {
  char *argv[] = {"traind", "--listen", "127.0.0.1:0", "--max-connections-per-ip", "2", NULL};
  start_argv(argv);
}

Test(http_limits, a_connection_over_the_per_address_limit_is_refused_until_one_ends,
     .init = start_two_per_ip, .fini = stop, .timeout = 30) {
  const char *get = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
  int held[2];
  for (int i = 0; i < 2; i++) { /* answered: both are surely counted */
    held[i] = connect_server();
    cr_assert_eq(send_all(held[i], get, strlen(get)), 0);
    cr_assert_eq(read_health(held[i]), 0);
  }
  reply r;
  exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
  cr_expect_eq(r.status, 0, "a third connection from one address was served:\n%s", r.raw);

  close(held[0]);
  /* The slot frees once libmicrohttpd has reaped the connection's thread. */
  for (double start = now_s(); now_s() - start < 10.0; usleep(50 * 1000)) {
    exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r);
    if (r.status != 0) break;
  }
  cr_expect_eq(r.status, 200, "no connection served after one of the two ended");
  close(held[1]);
}
