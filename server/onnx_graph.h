/*
 * onnx_graph.h — an ONNX graph under construction, as protobuf-c messages:
 * what onnx_export.c (the network, the model), onnx_nodes.c (a graph
 * model's ops) and onnx_table.c (a table model's columns) build it with.
 * Only the ONNX exporter includes it.
 *
 * Every message, string and small array of one export lives in an arena
 * freed at once, so building the graph has one failure check (out of
 * memory) at its end instead of one per allocation: each builder returns
 * NULL once anything failed, and onnx_node refuses NULL parts. The node and
 * initializer arrays are sized once, before the graph is built
 * (onnx_table_capacity adds a table model's columns).
 */
#ifndef TRAIND_ONNX_GRAPH_H
#define TRAIND_ONNX_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "../core/encode.h"
#include "onnx.pb-c.h"
#include "onnx_export.h"

#define ONNX_FLOAT 1 /* TensorProto.DataType, Cast's "to" */
#define ONNX_DOUBLE 11

typedef struct {
  void **blocks;
  size_t n, cap;
  int failed; /* an allocation failed: every builder returns NULL from then on */
} onnx_arena;

void *onnx_alloc(onnx_arena *a, size_t size); /* zeroed */
void onnx_arena_free(onnx_arena *a);
char *onnx_str(onnx_arena *a, const char *s);
/* A short name made of a prefix and a number: onnx_fmt(a, "%s%lld", "dense", 3). */
char *onnx_fmt(onnx_arena *a, const char *f, const char *s, long long i);

/* Tensors: float (d0) or (d0, d1), d0 < 0 a scalar, over data (not copied);
 * double (1) holding v; int64 (n) of v (copied). */
Onnx__TensorProto *onnx_tensor_f32(onnx_arena *a, const char *name, const float *data, int64_t d0,
                                   int64_t d1);
/* A float tensor of dims[0..n) (n 0: a scalar) over data (not copied). */
Onnx__TensorProto *onnx_tensor_f32n(onnx_arena *a, const char *name, const float *data,
                                    const int64_t *dims, size_t n);
Onnx__TensorProto *onnx_tensor_f64(onnx_arena *a, const char *name, double v);
Onnx__TensorProto *onnx_tensor_i64(onnx_arena *a, const char *name, const int64_t *v, size_t n);

Onnx__AttributeProto *onnx_attr(onnx_arena *a, const char *name,
                                Onnx__AttributeProto__AttributeType type);
Onnx__AttributeProto *onnx_attr_int(onnx_arena *a, const char *name, int64_t v);
Onnx__AttributeProto *onnx_attr_float(onnx_arena *a, const char *name, float v);
Onnx__AttributeProto *onnx_attr_ints(onnx_arena *a, const char *name, const int64_t *v, size_t n);

/* A value's type: a tensor of elem_type with dims ("N", d1, d2), ("N", d1)
 * (d2 0) or ("N") (d1 0 too). */
Onnx__ValueInfoProto *onnx_value3(onnx_arena *a, const char *name, int32_t elem_type, int64_t d1,
                                  int64_t d2);
Onnx__ValueInfoProto *onnx_value(onnx_arena *a, const char *name, int32_t elem_type, int64_t d1);

typedef struct {
  onnx_arena *a;
  Onnx__NodeProto **nodes; /* (cap_nodes,) */
  size_t n_nodes, cap_nodes;
  Onnx__TensorProto **inits; /* (cap_inits,) */
  size_t n_inits, cap_inits;
  Onnx__ValueInfoProto **infos; /* (cap_infos,): types shape inference cannot */
  size_t n_infos, cap_infos;    /* find (OneHotEncoder's outputs) */
  int uses_ml;                  /* a node of ai.onnx.ml: the opset is imported */
  const char *axis1;            /* the int64 [1] initializer, once made */
} onnx_graph;

/* An initializer added. @return its name, or NULL (failed) */
const char *onnx_init(onnx_graph *g, Onnx__TensorProto *t);

/* A node op(in[0..n_in)) -> out with n_at attributes (a NULL one: failed). */
void onnx_node_v(onnx_graph *g, const char *op, const char *domain, const char *const *in,
                 size_t n_in, const char *out, Onnx__AttributeProto *const *at, size_t n_at);

/* A node op(in0[, in1[, in2]]) -> out with up to two attributes (NULL: none). */
void onnx_node(onnx_graph *g, const char *op, const char *domain, const char *in0, const char *in1,
               const char *in2, const char *out, Onnx__AttributeProto *at0,
               Onnx__AttributeProto *at1);

/* The int64 [1] tensor {1}: Squeeze's axes. */
const char *onnx_axis1(onnx_graph *g);

/* act(z) into y (the same node's names); linear adds nothing.
 * @return the activation's output: y, or z when linear */
const char *onnx_activation(onnx_graph *g, nn_act act, float slope, const char *z, const char *y);

/* ---- a graph model's ops (onnx_nodes.c) ----------------------------------------- */

/* The nodes and initializers a graph model's ops add to a graph. */
void onnx_nodes_capacity(const nn_model *m, size_t *nodes, size_t *inits);

/* The graph model m over x (N, inputs), standardized rows of predict's
 * columns: split into the graph's inputs, every op, then Flatten into out
 * (N, outputs) float with the head the loss fuses (softmax, sigmoid)
 * applied, as predict answers. @return out, or NULL when it failed */
const char *onnx_nodes(onnx_graph *g, const nn_model *m, const char *x, const char *out);

/* ---- a table model's columns (onnx_table.c) ------------------------------------- */

/* The nodes, initializers and value types e's columns add to a graph. */
void onnx_table_capacity(const nn_encoder *e, size_t *nodes, size_t *inits, size_t *infos);

/* Every column of e, read from its graph input (named as the column) and
 * encoded as core encodes a record, then Concat into (N, width) float.
 * @return "features", or NULL when the graph failed */
const char *onnx_table_features(onnx_graph *g, const nn_encoder *e);

/* A regression on a table answers in the target's units: the network's
 * (N, outputs) float scaled as double, times scale plus mean, as
 * nn_encoder_unscale, into "output". */
void onnx_table_unscale(onnx_graph *g, const char *scaled, double mean, double scale);

/* @return 0, or -API_UNPROCESSABLE naming an input column that has the name
 * of a value of the graph (ONNX names every value once) */
int onnx_table_names_distinct(const onnx_graph *g, const onnx_export_in *in, api_error *err);

/* Metadata "columns": [{"name","type","input"}] in the graph's input order;
 * malloc'd JSON text, or NULL when out of memory. */
char *onnx_table_columns_json(const nn_encoder *e);

#endif
