/*
 * diag.c — per-layer training diagnostics, gathered by the trainer when
 * nn_train_config.diagnostics is set. What is measured, and why it is cheap:
 *
 * - grad_norm: the root mean square over the epoch's batches of ||dW||_2,
 *   the Frobenius norm of a dense layer's weight gradient as backprop
 *   computed it (before clipping and weight decay, so a gradient that
 *   explodes shows even when clipping hides it from the optimizer). Each
 *   batch adds the squares of dW into eight partial sums per layer: a large
 *   layer's right after the backward pass computed it, while it is still in
 *   cache (NN__HOT_SQUARES), the small ones together at the end of the
 *   batch. The root mean square rather than the mean of the norms: no
 *   square root, indeed no reduction, per batch (a small net's batch takes
 *   a microsecond, and such chains of dependent additions would show), and
 *   the partial sums resume exactly from a checkpoint.
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
 *
 * A graph model's are per node, the same measures: grad_norm and
 * weight_norm over all of a parameter node's parameters (a dense or conv
 * node's weight and bias, an embedding's table, a norm's gain and bias), all
 * squared here after the backward pass, and dead_fraction over the entries
 * of a row of a relu node's value (a relu op, or a dense or conv node with
 * activation relu: for a conv, each filter at each position), which stays
 * in the graph's workspace after the forward pass.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define LANES NN_DIAG_LANES
#define WIDE 32        /* float lanes of the block path */
#define BLOCK 64       /* rows of WIDE a float lane sums before it goes to double */
#define WIDE_FROM 1024 /* tensors this large take the block path */

/* Add the squares of v (n,) to lanes (LANES,). Each lane is its own chain
 * of additions in a fixed order, so the loops vectorize without
 * reassociation and every target_clones version gives the same bits.
 * Large tensors square and add in float, 32 lanes of at most 64 terms each
 * (relative error below 4e-6; every term is positive, so nothing cancels),
 * and only each block's lanes are added in double: converting every element
 * would take three times as long, and a large layer's gradient is read at
 * every batch. */
NN__INLINE void add_squares(const float *v, size_t n, double *lanes) {
  size_t i = 0;
  if (n >= WIDE_FROM)
    while (n - i >= WIDE) {
      float wide[WIDE] = {0};
      size_t rows = (n - i) / WIDE < BLOCK ? (n - i) / WIDE : BLOCK;
      for (size_t end = i + rows * WIDE; i < end; i += WIDE)
        for (int k = 0; k < WIDE; k++) wide[k] += v[i + k] * v[i + k];
      for (int k = 0; k < WIDE; k++) lanes[k % LANES] += wide[k];
    }
  /* two rows of lanes a step: half the loop overhead on a small net */
  for (; n - i >= 2 * LANES; i += 2 * LANES) {
    for (int k = 0; k < LANES; k++) lanes[k] += (double)v[i + k] * (double)v[i + k];
    for (int k = 0; k < LANES; k++)
      lanes[k] += (double)v[i + LANES + k] * (double)v[i + LANES + k];
  }
  if (n - i >= LANES) {
    for (int k = 0; k < LANES; k++) lanes[k] += (double)v[i + k] * (double)v[i + k];
    i += LANES;
  }
  for (int k = 0; i < n; i++, k++) lanes[k] += (double)v[i] * (double)v[i];
}

