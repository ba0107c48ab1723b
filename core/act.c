/*
 * act.c — activation functions, each forward next to its backward. The
 * forward pass fuses the bias add; the backward pass works from the outputs
 * (every activation here has a derivative expressible through its output),
 * so a dense layer stores only Y, and fuses the bias gradient.
 */
#include <math.h>
#include <string.h>

#include "fastmath.h"
#include "nn_internal.h"

/* y = softmax(z + b) row by row, stable: exp(v - max v) / sum. The exps run
 * as one pass over the whole (rows, cols) block, which vectorizes fully even
 * when a row is shorter than a vector register. */
NN__INLINE void softmax(const float *z, const float *b, float *y, size_t rows, int cols) {
  for (size_t r = 0; r < rows; r++) {
    const float *zr = z + r * (size_t)cols;
    float *yr = y + r * (size_t)cols;
    for (int j = 0; j < cols; j++) yr[j] = zr[j] + b[j];
    float mx = yr[0];
    for (int j = 1; j < cols; j++) mx = yr[j] > mx ? yr[j] : mx;
    for (int j = 0; j < cols; j++) yr[j] -= mx;
  }
  size_t count = rows * (size_t)cols;
  for (size_t i = 0; i < count; i++) y[i] = nn__expf(y[i]);
  for (size_t r = 0; r < rows; r++) {
    float *yr = y + r * (size_t)cols;
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) sum += yr[j];
    float inv = 1.0f / sum;
    for (int j = 0; j < cols; j++) yr[j] *= inv;
  }
}

NN__VECTORIZE
void nn__act_forward(nn_act act, float slope, const float *z, const float *b, float *y,
                     size_t rows, int cols) {
  if (act == NN_ACT_SOFTMAX) {
    softmax(z, b, y, rows, cols);
    return;
  }
  for (size_t r = 0; r < rows; r++) {
    const float *zr = z + r * (size_t)cols;
    float *yr = y + r * (size_t)cols;
    switch (act) {
    case NN_ACT_LINEAR: /* y = z + b */
      for (int j = 0; j < cols; j++) yr[j] = zr[j] + b[j];
      break;
    case NN_ACT_RELU: /* y = max(z + b, 0) */
      for (int j = 0; j < cols; j++) {
        float v = zr[j] + b[j];
        yr[j] = v > 0.0f ? v : 0.0f;
      }
      break;
    case NN_ACT_LEAKY_RELU: /* y = v > 0 ? v : slope v */
      for (int j = 0; j < cols; j++) {
        float v = zr[j] + b[j];
        yr[j] = v > 0.0f ? v : slope * v;
      }
      break;
    case NN_ACT_SIGMOID: /* y = 1 / (1 + e^-v) */
      for (int j = 0; j < cols; j++) yr[j] = nn__sigmoidf(zr[j] + b[j]);
      break;
    case NN_ACT_TANH: /* y = tanh(v) */
      for (int j = 0; j < cols; j++) yr[j] = nn__tanhf(zr[j] + b[j]);
      break;
    case NN_ACT_SOFTMAX: /* handled above */
      break;
    }
  }
}

NN__VECTORIZE
void nn__act_backward(nn_act act, float slope, const float *y, float *dy, float *db,
                      size_t rows, int cols) {
  memset(db, 0, (size_t)cols * sizeof(float));
  for (size_t r = 0; r < rows; r++) {
    const float *yr = y + r * (size_t)cols;
    float *d = dy + r * (size_t)cols;
    switch (act) {
    case NN_ACT_LINEAR: /* dZ = dY */
      break;
    case NN_ACT_RELU: /* dZ = dY [y > 0] */
      for (int j = 0; j < cols; j++) d[j] = yr[j] > 0.0f ? d[j] : 0.0f;
      break;
    case NN_ACT_LEAKY_RELU: /* dZ = dY (y > 0 ? 1 : slope) */
      for (int j = 0; j < cols; j++) d[j] = yr[j] > 0.0f ? d[j] : slope * d[j];
      break;
    case NN_ACT_SIGMOID: /* dZ = dY y (1 - y) */
      for (int j = 0; j < cols; j++) d[j] *= yr[j] * (1.0f - yr[j]);
      break;
    case NN_ACT_TANH: /* dZ = dY (1 - y^2) */
      for (int j = 0; j < cols; j++) d[j] *= 1.0f - yr[j] * yr[j];
      break;
    case NN_ACT_SOFTMAX: { /* dZ = y (dY - <dY, y>) */
      float dot = 0.0f;
      for (int j = 0; j < cols; j++) dot += d[j] * yr[j];
      for (int j = 0; j < cols; j++) d[j] = yr[j] * (d[j] - dot);
      break;
    }
    }
    /* db = sum over rows of dZ */
    for (int j = 0; j < cols; j++) db[j] += d[j];
  }
}
