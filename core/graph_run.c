/*
 * graph_run.c — the passes over a compiled graph, and what they leave to
 * read. Forward runs the nodes in topological order, each op reading its
 * inputs' values and writing its output; backward runs them in reverse,
 * each op turning its output's gradient into its inputs' and its
 * parameters'. Ops overwrite what they write: the second and later readers
 * of a value (in backward order) write into an accumulation buffer that is
 * then added to the value's gradient, dL/dv = sum over readers r of
 * dL/dr dr/dv, the multivariate chain rule. Which reader writes where was
 * planned at compile time (graph.c), so a pass only follows offsets and
 * allocates nothing.
 */
#include <assert.h>
#include <string.h>

#include "graph.h"

/* The values of the last forward: the caller's for inputs. */
static const float *value(const nn_graph *g, int v) {
  return v < g->spec.n_inputs ? g->in[v] : g->ws + g->val_off[v];
}

static void context(nn_graph *g, const nn__gnode *n, nn__opctx *c) {
  memset(c, 0, sizeof *c);
  c->node = n;
  c->n = g->n;
  for (int j = 0; j < n->n_args; j++) c->x[j] = value(g, n->arg[j]);
  int v = g->spec.n_inputs + n->index;
  c->y = g->ws + g->val_off[v];
  c->w = g->params + n->p_off;
  c->dw = g->grads + n->p_off;
  c->state = g->state + n->s_off;
  c->scratch = g->ws + n->scratch_off;
  c->train = g->train;
  c->masks = g->masks;
  c->pool = g->pool;
}

void nn__graph_set_pool(nn_graph *g, nn__pool *pool) { g->pool = pool; }

void nn__graph_keep_grads(nn_graph *g, float *keep) { g->keep = keep; }

/* The nodes in order over the workspace ws, inputs in: what a context needs
 * from g is read-only in evaluation mode, so nn__graph_infer shares g. */
static int run_forward(const nn_graph *g, float *ws, const float *const *in, size_t n,
                       int train, int masks, nn__rng *rng, nn__pool *pool) {
  for (int k = 0; k < g->spec.n_nodes; k++) {
    const nn__gnode *node = &g->nodes[g->order[k]];
    nn__opctx c;
    memset(&c, 0, sizeof c);
    c.node = node;
    c.n = n;
    for (int j = 0; j < node->n_args; j++) {
      int v = node->arg[j];
      c.x[j] = v < g->spec.n_inputs ? in[v] : ws + g->val_off[v];
    }
    c.y = ws + g->val_off[g->spec.n_inputs + node->index];
    c.w = g->params + node->p_off;
    c.state = g->state + node->s_off; /* written in training mode only */
    c.scratch = ws + node->scratch_off;
    c.train = train;
    c.masks = masks;
    c.pool = pool;
    c.rng = masks ? rng : NULL;
    int rc = node->op->forward(&c);
    if (rc != NN_OK) return rc;
  }
  return NN_OK;
}

int nn_graph_forward(nn_graph *g, const float *const *inputs, size_t n, int train,
                     nn__rng *rng) {
  if (n < 1 || n > g->max_rows) return NN_ERANGE;
  for (int i = 0; i < g->spec.n_inputs; i++) g->in[i] = inputs[i];
  g->n = n;
  g->train = train;
  g->masks = train && rng != NULL;
  int rc = run_forward(g, g->ws, g->in, n, train, g->masks, rng, g->pool);
  if (rc != NN_OK) g->n = 0; /* no backward of a pass that did not finish */
  return rc;
}

const float *nn__graph_infer(const nn_graph *g, float *ws, const float *const *inputs, size_t n,
                             int *rc) {
  assert(n >= 1 && n <= g->max_rows);
  *rc = run_forward(g, ws, inputs, n, 0, 0, NULL, NULL);
  if (*rc != NN_OK) return NULL;
  int v = g->output;
  return v < g->spec.n_inputs ? inputs[v] : ws + g->val_off[v];
}

const float *nn_graph_value(const nn_graph *g, int v) {
  assert(v >= 0 && v < g->n_values);
  return value(g, v);
}

