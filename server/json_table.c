/* json_table.c — typed tables' profiles and encodings as JSON (json_table.h). */
#include "json_table.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

static bool add_number(cJSON *o, const char *key, double v) {
  return (isfinite(v) ? cJSON_AddNumberToObject(o, key, v) : cJSON_AddNullToObject(o, key)) != NULL;
}

/* Seconds since 1970 as YYYY-MM-DDThh:mm:ssZ, or null. */
static bool add_time(cJSON *o, const char *key, double v) {
  char text[32];
  time_t t = (time_t)v;
  struct tm tm;
  if (!isfinite(v) || gmtime_r(&t, &tm) == NULL ||
      strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return cJSON_AddNullToObject(o, key) != NULL;
  return cJSON_AddStringToObject(o, key, text) != NULL;
}

static cJSON *column_profile(const nn_table *t, int i) {
  const nn_table_column *c = nn_table_column_at(t, i);
  nn_column_profile p;
  if (nn_table_profile(t, i, &p) != NN_OK) return NULL;
  cJSON *o = cJSON_CreateObject(), *top;
  bool ok = o != NULL && cJSON_AddStringToObject(o, "name", c->name) != NULL &&
            cJSON_AddStringToObject(o, "type", nn_name(NN_NAMES_COLUMN_TYPE, c->type)) != NULL &&
            cJSON_AddNumberToObject(o, "missing", (double)p.missing) != NULL &&
            cJSON_AddNumberToObject(o, "distinct", (double)p.distinct) != NULL &&
            (top = cJSON_AddArrayToObject(o, "top")) != NULL;
  for (int k = 0; ok && k < p.n_top; k++) {
    cJSON *item = cJSON_CreateObject();
    cJSON_AddItemToArray(top, item);
    int32_t code = p.top[k].code;
    ok = item != NULL &&
         (c->type == NN_COL_CATEGORY
              ? cJSON_AddStringToObject(item, "value", c->text + c->offsets[code]) != NULL
              : cJSON_AddBoolToObject(item, "value", code != 0) != NULL) &&
         cJSON_AddNumberToObject(item, "count", (double)p.top[k].count) != NULL;
  }
  if (ok && p.n_bins == 0) {
    ok = cJSON_AddNullToObject(o, "histogram") != NULL;
  } else if (ok) {
    cJSON *bins = cJSON_AddArrayToObject(o, "histogram");
    ok = bins != NULL;
    for (int k = 0; ok && k < p.n_bins; k++) {
      cJSON *n = cJSON_CreateNumber((double)p.bins[k]);
      ok = n != NULL;
      if (ok) cJSON_AddItemToArray(bins, n);
    }
  }
  if (ok && c->type == NN_COL_DATETIME)
    ok = add_time(o, "min", p.min) && add_time(o, "max", p.max) && add_number(o, "mean", NAN) &&
         add_number(o, "std", NAN);
  else if (ok)
    ok = add_number(o, "min", p.min) && add_number(o, "max", p.max) &&
         add_number(o, "mean", p.mean) && add_number(o, "std", p.std);
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}

cJSON *json_table_profile(const nn_table *t) {
  cJSON *arr = cJSON_CreateArray();
  for (int i = 0; arr != NULL && i < nn_table_columns(t); i++) {
    cJSON *c = column_profile(t, i);
    if (c == NULL) {
      cJSON_Delete(arr);
      return NULL;
    }
    cJSON_AddItemToArray(arr, c);
  }
  return arr;
}

static bool add_doubles(cJSON *o, const char *key, const double *v, int n) {
  cJSON *arr = cJSON_AddArrayToObject(o, key);
  for (int k = 0; arr != NULL && k < n; k++) {
    cJSON *x = isfinite(v[k]) ? cJSON_CreateNumber(v[k]) : cJSON_CreateNull();
    if (x == NULL) return false;
    cJSON_AddItemToArray(arr, x);
  }
  return arr != NULL;
}

static cJSON *column_encoding(const nn_encoder *e, int i) {
  nn_encoder_column_info c;
  if (nn_encoder_column(e, i, &c) != NN_OK) return NULL;
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && cJSON_AddStringToObject(o, "name", c.name) != NULL &&
            cJSON_AddStringToObject(o, "type", nn_name(NN_NAMES_COLUMN_TYPE, c.type)) != NULL &&
            cJSON_AddNumberToObject(o, "offset", c.offset) != NULL &&
            cJSON_AddNumberToObject(o, "width", c.width) != NULL &&
            cJSON_AddBoolToObject(o, "missing_indicator", c.missing_indicator) != NULL;
  if (ok && c.type == NN_COL_CATEGORY) {
    cJSON *cats = cJSON_AddArrayToObject(o, "categories");
    for (int k = 0; ok && k < c.n_categories; k++) {
      cJSON *s = cJSON_CreateString(nn_encoder_category(e, i, k));
      ok = cats != NULL && s != NULL;
      if (ok) cJSON_AddItemToArray(cats, s);
      else cJSON_Delete(s);
    }
  } else if (ok) {
    ok = cJSON_AddStringToObject(o, "impute", nn_name(NN_NAMES_IMPUTE, c.impute)) != NULL &&
         cJSON_AddBoolToObject(o, "standardize", c.standardize) != NULL &&
         (c.type != NN_COL_DATETIME || cJSON_AddBoolToObject(o, "cyclic", c.cyclic) != NULL) &&
         add_doubles(o, "fill", c.fill, c.n_parts) && add_doubles(o, "mean", c.mean, c.n_parts) &&
         add_doubles(o, "std", c.scale, c.n_parts);
  }
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}

cJSON *json_table_encoding(const nn_encoder *e) {
  nn_target_kind kind;
  double mean, scale;
  int classes;
  const char *target = nn_encoder_target(e, &kind, &mean, &scale, &classes);
  cJSON *o = cJSON_CreateObject(), *t = NULL, *cols = NULL;
  bool ok = o != NULL && cJSON_AddNumberToObject(o, "width", nn_encoder_width(e)) != NULL;
  if (ok && target != NULL) {
    ok = (t = cJSON_AddObjectToObject(o, "target")) != NULL &&
         cJSON_AddStringToObject(t, "name", target) != NULL &&
         cJSON_AddStringToObject(t, "kind", kind == NN_TARGET_REGRESSION ? "regression"
                                                                          : "classification");
    if (ok && kind == NN_TARGET_REGRESSION)
      ok = add_number(t, "mean", mean) && add_number(t, "std", scale);
  }
  ok = ok && (cols = cJSON_AddArrayToObject(o, "columns")) != NULL;
  for (int i = 0; ok && i < nn_encoder_columns(e); i++) {
    cJSON *c = column_encoding(e, i);
    ok = c != NULL;
    if (ok) cJSON_AddItemToArray(cols, c);
  }
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}
