/* api_evaluate.h — /v1/models/{id}/evaluate and /v1/models/{id}/evaluations:
 * how good a model's weights are on a stored dataset, kept for later. */
#ifndef TRAIND_API_EVALUATE_H
#define TRAIND_API_EVALUATE_H

#include "http.h"

#define API_EVALUATE_MAX_ROWS 1000000 /* rows evaluated within the request */
#define API_EVALUATE_MAX_VALUES (1 << 24) /* rows x outputs predicted and kept meanwhile */
#define API_EVALUATE_SAMPLE 2000      /* (actual, predicted) pairs kept of a regression */

/**
 * POST /v1/models/{id}/evaluate {"dataset":D,"version":N}
 * → 201: the evaluation of the model's weights version N (default: the
 * newest) on every row of dataset D, stored (json_eval_evaluation):
 *   {"id","model","version","dataset","task","rows","created_at","metrics"}
 * with the metrics of core/evaluate.h (json_eval.h lists them), each equal to
 * scikit-learn 1.2's on the model's own predictions of those rows.
 * 404 naming "id", "dataset" or "version"; 409 (field "id") when the model
 * has no weights yet; 422 (field "dataset") when the dataset cannot train
 * the model, as for job creation, has more than API_EVALUATE_MAX_ROWS rows
 * or more than API_EVALUATE_MAX_VALUES predictions (rows x model outputs),
 * fewer than 2 or more than NN_EVAL_MAX_CLASSES classes, names other classes
 * than the weights predict, or when a prediction is not finite (weights that
 * diverged); 400 naming a bad or unknown member.
 *
 * Cost: the request's thread reads the whole dataset, predicts it (core
 * predicts 256 rows at a time, its scratch bounded by that) and keeps the
 * predictions: at its peak 4 (features + 2 outputs) + 56 bytes a row (the
 * dataset, the predictions and the ranking of one class, evaluate.h), for at
 * most API_EVALUATE_MAX_ROWS rows and 64 MiB of predictions, and a sort of
 * the rows per class or output. Larger datasets are for the workers, later. The stored
 * evaluation is about 10 KB per class (two curves of at most 200 points)
 * or per output, and 40 KB of API_EVALUATE_SAMPLE pairs per output.
 */
void api_evaluate(app *a, const http_request *req, http_response *res);

/** GET /v1/models/{id}/evaluations → {"evaluations":[...]}: each without its
 * metrics but with their "summary"; oldest first. 404 without the model. */
void api_evaluations_list(app *a, const http_request *req, http_response *res);

/** GET /v1/models/{id}/evaluations/{eid} → the evaluation as POST answered
 * it; 404 naming "id" (no model) or "eid" (no such evaluation of it). */
void api_evaluations_get(app *a, const http_request *req, http_response *res);

#endif
