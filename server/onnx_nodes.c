/*
 * onnx_nodes.c — a graph model's ops (core/graph.h, issue 18) as ONNX
 * operators (onnx_graph.h), and the activations both kinds of model share.
 *
 * The model's graph is compiled once more for one row, bound to the model's
 * parameters and running statistics (nothing copied), for what the spec
 * does not say: each node's defaults resolved, every value's row shape, the
 * forward order and where each node's tensors sit in the parameter buffer.
 * Its ops are then emitted in the forward order, each as one ONNX operator
 * or a few, over tensors that point into the model's buffers.
 *
 * traind's row shapes leave the batch out; ONNX's tensors have it first.
 * So every axis attribute is one more than traind's (concat, slice,
 * batchnorm's channels), reshapes keep the batch (a 0 in Reshape's shape
 * copies it), and a lower-rank operand of add, sub or mul is reshaped to
 * (N, 1, ..., its shape) so that numpy's broadcasting aligns it as traind's
 * row broadcasting does. A dataset row feeds the graph's inputs in spec
 * order as predict splits it (core/model_graph.c): the one ONNX input
 * "input" (N, inputs) is standardized as a whole (the codes' columns have
 * mean 0 and std 1) and sliced into them. Values are named "g/<name>" and
 * their helpers "g/<name>/<part>": traind's names have no '/', so none of
 * them meets another or the exporter's own ("input", "output", ...).
 *
 * Costs: the compile (its workspace for one row) and a few small messages
 * per node; the weights are not copied.
 */
#include <stdio.h>

#include "../core/graph.h"
#include "onnx_graph.h"

/* the most nodes (dense over leading axes: Transpose, MatMul, Add, act) and
 * initializers (batchnorm's four) one op adds; per graph input, a Slice and
 * a Reshape, with their four */
#define OP_NODES 4
#define OP_INITS 4
#define INPUT_NODES 2
#define INPUT_INITS 4

const char *onnx_activation(onnx_graph *g, nn_act act, float slope, const char *z,
                            const char *y) {
  onnx_arena *a = g->a;
  switch (act) {
  case NN_ACT_LINEAR:
    return z;
  case NN_ACT_RELU:
    onnx_node(g, "Relu", NULL, z, NULL, NULL, y, NULL, NULL);
    break;
  case NN_ACT_LEAKY_RELU: /* y = z < 0 ? alpha z : z, traind's v > 0 ? v : slope v */
    onnx_node(g, "LeakyRelu", NULL, z, NULL, NULL, y, onnx_attr_float(a, "alpha", slope), NULL);
    break;
  case NN_ACT_SIGMOID:
    onnx_node(g, "Sigmoid", NULL, z, NULL, NULL, y, NULL, NULL);
    break;
  case NN_ACT_TANH:
    onnx_node(g, "Tanh", NULL, z, NULL, NULL, y, NULL, NULL);
    break;
  case NN_ACT_SOFTMAX: /* over each row's last axis, as core's */
    onnx_node(g, "Softmax", NULL, z, NULL, NULL, y, onnx_attr_int(a, "axis", -1), NULL);
    break;
  }
  return y;
}

void onnx_nodes_capacity(const nn_model *m, size_t *nodes, size_t *inits) {
  const nn_graph_spec *gs = nn_model_spec(m)->graph;
  *nodes += (size_t)gs->n_nodes * OP_NODES + (size_t)gs->n_inputs * INPUT_NODES + 1;
  *inits += (size_t)gs->n_nodes * OP_INITS + (size_t)gs->n_inputs * INPUT_INITS;
}

/* "g/<name>" or "g/<name>/<part>" */
static const char *named(onnx_arena *a, const char *name, const char *part) {
  char buf[2 * NN_GRAPH_NAME + 16];
  snprintf(buf, sizeof buf, part != NULL ? "g/%s/%s" : "g/%s", name, part);
  return onnx_str(a, buf);
}

/* An int64 (n) initializer "g/<name>/<part>". */
static const char *ints(onnx_graph *g, const char *name, const char *part, const int64_t *v,
                        size_t n) {
  return onnx_init(g, onnx_tensor_i64(g->a, named(g->a, name, part), v, n));
}

/* A float initializer "g/<name>/<part>" of dims[0..n) at w. */
static const char *floats(onnx_graph *g, const char *name, const char *part, const float *w,
                          const int64_t *dims, size_t n) {
  return onnx_init(g, onnx_tensor_f32n(g->a, named(g->a, name, part), w, dims, n));
}

