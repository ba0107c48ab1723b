/* json_stream.c — strict JSON events from a body fed in chunks (see
 * json_stream.h).
 *
 * Each chunk goes first through the lexer below, byte by byte, up to the
 * first byte it refuses; YAJL then parses what the lexer accepted and
 * delivers the events. The lexer is json_check's grammar kept as a state
 * machine instead of a walk over a whole buffer: the state between two
 * bytes is what json_check keeps in its position and its stack, plus the
 * few bytes of an escape or a UTF-8 character that a chunk may cut. So an
 * error names the byte json_check names, with its words. YAJL sees only
 * what the lexer accepted, so it does not fail on a document the lexer
 * takes; if it ever did, its own message is passed on.
 *
 * Duplicate member names need the decoded names (escapes resolved), which
 * YAJL's events carry: each open object keeps its names in an interner
 * (keyed_hash.h: the client chooses them), all under one key drawn for the
 * document. parse_json_body reports the
 * first object, in the order a depth-first walk meets them (an object
 * before what it holds), with a name twice, and of its names the smallest:
 * an object's duplicate is known when it closes, after those of the
 * objects it holds, so it replaces one of theirs.
 */
#include "json_stream.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "intern.h"
#include "json_check.h"
#include "utf8.h"

#define FIELD_MAX sizeof(((api_error *)0)->field)

/* What the lexer expects next, between tokens. */
typedef enum {
  X_VALUE,
  X_FIRST_VALUE, /* just after '[': a value or ']' */
  X_KEY,
  X_FIRST_KEY, /* just after '{': a member name or '}' */
  X_COLON,
  X_AFTER, /* after a value inside a container: ',' or its close */
  X_END    /* after the top-level value: blanks only */
} expect;

/* The token the lexer is inside. */
typedef enum { T_NONE, T_STRING, T_ESCAPE, T_UTF8, T_NUMBER, T_WORD } token;

/* Where a number is in -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
typedef enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP } number_part;

/* An open container as the lexer sees it: for the path of one nested too deep. */
typedef struct {
  bool object;
  size_t index;           /* arrays: the element being read */
  char key[FIELD_MAX];    /* objects: the current member's name as sent (cut) */
  size_t key_len;
} lex_level;

/* An open container as the events see it: for duplicate names. */
typedef struct {
  bool object;
  size_t index;           /* arrays: elements so far */
  char key[FIELD_MAX];    /* objects: the current member's name, decoded (cut) */
  interner names;         /* objects: every member name so far */
  char *dup;              /* objects: the smallest name met twice, or NULL */
  uint64_t opened;        /* containers opened before this one */
} event_level;

struct json_stream {
  const json_stream_events *ev;
  void *ctx;
  yajl_handle yajl;
  size_t pos;       /* bytes of the body lexed */
  int bom_matched;  /* leading bytes that matched a UTF-8 byte order mark */
  bool bom_done;
  bool nonblank;    /* a byte other than JSON's blanks came */
  int failed;       /* status of the first error, which is in error */
  api_error error;

  /* the lexer */
  expect x;
  token tok;
  int depth;
  lex_level lex[JSON_CHECK_MAX_DEPTH];
  bool in_key;                /* the string is a member name */
  unsigned char esc[11];      /* an escape after its backslash: u + 4 hex [\ u + 4 hex] */
  int esc_n;
  size_t esc_at;
  unsigned char u8[4];        /* a UTF-8 character so far */
  int u8_n, u8_need;
  size_t u8_at;
  number_part num;
  const char *word;           /* "true", "false" or "null" */
  int word_n;
  size_t word_at;

  /* the events */
  int ev_depth;
  uint64_t opened;
  keyed_hash_key key;         /* of every object's names: one draw a document */
  event_level levels[JSON_CHECK_MAX_DEPTH];
  int dup_failed;             /* a duplicate name was found: dup says where */
  uint64_t dup_opened;
  api_error dup;
};

