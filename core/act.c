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

/* The forward pass of rows (rows, cols) of z and y. */
NN__INLINE void forward_rows(nn_act act, float slope, const float *z, const float *b, float *y,
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

/* The backward pass of columns j0 .. j1 of y and dy (rows, cols), and of
 * db: each column's sum runs down the rows in order, whatever the range. */
NN__INLINE void backward_cols(nn_act act, float slope, const float *y, float *dy, float *db,
                              size_t rows, int cols, int j0, int j1) {
  memset(db + j0, 0, (size_t)(j1 - j0) * sizeof(float));
  for (size_t r = 0; r < rows; r++) {
    const float *yr = y + r * (size_t)cols;
    float *d = dy + r * (size_t)cols;
    switch (act) {
    case NN_ACT_LINEAR: /* dZ = dY */
      break;
    case NN_ACT_RELU: /* dZ = dY [y > 0] */
      for (int j = j0; j < j1; j++) d[j] = yr[j] > 0.0f ? d[j] : 0.0f;
      break;
    case NN_ACT_LEAKY_RELU: /* dZ = dY (y > 0 ? 1 : slope) */
      for (int j = j0; j < j1; j++) d[j] = yr[j] > 0.0f ? d[j] : slope * d[j];
      break;
    case NN_ACT_SIGMOID: /* dZ = dY y (1 - y) */
      for (int j = j0; j < j1; j++) d[j] *= yr[j] * (1.0f - yr[j]);
      break;
    case NN_ACT_TANH: /* dZ = dY (1 - y^2) */
      for (int j = j0; j < j1; j++) d[j] *= 1.0f - yr[j] * yr[j];
      break;
    case NN_ACT_SOFTMAX: { /* dZ = y (dY - <dY, y>), over whole rows (j0 = 0, j1 = cols) */
      float dot = 0.0f;
      for (int j = j0; j < j1; j++) dot += d[j] * yr[j];
      for (int j = j0; j < j1; j++) d[j] = yr[j] * (d[j] - dot);
      break;
    }
    }
    /* db = sum over rows of dZ */
    for (int j = j0; j < j1; j++) db[j] += d[j];
  }
}

/* Elements per task of a pass on the pool, about: 128 KiB of floats. */
#define PASS_CHUNK 32768

typedef struct {
  nn_act act;
  float slope;
  const float *z, *b, *y;
  float *out, *db; /* forward: y (rows, cols); backward: dy (rows, cols), db (cols,) */
  size_t rows;
  int cols;
} pass;

NN__VECTORIZE
static void forward_task(void *ctx, size_t r0, size_t r1) {
  const pass *p = ctx;
  size_t off = r0 * (size_t)p->cols;
  forward_rows(p->act, p->slope, p->z + off, p->b, p->out + off, r1 - r0, p->cols);
}

NN__VECTORIZE
void nn__act_forward(nn__pool *pool, nn_act act, float slope, const float *z, const float *b,
                     float *y, size_t rows, int cols) {
  if (rows * (size_t)cols <= PASS_CHUNK) {
    forward_rows(act, slope, z, b, y, rows, cols);
    return;
  }
  /* whole rows per task, softmax's unit */
  size_t chunk = PASS_CHUNK / (size_t)cols > 0 ? PASS_CHUNK / (size_t)cols : 1;
  pass p = {act, slope, z, b, NULL, y, NULL, rows, cols};
  nn__pool_for(pool, rows, chunk, forward_task, &p);
}

NN__VECTORIZE
static void backward_task(void *ctx, size_t j0, size_t j1) {
  const pass *p = ctx;
  backward_cols(p->act, p->slope, p->y, p->out, p->db, p->rows, p->cols, (int)j0, (int)j1);
}

NN__VECTORIZE
void nn__act_backward(nn__pool *pool, nn_act act, float slope, const float *y, float *dy,
                      float *db, size_t rows, int cols) {
  if (rows * (size_t)cols <= PASS_CHUNK || act == NN_ACT_SOFTMAX) { /* softmax: whole rows */
    backward_cols(act, slope, y, dy, db, rows, cols, 0, cols);
    return;
  }
  /* whole columns per task, the bias gradient's unit */
  size_t chunk = PASS_CHUNK / rows / 16 * 16; /* whole vectors */
  if (chunk < 16) chunk = 16;
  pass p = {act, slope, NULL, NULL, y, dy, db, rows, cols};
  nn__pool_for(pool, (size_t)cols, chunk, backward_task, &p);
}
