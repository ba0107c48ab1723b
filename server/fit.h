/*
 * fit.h — stored rows to core objects: a model's stored spec to an nn_spec,
 * a stored dataset to nn_data that fits it, and published weights to an
 * nn_model. The job handlers, the gradient check, the training worker and
 * the predict cache all come this way, so each condition that refuses a
 * stored row — not found, a dataset that cannot train the model, a model
 * never trained, bytes that no longer parse — is decided here once and
 * reported with one message, whoever asks.
 *
 * No HTTP here: failures are api_errors (errors.h) that a handler answers
 * as they are (http_error) and the worker records as a job's error text.
 * What a store row holds was validated when it was stored, so a spec or
 * weights that no longer parse mean the database was edited or corrupted:
 * -API_INTERNAL.
 *
 * Costs: fit_data_load reads a whole dataset into memory (a job trains on
 * all of it) unless asked for a sample; fit_dataset_load reads metadata only
 * (enough to check a fit when a job is queued).
 */
#ifndef TRAIND_FIT_H
#define TRAIND_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/encode.h"
#include "../core/nn.h"
#include "errors.h"
#include "store.h"

/**
 * The model's stored spec.
 * @return 0, or -API_INTERNAL "the stored spec of model N is unreadable"
 */
int fit_spec(const store_model *m, nn_spec *spec, api_error *err);

/**
 * Read model id and its spec.
 * @param field the request field that named the model ("id" in a path,
 *              "model" in a job), named by a 404
 * @param row   receives the row; release with store_model_clear (also on failure)
 * @return 0, -API_NOT_FOUND "no model with id N", fit_spec's failure, or a
 *         failed read's code (api_store_fail)
 */
int fit_model_load(store *st, int64_t id, const char *field, store_model *row, nn_spec *spec,
                   api_error *err);

/**
 * Can dataset d train a model with this spec? The rules of nn_data_check
 * that the metadata decides, stricter on the task: classification needs a
 * cross-entropy loss, mse needs a regression dataset.
 * @return 0 or -API_UNPROCESSABLE naming "dataset" and why
 */
int fit_check(const store_dataset *d, const nn_spec *spec, int64_t model_id, api_error *err);

/**
 * Read dataset id's metadata and check that it can train model_id (fit_check).
 * @param meta release with store_dataset_clear (also on failure)
 * @return 0, -API_NOT_FOUND naming "dataset", fit_check's failure, or a
 *         failed read's code
 */
int fit_dataset_load(store *st, int64_t id, const nn_spec *spec, int64_t model_id,
                     store_dataset *meta, api_error *err);

/* A stored dataset's rows as core reads them: d points into data. A typed
 * table's rows are its rows with a target, encoded (issue 14). */
typedef struct {
  store_dataset meta; /* meta.rows: the whole dataset's, d.rows: those read */
  store_dataset_data data;
  nn_data d;
  nn_encoder *encoder; /* a table's: fitted on the training rows (NULL when
                        * fit_table_how gave one); else NULL */
  uint8_t *encoding;   /* the encoder saved (nn_encoder_save), stored with weights */
  size_t encoding_len;
} fit_data;

/* How a typed table becomes numbers: an encoding fitted on its training
 * rows, or the encoding of trained weights. */
typedef struct {
  const nn_train_config *split; /* the job's config (validation_split, seed);
                                 * NULL: every row with a target trains */
  const nn_encoder *encoder;    /* apply this one instead (evaluate, gradient
                                 * check: the weights' own), or NULL */
} fit_table_how;

/**
 * Read dataset id's rows, checked to train model_id (fit_check), as nn_data.
 * A typed table is encoded: the encoding is fitted on its training rows
 * alone — the rows with a target that nn_train_split keeps for training
 * under how->split — as model_id's spec "preprocess" says (or how->encoder
 * is used), then applied to every row with a target. Refitted from the same
 * stored table and split, it is the same bit for bit (a job resumed after a
 * crash trains on the same numbers). A spec without inputs (0) takes the
 * encoding's width.
 * @param rows  0 for every row; else at most that many, spread evenly
 *              (store_dataset_sample; a table's first rows)
 * @param how   NULL: fit on every row with a target
 * @param out   release with fit_data_clear (also on failure)
 * @return as fit_dataset_load; -API_UNPROCESSABLE naming "dataset" when a
 *         table encodes to another width than the model's inputs, or its
 *         encoding cannot be fitted
 */
int fit_data_load(store *st, int64_t id, size_t rows, const nn_spec *spec, int64_t model_id,
                  const fit_table_how *how, fit_data *out, api_error *err);

void fit_data_clear(fit_data *f);

/* A version of a model's published weights, as a model. */
typedef struct {
  nn_model *model;
  int64_t version; /* the version read */
  int64_t newest;  /* the model's newest version when read */
  char *classes;   /* the class names it predicts (JSON array text), or NULL */
  nn_encoder *encoder; /* the encoding of a model trained on a table, or NULL */
} fit_weights;

/**
 * Read a version of model id's published weights (0: the newest).
 * @param out release with fit_weights_clear (also on failure)
 * @return 0,
 *         -API_NOT_FOUND naming "id": "no model with id N";
 *         -API_NOT_FOUND naming "version" when that version is not kept;
 *         -API_CONFLICT naming "id": "model N has not been trained yet" (a
 *           model with no weights: version 0 asked for);
 *         -API_INTERNAL "the stored weights of model N are unreadable";
 *         or a failed read's code
 */
int fit_weights_load(store *st, int64_t id, int64_t version, fit_weights *out, api_error *err);

void fit_weights_clear(fit_weights *w);

#endif
