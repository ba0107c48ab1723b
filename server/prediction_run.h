/*
 * prediction_run.h — a batch prediction run on a worker thread: the job
 * workers (jobs.c) claim a queued prediction when no job is queued, and run
 * it here to its end, or until cancelled or the daemon stops.
 *
 * The run reads the whole dataset (a typed table's rows with a target,
 * encoded with the weights' own encoding, as evaluate reads it), predicts it
 * PREDICTION_BLOCK_ROWS rows at a time through the weights (the predict
 * path's nn_weights_predict; a regression on a table unscaled into its
 * target's units) and commits each block of outputs with its progress
 * (store_predictions.h), so memory holds the dataset and one block. A
 * cancel is seen at the next block. A stop or a crash leaves the run
 * 'running' in the store; the next start queues it again
 * (prediction_run_recover) and the run resumes after its last stored block.
 */
#ifndef TRAIND_PREDICTION_RUN_H
#define TRAIND_PREDICTION_RUN_H

#include <stdatomic.h>

#include "store.h"

#define PREDICTION_BLOCK_ROWS 16384     /* rows of one output block, at most */
#define PREDICTION_BLOCK_VALUES (1 << 18) /* outputs of one block, at most (1 MiB) */

/**
 * Claim the oldest queued prediction and run it.
 * @param stopping the workers' stop flag, read between blocks
 * @return 1 when one was run (to any end), 0 when none was queued, or a
 *         negative store status when claiming failed
 */
int prediction_run_next(store *st, const atomic_int *stopping);

/** At startup: queue again the predictions left running (logged). @return a store status */
int prediction_run_recover(store *st);

#endif
