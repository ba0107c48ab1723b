/* api_web.c — the dashboard's files, with cache validation and a strict CSP. */
#include "api_web.h"

#include "web.h"

static void answer(const http_request *req, http_response *res, const web_asset *file) {
  http_add_header(res, "ETag", file->etag);
  http_add_header(res, "Cache-Control", "no-cache");
  http_add_header(res, "Content-Security-Policy", API_WEB_CSP);
  http_add_header(res, "X-Content-Type-Options", "nosniff");
  http_add_header(res, "Referrer-Policy", "no-referrer");
  if (web_etag_match(http_header(req, "If-None-Match"), file->etag)) {
    http_static(res, 304, file->data, file->len, file->content_type); /* its length only */
    return;
  }
  http_static(res, 200, file->data, file->len, file->content_type);
}

void api_web_index(app *a, const http_request *req, http_response *res) {
  (void)a;
  const web_asset *file = web_find("index.html");
  if (file == NULL) {
    http_fail(res, API_INTERNAL, NULL, "this build of traind has no dashboard page");
    return;
  }
  answer(req, res, file);
}

void api_web_asset(app *a, const http_request *req, http_response *res) {
  (void)a;
  const web_asset *file = web_find(req->tail);
  if (file == NULL) {
    http_fail(res, API_NOT_FOUND, NULL, "no dashboard file at /ui/%.200s", req->tail);
    return;
  }
  answer(req, res, file);
}
