/*
 * op_dense.c — the dense op: Y = act(X W^T + b) over the last axis of X,
 * W (units, in) as PyTorch's nn.Linear. It is the layer list's dense layer
 * (core/dense.c), called with the same products, so a chain of them
 * computes what nn_model computes. Leading axes of X are rows of the
 * product: a [k, in] input is k rows of in.
 */
#include <math.h>

#include "graph.h"

/* geo: [0] in, [1] rows per batch row */
enum { IN, LEAD };

static int infer(nn__gnode *n, nn_error *err) {
  const nn_node_spec *s = &n->s;
  if (s->units < 1 || s->units > NN_MAX_UNITS)
    return nn__graph_fail(err, NN_EINVAL, n, "units", "must be an integer in 1..%d",
                          NN_MAX_UNITS);
  if ((unsigned)s->activation > NN_ACT_SOFTMAX)
    return nn__graph_fail(err, NN_EINVAL, n, "activation", "not a known activation");
  if (!(s->slope >= 0.0f && s->slope < 1.0f))
    return nn__graph_fail(err, NN_EINVAL, n, "slope", "must be in [0, 1)");
  if ((unsigned)s->init > NN_INIT_HE)
    return nn__graph_fail(err, NN_EINVAL, n, "init", "not a known initialisation");
  const nn_shape *x = &n->in[0];
  n->geo[IN] = x->dim[x->rank - 1];
  n->geo[LEAD] = (int)(nn_shape_size(x) / (size_t)n->geo[IN]);
  n->y = *x;
  n->y.dim[x->rank - 1] = s->units;
  n->n_params = (size_t)s->units * (size_t)n->geo[IN] + (size_t)s->units;
  return NN_OK;
}

void nn__graph_init_weights(float *w, size_t count, int fan_in, int fan_out, nn_init init,
                            nn_act act, nn__rng *r) {
  if (init == NN_INIT_AUTO)
    init = act == NN_ACT_RELU || act == NN_ACT_LEAKY_RELU ? NN_INIT_HE : NN_INIT_XAVIER;
  nn__init_weights(w, count, fan_in, fan_out, init, r);
}

static void init(const nn__gnode *n, float *w, float *state, nn__rng *r) {
  (void)state;
  nn__graph_init_weights(w, (size_t)n->s.units * (size_t)n->geo[IN], n->geo[IN], n->s.units,
                         n->s.init, n->s.activation, r);
}

static nn_layer_spec layer(const nn__gnode *n) {
  nn_layer_spec l;
  nn_layer_spec_defaults(&l);
  l.units = n->s.units;
  l.act = n->s.activation;
  l.slope = n->s.slope;
  return l;
}

static int forward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  nn_layer_spec l = layer(n);
  int in = n->geo[IN], out = n->s.units;
  /* Y = act(X W^T + b) */
  nn__dense_forward(c->pool, &l, c->w, c->w + (size_t)out * in, c->x[0], c->y, NULL,
                    c->n * (size_t)n->geo[LEAD], in, out);
  return NN_OK;
}

static void backward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  nn_layer_spec l = layer(n);
  int in = n->geo[IN], out = n->s.units;
  /* dZ = dY act'(Y), db = sum dZ, dW = dZ^T X, dX = dZ W */
  nn__dense_backward(c->pool, &l, c->w, c->x[0], c->y, c->dy, c->dw, c->dw + (size_t)out * in,
                     c->dx[0], c->n * (size_t)n->geo[LEAD], in, out, 0);
}

const nn__op nn__op_dense = {"dense", 1, 1, 0, infer, init, forward, backward};