int nn_graph_backward(nn_graph *g, const float *dout, int input_grads) {
  if (g->n == 0 || g->infer) return NN_EINVAL;
  size_t n = g->n, ni = (size_t)g->spec.n_inputs;
  size_t out_floats = n * nn_shape_size(&g->shape[g->output]);
  memcpy(g->ws + g->grad_off[g->output], dout, out_floats * sizeof(float));
  /* inputs no live node reads have a zero gradient */
  for (size_t v = 0; v < ni; v++)
    if (!g->has_grad[v] && input_grads)
      memset(g->ws + g->grad_off[v], 0, n * nn_shape_size(&g->shape[v]) * sizeof(float));
  for (int k = g->spec.n_nodes - 1; k >= 0; k--) {
    const nn__gnode *node = &g->nodes[g->order[k]];
    if (!node->live) { /* the output does not depend on its parameters */
      memset(g->grads + node->p_off, 0, node->n_params * sizeof(float));
      continue;
    }
    nn__opctx c;
    context(g, node, &c);
    c.dy = g->ws + g->grad_off[ni + (size_t)node->index];
    if (g->keep != NULL) { /* the op overwrites a copy, the gradient stays */
      memcpy(g->keep, c.dy, n * nn_shape_size(&node->y) * sizeof(float));
      c.dy = g->keep;
    }
    for (int j = 0; j < node->n_args; j++) {
      int v = node->arg[j];
      if ((node->op->no_grad_args >> j & 1) || ((size_t)v < ni && !input_grads))
        c.dx[j] = NULL;
      else if (node->acc[j] < 0)
        c.dx[j] = g->ws + g->grad_off[v];
      else
        c.dx[j] = g->ws + g->tmp_off + (size_t)node->acc[j] * g->tmp_size;
    }
    node->op->backward(&c);
    /* dL/dv += this reader's share */
    for (int j = 0; j < node->n_args; j++) {
      if (node->acc[j] < 0 || c.dx[j] == NULL) continue;
      float *dv = g->ws + g->grad_off[node->arg[j]];
      size_t count = n * nn_shape_size(&node->in[j]);
      assert(count <= g->tmp_size);
      for (size_t i = 0; i < count; i++) dv[i] += c.dx[j][i];
    }
  }
  return NN_OK;
}

const float *nn_graph_value_grad(const nn_graph *g, int v) {
  assert(v >= 0 && v < g->n_values);
  if (!g->has_grad[v] && v >= g->spec.n_inputs) return NULL;
  for (int i = 0; i < g->spec.n_nodes && v < g->spec.n_inputs; i++) {
    const nn__gnode *n = &g->nodes[i]; /* codes take no gradient */
    for (int j = 0; j < n->n_args; j++)
      if (n->arg[j] == v && (n->op->no_grad_args >> j & 1)) return NULL;
  }
  return g->ws + g->grad_off[v];
}

int nn_graph_find(const nn_graph *g, const char *name) {
  for (int i = 0; i < g->spec.n_inputs; i++)
    if (strcmp(g->spec.input_names[i], name) == 0) return i;
  for (int i = 0; i < g->spec.n_nodes; i++)
    if (strcmp(g->spec.nodes[i].name, name) == 0) return g->spec.n_inputs + i;
  return NN_EINVAL;
}

const char *nn_graph_input_name(const nn_graph *g, int i) {
  assert(i >= 0 && i < g->spec.n_inputs);
  return g->spec.input_names[i];
}

int nn_graph_values(const nn_graph *g) { return g->n_values; }

const nn_shape *nn_graph_shape(const nn_graph *g, int v) {
  assert(v >= 0 && v < g->n_values);
  return &g->shape[v];
}

int nn_graph_output(const nn_graph *g) { return g->output; }

const int *nn_graph_order(const nn_graph *g) { return g->order; }

size_t nn_graph_param_count(const nn_graph *g) { return g->n_params; }

float *nn_graph_params(nn_graph *g) { return g->params; }

const float *nn_graph_grads(const nn_graph *g) { return g->grads; }

void nn_graph_node_params(const nn_graph *g, int node, size_t *off, size_t *count) {
  assert(node >= 0 && node < g->spec.n_nodes);
  *off = g->nodes[node].p_off;
  *count = g->nodes[node].n_params;
}

void nn_graph_node_state(const nn_graph *g, int node, size_t *off, size_t *count) {
  assert(node >= 0 && node < g->spec.n_nodes);
  *off = g->nodes[node].s_off;
  *count = g->nodes[node].n_state;
}

const nn_node_spec *nn_graph_node(const nn_graph *g, int node) {
  assert(node >= 0 && node < g->spec.n_nodes);
  return &g->nodes[node].s;
}

int nn_graph_nodes(const nn_graph *g) { return g->spec.n_nodes; }

size_t nn_graph_state_count(const nn_graph *g) { return g->n_state; }

float *nn_graph_state(nn_graph *g) { return g->state; }
