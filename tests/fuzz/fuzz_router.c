/*
 * fuzz_router.c — how a request finds its route (router_match) and how its
 * query string is read (route_query_parse), with arbitrary methods, paths,
 * Content-Types and queries.
 *
 * Input: method, path, Content-Type and query, separated by newlines (a
 * missing Content-Type line means no header). Both the daemon's table and a
 * table of edge cases are matched. A second, independent reading of the
 * policy in router.h checks every answer: a returned route has the request's
 * method and a pattern that matches the path, with the ids the path holds;
 * 404 means no pattern matches, 405 that patterns match but none with this
 * method (Allow lists theirs), 415 that only routes with a body type are left.
 * Queries decode to the pairs the reference decoding gives.
 */
#include <ctype.h>
#include <strings.h>

#include "../../server/router.h"
#include "fuzz.h"

static void handler(app *a, const http_request *req, http_response *res) {
  (void)a;
  (void)req;
  (void)res;
}

/* Limits and shapes the daemon's table does not reach. */
static const route edge_table[] = {
    {.method = "GET", .pattern = "/a/{id}/{id}/{id}/{id}", .handler = handler},
    {.method = "GET", .pattern = "/b/{id}/{id}/{id}/{id}/{id}/{id}", .handler = handler},
    {.method = "PUT", .pattern = "/a/{id}/x", .body = ROUTE_BODY_JSON, .handler = handler},
    {.method = "PUT", .pattern = "/a/{id}/x", .body = ROUTE_BODY_STREAM,
     .media_type = "text/csv"},
    {.method = "GET", .pattern = "/a/{id}/x", .handler = handler},
    {.method = "get", .pattern = "/a/{id}/x", .handler = handler},
    {.method = "GET", .pattern = "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", .handler = handler},
    {.method = "GET", .pattern = "/a b/%41/{id}", .handler = handler},
    {.method = "GET", .pattern = "/n/{name}/{id}", .handler = handler},
    {.method = "POST", .pattern = "/n/{name}/x", .body = ROUTE_BODY_JSON, .handler = handler},
    {.method = "GET", .pattern = "/n/{id}/x", .handler = handler},
    {.method = "GET", .pattern = "/t/{...}", .handler = handler},
    {.method = "DELETE", .pattern = "/t/x/{...}", .handler = handler},
    {.method = "GET", .pattern = "/", .handler = handler},
};

/* ---- the reference reading of router.h ------------------------------------ */

static int hex(char c) {
  const char *digits = "0123456789abcdef";
  const char *d = c != '\0' ? strchr(digits, tolower((unsigned char)c)) : NULL;
  return d != NULL ? (int)(d - digits) : -1;
}

/* Percent-decode len bytes into out (cap bytes with the NUL); -1 when bad. */
static int ref_decode(const char *s, size_t len, int plus, char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      if (len - i < 3 || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) return -1;
      c = hex(s[i + 1]) * 16 + hex(s[i + 2]);
      i += 2;
    } else if (c == '+' && plus) {
      c = ' ';
    }
    if (c == 0 || n + 1 >= cap) return -1;
    out[n++] = (char)c;
  }
  if (cap == 0) return -1;
  out[n] = '\0';
  return 0;
}

typedef struct {
  size_t n;
  char seg[ROUTE_MAX_SEGMENTS][ROUTE_MAX_SEGMENT];
} ref_path;

static int ref_split(const char *path, ref_path *out) {
  if (path[0] != '/') return -1;
  out->n = 0;
  if (path[1] == '\0') return 0; /* "/": no segments */
  for (const char *s = path + 1;; s++) {
    const char *end = strchr(s, '/');
    size_t len = end != NULL ? (size_t)(end - s) : strlen(s);
    if (len == 0 || out->n == ROUTE_MAX_SEGMENTS) return -1;
    if (ref_decode(s, len, 0, out->seg[out->n++], ROUTE_MAX_SEGMENT) < 0) return -1;
    if (end == NULL) return 0;
    s = end;
  }
}

static int ref_id(const char *s, uint64_t *v) {
  size_t len = strlen(s);
  if (len == 0 || len > 16 || s[0] == '0' || strspn(s, "0123456789") != len) return 0;
  *v = strtoull(s, NULL, 10);
  return *v <= ROUTE_MAX_ID;
}

/* The segments from `from` on, joined by "/", as a "{...}" tail; 0 when
 * one holds a "/" (a decoded %2F) or the tail would not fit. */
