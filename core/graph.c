/*
 * graph.c — compiling a graph spec: names resolved, nodes ordered, shapes
 * inferred, buffers laid out. Everything a pass needs to know is decided
 * here, once, so forward and backward (graph_run.c) only follow offsets.
 *
 * Order: Kahn's algorithm over the nodes, ties broken by spec order, so a
 * spec already in order runs in its own order. A node left over sits on a
 * cycle or behind one; a walk along its inputs among the left-over nodes
 * finds the cycle, which the error spells out ("a -> b -> a").
 *
 * Memory: parameters (P,) and gradients (P,) are one block each, node by
 * node in spec order; running statistics another. The workspace is one
 * block: for every value its (max_rows, size) output and gradient (inputs
 * hold only a gradient: their values are the caller's), then every node's
 * scratch, then the accumulation buffers. Costs: O(nodes^2) at compile for
 * the name lookups, nothing per pass.
 */
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define INIT_STREAM 0x67726170ull /* generator stream of weight initialisation */

static const nn__op *const ops[NN_OP_COUNT] = {
    [NN_OP_DENSE] = &nn__op_dense,         [NN_OP_RELU] = &nn__op_relu,
    [NN_OP_LEAKY_RELU] = &nn__op_leaky_relu, [NN_OP_SIGMOID] = &nn__op_sigmoid,
    [NN_OP_TANH] = &nn__op_tanh,           [NN_OP_SOFTMAX] = &nn__op_softmax,
    [NN_OP_ADD] = &nn__op_add,             [NN_OP_SUB] = &nn__op_sub,
    [NN_OP_MUL] = &nn__op_mul,             [NN_OP_CONCAT] = &nn__op_concat,
    [NN_OP_SLICE] = &nn__op_slice,         [NN_OP_RESHAPE] = &nn__op_reshape,
    [NN_OP_FLATTEN] = &nn__op_flatten,     [NN_OP_EMBEDDING] = &nn__op_embedding,
    [NN_OP_LAYERNORM] = &nn__op_layernorm, [NN_OP_BATCHNORM] = &nn__op_batchnorm,
    [NN_OP_DROPOUT] = &nn__op_dropout,     [NN_OP_CONV1D] = &nn__op_conv1d,
    [NN_OP_CONV2D] = &nn__op_conv2d,       [NN_OP_MAXPOOL] = &nn__op_maxpool,
    [NN_OP_AVGPOOL] = &nn__op_avgpool,     [NN_OP_GLOBAL_AVGPOOL] = &nn__op_global_avgpool,
};

const nn__op *nn__op_get(nn_op op) {
  return (unsigned)op < NN_OP_COUNT ? ops[op] : NULL;
}

const char *nn_op_name(nn_op op) {
  const nn__op *o = nn__op_get(op);
  return o != NULL ? o->name : NULL;
}

int nn_op_parse(const char *s, nn_op *op) {
  for (int i = 0; i < NN_OP_COUNT; i++)
    if (strcmp(ops[i]->name, s) == 0) {
      *op = (nn_op)i;
      return NN_OK;
    }
  return NN_EINVAL;
}

void nn_node_spec_defaults(nn_node_spec *n) {
  memset(n, 0, sizeof *n);
  n->slope = 0.01f;
  n->eps = 1e-5f;
  n->momentum = 0.1f;
}

size_t nn_shape_size(const nn_shape *s) {
  size_t z = 1;
  for (int i = 0; i < s->rank; i++) z *= (size_t)s->dim[i];
  return z;
}

void nn_shape_format(const nn_shape *s, char *buf, size_t len) {
  size_t at = 0;
  at += (size_t)snprintf(buf, len, "[");
  for (int i = 0; i < s->rank && at < len; i++)
    at += (size_t)snprintf(buf + at, len - at, i ? ", %d" : "%d", s->dim[i]);
  if (at < len) snprintf(buf + at, len - at, "]");
}

