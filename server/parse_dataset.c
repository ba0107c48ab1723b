/* parse_dataset.c — JSON and streaming CSV data sets into float arrays. */
#include "parse_dataset.h"

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

static int out_of_memory(api_error *err) {
  return api_fail(err, API_INTERNAL, NULL, "out of memory");
}

/* A float from text: optional blanks around it, finite, within float range. */
static int text_to_float(const char *s, float *out) {
  while (*s == ' ' || *s == '\t') s++;
  char *end;
  double d = strtod(s, &end);
  if (end == s) return -1;
  while (*end == ' ' || *end == '\t') end++;
  if (*end != '\0' || !isfinite(d) || fabs(d) > FLT_MAX) return -1;
  *out = (float)d;
  return 0;
}

/* ---- interning: distinct strings numbered in order of first appearance ---- */

typedef struct {
  char **names;   /* (n,) owned, NUL-terminated */
  int32_t n, cap;
  int32_t *slots; /* (n_slots,) open addressing: 1 + index into names; 0 = free */
  size_t n_slots; /* a power of two, more than 2 n once anything is interned */
} interner;

static void interner_free(interner *t) {
  for (int32_t i = 0; i < t->n; i++) free(t->names[i]);
  free(t->names);
  free(t->slots);
  memset(t, 0, sizeof *t);
}

static size_t hash_bytes(const char *s, size_t len) {
  uint64_t h = 14695981039346656037ull; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return (size_t)h;
}

/* Index of s (len bytes) in t, or -1 with *slot where it would go. */
static int32_t interner_find(const interner *t, const char *s, size_t len, size_t *slot) {
  if (t->n_slots == 0) return -1;
  size_t mask = t->n_slots - 1;
  for (size_t i = hash_bytes(s, len) & mask;; i = (i + 1) & mask) {
    int32_t k = t->slots[i];
    *slot = i;
    if (k == 0) return -1;
    const char *name = t->names[k - 1];
    if (strncmp(name, s, len) == 0 && name[len] == '\0') return k - 1;
  }
}

static int interner_rehash(interner *t) {
  size_t n_slots = t->n_slots ? 2 * t->n_slots : 16;
  int32_t *slots = calloc(n_slots, sizeof *slots); /* (n_slots,) */
  if (slots == NULL) return -1;
  free(t->slots);
  t->slots = slots;
  t->n_slots = n_slots;
  for (int32_t k = 0; k < t->n; k++) {
    size_t slot;
    interner_find(t, t->names[k], strlen(t->names[k]), &slot);
    t->slots[slot] = k + 1;
  }
  return 0;
}

/* The id of s (len bytes, no NUL inside), added when new. @return 0 or -1
 * when out of memory. */
static int intern(interner *t, const char *s, size_t len, int32_t *id) {
  if ((size_t)t->n * 2 + 2 > t->n_slots && interner_rehash(t) != 0) return -1;
  size_t slot;
  *id = interner_find(t, s, len, &slot);
  if (*id >= 0) return 0;
  if (t->n == t->cap) {
    int32_t cap = t->cap ? 2 * t->cap : 16;
    char **names = realloc(t->names, (size_t)cap * sizeof *names);
    if (names == NULL) return -1;
    t->names = names;
    t->cap = cap;
  }
  char *copy = malloc(len + 1);
  if (copy == NULL) return -1;
  memcpy(copy, s, len);
  copy[len] = '\0';
  t->names[t->n] = copy;
  t->slots[slot] = ++t->n;
  *id = t->n - 1;
  return 0;
}

typedef struct {
  const char *name;
  int32_t id;
} named_id;

static int cmp_named_id(const void *a, const void *b) {
  return strcmp(((const named_id *)a)->name, ((const named_id *)b)->name);
}

