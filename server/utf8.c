/* utf8.c — UTF-8 validation (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
#include "utf8.h"

#include <string.h>

size_t utf8_char(const unsigned char *s, size_t len) {
  unsigned c = s[0];
  size_t n;
  unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0; /* overlong below U+0800 */
    if (c == 0xED) hi = 0x9F; /* U+D800..U+DFFF are surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90; /* overlong below U+10000 */
    if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
  } else {
    return 0; /* a continuation byte, 0xC0/0xC1 (overlong) or 0xF5.. */
  }
  if (len < n || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return n;
}

int utf8_check(const char *s, size_t len, size_t *bad_at) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_char(u + i, len - i);
    if (n == 0) {
      if (bad_at != NULL) *bad_at = i;
      return -1;
    }
    i += n;
  }
  return 0;
}

void utf8_scrub(char *s) {
  unsigned char *u = (unsigned char *)s;
  size_t len = strlen(s);
  for (size_t i = 0; i < len;) {
    size_t n = utf8_char(u + i, len - i);
    if (n == 0) {
      u[i] = '?';
      n = 1;
    }
    i += n;
  }
}