static const char literal_words[] =
    "expected a value; true, false and null are JSON's only words (NaN and Infinity are not "
    "JSON)";

/* ---- the lexer -------------------------------------------------------------- */

static int fail_at(json_stream *s, size_t at, const char *what) {
  return api_fail(&s->error, API_INVALID_ARGUMENT, NULL, "malformed JSON at byte %zu: %s", at,
                  what);
}

static int fail(json_stream *s, const char *what) { return fail_at(s, s->pos, what); }

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static bool is_blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int hex_digit(unsigned char c) {
  int lower = c | 0x20;
  return is_digit(c) ? c - '0' : lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

static long hex4(const unsigned char *h) {
  long v = 0;
  for (int i = 0; i < 4; i++) v = v * 16 + hex_digit(h[i]);
  return v;
}

/* A value ended: what may follow it. */
static void value_done(json_stream *s) {
  s->tok = T_NONE;
  s->x = s->depth == 0 ? X_END : X_AFTER;
}

/* The open containers are full: name the path of the one that would nest deeper. */
static int too_deep(json_stream *s) {
  char path[FIELD_MAX] = "";
  size_t used = 0;
  for (int i = 0; i < s->depth && used + 1 < sizeof path; i++) {
    const lex_level *lv = &s->lex[i];
    int w = lv->object ? snprintf(path + used, sizeof path - used, "%s%.*s", used ? "." : "",
                                  (int)lv->key_len, lv->key)
                       : snprintf(path + used, sizeof path - used, "[%zu]", lv->index);
    if (w < 0) break;
    used += (size_t)w < sizeof path - used ? (size_t)w : sizeof path - used - 1;
  }
  return api_fail(&s->error, API_INVALID_ARGUMENT, path,
                  "JSON nests deeper than %d levels (at byte %zu)", JSON_CHECK_MAX_DEPTH, s->pos);
}

static void key_byte(json_stream *s, unsigned char c) {
  lex_level *lv = &s->lex[s->depth - 1];
  if (lv->key_len + 1 < sizeof lv->key) lv->key[lv->key_len++] = (char)c;
}

/* A byte between tokens, or the first of one. */
static int value_start(json_stream *s, unsigned char c) {
  if (c == '{' || c == '[') {
    if (s->depth == JSON_CHECK_MAX_DEPTH) return too_deep(s);
    lex_level *lv = &s->lex[s->depth++];
    lv->object = c == '{';
    lv->index = 0;
    lv->key_len = 0;
    s->x = lv->object ? X_FIRST_KEY : X_FIRST_VALUE;
    return 0;
  }
  if (c == '"') {
    s->tok = T_STRING;
    s->in_key = false;
    return 0;
  }
  if (c == '-' || is_digit(c)) {
    s->tok = T_NUMBER;
    s->num = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
    return 0;
  }
  s->word = c == 't' ? "true" : c == 'f' ? "false" : c == 'n' ? "null" : NULL;
  if (s->word == NULL) return fail(s, literal_words);
  s->tok = T_WORD;
  s->word_n = 1;
  s->word_at = s->pos;
  return 0;
}

static int close_container(json_stream *s) {
  s->depth--;
  value_done(s);
  return 0;
}

static int between(json_stream *s, unsigned char c) {
  if (is_blank(c)) return 0;
  lex_level *lv = s->depth > 0 ? &s->lex[s->depth - 1] : NULL;
  switch (s->x) {
  case X_END:
    return fail(s, "unexpected data after the JSON value");
  case X_COLON:
    if (c != ':') return fail(s, "expected ':' after a member name");
    s->x = X_VALUE;
    return 0;
  case X_FIRST_KEY:
    if (c == '}') return close_container(s);
    /* fall through */
  case X_KEY:
    if (c != '"') return fail(s, "expected a member name in double quotes");
    s->tok = T_STRING;
    s->in_key = true;
    lv->key_len = 0;
    return 0;
  case X_AFTER:
    if (c == ',') {
      if (!lv->object) lv->index++;
      s->x = lv->object ? X_KEY : X_VALUE;
      return 0;
    }
    if (c == (lv->object ? '}' : ']')) return close_container(s);
    return fail(s, lv->object ? "expected ',' or '}'" : "expected ',' or ']'");
  case X_FIRST_VALUE:
    if (c == ']') return close_container(s);
    /* fall through */
  case X_VALUE:
    break;
  }
  return value_start(s, c);
}

static int string_byte(json_stream *s, unsigned char c) {
  if (c == '"') {
    if (s->in_key) {
      s->tok = T_NONE;
      s->x = X_COLON;
    } else {
      value_done(s);
    }
    return 0;
  }
  if (c < 0x20) return fail(s, "a control character in a string must be escaped");
  if (s->in_key) key_byte(s, c);
  if (c == '\\') {
    s->tok = T_ESCAPE;
    s->esc_n = 0;
    s->esc_at = s->pos;
  } else if (c >= 0x80) {
    s->u8_need = c >= 0xC0 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF8 ? 4 : 0;
    if (s->u8_need == 0) return fail(s, "the text is not UTF-8");
    s->tok = T_UTF8;
    s->u8[0] = c;
    s->u8_n = 1;
    s->u8_at = s->pos;
  }
  return 0;
}

static int utf8_byte(json_stream *s, unsigned char c) {
  if ((c & 0xC0) != 0x80) return fail_at(s, s->u8_at, "the text is not UTF-8");
  if (s->in_key) key_byte(s, c);
  s->u8[s->u8_n++] = c;
  if (s->u8_n < s->u8_need) return 0;
  if (utf8_char(s->u8, (size_t)s->u8_n) != (size_t)s->u8_n)
    return fail_at(s, s->u8_at, "the text is not UTF-8");
  s->tok = T_STRING;
  return 0;
}

/* The bytes after a backslash: one of "\/bfnrt, or u and four hex digits
 * (a high surrogate must be followed by the escape of a low one). */
static int escape_byte(json_stream *s, unsigned char c) {
  static const char *const unpaired = "unpaired UTF-16 surrogate escape";
  if (s->in_key) key_byte(s, c);
  int n = s->esc_n;
  s->esc[s->esc_n++] = c;
  if (n == 0) {
    if (c != 'u') {
      if (c == '\0' || strchr("\"\\/bfnrt", c) == NULL)
        return fail_at(s, s->esc_at, "unknown escape in a string");
      s->tok = T_STRING;
    }
    return 0;
  }
  if (n <= 4) {
    if (hex_digit(c) < 0) return fail_at(s, s->esc_at, "\\u needs four hex digits");
    if (n < 4) return 0;
    long u = hex4(s->esc + 1);
    if (u == 0) return fail_at(s, s->esc_at, "a string holds \\u0000, and strings cannot hold NUL");
    if (u >= 0xDC00 && u <= 0xDFFF) return fail_at(s, s->esc_at, unpaired);
    if (u < 0xD800 || u > 0xDBFF) s->tok = T_STRING;
    return 0;
  }
  /* the low surrogate's escape */
  if ((n == 5 && c != '\\') || (n == 6 && c != 'u') || (n > 6 && hex_digit(c) < 0))
    return fail_at(s, s->esc_at, unpaired);
  if (n == 10) {
    long low = hex4(s->esc + 7);
    if (low < 0xDC00 || low > 0xDFFF) return fail_at(s, s->esc_at, unpaired);
    s->tok = T_STRING;
  }
  return 0;
}

/* @return 0 (taken), 1 (the number ended before c) or an error */
static int number_byte(json_stream *s, unsigned char c) {
  bool digit = is_digit(c);
  switch (s->num) {
  case N_MINUS:
    if (!digit) return fail(s, "a number needs digits (-Infinity is not JSON)");
    s->num = c == '0' ? N_ZERO : N_INT;
    return 0;
  case N_ZERO:
    if (digit) return fail(s, "numbers cannot have leading zeros");
    break;
  case N_INT:
    if (digit) return 0;
    break;
  case N_DOT:
    if (!digit) return fail(s, "a decimal point must be followed by digits");
    s->num = N_FRAC;
    return 0;
  case N_FRAC:
    if (digit) return 0;
    if (c != 'e' && c != 'E') goto end;
    s->num = N_E;
    return 0;
  case N_E:
    if (c == '+' || c == '-') {
      s->num = N_ESIGN;
      return 0;
    }
    /* fall through */
  case N_ESIGN:
    if (!digit) return fail(s, "an exponent needs digits");
    s->num = N_EXP;
    return 0;
  case N_EXP:
    if (digit) return 0;
    goto end;
  }
  /* after the integer part */
  if (c == '.') {
    s->num = N_DOT;
    return 0;
  }
  if (c == 'e' || c == 'E') {
    s->num = N_E;
    return 0;
  }
end:
  value_done(s);
  return 1;
}

static int word_byte(json_stream *s, unsigned char c) {
  if (c != (unsigned char)s->word[s->word_n]) return fail_at(s, s->word_at, literal_words);
  if (s->word[++s->word_n] == '\0') value_done(s);
  return 0;
}

/* One byte at s->pos. */
static int lex(json_stream *s, unsigned char c) {
  int rc;
  switch (s->tok) {
  case T_STRING: return string_byte(s, c);
  case T_ESCAPE: return escape_byte(s, c);
  case T_UTF8: return utf8_byte(s, c);
  case T_WORD: return word_byte(s, c);
  case T_NUMBER:
    rc = number_byte(s, c);
    if (rc != 1) return rc;
    break;
  case T_NONE: break;
  }
  return between(s, c);
}

/* The body ended at s->pos. */
static int lex_end(json_stream *s) {
  switch (s->tok) {
  case T_STRING: return fail(s, "a string is not closed");
  case T_ESCAPE:
    return fail_at(s, s->esc_at, s->esc_n == 0  ? "a string is not closed"
                                 : s->esc_n < 5 ? "\\u needs four hex digits"
                                                : "unpaired UTF-16 surrogate escape");
  case T_UTF8: return fail_at(s, s->u8_at, "the text is not UTF-8");
  case T_WORD: return fail_at(s, s->word_at, literal_words);
  case T_NUMBER:
    if (s->num == N_MINUS) return fail(s, "a number needs digits (-Infinity is not JSON)");
    if (s->num == N_DOT) return fail(s, "a decimal point must be followed by digits");
    if (s->num == N_E || s->num == N_ESIGN) return fail(s, "an exponent needs digits");
    value_done(s);
    break;
  case T_NONE: break;
  }
  switch (s->x) {
  case X_END: return 0;
  case X_VALUE:
  case X_FIRST_VALUE: return fail(s, "expected a value, found the end of the body");
  case X_KEY:
  case X_FIRST_KEY: return fail(s, "expected a member name in double quotes");
  case X_COLON: return fail(s, "expected ':' after a member name");
  case X_AFTER: break;
  }
  return fail(s, s->lex[s->depth - 1].object ? "expected ',' or '}'" : "expected ',' or ']'");
}

/* ---- the events ------------------------------------------------------------- */

static void out_of_memory(json_stream *s) {
  if (s->failed == 0) s->failed = api_fail(&s->error, API_INTERNAL, NULL, "out of memory");
}

/* The path of level depth's container: "", "inputs", "layers[1]". */
static void level_path(const json_stream *s, int depth, char *path, size_t cap) {
  char part[FIELD_MAX];
  path[0] = '\0';
  for (int i = 0; i < depth; i++) {
    const event_level *lv = &s->levels[i];
    snprintf(part, sizeof part, "%s", path);
    int w = lv->object ? snprintf(path, cap, "%s%s%s", part, part[0] ? "." : "", lv->key)
                       : snprintf(path, cap, "%s[%zu]", part, lv->index);
    if (w >= (int)cap) path[cap - 1] = '\0'; /* cut: it only names the field */
  }
}

/* A value ended in the innermost container. */
static void element_done(json_stream *s) {
  if (s->ev_depth > 0 && !s->levels[s->ev_depth - 1].object) s->levels[s->ev_depth - 1].index++;
}

static int on_open(json_stream *s, bool object) {
  /* the lexer refused anything deeper before YAJL saw it */
  assert(s->ev_depth < JSON_CHECK_MAX_DEPTH);
  event_level *lv = &s->levels[s->ev_depth++];
  memset(lv, 0, sizeof *lv);
  lv->object = object;
  lv->opened = s->opened++;
  if (object) intern_use_key(&lv->names, &s->key);
  s->ev->open(s->ctx, object);
  return 1;
}

static int on_start_map(void *ctx) { return on_open(ctx, true); }
static int on_start_array(void *ctx) { return on_open(ctx, false); }

/* An object closes: its duplicate, if any, is the one to report unless one
 * of an object met before it (not inside it) is. */
static void object_closed(json_stream *s, event_level *lv) {
  if (lv->dup != NULL && (s->dup_failed == 0 || s->dup_opened > lv->opened)) {
    char path[FIELD_MAX], field[FIELD_MAX];
    level_path(s, s->ev_depth - 1, path, sizeof path);
    if (snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", lv->dup) >=
        (int)sizeof field)
      field[sizeof field - 1] = '\0';
    s->dup_failed =
        api_fail(&s->dup, API_INVALID_ARGUMENT, field, "%s appears more than once", field);
    s->dup_opened = lv->opened;
  }
  intern_free(&lv->names);
  free(lv->dup);
  lv->dup = NULL;
}

static int on_close(void *ctx) {
  json_stream *s = ctx;
  event_level *lv = &s->levels[s->ev_depth - 1];
  if (lv->object) object_closed(s, lv);
  s->ev_depth--;
  element_done(s);
  s->ev->close(s->ctx);
  return 1;
}

static int on_key(void *ctx, const unsigned char *key, size_t len) {
  json_stream *s = ctx;
  event_level *lv = &s->levels[s->ev_depth - 1];
  snprintf(lv->key, sizeof lv->key, "%.*s", (int)(len < sizeof lv->key ? len : sizeof lv->key),
           (const char *)key);
  int32_t known = lv->names.n, id;
  if (intern_add(&lv->names, (const char *)key, len, &id) != 0) {
    out_of_memory(s);
    return 0;
  }
  if (lv->names.n == known) { /* not added: met before */
    const char *name = lv->names.names[id];
    if (lv->dup == NULL || strcmp(name, lv->dup) < 0) {
      char *copy = strdup(name);
      if (copy == NULL) {
        out_of_memory(s);
        return 0;
      }
      free(lv->dup);
      lv->dup = copy;
    }
  }
  s->ev->key(s->ctx, (const char *)key, len);
  return 1;
}

static int on_string(void *ctx, const unsigned char *v, size_t len) {
  json_stream *s = ctx;
  s->ev->string(s->ctx, (const char *)v, len);
  element_done(s);
  return 1;
}

static int on_number(void *ctx, const char *v, size_t len) {
  json_stream *s = ctx;
  s->ev->number(s->ctx, v, len);
  element_done(s);
  return 1;
}

static int on_literal(json_stream *s, char which) {
  s->ev->literal(s->ctx, which);
  element_done(s);
  return 1;
}

static int on_null(void *ctx) { return on_literal(ctx, 'n'); }

static int on_boolean(void *ctx, int v) { return on_literal(ctx, v ? 't' : 'f'); }

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_close,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_close,
};

