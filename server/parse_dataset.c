/* parse_dataset.c — JSON data sets into float arrays as they stream in, and
 * what JSON and CSV data sets share.
 *
 * The body arrives as events (json_stream.h), never as a tree: each number
 * goes straight into the float array of its matrix, each label into the
 * label array, so a data set costs what it stores (4 bytes a number, where
 * a cJSON tree cost a node of ~64 bytes: 43 times a body of one-digit
 * numbers) plus the doubling slack of arrays that grow without knowing
 * their size, which is address space only until it is written.
 *
 * The checks are those of a parse of the whole document, in the same
 * order: a broken document beats a duplicate name, which beats the root
 * not being an object, an unknown member, a bad name, targets and labels
 * given both or neither, then the problems of inputs, then of targets or
 * labels. Within a matrix, its first row's shape beats its size, which
 * beats the first bad element or row in document order. Since later bytes
 * may hold a problem that outranks an earlier one, each kind keeps its
 * first occurrence and the ranking is made at the end; an array that can
 * no longer be handed over is freed at its first error.
 */
#include "parse_dataset.h"

#include "../core/table.h"
#include "intern.h"
#include "json_stream.h"
#include "parse_table.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
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
  nn_table_free(d->table);
  free(d->target);
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

/* A refusal found while streaming: the first of its kind. */
typedef struct {
  int rc;
  api_error err;
} refusal;

#define REFUSE(r, field, ...) \
  ((r)->rc == 0 ? (void)((r)->rc = api_fail(&(r)->err, API_INVALID_ARGUMENT, field, __VA_ARGS__)) \
                : (void)0)

/* "inputs" or "targets": a non-empty array of rows of the same width. */
typedef struct {
  const char *key;
  bool present;
  bool not_rows;      /* not an array */
  size_t rows;        /* rows met (the one open included) */
  size_t cols;        /* the first row's width, once it closed */
  size_t j;           /* elements of the open row so far */
  bool row_is_array;
  float *a;           /* (cap,) the rows so far, (rows, cols) once every row is whole */
  size_t cap;
  bool dead;          /* refused: nothing more is stored */
  refusal first_row, size, element;
} matrix;

typedef enum { M_OTHER, M_NAME, M_INPUTS, M_TARGETS, M_LABELS, M_TARGET, M_RECORDS } member;

struct parse_dataset_json {
  json_stream *json;
  int depth;          /* open containers */
  bool root_object;   /* the body opened with '{' */
  bool root_other;    /* the body is another value */
  member in;          /* the member whose value is being read */
  bool in_array;      /* that value is an array */
  refusal unknown;    /* the first unknown member */
  bool oom;
  /* name */
  bool has_name, name_string;
  size_t name_len;
  char name[PARSE_NAME_MAX + 1];
  /* inputs, targets */
  matrix inputs, targets;
  /* labels */
  bool has_labels, labels_not_array;
  size_t n_labels;
  bool label_strings; /* labels[0] is a string */
  int32_t *labels;    /* (cap_labels,) */
  size_t cap_labels;
  int32_t max_label;
  interner classes;
  refusal label;
  /* a typed table (issue 14): "target" and "records" (parse_table.h) */
  bool has_target, target_string;
  char target[NN_TABLE_MAX_NAME + 1];
  size_t target_len;
  bool has_records, records_not_array, record_is_object;
  size_t n_records;
  parse_table *table;
  char *key;          /* the open record's member */
  size_t key_len, key_cap;
  refusal record;     /* the first bad record or value */
};

static void matrix_drop(matrix *m) {
  free(m->a);
  m->a = NULL;
  m->cap = 0;
  m->dead = true;
}

