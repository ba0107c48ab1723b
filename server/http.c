/* http.c — libmicrohttpd glue: limits, bodies, routing, JSON answers, logs. */
#include "http.h"

#include <assert.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "http_deadline.h"
#include "http_guard.h"
#include "log.h"
#include "prometheus.h"

/* The answer when even building an error fails (out of memory). */
static const char internal_error_body[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\",\"field\":\"\"}}";

struct http_server {
  struct MHD_Daemon *daemon;
  http_deadlines *deadlines; /* for request heads; one per connection */
  app *app;
  const route *routes;
  size_t n_routes;
  uint64_t id_seed;          /* differs per process start: ids do not repeat across restarts */
  atomic_uint_fast64_t id_next;
  http_guard_site site;      /* what a request's Host and Origin are checked against */
  MHD_socket quiesced_fd;    /* the listening socket after http_quiesce, closed at stop */
  uint16_t port;
};

typedef struct request_ctx request_ctx;

/* A streamed answer's reader and free, wrapped to count the bytes sent for
 * the log line. libmicrohttpd owns it with the response and calls the reader
 * on the connection's thread while the request is alive. The request's end
 * (on_completed) and the response's (counted_free) come on that thread too,
 * in an order that differs between libmicrohttpd versions (0.9.75 ends the
 * request first): whichever ends first unlinks itself from the other. */
typedef struct {
  http_body_reader read;
  http_body_free done;
  void *ctx;
  request_ctx *req; /* NULL once the request is completed */
} counted_stream;

/* One connection's state, from its accept to its close (on_connection).
 *
 * libmicrohttpd 0.9.75 does not always tell a request's end: when it refuses
 * a request itself after its target arrived (query arguments that do not fit
 * HTTP_CONNECTION_MEMORY: 431 or no answer at all) it never calls
 * on_completed, and the state on_uri made would be lost with the
 * connection. So the connection holds the request on_uri announced until
 * on_completed takes it back; whatever it still holds when the next request
 * begins or the connection closes was dropped by libmicrohttpd, and is
 * logged and freed there (request_end). */
typedef struct {
  http_deadline *deadline; /* for request heads; NULL when out of memory */
  request_ctx *pending;    /* announced by on_uri, not yet completed */
} connection_ctx;

/* One request's state, from its first line to its completion. */
struct request_ctx {
  http_server *srv;
  struct timespec start; /* CLOCK_MONOTONIC */
  char *uri;             /* the request target as sent; req.path and the query live here */
  char method[16];       /* for the log line */
  bool started;          /* the headers have been handled */
  bool answered;         /* a response is queued */
  bool hang_up;          /* the client kept sending past HTTP_DRAIN_MAX: close */
  bool close;            /* answer with Connection: close (a head that failed http_guard) */
  http_request req;
  http_response res;
  route_match match;
  char request_id[HTTP_REQUEST_ID_MAX + 1];
  size_t limit;          /* body bytes the route accepts */
  size_t received;       /* body bytes seen so far */
  char *body;            /* ROUTE_BODY_JSON: (body_cap,) the body so far */
  size_t body_cap;
  void *stream_ctx;      /* ROUTE_BODY_STREAM, once begin succeeded */
  bool stream_open;
  bool refused;          /* the body was refused part-way: answer `refusal` at its end */
  api_error refusal;
  size_t refused_at;     /* `received` when it was refused */
  int status;            /* what was answered, for the log */
  size_t bytes;          /* of the body; a stream's counted as it is sent */
  bool streamed;         /* the answer is a streamed body */
  counted_stream *counter; /* the streamed answer's, until on_completed */
  uint64_t answer_us;    /* from the start until the answer was queued */
};

/* The answer's callbacks are libmicrohttpd's own, passed through. */
_Static_assert(HTTP_BODY_END == MHD_CONTENT_READER_END_OF_STREAM, "end of a streamed body");
_Static_assert(HTTP_BODY_ERROR == MHD_CONTENT_READER_END_WITH_ERROR, "failed streamed body");

static uint64_t micros_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)((long long)(now.tv_sec - start->tv_sec) * 1000000LL +
                    (now.tv_nsec - start->tv_nsec) / 1000);
}

/* ---- responses ------------------------------------------------------------ */

