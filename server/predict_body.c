/* predict_body.c — {"inputs": [[...], ...]} into floats (predict_body.h). */
#include "predict_body.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longer number tokens are legal JSON but not worth a fast path. */
#define NUMBER_MAX 63

typedef struct {
  const char *p, *end;
} cursor;

static void skip_space(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

/* Consume ch after optional whitespace. @return 1 when it was there */
static int eat(cursor *c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

static int is_digit(const char *p, const char *end) { return p < end && *p >= '0' && *p <= '9'; }

/* The double nearest to m * 10^e when m < 2^53 and |e| <= 22: both factors
 * are exact doubles, so one IEEE multiplication or division rounds
 * correctly (Clinger's fast path) and gives strtod's bits. @return 0 when
 * the number is outside that range */
static int exact_decimal(uint64_t m, int e, double *out) {
  static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (m >= (1ull << 53) || e < -22 || e > 22) return 0;
  *out = e >= 0 ? (double)m * pow10[e] : (double)m / pow10[-e];
  return 1;
}

size_t predict_body_number(const char *s, size_t len, double *out) {
  const char *p = s, *end = s + len;
  uint64_t m = 0;
  int digits = 0, e = 0, neg = 0;
  if (p < end && *p == '-') {
    neg = 1;
    p++;
  }
  if (!is_digit(p, end)) return 0;
  if (*p == '0') {
    p++;
  } else {
    for (; is_digit(p, end); p++, digits++)
      if (digits < 19) m = m * 10 + (uint64_t)(*p - '0');
      else e++; /* digits past 19 only scale; the fast path declines */
  }
  if (p < end && *p == '.') {
    if (!is_digit(++p, end)) return 0;
    for (; is_digit(p, end); p++) {
      if (m == 0 && *p == '0') { /* leading zeros of a fraction carry no digits */
        e--;
        continue;
      }
      if (digits++ < 19) {
        m = m * 10 + (uint64_t)(*p - '0');
        e--;
      }
    }
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    int sign = 1, x = 0;
    if (p < end && (*p == '+' || *p == '-')) sign = *p++ == '-' ? -1 : 1;
    if (!is_digit(p, end)) return 0;
    for (; is_digit(p, end); p++)
      if (x < 10000) x = x * 10 + (*p - '0');
    e += sign * x;
  }
  size_t n = (size_t)(p - s);
  if (digits <= 19 && exact_decimal(m, e, out)) {
    if (neg) *out = -*out;
    return n;
  }
  if (n > NUMBER_MAX) return 0;
  char tok[NUMBER_MAX + 1];
  memcpy(tok, s, n);
  tok[n] = '\0';
  *out = strtod(tok, NULL);
  return n;
}

/* A number, finite as a float32: the double rounded, as the generic path
 * does. @return 1 with *v, or 0 */
static int number(cursor *c, float *v) {
  skip_space(c);
  double d;
  size_t n = predict_body_number(c->p, (size_t)(c->end - c->p), &d);
  if (n == 0 || !isfinite(d) || fabs(d) > FLT_MAX) return 0;
  *v = (float)d;
  c->p += n;
  return 1;
}

predict_body_status predict_body_read(const char *body, size_t len, int width, size_t max_rows,
                                      float **x, size_t *cap, size_t *rows) {
  static const char key[] = "\"inputs\"";
  cursor c = {body, body + len};
  size_t n = 0;
  *rows = 0;
  if (width < 1 || !eat(&c, '{')) return PREDICT_BODY_OTHER;
  skip_space(&c);
  if ((size_t)(c.end - c.p) < sizeof key - 1 || memcmp(c.p, key, sizeof key - 1) != 0)
    return PREDICT_BODY_OTHER;
  c.p += sizeof key - 1;
  if (!eat(&c, ':') || !eat(&c, '[')) return PREDICT_BODY_OTHER;
  do {
    if (n == max_rows || !eat(&c, '[')) return PREDICT_BODY_OTHER;
    if ((n + 1) * (size_t)width > *cap) {
      size_t want = *cap > 0 ? *cap : (size_t)width;
      while (want < (n + 1) * (size_t)width) want *= 2;
      float *grown = realloc(*x, want * sizeof **x);
      if (grown == NULL) return PREDICT_BODY_NOMEM;
      *x = grown;
      *cap = want;
    }
    float *row = *x + n * (size_t)width; /* (width,) */
    for (int j = 0; j < width; j++)
      if ((j > 0 && !eat(&c, ',')) || !number(&c, &row[j])) return PREDICT_BODY_OTHER;
    if (!eat(&c, ']')) return PREDICT_BODY_OTHER;
    n++;
  } while (eat(&c, ','));
  if (!eat(&c, ']') || !eat(&c, '}')) return PREDICT_BODY_OTHER;
  skip_space(&c);
  if (c.p != c.end) return PREDICT_BODY_OTHER;
  *rows = n;
  return PREDICT_BODY_OK;
}
