/*
 * predict_records.h — raw records ({"records":[{"Island":"Biscoe",
 * "Body Mass (g)":4200,"Sex":null}, ...]}) encoded as a table model's
 * inputs (issue 14), through the encoding stored with its weights: the one
 * core implementation the trainer used (nn_encoder_apply_records).
 *
 * Columns are matched by name, in any order; a missing key or null is a
 * missing cell; keys that are no input column (an id, the target) are
 * ignored; an unseen category goes to the column's other slot. A value of
 * the wrong type (text in a number column, an object anywhere) is a 400
 * naming the record and the column: "records[3].Body Mass (g)".
 *
 * Costs: one nn_cell per record and input column (32 bytes), pointing into
 * the parsed body; no copy of the text.
 */
#ifndef TRAIND_PREDICT_RECORDS_H
#define TRAIND_PREDICT_RECORDS_H

#include <cjson/cJSON.h>

#include "../core/encode.h"
#include "errors.h"

/**
 * Encode records (a JSON array of 1..max objects, checked here) into x.
 * @param x (records, nn_encoder_width(e)) floats
 * @return 0, -API_INVALID_ARGUMENT naming the record (and column), or
 *         -API_INTERNAL when out of memory
 */
int predict_records_read(const cJSON *records, const nn_encoder *e, float *x, api_error *err);

/** Check records' shape alone: an array of 1..max objects. Sets *n. */
int predict_records_check(const cJSON *records, size_t max, size_t *n, api_error *err);

#endif
