/*
 * gradcheck.c — backprop against central finite differences of the loss.
 *
 * Accuracy. Differences of a float32 loss are mostly rounding: at a step of
 * 1e-3 the noise in (L(p + h) - L(p - h)) / 2h is already about 1e-4 |L|.
 * So the numeric side is the loss in double precision (exact.c), each
 * parameter p moved by h = epsilon max(1, |p|), epsilon 1e-6 by default:
 * the quotient's rounding is then about 1e-16 |L| / h = 1e-10 |L|, and its
 * truncation error h^2 |L'''| / 6 smaller still. The analytic side is what
 * is checked: core's float32 backprop (nn_model_loss_grad). A correct one
 * differs from the numeric derivative by float32 rounding alone, 1e-6 to
 * 1e-3 relative; a wrong derivative, a lost factor or a missing term by far
 * more than the 1e-2 threshold.
 *
 * Error of a parameter with analytic a and numeric d:
 *   |a - d| / max(|a|, |d|, floor),
 * where floor, per tensor (W or b of a layer), is the largest of
 * - 1e-3 of the tensor's largest |d|: float32 cannot resolve a gradient a
 *   thousand times below those it is summed with;
 * - the gradient at which float32 rounding reaches the threshold. The
 *   rounding gradient is what rounding the outputs to float32 alone causes
 *   (each output's unit roundoff with a random sign, through backprop);
 *   measured on trained nets, float32 backprop stays within 3 times its
 *   largest entry in the tensor, so the floor is 3 / threshold times that.
 *   It matters near a perfect fit, where the true gradient shrinks towards
 *   it: a softmax output of 1 - 1e-7 is 1 in float32, so p - t, and all
 *   that backprop derives from it, is off by as much as it is large;
 * - the quotient's own rounding, 64 DBL_EPSILON max(1, |L|) / epsilon.
 * A parameter whose step moves any relu or leaky_relu pre-activation across
 * 0 has no derivative to compare and is skipped.
 *
 * Cost. Tensors are checked cheapest first (one move costs
 * nn__exact_cost); each takes up to NN_GRADCHECK_PER_TENSOR checks out of
 * an equal share of what is left of NN_GRADCHECK_BUDGET, so what a cheap
 * tensor leaves goes to the expensive ones, and the whole check stays
 * within the budget however large the model.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#define PICK_STREAM 0x6772616463686bull /* generator stream for picking parameters */
#define FLOOR_SHARE 1e-3                /* of the largest numeric derivative of a tensor */
#define ROUNDING_ERROR 3.0              /* float32 backprop's error / the rounding gradient */

/* One tensor to check: W or b of a dense layer. */
typedef struct {
  int layer;
  int bias;     /* 0: W (out, in); 1: b (out,) */
  size_t size;  /* entries */
  double cost;  /* multiply-adds of one check (two moves) */
  size_t count; /* checks granted */
  double rounding; /* largest |entry| of its rounding gradient */
} tensor;

void nn_gradcheck_defaults(nn_gradcheck_config *c) {
  c->epsilon = NN_GRADCHECK_EPSILON;
  c->seed = 0;
}

/* Grant each tensor its checks, cheapest first, from equal shares of what
 * the tensors before it left of the budget. */
static void plan(tensor *ts, int n) {
  /* insertion sort by cost: at most 2 NN_MAX_LAYERS tensors */
  for (int i = 1; i < n; i++)
    for (int k = i; k > 0 && ts[k].cost < ts[k - 1].cost; k--) {
      tensor t = ts[k];
      ts[k] = ts[k - 1];
      ts[k - 1] = t;
    }
  double left = NN_GRADCHECK_BUDGET;
  for (int i = 0; i < n; i++) {
    double share = left / (n - i), fits = floor(share / ts[i].cost);
    size_t want = ts[i].size < NN_GRADCHECK_PER_TENSOR ? ts[i].size : NN_GRADCHECK_PER_TENSOR;
    ts[i].count = fits < (double)want ? (size_t)fits : want;
    left -= (double)ts[i].count * ts[i].cost;
  }
}

/* count distinct entries of [0, size), all of them when count == size,
 * else a seeded sample (Floyd's algorithm), into idx (count,). */
