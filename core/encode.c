/*
 * encode.c — fitting the preprocessing pipeline of encode.h on the training
 * rows of a table, and what a fitted encoding answers about itself.
 *
 * Every statistic is taken over the rows the caller passes and no other, so
 * a validation row's value moves nothing. A column costs one pass over
 * those rows (two with standardization: the imputed values' mean, then
 * their variance around it, as scikit-learn's StandardScaler computes it,
 * with n), plus a sorted copy of its values for a median, or a count per
 * dictionary entry for a category. The encoding keeps only what apply
 * needs: per column the imputed values, means and scales, and the kept
 * categories in a keyed dictionary (their order is the output order).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_internal.h"

void nn_encode_options_defaults(nn_encode_options *o) {
  memset(o, 0, sizeof *o);
  for (int t = 0; t < NN_COL_TYPES; t++) {
    nn_encode_column *c = &o->by_type[t];
    c->impute = NN_IMPUTE_MEAN;
    c->standardize = t != NN_COL_BOOLEAN;
    c->max_categories = NN_ENCODE_DEFAULT_CATEGORIES;
  }
  o->target = -1;
  o->target_kind = NN_TARGET_AUTO;
}

nn_encoder *nn__encoder_alloc(const uint8_t key[16]) {
  nn_encoder *e = calloc(1, sizeof *e);
  if (e == NULL) return NULL;
  memcpy(e->key, key, sizeof e->key);
  nn__dict_init(&e->names, key);
  nn__dict_init(&e->classes, key);
  nn__dict_init(&e->target.cats, key);
  return e;
}

void nn_encoder_free(nn_encoder *e) {
  if (e == NULL) return;
  for (int i = 0; e->cols != NULL && i < e->n_cols; i++) {
    free(e->cols[i].name);
    nn__dict_free(&e->cols[i].cats);
  }
  free(e->cols);
  for (int i = 0; e->na != NULL && i < e->n_na; i++) free(e->na[i]);
  free(e->na);
  free(e->target.name);
  nn__dict_free(&e->names);
  nn__dict_free(&e->classes);
  nn__dict_free(&e->target.cats);
  free(e);
}

int nn__enc_col_width(const nn__enc_col *c) {
  int w;
  switch (c->type) {
  case NN_COL_CATEGORY: w = c->cats.n + 1; break; /* kept, then other */
  case NN_COL_DATETIME: w = c->cyclic ? 1 + 2 * (NN__DT_PARTS - 1) : NN__DT_PARTS; break;
  default: w = 1;
  }
  return w + (c->indicator != 0);
}

int nn__encoder_layout(nn_encoder *e, nn_error *err) {
  int width = 0;
  for (int i = 0; i < e->n_cols; i++) {
    nn__enc_col *c = &e->cols[i];
    c->offset = width;
    c->width = nn__enc_col_width(c);
    if (c->width > NN_MAX_UNITS - width)
      return nn__fail(err, NN_ERANGE, c->name, "the encoded row would be wider than %d values",
                      NN_MAX_UNITS);
    width += c->width;
  }
  e->width = width;
  return NN_OK;
}

/* Part p of a datetime, working out the calendar only for the parts that
 * need it: a fit asks every row for one part at a time. */
static double datetime_part(double seconds, int p) {
  double day = floor(seconds / 86400.0);
  int64_t days = (int64_t)day, y;
  int m, d;
  /* 1970-01-01 was a Thursday: 3, Monday 0 */
  if (p == 2) return (double)(((days % 7) + 7 + 3) % 7);
  if (p == 4) return floor((seconds - day * 86400.0) / 3600.0);
  nn__civil_from_days(days, &y, &m, &d);
  return p == 0 ? (double)y : p == 1 ? m : (double)(days - nn__days_from_civil(y, 1, 1) + 1);
}

void nn__datetime_parts(double seconds, double parts[NN__DT_PARTS]) {
  for (int p = 0; p < NN__DT_PARTS; p++) parts[p] = datetime_part(seconds, p);
}