/* Move t's names into out->classes, sorted, and renumber ids (n,) to match. */
static int take_classes(interner *t, int32_t *ids, size_t n, parse_dataset_out *out) {
  int32_t k = t->n;
  named_id *order = malloc((size_t)k * sizeof *order); /* (k,) */
  int32_t *rank = malloc((size_t)k * sizeof *rank);    /* (k,) id -> sorted position */
  char **classes = malloc((size_t)k * sizeof *classes); /* (k,) */
  if (order == NULL || rank == NULL || classes == NULL) {
    free(order);
    free(rank);
    free(classes);
    return -1;
  }
  for (int32_t i = 0; i < k; i++) order[i] = (named_id){t->names[i], i};
  qsort(order, (size_t)k, sizeof *order, cmp_named_id);
  for (int32_t r = 0; r < k; r++) {
    classes[r] = t->names[order[r].id];
    rank[order[r].id] = r;
  }
  for (size_t i = 0; i < n; i++) ids[i] = rank[ids[i]];
  t->n = 0; /* the names now belong to out */
  out->classes = classes;
  out->n_classes = k;
  free(order);
  free(rank);
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
  if (a == NULL) return out_of_memory(err);
  size_t i = 0;
  for (const cJSON *r = m->child; r != NULL; r = r->next, i++) {
    size_t j = 0;
    const cJSON *c = cJSON_IsArray(r) ? r->child : NULL;
    for (; c != NULL && j < cols; c = c->next, j++) {
      if (json_to_float(c, &a[i * cols + j]) != 0) {
        snprintf(field, sizeof field, "%s[%zu][%zu]", key, i, j);
        free(a);
        return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be a finite number", field);
      }
    }
    if (!cJSON_IsArray(r) || j != cols || c != NULL) {
      snprintf(field, sizeof field, "%s[%zu]", key, i);
      free(a);
      return api_fail(err, API_INVALID_ARGUMENT, field,
                      "%s must be an array of %zu numbers, like %s[0]", field, cols, key);
    }
  }
  *rows_out = rows;
  *cols_out = (int)cols;
  *out = a;
  return 0;
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
    return intern(t, v->valuestring, len, label) == 0 ? 0 : out_of_memory(err);
  }
  double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
  if (!(d >= 0 && d < NN_MAX_UNITS && floor(d) == d))
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s must be a class name or a class number from 0 to %d, of the same kind "
                    "as labels[0]",
                    field, NN_MAX_UNITS - 1);
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
  if (out->labels == NULL) return out_of_memory(err);
  int strings = cJSON_IsString(v->child);
  interner t = {0};
  int32_t max = 0;
  size_t i = 0;
  int rc = 0;
  for (const cJSON *c = v->child; c != NULL && rc == 0; c = c->next, i++)
    rc = parse_label(c, i, strings, &t, &out->labels[i], &max, err);
  if (rc == 0) {
    if (strings && t.n > NN_MAX_UNITS)
      rc = api_fail(err, API_INVALID_ARGUMENT, "labels", "labels name more than %d classes",
                    NN_MAX_UNITS);
    else if (strings ? take_classes(&t, out->labels, out->rows, out) : number_classes(max, out))
      rc = out_of_memory(err);
  }
  interner_free(&t);
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

/* ---- CSV ---------------------------------------------------------------------- */

typedef enum { CELL_START, CELL_PLAIN, CELL_QUOTED, CELL_QUOTE_SEEN } cell_state;

struct parse_csv {
  interner targets;   /* target column names, in the order given */
  interner columns;   /* header names, in column order (ids are column indices) */
  int *slot;          /* (columns,) feature index >= 0, or -1 - target index */
  int header_done;
  int features;
  int bom_matched;    /* leading bytes that matched a UTF-8 byte order mark */
  int bom_done;       /* the stream is past where a byte order mark may be */
  cell_state state;
  int after_cr;       /* the last record ended with CR: an LF next belongs to it */
  int quoted;         /* the current cell opened with a quote */
  int col;            /* column of the current cell */
  size_t cell_len;
  char cell[PARSE_CSV_MAX_CELL + 1];
  size_t rows;        /* complete data rows */
  size_t cap;         /* rows the arrays below can hold */
  float *x;           /* (cap, features) */
  float *y;           /* (cap, targets): several target columns */
  int32_t *ids;       /* (cap,): one target column, its cells interned in text */
  interner text;
  int target_numeric; /* every cell of the one target column so far is a number */
  int failed;         /* status of the first error (or of a finished parse),
                         repeated by later calls */
  api_error error;
};

/* Where the parser is, for errors: "header", "row 7" or "row 7, column x". */
static void where(const parse_csv *p, int with_column, char *buf, size_t cap) {
  if (!p->header_done)
    snprintf(buf, cap, "header");
  else if (with_column && p->col < p->columns.n)
    snprintf(buf, cap, "row %zu, column %s", p->rows + 1, p->columns.names[p->col]);
  else
    snprintf(buf, cap, "row %zu", p->rows + 1);
}