/* x reshaped to (N, s) into y: a 0 in Reshape's shape copies the batch. */
static void reshape(onnx_graph *g, const char *name, const nn_shape *s, int pad, const char *x,
                    const char *y) {
  int64_t shape[1 + 2 * NN_GRAPH_MAX_RANK] = {0};
  int n = 1;
  for (int d = 0; d < pad; d++) shape[n++] = 1;
  for (int d = 0; d < s->rank; d++) shape[n++] = s->dim[d];
  onnx_node(g, "Reshape", NULL, x, ints(g, name, "shape", shape, (size_t)n), NULL, y, NULL, NULL);
}

/* [start, end) of x's ONNX axis into y. */
static void slice(onnx_graph *g, const char *name, int64_t start, int64_t end, int64_t axis,
                  const char *x, const char *y) {
  const char *in[4] = {x, ints(g, name, "starts", &start, 1), ints(g, name, "ends", &end, 1),
                       ints(g, name, "axes", &axis, 1)};
  onnx_node_v(g, "Slice", NULL, in, 4, y, NULL, 0);
}

/* The graph's inputs from the row x: each its columns, reshaped to its
 * shape; one rank-1 input is x itself. */
static void split(onnx_graph *g, const nn_graph_spec *gs, const char *x, const char **val) {
  onnx_arena *a = g->a;
  int64_t col = 0;
  for (int i = 0; i < gs->n_inputs; i++) {
    const nn_shape *s = &gs->input_shapes[i];
    const char *name = gs->input_names[i];
    int64_t width = (int64_t)nn_shape_size(s);
    const char *cols = x; /* its columns: x itself when it is the only input */
    val[i] = gs->n_inputs == 1 && s->rank == 1 ? x : named(a, name, NULL);
    if (gs->n_inputs > 1) {
      cols = s->rank == 1 ? val[i] : named(a, name, "cols");
      slice(g, name, col, col + width, 1, x, cols);
    }
    if (s->rank > 1) reshape(g, name, s, 0, cols, val[i]);
    col += width;
  }
}

/* add, sub, mul: the lower-rank operand gets the batch and leading 1s. */
static void elementwise(onnx_graph *g, const nn__gnode *n, const char **val, const char *y) {
  static const char *const ops[] = {"Add", "Sub", "Mul"};
  const char *in[2];
  int rank = n->in[0].rank > n->in[1].rank ? n->in[0].rank : n->in[1].rank;
  for (int j = 0; j < 2; j++) {
    in[j] = val[n->arg[j]];
    if (n->in[j].rank < rank) { /* one operand at most */
      const char *r = named(g->a, n->s.name, "broadcast");
      reshape(g, n->s.name, &n->in[j], rank - n->in[j].rank, in[j], r);
      in[j] = r;
    }
  }
  onnx_node(g, ops[n->s.op - NN_OP_ADD], NULL, in[0], in[1], NULL, y, NULL, NULL);
}

/* dense: Gemm for rows, else MatMul by W^T and Add over the leading axes;
 * then the activation */
static void dense(onnx_graph *g, const nn__gnode *n, const float *w, const char *x,
                  const char *y) {
  onnx_arena *a = g->a;
  const char *name = n->s.name;
  int64_t units = n->s.units, in = n->in[0].dim[n->in[0].rank - 1], wd[2] = {units, in};
  const char *wt = floats(g, name, "weight", w, wd, 2);
  const char *b = floats(g, name, "bias", w + units * in, &units, 1);
  const char *z = n->s.activation == NN_ACT_LINEAR ? y : named(a, name, "linear");
  if (n->in[0].rank == 1) { /* z = x W^T + b */
    onnx_node(g, "Gemm", NULL, x, wt, b, z, onnx_attr_int(a, "transB", 1), NULL);
  } else { /* z = x W^T + b over the last axis */
    static const int64_t perm[2] = {1, 0};
    const char *t = named(a, name, "weight_t"), *xw = named(a, name, "matmul");
    onnx_node(g, "Transpose", NULL, wt, NULL, NULL, t, onnx_attr_ints(a, "perm", perm, 2), NULL);
    onnx_node(g, "MatMul", NULL, x, t, NULL, xw, NULL, NULL);
    onnx_node(g, "Add", NULL, xw, b, NULL, z, NULL, NULL);
  }
  onnx_activation(g, n->s.activation, n->s.slope, z, y);
}

