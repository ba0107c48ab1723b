/*
 * onnx_export.h — a trained model as an ONNX ModelProto (IR version 8,
 * opset 17, and ai.onnx.ml 2 for a classifier's label), for ONNX Runtime,
 * Triton, KServe and the other runtimes that read ONNX.
 *
 * The graph computes what traind's predict answers: input (N, inputs) float,
 * standardized by Sub and Div when the model has statistics; each dense
 * layer a Gemm (W as stored, (out, in), with transB) followed by its
 * activation as one ONNX operator (linear: none; relu Relu; leaky_relu
 * LeakyRelu with the slope as alpha; sigmoid Sigmoid; tanh Tanh; softmax
 * Softmax over the last axis); dropout is left out, as predict leaves it.
 * Outputs: "output" (N, outputs) float, and for a model with class names
 * "label" (N,) string: ArgMax (first maximum, as predict) or, for one
 * sigmoid unit and two classes, output >= 0.5, mapped to the names by
 * ai.onnx.ml's LabelEncoder. Metadata props name the traind version, the
 * model's id, name and weights version, its input and output widths and
 * class names.
 *
 * A graph model (issue 18) exports each op as ONNX's operator (dense over
 * leading axes as MatMul and Add, embeddings as Gather, batchnorm with its
 * running statistics, convs and pools), every axis moved by one for the
 * batch; its one input "input" is sliced into the graph's inputs as predict
 * splits a row, and "output" is the output value flattened (onnx_nodes.c).
 *
 * A model trained on a typed table (issue 14) takes one (N, 1) input per
 * column instead, named as the column — double for numbers, integers and
 * booleans (NaN: missing), string for categories — and encodes them in the
 * graph as predict encodes raw records: imputation and standardization in
 * double (IsNaN, Where, Sub, Div, then Cast), categories through ai.onnx.ml's
 * LabelEncoder and OneHotEncoder with the other slot, missing indicators,
 * then Concat into the network; a regression's "output" is double, in the
 * target's units. Metadata adds "columns" and "target". A datetime column
 * takes double seconds since 1970 UTC, and the graph computes its calendar
 * parts with core's integer arithmetic in doubles (docs/onnx.md).
 *
 * The protobuf is written by protobuf-c from ONNX's own schema
 * (server/onnx/onnx.proto, compiled at build time); this header keeps its
 * types to onnx_export.c. The weights are not copied into the message: the
 * tensors point at the model's parameters until it is packed, so an export
 * costs the packed file (about 4 bytes a parameter) and a few small nodes.
 */
#ifndef TRAIND_ONNX_EXPORT_H
#define TRAIND_ONNX_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/nn.h"
#include "errors.h"

#define ONNX_IR_VERSION 8
#define ONNX_OPSET 17
#define ONNX_ML_OPSET 2
#define ONNX_MAX_BYTES ((size_t)2 << 30) /* protobuf's 2 GiB message limit */

typedef struct {
  const nn_model *model;
  const char *name;    /* the model's name: the graph's */
  int64_t model_id;
  int64_t version;     /* the weights version */
  const char *classes; /* JSON array text of the class names, or NULL */
  const struct nn_encoder *encoder; /* a table model's encoding, or NULL */
} onnx_export_in;

/**
 * Write the ModelProto of a model.
 * @param out receives a malloc'd buffer (free it)
 * @return 0, -API_UNPROCESSABLE when the model is over ONNX_MAX_BYTES or
 *         its encoding has a column named as a value of the graph (the
 *         message names it), or -API_INTERNAL (out of memory,
 *         class names that do not fit)
 */
int onnx_export(const onnx_export_in *in, uint8_t **out, size_t *len, api_error *err);

#endif
