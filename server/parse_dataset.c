/* parse_dataset.c — JSON data sets into float arrays, and what JSON and CSV
 * data sets share. */
#include "parse_dataset.h"

#include "intern.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const task_names[] = {
    [PARSE_TASK_REGRESSION] = "regression",
    [PARSE_TASK_CLASSIFICATION] = "classification",
};

const char *parse_task_name(parse_task task) {
  return (unsigned)task < sizeof task_names / sizeof task_names[0] ? task_names[task] : NULL;
}

void parse_dataset_out_free(parse_dataset_out *d) {
  for (int i = 0; i < d->n_classes; i++) free(d->classes[i]);
  free(d->classes);
  free(d->x);
  free(d->y);
  free(d->labels);
  memset(d, 0, sizeof *d);
}

size_t parse_matrix_bytes(size_t rows, size_t cols) {
  if (rows == 0 || cols == 0 || rows > PARSE_DATASET_MAX_VALUES / cols) return 0;
  return rows * cols * sizeof(float);
}

int parse_out_of_memory(api_error *err) {
  return api_fail(err, API_INTERNAL, NULL, "out of memory");
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* The end of a decimal number at s: [+-] (digits [. [digits]] | . digits)
 * [(e|E) [+-] digits], or s itself when none starts there. strtod alone would
 * also read hex floats ("0x10"), "inf" and "nan". */
static const char *decimal_end(const char *s) {
  const char *p = s + (*s == '+' || *s == '-');
  size_t digits = 0;
  for (; is_digit(*p); p++) digits++;
  if (*p == '.')
    for (p++; is_digit(*p); p++) digits++;
  if (digits == 0) return s;
  if (*p == 'e' || *p == 'E') {
    const char *e = p + 1 + (p[1] == '+' || p[1] == '-');
    if (!is_digit(*e)) return s;
    for (p = e; is_digit(*p); p++) {}
  }
  return p;
}

int parse_text_to_float(const char *s, float *out) {
  while (*s == ' ' || *s == '\t') s++;
  const char *number_end = decimal_end(s), *rest = number_end;
  while (*rest == ' ' || *rest == '\t') rest++;
  if (number_end == s || *rest != '\0') return -1;
  char *end;
  double d = strtod(s, &end); /* reads exactly the decimal just checked */
  assert(end == number_end);
  if (!isfinite(d) || fabs(d) > FLT_MAX) return -1;
  *out = (float)d;
  return 0;
}

/* ---- JSON ------------------------------------------------------------------- */

static int json_to_float(const cJSON *v, float *out) {
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > FLT_MAX)
    return -1;
  *out = (float)v->valuedouble;
  return 0;
}

static size_t count_children(const cJSON *v) {
  size_t n = 0;
  for (const cJSON *c = v->child; c != NULL; c = c->next) n++;
  return n;
}

/* A non-empty rectangular array of arrays of finite numbers, e.g. "inputs". */
static int parse_matrix(const cJSON *root, const char *key, size_t *rows_out, int *cols_out,
                        float **out, api_error *err) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, key);
  if (m == NULL) return api_fail(err, API_INVALID_ARGUMENT, key, "%s is required", key);
  if (!cJSON_IsArray(m) || m->child == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, key, "%s must be a non-empty array of rows", key);
  char field[PARSE_PATH_MAX];
  const cJSON *first = m->child;
  size_t cols = cJSON_IsArray(first) ? count_children(first) : 0;
  if (cols == 0 || cols > NN_MAX_UNITS) {
    snprintf(field, sizeof field, "%s[0]", key);
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be an array of 1 to %d numbers",
                    field, NN_MAX_UNITS);
  }
  size_t rows = count_children(m);
  size_t bytes = parse_matrix_bytes(rows, cols);
  if (bytes == 0)
    return api_fail(err, API_INVALID_ARGUMENT, key, "%s has more than %zu values", key,
                    PARSE_DATASET_MAX_VALUES);
  float *a = malloc(bytes); /* (rows, cols) */
  if (a == NULL) return parse_out_of_memory(err);
  int rc;
  size_t i = 0;
  for (const cJSON *r = m->child; r != NULL; r = r->next, i++) {
    size_t j = 0;
    const cJSON *c = cJSON_IsArray(r) ? r->child : NULL;
    for (; c != NULL && j < cols; c = c->next, j++) {
      if (json_to_float(c, &a[i * cols + j]) != 0) {
        snprintf(field, sizeof field, "%s[%zu][%zu]", key, i, j);
        rc = api_fail(err, API_INVALID_ARGUMENT, field, "%s must be a finite number", field);
        goto fail;
      }
    }
    if (!cJSON_IsArray(r) || j != cols || c != NULL) {
      snprintf(field, sizeof field, "%s[%zu]", key, i);
      rc = api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s must be an array of %zu numbers, like %s[0]", field, cols, key);
      goto fail;
    }
  }
  *rows_out = rows;
  *cols_out = (int)cols;
  *out = a;
  return 0;