/* Drop the body; added headers stay. */
static void response_reset(http_response *res) {
  free(res->body);
  res->body = NULL;
  res->body_len = 0;
  res->content_type = NULL;
  res->static_body = NULL;
  if (res->stream_free != NULL) res->stream_free(res->stream_ctx);
  res->stream_read = NULL;
  res->stream_free = NULL;
  res->stream_ctx = NULL;
}

void http_json(http_response *res, int status, cJSON *json) {
  response_reset(res);
  char *text = json != NULL ? cJSON_PrintUnformatted(json) : NULL;
  cJSON_Delete(json);
  if (text == NULL) {
    res->status = 500; /* the fallback body is added when the answer is sent */
    return;
  }
  res->status = status;
  res->body = text;
  res->body_len = strlen(text);
}

void http_text(http_response *res, int status, char *text, size_t len,
               const char *content_type) {
  if (text == NULL) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    return;
  }
  response_reset(res);
  res->status = status;
  res->body = text;
  res->body_len = len;
  res->content_type = content_type;
}

void http_static(http_response *res, int status, const void *data, size_t len,
                 const char *content_type) {
  response_reset(res);
  res->status = status;
  res->static_body = data;
  res->body_len = len;
  res->content_type = content_type;
}

int http_add_header(http_response *res, const char *name, const char *value) {
  if (res->n_headers == HTTP_HEADERS_MAX) {
    log_write(LOG_ERROR, "http: more than %d headers added, '%s' dropped", HTTP_HEADERS_MAX,
              name);
    return -1;
  }
  res->headers[res->n_headers].name = name;
  res->headers[res->n_headers].value = value;
  res->n_headers++;
  return 0;
}

void http_stream(http_response *res, int status, const char *content_type,
                 http_body_reader read, http_body_free done, void *ctx) {
  response_reset(res);
  res->status = status;
  res->content_type = content_type;
  res->stream_read = read;
  res->stream_free = done;
  res->stream_ctx = ctx;
}

void http_error(http_response *res, const api_error *err) {
  cJSON *root = cJSON_CreateObject();
  bool ok;
  if (res->error_shape == HTTP_ERRORS_V2) {
    ok = cJSON_AddStringToObject(root, "error", err->message) != NULL;
  } else {
    cJSON *error = cJSON_AddObjectToObject(root, "error");
    ok = error != NULL &&
         cJSON_AddStringToObject(error, "code", api_code_name(err->code)) != NULL &&
         cJSON_AddStringToObject(error, "message", err->message) != NULL &&
         cJSON_AddStringToObject(error, "field", err->field) != NULL;
  }
  if (!ok) {
    cJSON_Delete(root);
    root = NULL;
  }
  http_json(res, api_code_status(err->code), root);
}

void http_fail(http_response *res, api_code code, const char *field, const char *fmt, ...) {
  api_error err;
  va_list ap;
  va_start(ap, fmt);
  api_vfail(&err, code, field, fmt, ap);
  va_end(ap);
  http_error(res, &err);
}

static ssize_t counted_read(void *cls, uint64_t pos, char *buf, size_t max) {
  counted_stream *cs = cls;
  ssize_t n = cs->read(cs->ctx, pos, buf, max);
  if (n > 0 && cs->req != NULL) cs->req->bytes += (size_t)n;
  return n;
}

static void counted_free(void *cls) {
  counted_stream *cs = cls;
  if (cs->req != NULL) cs->req->counter = NULL;
  if (cs->done != NULL) cs->done(cs->ctx);
  free(cs);
}

/* Queue ctx->res (or the fallback when the handler left it unusable). */
static enum MHD_Result send_response(request_ctx *ctx, struct MHD_Connection *c) {
  http_response *res = &ctx->res;
  bool streamed = res->stream_read != NULL;
  bool bodiless = res->status == 204; /* a 304 carries its 200's static body (http_add_header) */
  if (res->status < 200 || res->status > 599 ||
      (res->body == NULL && res->static_body == NULL && !streamed && !bodiless)) {
    if (res->status != 500) {
      log_write(LOG_ERROR, "http: %s %s: the handler answered status %d with%s a body, sending 500",
                ctx->method, ctx->req.path, res->status, res->body != NULL ? "" : "out");
    }
    response_reset(res);
    res->status = 500;
  }