/* ---- fitting a column ------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The value of part p of row r of a column of numbers or datetimes. */
static double part_of(const nn_table_column *tc, size_t r, int p) {
  return tc->type != NN_COL_DATETIME ? tc->values[r] : datetime_part(tc->values[r], p);
}

/* Fill, mean and scale of part p over the rows. vals: (n,) scratch.
 * @return NN_OK, or NN_ERANGE when the sums overflow (values near 1e308) */
static int fit_part(nn__enc_col *c, const nn_table_column *tc, const nn_encode_column *o,
                     const uint32_t *rows, size_t n, int p, double *vals) {
  size_t k = 0;
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    if (!tc->is_missing[rows[i]]) {
      vals[k] = part_of(tc, rows[i], p);
      sum += vals[k++];
    }
  double fill = 0; /* without any training value: 0 */
  if (o->impute == NN_IMPUTE_CONSTANT) {
    fill = o->fill_value;
  } else if (k > 0 && o->impute == NN_IMPUTE_MEAN) {
    fill = sum / (double)k;
  } else if (k > 0) { /* median: the middle value, or the mean of the two middle ones */
    qsort(vals, k, sizeof *vals, cmp_double);
    fill = k % 2 ? vals[k / 2] : (vals[k / 2 - 1] + vals[k / 2]) / 2;
  }
  c->fill[p] = fill;
  c->mean[p] = 0;
  c->scale[p] = 1;
  if (!isfinite(fill)) return NN_ERANGE;
  /* cyclic datetime parts (all but the year) are sin/cos, never scaled */
  if (!c->standardize || (c->cyclic && p > 0)) return NN_OK;
  double mean = (sum + (double)(n - k) * fill) / (double)n, ss = 0;
  for (size_t i = 0; i < n; i++) {
    double v = tc->is_missing[rows[i]] ? fill : part_of(tc, rows[i], p);
    ss += (v - mean) * (v - mean); /* sum of squared deviations of the imputed values */
  }
  double std = sqrt(ss / (double)n);
  c->mean[p] = mean;
  c->scale[p] = std > 0 && isfinite(std) ? std : 1.0;
  return isfinite(mean) ? NN_OK : NN_ERANGE;
}

typedef struct {
  const char *s;
  size_t len;
  uint64_t count;
} entry;

static int cmp_text(const entry *a, const entry *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->s, b->s, n);
  return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int cmp_entry_text(const void *a, const void *b) { return cmp_text(a, b); }

/* most frequent first; ties by text, so the choice never depends on codes */
static int cmp_entry_count(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return cmp_text(x, y);
}

/* The max_categories most frequent categories of the rows, in text order. */
static int fit_category(nn__enc_col *c, const nn_table_column *tc, const nn_encode_column *o,
                        const uint32_t *rows, size_t n) {
  int32_t n_dict = tc->n_categories;
  entry *es = calloc(n_dict ? (size_t)n_dict : 1, sizeof *es);
  int rc = NN_OK, kept = 0;
  if (es == NULL) return NN_ENOMEM;
  for (int32_t k = 0; k < n_dict; k++) {
    es[k].s = tc->text + tc->offsets[k];
    es[k].len = tc->offsets[k + 1] - tc->offsets[k] - 1;
  }
  for (size_t i = 0; i < n; i++)
    if (tc->codes[rows[i]] >= 0) es[tc->codes[rows[i]]].count++;
  qsort(es, (size_t)n_dict, sizeof *es, cmp_entry_count);
  while (kept < n_dict && kept < o->max_categories && es[kept].count > 0) kept++;
  qsort(es, (size_t)kept, sizeof *es, cmp_entry_text);
  for (int k = 0; k < kept && rc == NN_OK; k++) {
    int32_t code;
    rc = nn__dict_add(&c->cats, es[k].s, es[k].len, SIZE_MAX, &code);
    assert(rc != NN_OK || code == k);
  }
  free(es);
  return rc;
}

