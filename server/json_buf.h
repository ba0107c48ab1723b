/*
 * json_buf.h — JSON text written straight into a growing buffer, for the
 * answers on hot paths (predict) where building a cJSON tree and printing it
 * would cost more than the work itself: a node and a malloc per number, and
 * a printf-and-reparse per float.
 *
 * Writes after a failed allocation are ignored; json_buf_take reports it.
 */
#ifndef TRAIND_JSON_BUF_H
#define TRAIND_JSON_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *p;    /* (cap,) NUL-terminated text so far */
  size_t len; /* bytes written, excluding the NUL */
  size_t cap;
  int failed; /* an allocation failed: the text is incomplete */
} json_buf;

/** Start empty with room for about hint bytes (grows as needed). */
void json_buf_init(json_buf *b, size_t hint);

/** Append n bytes as they are (JSON punctuation, keys known to need no escaping). */
void json_buf_raw(json_buf *b, const char *s, size_t n);

/** Append a NUL-terminated literal as it is. */
void json_buf_lit(json_buf *b, const char *s);

void json_buf_int(json_buf *b, int64_t v);

/** A float32 as %.9g, which always reads back to the same float; null when not finite. */
void json_buf_float(json_buf *b, float v);

/** A string, quoted and escaped (control characters as \u00XX). */
void json_buf_string(json_buf *b, const char *s);

/**
 * @return the text (malloc'd, the caller owns it) and its length, or NULL
 *         when an allocation failed (the buffer is then freed)
 */
char *json_buf_take(json_buf *b, size_t *len);

#endif
