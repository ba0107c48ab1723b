/*
 * sse.h — Server-Sent Events framing (text/event-stream) into a buffer that
 * the HTTP layer drains as the client takes it.
 *
 * An event is written as
 *
 *     id: 42
 *     event: epoch
 *     data: {"job":1,...}
 *     <blank line>
 *
 * with one "data:" line per line of the data, so data holding a newline
 * still arrives whole; a comment is ": text" and a blank line.
 */
#ifndef TRAIND_SSE_H
#define TRAIND_SSE_H

#include <stddef.h>
#include <stdint.h>

#define SSE_BUFFER_MAX (64u << 20) /* bytes one stream may hold unsent */

typedef struct {
  char *data;  /* malloc'd, or NULL while nothing was ever written */
  size_t len;  /* bytes written */
  size_t sent; /* of which already taken */
  size_t cap;
} sse_buffer;

/**
 * Append an event.
 * @param id    its id (> 0)
 * @param event its type: a short word without line breaks ("epoch")
 * @param data  its data, any text; each line ("\n", "\r\n" or "\r" ends
 *              one) gets its own "data:" line
 * @return 0, or -1 when event is not such a word, or out of memory or past
 *         SSE_BUFFER_MAX (nothing is appended then)
 */
int sse_event(sse_buffer *b, int64_t id, const char *event, const char *data);

/** Append the comment ": text" and a blank line. @return 0 or -1 as sse_event */
int sse_comment(sse_buffer *b, const char *text);

/** @return the bytes written and not taken yet. */
size_t sse_pending(const sse_buffer *b);

/**
 * Move up to max pending bytes to out; once all are taken the buffer is
 * empty again (its memory is kept for the next events).
 * @return the bytes moved
 */
size_t sse_take(sse_buffer *b, char *out, size_t max);

/** Release the buffer's memory; it is then empty and reusable. */
void sse_buffer_free(sse_buffer *b);

#endif
