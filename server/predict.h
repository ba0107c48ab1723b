/*
 * predict.h — running a model's published weights on a batch of rows: the
 * one predict path behind POST /v1/models/{id}/predict and the Open
 * Inference Protocol's /v2 infer. The weights come from the predict cache
 * (models.h), so predictions never wait for training.
 */
#ifndef TRAIND_PREDICT_H
#define TRAIND_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "errors.h"
#include "store.h"

#define PREDICT_MAX_ROWS 65536 /* rows in one request */

/**
 * Copies a request's rows into x once the model's input width is known.
 * @param x (rows, width), to fill
 * @return 0, or a negative api code with err filled (a row of the wrong width...)
 */
typedef int (*predict_fill)(void *ctx, int width, float *x, api_error *err);

typedef struct {
  int64_t version; /* the weights version that answered */
  size_t rows;
  int outputs;     /* the model's output width */
  float *y;        /* (rows, outputs), malloc'd */
} predict_result;

/**
 * Predict rows through a model's weights.
 * @param st      the calling thread's store handle (for a cache miss)
 * @param version the weights version to use, or 0 for the newest
 * @param rows    1..PREDICT_MAX_ROWS, as the caller read them from the request
 * @param out     filled on success; release with predict_result_clear
 * @return 0, or a negative api code with err filled: the fill's, or
 *         models_acquire's (-API_NOT_FOUND, -API_CONFLICT never trained...),
 *         or -API_INTERNAL when out of memory
 */
int predict_run(app *a, store *st, int64_t model_id, int64_t version, size_t rows,
                predict_fill fill, void *ctx, predict_result *out, api_error *err);

/** Free a result's outputs; a zeroed or cleared result is a no-op. */
void predict_result_clear(predict_result *r);

#endif
