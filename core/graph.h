/*
 * graph.h — models as computational graphs: a DAG of ops over named values,
 * compiled once and run forward and backward over a batch (issue #18).
 *
 * A graph spec names its inputs (each with the shape of one row), and its
 * nodes: each an op applied to the values named in its inputs, with the
 * op's attributes. nn_graph_compile orders the nodes topologically, infers
 * every value's shape, refuses cycles, unknown names, shapes that do not fit
 * and bad attributes with the field at fault (nn_error), and lays out one
 * flat parameter buffer, one gradient buffer, one state buffer (running
 * statistics) and one workspace, whose offsets never change afterwards.
 * nn_graph_forward and nn_graph_backward then allocate nothing.
 *
 * Backward is reverse-mode: each node's gradient flows to its inputs in the
 * reverse of the forward order, and a value read by several nodes receives
 * the sum of their contributions (the multivariate chain rule).
 *
 * Shapes are per row: the batch dimension is implicit and comes first.
 * Images are channels first, [C, H, W]; sequences [C, L]. Buffers are
 * float32, row-major, (n, size of the shape). Same conventions as nn.h: no
 * globals, no exit(), NN_OK or a negative nn_status.
 */
#ifndef NN_GRAPH_H
#define NN_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "nn_internal.h"

#define NN_GRAPH_MAX_NODES 128   /* nodes of one graph */
#define NN_GRAPH_MAX_INPUTS 8    /* inputs of one graph */
#define NN_GRAPH_MAX_ARGS 8      /* inputs of one node */
#define NN_GRAPH_MAX_RANK 4      /* dimensions of a row's shape */
#define NN_GRAPH_NAME 32         /* bytes of a name, its NUL included */
#define NN_GRAPH_MAX_VALUE (1 << 24) /* floats in one row of a value */

/* The shape of one row: rank 1..NN_GRAPH_MAX_RANK, every dim >= 1. */
typedef struct {
  int rank;
  int dim[NN_GRAPH_MAX_RANK];
} nn_shape;

/** @return the floats of one row of shape s (their product). */
size_t nn_shape_size(const nn_shape *s);

/** Write s as "[1, 8, 8]" into buf (always NUL-terminated). */
void nn_shape_format(const nn_shape *s, char *buf, size_t len);

typedef enum {
  NN_OP_DENSE,     /* act(x W^T + b); units, activation, slope, init */
  NN_OP_RELU,      /* the activations as ops, over the last axis */
  NN_OP_LEAKY_RELU,/* slope */
  NN_OP_SIGMOID,
  NN_OP_TANH,
  NN_OP_SOFTMAX,   /* over the last axis */
  NN_OP_ADD,       /* a + b, numpy broadcasting of either operand */
  NN_OP_SUB,       /* a - b */
  NN_OP_MUL,       /* a * b */
  NN_OP_CONCAT,    /* along axis, 2..NN_GRAPH_MAX_ARGS inputs */
  NN_OP_SLICE,     /* [start, end) of axis */
  NN_OP_RESHAPE,   /* to shape, same size */
  NN_OP_FLATTEN,   /* to [size] */
  NN_OP_EMBEDDING, /* codes (k...) -> (k..., dim); categories, dim */
  NN_OP_LAYERNORM, /* over the last axis, gain and bias; eps */
  NN_OP_BATCHNORM, /* per channel (axis 0); eps, momentum, running statistics */
  NN_OP_DROPOUT,   /* rate; training only */
  NN_OP_CONV1D,    /* [C, L] -> [filters, L']; kernel, stride, padding, dilation, activation */
  NN_OP_CONV2D,    /* [C, H, W] -> [filters, H', W'] */
  NN_OP_MAXPOOL,   /* [C, L] or [C, H, W]; size, stride (default size) */
  NN_OP_AVGPOOL,
  NN_OP_GLOBAL_AVGPOOL, /* [C, ...] -> [C] */
  NN_OP_COUNT
} nn_op;

