/* parse_preprocess.c — a spec's "preprocess" to nn_encode options (parse_preprocess.h). */
#include "parse_preprocess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const top_keys[] = {"types", "columns", NULL};
static const char *const option_keys[] = {"skip", "impute", "fill_value", "standardize",
                                          "missing_indicator", "max_categories", "cyclic", NULL};

/* Read one option object over c (its members override what c holds). */
static int read_options(const cJSON *obj, const char *path, nn_encode_column *c, api_error *err) {
  int impute = (int)c->impute;
  int rc = parse_json_object(obj, path, err);
  if (rc == 0) rc = parse_json_known_keys(obj, path, option_keys, err);
  if (rc == 0) rc = parse_json_bool(obj, path, "skip", PARSE_OPTIONAL, &c->skip, err);
  if (rc == 0) rc = parse_json_enum(obj, path, "impute", PARSE_OPTIONAL, NN_NAMES_IMPUTE, &impute, err);
  if (rc == 0)
    rc = parse_json_number(obj, path, "fill_value", PARSE_OPTIONAL, -1e300, 1e300, &c->fill_value,
                           err);
  if (rc == 0) rc = parse_json_bool(obj, path, "standardize", PARSE_OPTIONAL, &c->standardize, err);
  if (rc == 0)
    rc = parse_json_bool(obj, path, "missing_indicator", PARSE_OPTIONAL, &c->missing_indicator,
                         err);
  if (rc == 0)
    rc = parse_json_int32(obj, path, "max_categories", PARSE_OPTIONAL, 1,
                          NN_ENCODE_MAX_CATEGORIES, &c->max_categories, err);
  if (rc == 0) rc = parse_json_bool(obj, path, "cyclic", PARSE_OPTIONAL, &c->cyclic, err);
  c->impute = (nn_impute)impute;
  return rc;
}

/* The per-type options of pre over the defaults in o. */
static int read_types(const cJSON *pre, nn_encode_options *o, api_error *err) {
  const cJSON *types = cJSON_GetObjectItemCaseSensitive(pre, "types"), *t;
  int rc = types != NULL ? parse_json_object(types, "preprocess.types", err) : 0;
  cJSON_ArrayForEach(t, types) {
    char path[PARSE_PATH_MAX];
    int type;
    snprintf(path, sizeof path, "preprocess.types.%.32s", t->string);
    if (rc == 0 && nn_parse_name(NN_NAMES_COLUMN_TYPE, t->string, &type) != NN_OK)
      rc = api_fail(err, API_INVALID_ARGUMENT, path,
                    "%s: not a column type (number, integer, boolean, category, datetime)", path);
    if (rc == 0) rc = read_options(t, path, &o->by_type[type], err);
  }
  return rc;
}

int parse_preprocess_check(const cJSON *pre, api_error *err) {
  nn_encode_options o;
  nn_encode_column c;
  const cJSON *cols, *col;
  if (pre == NULL) return 0;
  nn_encode_options_defaults(&o);
  int rc = parse_json_object(pre, "preprocess", err);
  if (rc == 0) rc = parse_json_known_keys(pre, "preprocess", top_keys, err);
  if (rc == 0) rc = read_types(pre, &o, err);
  cols = cJSON_GetObjectItemCaseSensitive(pre, "columns");
  if (rc == 0 && cols != NULL) rc = parse_json_object(cols, "preprocess.columns", err);
  cJSON_ArrayForEach(col, cols) {
    char path[PARSE_PATH_MAX];
    snprintf(path, sizeof path, "preprocess.columns.%.64s", col->string);
    c = o.by_type[NN_COL_NUMBER];
    if (rc == 0) rc = read_options(col, path, &c, err);
  }
  return rc;
}

int parse_preprocess_options(const cJSON *pre, const nn_table *t, int target,
                             nn_encode_options *o, nn_encode_column **cols,
                             const nn_encode_column ***ptrs, api_error *err) {
  const cJSON *named = pre != NULL ? cJSON_GetObjectItemCaseSensitive(pre, "columns") : NULL, *col;
  int n = nn_table_columns(t), rc = 0;
  nn_encode_options_defaults(o);
  o->target = target;
  *cols = NULL;
  *ptrs = NULL;
  if (pre != NULL && (rc = read_types(pre, o, err)) != 0) return rc;
  if (named == NULL) return 0;
  *cols = calloc((size_t)n, sizeof **cols);
  *ptrs = calloc((size_t)n, sizeof **ptrs);
  if (*cols == NULL || *ptrs == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  cJSON_ArrayForEach(col, named) {
    char path[PARSE_PATH_MAX];
    int i = nn_table_find(t, col->string, strlen(col->string));
    snprintf(path, sizeof path, "preprocess.columns.%.64s", col->string);
    if (i < 0 || i == target)
      return api_fail(err, API_UNPROCESSABLE, path, "%s: the dataset has no feature column %s",
                      path, col->string);
    (*cols)[i] = o->by_type[nn_table_column_at(t, i)->type];
    if ((rc = read_options(col, path, &(*cols)[i], err)) != 0) return rc;
    (*ptrs)[i] = &(*cols)[i];
  }
  o->columns = *ptrs;
  return 0;
}