static int fail_at(const parse_csv *p, int with_column, api_error *err, const char *what) {
  char field[PARSE_PATH_MAX];
  where(p, with_column, field, sizeof field);
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s %s", field, what);
}

int parse_csv_new(const char *target, parse_csv **out, api_error *err) {
  *out = NULL;
  parse_csv *p = calloc(1, sizeof *p);
  if (p == NULL) return out_of_memory(err);
  p->target_numeric = 1;
  int rc = 0;
  if (target == NULL || target[0] == '\0')
    rc = api_fail(err, API_INVALID_ARGUMENT, "target", "target is required");
  for (const char *s = target; rc == 0;) {
    size_t len = strcspn(s, ",");
    int32_t id;
    if (len == 0 || len > PARSE_CSV_MAX_CELL || p->targets.n == PARSE_CSV_MAX_COLUMNS)
      rc = api_fail(err, API_INVALID_ARGUMENT, "target",
                    "target must be a comma-separated list of column names");
    else if (intern(&p->targets, s, len, &id) != 0)
      rc = out_of_memory(err);
    else if (id != p->targets.n - 1)
      rc = api_fail(err, API_INVALID_ARGUMENT, "target", "target names column %s twice",
                    p->targets.names[id]);
    if (s[len] == '\0') break;
    s += len + 1;
  }
  if (rc != 0) {
    parse_csv_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

static int finish_header(parse_csv *p, api_error *err) {
  int n = p->columns.n;
  p->slot = malloc((size_t)n * sizeof *p->slot);
  if (p->slot == NULL) return out_of_memory(err);
  for (int c = 0; c < n; c++) p->slot[c] = 0;
  for (int32_t t = 0; t < p->targets.n; t++) {
    const char *name = p->targets.names[t];
    size_t at;
    int32_t c = interner_find(&p->columns, name, strlen(name), &at);
    if (c < 0)
      return api_fail(err, API_INVALID_ARGUMENT, "target", "target column %s is not in the header",
                      name);
    p->slot[c] = -1 - t;
  }
  for (int c = 0; c < n; c++)
    if (p->slot[c] >= 0) p->slot[c] = p->features++;
  if (p->features == 0)
    return api_fail(err, API_INVALID_ARGUMENT, "target", "every column is a target: no features");
  p->header_done = 1;
  return 0;
}

/* Room for one more data row. */
static int reserve_row(parse_csv *p, api_error *err) {
  if (p->rows < p->cap) return 0;
  size_t width = (size_t)(p->features > p->targets.n ? p->features : p->targets.n);
  size_t limit = PARSE_DATASET_MAX_VALUES / width;
  size_t cap = p->cap ? 2 * p->cap : 64;
  if (cap > limit) cap = limit;
  if (cap <= p->rows) {
    char what[64];
    snprintf(what, sizeof what, "exceeds the limit of %zu values", PARSE_DATASET_MAX_VALUES);
    return fail_at(p, 0, err, what);
  }
  float *x = realloc(p->x, parse_matrix_bytes(cap, (size_t)p->features));
  if (x == NULL) return out_of_memory(err);
  p->x = x;
  if (p->targets.n > 1) {
    float *y = realloc(p->y, parse_matrix_bytes(cap, (size_t)p->targets.n));
    if (y == NULL) return out_of_memory(err);
    p->y = y;
  } else {
    int32_t *ids = realloc(p->ids, cap * sizeof *ids);
    if (ids == NULL) return out_of_memory(err);
    p->ids = ids;
  }
  p->cap = cap;
  return 0;
}

static int header_cell(parse_csv *p, api_error *err) {
  const char *name = p->cell;
  size_t len = p->cell_len;
  int32_t id;
  if (p->col >= PARSE_CSV_MAX_COLUMNS) {
    char what[64];
    snprintf(what, sizeof what, "has more than %d columns", PARSE_CSV_MAX_COLUMNS);
    return fail_at(p, 0, err, what);
  }
  if (len == 0) return fail_at(p, 0, err, "has a column without a name");
  if (intern(&p->columns, name, len, &id) != 0) return out_of_memory(err);
  if (id != p->col) {
    char what[PARSE_PATH_MAX];
    snprintf(what, sizeof what, "names column %s twice", p->columns.names[id]);
    return fail_at(p, 0, err, what);
  }
  return 0;
}

/* The cell of the one target column: interned until the end decides between
 * regression and classification. */
static int target_cell(parse_csv *p, api_error *err) {
  float v;
  if (p->cell_len == 0) return fail_at(p, 1, err, "is empty");
  if (p->cell_len > PARSE_CLASS_NAME_MAX) {
    char what[64];
    snprintf(what, sizeof what, "is longer than %d bytes", PARSE_CLASS_NAME_MAX);
    return fail_at(p, 1, err, what);
  }
  if (p->target_numeric && text_to_float(p->cell, &v) != 0) p->target_numeric = 0;
  return intern(&p->text, p->cell, p->cell_len, &p->ids[p->rows]) == 0 ? 0 : out_of_memory(err);
}

/* A cell of a data row: a feature or target number, or the one target's text. */
static int data_cell(parse_csv *p, api_error *err) {
  int s = p->slot[p->col];
  if (s >= 0) {
    if (text_to_float(p->cell, &p->x[p->rows * (size_t)p->features + (size_t)s]) == 0) return 0;
    return fail_at(p, 1, err, "must be a number");
  }
  if (p->targets.n == 1) return target_cell(p, err);
  if (text_to_float(p->cell, &p->y[p->rows * (size_t)p->targets.n + (size_t)(-1 - s)]) == 0)
    return 0;
  return fail_at(p, 1, err, "must be a number (with several target columns all are numeric)");
}

static int end_cell(parse_csv *p, api_error *err) {
  p->cell[p->cell_len] = '\0';
  int rc;
  if (!p->header_done) {
    rc = header_cell(p, err);
  } else if (p->col >= p->columns.n) {
    char what[64];
    snprintf(what, sizeof what, "has more than the header's %d columns", p->columns.n);
    rc = fail_at(p, 0, err, what);
  } else {
    rc = p->col == 0 ? reserve_row(p, err) : 0;
    if (rc == 0) rc = data_cell(p, err);
  }
  p->cell_len = 0;
  p->quoted = 0;
  return rc;
}

static int end_record(parse_csv *p, api_error *err) {
  if (p->col == 0 && p->cell_len == 0 && !p->quoted) return 0; /* a blank line */
  int rc = end_cell(p, err);
  if (rc == 0 && !p->header_done) {
    rc = finish_header(p, err);
  } else if (rc == 0) {
    if (p->col + 1 != p->columns.n) {
      char what[64];
      snprintf(what, sizeof what, "has %d columns where the header has %d", p->col + 1,
               p->columns.n);
      return fail_at(p, 0, err, what);
    }
    p->rows++;
  }
  p->col = 0;
  return rc;
}

static int append(parse_csv *p, char c, api_error *err) {
  if (c == '\0') return fail_at(p, 1, err, "holds a NUL byte");
  if (p->cell_len == PARSE_CSV_MAX_CELL) {
    char what[64];
    snprintf(what, sizeof what, "is longer than %d bytes", PARSE_CSV_MAX_CELL);
    return fail_at(p, 1, err, what);
  }
  p->cell[p->cell_len++] = c;
  return 0;
}

/* One byte of the CSV grammar. */
static int lex(parse_csv *p, char c, api_error *err) {
  if (p->after_cr) {
    p->after_cr = 0;
    if (c == '\n') return 0;
  }
  switch (p->state) {
  case CELL_QUOTED:
    if (c != '"') return append(p, c, err);
    p->state = CELL_QUOTE_SEEN;
    return 0;
  case CELL_QUOTE_SEEN:
    if (c == '"') { /* "" inside quotes is one quote */
      p->state = CELL_QUOTED;
      return append(p, c, err);
    }
    /* Only a separator may follow the closing quote; it ends the cell. */
    if (c != ',' && c != '\n' && c != '\r')
      return fail_at(p, 1, err, "has text after its closing quote");
    /* fall through */
  case CELL_START:
  case CELL_PLAIN:
    break;
  }
  int rc = 0;
  if (c == ',') {
    rc = end_cell(p, err);
    p->col++;
    p->state = CELL_START;
  } else if (c == '\n' || c == '\r') {
    rc = end_record(p, err);
    p->after_cr = c == '\r';
    p->state = CELL_START;
  } else if (c == '"' && p->state == CELL_START) {
    p->quoted = 1;
    p->state = CELL_QUOTED;
  } else if (c == '"') {
    rc = fail_at(p, 1, err, "has a quote inside an unquoted cell");
  } else {
    rc = append(p, c, err);
    p->state = CELL_PLAIN;
  }
  return rc;
}

static const char utf8_bom[] = "\xEF\xBB\xBF";

/* The stream is past a byte order mark, or holds none: the bytes that
 * matched part of one were data after all. */
static int end_bom(parse_csv *p, api_error *err) {
  int rc = 0;
  p->bom_done = 1;
  for (int k = 0; k < p->bom_matched && rc == 0; k++) rc = lex(p, utf8_bom[k], err);
  return rc;
}

static int feed(parse_csv *p, const char *data, size_t len, api_error *err) {
  int rc = 0;
  for (size_t i = 0; i < len && rc == 0; i++) {
    if (!p->bom_done) { /* spreadsheets start their CSV with one */
      if (data[i] == utf8_bom[p->bom_matched]) {
        if (++p->bom_matched == 3) p->bom_done = 1;
        continue;
      }
      rc = end_bom(p, err);
    }
    if (rc == 0) rc = lex(p, data[i], err);
  }
  return rc;
}

/* Move the arrays into out, deciding the task of a single target column. */
static int hand_over(parse_csv *p, parse_dataset_out *out, api_error *err) {
  out->rows = p->rows;
  out->features = p->features;
  if (p->targets.n > 1 || p->target_numeric) {
    out->task = PARSE_TASK_REGRESSION;
    out->outputs = p->targets.n;
    if (p->targets.n > 1) {
      out->y = p->y;
      p->y = NULL;
    } else {
      float *value = malloc((size_t)p->text.n * sizeof *value); /* (distinct,) */
      out->y = malloc(p->rows * sizeof *out->y);                /* (rows, 1) */
      if (value == NULL || out->y == NULL) {
        free(value);
        return out_of_memory(err);
      }
      for (int32_t k = 0; k < p->text.n; k++) text_to_float(p->text.names[k], &value[k]);
      for (size_t i = 0; i < p->rows; i++) out->y[i] = value[p->ids[i]];
      free(value);
    }
  } else {
    out->task = PARSE_TASK_CLASSIFICATION;
    if (p->text.n > NN_MAX_UNITS)
      return api_fail(err, API_INVALID_ARGUMENT, "target", "the target has more than %d classes",
                      NN_MAX_UNITS);
    if (take_classes(&p->text, p->ids, p->rows, out) != 0) return out_of_memory(err);
    out->labels = p->ids;
    p->ids = NULL;
    out->outputs = out->n_classes;
  }
  out->x = p->x;
  p->x = NULL;
  return 0;
}

static int finish(parse_csv *p, parse_dataset_out *out, api_error *err) {
  int rc = p->bom_done ? 0 : end_bom(p, err);
  if (rc == 0 && p->state == CELL_QUOTED)
    rc = fail_at(p, 1, err, "has a quote that is never closed");
  else if (rc == 0)
    rc = end_record(p, err); /* the last line may lack its line end */
  if (rc == 0 && !p->header_done)
    rc = api_fail(err, API_INVALID_ARGUMENT, NULL, "the CSV body is empty");
  if (rc == 0 && p->rows == 0)
    rc = api_fail(err, API_INVALID_ARGUMENT, NULL, "the CSV has a header but no data rows");
  return rc == 0 ? hand_over(p, out, err) : rc;
}

int parse_csv_feed(parse_csv *p, const char *data, size_t len, api_error *err) {
  if (p->failed == 0) p->failed = feed(p, data, len, &p->error);
  if (p->failed != 0 && err != NULL) *err = p->error;
  return p->failed;
}

int parse_csv_finish(parse_csv *p, parse_dataset_out *out, api_error *err) {
  memset(out, 0, sizeof *out);
  if (p->failed == 0) {
    p->failed = finish(p, out, &p->error);
    if (p->failed == 0) { /* the data now belongs to out: no second hand-over */
      p->failed = api_fail(&p->error, API_INTERNAL, NULL, "the CSV parse has finished");
      return 0;
    }
  }
  parse_dataset_out_free(out);
  if (err != NULL) *err = p->error;
  return p->failed;
}

void parse_csv_free(parse_csv *p) {
  if (p == NULL) return;
  interner_free(&p->targets);
  interner_free(&p->columns);
  interner_free(&p->text);
  free(p->slot);
  free(p->x);
  free(p->y);
  free(p->ids);
  free(p);
}
