/* api_trace.h — /v1/models/{id}/trace: one example through a model's
 * weights forward and backward, every node's value and gradient shown
 * (core/trace.h). */
#ifndef TRAIND_API_TRACE_H
#define TRAIND_API_TRACE_H

#include "http.h"

#define API_TRACE_FULL 256 /* entries of a tensor given in full; beyond, a summary */

/**
 * POST /v1/models/{id}/trace {"input":[...] | "record":{...}, "target":T, "version":N}
 * → 200 {"model","version","loss":{"type","value"},"head","output",["label"],
 *        ["prediction"],"target","nodes":[...]}:
 * the example (numbers for a model trained on numbers, a raw record for one
 * trained on a table, encoded by the weights' own encoding) standardized as
 * predict does, run forward in evaluation mode and backward from the
 * training loss against T: a class name or index for a classifier, a number
 * or an array of one per output for a regression (in the target's units;
 * a table's target is standardized as in training).
 * Each node: name, op, layer, inputs, shape, value and grad (the gradient
 * arriving at it, dL/dvalue), its params' value and grad (dense: weight,
 * bias), its local derivative (elementwise activations) and the rule
 * its backward applies, in words. A tensor: shape, min, max, mean, norm,
 * and its values when it has at most API_TRACE_FULL entries.
 * 400 naming "input", "record", "target" or "version" for a bad member;
 * 404 "id" / "version"; 409 "id" when the model has no weights yet.
 * Cost: one compile of the model's chain for one row (a copy of its
 * parameters and twice its widest layer), a forward and a backward pass.
 */
void api_trace(app *a, const http_request *req, http_response *res);

#endif
