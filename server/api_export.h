/* api_export.h — models leaving traind and coming back: a weights version as
 * a model file (model_file.h), a model file imported as a new model, and a
 * model as ONNX (onnx_export.h). */
#ifndef TRAIND_API_EXPORT_H
#define TRAIND_API_EXPORT_H

#include "http.h"

/**
 * GET /v1/models/{id}/versions/{version}/weights → 200 the model file
 * (application/octet-stream); 404 for a model or version not kept.
 */
void api_export_weights(app *a, const http_request *req, http_response *res);

/**
 * POST /v1/models/import (application/octet-stream, at most the dataset
 * body limit), a model file or a bare core checkpoint → 201 the new model,
 * trained, with one weights version; 400 naming what is wrong with the file.
 */
extern const http_stream_ops api_export_import;

/**
 * GET /v1/models/{id}/onnx[?version=N] → 200 an ONNX ModelProto
 * (application/octet-stream) of the newest or a kept weights version.
 */
void api_export_onnx(app *a, const http_request *req, http_response *res);

#endif
