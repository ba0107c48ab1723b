/* api_datasets.h — /v1/datasets: upload (JSON or streamed CSV), list, read, delete. */
#ifndef TRAIND_API_DATASETS_H
#define TRAIND_API_DATASETS_H

#include "http.h"

/** POST /v1/datasets (application/json), parsed as it streams in → 201 the
 *  dataset. */
extern const http_stream_ops api_datasets_json;

/**
 * POST /v1/datasets?name=NAME&target=COL[,COL...] (text/csv), parsed as it
 * streams in → 201 the dataset. name and target are checked before the body
 * is read.
 */
extern const http_stream_ops api_datasets_csv;

/** GET /v1/datasets → 200 {"datasets":[...]}, oldest first. */
void api_datasets_list(app *a, const http_request *req, http_response *res);

/** GET /v1/datasets/{id} → 200 the dataset. */
void api_datasets_get(app *a, const http_request *req, http_response *res);

/** DELETE /v1/datasets/{id} → 204; 409 while a queued or running job uses it. */
void api_datasets_delete(app *a, const http_request *req, http_response *res);

#endif