/* Room for n floats in m->a, doubling. */
static int matrix_reserve(parse_dataset_json *p, matrix *m, size_t n) {
  if (n <= m->cap) return 0;
  /* matrix_row refuses a matrix past the limit before its row is stored */
  assert(n <= PARSE_DATASET_MAX_VALUES);
  size_t cap = m->cap ? m->cap : 64;
  while (cap < n) cap = cap > PARSE_DATASET_MAX_VALUES / 2 ? PARSE_DATASET_MAX_VALUES : 2 * cap;
  float *a = realloc(m->a, cap * sizeof *a);
  if (a == NULL) {
    p->oom = true;
    matrix_drop(m);
    return -1;
  }
  m->a = a;
  m->cap = cap;
  return 0;
}

static float *matrix_slot(parse_dataset_json *p, matrix *m) {
  size_t i = m->rows - 1, at = i == 0 ? m->j : i * m->cols + m->j;
  if (m->dead || matrix_reserve(p, m, at + 1) != 0) return NULL;
  return &m->a[at];
}

/* A row of m begins (an array, or something else). */
static void matrix_row(matrix *m, bool is_array) {
  size_t i = m->rows++;
  m->j = 0;
  m->row_is_array = is_array;
  char field[PARSE_PATH_MAX];
  if (i == 0) {
    if (!is_array) {
      snprintf(field, sizeof field, "%s[0]", m->key);
      REFUSE(&m->first_row, field, "%s must be an array of 1 to %d numbers", field, NN_MAX_UNITS);
      matrix_drop(m);
    }
    return;
  }
  if (parse_matrix_bytes(i + 1, m->cols) == 0 && m->cols > 0) {
    REFUSE(&m->size, m->key, "%s has more than %zu values", m->key, PARSE_DATASET_MAX_VALUES);
    matrix_drop(m);
  }
  if (!is_array) {
    snprintf(field, sizeof field, "%s[%zu]", m->key, i);
    REFUSE(&m->element, field, "%s must be an array of %zu numbers, like %s[0]", field, m->cols,
           m->key);
    matrix_drop(m);
  }
}

/* A JSON number's text (the lexer checked its grammar) as a double. */
static int number_value(parse_dataset_json *p, const char *text, size_t len, double *out) {
  char small[64];
  char *buf = len < sizeof small ? small : malloc(len + 1); /* a number may have any length */
  if (buf == NULL) {
    p->oom = true;
    return -1;
  }
  memcpy(buf, text, len);
  buf[len] = '\0';
  *out = strtod(buf, NULL);
  if (buf != small) free(buf);
  return 0;
}

/* An element of m's open row: a number's text, or NULL for any other value. */
static void matrix_element(parse_dataset_json *p, matrix *m, const char *num, size_t len) {
  size_t i = m->rows - 1, j = m->j;
  char field[PARSE_PATH_MAX];
  if (i == 0 && j == (size_t)NN_MAX_UNITS) matrix_drop(m); /* the first row is too wide */
  if (i > 0 && j == m->cols) {
    snprintf(field, sizeof field, "%s[%zu]", m->key, i);
    REFUSE(&m->element, field, "%s must be an array of %zu numbers, like %s[0]", field, m->cols,
           m->key);
    matrix_drop(m);
  }
  double v = 0;
  if (i == 0 || j < m->cols) {
    if (num != NULL && number_value(p, num, len, &v) != 0) return;
    if (num == NULL || !isfinite(v) || fabs(v) > FLT_MAX) {
      snprintf(field, sizeof field, "%s[%zu][%zu]", m->key, i, j);
      REFUSE(&m->element, field, "%s must be a finite number", field);
      matrix_drop(m);
    } else {
      float *slot = matrix_slot(p, m);
      if (slot != NULL) *slot = (float)v;
    }
  }
  m->j++;
}

/* m's open row closed. */
static void matrix_row_end(matrix *m) {
  size_t i = m->rows - 1;
  if (i == 0) {
    m->cols = m->j;
    if (m->cols == 0 || m->cols > (size_t)NN_MAX_UNITS) {
      char field[PARSE_PATH_MAX];
      snprintf(field, sizeof field, "%s[0]", m->key);
      REFUSE(&m->first_row, field, "%s must be an array of 1 to %d numbers", field,
             NN_MAX_UNITS);
      matrix_drop(m);
    }
  } else if (m->j < m->cols) {
    char field[PARSE_PATH_MAX];
    snprintf(field, sizeof field, "%s[%zu]", m->key, i);
    REFUSE(&m->element, field, "%s must be an array of %zu numbers, like %s[0]", field, m->cols,
           m->key);
    matrix_drop(m);
  }
}