/* ---- errors ------------------------------------------------------------------ */

int nn__graph_fail(nn_error *err, int status, const nn__gnode *node, const char *attr,
                   const char *fmt, ...) {
  char field[64], text[160];
  if (attr != NULL && attr[0] != '\0')
    snprintf(field, sizeof field, "nodes[%d].%s", node->index, attr);
  else
    snprintf(field, sizeof field, "nodes[%d]", node->index);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  return nn__fail(err, status, field, "%s: %s", field, text);
}

int nn__graph_mismatch(nn_error *err, const nn__gnode *node, int j, const nn_shape *want) {
  char attr[32], a[64], b[64];
  snprintf(attr, sizeof attr, "inputs[%d]", j);
  nn_shape_format(&node->in[j], a, sizeof a);
  nn_shape_format(want, b, sizeof b);
  return nn__graph_fail(err, NN_ESHAPE, node, attr, "shape %s does not match %s", a, b);
}

void nn__graph_pair(int *p, int def) {
  if (p[0] == 0) p[0] = def;
  if (p[1] == 0) p[1] = p[0];
}

/* ---- checking the spec --------------------------------------------------------- */

static int name_ok(const char *s) {
  return memchr(s, '\0', NN_GRAPH_NAME) != NULL && s[0] != '\0';
}

/* The value named s among the inputs and the nodes, or -1. */
static int lookup(const nn_graph_spec *spec, const char *s) {
  for (int i = 0; i < spec->n_inputs; i++)
    if (strcmp(spec->input_names[i], s) == 0) return i;
  for (int i = 0; i < spec->n_nodes; i++)
    if (strcmp(spec->nodes[i].name, s) == 0) return spec->n_inputs + i;
  return -1;
}

static int check_inputs(const nn_graph_spec *spec, nn_error *err) {
  char field[64];
  if (spec->n_inputs < 1 || spec->n_inputs > NN_GRAPH_MAX_INPUTS)
    return nn__fail(err, NN_EINVAL, "inputs", "inputs: a graph has 1 to %d inputs",
                    NN_GRAPH_MAX_INPUTS);
  for (int i = 0; i < spec->n_inputs; i++) {
    snprintf(field, sizeof field, "inputs[%d]", i);
    if (!name_ok(spec->input_names[i]))
      return nn__fail(err, NN_EINVAL, field, "%s: a name has 1 to %d bytes", field,
                      NN_GRAPH_NAME - 1);
    if (lookup(spec, spec->input_names[i]) != i)
      return nn__fail(err, NN_EINVAL, field, "%s: the name \"%s\" is used twice", field,
                      spec->input_names[i]);
    const nn_shape *s = &spec->input_shapes[i];
    if (s->rank < 1 || s->rank > NN_GRAPH_MAX_RANK)
      return nn__fail(err, NN_EINVAL, field, "%s: a shape has 1 to %d dimensions", field,
                      NN_GRAPH_MAX_RANK);
    size_t z = 1;
    for (int d = 0; d < s->rank; d++) {
      if (s->dim[d] < 1 || s->dim[d] > NN_GRAPH_MAX_VALUE)
        return nn__fail(err, NN_EINVAL, field, "%s: dimensions must be positive", field);
      z *= (size_t)s->dim[d];
      if (z > NN_GRAPH_MAX_VALUE)
        return nn__fail(err, NN_ERANGE, field, "%s: a row holds at most %d values", field,
                        NN_GRAPH_MAX_VALUE);
    }
  }
  return NN_OK;
}

