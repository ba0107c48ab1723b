/*
 * evaluation.h — an evaluation of a weights version on a stored dataset,
 * computed (core/evaluate.h) and stored: what POST /v1/models/{id}/evaluate
 * answers and what a job's test_dataset gets with the job's final weights,
 * made the one way for both.
 *
 * A regression trained on a typed table trains on its standardized target;
 * its predictions and the dataset's targets are both turned back into the
 * target's units (predict_unscale) before they are measured, so the metrics
 * are those of the numbers a client predicts and uploaded.
 *
 * Costs: the caller's thread reads the whole dataset, predicts it (core
 * predicts 256 rows at a time, its scratch bounded by that) and keeps the
 * predictions: at its peak 4 (features + 2 outputs) + 56 bytes a row (the
 * dataset, the predictions and the ranking of one class, evaluate.h), for at
 * most EVALUATION_MAX_ROWS rows and 64 MiB of predictions, and a sort of
 * the rows per class or output. The stored evaluation is about 10 KB per
 * class (two curves of at most 200 points) or per output, and 40 KB of
 * EVALUATION_SAMPLE pairs per output.
 */
#ifndef TRAIND_EVALUATION_H
#define TRAIND_EVALUATION_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"
#include "fit.h"
#include "store.h"

#define EVALUATION_MAX_ROWS 1000000    /* rows of one evaluation */
#define EVALUATION_MAX_VALUES (1 << 24) /* rows x outputs predicted and kept meanwhile */
#define EVALUATION_SAMPLE 2000         /* (actual, predicted) pairs kept of a regression */

/**
 * Can dataset meta be evaluated by model_id (spec)? It must fit the model
 * (fit_check), have at most EVALUATION_MAX_ROWS rows and
 * EVALUATION_MAX_VALUES predictions, and 2 to NN_EVAL_MAX_CLASSES classes.
 * @param field the request field that named the dataset, named by a 422
 * @return 0 or -API_UNPROCESSABLE
 */
int evaluation_check(const store_dataset *meta, const nn_spec *spec, int64_t model_id,
                     const char *field, api_error *err);

/**
 * Check a held-out dataset (id, named by field) of a job training on d: it
 * must fit the model as d does, be of d's kind (numbers, or a table with
 * d's target, encoded with the encoding fitted on d) and, when it is to be
 * evaluated (a test_dataset, a search's validation_dataset ranked by an
 * evaluation), pass evaluation_check.
 * @return 0, -API_NOT_FOUND naming field, or -API_UNPROCESSABLE naming field
 */
int evaluation_check_holdout(store *st, int64_t id, const char *field, const store_dataset *d,
                             const nn_spec *spec, int64_t model_id, bool evaluated,
                             api_error *err);

/**
 * Evaluate weights w of model_id on every row of dataset (which
 * evaluation_check passes) and store the evaluation, recording job_id (0:
 * none).
 * @param row receives the stored row with its result; release with
 *            store_evaluation_clear (also on failure)
 * @return 0; -API_NOT_FOUND naming field (no such dataset); -API_UNPROCESSABLE
 *         naming field (evaluation_check, other class names than the
 *         weights predict, a prediction that is not finite); -API_INTERNAL;
 *         or a failed store call's code
 */
int evaluation_run(store *st, int64_t model_id, int64_t dataset, const fit_weights *w,
                   int64_t job_id, const char *field, store_evaluation *row, api_error *err);

#endif
