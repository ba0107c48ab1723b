/* api_models.h — /v1/models: create from a spec, list, read, delete. */
#ifndef TRAIND_API_MODELS_H
#define TRAIND_API_MODELS_H

#include "http.h"

/**
 * POST /v1/models (a spec, parse_spec.h) → 201 the model, its spec
 * normalized with every default written out.
 */
void api_models_create(app *a, const http_request *req, http_response *res);

/** GET /v1/models → 200 {"models":[...]}, oldest first. */
void api_models_list(app *a, const http_request *req, http_response *res);

/** GET /v1/models/{id} → 200 the model (version, trained, last_job). */
void api_models_get(app *a, const http_request *req, http_response *res);

/**
 * GET /v1/models/{id}/versions → 200 {"versions":[{"version","job","epoch",
 * "bytes","published_at"},...]}: the weights versions kept, newest first, which
 * predict (?version=) and /v2 (/versions/{v}) can pin; [] until trained.
 */
void api_models_versions(app *a, const http_request *req, http_response *res);

/**
 * DELETE /v1/models/{id} → 204, with its jobs and cached weights; 409 while
 * one of its jobs is queued or running.
 */
void api_models_delete(app *a, const http_request *req, http_response *res);

#endif
