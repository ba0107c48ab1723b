/*
 * json_table.h — typed tables and their encodings as JSON: a dataset's
 * per-column profile (GET /v1/datasets/{id}) and a model's fitted
 * preprocessing (GET /v1/models/{id}). Numbers that do not apply are null.
 * Each returns a new object to cJSON_Delete, or NULL when out of memory.
 */
#ifndef TRAIND_JSON_TABLE_H
#define TRAIND_JSON_TABLE_H

#include <cjson/cJSON.h>

#include "../core/encode.h"
#include "../core/table.h"

/** [{"name","type","missing","distinct","top":[{"value","count"}],"histogram",
 *   "min","max","mean","std"}]
 *  — a datetime's min and max are ISO 8601 texts, its mean and std null;
 *  "histogram" the counts of equal-width bins from min to max (numbers,
 *  integers, datetimes with a value), else null. */
cJSON *json_table_profile(const nn_table *t);

/**
 * {"width","target":{"name","kind","mean","std"|"classes"},
 *  "columns":[{"name","type","offset","width","impute","standardize",
 *   "missing_indicator","cyclic","fill":[..],"mean":[..],"std":[..],
 *   "categories":[..]}]}
 */
cJSON *json_table_encoding(const nn_encoder *e);

#endif
