/* parse_json.c — strict JSON parsing and typed, path-reporting getters. */
#include "parse_json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"

static int is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Path of the i-th element of an array at prefix: "inputs[3]". */
static void index_path(char *buf, size_t cap, const char *prefix, size_t i) {
  /* a path too long for buf is cut: it only names the field in a message */
  if (snprintf(buf, cap, "%s[%zu]", prefix, i) >= (int)cap) buf[cap - 1] = '\0';
}

/* Depth-first over the tree: fails on the first object holding a name twice.
 * Recursion is bounded: json_check admitted at most JSON_CHECK_MAX_DEPTH levels. */
static int check_tree(const cJSON *v, const char *path, api_error *err) {
  if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) return 0;
  size_t n = 0;
  for (const cJSON *c = v->child; c != NULL; c = c->next) n++;
  if (cJSON_IsObject(v) && n > 1) {
    /* Sorting the names makes duplicates adjacent: O(n log n) even for a
     * hostile object with many members. */
    const char **names = malloc(n * sizeof *names); /* (n,) */
    if (names == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
    size_t i = 0;
    for (const cJSON *c = v->child; c != NULL; c = c->next) names[i++] = c->string;
    qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (i = 1; i < n && rc == 0; i++) {
      if (strcmp(names[i - 1], names[i]) == 0) {
        char field[PARSE_PATH_MAX];
        parse_json_path(field, sizeof field, path, names[i]);
        rc = api_fail(err, API_INVALID_ARGUMENT, field, "%s appears more than once", field);
      }
    }
    free(names);
    if (rc != 0) return rc;
  }
  size_t i = 0;
  for (const cJSON *c = v->child; c != NULL; c = c->next, i++) {
    /* leaves pass: naming each of a large array's numbers would cost more
     * than parsing them */
    if (!cJSON_IsObject(c) && !cJSON_IsArray(c)) continue;
    char child[PARSE_PATH_MAX];
    if (cJSON_IsObject(v))
      parse_json_path(child, sizeof child, path, c->string);
    else
      index_path(child, sizeof child, path, i);
    int rc = check_tree(c, child, err);
    if (rc != 0) return rc;
  }
  return 0;
}

int parse_json_body(const char *body, size_t len, cJSON **out, api_error *err) {
  *out = NULL;
  size_t start = 0;
  while (start < len && is_json_space(body[start])) start++;
  if (start == len) return api_fail(err, API_INVALID_ARGUMENT, NULL, "the body is empty");
  int rc = json_check(body, len, err);
  if (rc != 0) return rc;
  if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) { /* json_check allows a BOM; cJSON not */
    body += 3;
    len -= 3;
  }
  /* After json_check, cJSON fails only when it runs out of memory. */
  cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
  if (root == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory parsing the body");
  rc = check_tree(root, "", err);
  if (rc != 0) {
    cJSON_Delete(root);
    return rc;
  }
  *out = root;
  return 0;
}

void parse_json_path(char *buf, size_t cap, const char *prefix, const char *key) {
  if (prefix == NULL || prefix[0] == '\0')
    snprintf(buf, cap, "%s", key);
  else if (snprintf(buf, cap, "%s.%s", prefix, key) >= (int)cap)
    buf[cap - 1] = '\0'; /* cut, as index_path */
}

int parse_json_object(const cJSON *v, const char *field, api_error *err) {
  if (cJSON_IsObject(v)) return 0;
  if (field == NULL || field[0] == '\0')
    return api_fail(err, API_INVALID_ARGUMENT, NULL, "the body must be a JSON object");
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be an object", field);
}

/* The first member of obj whose name is not in allowed, or NULL. */
static const cJSON *first_other_key(const cJSON *obj, const char *const *allowed) {
  for (const cJSON *c = obj->child; c != NULL; c = c->next) {
    const char *const *a = allowed;
    while (*a != NULL && strcmp(*a, c->string) != 0) a++;
    if (*a == NULL) return c;
  }
  return NULL;
}

int parse_json_known_keys(const cJSON *obj, const char *prefix, const char *const *allowed,
                          api_error *err) {
  const cJSON *c = first_other_key(obj, allowed);
  if (c == NULL) return 0;
  char field[PARSE_PATH_MAX];
  parse_json_path(field, sizeof field, prefix, c->string);
  if (c->string[0] == '\0')
    return api_fail(err, API_INVALID_ARGUMENT, field, "unknown field: a member with an empty name");
  return api_fail(err, API_INVALID_ARGUMENT, field, "unknown field %s", field);
}

int parse_json_applicable_keys(const cJSON *obj, const char *prefix,
                               const char *const *allowed, const char *context,
                               api_error *err) {
  const cJSON *c = first_other_key(obj, allowed);
  if (c == NULL) return 0;
  char field[PARSE_PATH_MAX];
  parse_json_path(field, sizeof field, prefix, c->string);
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s does not apply to %s", field, context);
}

/* Look a member up; fails only when it is required and absent. *v is NULL
 * when an optional member is absent. */
static int member(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                  const cJSON **v, char *field, api_error *err) {
  parse_json_path(field, PARSE_PATH_MAX, prefix, key);
  *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (*v == NULL && p == PARSE_REQUIRED)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s is required", field);
  return 0;
}

