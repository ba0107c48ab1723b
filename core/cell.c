/*
 * cell.c — what a cell of text means: a decimal number, an ISO 8601 date
 * or date-time, a boolean; and the canonical text of a number or a date.
 *
 * The number parser is the table builder's hot path (a cell in a few tens
 * of nanoseconds): it checks the strict decimal grammar itself, so hex
 * floats, inf and nan never pass as numbers (strtod takes all three), and
 * computes the common case exactly without strtod: up to 19 significant
 * digits fit a uint64, and when the mantissa is at most 2^53 and the power
 * of ten at most 22, both are exact doubles and one IEEE multiplication or
 * division rounds correctly (Clinger's fast path). Anything else goes to
 * strtod on a copy of the already-checked text.
 *
 * Dates count days with Howard Hinnant's days_from_civil (proleptic
 * Gregorian, eras of 400 years), so no time zone database or libc time
 * function is involved: the same text gives the same seconds everywhere.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_internal.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_blank(char c) { return c == ' ' || c == '\t'; }

const char *nn__trim(const char *s, size_t *len) {
  size_t n = *len;
  while (n > 0 && is_blank(*s)) s++, n--;
  while (n > 0 && is_blank(s[n - 1])) n--;
  *len = n;
  return s;
}

/* 10^0 .. 10^22: every one an exact double. */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define TWO_53 9007199254740992.0

/* strtod on a NUL-terminated copy of checked text; the copy is on the stack
 * unless the text is long (thousands of digits: never a hot path). */
static int slow_path(const char *s, size_t len, double *out) {
  char small[128], *buf = small;
  if (len >= sizeof small && (buf = malloc(len + 1)) == NULL) return NN_ENOMEM;
  memcpy(buf, s, len);
  buf[len] = '\0';
  double v = strtod(buf, NULL);
  if (buf != small) free(buf);
  if (!isfinite(v)) return NN_EINVAL;
  *out = v;
  return NN_OK;
}

/* Digits from p: up to 19 significant ones accumulate in *m (leading zeros
 * skipped), *nd counts them; later ones are dropped, *lost set when a
 * dropped one is not 0. @return the first byte after the digits */
static const char *digits(const char *p, const char *end, uint64_t *m, int *nd, int *dropped,
                          int *lost) {
  for (; p < end; p++) {
    unsigned d = (unsigned)(*p - '0');
    if (d > 9) break;
    if (*nd < 19) {
      *m = *m * 10 + d;
      *nd += *m != 0; /* a leading zero is not significant */
    } else {
      (*dropped)++;
      *lost |= d != 0;
    }
  }
  return p;
}

int nn_parse_number(const char *s, size_t len, double *out, int *integral) {
  s = nn__trim(s, &len);
  const char *p = s, *end = s + len, *q;
  int neg = 0, nd = 0, dropped = 0, lost = 0, point = 0, has_exp = 0, n_digits;
  uint64_t m = 0;
  long exp10 = 0, frac_digits = 0;
  if (p < end && (*p == '+' || *p == '-')) neg = *p++ == '-';
  q = digits(p, end, &m, &nd, &dropped, &lost);
  n_digits = (int)(q - p);
  long int_dropped = dropped; /* integer digits past 19 scale the value by 10 each */
  p = q;
  if (p < end && *p == '.') {
    point = 1;
    int dropped0 = dropped;
    q = digits(p + 1, end, &m, &nd, &dropped, &lost);
    n_digits += (int)(q - p - 1);
    /* fraction digits that entered m, leading zeros included (they divide) */
    frac_digits = (long)(q - p - 1) - (dropped - dropped0);
    p = q;
  }
  if (n_digits == 0) return NN_EINVAL;
  if (p < end && (*p == 'e' || *p == 'E')) {
    q = p + 1;
    int eneg = 0, edigits = 0;
    long e = 0;
    if (q < end && (*q == '+' || *q == '-')) eneg = *q++ == '-';
    for (; q < end && is_digit(*q); q++, edigits++)
      if (e < 100000) e = e * 10 + (*q - '0'); /* beyond, the value is 0 or inf anyway */
    if (edigits == 0) return NN_EINVAL;
    exp10 = eneg ? -e : e;
    has_exp = 1;
    p = q;
  }
  if (p != end) return NN_EINVAL;
  double v;
  long e10 = exp10 - frac_digits + int_dropped;
  if (!lost && m <= (uint64_t)TWO_53 && e10 >= -22 && e10 <= 22) {
    v = (double)m;
    v = e10 >= 0 ? v * pow10_exact[e10] : v / pow10_exact[-e10];
    if (neg) v = -v;
  } else {
    int rc = slow_path(s, len, &v);
    if (rc != NN_OK) return rc == NN_ENOMEM ? NN_ENOMEM : NN_EINVAL;
  }
  if (!isfinite(v)) return NN_EINVAL;
  if (integral != NULL) *integral = !point && !has_exp && fabs(v) <= TWO_53;
  *out = v;
  return NN_OK;
}