static void pick(size_t *idx, size_t count, size_t size, uint64_t seed, uint64_t stream) {
  if (count == size) {
    for (size_t i = 0; i < count; i++) idx[i] = i;
    return;
  }
  nn__rng r;
  nn__rng_seed(&r, seed, PICK_STREAM + stream);
  for (size_t k = 0, j = size - count; j < size; j++, k++) {
    size_t v = (size_t)nn__rng_below(&r, j + 1), seen = 0;
    for (size_t q = 0; q < k && !seen; q++) seen = idx[q] == v;
    idx[k] = seen ? j : v;
  }
}

/* The gradient that rounding the network's outputs to float32 alone causes:
 * each output's unit roundoff (over the rows, as the mean loss weighs it),
 * with random signs, through backprop into g (P,). */
static int rounding_gradient(const nn_model *m, const nn_data *d, float *g) {
  const nn__arch *a = &m->arch;
  size_t n = d->rows, count = n * (size_t)a->out[a->n_layers - 1];
  nn__ws ws;
  nn__rng r;
  int rc = nn__ws_init(&ws, &m->spec, a, n, 1);
  if (rc != NN_OK) return rc;
  nn__standardize(NULL, d->x, NULL, n, m->spec.inputs, m->mean, m->std, ws.x);
  nn__net_forward(&m->spec, a, m->params, &ws, n, NULL);
  const float *y = ws.acts[a->n_layers - 1]; /* (n, outputs) */
  nn__rng_seed(&r, 0, PICK_STREAM);
  for (size_t i = 0; i < count; i++)
    ws.g0[i] = (nn__rng_u32(&r) & 1 ? FLT_EPSILON : -FLT_EPSILON) * fabsf(y[i]) / (float)n;
  nn__net_backward(&m->spec, a, m->params, &ws, n, g, NULL, NULL);
  nn__ws_free(&ws);
  return NN_OK;
}

/* Check the picked entries of one tensor; fills its half of the layer's
 * result. num, ana and idx are (NN_GRADCHECK_PER_TENSOR,) scratch. */
static void check_tensor(nn__exact *e, const tensor *t, const float *grad, double epsilon,
                         uint64_t seed, nn_gradcheck_layer *out, double *num, double *ana,
                         size_t *idx) {
  const nn__arch *a = &e->m->arch;
  const float *params = e->m->params;
  int in = a->in[t->layer];
  size_t off = t->bias ? a->b_off[t->layer] : a->w_off[t->layer], checked = 0;
  double scale = 0.0, worst = NAN;
  pick(idx, t->count, t->size, seed, 2 * (uint64_t)t->layer + (uint64_t)t->bias);
  for (size_t k = 0; k < t->count; k++) {
    size_t p = idx[k];
    int j = t->bias ? (int)p : (int)(p / (size_t)in), i = t->bias ? -1 : (int)(p % (size_t)in);
    double h = epsilon * fmax(1.0, fabs((double)params[off + p]));
    int kink_hi, kink_lo;
    double hi = nn__exact_moved(e, t->layer, j, i, h, &kink_hi);
    double lo = nn__exact_moved(e, t->layer, j, i, -h, &kink_lo);
    if (kink_hi || kink_lo) {
      out->skipped++;
      continue;
    }
    num[checked] = (hi - lo) / (2.0 * h);
    ana[checked] = grad[off + p];
    scale = fmax(scale, fabs(num[checked]));
    checked++;
  }
  double floor_of_tensor = FLOOR_SHARE * scale;
  double floor_of_float = ROUNDING_ERROR * t->rounding / NN_GRADCHECK_THRESHOLD;
  double floor_of_double = 64.0 * DBL_EPSILON * fmax(1.0, fabs(e->loss)) / epsilon;
  double tiny = fmax(fmax(floor_of_tensor, floor_of_float), floor_of_double);
  for (size_t k = 0; k < checked; k++) {
    double err = fabs(ana[k] - num[k]) / fmax(fmax(fabs(ana[k]), fabs(num[k])), tiny);
    if (isnan(err)) err = INFINITY; /* a NaN gradient fails */
    worst = k == 0 || err > worst ? err : worst;
  }
  if (t->bias) {
    out->bias_error = worst;
    out->biases_checked = checked;
  } else {
    out->weight_error = worst;
    out->weights_checked = checked;
  }
}