static int int_range_fail(const char *field, int64_t lo, int64_t hi, api_error *err) {
  if (lo == 1)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s must be a positive integer (at most %lld)", field, (long long)hi);
  if (lo == 0)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s must be a non-negative integer (at most %lld)", field, (long long)hi);
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be an integer from %lld to %lld",
                  field, (long long)lo, (long long)hi);
}

int parse_json_int(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                   int64_t lo, int64_t hi, int64_t *out, api_error *err) {
  const cJSON *v;
  char field[PARSE_PATH_MAX];
  int rc = member(obj, prefix, key, p, &v, field, err);
  if (rc != 0 || v == NULL) return rc;
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || floor(v->valuedouble) != v->valuedouble)
    return int_range_fail(field, lo, hi, err);
  /* Compare as doubles first: converting an out-of-range double to int64_t
   * would be undefined. */
  double d = v->valuedouble;
  if (d < (double)lo || d > (double)hi) return int_range_fail(field, lo, hi, err);
  *out = (int64_t)d;
  return 0;
}

int parse_json_int32(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                     int lo, int hi, int *out, api_error *err) {
  int64_t v = *out; /* kept when an optional member is absent */
  int rc = parse_json_int(obj, prefix, key, p, lo, hi, &v, err);
  if (rc == 0) *out = (int)v;
  return rc;
}

int parse_json_number(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                      double lo, double hi, double *out, api_error *err) {
  const cJSON *v;
  char field[PARSE_PATH_MAX];
  int rc = member(obj, prefix, key, p, &v, field, err);
  if (rc != 0 || v == NULL) return rc;
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be a finite number", field);
  if (v->valuedouble < lo || v->valuedouble > hi)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be a number from %g to %g", field,
                    lo, hi);
  *out = v->valuedouble;
  return 0;
}

int parse_json_float(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                     float lo, float hi, float *out, api_error *err) {
  double v = *out; /* kept when an optional member is absent */
  int rc = parse_json_number(obj, prefix, key, p, lo, hi, &v, err);
  if (rc == 0) *out = (float)v;
  return rc;
}

int parse_json_bool(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                    int *out, api_error *err) {
  const cJSON *v;
  char field[PARSE_PATH_MAX];
  int rc = member(obj, prefix, key, p, &v, field, err);
  if (rc != 0 || v == NULL) return rc;
  if (!cJSON_IsBool(v))
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be true or false", field);
  *out = cJSON_IsTrue(v) ? 1 : 0;
  return 0;
}

int parse_json_string(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                      size_t max_len, const char **out, api_error *err) {
  const cJSON *v;
  char field[PARSE_PATH_MAX];
  int rc = member(obj, prefix, key, p, &v, field, err);
  if (rc != 0 || v == NULL) return rc;
  if (!cJSON_IsString(v))
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be a string", field);
  size_t n = strlen(v->valuestring);
  if (n == 0 || n > max_len)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must have 1 to %zu characters", field,
                    max_len);
  *out = v->valuestring;
  return 0;
}

int parse_json_enum(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                    nn_names_kind kind, int *out, api_error *err) {
  const cJSON *v;
  char field[PARSE_PATH_MAX];
  int rc = member(obj, prefix, key, p, &v, field, err);
  if (rc != 0 || v == NULL) return rc;
  int value;
  if (cJSON_IsString(v) && nn_parse_name(kind, v->valuestring, &value) == NN_OK) {
    *out = value;
    return 0;
  }
  char names[160] = "";
  size_t used = 0;
  for (int i = 0; nn_name(kind, i) != NULL && used < sizeof names; i++) {
    int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", nn_name(kind, i));
    if (w < 0) break;
    used += (size_t)w;
  }
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be one of: %s", field, names);
}

int parse_check_name(const char *s, const char *field, api_error *err) {
  size_t n = strlen(s);
  int ok = n >= 1 && n <= PARSE_NAME_MAX;
  for (size_t i = 0; ok && i < n; i++) {
    char c = s[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
  }
  if (ok) return 0;
  return api_fail(err, API_INVALID_ARGUMENT, field,
                  "%s must have 1 to %d characters of A-Z, a-z, 0-9, '.', '_', '-'", field,
                  PARSE_NAME_MAX);
}

int parse_from_nn_error(int status, const nn_error *e, api_error *err) {
  if (status == NN_ENOMEM) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  const char *msg = e->message[0] != '\0' ? e->message : nn_strerror(status);
  return api_fail(err, API_INVALID_ARGUMENT, e->field, "%s", msg);
}

int parse_json_add_float(cJSON *obj, const char *key, float v) {
  char buf[32];
  /* The shortest of %.1g .. %.9g that reads back exactly (9 always does). */
  for (int digits = 1; digits <= 9; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, (double)v);
    if (strtof(buf, NULL) == v) break;
  }
  return cJSON_AddNumberToObject(obj, key, strtod(buf, NULL)) != NULL ? 0 : -1;
}

int parse_json_add_int(cJSON *obj, const char *key, int64_t v) {
  if (v > -1000000000000000 && v < 1000000000000000) /* 15 digits print exactly */
    return cJSON_AddNumberToObject(obj, key, (double)v) != NULL ? 0 : -1;
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", (long long)v);
  return cJSON_AddRawToObject(obj, key, buf) != NULL ? 0 : -1;
}