/* The first refusal of m, in the order a whole-document parse checks. */
static int matrix_check(matrix *m, api_error *err) {
  if (!m->present) return api_fail(err, API_INVALID_ARGUMENT, m->key, "%s is required", m->key);
  if (m->not_rows || m->rows == 0)
    return api_fail(err, API_INVALID_ARGUMENT, m->key, "%s must be a non-empty array of rows",
                    m->key);
  const refusal *r = m->first_row.rc ? &m->first_row : m->size.rc ? &m->size : &m->element;
  if (r->rc == 0) return 0;
  *err = r->err;
  return r->rc;
}

/* labels[i]: a string, a number's text, or neither (both NULL). */
static void label(parse_dataset_json *p, const char *str, const char *num, size_t len) {
  size_t i = p->n_labels++;
  if (i == 0) p->label_strings = str != NULL;
  char field[PARSE_PATH_MAX];
  snprintf(field, sizeof field, "labels[%zu]", i);
  int32_t id = 0;
  if (p->label_strings) {
    if (str == NULL || len == 0 || len > PARSE_CLASS_NAME_MAX) {
      REFUSE(&p->label, field, "%s must be a string of 1 to %d bytes, like labels[0]", field,
             PARSE_CLASS_NAME_MAX);
      return;
    }
    if (p->label.rc != 0) return;
    if (intern_add(&p->classes, str, len, &id) != 0) {
      p->oom = true;
      return;
    }
    /* refused at the label of the one class past the cap; no more names are kept */
    if (p->classes.n > PARSE_MAX_CLASSES) {
      REFUSE(&p->label, field, "%s names class %d; a dataset may have at most %d classes",
             field, (int)p->classes.n, PARSE_MAX_CLASSES);
      return;
    }
  } else {
    double d = -1;
    if (num != NULL && number_value(p, num, len, &d) != 0) return;
    if (!(d >= 0 && d < PARSE_MAX_CLASSES && floor(d) == d)) {
      REFUSE(&p->label, field,
             "%s must be a class name or a class number from 0 to %d, of the same kind as "
             "labels[0]",
             field, PARSE_MAX_CLASSES - 1);
      return;
    }
    id = (int32_t)d;
    if (id > p->max_label) p->max_label = id;
  }
  if (p->label.rc != 0 || p->oom) return;
  if (i == p->cap_labels) {
    size_t cap = p->cap_labels ? 2 * p->cap_labels : 64;
    int32_t *labels = cap <= SIZE_MAX / sizeof *labels ? realloc(p->labels, cap * sizeof *labels)
                                                       : NULL;
    if (labels == NULL) {
      p->oom = true;
      return;
    }
    p->labels = labels;
    p->cap_labels = cap;
  }
  p->labels[i] = id;
}

/* ---- records ---------------------------------------------------------------- */

/* records[i] begins: an object, or something refused. */
static void record_begin(parse_dataset_json *p, char kind) {
  size_t i = p->n_records++;
  char field[PARSE_PATH_MAX];
  p->record_is_object = kind == 'o';
  if (p->record.rc != 0) return;
  if (!p->record_is_object) {
    snprintf(field, sizeof field, "records[%zu]", i);
    REFUSE(&p->record, field, "%s must be an object of column values", field);
  } else if (p->table == NULL) {
    parse_table_options o = {0};
    p->record.rc = parse_table_new(&o, NULL, &p->table, &p->record.err);
  }
}

