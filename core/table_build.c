/*
 * table_build.c — a typed table built one cell at a time, as a CSV or
 * JSON-records reader streams it in, without holding its text.
 *
 * One pass is enough to infer each column's type from all of its cells:
 * every cell is classified as it arrives and stored compactly, 9 bytes a
 * cell: a double (the number, the date-time's seconds, or the dictionary
 * code of a text) and a byte saying which; 8 while a column's cells are
 * all of one kind (numbers without blanks), its kind bytes made only when
 * a cell of another kind comes. Per column the counts of each
 * kind are kept, and the finish (table_infer.c) resolves the type from
 * them, converting the column in place. A number or a date therefore never
 * goes through the dictionary, and a text costs one keyed hash.
 *
 * Cost per cell: a trim, a comparison with the missing markers when the cell
 * is short enough to be one, the number parser (cell.c), and, for text, a
 * SipHash and a probe; no allocation, since the columns grow together by
 * doubling (checked against max_bytes first) and dictionaries double too.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_build.h"

static const char *const default_na[] = {"NA", "N/A", "NaN", "null", "None", "?"};

void nn_table_options_defaults(nn_table_options *o) {
  memset(o, 0, sizeof *o);
  o->max_columns = NN_TABLE_MAX_COLUMNS;
  o->max_cell = NN_TABLE_MAX_CELL;
  o->max_name = NN_TABLE_MAX_NAME;
  o->max_bytes = NN_TABLE_MAX_BYTES;
  o->na_values = NULL;
  o->n_na = 0;
}

int nn_table_builder_new(const nn_table_options *o, nn_table_builder **out, nn_error *err) {
  const char *const *na = o->na_values ? o->na_values : default_na;
  int n_na = o->na_values ? o->n_na : (int)(sizeof default_na / sizeof default_na[0]);
  nn_table_builder *b = NULL;
  int rc = NN_OK;
  *out = NULL;
  if (o->max_columns < 1 || o->max_cell < 1 || o->max_name < 1 || o->max_bytes < 1)
    return nn__fail(err, NN_EINVAL, "", "table limits must be positive");
  if (n_na < 0 || n_na > NN_TABLE_MAX_NA)
    return nn__fail(err, NN_EINVAL, "na_values", "at most %d missing markers", NN_TABLE_MAX_NA);
  if ((b = calloc(1, sizeof *b)) == NULL) goto nomem;
  b->o = *o;
  b->o.na_values = NULL;
  b->o.n_na = n_na;
  nn__dict_init(&b->names, o->hash_key);
  if ((b->na = calloc((size_t)n_na + 1, sizeof *b->na)) == NULL ||
      (b->na_len = calloc((size_t)n_na + 1, sizeof *b->na_len)) == NULL)
    goto nomem;
  for (int i = 0; i < n_na; i++) {
    size_t len = strlen(na[i]);
    if (len > NN_TABLE_MAX_NAME) {
      rc = nn__fail(err, NN_EINVAL, "na_values", "missing marker %d is longer than %d bytes", i,
                    NN_TABLE_MAX_NAME);
      goto fail;
    }
    if ((b->na[i] = malloc(len + 1)) == NULL) goto nomem;
    memcpy(b->na[i], na[i], len + 1);
    b->na_len[i] = len;
    if (len > b->na_max) b->na_max = len;
  }
  *out = b;
  return NN_OK;
nomem:
  rc = nn__fail(err, NN_ENOMEM, "", "out of memory");
fail:
  nn_table_builder_free(b);
  return rc;
}

void nn_table_builder_free(nn_table_builder *b) {
  if (b == NULL) return;
  for (int i = 0; i < b->n_cols; i++) {
    free(b->cols[i].name);
    free(b->cols[i].v);
    free(b->cols[i].kind);
    nn__dict_free(&b->cols[i].dict);
  }
  free(b->cols);
  nn__dict_free(&b->names);
  for (int i = 0; b->na != NULL && i < b->o.n_na; i++) free(b->na[i]);
  free(b->na);
  free(b->na_len);
  free(b);
}

static int valid_type(nn_col_type t) { return t == NN_COL_AUTO || (t >= 0 && t < NN_COL_TYPES); }

int nn_table_builder_column(nn_table_builder *b, const char *name, size_t len, nn_col_type type,
                            nn_error *err) {
  int32_t code;
  char shown[80];
  snprintf(shown, sizeof shown, "%.*s", len > 64 ? 64 : (int)len, name);
  if (b->rows > 0 || b->next > 0 || (b->n_cols > 0 && b->cols[0].n > 0))
    return nn__fail(err, NN_EINVAL, shown, "column %s is declared after the first row", shown);
  if (!valid_type(type)) return nn__fail(err, NN_EINVAL, shown, "column %s: unknown type", shown);
  if ((size_t)b->n_cols >= b->o.max_columns)
    return nn__fail(err, NN_ERANGE, shown, "a table has at most %zu columns", b->o.max_columns);
  if (len > b->o.max_name)
    return nn__fail(err, NN_ERANGE, shown, "column name %s... is longer than %zu bytes", shown,
                    b->o.max_name);
  if (nn__dict_find(&b->names, name, len) >= 0)
    return nn__fail(err, NN_EINVAL, shown, "column %s appears twice", shown);
  if (b->n_cols == b->cap_cols) {
    int cap = b->cap_cols ? 2 * b->cap_cols : 16;
    nn__bcol *cols = realloc(b->cols, (size_t)cap * sizeof *cols);
    if (cols == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
    b->cols = cols;
    b->cap_cols = cap;
  }
  nn__bcol *c = &b->cols[b->n_cols];
  memset(c, 0, sizeof *c);
  nn__dict_init(&c->dict, b->o.hash_key);
  if ((c->name = malloc(len + 1)) == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
  memcpy(c->name, name, len);
  c->name[len] = '\0';
  c->name_len = len;
  c->forced = type;
  if (nn__dict_add(&b->names, name, len, SIZE_MAX, &code) != NN_OK) {
    free(c->name);
    return nn__fail(err, NN_ENOMEM, "", "out of memory");
  }
  assert(code == b->n_cols);
  b->n_cols++;
  return NN_OK;
}

int nn_table_builder_find(const nn_table_builder *b, const char *name, size_t len) {
  return nn__dict_find(&b->names, name, len);
}

int nn_table_builder_set_type(nn_table_builder *b, int column, nn_col_type type, nn_error *err) {
  if (column < 0 || column >= b->n_cols || !valid_type(type))
    return nn__fail(err, NN_EINVAL, "", "no column %d, or an unknown type", column);
  if (b->rows > 0 || b->cols[column].n > 0)
    return nn__fail(err, NN_EINVAL, b->cols[column].name,
                    "the type of column %s is set after the first row", b->cols[column].name);
  b->cols[column].forced = type;
  return NN_OK;
}

size_t nn_table_builder_rows(const nn_table_builder *b) { return b->rows; }

/* Room for row b->rows in every column: double all of them together, within
 * max_bytes, before anything is allocated. */
