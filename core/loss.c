/*
 * loss.c — losses and their gradients. Cross-entropy and binary
 * cross-entropy are fused with their output activation: the gradient with
 * respect to the logits is simply (p - t) / N, and the loss is computed from
 * the logits (log-sum-exp, softplus), which stays finite for large logits.
 */
#include <math.h>

#include "nn_internal.h"

/* target j of a row: from t, or one-hot from a label */
static float target(const float *t, const int32_t *labels, size_t r, int k, int j) {
  return t != NULL ? t[r * (size_t)k + j] : (float)(labels[r] == j);
}

static int argmax(const float *v, int k) {
  int best = 0;
  for (int j = 1; j < k; j++)
    if (v[j] > v[best]) best = j;
  return best;
}

/* the class a row belongs to: its label, or the argmax of a one-hot target */
static int true_class(const float *t, const int32_t *labels, size_t r, int k) {
  return labels != NULL ? labels[r] : argmax(t + r * (size_t)k, k);
}

/* L = mean over N*k elements of (y - t)^2;  dY = 2 (y - t) / (N k), N = mean_rows */
static void mse(const float *y, const float *t, const int32_t *labels, size_t n,
                size_t mean_rows, int k, float *dout, nn__loss_sum *s) {
  float scale = 2.0f / ((float)mean_rows * (float)k);
  for (size_t r = 0; r < n; r++) {
    const float *yr = y + r * (size_t)k;
    double row = 0.0;
    for (int j = 0; j < k; j++) {
      float d = yr[j] - target(t, labels, r, k, j);
      row += (double)d * d;
      if (dout != NULL) dout[r * (size_t)k + j] = scale * d;
    }
    s->loss += row / k;
    if (labels != NULL) s->correct += argmax(yr, k) == labels[r];
  }
}

/* L = mean over rows of lse(z) - sum_j t_j z_j;  dZ = (softmax(z) - t) / N,
 * N = mean_rows.
 * lse(z) = z_m - log p_m for any m; at the argmax p_m >= 1/k, so the log is
 * finite and one log per row replaces k exps. */
static void cross_entropy(const float *p, const float *z, const float *t, const int32_t *labels,
                          size_t n, size_t mean_rows, int k, float *dout, nn__loss_sum *s) {
  float inv_n = 1.0f / (float)mean_rows;
  for (size_t r = 0; r < n; r++) {
    const float *zr = z + r * (size_t)k, *pr = p + r * (size_t)k;
    int m = argmax(pr, k);
    double lse = (double)zr[m] - log((double)pr[m]);
    if (labels != NULL) {
      s->loss += lse - zr[labels[r]];
    } else {
      /* -sum_j t_j log p_j = (sum_j t_j) lse(z) - sum_j t_j z_j */
      const float *tr = t + r * (size_t)k;
      double tz = 0.0, tsum = 0.0;
      for (int j = 0; j < k; j++) {
        tz += (double)tr[j] * zr[j];
        tsum += tr[j];
      }
      s->loss += tsum * lse - tz;
    }
    s->correct += m == true_class(t, labels, r, k);
    if (dout == NULL) continue;
    float *dr = dout + r * (size_t)k;
    for (int j = 0; j < k; j++) dr[j] = (pr[j] - target(t, labels, r, k, j)) * inv_n;
  }
}

/* L = mean over N*k of softplus(z) - z t, as max(z,0) - z t + log1p(e^-|z|);
 * dZ = (sigmoid(z) - t) / (N k), N = mean_rows */
static void binary_cross_entropy(const float *p, const float *z, const float *t,
                                 const int32_t *labels, size_t n, size_t mean_rows, int k,
                                 float *dout, nn__loss_sum *s) {
  float scale = 1.0f / ((float)mean_rows * (float)k);
  for (size_t r = 0; r < n; r++) {
    const float *zr = z + r * (size_t)k, *pr = p + r * (size_t)k;
    double row = 0.0;
    int matches = 0;
    for (int j = 0; j < k; j++) {
      /* one output with labels: the label is the 0/1 target itself */
      float tj = (k == 1 && labels != NULL) ? (float)labels[r] : target(t, labels, r, k, j);
      double zj = zr[j];
      row += (zj > 0.0 ? zj : 0.0) - zj * tj + log1p(exp(-fabs(zj)));
      matches += (pr[j] > 0.5f) == (tj > 0.5f);
      if (dout != NULL) dout[r * (size_t)k + j] = (pr[j] - tj) * scale;
    }
    s->loss += row / k;
    if (k > 1 && labels != NULL)
      s->correct += argmax(pr, k) == labels[r];
    else
      s->correct += (double)matches / k;
  }
}

void nn__loss(nn_loss loss, const float *out, const float *logits, const float *t,
              const int32_t *labels, size_t n, size_t mean_rows, int outputs, float *dout,
              nn__loss_sum *s) {
  switch (loss) {
  case NN_LOSS_MSE:
    mse(out, t, labels, n, mean_rows, outputs, dout, s);
    break;
  case NN_LOSS_CROSS_ENTROPY:
    cross_entropy(out, logits, t, labels, n, mean_rows, outputs, dout, s);
    break;
  case NN_LOSS_BCE:
    binary_cross_entropy(out, logits, t, labels, n, mean_rows, outputs, dout, s);
    break;
  }
}
