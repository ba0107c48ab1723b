/*
 * http.h — the daemon's HTTP layer (libmicrohttpd) and the handler API.
 *
 * One thread per connection, at most cfg.max_connections of them
 * (cfg.max_connections_per_ip from one client address); libmicrohttpd closes
 * a connection over either limit at once. A connection is closed when it is
 * silent for cfg.client_timeout seconds (mid-request, or not reading its
 * answer), and when a request's head — request line and headers — has not
 * fully arrived that long after the connection opened or its previous
 * request ended (http_deadline.h): a client trickling headers cannot hold a
 * thread. With a certificate in app.tls it serves HTTPS only.
 *
 * Why a thread per connection rather than libmicrohttpd's event loop with
 * suspended connections: handlers block — on SQLite's write lock, a commit's
 * fsync, a gradient check or a large prediction — and in an event loop each
 * of those would stall every connection sharing its thread. libmicrohttpd
 * 0.9.75 cannot suspend a connection in this mode, so a waiting answer (an
 * event stream between events, a long poll) parks its own thread on a
 * condition variable instead (notify.h): no CPU until it is woken, and the
 * thread's stack is all it holds. A stream's client hanging up wakes it too
 * (hangup.h).
 *
 * For each request the layer matches a route
 * (router.h), checks the body against the route's size limit (413 from
 * Content-Length before reading; counted as it streams otherwise) and media
 * type (415), collects or streams the body, runs the handler, and answers
 * with JSON. Every response carries X-Request-Id (the client's own when it is
 * 1..64 of [A-Za-z0-9._:-], else a generated one), and every request is
 * logged in one line: method, path, status, body bytes, microseconds, id.
 *
 * An error found from the headers alone (404, 405, 415, 413 by
 * Content-Length, a refused stream begin) is answered at once, and the body,
 * if any, is never read; libmicrohttpd then closes the connection (a request
 * without a body keeps it). A body refused part-way (over the limit, or a
 * stream chunk rejected) cannot be answered before it ends with
 * libmicrohttpd 0.9.75, so the rest is drained unread and the error sent at
 * its end; a client still sending HTTP_DRAIN_MAX bytes after the refusal is
 * disconnected without an answer. Before routing, the head is checked
 * (http_guard.h: framing, Host, Origin); a refusal there is answered at once
 * and closes the connection. Requests libmicrohttpd rejects itself
 * (malformed request line or header, headers or query arguments over
 * HTTP_CONNECTION_MEMORY) get its own non-JSON answers, but for a chunk line
 * over that memory, which gets a JSON 400 instead of its stock 500 page. The
 * request's state lives until libmicrohttpd reports its end, or, for a
 * request it drops without telling (0.9.75 does, e.g. for query arguments
 * over the memory), until its connection closes.
 *
 * A handler may add headers to its answer (http_add_header), answer with
 * bytes that outlive it (http_static: the dashboard's files) or with a 304
 * (its 200's bytes given, never sent). HEAD is answered on every GET route
 * as GET is, without the body (libmicrohttpd drops it): the handler runs as
 * for GET. A handler may also answer with a body made while it is sent
 * (http_stream: event streams), which ends when its reader says so, the
 * client goes away or the server stops.
 */
#ifndef TRAIND_HTTP_H
#define TRAIND_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "app.h"
#include "errors.h"
#include "router.h"

struct MHD_Connection;

#define HTTP_REQUEST_ID_MAX 64
#define HTTP_CONNECTION_MEMORY (64u * 1024u) /* per-connection header and read buffer */
#define HTTP_DRAIN_MAX (8u << 20)      /* bytes read past a refusal before hanging up */
#define HTTP_STREAM_BLOCK (16u * 1024u) /* bytes a streamed body is asked for at most */

#define HTTP_BODY_END ((ssize_t)-1)   /* a streamed body is complete */
#define HTTP_BODY_ERROR ((ssize_t)-2) /* give up: the client sees the body cut short */

/**
 * Writes the next bytes of a streamed body. Runs on the connection's own
 * thread each time the client can take more, and may block there until it
 * has some; it must not return 0 (libmicrohttpd would call it again at once).
 * @param pos bytes of the body sent before this call
 * @return bytes written to buf (1..max), HTTP_BODY_END or HTTP_BODY_ERROR
 */
typedef ssize_t (*http_body_reader)(void *ctx, uint64_t pos, char *buf, size_t max);

/** Frees a streamed body's ctx, once nothing will read it any more. */
typedef void (*http_body_free)(void *ctx);

/* What a handler gets. Everything is valid until the handler returns. */
struct http_request {
  const char *method;          /* "GET", "POST"... */
  const char *path;            /* as sent, still percent-encoded, without the query */
  const route *route;          /* the matched route */
  uint64_t ids[ROUTE_MAX_IDS]; /* the pattern's {id} values, left to right: 1..2^53 */
  size_t n_ids;
  const char *name;            /* the pattern's {name} value, decoded; NULL when it has none */
  route_query query;           /* read with route_query_get(&req->query, "name") */
  const char *content_type;    /* the header as sent, or NULL when absent */
  const char *body;            /* ROUTE_BODY_JSON: the whole body ("" when empty), with */
  size_t body_len;             /*   a NUL after body_len bytes; otherwise NULL and 0 */
  const char *tail;            /* what the pattern's "{...}" matched, else "" */
  const char *request_id;      /* also sent back as X-Request-Id */
  struct MHD_Connection *connection; /* for http_header */
};

