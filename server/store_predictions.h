/*
 * store_predictions.h — batch predictions in the store: one row each, in the
 * jobs' states, and its output as blocks of consecutive rows written as the
 * run makes them (migration 14).
 *
 * Every change a follower sees logs a 'prediction' event in its transaction
 * (state and {"rows","rows_done"}): created, claimed, each block, the end.
 * A block and the progress it makes commit together, so rows_done is always
 * the rows the stored blocks hold: a run interrupted by a crash is queued
 * again at the next start (store_predictions_recover) and goes on after its
 * last block. A cancelled or failed run's blocks are deleted with its end.
 */
#ifndef TRAIND_STORE_PREDICTIONS_H
#define TRAIND_STORE_PREDICTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct {
  int64_t id;
  int64_t model_id;
  int64_t version; /* the weights version it predicts with */
  int64_t dataset_id;
  store_job_state state;
  int64_t rows;      /* rows it predicts: set when it is created */
  int64_t rows_done; /* rows whose output is stored */
  bool cancel_requested;
  char *error; /* why it failed, or NULL */
  char created_at[STORE_TIME_LEN];
  char started_at[STORE_TIME_LEN];  /* "" until first claimed */
  char finished_at[STORE_TIME_LEN]; /* "" until it ends */
} store_prediction;

void store_prediction_clear(store_prediction *p);
void store_prediction_list_free(store_prediction *list, size_t n);

/** Queue a prediction of p's model_id, version, dataset_id and rows (> 0);
 * out (may be NULL) receives the row. Logs its 'queued' event. */
int store_prediction_insert(store *st, const store_prediction *p, store_prediction *out);

/** @return STORE_OK, STORE_ENOTFOUND or a failure */
int store_prediction_get(store *st, int64_t id, store_prediction *out);

/** Every prediction, newest first; release with store_prediction_list_free. */
int store_prediction_list(store *st, store_prediction **out, size_t *n);

/** Claim the oldest queued prediction: it becomes running (event).
 * @return STORE_OK, STORE_ENOTFOUND when none is queued, or a failure */
int store_prediction_claim(store *st, store_prediction *out);

/**
 * Store the outputs y (rows, outputs) of rows first_row.. of running
 * prediction id, which must follow its rows_done, and advance rows_done
 * (event), in one transaction.
 * @param cancel set to whether a cancel was asked for meanwhile
 * @return STORE_OK; STORE_ENOTFOUND when id is gone or not running;
 *         STORE_EINVAL on a block out of order; or a failure (STORE_EFULL)
 */
int store_prediction_block(store *st, int64_t id, int64_t first_row, int64_t rows, int outputs,
                           const float *y, bool *cancel);

/** End running prediction id in end (succeeded, failed with error, or
 * cancelled: then its blocks are deleted), with its event.
 * @return STORE_OK, STORE_ENOTFOUND (gone or not running) or a failure */
int store_prediction_finish(store *st, int64_t id, store_job_state end, const char *error);

/**
 * Cancel prediction id: a queued one is cancelled at once (event), a
 * running one is asked to stop (its worker ends it at its next block).
 * @param out (may be NULL) the row after the change
 * @return STORE_OK, STORE_ENOTFOUND, or STORE_ECONFLICT when it has ended
 */
int store_prediction_cancel(store *st, int64_t id, store_prediction *out);

/**
 * The first block of prediction id that starts at or after row `row` (the
 * output reads them in order, each from the row the last one ended at).
 * @param y receives (rows, outputs) floats, malloc'ed; *first its first row
 * @return STORE_OK, STORE_ENOTFOUND when no block starts at or after row, or a failure
 */
int store_prediction_block_read(store *st, int64_t id, int64_t row, int64_t *first,
                                int64_t *rows, int *outputs, float **y);

/** At startup: queue again the predictions a crash left running (their
 * blocks kept: they go on after them), each with its event. */
int store_predictions_recover(store *st, int *requeued);

#endif