/* conv1d, conv2d: Conv with W (F, C, k...) and b (F,), then the activation */
static void conv(onnx_graph *g, const nn__gnode *n, const float *w, const char *x,
                 const char *y) {
  onnx_arena *a = g->a;
  const nn_node_spec *s = &n->s;
  size_t k = s->op == NN_OP_CONV2D ? 2 : 1, at0 = 2 - k; /* a conv1d is a conv2d of height 1 */
  int64_t wd[4] = {s->filters, n->in[0].dim[0], s->kernel[at0], s->kernel[1]}, f = s->filters;
  int64_t kernel[2], stride[2], dilation[2], pads[4];
  size_t wsize = (size_t)wd[0] * (size_t)wd[1];
  for (size_t d = 0; d < k; d++) {
    kernel[d] = s->kernel[at0 + d];
    stride[d] = s->stride[at0 + d];
    dilation[d] = s->dilation[at0 + d];
    pads[d] = pads[d + k] = s->padding[at0 + d]; /* begin then end of each axis */
    wsize *= (size_t)s->kernel[at0 + d];
  }
  const char *in[3] = {x, floats(g, s->name, "weight", w, wd, 2 + k),
                       floats(g, s->name, "bias", w + wsize, &f, 1)};
  Onnx__AttributeProto *at[4] = {
      onnx_attr_ints(a, "kernel_shape", kernel, k), onnx_attr_ints(a, "strides", stride, k),
      onnx_attr_ints(a, "dilations", dilation, k), onnx_attr_ints(a, "pads", pads, 2 * k)};
  const char *z = s->activation == NN_ACT_LINEAR ? y : named(a, s->name, "linear");
  onnx_node_v(g, "Conv", NULL, in, 3, z, at, 4);
  onnx_activation(g, s->activation, s->slope, z, y);
}

/* maxpool, avgpool: no padding, windows that fit (floor) as core's */
static void pool(onnx_graph *g, const nn__gnode *n, const char *x, const char *y) {
  onnx_arena *a = g->a;
  size_t k = (size_t)n->in[0].rank - 1, at0 = 2 - k; /* [C, L]: a window of height 1 */
  int64_t size[2] = {n->s.size[at0], n->s.size[1]};
  int64_t stride[2] = {n->s.stride[at0], n->s.stride[1]};
  onnx_node(g, n->s.op == NN_OP_MAXPOOL ? "MaxPool" : "AveragePool", NULL, x, NULL, NULL, y,
            onnx_attr_ints(a, "kernel_shape", size, k), onnx_attr_ints(a, "strides", stride, k));
}