/* Names and arities of the nodes; arg values resolved into g->nodes. */
static int check_nodes(const nn_graph_spec *spec, nn__gnode *nodes, nn_error *err) {
  char field[64];
  if (spec->n_nodes < 1 || spec->n_nodes > NN_GRAPH_MAX_NODES)
    return nn__fail(err, NN_EINVAL, "nodes", "nodes: a graph has 1 to %d nodes",
                    NN_GRAPH_MAX_NODES);
  for (int i = 0; i < spec->n_nodes; i++) { /* every name is a string before any lookup */
    nodes[i].index = i;
    if (!name_ok(spec->nodes[i].name))
      return nn__graph_fail(err, NN_EINVAL, &nodes[i], "name", "a name has 1 to %d bytes",
                            NN_GRAPH_NAME - 1);
  }
  for (int i = 0; i < spec->n_nodes; i++) {
    const nn_node_spec *s = &spec->nodes[i];
    nn__gnode *n = &nodes[i];
    n->s = *s;
    if (lookup(spec, s->name) != spec->n_inputs + i)
      return nn__graph_fail(err, NN_EINVAL, n, "name", "the name \"%s\" is used twice",
                            s->name);
    const nn__op *op = nn__op_get(s->op);
    if (op == NULL) return nn__graph_fail(err, NN_EINVAL, n, "op", "not a known op");
    if (s->n_inputs < op->min_args || s->n_inputs > op->max_args) {
      if (op->min_args == op->max_args)
        return nn__graph_fail(err, NN_EINVAL, n, "inputs", "%s takes %d input%s", op->name,
                              op->min_args, op->min_args > 1 ? "s" : "");
      return nn__graph_fail(err, NN_EINVAL, n, "inputs", "%s takes %d to %d inputs", op->name,
                            op->min_args, op->max_args);
    }
    n->n_args = s->n_inputs;
    for (int j = 0; j < s->n_inputs; j++) {
      snprintf(field, sizeof field, "inputs[%d]", j);
      if (!name_ok(s->inputs[j]))
        return nn__graph_fail(err, NN_EINVAL, n, field, "a name has 1 to %d bytes",
                              NN_GRAPH_NAME - 1);
      n->arg[j] = lookup(spec, s->inputs[j]);
      if (n->arg[j] < 0)
        return nn__graph_fail(err, NN_EINVAL, n, field, "unknown name \"%s\"", s->inputs[j]);
    }
  }
  return NN_OK;
}

/* Topological order into order (n_nodes,), or the cycle as an error. */
static int sort(const nn_graph_spec *spec, const nn__gnode *nodes, int *order, nn_error *err) {
  int n = spec->n_nodes, ni = spec->n_inputs, done = 0;
  unsigned char placed[NN_GRAPH_MAX_NODES] = {0};
  while (done < n) {
    int found = -1;
    for (int i = 0; i < n && found < 0; i++) {
      if (placed[i]) continue;
      int ready = 1;
      for (int j = 0; j < nodes[i].n_args && ready; j++)
        ready = nodes[i].arg[j] < ni || placed[nodes[i].arg[j] - ni];
      if (ready) found = i;
    }
    if (found < 0) break;
    placed[found] = 1;
    order[done++] = found;
  }
  if (done == n) return NN_OK;
  /* Walk back along unplaced inputs from an unplaced node: every unplaced
   * node has one, so within n steps the walk repeats a node. */
  int at = 0, step[NN_GRAPH_MAX_NODES + 1], via[NN_GRAPH_MAX_NODES + 1];
  while (placed[at]) at++;
  int seen[NN_GRAPH_MAX_NODES];
  for (int i = 0; i < n; i++) seen[i] = -1;
  int len = 0;
  while (seen[at] < 0) {
    seen[at] = len;
    step[len] = at;
    int j = 0;
    while (nodes[at].arg[j] < ni || placed[nodes[at].arg[j] - ni]) j++;
    via[len++] = j;
    at = nodes[at].arg[j] - ni;
  }
  /* step[seen[at]] .. step[len - 1] is the cycle, each reading the next:
   * values flow from at through step[len - 1] down to step[seen[at]] == at */
  char path[128];
  size_t used = (size_t)snprintf(path, sizeof path, "%s", spec->nodes[at].name);
  for (int k = len - 1; k >= seen[at] && used < sizeof path; k--)
    used += (size_t)snprintf(path + used, sizeof path - used, " -> %s",
                             spec->nodes[step[k]].name);
  char field[32];
  snprintf(field, sizeof field, "inputs[%d]", via[seen[at]]);
  return nn__graph_fail(err, NN_EINVAL, &nodes[at], field, "cycle: %s", path);
}

