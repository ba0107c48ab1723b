/*
 * parse_preprocess.h — a model spec's "preprocess" member (issue 14): how
 * the columns of a typed table become its inputs, as nn_encode options.
 *
 * {"types":{"number":{"impute":"median","missing_indicator":true},
 *           "category":{"max_categories":20},"datetime":{"cyclic":true}},
 *  "columns":{"Body Mass (g)":{"impute":"constant","fill_value":0},
 *             "comment":{"skip":true}}}
 *
 * Each option object may hold skip, impute (mean, median, constant),
 * fill_value (with constant), standardize, missing_indicator,
 * max_categories (1..4096), cyclic. A column's options start from its
 * type's and override what they name. Types are number, integer, boolean,
 * category, datetime. Checked when the model is created; applied when a
 * job fits the encoding on a table (a column named but absent is an error
 * then, naming it).
 */
#ifndef TRAIND_PARSE_PREPROCESS_H
#define TRAIND_PARSE_PREPROCESS_H

#include "../core/encode.h"
#include "parse_json.h"

/** @return 0, or -API_INVALID_ARGUMENT naming the member ("preprocess.types.number.impute") */
int parse_preprocess_check(const cJSON *pre, api_error *err);

/**
 * The encode options for table t (target column `target`) under pre (NULL:
 * the defaults).
 * @param cols receives the per-column options o->columns points to (free it)
 * @return 0, -API_UNPROCESSABLE naming a column absent from t, or
 *         -API_INTERNAL when out of memory
 */
int parse_preprocess_options(const cJSON *pre, const nn_table *t, int target,
                             nn_encode_options *o, nn_encode_column **cols,
                             const nn_encode_column ***ptrs, api_error *err);

#endif
