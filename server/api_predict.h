/* api_predict.h — POST /v1/models/{id}/predict. */
#ifndef TRAIND_API_PREDICT_H
#define TRAIND_API_PREDICT_H

#include "http.h"

/**
 * {"inputs":[[0,1],[1,1]]} → 200 {"model":1,"version":12,"outputs":[[0.97],[0.04]]},
 * plus "labels" (argmax class names) when the weights were trained on a
 * classification dataset. Runs on the newest published weights, or on the
 * kept version ?version=N names (GET /v1/models/{id}/versions; 404 with field
 * "version" for one not kept), concurrently with training (predict.h). 404 for an unknown
 * model, 409 when it was never trained, 400 naming the row ("inputs[3]") for
 * a row of the wrong width or with a non-finite number.
 */
void api_predict(app *a, const http_request *req, http_response *res);

#endif
