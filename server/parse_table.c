/* parse_table.c — a typed table from a data set body (parse_table.h). */
#include "parse_table.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "../core/table.h"
#include "keyed_hash.h"
#include "parse_dataset.h"

struct parse_table {
  parse_table_options o;
  char *target;
  nn_table_builder *b;
  int *map;             /* (declared,) builder column, or -1 for an ignored one */
  int declared, cap;
  int kept;             /* columns declared to the builder */
  uint64_t ignored_seen; /* bit k: the (k+1)th name of ?ignore= is a column */
  int ignore_item;      /* check_ignored's place in the list */
  /* JSON records: the first one's cells, held until it closes */
  struct held_cell {
    char *text;         /* the key, NUL, then the value's text */
    size_t klen, len;
    char kind;
  } *held;
  size_t n_held, cap_held;
  size_t records;       /* records closed */
  nn_table_options to;
  const char *na[NN_TABLE_MAX_NA];
  char *na_text;        /* the markers' storage */
};

/* Each comma-separated item of list (NULL: none) to fn; stops at a failure. */
static int each_item(const char *list, int (*fn)(void *, const char *, size_t, api_error *),
                     void *ud, api_error *err) {
  for (const char *s = list; s != NULL;) {
    size_t len = strcspn(s, ",");
    int rc = fn(ud, s, len, err);
    if (rc != 0) return rc;
    s = s[len] == ',' ? s + len + 1 : NULL;
  }
  return 0;
}

int parse_table_query(const char *ignore, const char *types, const char *na_values,
                      const char *delimiter, parse_table_options *o, api_error *err) {
  memset(o, 0, sizeof *o);
  o->ignore = ignore;
  o->types = types;
  o->na_values = na_values;
  int items = 1;
  for (const char *c = ignore; c != NULL && *c != '\0'; c++) items += *c == ',';
  if (items > PARSE_TABLE_MAX_IGNORED)
    return api_fail(err, API_INVALID_ARGUMENT, "ignore", "ignore lists more than %d columns",
                    PARSE_TABLE_MAX_IGNORED);
  if (delimiter == NULL) return 0;
  static const struct { const char *name; char c; } names[] = {
      {",", ','}, {";", ';'}, {"\t", '\t'}, {"tab", '\t'}, {"|", '|'}};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
    if (strcmp(delimiter, names[k].name) == 0) {
      o->delimiter = names[k].c;
      o->delimiter_given = 1;
      return 0;
    }
  return api_fail(err, API_INVALID_ARGUMENT, "delimiter",
                  "delimiter must be one of , ; | or tab");
}

int parse_table_options_given(const parse_table_options *o) {
  return o->ignore != NULL || o->types != NULL || o->na_values != NULL || o->delimiter_given;
}

static int add_na(void *ud, const char *s, size_t len, api_error *err) {
  parse_table *t = ud;
  if (t->to.n_na == NN_TABLE_MAX_NA)
    return api_fail(err, API_INVALID_ARGUMENT, "na_values", "na_values lists more than %d markers",
                    NN_TABLE_MAX_NA);
  /* na_text is a copy of the list with its commas turned into NULs */
  t->na[t->to.n_na++] = t->na_text + (s - t->o.na_values);
  t->na_text[(s - t->o.na_values) + (ptrdiff_t)len] = '\0';
  return 0;
}

