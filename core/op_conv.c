/*
 * op_conv.c — conv1d and conv2d as one im2col + GEMM: every output
 * position of every row of the batch becomes a row of col (n P, C kh kw),
 * the input patch it sees (zeros in the padding), and the whole batch's
 * convolution is one product Z (n P, F) = col W^T, W (F, C kh kw) in
 * PyTorch's (F, C, kh, kw) layout, followed by core/act.c's bias and
 * activation pass (whose bias is per column: per filter). Backward turns
 * dY into dZ the same way, then dW = dZ^T col and dcol = dZ W, and col2im
 * adds each patch's gradient back to the input positions it came from.
 * A conv1d is a conv2d of height 1. Costs: col holds n P C kh kw floats
 * (kh kw times the input for stride 1), Z and dZ n P F each.
 */
#include <stddef.h>
#include <string.h>

#include "graph.h"

enum { C, H, W, F, KH, KW, SH, SW, PH, PW, DH, DW, HO, WO };

static int positive(nn__gnode *n, const char *attr, const int *p, int min, nn_error *err) {
  if (p[0] < min || p[1] < min || p[0] > NN_GRAPH_MAX_VALUE || p[1] > NN_GRAPH_MAX_VALUE)
    return nn__graph_fail(err, NN_EINVAL, n, attr, "must be %s integers",
                          min ? "positive" : "non-negative");
  return NN_OK;
}

static int infer(nn__gnode *n, nn_error *err) {
  nn_node_spec *s = &n->s;
  int two = s->op == NN_OP_CONV2D;
  const nn_shape *x = &n->in[0];
  if (x->rank != (two ? 3 : 2))
    return nn__graph_fail(err, NN_ESHAPE, n, "inputs[0]", "%s reads rows of shape %s",
                          two ? "conv2d" : "conv1d", two ? "[C, H, W]" : "[C, L]");
  if (s->filters < 1 || s->filters > NN_MAX_UNITS)
    return nn__graph_fail(err, NN_EINVAL, n, "filters", "must be an integer in 1..%d",
                          NN_MAX_UNITS);
  if ((unsigned)s->activation > NN_ACT_SOFTMAX)
    return nn__graph_fail(err, NN_EINVAL, n, "activation", "not a known activation");
  if ((unsigned)s->init > NN_INIT_HE)
    return nn__graph_fail(err, NN_EINVAL, n, "init", "not a known initialisation");
  if (!(s->slope >= 0.0f && s->slope < 1.0f))
    return nn__graph_fail(err, NN_EINVAL, n, "slope", "must be in [0, 1)");
  if (!two) { /* the height axis of a conv1d is trivial */
    s->kernel[1] = s->kernel[0], s->kernel[0] = 1;
    s->stride[1] = s->stride[0] ? s->stride[0] : 1, s->stride[0] = 1;
    s->padding[1] = s->padding[0], s->padding[0] = 0;
    s->dilation[1] = s->dilation[0] ? s->dilation[0] : 1, s->dilation[0] = 1;
  } else {
    if (s->kernel[1] == 0) s->kernel[1] = s->kernel[0];
    nn__graph_pair(s->stride, 1);
    nn__graph_pair(s->dilation, 1);
  }
  int rc = positive(n, "kernel", s->kernel, 1, err);
  if (rc == NN_OK) rc = positive(n, "stride", s->stride, 1, err);
  if (rc == NN_OK) rc = positive(n, "padding", s->padding, 0, err);
  if (rc == NN_OK) rc = positive(n, "dilation", s->dilation, 1, err);
  if (rc != NN_OK) return rc;
  int *g = n->geo;
  g[C] = x->dim[0], g[H] = two ? x->dim[1] : 1, g[W] = x->dim[two ? 2 : 1];
  g[F] = s->filters, g[KH] = s->kernel[0], g[KW] = s->kernel[1];
  g[SH] = s->stride[0], g[SW] = s->stride[1], g[PH] = s->padding[0], g[PW] = s->padding[1];
  g[DH] = s->dilation[0], g[DW] = s->dilation[1];
  long long span_h = (long long)g[DH] * (g[KH] - 1) + 1; /* the dilated kernel */
  long long span_w = (long long)g[DW] * (g[KW] - 1) + 1;
  long long ho = ((long long)g[H] + 2ll * g[PH] - span_h) / g[SH] + 1;
  long long wo = ((long long)g[W] + 2ll * g[PW] - span_w) / g[SW] + 1;
  if ((long long)g[H] + 2ll * g[PH] < span_h || (long long)g[W] + 2ll * g[PW] < span_w)
    return nn__graph_fail(err, NN_ESHAPE, n, "kernel",
                          "the kernel is larger than the padded input");
  long long ck = (long long)g[C] * g[KH] * g[KW];
  if (ck > NN_GRAPH_MAX_VALUE || ho * wo * ck > NN_GRAPH_MAX_VALUE)
    return nn__graph_fail(err, NN_ERANGE, n, "kernel", "the patches hold more than %d values",
                          NN_GRAPH_MAX_VALUE);
  g[HO] = (int)ho, g[WO] = (int)wo;
  n->y = two ? (nn_shape){3, {g[F], g[HO], g[WO]}} : (nn_shape){2, {g[F], g[WO]}};
  size_t P = (size_t)(ho * wo);
  n->n_params = (size_t)g[F] * (size_t)ck + (size_t)g[F];
  n->scratch_row = P * (size_t)ck + 2 * P * (size_t)g[F]; /* col, Z, dZ */
  n->scratch_fixed = 0;
  return NN_OK;
}