static int check_options(const nn_encode_column *o, const char *name, nn_error *err) {
  if ((unsigned)o->impute > NN_IMPUTE_CONSTANT)
    return nn__fail(err, NN_EINVAL, name, "column %s: unknown imputation", name);
  if (o->impute == NN_IMPUTE_CONSTANT && !isfinite(o->fill_value))
    return nn__fail(err, NN_EINVAL, name, "column %s: the fill value must be finite", name);
  if (o->max_categories < 1 || o->max_categories > NN_ENCODE_MAX_CATEGORIES)
    return nn__fail(err, NN_EINVAL, name, "column %s: max_categories must be 1 to %d", name,
                    NN_ENCODE_MAX_CATEGORIES);
  return NN_OK;
}

static int fit_column(nn__enc_col *c, const nn_table_column *tc, const nn_encode_column *o,
                      const uint32_t *rows, size_t n, double *vals) {
  c->type = tc->type;
  c->impute = o->impute;
  c->standardize = o->standardize != 0;
  c->indicator = o->missing_indicator != 0;
  c->cyclic = tc->type == NN_COL_DATETIME && o->cyclic;
  c->max_categories = o->max_categories;
  if (tc->type == NN_COL_CATEGORY) return fit_category(c, tc, o, rows, n);
  c->n_parts = tc->type == NN_COL_DATETIME ? NN__DT_PARTS : 1;
  for (int p = 0; p < c->n_parts; p++) {
    int rc = fit_part(c, tc, o, rows, n, p, vals);
    if (rc != NN_OK) return rc;
  }
  return NN_OK;
}

/* ---- the target ---------------------------------------------------------------- */

const char *nn__class_text(const nn_table_column *tc, size_t r, char *buf, size_t *len) {
  if (tc->type == NN_COL_CATEGORY) {
    *len = tc->offsets[tc->codes[r] + 1] - tc->offsets[tc->codes[r]] - 1;
    return tc->text + tc->offsets[tc->codes[r]];
  }
  if (tc->type == NN_COL_BOOLEAN) {
    *len = tc->values[r] != 0 ? 4 : 5;
    return tc->values[r] != 0 ? "true" : "false";
  }
  *len = (size_t)nn__format_number(tc->values[r], buf);
  return buf;
}

static int fit_classes(nn_encoder *e, const nn_table *t, const nn_table_column *tc,
                       nn_error *err) {
  size_t rows = t->rows, n = 0;
  char buf[48];
  nn__dict texts; /* distinct class texts over the whole column */
  entry *es = NULL;
  int rc = NN_OK;
  nn__dict_init(&texts, e->key);
  for (size_t r = 0; r < rows && rc == NN_OK; r++) {
    if (tc->is_missing[r]) continue;
    size_t len;
    int32_t code;
    const char *s = nn__class_text(tc, r, buf, &len);
    rc = nn__dict_add(&texts, s, len, SIZE_MAX, &code);
    if (rc == NN_OK && texts.n > NN_ENCODE_MAX_CLASSES) rc = NN_ERANGE;
  }
  if (rc == NN_ERANGE) {
    rc = nn__fail(err, rc, e->target.name, "target %s has more than %d classes", e->target.name,
                  NN_ENCODE_MAX_CLASSES);
    goto exit;
  }
  if (rc != NN_OK) goto nomem;
  if ((es = calloc(texts.n ? (size_t)texts.n : 1, sizeof *es)) == NULL) goto nomem;
  for (int32_t k = 0; k < texts.n; k++) es[k].s = nn__dict_entry(&texts, k, &es[k].len);
  n = (size_t)texts.n;
  qsort(es, n, sizeof *es, cmp_entry_text); /* classes in bytewise order, as the server's */
  for (size_t k = 0; k < n; k++) {
    int32_t code;
    if (nn__dict_add(&e->classes, es[k].s, es[k].len, SIZE_MAX, &code) != NN_OK) goto nomem;
  }
  goto exit;
nomem:
  rc = nn__fail(err, NN_ENOMEM, "", "out of memory");
exit:
  free(es);
  nn__dict_free(&texts);
  return rc;
}