int parse_table_new(const parse_table_options *o, const char *target, parse_table **out,
                    api_error *err) {
  nn_error ne;
  keyed_hash_key key;
  *out = NULL;
  parse_table *t = calloc(1, sizeof *t);
  if (t == NULL) return parse_out_of_memory(err);
  t->o = *o;
  nn_table_options_defaults(&t->to);
  int rc = 0;
  if (target != NULL && (t->target = strdup(target)) == NULL) rc = parse_out_of_memory(err);
  if (rc == 0 && o->na_values != NULL) {
    if ((t->na_text = strdup(o->na_values)) == NULL) rc = parse_out_of_memory(err);
    if (rc == 0) rc = each_item(o->na_values, add_na, t, err);
    t->to.na_values = t->na;
  }
  if (rc == 0 && keyed_hash_key_new(&key) != 0)
    rc = api_fail(err, API_INTERNAL, NULL, "no random source for the table's hash key");
  if (rc == 0) {
    memcpy(t->to.hash_key, key.bytes, sizeof t->to.hash_key);
    if (nn_table_builder_new(&t->to, &t->b, &ne) != NN_OK)
      rc = api_fail(err, API_INVALID_ARGUMENT, "na_values", "%s", ne.message);
  }
  if (rc != 0) {
    parse_table_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void parse_table_free(parse_table *t) {
  if (t == NULL) return;
  nn_table_builder_free(t->b);
  free(t->map);
  free(t->target);
  free(t->na_text);
  for (size_t i = 0; i < t->n_held; i++) free(t->held[i].text);
  free(t->held);
  free(t);
}

/* Whether list (comma-separated, or NULL) names the column: its 1-based
 * place in the list, or 0. */
static int listed(const char *list, const char *name, size_t len) {
  int k = 1;
  for (const char *s = list; s != NULL; k++) {
    size_t n = strcspn(s, ",");
    if (n == len && memcmp(s, name, len) == 0) return k;
    s = strchr(s, ',');
    s = s != NULL ? s + 1 : NULL;
  }
  return 0;
}

int parse_table_column(parse_table *t, const char *name, size_t len, const char *where,
                       api_error *err) {
  nn_error ne;
  if (t->declared == t->cap) {
    int cap = t->cap ? 2 * t->cap : 16;
    int *map = realloc(t->map, (size_t)cap * sizeof *map);
    if (map == NULL) return parse_out_of_memory(err);
    t->map = map;
    t->cap = cap;
  }
  int ignored = listed(t->o.ignore, name, len);
  t->map[t->declared++] = ignored ? -1 : t->kept;
  if (ignored) {
    t->ignored_seen |= (uint64_t)1 << (ignored - 1);
    return 0;
  }
  t->kept++;
  if (nn_table_builder_column(t->b, name, len, NN_COL_AUTO, &ne) != NN_OK)
    return api_fail(err, API_INVALID_ARGUMENT, where, "%s: %s", where, ne.message);
  return 0;
}

int parse_table_find(const parse_table *t, const char *name, size_t len) {
  int k = nn_table_builder_find(t->b, name, len);
  for (int i = 0; k >= 0 && i < t->declared; i++)
    if (t->map[i] == k) return i;
  return -1;
}

/* A name of ?ignore= must be a column, and not the target. */
static int check_ignored(void *ud, const char *s, size_t len, api_error *err) {
  parse_table *t = ud;
  if (len == strlen(t->target) && memcmp(s, t->target, len) == 0)
    return api_fail(err, API_INVALID_ARGUMENT, "ignore", "ignore names the target column %s",
                    t->target);
  if (t->ignored_seen >> t->ignore_item++ & 1) return 0;
  return api_fail(err, API_INVALID_ARGUMENT, "ignore", "ignore names column %.*s, which is not in "
                  "the header", (int)(len < 64 ? len : 64), s);
}

/* col:type of ?types=: a column, and a type name. */
static int set_type(void *ud, const char *s, size_t len, api_error *err) {
  parse_table *t = ud;
  nn_error ne;
  const char *colon = memchr(s, ':', len);
  char type[16];
  int v, column = colon != NULL ? nn_table_builder_find(t->b, s, (size_t)(colon - s)) : -1;
  size_t tlen = colon != NULL ? len - (size_t)(colon - s) - 1 : 0;
  if (colon == NULL || tlen == 0 || tlen >= sizeof type)
    return api_fail(err, API_INVALID_ARGUMENT, "types",
                    "types must be a comma-separated list of column:type");
  memcpy(type, colon + 1, tlen);
  type[tlen] = '\0';
  if (column < 0)
    return api_fail(err, API_INVALID_ARGUMENT, "types", "types names column %.*s, which is not "
                    "in the header (or is ignored)", (int)((colon - s) < 64 ? colon - s : 64), s);
  if (nn_parse_name(NN_NAMES_COLUMN_TYPE, type, &v) != NN_OK)
    return api_fail(err, API_INVALID_ARGUMENT, "types",
                    "types: %s is not a column type (number, integer, boolean, category, "
                    "datetime)", type);
  if (nn_table_builder_set_type(t->b, column, (nn_col_type)v, &ne) != NN_OK)
    return api_fail(err, API_INVALID_ARGUMENT, "types", "types: %s", ne.message);
  return 0;
}

int parse_table_header(parse_table *t, api_error *err) {
  int rc = each_item(t->o.ignore, check_ignored, t, err);
  if (rc == 0) rc = each_item(t->o.types, set_type, t, err);
  if (rc == 0 && nn_table_builder_find(t->b, t->target, strlen(t->target)) < 0)
    rc = api_fail(err, API_INVALID_ARGUMENT, "target", "target column %s is not in the header",
                  t->target);
  return rc;
}

/* A builder's refusal of a cell, named where it happened (or by the caller). */
static int cell_failed(int status, const nn_error *ne, const char *where, api_error *err) {
  if (status == NN_ENOMEM) return parse_out_of_memory(err);
  if (where == NULL) return api_fail(err, API_INVALID_ARGUMENT, NULL, "%s", ne->message);
  return api_fail(err, API_INVALID_ARGUMENT, where, "%s: %s", where, ne->message);
}

int parse_table_cell(parse_table *t, int column, const char *s, size_t len, const char *where,
                     api_error *err) {
  nn_error ne;
  if (column < 0 || column >= t->declared || t->map[column] < 0) return 0;
  int rc = nn_table_builder_cell_at(t->b, t->map[column], s, len, &ne);
  return rc == NN_OK ? 0 : cell_failed(rc, &ne, where, err);
}

int parse_table_number(parse_table *t, int column, double v, const char *where, api_error *err) {
  nn_error ne;
  if (column < 0 || column >= t->declared || t->map[column] < 0) return 0;
  int rc = nn_table_builder_number_at(t->b, t->map[column], v, &ne);
  return rc == NN_OK ? 0 : cell_failed(rc, &ne, where, err);
}

int parse_table_missing(parse_table *t, int column, const char *where, api_error *err) {
  nn_error ne;
  if (column < 0 || column >= t->declared || t->map[column] < 0) return 0;
  int rc = nn_table_builder_missing_at(t->b, t->map[column], &ne);
  return rc == NN_OK ? 0 : cell_failed(rc, &ne, where, err);
}

int parse_table_cell_number(const parse_table *t, int column, double *v) {
  if (column < 0 || column >= t->declared || t->map[column] < 0) return 0;
  return nn_table_builder_number(t->b, t->map[column], v);
}

int parse_table_take_numbers(parse_table *t, int skip, float **x, api_error *err) {
  size_t rows = nn_table_builder_rows(t->b), width;
  float **cols = NULL, *m = NULL;
  nn_error ne;
  int rc = 0;
  *x = NULL;
  assert(t->kept == t->declared && skip >= 0 && skip < t->kept); /* nothing ignored */
  width = (size_t)t->kept - 1;
  if (width == 0 || rows == 0 || rows > SIZE_MAX / sizeof *m / width ||
      (cols = calloc((size_t)t->kept, sizeof *cols)) == NULL)
    return parse_out_of_memory(err);
  /* every column to floats in place first (4 bytes a cell, the doubles
   * gone), then the row-major matrix: at most 8 bytes a cell at once */
  for (int c = 0; c < t->kept && rc == 0; c++) {
    if (c == skip) continue;
    int st = nn_table_builder_take_floats(t->b, c, &cols[c], &ne);
    if (st == NN_ENOMEM) rc = parse_out_of_memory(err);
    else if (st != NN_OK) rc = api_fail(err, API_INTERNAL, NULL, "%s", ne.message);
  }
  if (rc == 0 && (m = malloc(rows * width * sizeof *m)) == NULL) rc = parse_out_of_memory(err);
  for (int c = 0, f = 0; rc == 0 && c < t->kept; c++) {
    if (c == skip) continue;
    for (size_t r = 0; r < rows; r++) m[r * width + (size_t)f] = cols[c][r]; /* x[r, f] */
    f++;
  }
  for (int c = 0; c < t->kept; c++) free(cols[c]);
  free(cols);
  if (rc == 0) *x = m;
  return rc;
}

int parse_table_end_row(parse_table *t, api_error *err) {
  nn_error ne;
  int rc = nn_table_builder_end_row(t->b, &ne);
  if (rc == NN_OK) return 0;
  if (rc == NN_ENOMEM) return parse_out_of_memory(err);
  return api_fail(err, API_INVALID_ARGUMENT, NULL, "row %zu: %s", nn_table_builder_rows(t->b) + 1,
                  ne.message);
}

int parse_table_set_target(parse_table *t, const char *target, size_t len, api_error *err) {
  free(t->target);
  if ((t->target = malloc(len + 1)) == NULL) return parse_out_of_memory(err);
  memcpy(t->target, target, len);
  t->target[len] = '\0';
  return 0;
}

/* A record's value into column `column` of the current row. */
static int record_value(parse_table *t, int column, char kind, const char *text, size_t len,
                        const char *where, api_error *err) {
  switch (kind) {
  case 'z': return parse_table_missing(t, column, where, err);
  case 't': return parse_table_cell(t, column, "true", 4, where, err);
  case 'f': return parse_table_cell(t, column, "false", 5, where, err);
  default: return parse_table_cell(t, column, text, len, where, err);
  }
}

int parse_table_record_cell(parse_table *t, const char *key, size_t klen, char kind,
                            const char *text, size_t len, const char *where, api_error *err) {
  if (t->records > 0) {
    int column = parse_table_find(t, key, klen);
    if (column < 0)
      return api_fail(err, API_INVALID_ARGUMENT, where, "%s: records[0] has no column %.*s; "
                      "the first record names every column", where, (int)(klen < 64 ? klen : 64),
                      key);
    return record_value(t, column, kind, text, len, where, err);
  }
  if (t->n_held == t->cap_held) {
    size_t cap = t->cap_held ? 2 * t->cap_held : 16;
    struct held_cell *h = realloc(t->held, cap * sizeof *h);
    if (h == NULL) return parse_out_of_memory(err);
    t->held = h;
    t->cap_held = cap;
  }
  struct held_cell *c = &t->held[t->n_held];
  if (klen > SIZE_MAX / 2 - len || (c->text = malloc(klen + len + 2)) == NULL)
    return parse_out_of_memory(err);
  t->n_held++;
  memcpy(c->text, key, klen);
  c->text[klen] = '\0';
  if (len > 0) memcpy(c->text + klen + 1, text, len);
  c->text[klen + 1 + len] = '\0';
  c->klen = klen;
  c->len = len;
  c->kind = kind;
  return 0;
}

int parse_table_record_end(parse_table *t, const char *where, api_error *err) {
  int rc = 0;
  if (t->records++ > 0) return parse_table_end_row(t, err);
  /* the first record: its keys are the columns, then its cells */
  for (size_t i = 0; i < t->n_held && rc == 0; i++) {
    rc = parse_table_column(t, t->held[i].text, t->held[i].klen, where, err);
  }
  for (size_t i = 0; i < t->n_held && rc == 0; i++) {
    const struct held_cell *c = &t->held[i];
    rc = record_value(t, (int)i, c->kind, c->text + c->klen + 1, c->len, where, err);
  }
  if (rc == 0 && t->n_held == 0)
    rc = api_fail(err, API_INVALID_ARGUMENT, where, "%s names no column", where);
  if (rc == 0) rc = parse_table_end_row(t, err);
  return rc;
}

/* The report of a column kept from its type: its cells and their rows. */
static int report_failed(const nn_table_report *r, const char *name, api_error *err) {
  char cells[160] = "";
  size_t at = 0;
  for (int i = 0; i < r->n_cells && at < sizeof cells - 1; i++) {
    int n = snprintf(cells + at, sizeof cells - at, "%srow %zu (%.24s)", i ? ", " : "",
                     r->cells[i].row + 1, r->cells[i].text);
    if (n < 0) break;
    at += (size_t)n;
  }
  char field[PARSE_PATH_MAX];
  snprintf(field, sizeof field, "column %s", name);
  const char *type = nn_name(NN_NAMES_COLUMN_TYPE, r->type);
  return api_fail(err, API_INVALID_ARGUMENT, field,
                  "column %s is %s except for %zu of %zu cells: %s%s; make them %s or missing, "
                  "or pass ?types=%s:category to keep the column as text",
                  name, type, r->offending, r->offending + r->valid, cells,
                  (size_t)r->n_cells < r->offending ? ", ..." : "", type, name);
}

/* The task and classes training will see: an encoder fitted on the rows
 * with a target (its class names come from the whole column). */
static int name_target(const nn_table *table, int target, parse_dataset_out *out,
                       api_error *err) {
  size_t rows = nn_table_rows(table), n = 0;
  const nn_table_column *tc = nn_table_column_at(table, target);
  uint32_t *idx = malloc(rows * sizeof *idx);
  nn_encode_options eo;
  nn_encoder *e = NULL;
  nn_error ne;
  nn_target_kind kind;
  int classes, rc = 0;
  if (idx == NULL) return parse_out_of_memory(err);
  for (size_t r = 0; r < rows; r++)
    if (!tc->is_missing[r]) idx[n++] = (uint32_t)r;
  nn_encode_options_defaults(&eo);
  eo.target = target;
  if (n == 0) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "target", "no row has a value in target column %s",
                  tc->name);
  } else if ((rc = nn_encoder_fit(table, idx, n, &eo, &e, &ne)) != NN_OK) {
    rc = rc == NN_ENOMEM ? parse_out_of_memory(err)
                         : api_fail(err, API_INVALID_ARGUMENT, ne.field[0] ? "target" : NULL,
                                    "%s", ne.message);
  } else {
    nn_encoder_target(e, &kind, NULL, NULL, &classes);
    out->task = kind == NN_TARGET_CLASSIFICATION ? PARSE_TASK_CLASSIFICATION
                                                 : PARSE_TASK_REGRESSION;
    out->outputs = kind == NN_TARGET_CLASSIFICATION ? classes : 1;
    if (kind == NN_TARGET_CLASSIFICATION) {
      if ((out->classes = calloc((size_t)classes, sizeof *out->classes)) == NULL)
        rc = parse_out_of_memory(err);
      for (int k = 0; rc == 0 && k < classes; k++, out->n_classes++)
        if (strlen(nn_encoder_class(e, k)) > PARSE_CLASS_NAME_MAX) /* as a numeric dataset's */
          rc = api_fail(err, API_INVALID_ARGUMENT, "target",
                        "target %s has a class name longer than %d bytes: %.32s...", tc->name,
                        PARSE_CLASS_NAME_MAX, nn_encoder_class(e, k));
        else if ((out->classes[k] = strdup(nn_encoder_class(e, k))) == NULL)
          rc = parse_out_of_memory(err);
    }
    out->rows_without_target = rows - n;
  }
  nn_encoder_free(e);
  free(idx);
  return rc;
}