/* One node k of the compiled graph; val[v] names value v. */
static void op(onnx_graph *g, const nn_graph *cg, int k, const float *params, const float *state,
               const char **val) {
  onnx_arena *a = g->a;
  const nn__gnode *n = &cg->nodes[k];
  const nn_node_spec *s = &n->s;
  const char *x = val[n->arg[0]], *name = s->name;
  const char *y = named(a, name, NULL);
  size_t p_off, p_count;
  nn_graph_node_params(cg, k, &p_off, &p_count);
  const float *w = params + p_off;
  int rank = n->in[0].rank;
  int64_t c = n->in[0].dim[rank - 1], axis = s->axis < 0 ? rank + s->axis : s->axis;
  val[cg->spec.n_inputs + k] = y;
  switch (s->op) {
  case NN_OP_DENSE:
    dense(g, n, w, x, y);
    break;
  case NN_OP_RELU:
    onnx_activation(g, NN_ACT_RELU, 0.0f, x, y);
    break;
  case NN_OP_LEAKY_RELU:
    onnx_activation(g, NN_ACT_LEAKY_RELU, s->slope, x, y);
    break;
  case NN_OP_SIGMOID:
    onnx_activation(g, NN_ACT_SIGMOID, 0.0f, x, y);
    break;
  case NN_OP_TANH:
    onnx_activation(g, NN_ACT_TANH, 0.0f, x, y);
    break;
  case NN_OP_SOFTMAX:
    onnx_activation(g, NN_ACT_SOFTMAX, 0.0f, x, y);
    break;
  case NN_OP_ADD:
  case NN_OP_SUB:
  case NN_OP_MUL:
    elementwise(g, n, val, y);
    break;
  case NN_OP_CONCAT: {
    const char *in[NN_GRAPH_MAX_ARGS];
    for (int j = 0; j < n->n_args; j++) in[j] = val[n->arg[j]];
    Onnx__AttributeProto *at = onnx_attr_int(a, "axis", axis + 1);
    onnx_node_v(g, "Concat", NULL, in, (size_t)n->n_args, y, &at, 1);
    break;
  }
  case NN_OP_SLICE: /* [start, end) of axis + 1 */
    slice(g, name, s->start, s->end == 0 ? n->in[0].dim[axis] : s->end, axis + 1, x, y);
    break;
  case NN_OP_RESHAPE:
    reshape(g, name, &n->y, 0, x, y);
    break;
  case NN_OP_FLATTEN:
    onnx_node(g, "Flatten", NULL, x, NULL, NULL, y, onnx_attr_int(a, "axis", 1), NULL);
    break;
  case NN_OP_EMBEDDING: { /* table (categories, dim) gathered at the codes as int64 */
    int64_t wd[2] = {s->categories, s->dim};
    const char *codes = named(a, name, "codes");
    onnx_node(g, "Cast", NULL, x, NULL, NULL, codes, onnx_attr_int(a, "to", 7), NULL);
    onnx_node(g, "Gather", NULL, floats(g, name, "table", w, wd, 2), codes, NULL, y,
              onnx_attr_int(a, "axis", 0), NULL);
    break;
  }
  case NN_OP_LAYERNORM: /* over the last axis: gain (c,), bias (c,) */
    onnx_node(g, "LayerNormalization", NULL, x, floats(g, name, "gain", w, &c, 1),
              floats(g, name, "bias", w + c, &c, 1), y, onnx_attr_int(a, "axis", -1),
              onnx_attr_float(a, "epsilon", s->eps));
    break;
  case NN_OP_BATCHNORM: { /* inference: the running mean and variance per channel */
    int64_t ch = n->in[0].dim[0];
    const float *st = state + n->s_off;
    const char *in[5] = {x, floats(g, name, "gain", w, &ch, 1),
                         floats(g, name, "bias", w + ch, &ch, 1),
                         floats(g, name, "running_mean", st, &ch, 1),
                         floats(g, name, "running_var", st + ch, &ch, 1)};
    Onnx__AttributeProto *at = onnx_attr_float(a, "epsilon", s->eps);
    onnx_node_v(g, "BatchNormalization", NULL, in, 5, y, &at, 1);
    break;
  }
  case NN_OP_DROPOUT: /* left out, as predict leaves it */
    val[cg->spec.n_inputs + k] = x;
    break;
  case NN_OP_CONV1D:
  case NN_OP_CONV2D:
    conv(g, n, w, x, y);
    break;
  case NN_OP_MAXPOOL:
  case NN_OP_AVGPOOL:
    pool(g, n, x, y);
    break;
  case NN_OP_GLOBAL_AVGPOOL: { /* (N, C, ...) -> (N, C, 1...) -> (N, C) */
    const char *p = named(a, name, "pooled");
    onnx_node(g, "GlobalAveragePool", NULL, x, NULL, NULL, p, NULL, NULL);
    onnx_node(g, "Flatten", NULL, p, NULL, NULL, y, onnx_attr_int(a, "axis", 1), NULL);
    break;
  }
  case NN_OP_COUNT:
    a->failed = 1;
    break;
  }
}

const char *onnx_nodes(onnx_graph *g, const nn_model *m, const char *x, const char *out) {
  const nn_spec *spec = nn_model_spec(m);
  nn_graph *cg = NULL;
  const char *val[NN__GRAPH_VALUES];
  /* bound: the compile neither initialises nor writes the model's buffers */
  int rc = nn__graph_compile_with(spec->graph, 1, (float *)nn_model_params_const(m),
                                  (float *)nn_model_graph_state(m), 1, &cg, NULL);
  if (rc != NN_OK) {
    g->a->failed = 1;
    return NULL;
  }
  split(g, spec->graph, x, val);
  const int *order = nn_graph_order(cg);
  for (int i = 0; i < nn_graph_nodes(cg); i++)
    op(g, cg, order[i], nn_model_params_const(m), nn_model_graph_state(m), val);
  /* predict's rows: (N, outputs) whatever the output's shape */
  onnx_node(g, "Flatten", NULL, val[nn_graph_output(cg)], NULL, NULL, out,
            onnx_attr_int(g->a, "axis", 1), NULL);
  nn_graph_free(cg);
  return out;
}