static int fit_target(nn_encoder *e, const nn_table *t, const nn_encode_options *o,
                      const uint32_t *rows, size_t n, nn_error *err) {
  const nn_table_column *tc = &t->cols[o->target];
  nn__enc_col *c = &e->target;
  nn_target_kind kind = o->target_kind;
  if ((c->name = malloc(tc->name_len + 1)) == NULL)
    return nn__fail(err, NN_ENOMEM, "", "out of memory");
  memcpy(c->name, tc->name, tc->name_len + 1);
  c->name_len = tc->name_len;
  c->type = tc->type;
  e->has_target = 1;
  if ((unsigned)kind > NN_TARGET_CLASSIFICATION)
    return nn__fail(err, NN_EINVAL, c->name, "unknown target kind");
  if (kind == NN_TARGET_AUTO)
    kind = tc->type == NN_COL_CATEGORY || tc->type == NN_COL_BOOLEAN ? NN_TARGET_CLASSIFICATION
                                                                     : NN_TARGET_REGRESSION;
  if (tc->type == NN_COL_DATETIME ||
      (kind == NN_TARGET_REGRESSION && tc->type == NN_COL_CATEGORY))
    return nn__fail(err, NN_EINVAL, c->name, "target %s is a %s column: it cannot be %s",
                    c->name, nn_name(NN_NAMES_COLUMN_TYPE, tc->type),
                    kind == NN_TARGET_REGRESSION ? "regressed" : "a class");
  e->target_kind = kind;
  for (size_t i = 0; i < n; i++)
    if (tc->is_missing[rows[i]])
      return nn__fail(err, NN_EINVAL, c->name, "row %zu has no target %s", (size_t)rows[i] + 1,
                      c->name);
  if (kind == NN_TARGET_CLASSIFICATION) return fit_classes(e, t, tc, err);
  double sum = 0, ss = 0;
  for (size_t i = 0; i < n; i++) sum += tc->values[rows[i]];
  double mean = sum / (double)n;
  for (size_t i = 0; i < n; i++) ss += (tc->values[rows[i]] - mean) * (tc->values[rows[i]] - mean);
  double std = sqrt(ss / (double)n);
  if (!isfinite(mean))
    return nn__fail(err, NN_ERANGE, c->name, "target %s: its values are too large to add up",
                    c->name);
  c->n_parts = 1;
  c->standardize = 1;
  c->mean[0] = mean;
  c->scale[0] = std > 0 && isfinite(std) ? std : 1.0;
  return NN_OK;
}

/* ---- fit ---------------------------------------------------------------------- */

