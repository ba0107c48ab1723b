/* api_gradcheck.h — /v1/models/{id}/gradcheck: is backprop right on this model? */
#ifndef TRAIND_API_GRADCHECK_H
#define TRAIND_API_GRADCHECK_H

#include "http.h"

#define API_GRADCHECK_MAX_SAMPLES 64
#define API_GRADCHECK_DEFAULT_SAMPLES 8

/**
 * POST /v1/models/{id}/gradcheck {"dataset":D,"samples":8,"epsilon":1e-6,"seed":0}
 * → 200: nn_gradcheck of the model's published weights on `samples` rows
 * (1..64, default 8) of dataset D spread evenly over it (all of them when
 * it has fewer):
 *   {"model","version","dataset","samples","epsilon","seed","loss","threshold",
 *    "max_error","checked","pass","layers":[{"layer","type","activation",
 *    "weight_error","bias_error","weights_checked","biases_checked","skipped"}]}
 * one entry per layer of the spec; errors are null where nothing was checked.
 * 404 naming "id" or "dataset"; 409 (field "id") when the model has no
 * weights yet; 422 (field "dataset") when the dataset cannot train the
 * model, as for job creation; 400 naming a bad or unknown member.
 *
 * Cost: it reads only those rows, and besides three passes over them the
 * differences spend at most NN_GRADCHECK_BUDGET multiply-adds
 * (core/gradcheck.c), a fraction of a second of one core. It changes
 * nothing, yet needs the full token: that is work a read-only client
 * should not be able to order.
 */
void api_gradcheck(app *a, const http_request *req, http_response *res);

#endif
