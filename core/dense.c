/*
 * dense.c — the fully connected layer: Y = act(X W^T + b), with W (out, in)
 * as PyTorch's nn.Linear. Each pass is one GEMM over the whole batch plus one
 * fused pass for bias and activation.
 */
#include <string.h>

#include "nn_internal.h"

void nn__dense_forward(nn__pool *pool, const nn_layer_spec *l, const float *W, const float *b,
                       const float *X, float *Y, float *logits, size_t n, int in, int out) {
  float *Z = logits != NULL ? logits : Y; /* (n, out) */
  /* Z = X W^T */
  nn__gemm_nt(pool, (int)n, out, in, X, W, Z);
  /* Y = act(Z + b) */
  nn__act_forward(pool, l->act, l->slope, Z, b, Y, n, out);
  if (logits == NULL) return;
  /* logits = Z + b, kept for the loss */
  for (size_t r = 0; r < n; r++) {
    float *z = logits + r * (size_t)out;
    for (int j = 0; j < out; j++) z[j] += b[j];
  }
}

void nn__dense_backward(nn__pool *pool, const nn_layer_spec *l, const float *W, const float *X,
                        const float *Y, float *dY, float *dW, float *db, float *dX, size_t n,
                        int in, int out, int fused) {
  /* dZ = dY act'(Y), db = sum_rows dZ; a fused loss already gave dZ */
  nn__act_backward(pool, fused ? NN_ACT_LINEAR : l->act, l->slope, Y, dY, db, n, out);
  nn__gemm g[2] = {
      /* dW = dZ^T X */
      {.op = NN__GEMM_TN, .M = out, .N = in, .K = (int)n, .A = dY, .B = X, .C = dW},
      /* dX = dZ W */
      {.op = NN__GEMM_NN, .M = (int)n, .N = in, .K = out, .A = dY, .B = W, .C = dX},
  };
  /* independent of each other, so they share one run of the pool */
  nn__gemm_run(pool, g, dX != NULL ? 2 : 1);
}
