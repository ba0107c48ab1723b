/* api_jobs.h — /v1/jobs: queue training, follow it, cancel it. */
#ifndef TRAIND_API_JOBS_H
#define TRAIND_API_JOBS_H

#include "http.h"

/**
 * POST /v1/jobs (a job config, parse_job.h) → 202 the queued job. 404 naming
 * "model" or "dataset" when one does not exist; 422 when the dataset cannot
 * train the model (widths, task or class count do not match its loss).
 */
void api_jobs_create(app *a, const http_request *req, http_response *res);

/** GET /v1/jobs[?state=running][&model=ID] → 200 {"jobs":[...]}, oldest first. */
void api_jobs_list(app *a, const http_request *req, http_response *res);

#define API_JOBS_WAIT_MAX 60 /* seconds a long poll may be held */

/**
 * GET /v1/jobs/{id}[?wait=S[&after_epoch=N]] → 200 the job. With wait (0 to
 * API_JOBS_WAIT_MAX seconds) the answer is held until the job's epoch
 * exceeds N (default: its epoch when the request came), its state changes,
 * or S seconds pass, whichever comes first; a finished job is answered at
 * once. 400 naming "wait" or "after_epoch" when one is not such an integer.
 */
void api_jobs_get(app *a, const http_request *req, http_response *res);

/** GET /v1/jobs/{id}/metrics[?after=EPOCH] → 200 {"metrics":[...]} for epochs > after. */
void api_jobs_metrics(app *a, const http_request *req, http_response *res);

/**
 * POST /v1/jobs/{id}/cancel → 200 the job: a queued job is cancelled at once,
 * a running one stops within one batch; a finished job is left as it is.
 */
void api_jobs_cancel(app *a, const http_request *req, http_response *res);

/** GET /v1/jobs/{id}/checkpoints → 200 {"checkpoints":[...]}, oldest first. */
void api_jobs_checkpoints(app *a, const http_request *req, http_response *res);

#endif