int parse_table_finish(parse_table *t, parse_dataset_out *out, api_error *err) {
  nn_table_report report;
  nn_error ne;
  nn_table *table = NULL;
  int rc = nn_table_builder_finish(t->b, &table, &report, &ne);
  nn_table_builder_free(t->b); /* consumed either way, freed here */
  t->b = NULL;
  memset(out, 0, sizeof *out);
  if (rc == NN_ENOMEM) return parse_out_of_memory(err);
  if (rc != NN_OK && report.column >= 0)
    return report_failed(&report, ne.field[0] ? ne.field : "?", err);
  if (rc != NN_OK) return api_fail(err, API_INVALID_ARGUMENT, NULL, "%s", ne.message);
  int target = t->target != NULL ? nn_table_find(table, t->target, strlen(t->target)) : -1;
  out->table = table;
  out->rows = nn_table_rows(table);
  out->features = nn_table_columns(table) - 1;
  if (target < 0) /* parse_table_header checked it for a CSV; JSON records name it */
    rc = api_fail(err, API_INVALID_ARGUMENT, "target", "target column %s is in no record",
                  t->target);
  else if (out->features == 0)
    rc = api_fail(err, API_INVALID_ARGUMENT, "target", "the target is the only column: no "
                  "features");
  else if ((out->target = strdup(t->target)) == NULL)
    rc = parse_out_of_memory(err);
  else
    rc = name_target(table, target, out, err);
  if (rc != 0) parse_dataset_out_free(out);
  return rc;
}