/* ---- feeding ---------------------------------------------------------------- */

/* YAJL refused what the lexer took, or a callback ran out of memory. */
static void yajl_failed(json_stream *s, size_t chunk_start) {
  if (s->failed != 0) return;
  unsigned char *text = yajl_get_error(s->yajl, 0, NULL, 0);
  size_t at = chunk_start + yajl_get_bytes_consumed(s->yajl);
  const char *what = text != NULL ? (const char *)text : "unexpected text";
  s->failed = api_fail(&s->error, API_INVALID_ARGUMENT, NULL, "malformed JSON at byte %zu: %.*s",
                       at, (int)strcspn(what, "\n"), what);
  if (text != NULL) yajl_free_error(s->yajl, text);
}

static void feed(json_stream *s, const unsigned char *data, size_t len) {
  size_t start = s->pos, n = 0;
  int rc = 0;
  for (; n < len; n++, s->pos++) {
    if (!s->nonblank && !is_blank(data[n])) s->nonblank = true;
    if ((rc = lex(s, data[n])) != 0) break;
  }
  if (n > 0 && yajl_parse(s->yajl, data, n) != yajl_status_ok) yajl_failed(s, start);
  if (rc != 0 && s->failed == 0) s->failed = rc;
}

static const unsigned char utf8_bom[] = {0xEF, 0xBB, 0xBF};

