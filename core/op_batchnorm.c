/*
 * op_batchnorm.c — batch normalization (Ioffe and Szegedy) per channel,
 * the first axis of a row ([C], [C, L], [C, H, W]: BatchNorm1d/2d), over
 * the batch and the other axes. Training normalizes with the batch's mean
 * and biased variance and moves the running statistics towards them, the
 * variance unbiased, as PyTorch: running = (1 - momentum) running +
 * momentum batch. Inference normalizes with the running statistics.
 * Parameters gain (C,) then bias (C,); state running mean (C,) then
 * running variance (C,); scratch the mean and 1/std the pass used.
 */
#include <math.h>
#include <string.h>

#include "graph.h"

static int infer(nn__gnode *n, nn_error *err) {
  if (!(n->s.eps > 0.0f && n->s.eps < 1.0f))
    return nn__graph_fail(err, NN_EINVAL, n, "eps", "must be in (0, 1)");
  if (!(n->s.momentum >= 0.0f && n->s.momentum <= 1.0f))
    return nn__graph_fail(err, NN_EINVAL, n, "momentum", "must be in [0, 1]");
  n->y = n->in[0];
  n->geo[0] = n->y.dim[0];                                         /* C */
  n->geo[1] = (int)(nn_shape_size(&n->y) / (size_t)n->geo[0]);     /* S: per channel */
  n->n_params = 2 * (size_t)n->geo[0];
  n->n_state = 2 * (size_t)n->geo[0];
  n->scratch_fixed = 2 * (size_t)n->geo[0];
  return NN_OK;
}

static void init(const nn__gnode *n, float *w, float *state, nn__rng *r) {
  (void)r;
  for (int i = 0; i < n->geo[0]; i++) {
    w[i] = 1.0f;                 /* gain 1, bias 0 */
    state[n->geo[0] + i] = 1.0f; /* running mean 0, variance 1 */
  }
}

static int forward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  size_t C = (size_t)n->geo[0], S = (size_t)n->geo[1], row = C * S, m = c->n * S;
  float *mean = c->scratch, *rstd = c->scratch + C;
  float *run_mean = c->state, *run_var = c->state + C;
  for (size_t ch = 0; ch < C; ch++) {
    if (c->train) {
      double sum = 0.0, sq = 0.0;
      for (size_t r = 0; r < c->n; r++)
        for (size_t s = 0; s < S; s++) sum += c->x[0][r * row + ch * S + s];
      double mu = sum / (double)m;
      for (size_t r = 0; r < c->n; r++)
        for (size_t s = 0; s < S; s++) {
          double d = c->x[0][r * row + ch * S + s] - mu;
          sq += d * d;
        }
      mean[ch] = (float)mu;
      rstd[ch] = (float)(1.0 / sqrt(sq / (double)m + n->s.eps));
      float k = n->s.momentum;
      double unbiased = m > 1 ? sq / (double)(m - 1) : sq;
      run_mean[ch] = (1.0f - k) * run_mean[ch] + k * (float)mu;
      run_var[ch] = (1.0f - k) * run_var[ch] + k * (float)unbiased;
    } else {
      mean[ch] = run_mean[ch];
      rstd[ch] = 1.0f / sqrtf(run_var[ch] + n->s.eps);
    }
    float g = c->w[ch], b = c->w[C + ch];
    /* y = (x - mean) rstd gain + bias */
    for (size_t r = 0; r < c->n; r++)
      for (size_t s = 0; s < S; s++) {
        size_t i = r * row + ch * S + s;
        c->y[i] = (c->x[0][i] - mean[ch]) * rstd[ch] * g + b;
      }
  }
  return NN_OK;
}

static void backward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  size_t C = (size_t)n->geo[0], S = (size_t)n->geo[1], row = C * S, m = c->n * S;
  const float *mean = c->scratch, *rstd = c->scratch + C;
  for (size_t ch = 0; ch < C; ch++) {
    double sdy = 0.0, sdyx = 0.0; /* sum dy, sum dy xhat */
    for (size_t r = 0; r < c->n; r++)
      for (size_t s = 0; s < S; s++) {
        size_t i = r * row + ch * S + s;
        sdy += c->dy[i];
        sdyx += c->dy[i] * (c->x[0][i] - mean[ch]) * rstd[ch];
      }
    c->dw[ch] = (float)sdyx;    /* dgain = sum dy xhat */
    c->dw[C + ch] = (float)sdy; /* dbias = sum dy */
    if (c->dx[0] == NULL) continue;
    float g = c->w[ch], k = g * rstd[ch];
    float a = c->train ? (float)(sdy / (double)m) : 0.0f;
    float b = c->train ? (float)(sdyx / (double)m) : 0.0f;
    /* training: dx = gain rstd (dy - mean(dy) - xhat mean(dy xhat)), the
     * batch statistics depending on x; inference: dx = gain rstd dy */
    for (size_t r = 0; r < c->n; r++)
      for (size_t s = 0; s < S; s++) {
        size_t i = r * row + ch * S + s;
        float xhat = (c->x[0][i] - mean[ch]) * rstd[ch];
        c->dx[0][i] = k * (c->dy[i] - a - xhat * b);
      }
  }
}

const nn__op nn__op_batchnorm = {"batchnorm", 1, 1, 0, infer, init, forward, backward};