/** @return the op's name in specs ("dense", "global_avgpool"), or NULL. */
const char *nn_op_name(nn_op op);

/** @return NN_OK and *op set, or NN_EINVAL when s names no op. */
int nn_op_parse(const char *s, nn_op *op);

/* One node of a graph spec. An attribute an op does not read is ignored; 0
 * leaves an integer attribute to its default. Pairs ([h, w]) other than
 * padding, where 0 is a value, with a 0 second entry are squares: kernel
 * {3, 0} is 3x3 (a spec's single integer fills both entries); conv1d and
 * 1-D pools read [0]. */
typedef struct {
  char name[NN_GRAPH_NAME];
  nn_op op;
  int n_inputs;
  char inputs[NN_GRAPH_MAX_ARGS][NN_GRAPH_NAME];
  int units;          /* dense: output width */
  nn_act activation;  /* dense, conv: applied to the output */
  float slope;        /* leaky_relu (op or activation): negative slope, [0, 1) */
  nn_init init;       /* dense, conv: weight initialisation */
  float rate;         /* dropout: in [0, 1) */
  int filters;        /* conv: output channels */
  int kernel[2];      /* conv */
  int stride[2];      /* conv: default 1; pools: default size */
  int padding[2];     /* conv: zeros on each side, default 0; both entries literal */
  int dilation[2];    /* conv: default 1 */
  int size[2];        /* pools: window */
  int categories;     /* embedding: codes in [0, categories) */
  int dim;            /* embedding: vector width */
  int axis;           /* concat, slice: axis of the row's shape, 0 first; -1 last */
  int start, end;     /* slice: [start, end) of axis; end 0 = to the end */
  nn_shape shape;     /* reshape: the new row shape */
  float eps;          /* layernorm, batchnorm: added to the variance */
  float momentum;     /* batchnorm: running = (1 - m) running + m batch */
} nn_node_spec;

/** Zero every attribute; slope 0.01, eps 1e-5, momentum 0.1 (PyTorch's). */
void nn_node_spec_defaults(nn_node_spec *n);

typedef struct nn_graph_spec {
  int n_inputs;
  char input_names[NN_GRAPH_MAX_INPUTS][NN_GRAPH_NAME];
  nn_shape input_shapes[NN_GRAPH_MAX_INPUTS];
  int n_nodes;
  nn_node_spec nodes[NN_GRAPH_MAX_NODES];
  char output[NN_GRAPH_NAME]; /* the value the loss reads */
  uint64_t seed;              /* weight initialisation */
} nn_graph_spec;

typedef struct nn_graph nn_graph;

/**
 * Compile a spec for batches of at most max_rows rows: check it, order it,
 * infer shapes, allocate and initialise the parameters (from spec->seed;
 * biases 0, norm gains 1) and the workspace.
 * Errors name the field: "nodes[3].inputs[1]", "nodes[2].units", "output".
 * @param spec     copied
 * @param max_rows 1..NN_MAX_BATCH
 * @return NN_OK, NN_EINVAL (unknown name, cycle, bad attribute), NN_ESHAPE
 *         (shapes do not fit), NN_ERANGE (sizes) or NN_ENOMEM
 */
int nn_graph_compile(const nn_graph_spec *spec, size_t max_rows, nn_graph **out, nn_error *err);

void nn_graph_free(nn_graph *g);

/**
 * The spec as nn_graph_compile would run it, every default resolved
 * (stride, dilation, pool strides, square pairs), without compiling it:
 * what a spec written back out should say.
 * @return NN_OK, or nn_graph_compile's errors for a spec it would refuse
 */
int nn_graph_resolve(const nn_graph_spec *spec, nn_graph_spec *out, nn_error *err);

/* Values are numbered: graph inputs 0 .. n_inputs - 1, then node i of the
 * spec is value n_inputs + i. */