  struct MHD_Response *r;
  size_t len = res->body_len;
  counted_stream *counter = NULL;
  if (streamed) {
    counter = malloc(sizeof *counter);
    if (counter == NULL) return MHD_NO; /* on_completed frees the stream */
    *counter = (counted_stream){.read = res->stream_read, .done = res->stream_free,
                                .ctx = res->stream_ctx, .req = ctx};
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK, counted_read,
                                          counter, counted_free);
    if (r != NULL) { /* MHD frees the wrapper, and with it the ctx, with the response */
      res->stream_read = NULL;
      res->stream_free = NULL;
      res->stream_ctx = NULL;
    } else {
      free(counter);
    }
  } else if (res->body != NULL) {
    r = MHD_create_response_from_buffer_with_free_callback(len, res->body, free);
    if (r != NULL) res->body = NULL; /* MHD frees it with the response */
  } else if (res->static_body != NULL) {
    r = MHD_create_response_from_buffer(len, (void *)res->static_body, MHD_RESPMEM_PERSISTENT);
  } else if (res->status == 500) {
    len = sizeof internal_error_body - 1;
    r = MHD_create_response_from_buffer(len, (void *)internal_error_body, MHD_RESPMEM_PERSISTENT);
  } else {
    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
  }
  if (r == NULL) return MHD_NO;

  bool ok = MHD_add_response_header(r, "X-Request-Id", ctx->request_id) == MHD_YES;
  if (streamed) {
    ok = ok && MHD_add_response_header(r, "Content-Type", res->content_type) == MHD_YES &&
         MHD_add_response_header(r, "Cache-Control", "no-store") == MHD_YES;
  } else if (len > 0 && res->status != 304) {
    const char *type = res->content_type != NULL ? res->content_type : "application/json";
    ok = ok && MHD_add_response_header(r, "Content-Type", type) == MHD_YES;
  }
  for (size_t i = 0; i < res->n_headers; i++) {
    ok = ok && MHD_add_response_header(r, res->headers[i].name, res->headers[i].value) == MHD_YES;
  }
  if (res->status == 405) {
    ok = ok && MHD_add_response_header(r, "Allow", ctx->match.allow) == MHD_YES;
  }
  if (ctx->close) ok = ok && MHD_add_response_header(r, "Connection", "close") == MHD_YES;
  if (res->status == 401) {
    const char *challenge = "Bearer realm=\"traind\"";
    ok = ok && MHD_add_response_header(r, "WWW-Authenticate", challenge) == MHD_YES;
  }
  enum MHD_Result queued = ok ? MHD_queue_response(c, (unsigned)res->status, r) : MHD_NO;
  MHD_destroy_response(r);
  if (queued == MHD_YES) {
    ctx->answered = true;
    ctx->status = res->status;
    ctx->bytes = res->status == 304 || strcmp(ctx->method, "HEAD") == 0 ? 0 : len; /* sent */
    ctx->streamed = streamed;
    ctx->counter = counter;
    ctx->answer_us = micros_since(&ctx->start);
  }
  return queued;
}

static enum MHD_Result send_error(request_ctx *ctx, struct MHD_Connection *c,
                                  const api_error *err) {
  http_error(&ctx->res, err);
  return send_response(ctx, c);
}

