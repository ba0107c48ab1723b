/*
 * parse_infer.h — the Open Inference Protocol's inference request (the body
 * of POST /v2/models/{name}/infer), checked before the model is known and
 * copied into rows once its input width is.
 *
 * {"id":"42","parameters":{},"inputs":[{"name":"input","shape":[2,4],
 *  "datatype":"FP32","data":[[1,2,3,4],[5,6,7,8]]}],"outputs":[{"name":"output"}]}
 *
 * A traind model has one input tensor, PARSE_INFER_INPUT, of shape [rows,
 * features] and one output, PARSE_INFER_OUTPUT, of shape [rows, outputs],
 * both PARSE_INFER_DATATYPE. The data is row-major, in one of the
 * protocol's two forms: flat, or nested as the shape (one array of
 * `features` numbers per row); it holds numbers only, exactly as many as the
 * shape says. "parameters" objects are checked for the protocol's form
 * (string, number or boolean values) and otherwise ignored; "outputs", when
 * present, may only name the one output. "model_name", which some clients
 * repeat from the path, is read as a string for the handler to compare.
 * Unknown members are rejected.
 */
#ifndef TRAIND_PARSE_INFER_H
#define TRAIND_PARSE_INFER_H

#include <stddef.h>

#include "parse_json.h"

#define PARSE_INFER_INPUT "input"
#define PARSE_INFER_OUTPUT "output"
#define PARSE_INFER_DATATYPE "FP32"

typedef struct {
  const char *id;     /* the request's "id", borrowed from the tree; NULL when absent */
  const char *model_name; /* its "model_name" (the path's model is the one used), or NULL */
  size_t rows;        /* the input's shape: [rows, features] */
  size_t features;
  const cJSON *data;  /* the input's data: rows * features finite floats, in order */
} parse_infer;

/**
 * Check an inference request.
 * @param root     the parsed body
 * @param max_rows the most rows accepted in shape[0]
 * @param out      receives pointers into root (valid as long as the tree)
 * @return 0, or -API_INVALID_ARGUMENT naming the field ("inputs[0].data[1][2]")
 */
int parse_infer_request(const cJSON *root, size_t max_rows, parse_infer *out, api_error *err);

/**
 * Copy a checked request's data into x.
 * @param x (rows, features), row-major
 */
void parse_infer_copy(const parse_infer *req, float *x);

#endif