/* ---- layout -------------------------------------------------------------------- */

/* a += b, unless it overflows: then *bad is set */
static size_t add(size_t a, size_t b, int *bad) {
  if (a > SIZE_MAX - b) *bad = 1;
  return a + b;
}

static size_t mul(size_t a, size_t b, int *bad) {
  if (b != 0 && a > SIZE_MAX / b) *bad = 1;
  return a * b;
}

/* Which nodes the output depends on, and where each arg's gradient goes. */
static void plan_backward(nn_graph *g) {
  int nv = g->n_values, ni = g->spec.n_inputs;
  unsigned char need[NN_GRAPH_MAX_NODES + NN_GRAPH_MAX_INPUTS] = {0};
  unsigned char written[NN_GRAPH_MAX_NODES + NN_GRAPH_MAX_INPUTS] = {0};
  need[g->output] = 1;
  written[g->output] = 1; /* the caller's dLoss/dOutput */
  g->n_tmp = 0;
  for (int k = g->spec.n_nodes - 1; k >= 0; k--) {
    nn__gnode *n = &g->nodes[g->order[k]];
    n->live = need[ni + n->index];
    int tmps = 0;
    for (int j = 0; j < n->n_args; j++) {
      n->acc[j] = -1;
      if (!n->live || (n->op->no_grad_args >> j & 1)) continue;
      int v = n->arg[j];
      need[v] = 1;
      if (written[v])
        n->acc[j] = tmps++; /* a second reader: its share is added to the first's */
      written[v] = 1;
    }
    if (tmps > g->n_tmp) g->n_tmp = tmps;
  }
  for (int v = 0; v < nv; v++) g->has_grad[v] = written[v];
}

static int layout(nn_graph *g, nn_error *err) {
  int bad = 0;
  size_t rows = g->max_rows, P = 0, S = 0, W = 0, widest = 0;
  for (int v = 0; v < g->n_values; v++) {
    size_t z = nn_shape_size(&g->shape[v]);
    if (z > widest) widest = z;
    if (mul(rows, z, &bad) > INT_MAX) bad = 1; /* a batch's rows index ints in the products */
    if (v >= g->spec.n_inputs) { /* a node's output */
      g->val_off[v] = W;
      W = add(W, mul(rows, z, &bad), &bad);
    }
    g->grad_off[v] = W;
    if (!g->infer) W = add(W, mul(rows, z, &bad), &bad);
  }
  for (int i = 0; i < g->spec.n_nodes; i++) {
    nn__gnode *n = &g->nodes[i];
    n->p_off = P;
    P = add(P, n->n_params, &bad);
    n->s_off = S;
    S = add(S, n->n_state, &bad);
    n->scratch_off = W;
    W = add(W, add(n->scratch_fixed, mul(rows, n->scratch_row, &bad), &bad), &bad);
  }
  g->tmp_off = W;
  g->tmp_size = mul(rows, widest, &bad);
  if (g->infer) g->n_tmp = 0;
  W = add(W, mul((size_t)g->n_tmp, g->tmp_size, &bad), &bad);
  if (bad || P > NN_MAX_PARAMS || W > SIZE_MAX / sizeof(float) / 2)
    return nn__fail(err, NN_ERANGE, "nodes", "nodes: the graph is too large");
  g->n_params = P;
  g->n_state = S;
  g->ws_floats = W;
  /* the regions follow each other without overlap: values and gradients,
   * then scratch in node order, then the accumulation buffers */
  for (int i = 0; i < g->spec.n_nodes; i++) {
    const nn__gnode *n = &g->nodes[i];
    size_t end = n->scratch_off + n->scratch_fixed + rows * n->scratch_row;
    assert(n->scratch_off >= g->grad_off[g->n_values - 1] +
                                 (g->infer ? 0 : rows * nn_shape_size(&g->shape[g->n_values - 1])));
    assert(end <= (i + 1 < g->spec.n_nodes ? g->nodes[i + 1].scratch_off : g->tmp_off));
    assert(n->p_off + n->n_params <= P && n->s_off + n->n_state <= S);
  }
  assert(g->tmp_off + (size_t)g->n_tmp * g->tmp_size == W);
  return NN_OK;
}

