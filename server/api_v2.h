/*
 * api_v2.h — the Open Inference Protocol (KServe v2 / Triton REST) under /v2,
 * so inference clients built for it can call traind's trained models.
 *
 * A model is named in the path by its name (the newest model of that name
 * when several share it) or, failing that, by its id. It has one input
 * tensor, "input", FP32 of shape [-1, features], and one output, "output",
 * FP32 of shape [-1, outputs] (parse_infer.h). Its versions are its weights
 * versions, as strings ("3"), none until it is trained; the store keeps the
 * newest few and each job's last (store_job_epoch_commit). The /versions/{v}
 * routes pin one of those: any other is 404.
 *
 * Errors are {"error":"<message>"} (http.h) with traind's status for the
 * failure: 400 bad input, 404 unknown model or version, 409 inference on a
 * model never trained.
 */
#ifndef TRAIND_API_V2_H
#define TRAIND_API_V2_H

#include "http.h"

/* The models' "platform" in their metadata: the protocol names platforms
 * "<project>_<format>" (onnx_onnxv1, pytorch_torchscript...); a traind model
 * is weights in traind's checkpoint format (docs/checkpoint-format.md). */
#define API_V2_PLATFORM "traind_checkpoint"

/* The header of Triton's binary tensor extension, which traind does not offer. */
#define API_V2_BINARY_HEADER "Inference-Header-Content-Length"

/** GET /v2/health/live → 200 {"live":true}. */
void api_v2_live(app *a, const http_request *req, http_response *res);

/**
 * GET /v2/health/ready → 200 {"ready":true} when the database answers, else
 * 400 {"ready":false,"error":"..."} (the protocol's "false" is a 4xx status).
 */
void api_v2_ready(app *a, const http_request *req, http_response *res);

/** GET /v2 → 200 {"name":"traind","version":"0.1.0","extensions":[]}. */
void api_v2_server(app *a, const http_request *req, http_response *res);

/**
 * GET /v2/models/{name}[/versions/{version}] → 200 {"name","versions",
 * "platform","inputs","outputs"}; versions lists those kept, newest first
 * ([] until the model is trained), or the one pinned.
 */
void api_v2_model(app *a, const http_request *req, http_response *res);

/**
 * GET /v2/models/{name}[/versions/{version}]/ready → 200 {"name","ready":true}
 * once its weights are loaded into the predict cache (this loads them), or
 * 400 {"name","ready":false,"error"} while it has never been trained.
 */
void api_v2_model_ready(app *a, const http_request *req, http_response *res);

/**
 * POST /v2/models/{name}[/versions/{version}]/infer (parse_infer.h) → 200
 * {"model_name","model_version","id" (when the request has one),"outputs":
 * [{"name":"output","datatype":"FP32","shape":[rows,outputs],"data":[...]}]},
 * through the same predict path as /v1 predict (predict.h). A "model_name" in
 * the body must name the path's model (400 otherwise); a request with
 * API_V2_BINARY_HEADER is 400: binary tensor data is not supported.
 */
void api_v2_infer(app *a, const http_request *req, http_response *res);

#endif
