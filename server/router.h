/*
 * router.h — the API's route table and how a request finds its route.
 *
 * A route is {method, pattern, body kind, body limit, handler, access}. Patterns are
 * literal segments and parameters in braces: "/v1/models/{id}/predict". A
 * parameter is a resource id, matched only by a canonical positive integer
 * <= 2^53 ("1", "42"; not "0", "007", "+1", "1e3" or "9007199254740993"),
 * except "{name}", which matches any segment and is handed over as text (the
 * Open Inference Protocol names models: "/v2/models/{name}/infer"). A pattern
 * has at most one "{name}".
 * A last segment "{...}" matches one or more segments, whose decoded text
 * joined by "/" is the match's tail ("/ui/{...}" takes "/ui/js/app.js" with
 * tail "js/app.js"; a "%2F" there matches nothing, so every "/" of a tail
 * separates segments); the pattern "/" matches the path "/" alone.
 *
 * Matching policy (router_match):
 *   - The path is split on "/" and each segment percent-decoded on its own, so
 *     "%31" matches "1" but "%2F" never splits a segment.
 *   - Strict: no trailing slash ("/v1/models/" is not "/v1/models"), no empty
 *     segments, no "." or ".." resolution.
 *   - No route for the path → 404 not_found. A segment that would be an id
 *     but is not a valid one ("/v1/models/abc", "/v1/models/0") is also 404:
 *     that URL can name no resource, just as an unknown id names none.
 *   - A method HTTP does not define (RFC 9110, and PATCH) → 501
 *     not_implemented, whatever the path. HEAD matches the GET routes, and
 *     the Allow of a GET route lists it.
 *   - Path known, method not → 405 method_not_allowed, with the methods the
 *     path allows for the Allow header.
 *   - Path and method known, Content-Type not accepted by any such route →
 *     415 unsupported_media_type. Several routes may share a method and
 *     pattern with different media types (JSON and CSV dataset uploads).
 */
#ifndef TRAIND_ROUTER_H
#define TRAIND_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define ROUTE_MAX_IDS 4           /* {id} parameters in one pattern */
#define ROUTE_MAX_SEGMENT 256     /* bytes of one decoded path segment */
#define ROUTE_MAX_SEGMENTS 16     /* segments in one path */
#define ROUTE_MAX_ID 9007199254740992ull /* 2^53: the largest id JSON carries exactly */
#define ROUTE_ALLOW_MAX 64        /* room for an Allow header value */
#define ROUTE_QUERY_MAX 16        /* parameters in one query string */
#define ROUTE_QUERY_BYTES 2048    /* bytes of one decoded query string */
#define ROUTE_NAME_PARAM "{name}" /* the one parameter that is text, not an id */
#define ROUTE_TAIL_MAX 512        /* bytes of a "{...}" tail; longer ones match nothing */

typedef struct app app;
typedef struct http_request http_request;
typedef struct http_response http_response;

/**
 * Answers a request whose body (if any) has been read in full. Runs on one of
 * the HTTP threads, concurrently with other handlers. Sets the response with
 * http_json() or http_error() (http.h); a handler that sets nothing answers 500.
 */
typedef void (*http_handler)(app *a, const http_request *req, http_response *res);

/*
 * A body parsed as it arrives, without ever being held whole (CSV uploads).
 * The calls for one request happen on one thread, in this order:
 *   begin — headers are known and the declared size fits the limit. Set *ctx.
 *           Return 0, or a negative api code with err filled to refuse the
 *           request before its body is read (e.g. a missing ?name=).
 *   chunk — zero or more times, with the next bytes of the body (not
 *           NUL-terminated; chunk boundaries fall anywhere, even inside a
 *           UTF-8 character or a CSV field). Return 0, or a negative api code
 *           with err filled: the rest of the body is then drained unread and
 *           the request answered with that error.
 *   end   — the whole body arrived and every chunk was accepted: answer.
 *   done  — always, exactly once after a successful begin (after end, after a
 *           refused chunk, or when the client went away): free ctx.
 */
typedef struct {
  int (*begin)(app *a, const http_request *req, void **ctx, api_error *err);
  int (*chunk)(void *ctx, const char *data, size_t len, api_error *err);
  void (*end)(app *a, const http_request *req, void *ctx, http_response *res);
  void (*done)(void *ctx);
} http_stream_ops;

typedef enum {
  ROUTE_BODY_NONE,   /* any body is drained unread (it still counts against the limit) */
  ROUTE_BODY_JSON,   /* application/json, buffered whole, then the handler runs */
  ROUTE_BODY_STREAM  /* media_type, handed to stream ops chunk by chunk */
} route_body;