_Static_assert(LANES == 8, "lanes_sum adds eight lanes");
static double lanes_sum(const double *lanes) {
  return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
         ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

NN__VECTORIZE
void nn__add_squares(const float *v, size_t n, double *lanes) { add_squares(v, n, lanes); }

NN__VECTORIZE
double nn__sumsq(const float *v, size_t n) {
  double lanes[LANES] = {0, 0, 0, 0, 0, 0, 0, 0};
  add_squares(v, n, lanes);
  return lanes_sum(lanes);
}

static int is_relu(const nn_layer_spec *l) {
  return l->type == NN_LAYER_DENSE && l->act == NN_ACT_RELU;
}

/* A relu node: a relu op, or a dense or conv node with activation relu. */
static int is_relu_node(const nn_node_spec *n) {
  int product = n->op == NN_OP_DENSE || n->op == NN_OP_CONV1D || n->op == NN_OP_CONV2D;
  return n->op == NN_OP_RELU || (product && n->activation == NN_ACT_RELU);
}

int nn__diag_slots(const nn_spec *spec, int *units) {
  if (spec->graph == NULL) {
    for (int l = 0; l < spec->n_layers; l++)
      units[l] = is_relu(&spec->layers[l]) ? spec->layers[l].units : 0;
    return spec->n_layers;
  }
  const nn_graph_spec *gs = spec->graph;
  nn__graph_size *z = malloc(sizeof *z);
  int rc = z == NULL ? NN_ENOMEM : nn__graph_measure(gs, 1, 1, z, NULL);
  for (int i = 0; rc == NN_OK && i < gs->n_nodes; i++)
    units[i] = is_relu_node(&gs->nodes[i]) ? (int)z->node_size[i] : 0;
  free(z);
  return rc == NN_OK ? gs->n_nodes : rc;
}

size_t nn__relu_units(const nn_spec *spec) {
  int units[NN_DIAG_SLOTS], slots = nn__diag_slots(spec, units);
  size_t n = 0;
  for (int i = 0; i < slots; i++) n += (size_t)units[i];
  return n;
}

/* The alive flags of the relu units found, and the start. */
static int alive_new(nn__diag *g, nn__diag **out) {
  if ((g->alive = calloc(g->n_units ? g->n_units : 1, 1)) == NULL) {
    free(g);
    return NN_ENOMEM;
  }
  g->pending = g->n_relu;
  *out = g;
  return NN_OK;
}

int nn__diag_new_graph(const nn_graph *gr, nn__diag **out) {
  nn__diag *g = calloc(1, sizeof *g);
  if (g == NULL) return NN_ENOMEM;
  g->n_slots = nn_graph_nodes(gr);
  for (int i = 0; i < g->n_slots; i++) {
    size_t off, count;
    nn_graph_node_params(gr, i, &off, &count);
    if (count > 0) {
      g->w_off[g->n_dense] = off;
      g->w_size[g->n_dense] = count;
      g->dense[g->n_dense++] = i;
    }
    if (!is_relu_node(nn_graph_node(gr, i))) continue;
    int v = nn_graph_values(gr) - g->n_slots + i; /* inputs come first */
    g->units[i] = (int)nn_shape_size(nn_graph_shape(gr, v));
    g->act[i] = nn_graph_value(gr, v); /* its place in the workspace: fixed */
    g->relu[g->n_relu++] = i;
    g->unit_off[i] = g->n_units;
    g->n_units += (size_t)g->units[i];
  }
  return alive_new(g, out);
}

int nn__diag_new(const nn_spec *spec, const nn__arch *a, nn__diag **out) {
  nn__diag *g = calloc(1, sizeof *g);
  if (g == NULL) return NN_ENOMEM;
  g->n_slots = spec->n_layers;
  g->hot = 1;
  for (int l = 0; l < spec->n_layers; l++) {
    const nn_layer_spec *ls = &spec->layers[l];
    g->units[l] = a->out[l];
    if (ls->type != NN_LAYER_DENSE) continue;
    g->w_off[g->n_dense] = a->w_off[l];
    g->w_size[g->n_dense] = (size_t)a->in[l] * (size_t)a->out[l];
    g->dense[g->n_dense++] = l;
    if (!is_relu(ls)) continue;
    g->relu[g->n_relu++] = l;
    g->unit_off[l] = g->n_units;
    g->n_units += (size_t)ls->units;
  }
  return alive_new(g, out);
}

void nn__diag_free(nn__diag *g) {
  if (g == NULL) return;
  free(g->alive);
  free(g);
}

void nn__diag_start(nn__diag *g) {
  memset(g->grad_sq, 0, sizeof g->grad_sq);
  g->batches = 0;
  memset(g->alive, 0, g->n_units);
  memset(g->n_alive, 0, sizeof g->n_alive);
  g->pending = g->n_relu;
}

/* Count the units of each relu layer marked alive in g->alive. */
static void count_alive(nn__diag *g) {
  g->pending = 0;
  for (int k = 0; k < g->n_relu; k++) {
    int l = g->relu[k], n = 0;
    const uint8_t *a = g->alive + g->unit_off[l];
    for (int j = 0; j < g->units[l]; j++) n += a[j];
    g->n_alive[l] = n;
    g->pending += n < g->units[l];
  }
}

int nn__diag_resume(nn__diag *g, const nn_train_state *s) {
  nn__diag_start(g);
  if (!s->has_diag) return NN_OK;
  if (s->n_units != g->n_units || s->diag_batches < 0) return NN_EINVAL;
  memcpy(g->grad_sq, s->grad_sq, sizeof g->grad_sq);
  g->batches = s->diag_batches;
  for (size_t i = 0; i < g->n_units; i++) g->alive[i] = s->alive[i] != 0;
  count_alive(g);
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
NN__INLINE int mark_alive(uint8_t *alive, const float *y, size_t n, int cols) {
  for (size_t r = 0; r < n; r++) {
    const float *yr = y + r * (size_t)cols;
    for (int j = 0; j < cols; j++) alive[j] |= yr[j] > 0.0f;
  }
  int count = 0;
  for (int j = 0; j < cols; j++) count += alive[j];
  return count;
}

NN__VECTORIZE
void nn__diag_batch(nn__diag *g, const float *grad, const nn__ws *ws, size_t n) {
  for (int k = 0; k < g->n_dense; k++)
    if (!g->hot || g->w_size[k] < NN__HOT_SQUARES)
      add_squares(grad + g->w_off[k], g->w_size[k], g->grad_sq[g->dense[k]]);
  for (int k = 0; g->pending > 0 && k < g->n_relu; k++) {
    int l = g->relu[k];
    if (g->n_alive[l] == g->units[l]) continue;
    const float *y = ws != NULL ? ws->acts[l] : g->act[l];
    g->n_alive[l] = mark_alive(g->alive + g->unit_off[l], y, n, g->units[l]);
    g->pending -= g->n_alive[l] == g->units[l];
  }
  g->batches++;
}

void nn__diag_finish(nn__diag *g, const float *params) {
  for (int l = 0; l < g->n_slots; l++) g->last[l].grad_norm = g->last[l].weight_norm =
                                          g->last[l].dead_fraction = NAN;
  for (int k = 0; k < g->n_dense; k++) {
    nn_layer_diag *d = &g->last[g->dense[k]];
    d->weight_norm = sqrt(nn__sumsq(params + g->w_off[k], g->w_size[k]));
    /* an epoch resumed after its last batch without the checkpoint's sums
     * saw no batch here: nothing to report rather than "all dead" */
    if (g->batches > 0) d->grad_norm = sqrt(lanes_sum(g->grad_sq[g->dense[k]]) / g->batches);
  }
  for (int k = 0; k < g->n_relu && g->batches > 0; k++) {
    int l = g->relu[k];
    g->last[l].dead_fraction = (double)(g->units[l] - g->n_alive[l]) / g->units[l];
  }
  g->has_last = 1;
}