/* A value of the open record's member p->key. */
static void record_value(parse_dataset_json *p, char kind, const char *text, size_t len) {
  char field[PARSE_PATH_MAX];
  if (p->record.rc != 0) return;
  snprintf(field, sizeof field, "records[%zu].%.*s", p->n_records - 1,
           (int)(p->key_len < 64 ? p->key_len : 64), p->key);
  if (kind == 'o' || kind == 'a')
    REFUSE(&p->record, field, "%s must be a string, a number, true, false or null", field);
  else
    p->record.rc = parse_table_record_cell(p->table, p->key, p->key_len, kind == 'n' ? 'n'
                                           : kind, text, len, field, &p->record.err);
}

static void record_end(parse_dataset_json *p) {
  char field[PARSE_PATH_MAX];
  if (p->record.rc != 0) return;
  snprintf(field, sizeof field, "records[%zu]", p->n_records - 1);
  p->record.rc = parse_table_record_end(p->table, field, &p->record.err);
}

static void record_key(parse_dataset_json *p, const char *s, size_t len) {
  if (len + 1 > p->key_cap) {
    char *k = realloc(p->key, len + 1);
    if (k == NULL) {
      p->oom = true;
      p->key_len = 0;
      return;
    }
    p->key = k;
    p->key_cap = len + 1;
  }
  memcpy(p->key, s, len);
  p->key[len] = '\0';
  p->key_len = len;
}

/* ---- the events ------------------------------------------------------------- */

static matrix *member_matrix(parse_dataset_json *p) {
  return p->in == M_INPUTS ? &p->inputs : p->in == M_TARGETS ? &p->targets : NULL;
}

/* A value at depth p->depth: kind 'o' object, 'a' array, 's' string, 'n'
 * number, 'l' literal; text for strings and numbers. */
static void value(parse_dataset_json *p, char kind, const char *text, size_t len) {
  matrix *m = member_matrix(p);
  if (p->depth == 0) {
    p->root_object = kind == 'o';
    p->root_other = kind != 'o';
  } else if (p->depth == 1 && p->root_object) {
    p->in_array = kind == 'a';
    if (p->in == M_NAME) {
      p->name_string = kind == 's';
      p->name_len = kind == 's' ? len : 0;
      if (kind == 's' && len <= PARSE_NAME_MAX) memcpy(p->name, text, len);
      if (kind == 's' && len <= PARSE_NAME_MAX) p->name[len] = '\0';
    } else if (m != NULL) {
      m->not_rows = kind != 'a';
    } else if (p->in == M_LABELS) {
      p->labels_not_array = kind != 'a';
    } else if (p->in == M_TARGET) {
      p->target_string = kind == 's';
      p->target_len = kind == 's' ? len : 0;
      if (kind == 's' && len <= NN_TABLE_MAX_NAME) memcpy(p->target, text, len);
    } else if (p->in == M_RECORDS) {
      p->records_not_array = kind != 'a';
    }
  } else if (p->depth == 2 && p->in_array && p->in == M_RECORDS) {
    record_begin(p, kind);
  } else if (p->depth == 3 && p->in_array && p->in == M_RECORDS && p->record_is_object) {
    record_value(p, kind, text, len);
  } else if (p->depth == 2 && p->in_array && m != NULL) {
    matrix_row(m, kind == 'a');
  } else if (p->depth == 2 && p->in_array && p->in == M_LABELS) {
    label(p, kind == 's' ? text : NULL, kind == 'n' ? text : NULL, len);
  } else if (p->depth == 3 && p->in_array && m != NULL && m->row_is_array) {
    matrix_element(p, m, kind == 'n' ? text : NULL, len);
  }
}

static void on_open(void *ctx, bool object) {
  parse_dataset_json *p = ctx;
  value(p, object ? 'o' : 'a', NULL, 0);
  p->depth++;
}

static void on_close(void *ctx) {
  parse_dataset_json *p = ctx;
  p->depth--;
  matrix *m = member_matrix(p);
  if (p->depth == 2 && p->in_array && m != NULL && m->row_is_array) matrix_row_end(m);
  if (p->depth == 2 && p->in_array && p->in == M_RECORDS && p->record_is_object) record_end(p);
}

