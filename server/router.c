/* router.c — path matching and query strings (the route table is routes.c). */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decode s[0..len) into out, NUL-terminated within cap bytes.
 * @return 0, or -1 on a bad escape, a NUL byte or overflow */
static int decode(const char *s, size_t len, bool plus_is_space, char *out, size_t cap) {
  size_t n = 0;
  if (cap == 0) return -1;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= len) return -1;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return -1;
      c = (char)(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0' || n + 1 >= cap) return -1;
    out[n++] = c;
  }
  out[n] = '\0';
  return 0;
}

/* A canonical id: digits, no leading zero, 1..ROUTE_MAX_ID. */
bool route_parse_id(const char *s, uint64_t *out) {
  size_t len = strlen(s);
  if (len == 0 || len > 16 || s[0] == '0') return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (uint64_t)(s[i] - '0'); /* 16 digits cannot overflow */
  }
  if (v > ROUTE_MAX_ID) return false;
  *out = v;
  return true;
}

typedef struct {
  size_t n;
  char seg[ROUTE_MAX_SEGMENTS][ROUTE_MAX_SEGMENT];
} split_path;

/* Split "/a/b%31" into decoded segments {"a", "b1"}; "/" has none.
 * @return 0, or -1 for a path no route can match (no leading "/", an empty
 *         segment, a bad escape, too many or too long segments) */
static int split(const char *path, split_path *out) {
  if (path[0] != '/') return -1;
  out->n = 0;
  if (path[1] == '\0') return 0;
  const char *p = path + 1;
  for (;;) {
    size_t len = strcspn(p, "/");
    if (len == 0 || out->n == ROUTE_MAX_SEGMENTS) return -1;
    if (decode(p, len, false, out->seg[out->n], ROUTE_MAX_SEGMENT) < 0) return -1;
    out->n++;
    if (p[len] == '\0') return 0;
    p += len + 1;
  }
}

/* Join path segments from `from` on with "/" into tail.
 * @return true, or false when a segment holds a "/" or the tail is too long */
static bool join_tail(const split_path *path, size_t from, char tail[ROUTE_TAIL_MAX]) {
  size_t used = 0;
  for (size_t i = from; i < path->n; i++) {
    const char *seg = path->seg[i];
    size_t len = strlen(seg);
    if (strchr(seg, '/') != NULL || used + len + 1 > ROUTE_TAIL_MAX) return false;
    if (i > from) tail[used - 1] = '/';
    memcpy(tail + used, seg, len + 1);
    used += len + 1;
  }
  return true;
}

typedef enum { MATCH_NONE, MATCH_BAD_ID, MATCH_OK } match_kind;

/* Compare a pattern with a split path; ids receive the id parameters' values,
 * *name the {name} segment's (left NULL when the pattern has none) and tail
 * what a last "{...}" segment matched. */
static match_kind match_pattern(const char *pattern, const split_path *path, uint64_t *ids,
                                size_t *n_ids, const char **name, char tail[ROUTE_TAIL_MAX],
                                const char **bad_id) {
  match_kind result = MATCH_OK;
  const char *bad = NULL;
  const char *p = pattern + 1;
  size_t i = 0;
  *n_ids = 0;
  *name = NULL;
  tail[0] = '\0';
  if (*p == '\0') return path->n == 0 ? MATCH_OK : MATCH_NONE;
  for (;; i++) {
    size_t len = strcspn(p, "/");
    if (i == path->n) return MATCH_NONE;
    const char *seg = path->seg[i];
    if (len == 5 && memcmp(p, "{...}", 5) == 0 && p[5] == '\0') {
      if (!join_tail(path, i, tail)) return MATCH_NONE;
      i = path->n - 1;
      break;
    }
    if (len == strlen(ROUTE_NAME_PARAM) && memcmp(p, ROUTE_NAME_PARAM, len) == 0) {
      *name = seg;
    } else if (p[0] == '{') {
      /* n_ids keeps counting past ROUTE_MAX_IDS, so compare with >= */
      if (*n_ids >= ROUTE_MAX_IDS || !route_parse_id(seg, &ids[*n_ids])) {
        result = MATCH_BAD_ID;
        bad = seg;
      }
      (*n_ids)++;
    } else if (strlen(seg) != len || memcmp(seg, p, len) != 0) {
      return MATCH_NONE;
    }
    if (p[len] == '\0') break;
    p += len + 1;
  }
  if (i + 1 != path->n) return MATCH_NONE;
  if (result == MATCH_BAD_ID) *bad_id = bad;
  return result;
}