static void init(const nn__gnode *n, float *w, float *state, nn__rng *r) {
  (void)state;
  const int *g = n->geo;
  int k = g[KH] * g[KW];
  nn__graph_init_weights(w, (size_t)g[F] * (size_t)(g[C] * k), g[C] * k, g[F] * k, n->s.init,
                         n->s.activation, r);
}

/* The taps j0 .. j1 of a kernel row at output column ow that fall inside
 * the input (the others read padding). */
static void taps(const int *g, int ow, int *j0, int *j1) {
  int w0 = ow * g[SW] - g[PW]; /* input column of tap 0 */
  *j0 = w0 >= 0 ? 0 : (-w0 + g[DW] - 1) / g[DW]; /* the first with w0 + j dw >= 0 */
  *j1 = w0 >= g[W] ? 0 : (g[W] - 1 - w0) / g[DW] + 1; /* past the last < W */
  if (*j0 > g[KW]) *j0 = g[KW]; /* padding wider than the kernel */
  if (*j1 > g[KW]) *j1 = g[KW];
  if (*j1 < *j0) *j1 = *j0;
}

/* col (n P, C kh kw) from x; or, when dx != NULL, dx += col's patches. The
 * bounds are worked out per kernel row, so the taps run without a test. */
static void im2col(const int *g, size_t rows, const float *x, float *dx, float *col) {
  size_t P = (size_t)g[HO] * (size_t)g[WO], zx = (size_t)g[C] * g[H] * g[W];
  size_t ck = (size_t)g[C] * g[KH] * g[KW];
  for (int ow = 0; ow < g[WO]; ow++) {
    int j0, j1, w0 = ow * g[SW] - g[PW];
    taps(g, ow, &j0, &j1);
    for (size_t r = 0; r < rows; r++)
      for (int oh = 0; oh < g[HO]; oh++) {
        float *p = col + (r * P + (size_t)oh * g[WO] + ow) * ck;
        for (int ch = 0; ch < g[C]; ch++)
          for (int i = 0; i < g[KH]; i++, p += g[KW]) {
            int ih = oh * g[SH] - g[PH] + i * g[DH];
            int inside = ih >= 0 && ih < g[H];
            /* the input row, from its column w0 on: tap j reads [j dw] */
            ptrdiff_t at = (ptrdiff_t)(r * zx) + ((ptrdiff_t)ch * g[H] + ih) * g[W] + w0;
            if (dx != NULL) {
              if (!inside) continue;
              for (int j = j0; j < j1; j++) dx[at + (ptrdiff_t)j * g[DW]] += p[j];
              continue;
            }
            if (!inside) {
              memset(p, 0, (size_t)g[KW] * sizeof(float));
              continue;
            }
            for (int j = 0; j < j0; j++) p[j] = 0.0f;
            for (int j = j0; j < j1; j++) p[j] = x[at + (ptrdiff_t)j * g[DW]];
            for (int j = j1; j < g[KW]; j++) p[j] = 0.0f;
          }
      }
  }
}

static nn_layer_spec layer(const nn__gnode *n) {
  nn_layer_spec l;
  nn_layer_spec_defaults(&l);
  l.act = n->s.activation;
  l.slope = n->s.slope;
  return l;
}

static int forward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  const int *g = n->geo;
  size_t P = (size_t)g[HO] * (size_t)g[WO], F_ = (size_t)g[F];
  int ck = g[C] * g[KH] * g[KW];
  float *col = c->scratch, *Z = col + c->n * P * (size_t)ck;
  nn_layer_spec l = layer(n);
  im2col(g, c->n, c->x[0], NULL, col);
  /* Z = act(col W^T + b), (n P, F) */
  nn__dense_forward(c->pool, &l, c->w, c->w + F_ * (size_t)ck, col, Z, NULL, c->n * P, ck, g[F]);
  /* y[r][f][p] = Z[r P + p][f] */
  for (size_t r = 0; r < c->n; r++)
    for (size_t p = 0; p < P; p++)
      for (size_t f = 0; f < F_; f++) c->y[(r * F_ + f) * P + p] = Z[(r * P + p) * F_ + f];
  return NN_OK;
}

static void backward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  const int *g = n->geo;
  size_t P = (size_t)g[HO] * (size_t)g[WO], F_ = (size_t)g[F];
  int ck = g[C] * g[KH] * g[KW];
  float *col = c->scratch, *Z = col + c->n * P * (size_t)ck, *dZ = Z + c->n * P * F_;
  nn_layer_spec l = layer(n);
  for (size_t r = 0; r < c->n; r++)
    for (size_t p = 0; p < P; p++)
      for (size_t f = 0; f < F_; f++) dZ[(r * P + p) * F_ + f] = c->dy[(r * F_ + f) * P + p];
  /* dZ = dY act'(Z), db = sum dZ, dW = dZ^T col; dcol is not wanted yet */
  nn__dense_backward(c->pool, &l, c->w, col, Z, dZ, c->dw, c->dw + F_ * (size_t)ck, NULL,
                     c->n * P, ck, g[F], 0);
  if (c->dx[0] == NULL) return;
  /* dcol = dZ W, into col (no longer needed) */
  nn__gemm_nn(c->pool, (int)(c->n * P), ck, g[F], dZ, c->w, col);
  memset(c->dx[0], 0, c->n * nn_shape_size(&n->in[0]) * sizeof(float));
  im2col(g, c->n, NULL, c->dx[0], col);
}

const nn__op nn__op_conv1d = {"conv1d", 1, 1, 0, infer, init, forward, backward};
const nn__op nn__op_conv2d = {"conv2d", 1, 1, 0, infer, init, forward, backward};