static void on_key(void *ctx, const char *s, size_t len) {
  parse_dataset_json *p = ctx;
  if (p->depth == 3 && p->in == M_RECORDS && p->in_array) record_key(p, s, len);
  if (p->depth != 1 || !p->root_object) return;
  static const char *const keys[] = {"name", "inputs", "targets", "labels", "target", "records",
                                     NULL};
  static const member members[] = {M_NAME, M_INPUTS, M_TARGETS, M_LABELS, M_TARGET, M_RECORDS};
  p->in = M_OTHER;
  p->in_array = false;
  for (size_t k = 0; keys[k] != NULL; k++)
    if (strlen(keys[k]) == len && memcmp(keys[k], s, len) == 0) p->in = members[k];
  bool *seen = p->in == M_NAME     ? &p->has_name
               : p->in == M_INPUTS  ? &p->inputs.present
               : p->in == M_TARGETS ? &p->targets.present
               : p->in == M_LABELS  ? &p->has_labels
               : p->in == M_TARGET  ? &p->has_target
               : p->in == M_RECORDS ? &p->has_records
                                    : NULL;
  if (seen != NULL && *seen) {
    p->in = M_OTHER; /* a duplicate, refused as such: read the first only */
  } else if (seen != NULL) {
    *seen = true;
  } else {
    char field[PARSE_PATH_MAX];
    snprintf(field, sizeof field, "%.*s", (int)(len < sizeof field ? len : sizeof field), s);
    if (len == 0)
      REFUSE(&p->unknown, field, "unknown field: a member with an empty name");
    else
      REFUSE(&p->unknown, field, "unknown field %s", field);
  }
}

static void on_string(void *ctx, const char *s, size_t len) { value(ctx, 's', s, len); }
static void on_number(void *ctx, const char *s, size_t len) { value(ctx, 'n', s, len); }
/* true, false, null: 't', 'f', 'z' (a value kind no other member reads) */
static void on_literal(void *ctx, char which) { value(ctx, which == 'n' ? 'z' : which, NULL, 0); }

static const json_stream_events events = {.open = on_open,
                                          .close = on_close,
                                          .key = on_key,
                                          .string = on_string,
                                          .number = on_number,
                                          .literal = on_literal};

/* ---- the API ---------------------------------------------------------------- */