fail:
  free(a);
  return rc;
}

/* labels[i] as a string (interned) or as a class number. */
static int parse_label(const cJSON *v, size_t i, int strings, interner *t, int32_t *label,
                       int32_t *max, api_error *err) {
  char field[PARSE_PATH_MAX];
  snprintf(field, sizeof field, "labels[%zu]", i);
  if (strings) {
    size_t len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    if (len == 0 || len > PARSE_CLASS_NAME_MAX)
      return api_fail(err, API_INVALID_ARGUMENT, field,
                      "%s must be a string of 1 to %d bytes, like labels[0]", field,
                      PARSE_CLASS_NAME_MAX);
    if (intern_add(t, v->valuestring, len, label) != 0) return parse_out_of_memory(err);
    if (t->n > PARSE_MAX_CLASSES)
      return api_fail(err, API_INVALID_ARGUMENT, field,
                      "%s names class %d; a dataset may have at most %d classes", field,
                      (int)t->n, PARSE_MAX_CLASSES);
    return 0;
  }
  double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
  if (!(d >= 0 && d < PARSE_MAX_CLASSES && floor(d) == d))
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s must be a class name or a class number from 0 to %d, of the same kind "
                    "as labels[0]",
                    field, PARSE_MAX_CLASSES - 1);
  *label = (int32_t)d;
  if (*label > *max) *max = *label;
  return 0;
}

/* Class names "0".."max" for integer labels. */
static int number_classes(int32_t max, parse_dataset_out *out) {
  out->classes = calloc((size_t)max + 1, sizeof *out->classes);
  if (out->classes == NULL) return -1;
  for (int32_t k = 0; k <= max; k++) {
    char buf[16];
    snprintf(buf, sizeof buf, "%d", (int)k);
    if ((out->classes[k] = strdup(buf)) == NULL) return -1;
    out->n_classes = k + 1;
  }
  return 0;
}

static int parse_labels(const cJSON *root, parse_dataset_out *out, api_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "labels");
  if (!cJSON_IsArray(v) || count_children(v) != out->rows)
    return api_fail(err, API_INVALID_ARGUMENT, "labels",
                    "labels must be an array of %zu labels, one per input row", out->rows);
  out->labels = malloc(out->rows * sizeof *out->labels); /* (rows,) */
  if (out->labels == NULL) return parse_out_of_memory(err);
  int strings = cJSON_IsString(v->child);
  interner t = {0};
  int32_t max = 0;
  size_t i = 0;
  int rc = 0;
  for (const cJSON *c = v->child; c != NULL && rc == 0; c = c->next, i++)
    rc = parse_label(c, i, strings, &t, &out->labels[i], &max, err);
  if (rc == 0 && (strings ? intern_take_sorted(&t, out->labels, out->rows, &out->classes,
                                                &out->n_classes)
                          : number_classes(max, out)))
    rc = parse_out_of_memory(err);
  intern_free(&t);
  out->outputs = out->n_classes;
  return rc;
}

int parse_dataset_json(const cJSON *root, char name[PARSE_NAME_MAX + 1], parse_dataset_out *out,
                       api_error *err) {
  static const char *const keys[] = {"name", "inputs", "targets", "labels", NULL};
  memset(out, 0, sizeof *out);
  const char *s = NULL;
  int rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, keys, err);
  if (rc == 0) rc = parse_json_string(root, NULL, "name", PARSE_REQUIRED, PARSE_NAME_MAX, &s, err);
  if (rc == 0) rc = parse_check_name(s, "name", err);
  if (rc != 0) return rc;
  int has_targets = cJSON_GetObjectItemCaseSensitive(root, "targets") != NULL;
  int has_labels = cJSON_GetObjectItemCaseSensitive(root, "labels") != NULL;
  if (has_targets && has_labels)
    return api_fail(err, API_INVALID_ARGUMENT, "labels", "give targets or labels, not both");
  if (!has_targets && !has_labels)
    return api_fail(err, API_INVALID_ARGUMENT, "targets",
                    "targets (regression) or labels (classification) is required");
  rc = parse_matrix(root, "inputs", &out->rows, &out->features, &out->x, err);
  if (rc == 0 && has_targets) {
    size_t rows = 0;
    out->task = PARSE_TASK_REGRESSION;
    rc = parse_matrix(root, "targets", &rows, &out->outputs, &out->y, err);
    if (rc == 0 && rows != out->rows)
      rc = api_fail(err, API_INVALID_ARGUMENT, "targets",
                    "targets must have %zu rows, one per input row", out->rows);
  } else if (rc == 0) {
    out->task = PARSE_TASK_CLASSIFICATION;
    rc = parse_labels(root, out, err);
  }
  if (rc != 0) {
    parse_dataset_out_free(out);
    return rc;
  }
  snprintf(name, PARSE_NAME_MAX + 1, "%s", s);
  return 0;
}