/** @return the value named name, or NN_EINVAL. */
int nn_graph_find(const nn_graph *g, const char *name);

/** @return the name of graph input i (0 .. n_inputs - 1). */
const char *nn_graph_input_name(const nn_graph *g, int i);

/** @return the number of values (inputs and nodes). */
int nn_graph_values(const nn_graph *g);

/** @return the row shape of value v (v valid). */
const nn_shape *nn_graph_shape(const nn_graph *g, int v);

/** @return the graph's output value. */
int nn_graph_output(const nn_graph *g);

/** @return the node indices (spec order) in the order forward runs them (n_nodes,). */
const int *nn_graph_order(const nn_graph *g);

/** The flat parameter buffer (P,), node by node in spec order; each node's
 * tensors in PyTorch's layout (dense W (units, in) then b; conv W (F, C, kh, kw)
 * then b; embedding (categories, dim); norms gain then bias). */
size_t nn_graph_param_count(const nn_graph *g);
float *nn_graph_params(nn_graph *g);
/** dLoss/dParams (P,) of the last backward pass. */
const float *nn_graph_grads(const nn_graph *g);

/** Node i's parameters: offset and count in the buffer (0 for none). */
void nn_graph_node_params(const nn_graph *g, int node, size_t *off, size_t *count);

/** Node i's state (batchnorm: running mean (C,) then variance (C,)):
 * offset and count in nn_graph_state (0 for none). */
void nn_graph_node_state(const nn_graph *g, int node, size_t *off, size_t *count);

/** @return the number of nodes. */
int nn_graph_nodes(const nn_graph *g);

/** Node i (spec order) as compiled: its spec with the defaults resolved. */
const nn_node_spec *nn_graph_node(const nn_graph *g, int node);

/** Non-trained state (batchnorm running mean then variance per node) (S,). */
size_t nn_graph_state_count(const nn_graph *g);
float *nn_graph_state(nn_graph *g);

/**
 * Forward pass over n rows.
 * @param inputs (n_inputs,): input i is (n, size of its shape); borrowed
 *               until the next forward (backward reads them)
 * @param train  nonzero: batchnorm uses and updates batch statistics, and
 *               dropout draws masks from rng (rng NULL: dropout off)
 * @return NN_OK, NN_ERANGE (n not in 1..max_rows) or NN_EINVAL (an
 *         embedding code that is not an integer in [0, categories))
 */
int nn_graph_forward(nn_graph *g, const float *const *inputs, size_t n, int train,
                     nn__rng *rng);

/** @return value v of the last forward pass, (n, size). */
const float *nn_graph_value(const nn_graph *g, int v);

/**
 * Backward pass of the last forward pass.
 * @param dout        (n, output size): dLoss/dOutput
 * @param input_grads nonzero: also compute the gradients of the graph inputs
 * @return NN_OK, or NN_EINVAL without a forward pass before
 */
int nn_graph_backward(nn_graph *g, const float *dout, int input_grads);

/** @return dLoss/d(value v) of the last backward pass, (n, size); an input's
 * only with input_grads; NULL for a value that takes no gradient (codes). */
const float *nn_graph_value_grad(const nn_graph *g, int v);

/** A graph model's running statistics (S,) in nn_graph_state's layout (what
 * an exporter reads beside nn_model_params_const), or NULL for a layer list. */
const float *nn_model_graph_state(const nn_model *m);

/* ---- gradient check over the engine (graph_check.c) ------------------------- */

typedef struct {
  double step;       /* each entry v moves by +-step * max(1, |v|) */
  double tolerance;  /* largest error that passes */
  double floor;      /* errors are relative to max(|analytic|, |numeric|, floor) */
  int kinks;         /* skip entries whose one-sided slopes disagree (relu, max) */
  size_t per_tensor; /* entries checked per parameter tensor (node) and per input */
  uint64_t seed;     /* the loss's coefficients */
  int train;         /* passes in training mode; dropout's generator is */
  uint64_t rng_seed; /* reseeded from rng_seed before every pass */
} nn_graph_check_config;