const char *http_header(const http_request *req, const char *name) {
  return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

int http_socket(const http_request *req) {
  const union MHD_ConnectionInfo *info =
      req->connection != NULL
          ? MHD_get_connection_info(req->connection, MHD_CONNECTION_INFO_CONNECTION_FD)
          : NULL;
  return info != NULL ? (int)info->connect_fd : -1;
}

/* ---- request ids ---------------------------------------------------------- */

/* SplitMix64 (Steele et al.): distinct inputs give distinct, well-mixed outputs. */
static uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static bool request_id_sane(const char *id) {
  size_t len = strlen(id);
  if (len == 0 || len > HTTP_REQUEST_ID_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char ch = id[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == ':';
    if (!ok) return false;
  }
  return true;
}

static void set_request_id(request_ctx *ctx, struct MHD_Connection *c) {
  const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
  if (given != NULL && request_id_sane(given)) {
    snprintf(ctx->request_id, sizeof ctx->request_id, "%s", given);
  } else {
    uint64_t n = atomic_fetch_add(&ctx->srv->id_next, 1);
    snprintf(ctx->request_id, sizeof ctx->request_id, "%016llx",
             (unsigned long long)mix64(ctx->srv->id_seed ^ n));
  }
  ctx->req.request_id = ctx->request_id;
}

/* ---- the request's life ---------------------------------------------------- */

static size_t route_limit_bytes(const http_server *srv, const route *r) {
  return r->limit == ROUTE_LIMIT_DATASET ? srv->app->cfg.max_dataset_body : srv->app->cfg.max_body;
}

/* The declared body size, or -1 when there is none (chunked) or it is not a number. */
static long long declared_length(struct MHD_Connection *c) {
  const char *s = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
  if (s == NULL || *s == '\0' || strlen(s) > 18) return -1;
  long long v = 0;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

static void refuse(request_ctx *ctx, const api_error *err) {
  ctx->refused = true;
  ctx->refusal = *err;
  ctx->refused_at = ctx->received;
}

/* The protocol a path speaks decides its errors' shape: the matched route's
 * pattern, or the raw path when no route matched. */
static http_error_shape error_shape_of(const route *r, const char *path) {
  const char *p = r != NULL ? r->pattern : path;
  return strncmp(p, "/v2", 3) == 0 && (p[3] == '\0' || p[3] == '/') ? HTTP_ERRORS_V2
                                                                      : HTTP_ERRORS_TRAIND;
}

/* The connection's state (on_connection), or NULL when it could not be made. */
static connection_ctx *connection_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info != NULL ? info->socket_context : NULL;
}

/* The connection's request-head deadline, or NULL. */
static http_deadline *connection_deadline(struct MHD_Connection *c) {
  connection_ctx *conn = connection_of(c);
  return conn != NULL ? conn->deadline : NULL;
}

static enum MHD_Result add_guard_field(void *cls, enum MHD_ValueKind kind, const char *name,
                                       const char *value) {
  (void)kind;
  http_guard_add(cls, name, value);
  return MHD_YES;
}

/* The headers are in: check the head (http_guard.h), route, check limits and
 * media type, open a stream. */
static enum MHD_Result begin_request(request_ctx *ctx, struct MHD_Connection *c,
                                     const char *method, const char *version) {
  http_server *srv = ctx->srv;
  api_error err;
  http_deadline_disarm(srv->deadlines, connection_deadline(c));
  ctx->started = true;
  /* For the log line and the metrics' labels: client bytes, kept printable
   * as the path is (the route is matched with the method as sent). */
  snprintf(ctx->method, sizeof ctx->method, "%s", method);
  for (char *m = ctx->method; *m != '\0'; m++)
    if ((unsigned char)*m <= ' ' || (unsigned char)*m >= 0x7f) *m = '?';
  set_request_id(ctx, c);

  char *query = strchr(ctx->uri, '?');
  if (query != NULL) *query++ = '\0';
  ctx->req.method = method;
  ctx->req.path = ctx->uri;
  ctx->req.tail = ctx->match.tail;
  ctx->req.connection = c;
  ctx->req.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
  long long declared = declared_length(c);

  http_guard_head head = {0};
  MHD_get_connection_values(c, MHD_HEADER_KIND, add_guard_field, &head);
  if (http_guard_check(&head, &srv->site, method, strcmp(version, MHD_HTTP_VERSION_1_0) != 0,
                       &err) < 0) {
    /* The body's length is in doubt, or the client is not to be served:
     * answer before reading it, and close. */
    ctx->res.error_shape = error_shape_of(NULL, ctx->uri);
    ctx->close = true;
    return send_error(ctx, c, &err);
  }

  int matched = router_match(srv->routes, srv->n_routes, method, ctx->uri,
                             ctx->req.content_type, &ctx->match, &err);
  ctx->res.error_shape = error_shape_of(ctx->match.route, ctx->uri);
  if (matched < 0) goto fail;
  const route *r = ctx->match.route;
  ctx->req.route = r;
  memcpy(ctx->req.ids, ctx->match.ids, sizeof ctx->req.ids);
  ctx->req.n_ids = ctx->match.n_ids;
  ctx->req.name = ctx->match.name[0] != '\0' ? ctx->match.name : NULL;
  const char *authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  if (auth_check(&srv->app->cfg, r->access, authorization, &err) < 0) goto fail;
  if (route_query_parse(&ctx->req.query, query != NULL ? query : "", &err) < 0) goto fail;

  ctx->limit = route_limit_bytes(srv, r);
  if (declared >= 0 && (unsigned long long)declared > ctx->limit) {
    api_fail(&err, API_PAYLOAD_TOO_LARGE, NULL,
             "the request body has %lld bytes; this endpoint accepts at most %zu", declared,
             ctx->limit);
    goto fail;
  }
  if (r->body == ROUTE_BODY_STREAM) {
    if (r->stream->begin(srv->app, &ctx->req, &ctx->stream_ctx, &err) < 0) goto fail;
    ctx->stream_open = true;
  }
  return MHD_YES;

fail:
  /* Answering now skips the body and closes the connection; a request
   * without a body is answered at its end instead, keeping it alive. */
  if (declared == 0 || (declared < 0 && MHD_lookup_connection_value(
                                            c, MHD_HEADER_KIND, "Transfer-Encoding") == NULL)) {
    refuse(ctx, &err);
    return MHD_YES;
  }
  return send_error(ctx, c, &err);
}

/* The path is client text: keep it printable and short in the log. */
static void loggable_path(const request_ctx *ctx, char *out, size_t size) {
  const char *p = ctx->req.path != NULL ? ctx->req.path : ctx->uri;
  size_t n = 0;
  for (; p[n] != '\0' && n + 1 < size; n++) out[n] = (p[n] > ' ' && p[n] < 0x7f) ? p[n] : '?';
  out[n] = '\0';
}

/* Append to the buffered JSON body, growing geometrically up to limit + NUL. */
static int buffer_append(request_ctx *ctx, const char *data, size_t len) {
  size_t need = ctx->received + 1; /* `received` already counts data */
  if (need > ctx->body_cap) {
    size_t cap = ctx->body_cap > 0 ? ctx->body_cap : 4096;
    while (cap < need) cap *= 2;
    if (cap > ctx->limit + 1) cap = ctx->limit + 1;
    char *grown = realloc(ctx->body, cap);
    if (grown == NULL) return -1;
    ctx->body = grown;
    ctx->body_cap = cap;
  }
  memcpy(ctx->body + ctx->received - len, data, len);
  ctx->body[ctx->received] = '\0';
  return 0;
}

/* A piece of the body arrived. */
static void take_body(request_ctx *ctx, const char *data, size_t len) {
  api_error err;
  ctx->received += len;
  if (ctx->refused) {
    if (ctx->received - ctx->refused_at > HTTP_DRAIN_MAX && !ctx->hang_up) {
      char path[128];
      loggable_path(ctx, path, sizeof path);
      log_write(LOG_WARN, "http: %s %s id=%s: still sending %u bytes after its refusal, hanging up",
                ctx->method, path, ctx->request_id, HTTP_DRAIN_MAX);
      ctx->hang_up = true;
    }
    return;
  }
  if (ctx->received > ctx->limit) {
    api_fail(&err, API_PAYLOAD_TOO_LARGE, NULL,
             "the request body exceeds %zu bytes, the most this endpoint accepts", ctx->limit);
    refuse(ctx, &err);
    return;
  }
  const route *r = ctx->match.route;
  if (r->body == ROUTE_BODY_JSON && buffer_append(ctx, data, len) < 0) {
    api_fail(&err, API_INTERNAL, NULL, "out of memory reading the request body");
    refuse(ctx, &err);
  } else if (r->body == ROUTE_BODY_STREAM &&
             r->stream->chunk(ctx->stream_ctx, data, len, &err) < 0) {
    refuse(ctx, &err);
  }
}

/* The whole body is in: run the handler and answer. */
static enum MHD_Result finish_request(request_ctx *ctx, struct MHD_Connection *c) {
  if (ctx->refused) return send_error(ctx, c, &ctx->refusal);
  const route *r = ctx->match.route;
  app *a = ctx->srv->app;
  switch (r->body) {
    case ROUTE_BODY_STREAM:
      r->stream->end(a, &ctx->req, ctx->stream_ctx, &ctx->res);
      break;
    case ROUTE_BODY_JSON:
      ctx->req.body = ctx->body != NULL ? ctx->body : "";
      ctx->req.body_len = ctx->received;
      r->handler(a, &ctx->req, &ctx->res);
      break;
    case ROUTE_BODY_NONE:
      r->handler(a, &ctx->req, &ctx->res);
      break;
  }
  /* The answer is built: while it is sent, however slowly, another request
   * may use the store handle. */
  app_store_release(a);
  return send_response(ctx, c);
}

/* ---- libmicrohttpd callbacks ----------------------------------------------- */

static void request_end(request_ctx *ctx, const char *ended);

/* First sight of a request, with its raw target: allocate its state, held by
 * its connection until on_completed takes it back. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
  connection_ctx *conn = connection_of(c);
  if (conn == NULL) return NULL; /* on_connection ran out of memory: on_request drops it */
  if (conn->pending != NULL) {   /* the previous request was dropped unannounced */
    request_end(conn->pending, "dropped");
    conn->pending = NULL;
  }
  request_ctx *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL) return NULL;
  ctx->srv = cls;
  clock_gettime(CLOCK_MONOTONIC, &ctx->start);
  ctx->uri = strdup(uri);
  if (ctx->uri == NULL) {
    free(ctx);
    return NULL;
  }
  conn->pending = ctx;
  return ctx;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **req_cls) {
  (void)cls;
  (void)url; /* decoded by libmicrohttpd; the router decodes ctx->uri per segment itself */
  request_ctx *ctx = *req_cls;
  if (ctx == NULL) return MHD_NO; /* on_uri ran out of memory */
  if (!ctx->started) return begin_request(ctx, c, method, version);
  if (*upload_size > 0) {
    take_body(ctx, upload_data, *upload_size);
    *upload_size = 0;
    return ctx->hang_up ? MHD_NO : MHD_YES;
  }
  return finish_request(ctx, c);
}

