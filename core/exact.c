/*
 * exact.c — a model's loss in double precision, at its weights and with one
 * parameter moved: the numeric side of a gradient check (gradcheck.c).
 *
 * The formulas are core's (act.c, loss.c: softmax, sigmoid, tanh, the
 * fused cross-entropies from the logits), evaluated in double from the
 * model's float32 weights, which convert exactly. Features are standardized
 * in float32 by core's own nn__standardize first, so both sides of a check
 * see the same inputs. Dropout layers are the identity (evaluation mode).
 *
 * Moving W[j][i] or b[j] of dense layer l changes column j of l's
 * pre-activations only: that column is updated (one multiply-add per row),
 * and unless l's activation is softmax (which couples a row) only column j
 * of its output changes, so the next dense layer takes a rank-1 update
 * instead of a product. The layers after those run in full.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

/* Eight lanes, as nn__sumsq: vectorizable without reassociation. */
NN__INLINE double dot(const double *x, const float *w, int n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) lane[k] += x[i + k] * (double)w[i + k];
  for (int k = 0; i < n; i++, k++) lane[k] += x[i] * (double)w[i];
  return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

/* Z (n, out) = X (n, in) W^T + b, with W (out, in) */
NN__VECTORIZE
static void dense(const float *W, const float *b, const double *X, double *Z, size_t n, int in,
                  int out) {
  for (size_t r = 0; r < n; r++)
    for (int k = 0; k < out; k++)
      Z[r * (size_t)out + k] = (double)b[k] + dot(X + r * (size_t)in, W + (size_t)k * in, in);
}

/* One output of an elementwise activation (not softmax). */
static double act1(const nn_layer_spec *l, double v) {
  switch (l->act) {
  case NN_ACT_RELU: return v > 0.0 ? v : 0.0;
  case NN_ACT_LEAKY_RELU: return v > 0.0 ? v : (double)l->slope * v;
  case NN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
  case NN_ACT_TANH: return tanh(v);
  default: return v;
  }
}

/* Y (n, cols) = act(Z) */
static void act_rows(const nn_layer_spec *l, const double *Z, double *Y, size_t n, int cols) {
  size_t count = n * (size_t)cols;
  if (l->act != NN_ACT_SOFTMAX) {
    for (size_t i = 0; i < count; i++) Y[i] = act1(l, Z[i]);
    return;
  }
  for (size_t r = 0; r < n; r++) {
    const double *z = Z + r * (size_t)cols;
    double *y = Y + r * (size_t)cols, mx = z[0], sum = 0.0;
    for (int j = 1; j < cols; j++) mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < cols; j++) sum += y[j] = exp(z[j] - mx);
    for (int j = 0; j < cols; j++) y[j] /= sum;
  }
}

static int relu_family(const nn_layer_spec *l) {
  return l->act == NN_ACT_RELU || l->act == NN_ACT_LEAKY_RELU;
}

/* @return whether any of the count pre-activations changed side of 0 */
static int crossed(const double *z0, const double *z1, size_t count) {
  int any = 0;
  for (size_t i = 0; i < count; i++) any |= (z0[i] > 0.0) != (z1[i] > 0.0);
  return any;
}

/* @return the next dense layer after l, or -1 when l is the last */
static int next_dense(const nn_spec *spec, int l) {
  for (int k = l + 1; k < spec->n_layers; k++)
    if (spec->layers[k].type == NN_LAYER_DENSE) return k;
  return -1;
}

/* target j of row r, as loss.c reads it */
static double target(const nn__exact *e, size_t r, int k, int j) {
  return e->y != NULL ? (double)e->y[r * (size_t)k + j] : (double)(e->labels[r] == j);
}

/* Mean loss of the rows from the output layer's pre-activations Z and
 * outputs Y (n, k), as nn__loss defines it. */
