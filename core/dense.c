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
  nn__act_forward(l->act, l->slope, Z, b, Y, n, out);
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
  nn__act_backward(fused ? NN_ACT_LINEAR : l->act, l->slope, Y, dY, db, n, out);
  /* dW = dZ^T X */
  nn__gemm_tn(pool, out, in, (int)n, dY, X, dW);
  /* dX = dZ W */
  if (dX != NULL) nn__gemm_nn(pool, (int)n, in, out, dY, W, dX);
}
