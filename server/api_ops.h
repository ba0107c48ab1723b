/* api_ops.h — operational endpoints: health, API information, metrics. */
#ifndef TRAIND_API_OPS_H
#define TRAIND_API_OPS_H

#include "http.h"

/** GET /healthz → 200 {"status":"ok"}, or the error app->health_check reports (503). */
void api_ops_healthz(app *a, const http_request *req, http_response *res);

/** GET /v1 → 200 {"name":"traind","version":"0.1.0","api":"v1"}. */
void api_ops_info(app *a, const http_request *req, http_response *res);

/**
 * GET /metrics → 200, every counter of metrics.h plus jobs by state, the
 * open event streams and the database size, in Prometheus text format 0.0.4. A store that cannot be
 * read only leaves the jobs gauges out.
 */
void api_ops_metrics(app *a, const http_request *req, http_response *res);

#endif