static const char *termination_name(enum MHD_RequestTerminationCode toe) {
  switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK: return "ok";
    case MHD_REQUEST_TERMINATED_WITH_ERROR: return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR: return "read error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client abort";
  }
  return "unknown";
}

/* The request is over (answered, refused or dropped by libmicrohttpd, or the
 * connection died): log it, count it, free it.
 * @param ended NULL when it completed, else why not (for the log line) */
static void request_end(request_ctx *ctx, const char *ended) {
  /* The response, and with it the counter, may outlive the request a little. */
  if (ctx->counter != NULL) ctx->counter->req = NULL;

  long long us = (long long)micros_since(&ctx->start);
  char path[128];
  loggable_path(ctx, path, sizeof path);
  char status[8] = "-";
  if (ctx->answered) {
    snprintf(status, sizeof status, "%d", ctx->status);
    const route *r = ctx->match.route != NULL ? ctx->match.route : ctx->match.pattern;
    /* A stream's latency is until it began: its length is the client's. */
    prometheus_http_request(r != NULL ? (long)(r - ctx->srv->routes) : -1, ctx->method, ctx->status,
                         ctx->streamed ? ctx->answer_us : (uint64_t)us);
  }
  log_write(ended == NULL ? LOG_INFO : LOG_WARN, "%s %s %s %zuB %lldus id=%s%s%s",
            ctx->started ? ctx->method : "-", path, status, ctx->bytes, us,
            ctx->request_id[0] != '\0' ? ctx->request_id : "-", ended == NULL ? "" : " ended=",
            ended == NULL ? "" : ended);

  if (ctx->stream_open) ctx->match.route->stream->done(ctx->stream_ctx);
  app_store_release(ctx->srv->app); /* taken outside a handler, e.g. by a stream's callbacks */
  response_reset(&ctx->res);
  free(ctx->body);
  free(ctx->uri);
  free(ctx);
}

