/*
 * prediction_output.h — a batch prediction's rows as the text GET
 * /v1/predictions/{id}/output streams, one block at a time.
 *
 * csv:   a header "row,output_0,..,output_{k-1}[,label]", then one line a
 *        row: its number in the dataset (from 0), its outputs as POST
 *        predict answers them (the class probabilities of a classification;
 *        a regression on a table in its target's units), and the label
 *        when the weights name their classes (argmax over one unit per
 *        class, or a single sigmoid unit >= 0.5 for two), as predict's.
 * jsonl: one object a row: {"row":0,"outputs":[..],"label":".."}.
 * Floats are written as predict writes them (json_buf_float: 9 significant
 * digits, which read back to the same float32; null when not finite).
 * Costs: a block's text, about 12 bytes an output.
 */
#ifndef TRAIND_PREDICTION_OUTPUT_H
#define TRAIND_PREDICTION_OUTPUT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "json_buf.h"

typedef enum { PREDICTION_CSV, PREDICTION_JSONL } prediction_format;

typedef struct {
  prediction_format format;
  int outputs;
  cJSON *classes; /* the class names labels come from, or NULL: no label */
} prediction_output;

/**
 * @param classes the weights' class names (JSON array text) or NULL; names
 *        that do not fit the outputs (neither one per output, nor two for
 *        one output) give no label, as predict's
 * @return 0, or -1 when out of memory
 */
int prediction_output_init(prediction_output *o, prediction_format format, int outputs,
                           const char *classes);
void prediction_output_clear(prediction_output *o);

/** The csv header line (nothing for jsonl). */
void prediction_output_header(const prediction_output *o, json_buf *b);

/** Rows first.. of y (rows, outputs). */
void prediction_output_rows(const prediction_output *o, json_buf *b, int64_t first,
                            size_t rows, const float *y);

#endif
