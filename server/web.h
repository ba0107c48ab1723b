/*
 * web.h — the dashboard's files (clients/web), compiled into the daemon.
 *
 * The build turns every file under clients/web into a byte array with its
 * content type and entity tag (scripts/web_assets.py writes
 * $(BUILD)/web_assets.c, which defines the table declared here), so traind
 * serves its dashboard with nothing installed beside it. api_web.c answers
 * with them.
 */
#ifndef TRAIND_WEB_H
#define TRAIND_WEB_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  const char *path;          /* relative to clients/web: "index.html", "js/app.js" */
  const char *content_type;  /* "text/javascript; charset=utf-8" */
  const char *etag;          /* "\"<the first 16 hex digits of the file's SHA-256>\"" */
  const unsigned char *data; /* (len,) the file's bytes */
  size_t len;
} web_asset;

/* The generated table, sorted by path (strcmp order). */
extern const web_asset web_assets[];
extern const size_t web_assets_count;

/**
 * Find a file of the dashboard.
 * @param path relative to clients/web, e.g. "js/app.js"
 * @return the file, or NULL when there is none at that path
 */
const web_asset *web_find(const char *path);

/**
 * Does an If-None-Match header name this entity tag? Its value is "*" or a
 * comma-separated list of tags, each maybe weak (W/"..."), compared weakly
 * as RFC 9110 says for If-None-Match.
 * @param if_none_match the header's value, or NULL when absent (false then)
 * @param etag          a strong tag with its quotes: "\"1a2b\""
 */
bool web_etag_match(const char *if_none_match, const char *etag);

#endif