typedef enum {
  ROUTE_LIMIT_DEFAULT, /* config max_body (1 MiB) */
  ROUTE_LIMIT_DATASET  /* config max_dataset_body (256 MiB) */
} route_limit;

/* Which token a route needs when the daemon has tokens (auth.h). The zero
 * value is the strictest, so a row that forgets to say is not left open. */
typedef enum {
  ROUTE_WRITE, /* the full token */
  ROUTE_READ,  /* the read-only token or the full one */
  ROUTE_OPEN   /* no token (/healthz) */
} route_access;

typedef struct {
  const char *method;     /* "GET", "POST", "DELETE"... */
  const char *pattern;    /* "/v1/models/{id}" */
  route_body body;
  route_limit limit;
  const char *media_type; /* ROUTE_BODY_STREAM only: the accepted type, "text/csv" */
  http_handler handler;   /* ROUTE_BODY_NONE and ROUTE_BODY_JSON */
  const http_stream_ops *stream; /* ROUTE_BODY_STREAM */
  route_access access;
  bool untyped_json;      /* ROUTE_BODY_JSON: a body without Content-Type is JSON too (the
                           * Open Inference Protocol's clients send none) */
} route;

/* A decoded query string. Holds pointers into itself: do not copy it. */
typedef struct {
  size_t count;
  const char *keys[ROUTE_QUERY_MAX];
  const char *values[ROUTE_QUERY_MAX]; /* "" for a key without "=" */
  char buf[ROUTE_QUERY_BYTES];
} route_query;

typedef struct {
  const route *route;
  uint64_t ids[ROUTE_MAX_IDS]; /* the pattern's {id} values, left to right */
  size_t n_ids;
  char name[ROUTE_MAX_SEGMENT]; /* the pattern's {name} value, decoded; "" when it has none */
  char tail[ROUTE_TAIL_MAX];    /* what a "{...}" segment matched, else "" */
  char allow[ROUTE_ALLOW_MAX];  /* on 405: "GET, DELETE" */
  const route *pattern;         /* on 405 and 415 too: a route whose pattern the path matched
                                 * (on 415, of the request's method), to count the request
                                 * under; NULL when none did */
} route_match;

/** @return the daemon's route table, defined in routes.c (n receives its length). */
const route *router_table(size_t *n);

/**
 * Find the route for a request.
 * @param method       the request method, e.g. "GET"
 * @param path         the raw path as sent, without the query, still percent-encoded
 * @param content_type the Content-Type header, or NULL when absent; media
 *                     types compare case-insensitively, and a charset
 *                     parameter must be utf-8
 * @param out          receives the route and ids on success, Allow on 405
 * @return 0, or -API_NOT_IMPLEMENTED, -API_NOT_FOUND, -API_METHOD_NOT_ALLOWED,
 *         -API_UNSUPPORTED_MEDIA with err filled
 */
int router_match(const route *table, size_t n, const char *method, const char *path,
                 const char *content_type, route_match *out, api_error *err);

/**
 * Parse a raw query string ("a=1&b=x%20y", without the "?"). "+" is a space,
 * "%XX" a byte; empty pairs ("a=1&&b=2") are skipped.
 * @return 0, or -API_INVALID_ARGUMENT (field "query", or the key at fault)
 *         for a bad escape, a NUL byte, an empty key, more than
 *         ROUTE_QUERY_MAX pairs or more than ROUTE_QUERY_BYTES decoded bytes
 */
int route_query_parse(route_query *q, const char *raw, api_error *err);

/**
 * Read a resource id as the router does: a canonical positive integer <= 2^53.
 * @return true, with *out set, when s is one
 */
bool route_parse_id(const char *s, uint64_t *out);

/** @return the value of the first pair named key, or NULL when absent. */
const char *route_query_get(const route_query *q, const char *key);

/**
 * Parse an integer in [lo, hi] written as plain decimal digits (no sign,
 * spaces or exponent; at most 16 digits); lo >= 0, hi <= ROUTE_MAX_ID.
 * @return 0, or -1 when s is not such a number
 */
int route_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out);

/**
 * The query parameter key as route_parse_int reads it.
 * @return 0 (when absent, *out is left as it is), or -API_INVALID_ARGUMENT
 *         with err naming key
 */
int route_query_int(const route_query *q, const char *key, int64_t lo, int64_t hi,
                    int64_t *out, api_error *err);

#endif
