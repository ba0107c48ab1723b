/* json_buf.c — JSON text into a growing buffer (json_buf.h). */
#include "json_buf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and a NUL. @return 0, or -1 (b->failed set) */
static int reserve(json_buf *b, size_t n) {
  if (b->failed) return -1;
  if (n < b->cap - b->len) return 0;
  size_t cap = b->cap > 0 ? b->cap : 64;
  while (n >= cap - b->len) {
    if (cap > SIZE_MAX / 2) goto fail;
    cap *= 2;
  }
  char *p = realloc(b->p, cap);
  if (p == NULL) goto fail;
  b->p = p;
  b->cap = cap;
  return 0;
fail:
  b->failed = 1;
  return -1;
}

void json_buf_init(json_buf *b, size_t hint) {
  memset(b, 0, sizeof *b);
  if (reserve(b, hint) == 0) b->p[0] = '\0';
}

void json_buf_raw(json_buf *b, const char *s, size_t n) {
  if (reserve(b, n) != 0) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void json_buf_lit(json_buf *b, const char *s) { json_buf_raw(b, s, strlen(s)); }

/* Append what a snprintf of at most max bytes writes. */
#define APPEND_FORMAT(b, max, ...)                                           \
  do {                                                                       \
    if (reserve(b, max) == 0) {                                              \
      int n_ = snprintf((b)->p + (b)->len, (max) + 1, __VA_ARGS__);          \
      if (n_ > 0) (b)->len += (size_t)n_ < (max) ? (size_t)n_ : (max);       \
    }                                                                        \
  } while (0)

void json_buf_int(json_buf *b, int64_t v) { APPEND_FORMAT(b, 24, "%" PRId64, v); }

void json_buf_float(json_buf *b, float v) {
  if (!isfinite(v)) {
    json_buf_raw(b, "null", 4);
    return;
  }
  /* 9 significant digits identify every float32 (IEEE 754, 5.12.2); %g
   * never prints inf/nan here, and its exponent form is valid JSON. */
  APPEND_FORMAT(b, 24, "%.9g", (double)v);
}

void json_buf_string(json_buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  json_buf_raw(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
    size_t run = 0; /* copy runs of plain bytes at once */
    while (c[run] >= 0x20 && c[run] != '"' && c[run] != '\\') run++;
    if (run > 0) {
      json_buf_raw(b, (const char *)c, run);
      c += run - 1;
      continue;
    }
    char esc[6] = {'\\', (char)*c, 0, 0, 0, 0};
    size_t n = 2;
    if (*c == '\n') esc[1] = 'n';
    else if (*c == '\t') esc[1] = 't';
    else if (*c == '\r') esc[1] = 'r';
    else if (*c < 0x20) {
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[*c >> 4];
      esc[5] = hex[*c & 15];
      n = 6;
    }
    json_buf_raw(b, esc, n);
  }
  json_buf_raw(b, "\"", 1);
}

char *json_buf_take(json_buf *b, size_t *len) {
  if (b->failed || b->p == NULL) {
    free(b->p);
    memset(b, 0, sizeof *b);
    return NULL;
  }
  char *p = b->p;
  *len = b->len;
  memset(b, 0, sizeof *b);
  return p;
}