static int ref_tail(const ref_path *path, size_t from, char *tail) {
  size_t used = 0;
  tail[0] = '\0';
  for (size_t i = from; i < path->n; i++) {
    size_t len = strlen(path->seg[i]);
    if (strchr(path->seg[i], '/') != NULL || used + (i > from) + len >= ROUTE_TAIL_MAX) return 0;
    used += (size_t)sprintf(tail + used, "%s%s", i > from ? "/" : "", path->seg[i]);
  }
  return 1;
}

/* Does pattern match the path, and with which ids, {name} and tail? */
static int ref_match(const char *pattern, const ref_path *path, uint64_t *ids, size_t *n_ids,
                     const char **name, char *tail) {
  char copy[256];
  size_t i = 0;
  int ok = 1;
  *n_ids = 0;
  *name = "";
  tail[0] = '\0';
  if (strcmp(pattern, "/") == 0) return path->n == 0;
  snprintf(copy, sizeof copy, "%s", pattern + 1);
  for (char *save, *tok = strtok_r(copy, "/", &save); tok != NULL;
       tok = strtok_r(NULL, "/", &save), i++) {
    if (i == path->n) return 0;
    if (strcmp(tok, "{...}") == 0) { /* the last segment: one or more of the path's */
      if (!ref_tail(path, i, tail)) return 0;
      return ok;
    }
    if (strcmp(tok, ROUTE_NAME_PARAM) == 0) {
      *name = path->seg[i];
    } else if (tok[0] != '{') {
      if (strcmp(tok, path->seg[i]) != 0) return 0;
    } else if (*n_ids < ROUTE_MAX_IDS && ref_id(path->seg[i], &ids[*n_ids])) {
      (*n_ids)++;
    } else {
      ok = 0; /* a pattern with more ids than a match holds matches no path */
    }
  }
  return ok && i == path->n;
}

static const char *media_of(const route *r) {
  return r->body == ROUTE_BODY_JSON ? "application/json"
         : r->body == ROUTE_BODY_STREAM ? r->media_type
                                        : NULL;
}

/* The Content-Type names the media type, maybe with parameters after it. */
static int media_prefix(const char *ct, const char *want) {
  if (ct == NULL) return 0;
  ct += strspn(ct, " \t");
  size_t n = strlen(want);
  return strncasecmp(ct, want, n) == 0 && strchr(" \t;", ct[n]) != NULL;
}

/* ---- checks ------------------------------------------------------------------ */

static void check_match(const route *t, size_t n, const char *method, const char *path,
                        const char *ct) {
  route_match m;
  api_error err = {0};
  int rc = router_match(t, n, method, path, ct, &m, &err);
  FUZZ_CHECK(memchr(m.allow, '\0', sizeof m.allow) != NULL, "Allow is not terminated");
  ref_path rp;
  int split = ref_split(path, &rp) == 0;
  int path_known = 0, method_known = 0, bodyless = 0;
  char allow[256] = "";
  const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method; /* HEAD is GET's */
  for (size_t r = 0; split && r < n; r++) {
    uint64_t ids[ROUTE_MAX_IDS];
    size_t n_ids;
    const char *name;
    char tail[ROUTE_TAIL_MAX];
    if (!ref_match(t[r].pattern, &rp, ids, &n_ids, &name, tail)) continue;
    path_known = 1;
    char item[32];
    snprintf(item, sizeof item, ", %s,", t[r].method);
    char listed[260];
    snprintf(listed, sizeof listed, ", %s,", allow);
    if (strstr(listed, item) == NULL)
      snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s%s",
               allow[0] != '\0' ? ", " : "", t[r].method,
               strcmp(t[r].method, "GET") == 0 ? ", HEAD" : "");
    if (strcmp(t[r].method, as) != 0) continue;
    method_known = 1;
    bodyless |= media_of(&t[r]) == NULL;
  }
  if (rc == 0) {
    const route *r = m.route;
    FUZZ_CHECK(r != NULL && r >= t && r < t + n, "no route returned");
    FUZZ_CHECK(strcmp(r->method, as) == 0, "%s answered by a %s route", method, r->method);
    uint64_t ids[ROUTE_MAX_IDS];
    size_t n_ids;
    const char *name;
    char tail[ROUTE_TAIL_MAX];
    FUZZ_CHECK(split && ref_match(r->pattern, &rp, ids, &n_ids, &name, tail),
               "%s does not match %s", r->pattern, path);
    FUZZ_CHECK(strcmp(tail, m.tail) == 0, "tail of %s is '%s', not '%s'", path, m.tail, tail);
    FUZZ_CHECK(n_ids == m.n_ids && memcmp(ids, m.ids, n_ids * sizeof ids[0]) == 0,
               "ids of %s differ", path);
    FUZZ_CHECK(strcmp(name, m.name) == 0, "{name} of %s is '%s', not '%s'", path, m.name, name);
    FUZZ_CHECK(media_of(r) == NULL || media_prefix(ct, media_of(r)), "%s accepted for %s",
               ct != NULL ? ct : "(none)", media_of(r));
    return;
  }
  FUZZ_CHECK(m.route == NULL, "a failed match returns a route");
  if (rc == -(int)API_NOT_IMPLEMENTED) { /* a method HTTP does not define: 501 before any path */
    fuzz_check_refusal(rc, &err, API_NOT_IMPLEMENTED);
    return;
  }
  if (!path_known) {
    fuzz_check_refusal(rc, &err, API_NOT_FOUND);
  } else if (!method_known) {
    fuzz_check_refusal(rc, &err, API_METHOD_NOT_ALLOWED);
    FUZZ_CHECK(strlen(allow) >= sizeof m.allow || strcmp(allow, m.allow) == 0,
               "Allow is '%s', not '%s'", m.allow, allow);
  } else {
    fuzz_check_refusal(rc, &err, API_UNSUPPORTED_MEDIA);
    FUZZ_CHECK(!bodyless, "415 although a route of %s takes no body", method);
  }
}