/* The body is past a byte order mark, or holds none: the bytes that
 * matched part of one were data after all. */
static void end_bom(json_stream *s) {
  s->bom_done = true;
  if (s->bom_matched > 0) feed(s, utf8_bom, (size_t)s->bom_matched);
}

void json_stream_feed(json_stream *s, const char *data, size_t len) {
  const unsigned char *d = (const unsigned char *)data;
  while (!s->bom_done && len > 0 && s->failed == 0) { /* RFC 8259 lets a parser skip one */
    if (d[0] != utf8_bom[s->bom_matched]) {
      end_bom(s);
      break;
    }
    d++, len--;
    if (++s->bom_matched == 3) {
      s->bom_done = true;
      s->nonblank = true;
      s->pos = 3;
    }
  }
  if (s->failed == 0 && len > 0) feed(s, d, len);
}

int json_stream_new(const json_stream_events *ev, void *ctx, json_stream **out, api_error *err) {
  *out = NULL;
  json_stream *s = calloc(1, sizeof *s);
  if (s == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  s->ev = ev;
  s->ctx = ctx;
  if (keyed_hash_key_new(&s->key) != 0) {
    free(s);
    return api_fail(err, API_INTERNAL, NULL, "no random key for the member names");
  }
  s->yajl = yajl_alloc(&callbacks, NULL, s);
  /* The lexer checks strings more strictly than YAJL would. */
  if (s->yajl == NULL || !yajl_config(s->yajl, yajl_dont_validate_strings, 1)) {
    json_stream_free(s);
    return api_fail(err, API_INTERNAL, NULL, "out of memory");
  }
  *out = s;
  return 0;
}

int json_stream_finish(json_stream *s, api_error *err) {
  if (s->failed == 0 && !s->bom_done) end_bom(s);
  if (!s->nonblank) return api_fail(err, API_INVALID_ARGUMENT, NULL, "the body is empty");
  if (s->failed == 0) s->failed = lex_end(s);
  if (s->failed == 0 && yajl_complete_parse(s->yajl) != yajl_status_ok) yajl_failed(s, s->pos);
  if (s->failed == 0 && s->dup_failed != 0) {
    s->failed = s->dup_failed;
    s->error = s->dup;
  }
  if (s->failed != 0) *err = s->error;
  return s->failed;
}

void json_stream_free(json_stream *s) {
  if (s == NULL) return;
  for (int i = 0; i < s->ev_depth; i++) {
    intern_free(&s->levels[i].names);
    free(s->levels[i].dup);
  }
  if (s->yajl != NULL) yajl_free(s->yajl);
  free(s);
}