static int allocate(nn_graph *g, nn_error *err) {
  if (!g->bound) {
    g->params = nn__alloc_big((g->n_params + 1) * sizeof(float));
    g->state = nn__alloc_big((g->n_state + 1) * sizeof(float));
  }
  if (!g->infer) g->grads = nn__alloc_big((g->n_params + 1) * sizeof(float));
  g->ws = nn__alloc_big((g->ws_floats + 1) * sizeof(float));
  if (g->params == NULL || (!g->infer && g->grads == NULL) || g->state == NULL || g->ws == NULL)
    return nn__fail(err, NN_ENOMEM, "", "cannot allocate the graph's buffers");
  return NN_OK;
}

/* Check, order, infer and lay out spec into g (allocated, zeroed). */
static int plan(nn_graph *g, const nn_graph_spec *spec, size_t max_rows, nn_error *err) {
  if (max_rows < 1 || max_rows > NN_MAX_BATCH)
    return nn__fail(err, NN_ERANGE, "", "a batch has 1 to %d rows", NN_MAX_BATCH);
  g->spec = *spec;
  g->max_rows = max_rows;
  int rc = check_inputs(spec, err);
  if (rc == NN_OK) rc = check_nodes(spec, g->nodes, err);
  if (rc == NN_OK) rc = sort(spec, g->nodes, g->order, err);
  if (rc != NN_OK) return rc;
  int ni = spec->n_inputs;
  g->n_values = ni + spec->n_nodes;
  g->output = name_ok(spec->output) ? lookup(spec, spec->output) : -1;
  if (g->output < 0)
    return nn__fail(err, NN_EINVAL, "output", "output: unknown name \"%.*s\"",
                    NN_GRAPH_NAME - 1, spec->output);
  for (int i = 0; i < ni; i++) g->shape[i] = spec->input_shapes[i];
  for (int k = 0; k < spec->n_nodes; k++) {
    nn__gnode *n = &g->nodes[g->order[k]];
    n->op = nn__op_get(n->s.op);
    for (int j = 0; j < n->n_args; j++) n->in[j] = g->shape[n->arg[j]];
    rc = n->op->infer(n, err);
    if (rc != NN_OK) return rc;
    /* infer leaves a valid shape of a bounded size */
    assert(n->y.rank >= 1 && n->y.rank <= NN_GRAPH_MAX_RANK);
    if (nn_shape_size(&n->y) > NN_GRAPH_MAX_VALUE)
      return nn__graph_fail(err, NN_ERANGE, n, NULL, "its output holds more than %d values",
                            NN_GRAPH_MAX_VALUE);
    g->shape[ni + n->index] = n->y;
  }
  plan_backward(g);
  return layout(g, err);
}

/* Initial parameters and state of a planned graph, from its spec's seed. */
static void init(const nn_graph *g, float *params, float *state) {
  nn__rng r;
  nn__rng_seed(&r, g->spec.seed, INIT_STREAM);
  for (int i = 0; i < g->spec.n_nodes; i++) {
    const nn__gnode *n = &g->nodes[i];
    if (n->op->init != NULL) n->op->init(n, params + n->p_off, state + n->s_off, &r);
  }
}

