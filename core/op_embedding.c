/*
 * op_embedding.c — a learned vector per category: codes of shape s (whole
 * numbers stored as floats, exact below 2^24) become rows of W
 * (categories, dim), shape s + [dim]. The codes take no gradient; W's is
 * the sum of the gradients of the rows that looked each code up.
 */
#include <math.h>
#include <string.h>

#include "graph.h"

static int infer(nn__gnode *n, nn_error *err) {
  if (n->s.categories < 1 || n->s.categories > NN_MAX_UNITS)
    return nn__graph_fail(err, NN_EINVAL, n, "categories", "must be an integer in 1..%d",
                          NN_MAX_UNITS);
  if (n->s.dim < 1 || n->s.dim > NN_MAX_UNITS)
    return nn__graph_fail(err, NN_EINVAL, n, "dim", "must be an integer in 1..%d", NN_MAX_UNITS);
  if (n->in[0].rank >= NN_GRAPH_MAX_RANK)
    return nn__graph_fail(err, NN_ESHAPE, n, "inputs[0]", "codes have at most %d dimensions",
                          NN_GRAPH_MAX_RANK - 1);
  n->y = n->in[0];
  n->y.dim[n->y.rank++] = n->s.dim;
  n->n_params = (size_t)n->s.categories * (size_t)n->s.dim;
  return NN_OK;
}

/* W ~ N(0, 1), as PyTorch's nn.Embedding */
static void init(const nn__gnode *n, float *w, float *state, nn__rng *r) {
  (void)state;
  for (size_t i = 0; i < n->n_params; i++) w[i] = nn__rng_normal(r);
}

static int forward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  size_t codes = c->n * nn_shape_size(&n->in[0]), dim = (size_t)n->s.dim;
  for (size_t i = 0; i < codes; i++) {
    float v = c->x[0][i];
    if (!(v >= 0.0f && v < (float)n->s.categories) || v != floorf(v)) return NN_EINVAL;
    /* y_i = W[code_i] */
    memcpy(c->y + i * dim, c->w + (size_t)v * dim, dim * sizeof(float));
  }
  return NN_OK;
}

static void backward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  size_t codes = c->n * nn_shape_size(&n->in[0]), dim = (size_t)n->s.dim;
  memset(c->dw, 0, n->n_params * sizeof(float));
  for (size_t i = 0; i < codes; i++) {
    /* dW[code_i] += dy_i */
    float *dw = c->dw + (size_t)c->x[0][i] * dim;
    const float *dy = c->dy + i * dim;
    for (size_t k = 0; k < dim; k++) dw[k] += dy[k];
  }
}

const nn__op nn__op_embedding = {"embedding", 1, 1, 1, infer, init, forward, backward};
