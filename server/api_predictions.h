/* api_predictions.h — /v1/predictions: batch predictions over a stored
 * dataset, queued for the workers (prediction_run.h), followed, cancelled
 * and their output streamed (prediction_output.h). */
#ifndef TRAIND_API_PREDICTIONS_H
#define TRAIND_API_PREDICTIONS_H

#include "app.h"
#include "http.h"

void api_predictions_create(app *a, const http_request *req, http_response *res);
void api_predictions_list(app *a, const http_request *req, http_response *res);
void api_predictions_get(app *a, const http_request *req, http_response *res);
void api_predictions_cancel(app *a, const http_request *req, http_response *res);
void api_predictions_output(app *a, const http_request *req, http_response *res);

#endif