static int grow_rows(nn_table_builder *b, nn_error *err) {
  size_t cap = b->cap ? 2 * b->cap : 64, per_row = (size_t)b->n_cols * NN__CELL_BYTES;
  if (cap > SIZE_MAX / per_row || cap * per_row > b->o.max_bytes - b->dict_bytes ||
      b->dict_bytes > b->o.max_bytes) {
    /* the last doubling may not fit while a smaller step still does */
    size_t room = b->dict_bytes > b->o.max_bytes ? 0 : b->o.max_bytes - b->dict_bytes;
    cap = room / per_row;
    if (cap <= b->rows)
      return nn__fail(err, NN_ERANGE, "", "row %zu: the table would take more than %zu bytes",
                      b->rows + 1, b->o.max_bytes);
  }
  for (int i = 0; i < b->n_cols; i++) {
    nn__bcol *c = &b->cols[i];
    double *v = realloc(c->v, cap * sizeof *v);
    if (v == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
    c->v = v;
    if (c->kind == NULL) continue;
    uint8_t *kind = realloc(c->kind, cap);
    if (kind == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
    c->kind = kind;
  }
  b->cap = cap;
  b->col_bytes = cap * per_row;
  return NN_OK;
}

/* The slot of column's cell in the current row, or an error. */
static int slot(nn_table_builder *b, int column, nn_error *err) {
  if (column < 0 || column >= b->n_cols) {
    if (b->n_cols == 0) return nn__fail(err, NN_EINVAL, "", "the table has no columns");
    return nn__fail(err, NN_EINVAL, "", "row %zu has more than the %d columns", b->rows + 1,
                    b->n_cols);
  }
  nn__bcol *c = &b->cols[column];
  if (c->n > b->rows)
    return nn__fail(err, NN_EINVAL, c->name, "row %zu: column %s is given twice", b->rows + 1,
                    c->name);
  if (b->rows == b->cap) return grow_rows(b, err);
  return NN_OK;
}

int nn__bcol_kinds(nn__bcol *c, size_t cap) {
  if (c->kind != NULL) return NN_OK;
  if ((c->kind = malloc(cap ? cap : 1)) == NULL) return NN_ENOMEM;
  memset(c->kind, c->same, c->n < cap ? c->n : cap);
  return NN_OK;
}

/* Store the cell at row; the column's kind bytes made when it is the first
 * of another kind. @return NN_OK or NN_ENOMEM */
static int put(const nn_table_builder *b, nn__bcol *c, size_t row, int kind, double v,
               nn_error *err) {
  if (c->kind == NULL && c->n == 0) c->same = (uint8_t)kind;
  if (c->kind == NULL && c->same != kind && nn__bcol_kinds(c, b->cap) != NN_OK)
    return nn__fail(err, NN_ENOMEM, "", "out of memory");
  c->v[row] = v;
  if (c->kind != NULL) c->kind[row] = (uint8_t)kind;
  c->n_kind[kind]++;
  c->n = row + 1;
  return NN_OK;
}

/* Where a text is remembered among a column's recent ones: a cheap mix of
 * its length and ends. A category's few values mostly land apart, so their
 * repeats cost a comparison instead of a SipHash and a probe; texts chosen
 * to collide here only miss, and cost what they would without it. */
static size_t recent_slot(const char *s, size_t len) {
  return (len * 31u + (unsigned char)s[0] * 7u + (unsigned char)s[len - 1] * 3u +
          (unsigned char)s[len / 2]) & (NN__RECENT - 1);
}

static int is_missing(const nn_table_builder *b, const char *s, size_t len) {
  if (len == 0) return 1;
  if (len > b->na_max) return 0;
  for (int i = 0; i < b->o.n_na; i++)
    if (b->na_len[i] == len && memcmp(b->na[i], s, len) == 0) return 1;
  return 0;
}

int nn_table_builder_cell_at(nn_table_builder *b, int column, const char *s, size_t len,
                             nn_error *err) {
  int rc = slot(b, column, err), integral;
  if (rc != NN_OK) return rc;
  nn__bcol *c = &b->cols[column];
  size_t row = b->rows, tlen = len;
  const char *t;
  double v;
  b->next = column + 1;
  if (len > b->o.max_cell)
    return nn__fail(err, NN_ERANGE, c->name, "row %zu, column %s: a cell is longer than %zu bytes",
                    row + 1, c->name, b->o.max_cell);
  t = nn__trim(s, &tlen);
  if (is_missing(b, t, tlen)) {
    return put(b, c, row, K_MISSING, NAN, err);
  }
  if (c->forced != NN_COL_CATEGORY) {
    /* a number starts with a digit, a sign or a point; a date with 4 digits */
    char f = t[0];
    if ((f >= '0' && f <= '9') || f == '-' || f == '+' || f == '.') {
      rc = nn_parse_number(t, tlen, &v, &integral);
      if (rc == NN_OK) {
        if (!integral) c->non_integral = 1;
        return put(b, c, row, K_NUMBER, v, err);
      }
      if (rc == NN_ENOMEM) return nn__fail(err, rc, "", "out of memory");
      int has_time;
      if (tlen >= 10 && t[4] == '-' && nn_parse_datetime(t, tlen, &v, &has_time) == NN_OK) {
        return put(b, c, row, has_time ? K_DATETIME : K_DATE, v, err);
      }
    }
  }
  int32_t code, *recent = &c->recent[recent_slot(s, len)];
  if (*recent > 0) { /* a repeat of a recent text skips the keyed hash */
    size_t klen;
    const char *k = nn__dict_entry(&c->dict, *recent - 1, &klen);
    if (klen == len && memcmp(k, s, len) == 0) {
      c->dict.count[*recent - 1]++;
      return put(b, c, row, K_TEXT, (double)(*recent - 1), err);
    }
  }
  size_t before = nn__dict_bytes(&c->dict), used = b->col_bytes + b->dict_bytes;
  rc = nn__dict_add(&c->dict, s, len, used > b->o.max_bytes ? 0 : b->o.max_bytes - used + before,
                    &code);
  b->dict_bytes += nn__dict_bytes(&c->dict) - before;
  if (rc == NN_ERANGE)
    return nn__fail(err, rc, c->name, "row %zu, column %s: the table would take more than %zu "
                    "bytes", row + 1, c->name, b->o.max_bytes);
  if (rc != NN_OK) return nn__fail(err, rc, "", "out of memory");
  *recent = code + 1;
  return put(b, c, row, K_TEXT, (double)code, err);
}

int nn_table_builder_cell(nn_table_builder *b, const char *s, size_t len, nn_error *err) {
  return nn_table_builder_cell_at(b, b->next, s, len, err);
}

int nn_table_builder_number_at(nn_table_builder *b, int column, double v, nn_error *err) {
  int rc = slot(b, column, err);
  if (rc != NN_OK) return rc;
  nn__bcol *c = &b->cols[column];
  b->next = column + 1;
  if (!isfinite(v))
    return nn__fail(err, NN_EINVAL, c->name, "row %zu, column %s: a number must be finite",
                    b->rows + 1, c->name);
  if (!(v == trunc(v) && fabs(v) <= 9007199254740992.0)) c->non_integral = 1;
  return put(b, c, b->rows, K_NUMBER, v, err);
}

int nn_table_builder_missing_at(nn_table_builder *b, int column, nn_error *err) {
  int rc = slot(b, column, err);
  if (rc != NN_OK) return rc;
  b->next = column + 1;
  return put(b, &b->cols[column], b->rows, K_MISSING, NAN, err);
}

int nn_table_builder_end_row(nn_table_builder *b, nn_error *err) {
  if (b->n_cols == 0) return nn__fail(err, NN_EINVAL, "", "the table has no columns");
  if (b->rows == b->cap) {
    int rc = grow_rows(b, err); /* a row without any cell */
    if (rc != NN_OK) return rc;
  }
  for (int i = 0; i < b->n_cols; i++) {
    nn__bcol *c = &b->cols[i];
    if (c->n == b->rows && put(b, c, b->rows, K_MISSING, NAN, err) != NN_OK) return NN_ENOMEM;
    assert(c->n == b->rows + 1);
  }
  b->rows++;
  b->next = 0;
  return NN_OK;
}

int nn_table_builder_number(const nn_table_builder *b, int column, double *v) {
  if (column < 0 || column >= b->n_cols) return 0;
  const nn__bcol *c = &b->cols[column];
  if (c->n != b->rows + 1 || nn__kind_at(c, b->rows) != K_NUMBER) return 0;
  *v = c->v[b->rows];
  return 1;
}

int nn_table_builder_take_floats(nn_table_builder *b, int column, float **out, nn_error *err) {
  *out = NULL;
  if (column < 0 || column >= b->n_cols || b->cols[column].v == NULL)
    return nn__fail(err, NN_EINVAL, "", "no column %d to take", column);
  nn__bcol *c = &b->cols[column];
  if (c->n != b->rows || c->n_kind[K_NUMBER] != b->rows)
    return nn__fail(err, NN_EINVAL, c->name, "column %s is not numbers only", c->name);
  /* float r lands in bytes [4r, 4r + 4) of the block, inside double r/2,
   * which was read before: ascending r converts in place (through memcpy,
   * which the compiler must take as touching the same bytes) */
  unsigned char *block = (unsigned char *)c->v;
  for (size_t r = 0; r < b->rows; r++) {
    double d;
    memcpy(&d, block + r * sizeof d, sizeof d);
    float x = (float)d;
    memcpy(block + r * sizeof x, &x, sizeof x);
  }
  float *shrunk = realloc(block, (b->rows ? b->rows : 1) * sizeof *shrunk);
  if (shrunk == NULL) shrunk = (float *)(void *)block; /* realloc would not shrink: keep it */
  c->v = NULL;
  free(c->kind);
  c->kind = NULL;
  *out = shrunk;
  return NN_OK;
}
