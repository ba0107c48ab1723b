/*
 * infer_columns.h — the Open Inference Protocol for a model trained on a
 * typed table (issue 14): one named input per column, as KServe's
 * pandas-style servers take them, in place of the single "input" tensor.
 *
 * {"inputs":[{"name":"island","shape":[2],"datatype":"BYTES","data":["Biscoe","Dream"]},
 *            {"name":"mass","shape":[2,1],"datatype":"FP64","data":[4200,null]}]}
 *
 * Each input names a column of the model's encoding; shape [rows] or
 * [rows, 1], the same rows for all; BYTES data are strings, FP32, FP64 and
 * INT64 numbers, BOOL booleans, and null is a missing value anywhere. A
 * column no input names is missing. The rows become raw records and go
 * through predict_records.h, the path of v1's {"records": [...]}.
 */
#ifndef TRAIND_INFER_COLUMNS_H
#define TRAIND_INFER_COLUMNS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "../core/encode.h"
#include "errors.h"

/**
 * Read the body's named inputs as raw records for e.
 * @param records receives a new array of row objects (cJSON_Delete it)
 * @return 0, or -API_INVALID_ARGUMENT naming the input ("inputs[1].data[3]")
 */
int infer_columns_records(const cJSON *root, const nn_encoder *e, size_t max_rows,
                          cJSON **records, api_error *err);

/** The metadata of e's input columns: [{"name","datatype","shape":[-1]}]. */
cJSON *infer_columns_metadata(const nn_encoder *e);

#endif
