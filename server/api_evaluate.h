/* api_evaluate.h — /v1/models/{id}/evaluate and /v1/models/{id}/evaluations:
 * how good a model's weights are on a stored dataset, kept for later. */
#ifndef TRAIND_API_EVALUATE_H
#define TRAIND_API_EVALUATE_H

#include "evaluation.h"
#include "http.h"

/**
 * POST /v1/models/{id}/evaluate {"dataset":D,"version":N}
 * → 201: the evaluation of the model's weights version N (default: the
 * newest) on every row of dataset D, stored (json_eval_evaluation):
 *   {"id","model","version","dataset","job","task","rows","created_at","metrics"}
 * ("job": null; an evaluation of a job's test_dataset names the job)
 * with the metrics of core/evaluate.h (json_eval.h lists them), each equal to
 * scikit-learn 1.2's on the model's own predictions of those rows.
 * 404 naming "id", "dataset" or "version"; 409 (field "id") when the model
 * has no weights yet; 422 (field "dataset") when the dataset cannot train
 * the model, as for job creation, has more than EVALUATION_MAX_ROWS rows
 * or more than EVALUATION_MAX_VALUES predictions (rows x model outputs),
 * fewer than 2 or more than NN_EVAL_MAX_CLASSES classes, names other classes
 * than the weights predict, or when a prediction is not finite (weights that
 * diverged); 400 naming a bad or unknown member.
 *
 * Cost: the request's thread computes it, as evaluation.h tells.
 */
void api_evaluate(app *a, const http_request *req, http_response *res);

/** GET /v1/models/{id}/evaluations → {"evaluations":[...]}: each without its
 * metrics but with their "summary"; oldest first. 404 without the model. */
void api_evaluations_list(app *a, const http_request *req, http_response *res);

/** GET /v1/models/{id}/evaluations/{eid} → the evaluation as POST answered
 * it; 404 naming "id" (no model) or "eid" (no such evaluation of it). */
void api_evaluations_get(app *a, const http_request *req, http_response *res);

#endif