int nn__graph_init_params(const nn_graph_spec *spec, float *params, float *state,
                          nn_error *err) {
  nn_graph *g = calloc(1, sizeof *g);
  if (g == NULL) return nn__fail(err, NN_ENOMEM, "", "cannot allocate the graph");
  g->infer = 1;
  int rc = plan(g, spec, 1, err);
  if (rc == NN_OK) init(g, params, state);
  free(g);
  return rc;
}

int nn__graph_compile_with(const nn_graph_spec *spec, size_t max_rows, float *params,
                           float *state, int infer, nn_graph **out, nn_error *err) {
  *out = NULL;
  assert((params == NULL) == (state == NULL));
  nn_graph *g = calloc(1, sizeof *g);
  if (g == NULL) return nn__fail(err, NN_ENOMEM, "", "cannot allocate the graph");
  g->bound = params != NULL;
  g->params = params;
  g->state = state;
  g->infer = infer;
  int rc = plan(g, spec, max_rows, err);
  if (rc == NN_OK) rc = allocate(g, err);
  if (rc != NN_OK) goto fail;
  if (!g->bound) init(g, g->params, g->state);
  *out = g;
  return NN_OK;
fail:
  nn_graph_free(g);
  return rc;
}

int nn_graph_compile(const nn_graph_spec *spec, size_t max_rows, nn_graph **out, nn_error *err) {
  return nn__graph_compile_with(spec, max_rows, NULL, NULL, 0, out, err);
}

int nn__graph_measure(const nn_graph_spec *spec, size_t max_rows, int infer, nn__graph_size *out,
                      nn_error *err) {
  nn_graph *g = calloc(1, sizeof *g);
  if (g == NULL) return nn__fail(err, NN_ENOMEM, "", "cannot allocate the graph");
  g->infer = infer;
  int rc = plan(g, spec, max_rows, err);
  if (rc == NN_OK) {
    out->n_params = g->n_params;
    out->n_state = g->n_state;
    out->ws_floats = g->ws_floats;
    out->output = g->shape[g->output];
    for (int i = 0; i < spec->n_nodes; i++) out->node_size[i] = nn_shape_size(&g->nodes[i].y);
  }
  free(g);
  return rc;
}

/* A conv1d, or a pool over [C, L] rows: infer keeps its pairs as a 2-D op
 * of height 1 ({1, k}), where a spec gives the 1-D value first. */
static int one_dim(const nn__gnode *n) {
  nn_op op = n->s.op;
  return op == NN_OP_CONV1D ||
         ((op == NN_OP_MAXPOOL || op == NN_OP_AVGPOOL) && n->in[0].rank == 2);
}

/* A 1-D node's pairs as a spec writes them ({k, k}), so that resolving the
 * resolved spec again gives it back. */
static void spec_form(nn_node_spec *n) {
  int *pairs[] = {n->kernel, n->stride, n->padding, n->dilation, n->size};
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) pairs[i][0] = pairs[i][1];
}

int nn_graph_resolve(const nn_graph_spec *spec, nn_graph_spec *out, nn_error *err) {
  nn_graph *g = calloc(1, sizeof *g);
  if (g == NULL) return nn__fail(err, NN_ENOMEM, "", "cannot allocate the graph");
  g->infer = 1;
  int rc = plan(g, spec, 1, err);
  if (rc == NN_OK) {
    *out = *spec;
    for (int i = 0; i < spec->n_nodes; i++) {
      nn_node_spec *n = &out->nodes[i];
      *n = g->nodes[i].s;
      if (one_dim(&g->nodes[i])) spec_form(n);
    }
  }
  free(g);
  return rc;
}

void nn_graph_free(nn_graph *g) {
  if (g == NULL) return;
  if (!g->bound) {
    free(g->params);
    free(g->state);
  }
  free(g->grads);
  free(g->ws);
  free(g);
}
