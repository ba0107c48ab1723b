/*
 * dropout.c — inverted dropout: kept units are scaled by 1/(1-rate) during
 * training so that evaluation is the identity.
 */
#include <string.h>

#include "nn_internal.h"

void nn__dropout_forward(float rate, const float *X, float *Y, float *mask, size_t n, int width,
                         nn__rng *rng) {
  size_t count = n * (size_t)width;
  if (rng == NULL) {
    if (Y != X) memcpy(Y, X, count * sizeof(float));
    return;
  }
  float keep = 1.0f / (1.0f - rate);
  /* Y = X * mask, mask = 0 with probability rate, else 1/(1-rate) */
  for (size_t i = 0; i < count; i++) {
    mask[i] = nn__rng_uniform(rng) < rate ? 0.0f : keep;
    Y[i] = X[i] * mask[i];
  }
}

NN__VECTORIZE
void nn__dropout_backward(float *dY, const float *mask, size_t n, int width) {
  size_t count = n * (size_t)width;
  /* dX = dY * mask */
  for (size_t i = 0; i < count; i++) dY[i] *= mask[i];
}
