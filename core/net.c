/*
 * net.c — forward and backward passes over the layer graph: the chain rule
 * applied layer by layer, from the loss back to the inputs.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

size_t nn__ws_floats(const nn_spec *spec, const nn__arch *a, size_t max_rows, int train) {
  assert(max_rows <= NN_MAX_BATCH);
  /* widths are at most 2^20 and rows at most 2^20: no product below overflows */
  size_t floats = max_rows * (size_t)spec->inputs;
  for (int l = 0; l < a->n_layers; l++) {
    floats += max_rows * (size_t)a->out[l];
    if (train && spec->layers[l].type == NN_LAYER_DROPOUT) floats += max_rows * (size_t)a->out[l];
  }
  size_t outputs = (size_t)a->out[a->n_layers - 1];
  if (a->fused) floats += max_rows * outputs;
  if (train) floats += 2 * max_rows * (size_t)a->max_width;
  return floats;
}

int nn__ws_init(nn__ws *ws, const nn_spec *spec, const nn__arch *a, size_t max_rows, int train) {
  memset(ws, 0, sizeof *ws);
  if (max_rows == 0 || max_rows > NN_MAX_BATCH) return NN_ERANGE;
  size_t outputs = (size_t)a->out[a->n_layers - 1];
  size_t floats = nn__ws_floats(spec, a, max_rows, train);
  float *p = nn__alloc_big(floats * sizeof(float));
  if (p == NULL) return NN_ENOMEM;
  ws->mem = p;
  ws->max_rows = max_rows;
  ws->x = p;
  p += max_rows * (size_t)spec->inputs;
  for (int l = 0; l < a->n_layers; l++) {
    ws->acts[l] = p;
    p += max_rows * (size_t)a->out[l];
    if (train && spec->layers[l].type == NN_LAYER_DROPOUT) {
      ws->masks[l] = p;
      p += max_rows * (size_t)a->out[l];
    }
  }
  if (a->fused) {
    ws->logits = p;
    p += max_rows * outputs;
  }
  if (train) {
    ws->g0 = p;
    ws->g1 = p + max_rows * (size_t)a->max_width;
    p = ws->g1 + max_rows * (size_t)a->max_width;
  }
  /* The buffers carved out above are exactly the block counted for them. */
  assert(p == ws->mem + floats);
  return NN_OK;
}

void nn__ws_free(nn__ws *ws) {
  free(ws->mem);
  memset(ws, 0, sizeof *ws);
}

/* Rows r0 .. r1 of nn__standardize. */
NN__INLINE void standardize_rows(const float *src, const uint32_t *idx, int inputs,
                                 const float *mean, const float *std, float *dst, size_t r0,
                                 size_t r1) {
  /* x' = (x - mean) / std; exact for the identity statistics (0, 1) */
  for (size_t r = r0; r < r1; r++) {
    const float *x = src + (idx != NULL ? (size_t)idx[r] : r) * (size_t)inputs;
    float *d = dst + r * (size_t)inputs;
    for (int j = 0; j < inputs; j++) d[j] = (x[j] - mean[j]) / std[j];
  }
}

/* Floats per task of a standardization on the pool, about: 128 KiB. */
#define STANDARDIZE_CHUNK 32768

typedef struct {
  const float *src, *mean, *std;
  const uint32_t *idx;
  int inputs;
  float *dst;
} standardize_args;

NN__VECTORIZE
static void standardize_task(void *ctx, size_t r0, size_t r1) {
  const standardize_args *a = ctx;
  standardize_rows(a->src, a->idx, a->inputs, a->mean, a->std, a->dst, r0, r1);
}

NN__VECTORIZE
void nn__standardize(nn__pool *pool, const float *src, const uint32_t *idx, size_t n,
                     int inputs, const float *mean, const float *std, float *dst) {
  if (n * (size_t)inputs <= STANDARDIZE_CHUNK) {
    standardize_rows(src, idx, inputs, mean, std, dst, 0, n);
    return;
  }
  size_t chunk = STANDARDIZE_CHUNK / (size_t)inputs > 0 ? STANDARDIZE_CHUNK / (size_t)inputs : 1;
  standardize_args a = {src, mean, std, idx, inputs, dst};
  nn__pool_for(pool, n, chunk, standardize_task, &a);
}

