/* infer_columns.c — named column inputs of /v2 infer for table models (infer_columns.h). */
#include "infer_columns.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "parse_json.h"

/* The protocol's datatype of a column type. */
static const char *datatype_of(nn_col_type t) {
  switch (t) {
  case NN_COL_INTEGER: return "INT64";
  case NN_COL_BOOLEAN: return "BOOL";
  case NN_COL_NUMBER: return "FP64";
  default: return "BYTES"; /* category; datetime, as ISO 8601 text */
  }
}

cJSON *infer_columns_metadata(const nn_encoder *e) {
  cJSON *arr = cJSON_CreateArray();
  for (int i = 0; arr != NULL && i < nn_encoder_columns(e); i++) {
    nn_encoder_column_info c;
    nn_encoder_column(e, i, &c);
    cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateIntArray((const int[]){-1}, 1);
    if (o == NULL || shape == NULL || !cJSON_AddStringToObject(o, "name", c.name) ||
        !cJSON_AddStringToObject(o, "datatype", datatype_of(c.type)) ||
        !cJSON_AddItemToObject(o, "shape", shape) || !cJSON_AddItemToArray(arr, o)) {
      if (o == NULL || cJSON_GetObjectItemCaseSensitive(o, "shape") != shape) cJSON_Delete(shape);
      cJSON_Delete(o);
      cJSON_Delete(arr);
      return NULL;
    }
  }
  return arr;
}

/* A value of datatype dt (or null). */
static int fits(const char *dt, const cJSON *v) {
  if (cJSON_IsNull(v)) return 1;
  if (strcmp(dt, "BYTES") == 0) return cJSON_IsString(v);
  if (strcmp(dt, "BOOL") == 0) return cJSON_IsBool(v);
  if (strcmp(dt, "INT64") == 0) return cJSON_IsNumber(v) && floor(v->valuedouble) == v->valuedouble;
  return cJSON_IsNumber(v) && isfinite(v->valuedouble);
}

/* The rows of input i: shape [rows] or [rows, 1]. @return rows, or 0 */
static size_t rows_of(const cJSON *shape, size_t max) {
  int n = cJSON_GetArraySize(shape);
  const cJSON *r = cJSON_GetArrayItem(shape, 0), *one = cJSON_GetArrayItem(shape, 1);
  if (!cJSON_IsArray(shape) || n < 1 || n > 2 || !cJSON_IsNumber(r) ||
      (n == 2 && (!cJSON_IsNumber(one) || one->valuedouble != 1)))
    return 0;
  double d = r->valuedouble;
  return d >= 1 && d <= (double)max && floor(d) == d ? (size_t)d : 0;
}

/* Input i's values into column name of every record. */
static int add_column(const cJSON *in, size_t i, size_t rows, const nn_encoder *e,
                      cJSON *records, api_error *err) {
  static const char *const keys[] = {"name", "shape", "datatype", "parameters", "data", NULL};
  static const char *const types[] = {"BYTES", "FP32", "FP64", "INT64", "BOOL", NULL};
  char prefix[32], field[PARSE_PATH_MAX]; /* prefix: "inputs[N]" */
  const char *name = NULL, *dt = NULL;
  snprintf(prefix, sizeof prefix, "inputs[%zu]", i);
  int rc = parse_json_object(in, prefix, err);
  if (rc == 0) rc = parse_json_known_keys(in, prefix, keys, err);
  if (rc == 0) rc = parse_json_string(in, prefix, "name", PARSE_REQUIRED, PARSE_PATH_MAX, &name, err);
  if (rc == 0) rc = parse_json_string(in, prefix, "datatype", PARSE_REQUIRED, 16, &dt, err);
  if (rc != 0) return rc;
  snprintf(field, sizeof field, "%s.name", prefix);
  if (nn_encoder_find(e, name, strlen(name)) < 0)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s: the model has no input column %.64s",
                    field, name);
  int known = 0;
  for (size_t k = 0; types[k] != NULL; k++) known |= strcmp(dt, types[k]) == 0;
  snprintf(field, sizeof field, "%s.datatype", prefix);
  if (!known)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s is '%.16s'; a column is BYTES, FP32, FP64, INT64 or BOOL", field, dt);
  snprintf(field, sizeof field, "%s.shape", prefix);
  if (rows_of(cJSON_GetObjectItemCaseSensitive(in, "shape"), SIZE_MAX) != rows)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be [%zu] or [%zu, 1], as "
                    "inputs[0]'s rows", field, rows, rows);
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(in, "data"), *v;
  snprintf(field, sizeof field, "%s.data", prefix);
  if (!cJSON_IsArray(data) || (size_t)cJSON_GetArraySize(data) != rows)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be an array of %zu values", field,
                    rows);
  size_t r = 0;
  cJSON *rec = records->child;
  cJSON_ArrayForEach(v, data) {
    const cJSON *x = cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1 ? v->child : v;
    snprintf(field, sizeof field, "%s.data[%zu]", prefix, r);
    if (!fits(dt, x))
      return api_fail(err, API_INVALID_ARGUMENT, field, "%s is not a value of %s", field, dt);
    if (cJSON_GetObjectItemCaseSensitive(rec, name) != NULL)
      return api_fail(err, API_INVALID_ARGUMENT, prefix, "%s names column %.64s again", prefix,
                      name);
    if (!cJSON_AddItemToObject(rec, name, cJSON_Duplicate(x, 0)))
      return api_fail(err, API_INTERNAL, NULL, "out of memory");
    rec = rec->next, r++;
  }
  return 0;
}

int infer_columns_records(const cJSON *root, const nn_encoder *e, size_t max_rows,
                          cJSON **records, api_error *err) {
  const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs"), *in;
  *records = NULL;
  if (!cJSON_IsArray(inputs) || cJSON_GetArraySize(inputs) < 1)
    return api_fail(err, API_INVALID_ARGUMENT, "inputs", "inputs must be a non-empty array of "
                    "named columns");
  size_t rows = rows_of(cJSON_GetObjectItemCaseSensitive(inputs->child, "shape"), max_rows);
  if (rows == 0)
    return api_fail(err, API_INVALID_ARGUMENT, "inputs[0].shape", "inputs[0].shape must be "
                    "[rows] or [rows, 1], 1 to %zu rows", max_rows);
  cJSON *recs = cJSON_CreateArray();
  for (size_t r = 0; recs != NULL && r < rows; r++)
    if (!cJSON_AddItemToArray(recs, cJSON_CreateObject())) {
      cJSON_Delete(recs);
      recs = NULL;
    }
  if (recs == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  size_t i = 0;
  int rc = 0;
  cJSON_ArrayForEach(in, inputs) {
    if ((rc = add_column(in, i++, rows, e, recs, err)) != 0) break;
  }
  if (rc != 0) {
    cJSON_Delete(recs);
    return rc;
  }
  *records = recs;
  return 0;
}