/* Does the Content-Type header value ct name the media type want? */
static bool media_matches(const char *ct, const char *want) {
  if (ct == NULL) return false;
  ct += strspn(ct, " \t");
  size_t want_len = strlen(want);
  if (strncasecmp(ct, want, want_len) != 0) return false;
  const char *p = ct + want_len;
  p += strspn(p, " \t");
  while (*p == ';') {
    p++;
    p += strspn(p, " \t");
    size_t name_len = strcspn(p, "=;");
    const char *value = p[name_len] == '=' ? p + name_len + 1 : "";
    size_t value_len = strcspn(value, ";");
    while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t')) {
      value_len--;
    }
    if (value_len >= 2 && value[0] == '"' && value[value_len - 1] == '"') {
      value++;
      value_len -= 2;
    }
    if (name_len == 7 && strncasecmp(p, "charset", 7) == 0 &&
        !(value_len == 5 && strncasecmp(value, "utf-8", 5) == 0)) {
      return false;
    }
    p = value + strcspn(value, ";");
  }
  return *p == '\0';
}

static const char *route_media_type(const route *r) {
  switch (r->body) {
    case ROUTE_BODY_JSON: return "application/json";
    case ROUTE_BODY_STREAM: return r->media_type;
    case ROUTE_BODY_NONE: break;
  }
  return NULL;
}

/* Append item to a ", "-separated list unless it is there already. */
static void list_add(char *list, size_t cap, const char *item) {
  size_t item_len = strlen(item);
  for (const char *p = list; *p != '\0';) {
    size_t len = strcspn(p, ",");
    if (len == item_len && memcmp(p, item, len) == 0) return;
    p += len;
    p += strspn(p, ", ");
  }
  size_t used = strlen(list);
  snprintf(list + used, cap - used, "%s%s", used > 0 ? ", " : "", item);
}

/* The methods of RFC 9110 and PATCH: any other is not implemented (501),
 * whatever the path. */
static bool method_known_to_http(const char *method) {
  static const char *const known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                      "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    if (strcmp(method, known[i]) == 0) return true;
  }
  return false;
}