int nn_parse_boolean(const char *s, size_t len) {
  static const struct {
    const char *word;
    size_t len;
    int value;
  } words[] = {{"true", 4, 1}, {"false", 5, 0}, {"yes", 3, 1}, {"no", 2, 0}};
  s = nn__trim(s, &len);
  for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
    if (len != words[w].len) continue;
    size_t i = 0;
    while (i < len && (s[i] | 0x20) == words[w].word[i]) i++;
    if (i == len) return words[w].value;
  }
  return -1;
}

/* ---- dates --------------------------------------------------------------------- */

int64_t nn__days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                  /* [0, 399] */
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

void nn__civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

/* n digits at p (p + n <= end) as a number, or -1. */
static int digits_at(const char *p, const char *end, int n) {
  int v = 0;
  if (end - p < n) return -1;
  for (int i = 0; i < n; i++) {
    if (!is_digit(p[i])) return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

int nn_parse_datetime(const char *s, size_t len, double *seconds, int *has_time) {
  s = nn__trim(s, &len);
  const char *p = s, *end = s + len;
  int y = digits_at(p, end, 4), mo, d, h = 0, mi = 0, sec = 0, timed = 0;
  double frac = 0;
  long offset = 0; /* seconds east of UTC */
  if (y < 0 || len < 10 || p[4] != '-' || p[7] != '-') return NN_EINVAL;
  mo = digits_at(p + 5, end, 2);
  d = digits_at(p + 8, end, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return NN_EINVAL;
  p += 10;
  if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
    p++;
    h = digits_at(p, end, 2);
    if (h < 0 || h > 23 || end - p < 5 || p[2] != ':') return NN_EINVAL;
    mi = digits_at(p + 3, end, 2);
    if (mi < 0 || mi > 59) return NN_EINVAL;
    p += 5;
    if (p < end && *p == ':') {
      sec = digits_at(p + 1, end, 2);
      if (sec < 0 || sec > 59) return NN_EINVAL;
      p += 3;
      if (p < end && (*p == '.' || *p == ',')) {
        double scale = 0.1;
        const char *q = ++p;
        for (; p < end && is_digit(*p); p++, scale /= 10) frac += (*p - '0') * scale;
        if (p == q) return NN_EINVAL;
      }
    }
    timed = 1;
    if (p < end && (*p == 'Z' || *p == 'z')) {
      p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
      int sign = *p++ == '-' ? -1 : 1, oh = digits_at(p, end, 2), om = 0;
      if (oh < 0 || oh > 23) return NN_EINVAL;
      p += 2;
      if (p < end && *p == ':') p++;
      if (p < end) {
        om = digits_at(p, end, 2);
        if (om < 0 || om > 59) return NN_EINVAL;
        p += 2;
      }
      offset = sign * (oh * 3600L + om * 60L);
    }
  }
  if (p != end) return NN_EINVAL;
  int64_t days = nn__days_from_civil(y, mo, d);
  *seconds = (double)(days * 86400 + h * 3600 + mi * 60 + sec - offset) + frac;
  if (has_time != NULL) *has_time = timed;
  return NN_OK;
}

/* ---- canonical text ------------------------------------------------------------ */

int nn__format_number(double v, char *buf) {
  int n = 0;
  if (v == trunc(v) && fabs(v) < 1e15) return snprintf(buf, 25, "%.0f", v); /* "10", not "1e+01" */
  for (int prec = 1; prec <= 17; prec++) {
    n = snprintf(buf, 25, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return n;
}

int nn__format_datetime(double seconds, int has_time, char *buf) {
  double day_start = floor(seconds / 86400.0);
  double in_day = seconds - day_start * 86400.0; /* [0, 86400) */
  int64_t y;
  int m, d;
  nn__civil_from_days((int64_t)day_start, &y, &m, &d);
  if (!has_time) return snprintf(buf, 41, "%04lld-%02d-%02d", (long long)y, m, d);
  int whole = (int)in_day;
  double frac = in_day - whole;
  int n = snprintf(buf, 41, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m, d, whole / 3600,
                   whole / 60 % 60, whole % 60);
  if (frac > 0) {
    char f[16];
    snprintf(f, sizeof f, "%.6f", frac); /* "0.xxxxxx" */
    size_t fl = strlen(f);
    while (fl > 2 && f[fl - 1] == '0') fl--;
    if (fl > 2 && f[0] == '0') n += snprintf(buf + n, (size_t)(41 - n), "%.*s", (int)fl - 1, f + 1);
  }
  return n + snprintf(buf + n, (size_t)(41 - n), "Z");
}
