/*
 * op_act.c — the activations as ops, over the last axis (softmax normalizes
 * each of its rows): relu, leaky_relu, sigmoid, tanh, softmax. They run
 * core/act.c's passes with a zero bias, so y = act(x) to the bit, and the
 * backward works from the outputs as there. Scratch: the zero bias and the
 * bias gradient act.c's backward also produces, (last axis,) each. The bias
 * is zeroed by every forward pass: an inference's workspace is the caller's
 * (nn__graph_infer), and holds whatever its last use left.
 */
#include <string.h>

#include "graph.h"

static nn_act act_of(nn_op op) {
  switch (op) {
  case NN_OP_RELU: return NN_ACT_RELU;
  case NN_OP_LEAKY_RELU: return NN_ACT_LEAKY_RELU;
  case NN_OP_SIGMOID: return NN_ACT_SIGMOID;
  case NN_OP_TANH: return NN_ACT_TANH;
  default: return NN_ACT_SOFTMAX;
  }
}

static int infer(nn__gnode *n, nn_error *err) {
  if (n->s.op == NN_OP_LEAKY_RELU && !(n->s.slope >= 0.0f && n->s.slope < 1.0f))
    return nn__graph_fail(err, NN_EINVAL, n, "slope", "must be in [0, 1)");
  n->y = n->in[0];
  n->geo[0] = n->y.dim[n->y.rank - 1]; /* cols */
  n->scratch_fixed = 2 * (size_t)n->geo[0];
  return NN_OK;
}

static int forward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  size_t cols = (size_t)n->geo[0], rows = c->n * nn_shape_size(&n->y) / cols;
  /* y = act(x + 0) */
  memset(c->scratch, 0, cols * sizeof(float));
  nn__act_forward(c->pool, act_of(n->s.op), n->s.slope, c->x[0], c->scratch, c->y, rows,
                  (int)cols);
  return NN_OK;
}

static void backward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  if (c->dx[0] == NULL) return;
  size_t cols = (size_t)n->geo[0], rows = c->n * nn_shape_size(&n->y) / cols;
  memcpy(c->dx[0], c->dy, rows * cols * sizeof(float));
  /* dx = dy act'(y), from the outputs */
  nn__act_backward(c->pool, act_of(n->s.op), n->s.slope, c->y, c->dx[0], c->scratch + cols,
                   rows, (int)cols);
}

const nn__op nn__op_relu = {"relu", 1, 1, 0, infer, NULL, forward, backward};
const nn__op nn__op_leaky_relu = {"leaky_relu", 1, 1, 0, infer, NULL, forward, backward};
const nn__op nn__op_sigmoid = {"sigmoid", 1, 1, 0, infer, NULL, forward, backward};
const nn__op nn__op_tanh = {"tanh", 1, 1, 0, infer, NULL, forward, backward};
const nn__op nn__op_softmax = {"softmax", 1, 1, 0, infer, NULL, forward, backward};
