/*
 * op_dropout.c — inverted dropout as an op, through core/dropout.c: in a
 * training pass with a generator each unit is kept with probability
 * 1 - rate and scaled by 1/(1 - rate), the mask (kept in scratch) drawn
 * from the caller's generator in row order, so a pass is reproducible from
 * its generator's state; otherwise the identity.
 */
#include <string.h>

#include "graph.h"

static int infer(nn__gnode *n, nn_error *err) {
  if (!(n->s.rate >= 0.0f && n->s.rate < 1.0f))
    return nn__graph_fail(err, NN_EINVAL, n, "rate", "must be in [0, 1)");
  n->y = n->in[0];
  n->scratch_row = nn_shape_size(&n->y);
  return NN_OK;
}

static int forward(nn__opctx *c) {
  size_t z = nn_shape_size(&c->node->y);
  /* y = x mask, mask = 0 with probability rate, else 1/(1 - rate) */
  nn__dropout_forward(c->node->s.rate, c->x[0], c->y, c->scratch, c->n, (int)z,
                      c->rng);
  return NN_OK;
}

static void backward(nn__opctx *c) {
  if (c->dx[0] == NULL) return;
  size_t z = nn_shape_size(&c->node->y);
  memcpy(c->dx[0], c->dy, c->n * z * sizeof(float));
  /* dx = dy mask */
  if (c->masks) nn__dropout_backward(c->dx[0], c->scratch, c->n, (int)z);
}

const nn__op nn__op_dropout = {"dropout", 1, 1, 0, infer, NULL, forward, backward};