static double loss(const nn__exact *e, const double *Z, const double *Y) {
  int k = e->m->arch.out[e->m->arch.n_layers - 1];
  double total = 0.0;
  for (size_t r = 0; r < e->n; r++) {
    const double *z = Z + r * (size_t)k, *y = Y + r * (size_t)k;
    double row = 0.0;
    if (e->m->spec.loss == NN_LOSS_MSE) {
      for (int j = 0; j < k; j++) row += (y[j] - target(e, r, k, j)) * (y[j] - target(e, r, k, j));
      total += row / k;
    } else if (e->m->spec.loss == NN_LOSS_CROSS_ENTROPY) {
      double mx = z[0], sum = 0.0, tz = 0.0, tsum = 0.0;
      for (int j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
      for (int j = 0; j < k; j++) sum += exp(z[j] - mx);
      for (int j = 0; j < k; j++) {
        tz += target(e, r, k, j) * z[j];
        tsum += target(e, r, k, j);
      }
      total += tsum * (mx + log(sum)) - tz;
    } else {
      for (int j = 0; j < k; j++) {
        /* one output with labels: the label is the 0/1 target itself */
        double t = k == 1 && e->labels != NULL ? (double)e->labels[r] : target(e, r, k, j);
        row += (z[j] > 0.0 ? z[j] : 0.0) - z[j] * t + log1p(exp(-fabs(z[j])));
      }
      total += row / k;
    }
  }
  return total / (double)e->n;
}

int nn__exact_init(nn__exact *e, const nn_model *m, const nn_data *d) {
  const nn_spec *spec = &m->spec;
  const nn__arch *a = &m->arch;
  size_t n = d->rows, width = (size_t)a->max_width, inputs = (size_t)spec->inputs;
  memset(e, 0, sizeof *e);
  e->m = m;
  e->n = n;
  e->y = d->y;
  e->labels = d->labels;
  /* rows and widths are at most 2^20 and layers 64: no product overflows */
  size_t doubles = n * inputs + 4 * n * width + n;
  for (int l = 0; l < a->n_layers; l++)
    if (spec->layers[l].type == NN_LAYER_DENSE) doubles += 2 * n * (size_t)a->out[l];
  float *xs = malloc(n * inputs * sizeof *xs); /* (n, inputs) standardized */
  double *p = e->mem = malloc(doubles * sizeof *p);
  if (xs == NULL || p == NULL) {
    free(xs);
    nn__exact_free(e);
    return NN_ENOMEM;
  }
  nn__standardize(NULL, d->x, NULL, n, spec->inputs, m->mean, m->std, xs);
  e->x = p;
  for (size_t i = 0; i < n * inputs; i++) e->x[i] = xs[i];
  free(xs);
  p += n * inputs;
  for (int s = 0; s < 4; s++, p += n * width) e->buf[s] = p;
  e->col = p;
  p += n;
  const double *in = e->x;
  for (int l = 0; l < a->n_layers; l++) {
    const nn_layer_spec *ls = &spec->layers[l];
    if (ls->type != NN_LAYER_DENSE) { /* dropout: the identity */
      e->a[l] = in;
      continue;
    }
    double *z = p, *y = p + n * (size_t)a->out[l];
    p = y + n * (size_t)a->out[l];
    dense(m->params + a->w_off[l], m->params + a->b_off[l], in, z, n, a->in[l], a->out[l]);
    act_rows(ls, z, y, n, a->out[l]);
    e->z[l] = z;
    e->a[l] = in = y;
    e->last = l;
  }
  e->loss = loss(e, e->z[e->last], e->a[e->last]);
  return NN_OK;
}

void nn__exact_free(nn__exact *e) {
  free(e->mem);
  e->mem = NULL;
}

double nn__exact_cost(const nn__exact *e, int l) {
  const nn_spec *spec = &e->m->spec;
  const nn__arch *a = &e->m->arch;
  int next = next_dense(spec, l);
  double per_row = 1.0 + a->out[l]; /* the moved column, then l's outputs */
  if (next >= 0)
    per_row += spec->layers[l].act == NN_ACT_SOFTMAX ? (double)a->in[next] * a->out[next]
                                                     : (double)a->out[next];
  for (int k = next; k >= 0; k = next_dense(spec, k)) {
    int after = next_dense(spec, k);
    per_row += a->out[k];
    if (after >= 0) per_row += (double)a->in[after] * a->out[after];
  }
  return per_row * (double)e->n;
}

double nn__exact_moved(nn__exact *e, int l, int j, int i, double h, int *kink) {
  const nn_spec *spec = &e->m->spec;
  const nn__arch *a = &e->m->arch;
  const float *params = e->m->params;
  const nn_layer_spec *ls = &spec->layers[l];
  size_t n = e->n;
  int in = a->in[l], out = a->out[l], next = next_dense(spec, l);
  const double *x = l == 0 ? e->x : e->a[l - 1]; /* (n, in) */
  double *zc = e->buf[0], *yc = e->buf[1], *zn = e->buf[2], *yn = e->buf[3], *t;
  *kink = 0;
  /* column j of l's pre-activations moves by h x_i, or by h for the bias */
  for (size_t r = 0; r < n; r++)
    e->col[r] = e->z[l][r * out + j] + h * (i >= 0 ? x[r * in + i] : 1.0);
  if (relu_family(ls))
    for (size_t r = 0; r < n; r++) *kink |= (e->col[r] > 0.0) != (e->z[l][r * out + j] > 0.0);
  if (next < 0 || ls->act == NN_ACT_SOFTMAX) {
    memcpy(zc, e->z[l], n * (size_t)out * sizeof *zc);
    for (size_t r = 0; r < n; r++) zc[r * out + j] = e->col[r];
    act_rows(ls, zc, yc, n, out);
    if (next < 0) return loss(e, zc, yc);
    dense(params + a->w_off[next], params + a->b_off[next], yc, zn, n, out, a->out[next]);
  } else {
    /* only output column j moved, by col: a rank-1 update of the next layer */
    const float *W = params + a->w_off[next]; /* (out[next], out) */
    int on = a->out[next];
    for (size_t r = 0; r < n; r++) {
      double delta = act1(ls, e->col[r]) - e->a[l][r * out + j];
      for (int k = 0; k < on; k++)
        zn[r * on + k] = e->z[next][r * on + k] + delta * (double)W[(size_t)k * out + j];
    }
  }
  for (l = next;; l = next) {
    ls = &spec->layers[l];
    out = a->out[l];
    next = next_dense(spec, l);
    t = zc, zc = zn, zn = t;
    t = yc, yc = yn, yn = t;
    if (relu_family(ls)) *kink |= crossed(e->z[l], zc, n * (size_t)out);
    act_rows(ls, zc, yc, n, out);
    if (next < 0) return loss(e, zc, yc);
    dense(params + a->w_off[next], params + a->b_off[next], yc, zn, n, out, a->out[next]);
  }
}
