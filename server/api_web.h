/*
 * api_web.h — the dashboard: GET / is its page, GET /ui/<path> its scripts,
 * styles and images (web.h). They hold no data, so they need no token; the
 * page asks for one when /v1 answers 401.
 *
 * Every answer carries an ETag and "Cache-Control: no-cache" (the names
 * carry no version, so a browser revalidates each time and gets 304 Not
 * Modified while the daemon's build is the same), and a
 * Content-Security-Policy that allows the daemon's own scripts, styles and
 * connections only: no inline script or style, no other origin.
 */
#ifndef TRAIND_API_WEB_H
#define TRAIND_API_WEB_H

#include "http.h"

/* The policy every dashboard answer carries. */
#define API_WEB_CSP                                                                      \
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "            \
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "         \
  "frame-ancestors 'none'"

/** GET / → 200 index.html, or 304 when If-None-Match names its tag. */
void api_web_index(app *a, const http_request *req, http_response *res);

/** GET /ui/{...} → 200 the file, 304 as above, or 404 not_found. */
void api_web_asset(app *a, const http_request *req, http_response *res);

#endif