/* libmicrohttpd tells a request's end: its connection lets go of it. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  http_server *srv = cls;
  /* A kept-alive connection now waits for its next request's head. */
  http_deadline_arm(srv->deadlines, connection_deadline(c));
  request_ctx *ctx = *req_cls;
  if (ctx == NULL) return;
  *req_cls = NULL;
  connection_ctx *conn = connection_of(c);
  assert(conn != NULL && conn->pending == ctx); /* on_uri gives none without a connection */
  conn->pending = NULL;
  request_end(ctx, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL : termination_name(toe));
}

/* A connection opened or closed: watch its request-head deadline meanwhile,
 * and free the request libmicrohttpd dropped without telling (connection_ctx).
 * Both run on libmicrohttpd's listening thread, the close once the
 * connection's own thread has ended and before the socket is closed. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code) {
  http_server *srv = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    connection_ctx *conn = calloc(1, sizeof *conn);
    *socket_ctx = conn;
    if (conn == NULL) return;
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *peer =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    conn->deadline = fd == NULL ? NULL
                                : http_deadline_add(srv->deadlines, fd->connect_fd,
                                                    peer != NULL ? peer->client_addr : NULL);
  } else {
    connection_ctx *conn = *socket_ctx;
    *socket_ctx = NULL;
    if (conn == NULL) return;
    http_deadline_remove(srv->deadlines, conn->deadline);
    if (conn->pending != NULL) request_end(conn->pending, "dropped");
    free(conn);
  }
}

/* libmicrohttpd's own messages, logged (log_write keeps control characters
 * out). One of them is a known gap: a line of a chunked body (a chunk's size
 * and extensions) that does not fit in the connection's memory gets 0.9.75's
 * stock HTML 500 page, sent before any callback of ours runs; answering it
 * ourselves on the socket raced libmicrohttpd's connection thread and
 * crashed it at shutdown, so the page stays (docs/api.md). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char line[LOG_LINE_MAX / 2];
  vsnprintf(line, sizeof line, fmt, ap);
  log_write(LOG_WARN, "http: %s", line);
}

/* ---- the server ------------------------------------------------------------ */

