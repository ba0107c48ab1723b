/*
 * encode_apply.c — a fitted encoding applied: rows of a typed table, or raw
 * records, into the float matrix a model takes (row-major, rows x width);
 * targets into standardized values or class indices, and predictions back.
 *
 * Both paths end in the same per-cell writers, so a record and the table
 * row it came from encode to the same bits. For a table, a category column
 * is matched by text once per dictionary entry (a code -> output map), then
 * costs an array lookup a row; a record's category costs one keyed hash.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_internal.h"

#define OTHER (-2) /* a category that is not kept */
#define TWO_PI 6.283185307179586

/* A value as a float output; NN_ERANGE beyond float range (an unscaled
 * 1e300, or fill values crafted into a stored encoding): never an inf. */
static int put_float(double v, float *out) {
  if (!(fabs(v) <= FLT_MAX)) return NN_ERANGE;
  *out = (float)v;
  return NN_OK;
}

/* number, integer, boolean: the imputed value, scaled; then the indicator */
static int put_number(const nn__enc_col *c, int missing, double v, float *out) {
  double x = missing ? c->fill[0] : v;
  if (c->indicator) out[1] = (float)missing;
  return put_float((x - c->mean[0]) / c->scale[0], out); /* z = (x - mean) / scale */
}

static int put_datetime(const nn__enc_col *c, int missing, double seconds, float *out) {
  static const double period[NN__DT_PARTS] = {0, 12, 7, 366, 24};
  double parts[NN__DT_PARTS];
  int o = 0;
  if (missing)
    memcpy(parts, c->fill, sizeof parts);
  else
    nn__datetime_parts(seconds, parts);
  for (int p = 0; p < NN__DT_PARTS; p++) {
    if (c->cyclic && p > 0) { /* (sin, cos) of the angle 2 pi v / period */
      out[o++] = (float)sin(TWO_PI * parts[p] / period[p]);
      out[o++] = (float)cos(TWO_PI * parts[p] / period[p]);
    } else {
      if (put_float((parts[p] - c->mean[p]) / c->scale[p], &out[o++]) != NN_OK) return NN_ERANGE;
    }
  }
  if (c->indicator) out[o] = (float)missing;
  return NN_OK;
}

/* slot: a kept category's output, OTHER, or -1 for missing (all zeros) */
static void put_category(const nn__enc_col *c, int32_t slot, float *out) {
  memset(out, 0, (size_t)c->width * sizeof *out);
  if (slot >= 0) out[slot] = 1;
  if (slot == OTHER) out[c->cats.n] = 1;
  if (c->indicator) out[c->cats.n + 1] = (float)(slot == -1);
}

/* ---- rows of a table ----------------------------------------------------------- */

static int same_kind(nn_col_type fitted, nn_col_type got) {
  int numeric_f = fitted == NN_COL_NUMBER || fitted == NN_COL_INTEGER;
  int numeric_g = got == NN_COL_NUMBER || got == NN_COL_INTEGER;
  return fitted == got || (numeric_f && numeric_g);
}

/* The table's column for an encoded one, or an error naming it. */
static int table_column(const nn_table *t, const nn__enc_col *c, const nn_table_column **out,
                        nn_error *err) {
  int i = nn_table_find(t, c->name, c->name_len);
  if (i < 0) return nn__fail(err, NN_ESHAPE, c->name, "the table has no column %s", c->name);
  *out = &t->cols[i];
  if (!same_kind(c->type, t->cols[i].type))
    return nn__fail(err, NN_ESHAPE, c->name, "column %s is %s, the encoding expects %s", c->name,
                    nn_name(NN_NAMES_COLUMN_TYPE, t->cols[i].type),
                    nn_name(NN_NAMES_COLUMN_TYPE, c->type));
  return NN_OK;
}

static int check_rows(const nn_table *t, const uint32_t *rows, size_t n, nn_error *err) {
  if (rows == NULL) {
    if (n > t->rows) return nn__fail(err, NN_EINVAL, "", "the table has %zu rows", t->rows);
    return NN_OK;
  }
  for (size_t i = 0; i < n; i++)
    if (rows[i] >= t->rows)
      return nn__fail(err, NN_EINVAL, "", "row %zu is not in the table of %zu rows",
                      (size_t)rows[i] + 1, t->rows);
  return NN_OK;
}