int router_match(const route *table, size_t n, const char *method, const char *path,
                 const char *content_type, route_match *out, api_error *err) {
  split_path parts;
  const char *bad_id = NULL;
  bool path_known = false, method_known = false;
  char media[128] = "";
  memset(out, 0, sizeof *out);

  if (!method_known_to_http(method)) {
    return api_fail(err, API_NOT_IMPLEMENTED, NULL, "the method %.16s is not implemented",
                    method);
  }
  /* HEAD is GET without the body, which libmicrohttpd leaves out. */
  const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;

  if (split(path, &parts) < 0) {
    return api_fail(err, API_NOT_FOUND, NULL, "no route for %.100s", path);
  }
  for (size_t r = 0; r < n; r++) {
    uint64_t ids[ROUTE_MAX_IDS];
    size_t n_ids;
    const char *name;
    char tail[ROUTE_TAIL_MAX];
    match_kind kind =
        match_pattern(table[r].pattern, &parts, ids, &n_ids, &name, tail, &bad_id);
    if (kind != MATCH_OK) continue;
    path_known = true;
    if (out->pattern == NULL) out->pattern = &table[r];
    list_add(out->allow, sizeof out->allow, table[r].method);
    if (strcmp(table[r].method, "GET") == 0) list_add(out->allow, sizeof out->allow, "HEAD");
    if (strcmp(table[r].method, as) != 0) continue;
    if (!method_known) out->pattern = &table[r];
    method_known = true;
    const char *want = route_media_type(&table[r]);
    bool untyped_ok = content_type == NULL && table[r].untyped_json;
    if (want != NULL && !untyped_ok && !media_matches(content_type, want)) {
      list_add(media, sizeof media, want);
      continue;
    }
    out->route = &table[r];
    memcpy(out->ids, ids, sizeof ids);
    out->n_ids = n_ids;
    if (name != NULL) memcpy(out->name, name, strlen(name) + 1); /* both ROUTE_MAX_SEGMENT */
    memcpy(out->tail, tail, strlen(tail) + 1);
    return 0;
  }

  if (!path_known && bad_id != NULL) {
    return api_fail(err, API_NOT_FOUND, NULL,
                    "no resource at %.100s: '%.40s' is not an id (ids are positive integers)",
                    path, bad_id);
  }
  if (!path_known) return api_fail(err, API_NOT_FOUND, NULL, "no route for %.100s", path);
  if (!method_known) {
    return api_fail(err, API_METHOD_NOT_ALLOWED, NULL,
                    "%.16s is not allowed on %.100s (allowed: %s)", method, path, out->allow);
  }
  if (content_type == NULL) {
    return api_fail(err, API_UNSUPPORTED_MEDIA, NULL,
                    "a Content-Type header is required; this endpoint accepts %s", media);
  }
  return api_fail(err, API_UNSUPPORTED_MEDIA, NULL,
                  "unsupported Content-Type '%.60s'; this endpoint accepts %s", content_type,
                  media);
}

int route_query_parse(route_query *q, const char *raw, api_error *err) {
  size_t used = 0;
  q->count = 0;
  for (const char *p = raw; *p != '\0';) {
    size_t pair_len = strcspn(p, "&");
    const char *pair = p;
    p += pair_len;
    if (*p == '&') p++;
    if (pair_len == 0) continue;
    if (q->count == ROUTE_QUERY_MAX) {
      return api_fail(err, API_INVALID_ARGUMENT, "query", "at most %d query parameters",
                      ROUTE_QUERY_MAX);
    }
    size_t key_len = strcspn(pair, "=&");
    const char *value = pair + key_len;
    size_t value_len = pair_len - key_len;
    if (value_len > 0) {
      value++;
      value_len--;
    }
    char *key_out = q->buf + used;
    if (key_len == 0 || decode(pair, key_len, true, key_out, sizeof q->buf - used) < 0) {
      return api_fail(err, API_INVALID_ARGUMENT, "query",
                      "malformed query parameter name (empty, bad %%-escape or too long)");
    }
    used += strlen(key_out) + 1;
    char *value_out = q->buf + used;
    if (decode(value, value_len, true, value_out, sizeof q->buf - used) < 0) {
      return api_fail(err, API_INVALID_ARGUMENT, key_out,
                      "malformed value (bad %%-escape, NUL byte or too long)");
    }
    used += strlen(value_out) + 1;
    q->keys[q->count] = key_out;
    q->values[q->count] = value_out;
    q->count++;
  }
  return 0;
}

const char *route_query_get(const route_query *q, const char *key) {
  for (size_t i = 0; i < q->count; i++) {
    if (strcmp(q->keys[i], key) == 0) return q->values[i];
  }
  return NULL;
}

int route_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  size_t len = strlen(s);
  if (len == 0 || len > 16 || strspn(s, "0123456789") != len) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < len; i++) v = v * 10 + (s[i] - '0'); /* 16 digits cannot overflow */
  if (v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int route_query_int(const route_query *q, const char *key, int64_t lo, int64_t hi,
                    int64_t *out, api_error *err) {
  const char *s = route_query_get(q, key);
  if (s == NULL || route_parse_int(s, lo, hi, out) == 0) return 0;
  return api_fail(err, API_INVALID_ARGUMENT, key, "%s must be an integer from %lld to %lld", key,
                  (long long)lo, (long long)hi);
}
