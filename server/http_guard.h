/*
 * http_guard.h — what a request's head must pass before it is routed: its
 * framing (RFC 9112), the host it names (DNS rebinding) and, for a write, the
 * page it comes from (cross-site requests).
 *
 * Framing. libmicrohttpd 0.9.75 lets through heads whose body length two
 * parties could read differently — the way requests are smuggled past a
 * proxy: a field name with whitespace before its colon ("Content-Length : 2",
 * which it then ignores, so the body became the next request), two differing
 * Content-Length values, Content-Length beside Transfer-Encoding. Each is 400.
 * A Transfer-Encoding other than exactly "chunked" (e.g. "gzip, chunked",
 * which it waited on forever) is 501: traind decodes no other coding. An
 * HTTP/1.1 request needs exactly one Host (400 otherwise; RFC 9112 §3.2).
 *
 * Host. A page from any site can make the browser send requests to a loopback
 * address; the same-origin policy stops it from reading the answers, unless
 * the page's own name is made to resolve to 127.0.0.1 (DNS rebinding), and a
 * tokenless daemon would then answer it in full. So on a loopback address
 * traind answers only the loopback names — localhost, 127.0.0.1, [::1], with
 * any port — and the names given with --allowed-hosts; any other is 403
 * forbidden, field "Host". On another address the Host is checked only when
 * --allowed-hosts is given.
 *
 * Origin. A write (any method but GET, HEAD and OPTIONS) that carries an
 * Origin must come from the daemon's own: the scheme it serves and the Host
 * the request names, or a host of --allowed-hosts (a page served through a
 * proxy under that name); else 403 forbidden, field "Origin". Requests
 * without Origin (curl, the clients) pass: browsers send it on every
 * cross-site write. CORS stays closed: no Access-Control-* header is sent.
 *
 * Everything here reads header text only: no allocation, no I/O.
 */
#ifndef TRAIND_HTTP_GUARD_H
#define TRAIND_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* The head's fields that matter here, gathered one field at a time. */
typedef struct {
  const char *bad_name;      /* the first field name that is not a token, or NULL */
  size_t n_host, n_length, n_encoding, n_origin;
  const char *host, *length, *encoding, *origin; /* the first of each, or NULL */
  bool lengths_differ;       /* two Content-Length values are not the same */
} http_guard_head;

/* Where the daemon serves. */
typedef struct {
  bool tls;                  /* https */
  bool loopback;             /* the listening address is a loopback one */
  const char *allowed_hosts; /* config.allowed_hosts: "" or "a.example,[fd00::1]" */
} http_guard_site;

/** Add one header field (name and value as received; duplicates too). */
void http_guard_add(http_guard_head *h, const char *name, const char *value);

/**
 * Check a complete head.
 * @param method  as sent, e.g. "POST"
 * @param http11  the request is HTTP/1.1 (HTTP/1.0 may omit Host)
 * @return 0, or -API_INVALID_ARGUMENT (framing, Host missing or repeated),
 *         -API_NOT_IMPLEMENTED (Transfer-Encoding) or -API_FORBIDDEN (Host,
 *         Origin), with err's field naming the header
 */
int http_guard_check(const http_guard_head *h, const http_guard_site *site, const char *method,
                     bool http11, api_error *err);

#endif
