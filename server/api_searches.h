/* api_searches.h — /v1/searches: hyperparameter searches (search_config.h
 * for the request, search_run.h for how they run). */
#ifndef TRAIND_API_SEARCHES_H
#define TRAIND_API_SEARCHES_H

#include "http.h"

/**
 * POST /v1/searches (search_config.h) → 202 the search. 400 naming the field
 * (space["job.optimizer.lr"].loguniform, job.validation_split...), 404 naming
 * "model" or "dataset", 422 when the dataset cannot train the model.
 */
void api_searches_create(app *a, const http_request *req, http_response *res);

/** GET /v1/searches → 200 {"searches":[...]}, oldest first. */
void api_searches_list(app *a, const http_request *req, http_response *res);

/**
 * GET /v1/searches/{id} → 200 {"id","state","config","trials":[{"trial",
 * "params","model","job","state","rung","epochs","metric"}],"best",
 * "created_at","finished_at"}. A trial's state: running (its job queued or
 * running), paused (ASHA: done with a rung, waiting for a promotion),
 * stopped (not promoted when the search ended), done (the last rung),
 * failed; best: the trial with the best metric at its highest finished rung
 * (ties: the higher rung, then the lower index), null while none has
 * finished a rung.
 */
void api_searches_get(app *a, const http_request *req, http_response *res);

/** POST /v1/searches/{id}/cancel → 200 the search, cancelled; its running
 *  trials' jobs are cancelled. 409 when it has ended. */
void api_searches_cancel(app *a, const http_request *req, http_response *res);

#endif
