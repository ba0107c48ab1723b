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
 * disconnected without an answer. Requests libmicrohttpd rejects itself
 * (malformed request line, headers over HTTP_CONNECTION_MEMORY) get its own
 * non-JSON answers.
 */
#ifndef TRAIND_HTTP_H
#define TRAIND_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "errors.h"
#include "router.h"

#define HTTP_REQUEST_ID_MAX 64
#define HTTP_CONNECTION_MEMORY (64u * 1024u) /* per-connection header and read buffer */
#define HTTP_DRAIN_MAX (8u << 20)      /* bytes read past a refusal before hanging up */

/* What a handler gets. Everything is valid until the handler returns. */
struct http_request {
  const char *method;          /* "GET", "POST"... */
  const char *path;            /* as sent, still percent-encoded, without the query */
  const route *route;          /* the matched route */
  uint64_t ids[ROUTE_MAX_IDS]; /* the pattern's {id} values, left to right: 1..2^53 */
  size_t n_ids;
  route_query query;           /* read with route_query_get(&req->query, "name") */
  const char *content_type;    /* the header as sent, or NULL when absent */
  const char *body;            /* ROUTE_BODY_JSON: the whole body ("" when empty), with */
  size_t body_len;             /*   a NUL after body_len bytes; otherwise NULL and 0 */
  const char *request_id;      /* also sent back as X-Request-Id */
};

/* What a handler sets, through the helpers below. */
struct http_response {
  int status;     /* 0 until set; a handler that sets nothing answers 500 */
  char *body;     /* malloc'd JSON text; NULL only for 204 No Content */
  size_t body_len;
  const char *content_type; /* NULL: application/json; else a static string */
};

/**
 * Answer with a JSON document (Content-Type: application/json).
 * @param json consumed (deleted) here; NULL — a failed allocation while
 *             building it — answers 500 internal instead
 */
void http_json(http_response *res, int status, cJSON *json);

/**
 * Answer with text that is not JSON (the Prometheus exposition).
 * @param text         malloc'd, consumed here; NULL answers 500 internal
 * @param content_type a static string, e.g. "text/plain; version=0.0.4"
 */
void http_text(http_response *res, int status, char *text, size_t len,
               const char *content_type);

/**
 * Answer with an error, with the status of its code:
 * {"error":{"code":"invalid_argument","message":"...","field":"layers[1].units"}}
 * "field" is always present: "" when the error is not about one input field.
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

/** Stop accepting connections; requests in progress continue. */
void http_quiesce(http_server *srv);

/** Close every connection and free the server. NULL is a no-op. */
void http_stop(http_server *srv);

#endif
