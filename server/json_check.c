/* json_check.c — a strict, iterative RFC 8259 validator (see json_check.h). */
#include "json_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* An open array or object: where the walk is inside it, for the path of a
 * container nested too deep. */
typedef struct {
  bool object;
  size_t index;          /* arrays: the element being read */
  size_t key, key_len;   /* objects: the current member's name as sent (offset, bytes) */
} level;

typedef struct {
  const unsigned char *s;
  size_t len, pos;
  int depth;
  level stack[JSON_CHECK_MAX_DEPTH];
  api_error *err;
} lexer;

static int fail(const lexer *L, const char *what) {
  return api_fail(L->err, API_INVALID_ARGUMENT, NULL, "malformed JSON at byte %zu: %s", L->pos,
                  what);
}

static int peek(const lexer *L) { return L->pos < L->len ? L->s[L->pos] : -1; }

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static void skip_blanks(lexer *L) {
  while (L->pos < L->len) {
    unsigned char c = L->s[L->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    L->pos++;
  }
}

/* Four hex digits at s[at..]; @return the value, or -1. */
static long hex4(const lexer *L, size_t at) {
  long v = 0;
  if (at > L->len || L->len - at < 4) return -1;
  for (size_t i = at; i < at + 4; i++) {
    unsigned char c = L->s[i];
    int lower = c | 0x20;
    int d = is_digit(c) ? c - '0' : lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* An escape at the backslash. */
static int escape(lexer *L) {
  int e = L->pos + 1 < L->len ? L->s[L->pos + 1] : -1;
  switch (e) {
  case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
    L->pos += 2;
    return 0;
  case 'u':
    break;
  default:
    return fail(L, e < 0 ? "a string is not closed" : "unknown escape in a string");
  }
  long u = hex4(L, L->pos + 2);
  if (u < 0) return fail(L, "\\u needs four hex digits");
  if (u == 0) return fail(L, "a string holds \\u0000, and strings cannot hold NUL");
  if (u >= 0xDC00 && u <= 0xDFFF) return fail(L, "unpaired UTF-16 surrogate escape");
  if (u >= 0xD800 && u <= 0xDBFF) {
    size_t low_at = L->pos + 6;
    long low = low_at + 1 < L->len && L->s[low_at] == '\\' && L->s[low_at + 1] == 'u'
                   ? hex4(L, low_at + 2)
                   : -1;
    if (low < 0xDC00 || low > 0xDFFF) return fail(L, "unpaired UTF-16 surrogate escape");
    L->pos += 6;
  }
  L->pos += 6;
  return 0;
}

/* A string at its opening quote. */
static int string(lexer *L) {
  L->pos++;
  for (;;) {
    int c = peek(L);
    if (c < 0) return fail(L, "a string is not closed");
    if (c == '"') {
      L->pos++;
      return 0;
    }
    if (c < 0x20) return fail(L, "a control character in a string must be escaped");
    if (c == '\\') {
      int rc = escape(L);
      if (rc != 0) return rc;
      continue;
    }
    size_t n = utf8_char(L->s + L->pos, L->len - L->pos);
    if (n == 0) return fail(L, "the text is not UTF-8");
    L->pos += n;
  }
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int number(lexer *L) {
  if (peek(L) == '-') L->pos++;
  if (!is_digit(peek(L))) return fail(L, "a number needs digits (-Infinity is not JSON)");
  if (peek(L) == '0') {
    L->pos++;
    if (is_digit(peek(L))) return fail(L, "numbers cannot have leading zeros");
  }
  while (is_digit(peek(L))) L->pos++;
  if (peek(L) == '.') {
    L->pos++;
    if (!is_digit(peek(L))) return fail(L, "a decimal point must be followed by digits");
    while (is_digit(peek(L))) L->pos++;
  }
  if (peek(L) == 'e' || peek(L) == 'E') {
    L->pos++;
    if (peek(L) == '+' || peek(L) == '-') L->pos++;
    if (!is_digit(peek(L))) return fail(L, "an exponent needs digits");
    while (is_digit(peek(L))) L->pos++;
  }
  return 0;
}

static int literal(lexer *L) {
  static const char *const words[] = {"true", "false", "null"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    size_t n = strlen(words[i]);
    if (L->len - L->pos >= n && memcmp(L->s + L->pos, words[i], n) == 0) {
      L->pos += n;
      return 0;
    }
  }
  return fail(L, "expected a value; true, false and null are JSON's only words (NaN and "
                 "Infinity are not JSON)");
}

/* The name and colon of an object member, its value next. */
static int member_name(lexer *L, level *lv) {
  skip_blanks(L);
  if (peek(L) != '"') return fail(L, "expected a member name in double quotes");
  lv->key = L->pos + 1;
  int rc = string(L);
  if (rc != 0) return rc;
  lv->key_len = L->pos - 1 - lv->key;
  skip_blanks(L);
  if (peek(L) != ':') return fail(L, "expected ':' after a member name");
  L->pos++;
  return 0;
}

/* The open containers are full: name the path of the one that would nest deeper. */
static int too_deep(const lexer *L) {
  char path[sizeof L->err->field] = "";
  size_t used = 0;
  for (int i = 0; i < L->depth && used + 1 < sizeof path; i++) {
    const level *lv = &L->stack[i];
    int w = lv->object ? snprintf(path + used, sizeof path - used, "%s%.*s", used ? "." : "",
                                  (int)lv->key_len, (const char *)L->s + lv->key)
                       : snprintf(path + used, sizeof path - used, "[%zu]", lv->index);
    if (w < 0) break;
    used += (size_t)w < sizeof path - used ? (size_t)w : sizeof path - used - 1;
  }
  return api_fail(L->err, API_INVALID_ARGUMENT, path,
                  "JSON nests deeper than %d levels (at byte %zu)", JSON_CHECK_MAX_DEPTH, L->pos);
}

/* A value at L->pos: a scalar is read whole; a container is opened (and
 * closed at once when empty). @return 0 or an error */
static int value(lexer *L) {
  skip_blanks(L);
  int c = peek(L);
  if (c == '{' || c == '[') {
    if (L->depth == JSON_CHECK_MAX_DEPTH) return too_deep(L);
    level *lv = &L->stack[L->depth++];
    *lv = (level){.object = c == '{'};
    L->pos++;
    skip_blanks(L);
    if (peek(L) == (lv->object ? '}' : ']')) {
      L->pos++;
      L->depth--;
      return 0;
    }
    return lv->object ? member_name(L, lv) : 0;
  }
  if (c == '"') return string(L);
  if (c == '-' || is_digit(c)) return number(L);
  if (c < 0) return fail(L, "expected a value, found the end of the body");
  return literal(L);
}

int json_check(const char *body, size_t len, api_error *err) {
  lexer L = {.s = (const unsigned char *)body, .len = len, .err = err};
  if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) L.pos = 3;
  bool want_value = true;
  for (;;) {
    if (want_value) {
      int depth = L.depth;
      int rc = value(&L);
      if (rc != 0) return rc;
      /* A container just opened (non-empty) wants its first value next. */
      want_value = L.depth > depth;
      continue;
    }
    skip_blanks(&L);
    if (L.depth == 0) return L.pos == L.len ? 0 : fail(&L, "unexpected data after the JSON value");
    level *lv = &L.stack[L.depth - 1];
    int c = peek(&L);
    if (c == ',') {
      L.pos++;
      if (lv->object) {
        int rc = member_name(&L, lv);
        if (rc != 0) return rc;
      } else {
        lv->index++;
      }
      want_value = true;
    } else if (c == (lv->object ? '}' : ']')) {
      L.pos++;
      L.depth--;
    } else {
      return fail(&L, lv->object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
}