typedef struct {
  double max_error;  /* largest error over the checked entries */
  size_t checked, skipped; /* skipped: at a kink */
  int worst_value;   /* the worst entry: an input value, or -1 for a parameter */
  size_t worst_index;/* its index (in the input's (n, size), or the parameters) */
  int pass;          /* something was checked and max_error <= tolerance */
} nn_graph_check_result;

/** step 1e-2, tolerance 1e-2, floor 0.1, kinks on, 64 per tensor, seed 1,
 * evaluation mode. */
void nn_graph_check_defaults(nn_graph_check_config *c);

/**
 * Check backward against central differences of L = sum_i c_i y_i, y the
 * output and c fixed coefficients in [-1, 1), accumulated in double over the
 * float32 passes: every parameter tensor and every differentiable input,
 * per_tensor entries of each spread evenly over it. The graph's state
 * (running statistics) is restored afterwards.
 * @return NN_OK, NN_ENOMEM, or a forward pass's error
 */
int nn_graph_check(nn_graph *g, const float *const *inputs, size_t n,
                   const nn_graph_check_config *c, nn_graph_check_result *out);

/* nn_graph_check against the parameter gradient grad (P,) instead of
 * backward's (so tests can show a wrong gradient is caught). */
int nn__graph_check_with(nn_graph *g, const float *const *inputs, size_t n,
                         const nn_graph_check_config *c, const float *grad,
                         nn_graph_check_result *out);

/* ---- gradient check of a graph model (gradcheck_graph.c) -------------------- */

#define NN_GRAPH_GRADCHECK_EPSILON 1e-3 /* default relative step: float32 passes */

/* What was found in one node's parameters; NAN error where nothing was
 * checked (a node without parameters, or the budget spent). */
typedef struct {
  double error;           /* largest relative error over the checked entries */
  size_t checked;         /* at most NN_GRADCHECK_PER_TENSOR */
  size_t skipped;         /* picked but not checked: the step straddled a kink */
} nn_gradcheck_node;

typedef struct {
  nn_gradcheck_node nodes[NN_GRAPH_MAX_NODES]; /* the spec's nodes, in its order */
  double loss;      /* mean loss of the rows */
  double max_error; /* over every checked parameter; NAN for none */
  double threshold; /* NN_GRADCHECK_THRESHOLD */
  size_t checked;
  int pass;         /* something was checked and max_error < threshold */
} nn_gradcheck_graph_result;

/**
 * nn_gradcheck for a graph model: its backward pass against central
 * differences of its mean training loss on d's rows, evaluation mode,
 * float32 passes (c->epsilon: NN_GRAPH_GRADCHECK_EPSILON suits them; see
 * core/gradcheck_graph.c for the error measure and the costs), up to
 * NN_GRADCHECK_PER_TENSOR entries of each parameter node.
 * @return NN_OK, NN_EINVAL (a layer-list model, bad epsilon, rows that do
 *         not fit, codes out of range), NN_ERANGE or NN_ENOMEM
 */
int nn_gradcheck_graph(const nn_model *m, const nn_data *d, const nn_gradcheck_config *c,
                       nn_gradcheck_graph_result *out, nn_error *err);

/* The same against the gradient grad (P,) instead of backward's (so tests
 * can show a wrong gradient is caught). */
int nn__gradcheck_graph_with(const nn_model *m, const nn_data *d, const float *grad,
                             const nn_gradcheck_config *c, nn_gradcheck_graph_result *out,
                             nn_error *err);

/* Diagnostics per node of a graph model's compiled graph g (diag.c): its
 * parameter nodes' gradients and relu nodes' values are read there.
 * @return NN_OK or NN_ENOMEM */
_Static_assert(NN_DIAG_SLOTS >= NN_GRAPH_MAX_NODES, "a slot for every node");
int nn__diag_new_graph(const nn_graph *g, nn__diag **out);

