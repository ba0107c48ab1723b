/*
 * predict.h — running a model's published weights on a batch of rows: the
 * one predict path behind POST /v1/models/{id}/predict and the Open
 * Inference Protocol's /v2 infer. The weights come from the predict cache
 * (models.h), so predictions never wait for training.
 *
 * Inputs, outputs and the network's scratch live in buffers each HTTP
 * thread keeps between requests (thread-per-connection: a keep-alive
 * client's requests all land on one thread), so a steady stream of
 * predictions allocates nothing in proportion to the model.
 */
#ifndef TRAIND_PREDICT_H
#define TRAIND_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "errors.h"
#include "store.h"

#define PREDICT_MAX_ROWS 65536         /* rows in one request */
#define PREDICT_MAX_VALUES (1 << 24)   /* rows x outputs in one answer */

/* The rows a fill writes: x (rows, width), with room for cap floats. */
typedef struct {
  float *x;
  size_t cap;
  size_t rows;
  /* the table encoding of the weights (raw records go through it), or NULL
   * for weights trained on numbers; set by predict_run before the fill */
  const struct nn_encoder *encoder;
} predict_input;

/** Room for floats floats in in->x. @return 0, or -1 when out of memory */
int predict_input_reserve(predict_input *in, size_t floats);

/**
 * Writes a request's rows into in once the model's input width is known
 * (growing in->x with predict_input_reserve, setting in->rows).
 * @return 0, or a negative api code with err filled (a row of the wrong width...)
 */
typedef int (*predict_fill)(void *ctx, int width, predict_input *in, api_error *err);

typedef struct {
  int64_t version;  /* the weights version that answered; a regression on a
                     * table answers in the target's units (nn_encoder_unscale) */
  size_t rows;
  int outputs;      /* the model's output width */
  const float *y;   /* (rows, outputs): the thread's buffer, valid until predict_result_clear */
  char *classes;    /* the class names the weights predict (JSON array text), or NULL */
} predict_result;

/**
 * Predict rows through a model's weights.
 * @param st      the calling thread's store handle (for a cache miss)
 * @param version the weights version to use, or 0 for the newest
 * @param out     filled on success; release with predict_result_clear
 * @return 0, or a negative api code with err filled: the fill's, or
 *         predict_cache_acquire's (-API_NOT_FOUND, -API_CONFLICT never trained...),
 *         -API_INVALID_ARGUMENT when the answer would exceed PREDICT_MAX_VALUES,
 *         or -API_INTERNAL when out of memory
 */
int predict_run(app *a, store *st, int64_t model_id, int64_t version, predict_fill fill,
                void *ctx, predict_result *out, api_error *err);

/**
 * A regression trained on a table answers in its target's units: y (rows,),
 * its one output, unstandardized in place through doubles. Weights of
 * another kind (e NULL, a classification) are left as they are.
 * @return 0, or -1 when out of memory
 */
int predict_unscale(const struct nn_encoder *e, float *y, size_t rows);

/** Release a result (and give back oversized thread buffers); a zeroed
 * result is a no-op. Call it on failure too. */
void predict_result_clear(predict_result *r);

#endif