#define HTTP_HEADERS_MAX 8 /* headers a handler may add to its answer */

/* How errors are written. Every path under /v2 speaks the Open Inference
 * Protocol, whose clients read {"error":"<message>"} and nothing else. */
typedef enum {
  HTTP_ERRORS_TRAIND, /* {"error":{"code":..,"message":..,"field":..}} */
  HTTP_ERRORS_V2      /* {"error":"<message>"} */
} http_error_shape;
/** @return the value of the request header name (any case), or NULL when absent. */
const char *http_header(const http_request *req, const char *name);

/** @return the socket of the request's connection (still libmicrohttpd's), or -1 */
int http_socket(const http_request *req);

/* What a handler sets, through the helpers below. */
struct http_response {
  int status;     /* 0 until set; a handler that sets nothing answers 500 */
  char *body;     /* malloc'd JSON text; NULL for 204, and with static_body */
  size_t body_len;
  const char *content_type; /* NULL: application/json; else a static string */
  http_error_shape error_shape; /* set by the layer from the path, before any answer */
  const void *static_body;  /* http_static: body_len bytes that outlive the server */
  size_t n_headers;
  struct {
    const char *name, *value; /* static strings */
  } headers[HTTP_HEADERS_MAX];
  http_body_reader stream_read; /* set by http_stream: body is NULL then */
  http_body_free stream_free;
  void *stream_ctx;
};

/**
 * Answer with a JSON document (Content-Type: application/json).
 * @param json consumed (deleted) here; NULL — a failed allocation while
 *             building it — answers 500 internal instead
 */
void http_json(http_response *res, int status, cJSON *json);

/**
 * Answer with text that is not JSON (the Prometheus exposition).
 * @param text         malloc'd, consumed here; NULL answers 500 internal, "out of
 *                     memory" (as the json_buf_take of a failed buffer gives)
 * @param content_type a static string, e.g. "text/plain; version=0.0.4"
 */
void http_text(http_response *res, int status, char *text, size_t len,
               const char *content_type);

/**
 * Answer with bytes that are never freed (files compiled into the daemon).
 * @param data         lives as long as the process
 * @param content_type a static string, e.g. "text/css; charset=utf-8"
 */
void http_static(http_response *res, int status, const void *data, size_t len,
                 const char *content_type);

/**
 * Add a header to the answer, whatever its body turns out to be (an error
 * answered after this call carries it too). A 304 Not Modified is answered
 * with http_static of the body a 200 would have, with its headers added
 * here: the answer then announces that body's length (RFC 9110 §8.6: the
 * 200's, or none — libmicrohttpd 0.9.75 would send 0) and never sends it.
 * @param name, value static strings
 * @return 0, or -1 (logged) when HTTP_HEADERS_MAX are there already: the
 *         header is not sent
 */
int http_add_header(http_response *res, const char *name, const char *value);

/**
 * Answer with a body made while it is sent, with Cache-Control: no-store
 * (what it says is live). From here on ctx belongs to the response: done
 * frees it in every case, even when the answer cannot be sent at all, or when
 * the handler answers something else after all.
 * @param content_type a static string, e.g. "text/event-stream"
 */
void http_stream(http_response *res, int status, const char *content_type,
                 http_body_reader read, http_body_free done, void *ctx);

/**
 * Answer with an error, with the status of its code:
 * {"error":{"code":"invalid_argument","message":"...","field":"layers[1].units"}}
 * "field" is always present: "" when the error is not about one input field.
 * Under /v2 (res->error_shape): {"error":"..."}, the message alone.
 */
void http_error(http_response *res, const api_error *err);

/**
 * Fill an api_error and answer with it, e.g.
 * http_fail(res, API_INVALID_ARGUMENT, "epochs", "must be at least 1").
 */
void http_fail(http_response *res, api_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

typedef struct http_server http_server;

/**
 * Start serving on a->cfg's listen address (that address only).
 * @param a      handed to every handler; must outlive the server
 * @param routes the route table (router_table(), or a test's own); must
 *               outlive the server
 * @param out    receives the running server
 * @return 0, or -1 when the daemon cannot start (address in use...), logged
 */
int http_start(app *a, const route *routes, size_t n_routes, http_server **out);

/** @return the bound port: the configured one, or the kernel's pick for port 0. */
uint16_t http_port(const http_server *srv);

/** Write the base URL, e.g. "http://127.0.0.1:8080", "http://[::1]:8080" or,
 *  serving TLS, "https://127.0.0.1:8443". */
void http_url(const http_server *srv, char *buf, size_t size);

/** Stop accepting connections; requests in progress continue (streams
 * included: end them first, or http_stop waits for them). */
void http_quiesce(http_server *srv);

/** Close every connection and free the server. NULL is a no-op. */
void http_stop(http_server *srv);

#endif