/* A graph model's compiled graph (model_graph.c), and the floats of its
 * workspace per row (about a pass's work besides the products). */
const nn_graph *nn__gnet_graph(const nn__gnet *r);
size_t nn__gnet_row_floats(const nn__gnet *r);

/* ---- internal: the op table (core/op_*.c) ----------------------------------- */

/* A node as compiled: its spec with the defaults resolved, its values and
 * shapes, and where its buffers are. */
struct nn__op;

typedef struct {
  nn_node_spec s;
  const struct nn__op *op;
  int index;                      /* in the spec */
  int n_args;
  int arg[NN_GRAPH_MAX_ARGS];     /* input values */
  nn_shape in[NN_GRAPH_MAX_ARGS]; /* their shapes */
  nn_shape y;                     /* output shape, set by infer */
  size_t n_params, n_state;       /* set by infer */
  size_t scratch_row;             /* floats of scratch per batch row, set by infer */
  size_t scratch_fixed;           /* floats of scratch besides, set by infer */
  size_t p_off, s_off, scratch_off;
  int acc[NN_GRAPH_MAX_ARGS];     /* gradient of arg j: -1 into its value's,
                                   * else into tmp buffer acc[j], then added */
  int live;                       /* the output depends on it: backward runs */
  int geo[16];                    /* geometry infer derives for the passes */
} nn__gnode;

/* What one pass of one node sees. */
typedef struct {
  const nn__gnode *node;
  size_t n;                           /* rows */
  const float *x[NN_GRAPH_MAX_ARGS];  /* (n, in[j]) */
  float *y;                           /* (n, y) */
  const float *w;                     /* (n_params,) */
  float *dw;                          /* (n_params,): backward overwrites */
  float *state;                       /* (n_state,) */
  float *scratch;                     /* kept from forward to backward */
  float *dy;                          /* (n, y): backward may overwrite it */
  float *dx[NN_GRAPH_MAX_ARGS];       /* (n, in[j]) or NULL: backward overwrites */
  int train;
  nn__rng *rng;                       /* forward: dropout's generator, or NULL */
  int masks;                          /* backward: forward drew dropout masks */
  nn__pool *pool;
} nn__opctx;

typedef struct nn__op {
  const char *name;
  int min_args, max_args;
  int no_grad_args; /* bit j: arg j takes no gradient (embedding codes) */
  /* Check attributes and input shapes, set y, n_params, n_state, scratch and
   * geo; errors through nn__graph_fail. */
  int (*infer)(nn__gnode *node, nn_error *err);
  /* Initialise parameters and state (NULL: zeros). */
  void (*init)(const nn__gnode *node, float *w, float *state, nn__rng *r);
  int (*forward)(nn__opctx *c);
  void (*backward)(nn__opctx *c);
} nn__op;

#define NN__GRAPH_VALUES (NN_GRAPH_MAX_INPUTS + NN_GRAPH_MAX_NODES)

struct nn_graph {
  nn_graph_spec spec;
  size_t max_rows;
  nn__gnode nodes[NN_GRAPH_MAX_NODES]; /* in spec order */
  int order[NN_GRAPH_MAX_NODES];       /* forward order */
  int n_values, output;
  nn_shape shape[NN__GRAPH_VALUES];
  size_t val_off[NN__GRAPH_VALUES];    /* nodes' outputs in ws */
  size_t grad_off[NN__GRAPH_VALUES];   /* gradients in ws */
  unsigned char has_grad[NN__GRAPH_VALUES]; /* backward writes this gradient */
  int n_tmp;                           /* accumulation buffers */
  size_t tmp_off, tmp_size;            /* in ws, tmp_size floats each */
  size_t n_params, n_state, ws_floats;
  float *params, *grads, *state, *ws;
  const float *in[NN_GRAPH_MAX_INPUTS]; /* the last forward's inputs */
  size_t n;                            /* the last forward's rows; 0: none */
  int train;                           /* the last forward's mode */
  int masks;                           /* ... drew dropout masks */
  nn__pool *pool;                      /* threads of the products; NULL: the caller */
  int bound;                           /* params and state are the caller's */
  int infer;                           /* inference only: no gradients, no backward */
  float *keep;                         /* not NULL: ops' backward gets a copy of dy here */
};

