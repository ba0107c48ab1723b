/*
 * json_stream.h — strict RFC 8259 JSON as a stream of events, for bodies
 * too large to hold as a tree (JSON data sets, up to 256 MiB).
 *
 * A tree costs a node per value: cJSON spends ~43 bytes of memory on each
 * byte of a data set's numbers. Here the body is fed in chunks as it
 * arrives and never held: YAJL 2.1 turns it into events (a container
 * opens or closes, a member name, a string, a number's text), which the
 * consumer turns into what it keeps. YAJL is laxer than the API (any
 * 0x80-0xFF sequence passes as UTF-8, "\ud800" becomes "?", no depth
 * limit, duplicate names pass), so a lexer beside it checks every byte
 * first, with json_check's rules and messages (json_check.h): UTF-8,
 * escapes, numbers, literals, nesting. What holds for a buffered body
 * holds for a streamed one, down to the byte named in an error; duplicate
 * member names are refused as parse_json_body refuses them (the smallest
 * name of the first object in document order that has one).
 *
 * Costs: the open containers (at most JSON_CHECK_MAX_DEPTH) with the names
 * of their members so far, and YAJL's buffer for a token cut by a chunk.
 */
#ifndef TRAIND_JSON_STREAM_H
#define TRAIND_JSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* What the consumer hears, in document order. Text is not NUL-terminated;
 * strings are decoded (escapes resolved) and valid UTF-8 without NUL. */
typedef struct {
  void (*open)(void *ctx, bool object); /* '{' or '[' */
  void (*close)(void *ctx);             /* '}' or ']' */
  void (*key)(void *ctx, const char *s, size_t len);
  void (*string)(void *ctx, const char *s, size_t len);
  void (*number)(void *ctx, const char *s, size_t len); /* as sent: "-1.5e3" */
  void (*literal)(void *ctx, char which);               /* 't'rue, 'f'alse or 'n'ull */
} json_stream_events;

typedef struct json_stream json_stream;

/**
 * Start a document.
 * @param ev, ctx the events and their first argument; both outlive the stream
 * @return 0, or -API_INTERNAL when out of memory
 */
int json_stream_new(const json_stream_events *ev, void *ctx, json_stream **out, api_error *err);

/**
 * Parse the next len bytes; events before the first error are delivered,
 * none after it. A malformed document is reported by json_stream_finish.
 */
void json_stream_feed(json_stream *s, const char *data, size_t len);

/**
 * End of the body.
 * @return 0 when the body was one JSON value; else -API_INVALID_ARGUMENT
 *         ("the body is empty", "malformed JSON at byte N: ...", "JSON
 *         nests deeper than 64 levels", "x appears more than once"), or
 *         -API_INTERNAL when out of memory
 */
int json_stream_finish(json_stream *s, api_error *err);

void json_stream_free(json_stream *s);

#endif
