/*
 * diag.c — per-layer training diagnostics, gathered by the trainer when
 * nn_train_config.diagnostics is set. What is measured, and why it is cheap:
 *
 * - grad_norm: the root mean square over the epoch's batches of ||dW||_2,
 *   the Frobenius norm of a dense layer's weight gradient as backprop
 *   computed it (before clipping and weight decay, so a gradient that
 *   explodes shows even when clipping hides it from the optimizer). Each
 *   batch adds ||dW||^2 to one double per layer, read from the gradient
 *   buffer right after the backward pass wrote it, while it is in cache. The
 *   root mean square rather than the mean of the norms: no square root per
 *   batch, and the one sum resumes exactly from a checkpoint.
 * - weight_norm: ||W||_2 once, at the end of the epoch: one pass over the
 *   weights per epoch against one per batch for the optimizer.
 * - dead_fraction: the share of a relu layer's units whose output was 0 for
 *   every training row of the epoch, in training mode with the weights of
 *   the row's batch. The forward pass leaves each batch's outputs in the
 *   workspace; a unit is marked alive the first time one is positive, and a
 *   layer whose units have all fired is not scanned again that epoch, so a
 *   healthy network pays for this in its first batches only. Checking every
 *   row, not a sample, means a unit that fires for a few rows is not called
 *   dead; a unit that dies during the epoch counts as alive until the next.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

/* Eight partial sums in a fixed order: they vectorize (one lane each)
 * without reassociation, so every target_clones version gives the same bits. */
NN__VECTORIZE
double nn__sumsq(const float *v, size_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) lane[k] += (double)v[i + k] * (double)v[i + k];
  for (int k = 0; i < n; i++, k++) lane[k] += (double)v[i] * (double)v[i];
  return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

static int is_relu(const nn_layer_spec *l) {
  return l->type == NN_LAYER_DENSE && l->act == NN_ACT_RELU;
}

size_t nn__relu_units(const nn_spec *spec) {
  size_t n = 0;
  for (int l = 0; l < spec->n_layers; l++)
    if (is_relu(&spec->layers[l])) n += (size_t)spec->layers[l].units;
  return n;
}

int nn__diag_init(nn__diag *g, const nn_spec *spec) {
  memset(g, 0, sizeof *g);
  for (int l = 0; l < spec->n_layers; l++) {
    if (!is_relu(&spec->layers[l])) continue;
    g->unit_off[l] = g->n_units;
    g->n_units += (size_t)spec->layers[l].units;
  }
  g->alive = calloc(g->n_units ? g->n_units : 1, 1);
  return g->alive != NULL ? NN_OK : NN_ENOMEM;
}

void nn__diag_free(nn__diag *g) {
  free(g->alive);
  g->alive = NULL;
}

void nn__diag_start(nn__diag *g) {
  memset(g->grad_sq, 0, sizeof g->grad_sq);
  g->batches = 0;
  memset(g->alive, 0, g->n_units);
  memset(g->n_alive, 0, sizeof g->n_alive);
}

/* Units of each relu layer marked alive in g->alive. */
static void count_alive(nn__diag *g, const nn_spec *spec) {
  for (int l = 0; l < spec->n_layers; l++) {
    if (!is_relu(&spec->layers[l])) continue;
    const uint8_t *a = g->alive + g->unit_off[l];
    int n = 0;
    for (int j = 0; j < spec->layers[l].units; j++) n += a[j];
    g->n_alive[l] = n;
  }
}

int nn__diag_resume(nn__diag *g, const nn_train_state *s, const nn_spec *spec) {
  nn__diag_start(g);
  if (!s->has_diag) return NN_OK;
  if (s->n_units != g->n_units || s->diag_batches < 0) return NN_EINVAL;
  memcpy(g->grad_sq, s->grad_sq, sizeof g->grad_sq);
  g->batches = s->diag_batches;
  for (size_t i = 0; i < g->n_units; i++) g->alive[i] = s->alive[i] != 0;
  count_alive(g, spec);
  return NN_OK;
}

int nn__diag_save(const nn__diag *g, nn_train_state *s) {
  s->alive = malloc(g->n_units ? g->n_units : 1);
  if (s->alive == NULL) return NN_ENOMEM;
  memcpy(s->alive, g->alive, g->n_units);
  s->n_units = g->n_units;
  memcpy(s->grad_sq, g->grad_sq, sizeof s->grad_sq);
  s->diag_batches = g->batches;
  s->has_diag = 1;
  return NN_OK;
}

/* Mark the units of y (n, cols) that output > 0 in alive (cols,).
 * @return the units alive afterwards */
static int mark_alive(uint8_t *alive, const float *y, size_t n, int cols) {
  for (size_t r = 0; r < n; r++) {
    const float *yr = y + r * (size_t)cols;
    for (int j = 0; j < cols; j++) alive[j] |= yr[j] > 0.0f;
  }
  int count = 0;
  for (int j = 0; j < cols; j++) count += alive[j];
  return count;
}

void nn__diag_batch(nn__diag *g, const nn_spec *spec, const nn__arch *a, const float *grad,
                    const nn__ws *ws, size_t n) {
  for (int l = 0; l < a->n_layers; l++) {
    const nn_layer_spec *ls = &spec->layers[l];
    if (ls->type != NN_LAYER_DENSE) continue;
    g->grad_sq[l] += nn__sumsq(grad + a->w_off[l], (size_t)a->in[l] * (size_t)a->out[l]);
    if (is_relu(ls) && g->n_alive[l] < ls->units)
      g->n_alive[l] = mark_alive(g->alive + g->unit_off[l], ws->acts[l], n, ls->units);
  }
  g->batches++;
}

void nn__diag_finish(nn__diag *g, const nn_spec *spec, const nn__arch *a, const float *params) {
  for (int l = 0; l < a->n_layers; l++) {
    const nn_layer_spec *ls = &spec->layers[l];
    nn_layer_diag *d = &g->last[l];
    d->grad_norm = d->weight_norm = d->dead_fraction = NAN;
    if (ls->type != NN_LAYER_DENSE) continue;
    d->weight_norm = sqrt(nn__sumsq(params + a->w_off[l], (size_t)a->in[l] * (size_t)a->out[l]));
    /* an epoch resumed after its last batch without the checkpoint's sums
     * saw no batch here: nothing to report rather than "all dead" */
    if (g->batches == 0) continue;
    d->grad_norm = sqrt(g->grad_sq[l] / g->batches);
    if (is_relu(ls)) d->dead_fraction = (double)(ls->units - g->n_alive[l]) / ls->units;
  }
  g->has_last = 1;
}
