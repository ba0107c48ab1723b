/*
 * op_pool.c — pooling over windows of size (kh, kw) moved by stride, no
 * padding, per channel of [C, L] (a height of 1) or [C, H, W] rows:
 * maxpool (the gradient goes to the window's largest input, the first on a
 * tie; its index kept in scratch, exact as a float below 2^24), avgpool
 * (spread evenly over the window), and global average pooling [C, ...] ->
 * [C].
 */
#include <string.h>

#include "graph.h"

enum { C, H, W, KH, KW, SH, SW, HO, WO };

static int infer(nn__gnode *n, nn_error *err) {
  nn_node_spec *s = &n->s;
  const nn_shape *x = &n->in[0];
  if (x->rank != 2 && x->rank != 3)
    return nn__graph_fail(err, NN_ESHAPE, n, "inputs[0]", "pools read rows of [C, L] or [C, H, W]");
  int two = x->rank == 3;
  if (!two) {
    s->size[1] = s->size[0], s->size[0] = 1;
    s->stride[1] = s->stride[0] ? s->stride[0] : s->size[1], s->stride[0] = 1;
  } else {
    if (s->size[1] == 0) s->size[1] = s->size[0];
    if (s->stride[0] == 0) s->stride[0] = s->size[0];
    if (s->stride[1] == 0) s->stride[1] = s->stride[0] == s->size[0] ? s->size[1] : s->stride[0];
  }
  int *g = n->geo;
  g[C] = x->dim[0], g[H] = two ? x->dim[1] : 1, g[W] = x->dim[two ? 2 : 1];
  g[KH] = s->size[0], g[KW] = s->size[1], g[SH] = s->stride[0], g[SW] = s->stride[1];
  if (g[KH] < 1 || g[KW] < 1 || g[KH] > g[H] || g[KW] > g[W])
    return nn__graph_fail(err, NN_EINVAL, n, "size", "must be positive and fit the input");
  if (g[SH] < 1 || g[SW] < 1)
    return nn__graph_fail(err, NN_EINVAL, n, "stride", "must be positive");
  g[HO] = (g[H] - g[KH]) / g[SH] + 1, g[WO] = (g[W] - g[KW]) / g[SW] + 1;
  n->y = two ? (nn_shape){3, {g[C], g[HO], g[WO]}} : (nn_shape){2, {g[C], g[WO]}};
  if (s->op == NN_OP_MAXPOOL) n->scratch_row = nn_shape_size(&n->y);
  return NN_OK;
}

static int forward(nn__opctx *c) {
  const int *g = c->node->geo;
  int max = c->node->s.op == NN_OP_MAXPOOL;
  size_t zx = nn_shape_size(&c->node->in[0]);
  float inv = 1.0f / (float)(g[KH] * g[KW]);
  float *y = c->y, *arg = c->scratch;
  for (size_t r = 0; r < c->n; r++)
    for (int ch = 0; ch < g[C]; ch++) {
      const float *x = c->x[0] + r * zx + (size_t)ch * g[H] * g[W];
      for (int oh = 0; oh < g[HO]; oh++)
        for (int ow = 0; ow < g[WO]; ow++) {
          int best = (oh * g[SH]) * g[W] + ow * g[SW];
          float acc = 0.0f;
          for (int i = 0; i < g[KH]; i++)
            for (int j = 0; j < g[KW]; j++) {
              int at = (oh * g[SH] + i) * g[W] + ow * g[SW] + j;
              if (x[at] > x[best]) best = at;
              acc += x[at];
            }
          if (max) { /* y = max over the window */
            *y++ = x[best];
            *arg++ = (float)(best + ch * g[H] * g[W]);
          } else { /* y = mean over the window */
            *y++ = acc * inv;
          }
        }
    }
  return NN_OK;
}

static void backward(nn__opctx *c) {
  const int *g = c->node->geo;
  if (c->dx[0] == NULL) return;
  int max = c->node->s.op == NN_OP_MAXPOOL;
  size_t zx = nn_shape_size(&c->node->in[0]);
  float inv = 1.0f / (float)(g[KH] * g[KW]);
  const float *dy = c->dy, *arg = c->scratch;
  memset(c->dx[0], 0, c->n * zx * sizeof(float));
  for (size_t r = 0; r < c->n; r++)
    for (int ch = 0; ch < g[C]; ch++) {
      float *dx = c->dx[0] + r * zx;
      for (int oh = 0; oh < g[HO]; oh++)
        for (int ow = 0; ow < g[WO]; ow++, dy++) {
          if (max) { /* dx[argmax] += dy */
            dx[(size_t)*arg++] += *dy;
            continue;
          }
          /* dx += dy / (kh kw) over the window */
          for (int i = 0; i < g[KH]; i++)
            for (int j = 0; j < g[KW]; j++)
              dx[(size_t)ch * g[H] * g[W] + (size_t)(oh * g[SH] + i) * g[W] + ow * g[SW] + j] +=
                  *dy * inv;
        }
    }
}

static int global_infer(nn__gnode *n, nn_error *err) {
  if (n->in[0].rank < 2)
    return nn__graph_fail(err, NN_ESHAPE, n, "inputs[0]", "reads rows of [C, ...]");
  n->y = (nn_shape){1, {n->in[0].dim[0]}};
  n->geo[0] = (int)(nn_shape_size(&n->in[0]) / (size_t)n->in[0].dim[0]); /* per channel */
  return NN_OK;
}

static int global_forward(nn__opctx *c) {
  size_t C_ = (size_t)c->node->y.dim[0], S = (size_t)c->node->geo[0];
  for (size_t i = 0; i < c->n * C_; i++) { /* y = mean over the channel */
    float acc = 0.0f;
    for (size_t s = 0; s < S; s++) acc += c->x[0][i * S + s];
    c->y[i] = acc / (float)S;
  }
  return NN_OK;
}

static void global_backward(nn__opctx *c) {
  if (c->dx[0] == NULL) return;
  size_t C_ = (size_t)c->node->y.dim[0], S = (size_t)c->node->geo[0];
  for (size_t i = 0; i < c->n * C_; i++) /* dx = dy / S */
    for (size_t s = 0; s < S; s++) c->dx[0][i * S + s] = c->dy[i] / (float)S;
}

const nn__op nn__op_maxpool = {"maxpool", 1, 1, 0, infer, NULL, forward, backward};
const nn__op nn__op_avgpool = {"avgpool", 1, 1, 0, infer, NULL, forward, backward};
const nn__op nn__op_global_avgpool = {"global_avgpool", 1, 1, 0, global_infer, NULL,
                                      global_forward, global_backward};