static void check_query(const char *raw) {
  route_query q;
  api_error err = {0};
  int rc = route_query_parse(&q, raw, &err);
  char buf[ROUTE_QUERY_BYTES];
  char *keys[ROUTE_QUERY_MAX + 1], *values[ROUTE_QUERY_MAX + 1];
  size_t count = 0, used = 0;
  int ok = 1;
  for (const char *p = raw; ok && *p != '\0';) {
    size_t len = strcspn(p, "&");
    const char *pair = p;
    p += len + (p[len] == '&');
    if (len == 0) continue;
    size_t key_len = strcspn(pair, "=");
    if (key_len > len) key_len = len;
    const char *value = pair + key_len + (key_len < len);
    size_t value_len = len - (size_t)(value - pair);
    ok = count < ROUTE_QUERY_MAX && key_len > 0 &&
         ref_decode(pair, key_len, 1, buf + used, sizeof buf - used) == 0;
    if (!ok) break;
    keys[count] = buf + used;
    used += strlen(buf + used) + 1;
    ok = ref_decode(value, value_len, 1, buf + used, sizeof buf - used) == 0;
    values[count++] = buf + used;
    used += ok ? strlen(buf + used) + 1 : 0;
  }
  if (!ok) {
    fuzz_check_refusal(rc, &err, API_INVALID_ARGUMENT);
    return;
  }
  FUZZ_CHECK(rc == 0, "query refused: %s", err.message);
  FUZZ_CHECK(q.count == count, "%zu pairs, not %zu", q.count, count);
  for (size_t i = 0; i < count; i++) {
    FUZZ_CHECK(q.keys[i] >= q.buf && q.keys[i] < q.buf + sizeof q.buf && q.values[i] >= q.buf &&
                   q.values[i] < q.buf + sizeof q.buf,
               "pair %zu lies outside the query buffer", i);
    FUZZ_CHECK(strcmp(q.keys[i], keys[i]) == 0 && strcmp(q.values[i], values[i]) == 0,
               "pair %zu decoded as %s=%s, not %s=%s", i, q.keys[i], q.values[i], keys[i],
               values[i]);
    size_t first = 0;
    while (strcmp(keys[first], keys[i]) != 0) first++;
    FUZZ_CHECK(route_query_get(&q, keys[i]) == q.values[first], "lookup of %s", keys[i]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* up to four NUL-terminated fields, cut at newlines (and at a NUL byte) */
  char *copy = malloc(size + 1);
  FUZZ_CHECK(copy != NULL, "out of memory");
  memcpy(copy, data, size);
  copy[size] = '\0';
  char *field[4] = {copy, NULL, NULL, NULL};
  for (int i = 1; i < 4 && field[i - 1] != NULL; i++) {
    char *nl = strchr(field[i - 1], '\n');
    if (nl != NULL) *nl = '\0';
    field[i] = nl != NULL ? nl + 1 : NULL;
  }
  const char *method = field[0], *path = field[1] != NULL ? field[1] : "";
  const char *ct = field[2];
  size_t n;
  const route *table = router_table(&n);
  check_match(table, n, method, path, ct);
  check_match(edge_table, sizeof edge_table / sizeof edge_table[0], method, path, ct);
  check_query(field[3] != NULL ? field[3] : "");
  free(copy);
  return 0;
}