void nn__net_forward(const nn_spec *spec, const nn__arch *a, const float *params, nn__ws *ws,
                     size_t n, nn__rng *rng) {
  assert(n <= ws->max_rows);
  const float *in = ws->x; /* (n, a->in[l]) */
  int last = a->n_layers - 1;
  ws->dropout_on = rng != NULL;
  for (int l = 0; l < a->n_layers; l++) {
    const nn_layer_spec *ls = &spec->layers[l];
    float *out = ws->acts[l]; /* (n, a->out[l]) */
    if (ls->type == NN_LAYER_DENSE) {
      float *logits = (a->fused && l == last) ? ws->logits : NULL;
      if (n > 0)
        nn__dense_forward(ws->pool, ls, params + a->w_off[l], params + a->b_off[l], in, out,
                          logits, n, a->in[l], a->out[l]);
    } else if (ws->batch_rows > 0 && rng != NULL && ls->rate > 0.0f) {
      /* a shard: row i of the batch draws its mask from the generator's
       * position i * width whichever rank holds it, as in one process */
      uint64_t width = (uint64_t)a->out[l];
      nn__rng r = *rng;
      nn__rng_advance(&r, ws->row0 * width);
      nn__dropout_forward(ls->rate, in, out, ws->masks[l], n, a->out[l], &r);
      nn__rng_advance(rng, ws->batch_rows * width);
    } else {
      nn__dropout_forward(ls->rate, in, out, ws->masks[l], n, a->out[l],
                          ls->rate > 0.0f ? rng : NULL);
    }
    in = out;
  }
}

void nn__net_backward(const nn_spec *spec, const nn__arch *a, const float *params, nn__ws *ws,
                      size_t n, float *grad, float *dx, double (*sq)[NN_DIAG_LANES]) {
  assert(n <= ws->max_rows && ws->g0 != NULL); /* a training workspace */
  float *g = ws->g0;     /* (n, a->out[l]): dLoss/dOutput of layer l */
  float *other = ws->g1; /* (n, a->in[l]): dLoss/dInput of layer l */
  for (int l = a->n_layers - 1; l >= 0; l--) {
    /* layers at or below the first dense one pass no gradient further down
     * unless the caller wants dLoss/dx */
    int need_dx = l > a->first_dense || dx != NULL;
    const nn_layer_spec *ls = &spec->layers[l];
    if (ls->type == NN_LAYER_DENSE) {
      const float *X = l == 0 ? ws->x : ws->acts[l - 1];
      float *dX = !need_dx ? NULL : l == 0 ? dx : other;
      nn__dense_backward(ws->pool, ls, params + a->w_off[l], X, ws->acts[l], g, grad + a->w_off[l],
                         grad + a->b_off[l], dX, n, a->in[l], a->out[l],
                         a->fused && l == a->n_layers - 1);
      if (sq != NULL && (size_t)a->in[l] * (size_t)a->out[l] >= NN__HOT_SQUARES)
        nn__add_squares(grad + a->w_off[l], (size_t)a->in[l] * (size_t)a->out[l], sq[l]);
      float *t = g;
      g = other;
      other = t;
    } else {
      if (ws->dropout_on && ls->rate > 0.0f) nn__dropout_backward(g, ws->masks[l], n, a->out[l]);
      if (l == 0 && dx != NULL) memcpy(dx, g, n * (size_t)a->out[l] * sizeof(float));
    }
    if (!need_dx) break;
  }
}

void nn__net_infer(const nn_spec *spec, const nn__arch *a, const float *params,
                   const float *mean, const float *std, const float *x, size_t n, float *y,
                   float *buf0, float *buf1, size_t chunk) {
  int last = a->n_layers - 1;
  int outputs = a->out[last];
  for (size_t r0 = 0; r0 < n; r0 += chunk) {
    size_t rows = n - r0 < chunk ? n - r0 : chunk;
    float *cur = buf0, *nxt = buf1; /* (rows, max_width) each */
    nn__standardize(NULL, x + r0 * (size_t)spec->inputs, NULL, rows, spec->inputs, mean, std, cur);
    for (int l = 0; l <= last; l++) {
      const nn_layer_spec *ls = &spec->layers[l];
      if (ls->type != NN_LAYER_DENSE) continue; /* dropout is the identity here */
      float *dst = l == last ? y + r0 * (size_t)outputs : nxt;
      nn__dense_forward(NULL, ls, params + a->w_off[l], params + a->b_off[l], cur, dst, NULL, rows,
                        a->in[l], a->out[l]);
      nxt = cur;
      cur = dst;
    }
  }
}