int nn_encoder_fit(const nn_table *t, const uint32_t *rows, size_t n, const nn_encode_options *o,
                   nn_encoder **out, nn_error *err) {
  nn_encoder *e = NULL;
  double *vals = NULL;
  int rc = NN_OK;
  *out = NULL;
  if (n == 0) return nn__fail(err, NN_EINVAL, "", "an encoding needs at least one training row");
  if (o->target < -1 || o->target >= t->n_cols)
    return nn__fail(err, NN_EINVAL, "target", "the target is not a column of the table");
  for (size_t i = 0; i < n; i++)
    if (rows[i] >= t->rows)
      return nn__fail(err, NN_EINVAL, "", "row %zu is not in the table of %zu rows",
                      (size_t)rows[i] + 1, t->rows);
  if ((e = nn__encoder_alloc(o->hash_key)) == NULL ||
      (e->cols = calloc((size_t)t->n_cols, sizeof *e->cols)) == NULL ||
      (e->na = calloc((size_t)t->n_na + 1, sizeof *e->na)) == NULL ||
      (vals = malloc(n * sizeof *vals)) == NULL)
    goto nomem;
  for (; e->n_na < t->n_na; e->n_na++)
    if ((e->na[e->n_na] = strdup(t->na[e->n_na])) == NULL) goto nomem;
  for (int i = 0; i < t->n_cols; i++) {
    const nn_table_column *tc = &t->cols[i];
    const nn_encode_column *co = o->columns && o->columns[i] ? o->columns[i] : &o->by_type[tc->type];
    int32_t code;
    if (i == o->target || co->skip) continue;
    if ((rc = check_options(co, tc->name, err)) != NN_OK) goto fail;
    nn__enc_col *c = &e->cols[e->n_cols];
    nn__dict_init(&c->cats, e->key);
    if ((c->name = malloc(tc->name_len + 1)) == NULL) goto nomem;
    memcpy(c->name, tc->name, tc->name_len + 1);
    c->name_len = tc->name_len;
    e->n_cols++;
    if ((rc = fit_column(c, tc, co, rows, n, vals)) == NN_ERANGE) {
      rc = nn__fail(err, rc, c->name, "column %s: its values are too large to add up", c->name);
      goto fail;
    }
    if (rc != NN_OK || nn__dict_add(&e->names, c->name, c->name_len, SIZE_MAX, &code) != NN_OK)
      goto nomem;
  }
  if (e->n_cols == 0) {
    rc = nn__fail(err, NN_EINVAL, "", "the encoding has no input columns");
    goto fail;
  }
  if (o->target >= 0 && (rc = fit_target(e, t, o, rows, n, err)) != NN_OK) goto fail;
  if ((rc = nn__encoder_layout(e, err)) != NN_OK) goto fail;
  *out = e;
  e = NULL;
  goto exit;
nomem:
  rc = nn__fail(err, NN_ENOMEM, "", "out of memory");
fail:
exit:
  free(vals);
  nn_encoder_free(e);
  return rc;
}

/* ---- what a fitted encoding says about itself ------------------------------------ */

int nn_encoder_width(const nn_encoder *e) { return e->width; }

int nn_encoder_columns(const nn_encoder *e) { return e->n_cols; }

int nn_encoder_column(const nn_encoder *e, int i, nn_encoder_column_info *out) {
  if (i < 0 || i >= e->n_cols) return NN_EINVAL;
  const nn__enc_col *c = &e->cols[i];
  out->name = c->name;
  out->type = c->type;
  out->impute = c->impute;
  out->standardize = c->standardize;
  out->missing_indicator = c->indicator;
  out->cyclic = c->cyclic;
  out->offset = c->offset;
  out->width = c->width;
  out->n_parts = c->n_parts;
  out->fill = c->fill;
  out->mean = c->mean;
  out->scale = c->scale;
  out->n_categories = c->type == NN_COL_CATEGORY ? c->cats.n : 0;
  return NN_OK;
}

const char *nn_encoder_category(const nn_encoder *e, int i, int k) {
  size_t len;
  if (i < 0 || i >= e->n_cols || k < 0 || k >= e->cols[i].cats.n) return NULL;
  return nn__dict_entry(&e->cols[i].cats, k, &len);
}

const char *nn_encoder_missing_marker(const nn_encoder *e, int k) {
  return k >= 0 && k < e->n_na ? e->na[k] : NULL;
}

int nn_encoder_find(const nn_encoder *e, const char *name, size_t len) {
  return nn__dict_find(&e->names, name, len);
}

const char *nn_encoder_target(const nn_encoder *e, nn_target_kind *kind, double *mean,
                              double *scale, int *classes) {
  if (kind) *kind = e->target_kind;
  if (mean) *mean = e->target.mean[0];
  if (scale) *scale = e->has_target ? e->target.scale[0] : 1.0;
  if (classes) *classes = e->classes.n;
  return e->has_target ? e->target.name : NULL;
}

const char *nn_encoder_class(const nn_encoder *e, int k) {
  size_t len;
  if (k < 0 || k >= e->classes.n) return NULL;
  return nn__dict_entry(&e->classes, k, &len);
}
