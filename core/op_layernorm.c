/*
 * op_layernorm.c — layer normalization over the last axis (Ba et al.):
 * y = (x - mean) / sqrt(var + eps) * gain + bias, the biased variance of
 * each row's last axis, gain (D,) then bias (D,) as PyTorch's nn.LayerNorm.
 * Scratch keeps each normalized row's mean and 1/std for backward.
 */
#include <math.h>
#include <string.h>

#include "graph.h"

static int infer(nn__gnode *n, nn_error *err) {
  if (!(n->s.eps > 0.0f && n->s.eps < 1.0f))
    return nn__graph_fail(err, NN_EINVAL, n, "eps", "must be in (0, 1)");
  n->y = n->in[0];
  n->geo[0] = n->y.dim[n->y.rank - 1];
  n->n_params = 2 * (size_t)n->geo[0];
  n->scratch_row = 2 * (nn_shape_size(&n->y) / (size_t)n->geo[0]);
  return NN_OK;
}

static void init(const nn__gnode *n, float *w, float *state, nn__rng *r) {
  (void)state, (void)r;
  for (int i = 0; i < n->geo[0]; i++) w[i] = 1.0f; /* gain 1, bias 0 */
}

static int forward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  size_t D = (size_t)n->geo[0], rows = c->n * nn_shape_size(&n->y) / D;
  const float *gain = c->w, *bias = c->w + D;
  for (size_t r = 0; r < rows; r++) {
    const float *x = c->x[0] + r * D;
    float *y = c->y + r * D;
    double mean = 0.0, var = 0.0;
    for (size_t i = 0; i < D; i++) mean += x[i];
    mean /= (double)D;
    for (size_t i = 0; i < D; i++) var += (x[i] - mean) * (x[i] - mean);
    float mu = (float)mean, rstd = (float)(1.0 / sqrt(var / (double)D + n->s.eps));
    c->scratch[2 * r] = mu;
    c->scratch[2 * r + 1] = rstd;
    /* y = (x - mu) rstd gain + bias */
    for (size_t i = 0; i < D; i++) y[i] = (x[i] - mu) * rstd * gain[i] + bias[i];
  }
  return NN_OK;
}

static void backward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  size_t D = (size_t)n->geo[0], rows = c->n * nn_shape_size(&n->y) / D;
  const float *gain = c->w;
  float *dgain = c->dw, *dbias = c->dw + D;
  memset(c->dw, 0, 2 * D * sizeof(float));
  for (size_t r = 0; r < rows; r++) {
    const float *x = c->x[0] + r * D, *dy = c->dy + r * D;
    float mu = c->scratch[2 * r], rstd = c->scratch[2 * r + 1];
    double s1 = 0.0, s2 = 0.0; /* mean of dxhat, and of dxhat xhat */
    for (size_t i = 0; i < D; i++) {
      float xhat = (x[i] - mu) * rstd, dxhat = dy[i] * gain[i];
      dgain[i] += dy[i] * xhat; /* dgain = sum dy xhat */
      dbias[i] += dy[i];        /* dbias = sum dy */
      s1 += dxhat;
      s2 += dxhat * xhat;
    }
    if (c->dx[0] == NULL) continue;
    float m1 = (float)(s1 / (double)D), m2 = (float)(s2 / (double)D);
    float *dx = c->dx[0] + r * D;
    /* dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) */
    for (size_t i = 0; i < D; i++) {
      float xhat = (x[i] - mu) * rstd;
      dx[i] = rstd * (dy[i] * gain[i] - m1 - xhat * m2);
    }
  }
}

const nn__op nn__op_layernorm = {"layernorm", 1, 1, 0, infer, init, forward, backward};
