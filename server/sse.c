/* sse.c — text/event-stream framing. */
#include "sse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Make room for `more` bytes past len, growing geometrically. */
static int reserve(sse_buffer *b, size_t more) {
  if (more > SSE_BUFFER_MAX - b->len) return -1;
  size_t need = b->len + more;
  if (need <= b->cap) return 0;
  size_t cap = b->cap > 0 ? b->cap : 1024;
  while (cap < need) cap *= 2;
  char *grown = realloc(b->data, cap);
  if (grown == NULL) return -1;
  b->data = grown;
  b->cap = cap;
  return 0;
}

static void put(sse_buffer *b, const char *s, size_t len) {
  memcpy(b->data + b->len, s, len);
  b->len += len;
}

/* The length of the line at s; *next is where the following one starts, or
 * NULL after the last. "\n", "\r\n" and a lone "\r" all end a line in SSE. */
static size_t line_at(const char *s, const char **next) {
  size_t len = strcspn(s, "\r\n");
  if (s[len] == '\0')
    *next = NULL;
  else
    *next = s + len + (s[len] == '\r' && s[len + 1] == '\n' ? 2 : 1);
  return len;
}

int sse_event(sse_buffer *b, int64_t id, const char *event, const char *data) {
  char head[96];
  if (strcspn(event, "\r\n") != strlen(event)) return -1;
  int head_len = snprintf(head, sizeof head, "id: %" PRId64 "\nevent: %s\n", id, event);
  if (head_len < 0 || (size_t)head_len >= sizeof head) return -1;
  /* Each line of data becomes "data: <line>\n"; then the blank line. */
  size_t need = (size_t)head_len + 1;
  for (const char *line = data; line != NULL;) {
    size_t len = line_at(line, &line);
    if (len > SSE_BUFFER_MAX || need > SSE_BUFFER_MAX) return -1;
    need += 6 + len + 1;
  }
  if (reserve(b, need) < 0) return -1;
  put(b, head, (size_t)head_len);
  for (const char *line = data; line != NULL;) {
    const char *start = line;
    size_t len = line_at(start, &line);
    put(b, "data: ", 6);
    put(b, start, len);
    put(b, "\n", 1);
  }
  put(b, "\n", 1);
  return 0;
}

int sse_comment(sse_buffer *b, const char *text) {
  size_t len = strcspn(text, "\r\n"); /* a comment is one line */
  if (reserve(b, len + 4) < 0) return -1;
  put(b, ": ", 2);
  put(b, text, len);
  put(b, "\n\n", 2);
  return 0;
}

size_t sse_pending(const sse_buffer *b) { return b->len - b->sent; }

size_t sse_take(sse_buffer *b, char *out, size_t max) {
  size_t n = sse_pending(b);
  if (n > max) n = max;
  if (n > 0) memcpy(out, b->data + b->sent, n);
  b->sent += n;
  if (b->sent == b->len) b->sent = b->len = 0;
  return n;
}

void sse_buffer_free(sse_buffer *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}