/* nn_graph_compile for a model (core/model_graph.c): params (P,) and state
 * (S,) are the caller's, borrowed and left as they are, when not NULL (both
 * or neither); infer: no gradient buffers, and nn_graph_backward refuses. */
int nn__graph_compile_with(const nn_graph_spec *spec, size_t max_rows, float *params,
                           float *state, int infer, nn_graph **out, nn_error *err);

/* The parameters (P,) and state (S,) nn_graph_compile would initialise,
 * written into the caller's buffers without compiling the graph's. */
int nn__graph_init_params(const nn_graph_spec *spec, float *params, float *state,
                          nn_error *err);

/* What a compile for max_rows rows would hold, without allocating its buffers. */
typedef struct {
  size_t n_params, n_state, ws_floats;
  nn_shape output;
  size_t node_size[NN_GRAPH_MAX_NODES]; /* floats of a row of each node's value */
} nn__graph_size;
int nn__graph_measure(const nn_graph_spec *spec, size_t max_rows, int infer, nn__graph_size *out,
                      nn_error *err);

/* An evaluation-mode forward pass of an inference graph into the caller's
 * workspace ws (g->ws_floats floats): g is only read, so threads may share
 * it, each with its own ws. @return the output (n, size), or NULL with a
 * forward pass's error in *rc */
const float *nn__graph_infer(const nn_graph *g, float *ws, const float *const *inputs, size_t n,
                             int *rc);

/* Spread the large products of later passes over pool (NULL: none). The
 * bits do not depend on it (core/gemm.c). */
void nn__graph_set_pool(nn_graph *g, nn__pool *pool);

/* Keep every value's gradient as it arrived: backward hands each op a copy
 * of its dy in keep (the caller's, the floats of the largest value of
 * max_rows rows) to overwrite (a dense node writes dL/dz over dL/dy). The
 * trace reads them; training does not pay the copy. */
void nn__graph_keep_grads(nn_graph *g, float *keep);

/* The table, indexed by nn_op. */
const nn__op *nn__op_get(nn_op op);

extern const nn__op nn__op_dense, nn__op_relu, nn__op_leaky_relu, nn__op_sigmoid, nn__op_tanh,
    nn__op_softmax, nn__op_add, nn__op_sub, nn__op_mul, nn__op_concat, nn__op_slice,
    nn__op_reshape, nn__op_flatten, nn__op_embedding, nn__op_layernorm, nn__op_batchnorm,
    nn__op_dropout, nn__op_conv1d, nn__op_conv2d, nn__op_maxpool, nn__op_avgpool,
    nn__op_global_avgpool;

/* Fail with field "nodes[i]" or "nodes[i].<attr>" (attr NULL or "") and the
 * message "<field>: <text>". @return status */
int nn__graph_fail(nn_error *err, int status, const nn__gnode *node, const char *attr,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "nodes[i].inputs[j]: shape [a] does not match [b]" with NN_ESHAPE. */
int nn__graph_mismatch(nn_error *err, const nn__gnode *node, int j, const nn_shape *want);

/* Resolve a pair attribute: p[1] == 0 copies p[0], p[0] == 0 takes def. */
void nn__graph_pair(int *p, int def);

/* Dense-style initialisation of w (n,) with fan_in/fan_out (init resolved
 * from act when auto), as core/model.c's. */
void nn__graph_init_weights(float *w, size_t n, int fan_in, int fan_out, nn_init init,
                            nn_act act, nn__rng *r);

#endif /* NN_GRAPH_H */
