/* routes.c — the daemon's route table: every endpoint of the v1 API and of the
 * Open Inference Protocol under /v2. */
#include "api_datasets.h"
#include "api_evaluate.h"
#include "api_events.h"
#include "api_export.h"
#include "api_gradcheck.h"
#include "api_jobs.h"
#include "api_models.h"
#include "api_ops.h"
#include "api_predict.h"
#include "api_predictions.h"
#include "api_searches.h"
#include "api_trace.h"
#include "api_v2.h"
#include "api_web.h"
#include "router.h"

/* Adding an endpoint is adding a row. Rows sharing a method and pattern must
 * differ by media type (see router.h). Reads are ROUTE_READ, and so are
 * predict and trace, POSTs that change nothing; rows without .access need the full
 * token. */
static const route routes[] = {
    {.method = "GET", .pattern = "/healthz", .handler = api_ops_healthz, .access = ROUTE_OPEN},
    {.method = "GET", .pattern = "/metrics", .handler = api_ops_metrics, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1", .handler = api_ops_info, .access = ROUTE_READ},

    {.method = "POST", .pattern = "/v1/datasets", .body = ROUTE_BODY_STREAM,
     .limit = ROUTE_LIMIT_DATASET, .media_type = "application/json", .stream = &api_datasets_json},
    {.method = "POST", .pattern = "/v1/datasets", .body = ROUTE_BODY_STREAM,
     .limit = ROUTE_LIMIT_DATASET, .media_type = "text/csv", .stream = &api_datasets_csv},
    {.method = "GET", .pattern = "/v1/datasets", .handler = api_datasets_list,
     .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/datasets/{id}", .handler = api_datasets_get,
     .access = ROUTE_READ},
    {.method = "DELETE", .pattern = "/v1/datasets/{id}", .handler = api_datasets_delete},

    {.method = "POST", .pattern = "/v1/models", .body = ROUTE_BODY_JSON,
     .handler = api_models_create},
    {.method = "GET", .pattern = "/v1/models", .handler = api_models_list, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/models/{id}", .handler = api_models_get,
     .access = ROUTE_READ},
    {.method = "DELETE", .pattern = "/v1/models/{id}", .handler = api_models_delete},
    {.method = "GET", .pattern = "/v1/models/{id}/versions", .handler = api_models_versions,
     .access = ROUTE_READ},
    {.method = "POST", .pattern = "/v1/models/{id}/predict", .body = ROUTE_BODY_JSON,
     .handler = api_predict, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/models/{id}/versions/{version}/weights",
     .handler = api_export_weights, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/models/{id}/onnx", .handler = api_export_onnx,
     .access = ROUTE_READ},
    {.method = "POST", .pattern = "/v1/models/import", .body = ROUTE_BODY_STREAM,
     .limit = ROUTE_LIMIT_DATASET, .media_type = "application/octet-stream",
     .stream = &api_export_import},

    {.method = "POST", .pattern = "/v1/jobs", .body = ROUTE_BODY_JSON, .handler = api_jobs_create},
    {.method = "GET", .pattern = "/v1/jobs", .handler = api_jobs_list, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/jobs/{id}", .handler = api_jobs_get, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/jobs/{id}/metrics", .handler = api_jobs_metrics,
     .access = ROUTE_READ},
    /* no body needed, but typed JSON as every write is (http_guard.h: no cross-site forms) */
    {.method = "POST", .pattern = "/v1/jobs/{id}/cancel", .body = ROUTE_BODY_JSON,
     .handler = api_jobs_cancel},
    {.method = "GET", .pattern = "/v1/jobs/{id}/checkpoints", .handler = api_jobs_checkpoints,
     .access = ROUTE_READ},
    /* changes nothing, but spends CPU on the caller's behalf: the full token */
    {.method = "POST", .pattern = "/v1/models/{id}/gradcheck", .body = ROUTE_BODY_JSON,
     .handler = api_gradcheck},
    /* stores what it computes: the full token */
    {.method = "POST", .pattern = "/v1/models/{id}/evaluate", .body = ROUTE_BODY_JSON,
     .handler = api_evaluate},
    {.method = "POST", .pattern = "/v1/models/{id}/trace", .body = ROUTE_BODY_JSON,
     .handler = api_trace, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/models/{id}/evaluations", .handler = api_evaluations_list,
     .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/models/{id}/evaluations/{eid}",
     .handler = api_evaluations_get, .access = ROUTE_READ},

    {.method = "POST", .pattern = "/v1/searches", .body = ROUTE_BODY_JSON,
     .handler = api_searches_create},
    {.method = "GET", .pattern = "/v1/searches", .handler = api_searches_list,
     .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/searches/{id}", .handler = api_searches_get,
     .access = ROUTE_READ},
    {.method = "POST", .pattern = "/v1/searches/{id}/cancel", .body = ROUTE_BODY_JSON,
     .handler = api_searches_cancel},

    {.method = "POST", .pattern = "/v1/predictions", .body = ROUTE_BODY_JSON,
     .handler = api_predictions_create},
    {.method = "GET", .pattern = "/v1/predictions", .handler = api_predictions_list,
     .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/predictions/{id}", .handler = api_predictions_get,
     .access = ROUTE_READ},
    {.method = "POST", .pattern = "/v1/predictions/{id}/cancel", .body = ROUTE_BODY_JSON,
     .handler = api_predictions_cancel},
    {.method = "GET", .pattern = "/v1/predictions/{id}/output", .handler = api_predictions_output,
     .access = ROUTE_READ},

    {.method = "GET", .pattern = "/v1/jobs/{id}/events", .handler = api_events_job,
     .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/searches/{id}/events", .handler = api_events_search,
     .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v1/events", .handler = api_events_all, .access = ROUTE_READ},

    /* The Open Inference Protocol (api_v2.h). Every /v2 route needs a token
     * when one is set, its health probes too: /healthz is the open probe;
     * infer is a read, as predict is. */
    {.method = "GET", .pattern = "/v2/health/live", .handler = api_v2_live, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v2/health/ready", .handler = api_v2_ready,
     .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v2", .handler = api_v2_server, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v2/models/{name}", .handler = api_v2_model,
     .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v2/models/{name}/ready", .handler = api_v2_model_ready,
     .access = ROUTE_READ},
    {.method = "POST", .pattern = "/v2/models/{name}/infer", .body = ROUTE_BODY_JSON,
     .untyped_json = true, .handler = api_v2_infer, .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v2/models/{name}/versions/{version}", .handler = api_v2_model,
     .access = ROUTE_READ},
    {.method = "GET", .pattern = "/v2/models/{name}/versions/{version}/ready",
     .handler = api_v2_model_ready, .access = ROUTE_READ},
    {.method = "POST", .pattern = "/v2/models/{name}/versions/{version}/infer",
     .body = ROUTE_BODY_JSON, .untyped_json = true, .handler = api_v2_infer,
     .access = ROUTE_READ},

    /* The dashboard's files hold no data: its requests to /v1 carry the token. */
    {.method = "GET", .pattern = "/", .handler = api_web_index, .access = ROUTE_OPEN},
    {.method = "GET", .pattern = "/ui/{...}", .handler = api_web_asset, .access = ROUTE_OPEN},
};

const route *router_table(size_t *n) {
  *n = sizeof routes / sizeof routes[0];
  return routes;
}