int nn_encoder_apply(const nn_encoder *e, const nn_table *t, const uint32_t *rows, size_t n,
                     float *x, nn_error *err) {
  int32_t *map = NULL;
  int rc = check_rows(t, rows, n, err);
  if (rc != NN_OK) return rc;
  for (int i = 0; i < e->n_cols; i++) {
    const nn__enc_col *c = &e->cols[i];
    const nn_table_column *tc;
    if ((rc = table_column(t, c, &tc, err)) != NN_OK) break;
    if (c->type == NN_COL_CATEGORY) { /* code -> output, by text */
      map = malloc((tc->n_categories ? (size_t)tc->n_categories : 1) * sizeof *map);
      if (map == NULL) {
        rc = nn__fail(err, NN_ENOMEM, "", "out of memory");
        break;
      }
      for (int32_t k = 0; k < tc->n_categories; k++) {
        int32_t s = nn__dict_find(&c->cats, tc->text + tc->offsets[k],
                                  tc->offsets[k + 1] - tc->offsets[k] - 1);
        map[k] = s >= 0 ? s : OTHER;
      }
    }
    for (size_t j = 0; j < n; j++) {
      size_t r = rows ? rows[j] : j;
      float *out = x + j * (size_t)e->width + c->offset;
      int missing = tc->is_missing[r];
      if (c->type == NN_COL_CATEGORY)
        put_category(c, missing ? -1 : map[tc->codes[r]], out);
      else if (c->type == NN_COL_DATETIME)
        rc = put_datetime(c, missing, tc->values[r], out);
      else
        rc = put_number(c, missing, tc->values[r], out);
      if (rc != NN_OK) {
        rc = nn__fail(err, rc, c->name, "row %zu, column %s: the encoded value is beyond float "
                      "range", r + 1, c->name);
        break;
      }
    }
    free(map);
    map = NULL;
    if (rc != NN_OK) break;
  }
  return rc;
}

int nn_encoder_apply_target(const nn_encoder *e, const nn_table *t, const uint32_t *rows,
                            size_t n, float *y, int32_t *labels, nn_error *err) {
  const nn_table_column *tc;
  char buf[48];
  int rc;
  if (!e->has_target) return nn__fail(err, NN_EINVAL, "", "the encoding has no target");
  if ((rc = check_rows(t, rows, n, err)) != NN_OK) return rc;
  if ((rc = table_column(t, &e->target, &tc, err)) != NN_OK) return rc;
  int cls = e->target_kind == NN_TARGET_CLASSIFICATION;
  if ((cls && labels == NULL) || (!cls && y == NULL))
    return nn__fail(err, NN_EINVAL, "", "%s needs its output array", cls ? "labels" : "y");
  for (size_t j = 0; j < n; j++) {
    size_t r = rows ? rows[j] : j, len;
    if (tc->is_missing[r])
      return nn__fail(err, NN_EINVAL, e->target.name, "row %zu has no target %s", r + 1,
                      e->target.name);
    if (!cls) {
      y[j] = (float)((tc->values[r] - e->target.mean[0]) / e->target.scale[0]);
      continue;
    }
    const char *s = nn__class_text(tc, r, buf, &len);
    if ((labels[j] = nn__dict_find(&e->classes, s, len)) < 0)
      return nn__fail(err, NN_EINVAL, e->target.name, "row %zu: class \"%.40s\" is not one of "
                      "the encoding's %d", r + 1, s, e->classes.n);
  }
  return NN_OK;
}

void nn_encoder_unscale(const nn_encoder *e, const float *y, size_t n, double *out) {
  for (size_t i = 0; i < n; i++)
    out[i] = (double)y[i] * e->target.scale[0] + e->target.mean[0]; /* x = z scale + mean */
}

/* ---- raw records ------------------------------------------------------------------ */