static int check_args(const nn_model *m, const nn_data *d, const nn_gradcheck_config *c,
                      nn_error *err) {
  if (m->graph != NULL) /* no double-precision twin: gradcheck_graph.c */
    return nn__fail(err, NN_EINVAL, "model",
                    "a graph model is checked by nn_gradcheck_graph");
  if (!(c->epsilon > 0.0 && c->epsilon <= 0.1))
    return nn__fail(err, NN_EINVAL, "epsilon", "epsilon must be in (0, 0.1]");
  if (d->rows > NN_MAX_BATCH)
    return nn__fail(err, NN_ERANGE, "rows", "a gradient check takes at most %d rows",
                    NN_MAX_BATCH);
  return nn_data_check(d, &m->spec, err);
}

/* The tensors of m with their costs and rounding gradients; @return how many */
static int tensors(const nn__exact *e, const float *rounding, tensor *ts) {
  const nn__arch *a = &e->m->arch;
  int n = 0;
  for (int l = 0; l < a->n_layers; l++) {
    if (e->m->spec.layers[l].type != NN_LAYER_DENSE) continue;
    double cost = 2.0 * nn__exact_cost(e, l);
    ts[n++] = (tensor){l, 0, (size_t)a->in[l] * (size_t)a->out[l], cost, 0, 0.0};
    ts[n++] = (tensor){l, 1, (size_t)a->out[l], cost, 0, 0.0};
    for (int k = n - 2; k < n; k++) {
      const float *r = rounding + (ts[k].bias ? a->b_off[l] : a->w_off[l]);
      for (size_t i = 0; i < ts[k].size; i++) ts[k].rounding = fmax(ts[k].rounding, fabsf(r[i]));
    }
  }
  return n;
}

int nn__gradcheck_with(const nn_model *m, const nn_data *d, const float *grad,
                       const nn_gradcheck_config *c, nn_gradcheck_result *out, nn_error *err) {
  tensor ts[2 * NN_MAX_LAYERS];
  double num[NN_GRADCHECK_PER_TENSOR], ana[NN_GRADCHECK_PER_TENSOR];
  size_t idx[NN_GRADCHECK_PER_TENSOR];
  nn__exact e = {0};
  float *rounding = NULL;
  int n, rc = check_args(m, d, c, err);
  if (rc != NN_OK) return rc;
  rounding = malloc(m->arch.n_params * sizeof *rounding); /* (P,) */
  if (rounding == NULL || (rc = rounding_gradient(m, d, rounding)) != NN_OK ||
      (rc = nn__exact_init(&e, m, d)) != NN_OK) {
    rc = nn__fail(err, NN_ENOMEM, "", "cannot allocate a gradient check of %zu rows", d->rows);
    goto exit;
  }
  memset(out, 0, sizeof *out);
  for (int l = 0; l < m->spec.n_layers; l++)
    out->layers[l].weight_error = out->layers[l].bias_error = NAN;
  n = tensors(&e, rounding, ts);
  plan(ts, n);
  for (int t = 0; t < n; t++)
    check_tensor(&e, &ts[t], grad, c->epsilon, c->seed, &out->layers[ts[t].layer], num, ana,
                 idx);
  out->loss = e.loss;
  out->threshold = NN_GRADCHECK_THRESHOLD;
  out->max_error = NAN;
  for (int l = 0; l < m->spec.n_layers; l++) {
    const nn_gradcheck_layer *g = &out->layers[l];
    out->checked += g->weights_checked + g->biases_checked;
    if (g->weights_checked) out->max_error = fmax(out->max_error, g->weight_error);
    if (g->biases_checked) out->max_error = fmax(out->max_error, g->bias_error);
  }
  out->pass = out->checked > 0 && out->max_error < out->threshold;
exit:
  nn__exact_free(&e);
  free(rounding);
  return rc;
}

int nn_gradcheck(const nn_model *m, const nn_data *d, const nn_gradcheck_config *c,
                 nn_gradcheck_result *out, nn_error *err) {
  double loss;
  int rc = check_args(m, d, c, err);
  if (rc != NN_OK) return rc;
  float *grad = malloc(m->arch.n_params * sizeof *grad); /* (P,) */
  if (grad == NULL) return nn__fail(err, NN_ENOMEM, "", "cannot allocate the gradient");
  rc = nn_model_loss_grad(m, d->x, d->y, d->labels, d->rows, grad, NULL, &loss);
  if (rc != NN_OK)
    nn__fail(err, rc, "", "cannot compute the gradient: %s", nn_strerror(rc));
  else
    rc = nn__gradcheck_with(m, d, grad, c, out, err);
  free(grad);
  return rc;
}