int http_start(app *a, const route *routes, size_t n_routes, http_server **out) {
  *out = NULL;
  http_server *srv = calloc(1, sizeof *srv);
  if (srv == NULL) {
    log_write(LOG_ERROR, "http: out of memory");
    return -1;
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  srv->app = a;
  srv->routes = routes;
  srv->n_routes = n_routes;
  srv->id_seed = mix64((uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec) ^
                 ((uint64_t)getpid() << 32);
  atomic_init(&srv->id_next, 0);
  srv->quiesced_fd = MHD_INVALID_SOCKET;
  srv->site = (http_guard_site){.tls = a->tls.cert != NULL,
                                .loopback = auth_loopback(&a->cfg.listen_addr),
                                .allowed_hosts = a->cfg.allowed_hosts};

  const config *cfg = &a->cfg;
  if (http_deadlines_start(cfg->client_timeout, &srv->deadlines) < 0) goto fail_deadlines;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                   MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (cfg->listen_addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  /* libmicrohttpd keeps pointers to the PEM text; main frees a->tls after
   * http_stop. */
  struct MHD_OptionItem tls[] = {{MHD_OPTION_END, 0, NULL},
                                 {MHD_OPTION_END, 0, NULL},
                                 {MHD_OPTION_END, 0, NULL},
                                 {MHD_OPTION_END, 0, NULL}};
  if (a->tls.cert != NULL) {
    flags |= MHD_USE_TLS;
    tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, a->tls.cert};
    tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, a->tls.key};
    /* checked at start (tls_priorities_check): TLS 1.2 and 1.3 by default */
    tls[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)cfg->tls_priorities};
  }
  srv->daemon = MHD_start_daemon(
      flags, cfg->listen_port, NULL, NULL, on_request, srv,
      MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, /* first, to catch every message */
      MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&cfg->listen_addr,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
      MHD_OPTION_CONNECTION_TIMEOUT, cfg->client_timeout,
      /* event streams count too; --max-streams keeps them to a share */
      MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
      MHD_OPTION_ARRAY, tls,
      MHD_OPTION_END);
  if (srv->daemon == NULL) {
    log_write(LOG_ERROR, "http: cannot listen on %s port %u (address in use or not local?)",
              cfg->listen_host, (unsigned)cfg->listen_port);
    goto fail_daemon;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = info != NULL && info->port != 0 ? info->port : a->cfg.listen_port;
  *out = srv;
  return 0;

fail_daemon:
  http_deadlines_stop(srv->deadlines);
fail_deadlines:
  free(srv);
  return -1;
}

uint16_t http_port(const http_server *srv) { return srv->port; }

void http_url(const http_server *srv, char *buf, size_t size) {
  const config *cfg = &srv->app->cfg;
  bool v6 = cfg->listen_addr.ss_family == AF_INET6;
  snprintf(buf, size, "%s://%s%s%s:%u", srv->app->tls.cert != NULL ? "https" : "http",
           v6 ? "[" : "", cfg->listen_host, v6 ? "]" : "", (unsigned)srv->port);
}

void http_quiesce(http_server *srv) {
  if (srv->quiesced_fd == MHD_INVALID_SOCKET) srv->quiesced_fd = MHD_quiesce_daemon(srv->daemon);
}

void http_stop(http_server *srv) {
  if (srv == NULL) return;
  MHD_stop_daemon(srv->daemon); /* closes every connection: none is watched after */
  http_deadlines_stop(srv->deadlines);
  /* libmicrohttpd hands the quiesced socket to us, to close only after stop. */
  if (srv->quiesced_fd != MHD_INVALID_SOCKET) close(srv->quiesced_fd);
  free(srv);
}