int parse_dataset_json_new(parse_dataset_json **out, api_error *err) {
  *out = NULL;
  parse_dataset_json *p = calloc(1, sizeof *p);
  if (p == NULL) return parse_out_of_memory(err);
  p->inputs.key = "inputs";
  p->targets.key = "targets";
  int rc = json_stream_new(&events, p, &p->json, err);
  if (rc != 0) {
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

void parse_dataset_json_feed(parse_dataset_json *p, const char *data, size_t len) {
  json_stream_feed(p->json, data, len);
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

static int check_labels(parse_dataset_json *p, parse_dataset_out *out, api_error *err) {
  if (p->labels_not_array || p->n_labels != out->rows)
    return api_fail(err, API_INVALID_ARGUMENT, "labels",
                    "labels must be an array of %zu labels, one per input row", out->rows);
  if (p->label.rc != 0) {
    *err = p->label.err;
    return p->label.rc;
  }
  out->labels = p->labels; /* (rows,) */
  p->labels = NULL;
  int rc = p->label_strings ? intern_take_sorted(&p->classes, out->labels, out->rows,
                                                 &out->classes, &out->n_classes)
                            : number_classes(p->max_label, out);
  out->outputs = out->n_classes;
  return rc == 0 ? 0 : parse_out_of_memory(err);
}

/* A table of records: {"name","target","records":[{...}]}. */
static int check_records(parse_dataset_json *p, parse_dataset_out *out, api_error *err) {
  if (!p->has_records)
    return api_fail(err, API_INVALID_ARGUMENT, "target",
                    "unknown field target without records (a dataset of inputs has targets or "
                    "labels)");
  if (p->inputs.present || p->targets.present || p->has_labels)
    return api_fail(err, API_INVALID_ARGUMENT, "records",
                    "give records (with target) or inputs (with targets or labels), not both");
  if (!p->has_target)
    return api_fail(err, API_INVALID_ARGUMENT, "target", "target is required with records");
  if (!p->target_string || p->target_len == 0 || p->target_len > NN_TABLE_MAX_NAME)
    return api_fail(err, API_INVALID_ARGUMENT, "target",
                    "target must be a column name of 1 to %d bytes", NN_TABLE_MAX_NAME);
  if (p->records_not_array || p->n_records == 0)
    return api_fail(err, API_INVALID_ARGUMENT, "records",
                    "records must be a non-empty array of objects");
  if (p->record.rc != 0) {
    *err = p->record.err;
    return p->record.rc;
  }
  int rc = parse_table_set_target(p->table, p->target, p->target_len, err);
  return rc != 0 ? rc : parse_table_finish(p->table, out, err);
}

/* Every check, in the order of a whole-document parse; hands the arrays over. */
static int check(parse_dataset_json *p, parse_dataset_out *out, api_error *err) {
  int rc = json_stream_finish(p->json, err);
  if (rc != 0) return rc;
  if (p->oom) return parse_out_of_memory(err);
  if (p->root_other) return api_fail(err, API_INVALID_ARGUMENT, NULL, "the body must be a JSON object");
  if (p->unknown.rc != 0) {
    *err = p->unknown.err;
    return p->unknown.rc;
  }
  if (!p->has_name) return api_fail(err, API_INVALID_ARGUMENT, "name", "name is required");
  if (!p->name_string) return api_fail(err, API_INVALID_ARGUMENT, "name", "name must be a string");
  if (p->name_len == 0 || p->name_len > PARSE_NAME_MAX)
    return api_fail(err, API_INVALID_ARGUMENT, "name", "name must have 1 to %d characters",
                    PARSE_NAME_MAX);
  rc = parse_check_name(p->name, "name", err);
  if (rc != 0) return rc;
  if (p->has_records || p->has_target) return check_records(p, out, err);
  if (p->targets.present && p->has_labels)
    return api_fail(err, API_INVALID_ARGUMENT, "labels", "give targets or labels, not both");
  if (!p->targets.present && !p->has_labels)
    return api_fail(err, API_INVALID_ARGUMENT, "targets",
                    "targets (regression) or labels (classification) is required");
  rc = matrix_check(&p->inputs, err);
  if (rc != 0) return rc;
  out->rows = p->inputs.rows;
  out->features = (int)p->inputs.cols;
  out->x = p->inputs.a; /* (rows, features) */
  p->inputs.a = NULL;
  if (!p->targets.present) {
    out->task = PARSE_TASK_CLASSIFICATION;
    return check_labels(p, out, err);
  }
  out->task = PARSE_TASK_REGRESSION;
  rc = matrix_check(&p->targets, err);
  if (rc != 0) return rc;
  if (p->targets.rows != out->rows)
    return api_fail(err, API_INVALID_ARGUMENT, "targets",
                    "targets must have %zu rows, one per input row", out->rows);
  out->outputs = (int)p->targets.cols;
  out->y = p->targets.a; /* (rows, outputs) */
  p->targets.a = NULL;
  return 0;
}

int parse_dataset_json_finish(parse_dataset_json *p, char name[PARSE_NAME_MAX + 1],
                              parse_dataset_out *out, api_error *err) {
  memset(out, 0, sizeof *out);
  int rc = check(p, out, err);
  if (rc != 0) {
    parse_dataset_out_free(out);
    return rc;
  }
  snprintf(name, PARSE_NAME_MAX + 1, "%s", p->name);
  return 0;
}

void parse_dataset_json_free(parse_dataset_json *p) {
  if (p == NULL) return;
  json_stream_free(p->json);
  free(p->inputs.a);
  free(p->targets.a);
  free(p->labels);
  free(p->key);
  parse_table_free(p->table);
  intern_free(&p->classes);
  free(p);
}