int nn__enc_is_missing(const nn_encoder *e, const char *s, size_t len) {
  s = nn__trim(s, &len);
  if (len == 0) return 1;
  for (int i = 0; i < e->n_na; i++)
    if (strlen(e->na[i]) == len && memcmp(e->na[i], s, len) == 0) return 1;
  return 0;
}

/* One cell of a record into its outputs. */
static int record_cell(const nn_encoder *e, const nn__enc_col *c, const nn_cell *cell, float *out,
                       nn_error *err, size_t record) {
  int missing = cell->kind == NN_CELL_MISSING ||
                (cell->kind == NN_CELL_TEXT && nn__enc_is_missing(e, cell->text, cell->len));
  double v = cell->number;
  const char *want = NULL;
  if (missing) {
    v = 0;
  } else if (c->type == NN_COL_CATEGORY) {
    char buf[48];
    const char *s = cell->text;
    size_t len = cell->len;
    if (cell->kind == NN_CELL_NUMBER) {
      if (!isfinite(v)) want = "a finite number or text";
      len = (size_t)nn__format_number(v, buf);
      s = buf;
    } else if (cell->kind == NN_CELL_BOOLEAN) {
      s = v != 0 ? "true" : "false";
      len = strlen(s);
    }
    if (want == NULL) {
      int32_t slot = nn__dict_find(&c->cats, s, len);
      put_category(c, slot >= 0 ? slot : OTHER, out);
      return NN_OK;
    }
  } else if (cell->kind == NN_CELL_TEXT) {
    if (c->type == NN_COL_DATETIME) {
      if (nn_parse_datetime(cell->text, cell->len, &v, NULL) != NN_OK) want = "an ISO 8601 date";
    } else if (c->type == NN_COL_BOOLEAN) {
      int b = nn_parse_boolean(cell->text, cell->len);
      if (b < 0 && nn_parse_number(cell->text, cell->len, &v, NULL) == NN_OK && (v == 0 || v == 1))
        b = (int)v;
      if (b < 0) want = "true or false";
      v = b;
    } else if (nn_parse_number(cell->text, cell->len, &v, NULL) != NN_OK) {
      want = "a number";
    }
  } else if (cell->kind == NN_CELL_NUMBER || cell->kind == NN_CELL_BOOLEAN) {
    if (!isfinite(v)) want = "a finite number";
    /* seconds of the years 0000 to 9999, as dates parse: days fit an int64 */
    if (c->type == NN_COL_DATETIME && !(v >= NN__MIN_SECONDS && v < NN__MAX_SECONDS))
      want = "a date of the years 0 to 9999";
    if (c->type == NN_COL_BOOLEAN && v != 0 && v != 1) want = "true or false";
    if (c->type == NN_COL_DATETIME && cell->kind == NN_CELL_BOOLEAN) want = "an ISO 8601 date";
  } else {
    want = "a known kind of cell";
  }
  if (want != NULL)
    return nn__fail(err, NN_EINVAL, c->name, "record %zu: column %s must be %s", record + 1,
                    c->name, want);
  int rc = NN_OK;
  if (c->type == NN_COL_CATEGORY)
    put_category(c, -1, out);
  else if (c->type == NN_COL_DATETIME)
    rc = put_datetime(c, missing, v, out);
  else
    rc = put_number(c, missing, v, out);
  if (rc != NN_OK)
    return nn__fail(err, rc, c->name, "record %zu: column %s encodes beyond float range",
                    record + 1, c->name);
  return NN_OK;
}

int nn_encoder_apply_records(const nn_encoder *e, const nn_cell *cells, size_t n, float *x,
                             size_t *bad_row, nn_error *err) {
  for (size_t r = 0; r < n; r++)
    for (int i = 0; i < e->n_cols; i++) {
      const nn__enc_col *c = &e->cols[i];
      int rc = record_cell(e, c, &cells[r * (size_t)e->n_cols + (size_t)i],
                           x + r * (size_t)e->width + c->offset, err, r);
      if (rc != NN_OK) {
        if (bad_row != NULL) *bad_row = r;
        return rc;
      }
    }
  return NN_OK;
}
