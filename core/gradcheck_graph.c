/*
 * gradcheck_graph.c — backprop of a graph model against central finite
 * differences of its loss on a dataset's rows (graph.h, nn_gradcheck_graph).
 *
 * The layer list's check (gradcheck.c) has a double-precision twin of the
 * network to difference; a graph has none, so this one differences the
 * float32 passes themselves, as nn_graph_check does on the engine: the model
 * is cloned, its graph compiled over the clone's parameters for all the
 * rows, and each checked parameter p moved by h = epsilon max(1, |p|) to
 * give (L(p + h) - L(p - h)) / 2h, L the mean training loss of the rows in
 * evaluation mode (dropout off, batchnorm's running statistics), summed in
 * double over the float32 outputs. The analytic side is the graph's backward
 * at the unmoved parameters.
 *
 * Accuracy. The outputs' rounding, about FLT_EPSILON of them, leaves noise
 * of a few FLT_EPSILON |L| in each L; over 2h that is the gradient below
 * which a difference cannot be trusted. So the step is large (epsilon 1e-3
 * by default, NN_GRAPH_GRADCHECK_EPSILON: its truncation error h^2 L''' / 6
 * is still small next to a wrong gradient, which is off by a factor) and the
 * error is |a - d| / max(|a|, |d|, floor), the floor the largest of
 * - the noise over the threshold: 8 FLT_EPSILON max(1, |L|) / (2 epsilon
 *   threshold), at which rounding alone would reach the threshold;
 * - 1e-3 of the node's largest |d|, as the layer list's.
 * A kink (relu, maxpool's choice) straddled by a step is seen in the pass's
 * pattern (which side of every relu each entry is on, which entry each
 * window took): a side that changes it is not differenced; with one smooth
 * side, the quadratic through L(p), L(p + h) and L(p + 2h) on that side
 * (if p + 2h is smooth too) gives the slope, else the entry is skipped.
 *
 * Costs: up to NN_GRADCHECK_PER_TENSOR entries of each parameter node,
 * spread evenly over it (offset by the seed), two or three forward passes
 * over the rows each; fewer when 2 n (P + V) per pass (P parameters, V values per
 * row, about a pass's work) times the entries would pass
 * NN_GRADCHECK_BUDGET. One backward pass, a clone of the model and the
 * compiled graph.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define FLOOR_SHARE 1e-3 /* of the node's largest numeric derivative */
#define NOISE_ULPS 8.0   /* rounding noise of L, in FLT_EPSILON |L| */

typedef struct {
  nn_model *m;          /* the clone, whose parameters move */
  nn__gnet *r;          /* its graph for all the rows */
  const nn_data *d;
  const float *x;       /* (n, inputs) standardized */
  double floor;         /* the noise floor */
  size_t n_sig;         /* floats of a pass's kink pattern */
  float *sig0, *sig;    /* (n_sig,) the unmoved pass's, a moved one's */
} check;

/* A node whose derivative jumps: a relu or leaky_relu op, a dense or conv
 * node with one of them as its activation, a maxpool. */
static int kinked(const nn_node_spec *s) {
  nn_act a = s->activation;
  int act = (s->op == NN_OP_DENSE || s->op == NN_OP_CONV1D || s->op == NN_OP_CONV2D) &&
            (a == NN_ACT_RELU || a == NN_ACT_LEAKY_RELU);
  return act || s->op == NN_OP_RELU || s->op == NN_OP_LEAKY_RELU || s->op == NN_OP_MAXPOOL;
}

/* The last pass's side of every kink into sig (n_sig,), or its size when
 * sig is NULL: y > 0 of a relu (y > 0 exactly when x > 0), the index each
 * maxpool window took (forward keeps it in scratch). Two passes with the
 * same pattern are the same smooth function of the parameters. */
static size_t pattern(const nn_graph *g, size_t n, float *sig) {
  size_t at = 0;
  for (int i = 0; i < g->spec.n_nodes; i++) {
    const nn__gnode *node = &g->nodes[i];
    if (!kinked(&node->s)) continue;
    size_t count = n * nn_shape_size(&node->y);
    if (sig != NULL) {
      const float *y = nn_graph_value(g, g->spec.n_inputs + i);
      if (node->s.op == NN_OP_MAXPOOL)
        memcpy(sig + at, g->ws + node->scratch_off, count * sizeof(float));
      else
        for (size_t j = 0; j < count; j++) sig[at + j] = y[j] > 0.0f;
    }
    at += count;
  }
  return at;
}

/* L, the mean loss of the rows at the clone's parameters, and its kink
 * pattern into sig; dout: also dL/dlogits into the graph's. */
static int loss(check *k, int dout, float *sig, double *L) {
  const float *out, *logits;
  const nn_data *d = k->d;
  int rc = nn__gnet_forward(k->r, k->x, d->rows, 0, NULL, NULL, &out, &logits);
  if (rc != NN_OK) return rc;
  nn__loss_sum s = {0};
  nn__loss(k->m->spec.loss, out, logits, d->y, d->y != NULL ? NULL : d->labels, d->rows,
           d->rows, k->m->spec.graph_outputs, dout ? nn__gnet_dout(k->r) : NULL, &s);
  *L = s.loss / (double)d->rows;
  pattern(nn__gnet_graph(k->r), d->rows, sig);
  return NN_OK;
}

/* Check count entries of the node's parameters w (size,) against grad. */
static int node(check *k, float *w, const float *grad, size_t size, size_t count,
                uint64_t seed, double epsilon, double L0, nn_gradcheck_node *out) {
  double num[NN_GRADCHECK_PER_TENSOR], ana[NN_GRADCHECK_PER_TENSOR], scale = 0.0;
  size_t checked = 0;
  for (size_t j = 0; j < count; j++) {
    size_t i = (j * size / count + seed) % size; /* distinct: an even spread, shifted */
    float keep = w[i];
    double h = epsilon * fmax(1.0, fabs((double)keep)), Lp, Lm;
    w[i] = (float)(keep + h);
    double hp = (double)w[i] - keep; /* the step float32 can take */
    size_t bytes = k->n_sig * sizeof(float);
    int rc = loss(k, 0, k->sig, &Lp), up = rc == NN_OK && !memcmp(k->sig, k->sig0, bytes);
    w[i] = (float)(keep - h);
    double hm = keep - (double)w[i];
    if (rc == NN_OK) rc = loss(k, 0, k->sig, &Lm);
    int down = rc == NN_OK && !memcmp(k->sig, k->sig0, bytes), far = 0;
    double a = up ? hp : -hm, La = up ? Lp : Lm, b = 0.0, Lb = 0.0;
    if (rc == NN_OK && up != down) { /* one side crosses a kink: twice as far on the other */
      w[i] = (float)(keep + (up ? 2.0 : -2.0) * h);
      b = (double)w[i] - keep;
      rc = loss(k, 0, k->sig, &Lb);
      far = rc == NN_OK && !memcmp(k->sig, k->sig0, bytes);
    }
    w[i] = keep;
    if (rc != NN_OK) return rc;
    if (!(up && down) && !far) { /* no smooth side to difference */
      out->skipped++;
      continue;
    }
    /* central where both sides are smooth (off by h^2 L''' / 6), else the
     * quadratic through L0 and the smooth side's two points (as much off) */
    num[checked] = up && down ? (Lp - Lm) / (hp + hm)
                              : (b * b * (La - L0) - a * a * (Lb - L0)) / (a * b * (b - a));
    ana[checked] = grad[i];
    scale = fmax(scale, fabs(num[checked]));
    checked++;
  }
  double tiny = fmax(k->floor, FLOOR_SHARE * scale), worst = NAN;
  for (size_t j = 0; j < checked; j++) {
    double err = fabs(ana[j] - num[j]) / fmax(fmax(fabs(ana[j]), fabs(num[j])), tiny);
    if (isnan(err)) err = INFINITY; /* a NaN gradient fails */
    worst = j == 0 || err > worst ? err : worst;
  }
  out->error = worst;
  out->checked = checked;
  return NN_OK;
}

int nn__gradcheck_graph_with(const nn_model *m, const nn_data *d, const float *grad_in,
                             const nn_gradcheck_config *c, nn_gradcheck_graph_result *out,
                             nn_error *err) {
  if (m->graph == NULL)
    return nn__fail(err, NN_EINVAL, "model", "a layer-list model is checked by nn_gradcheck");
  if (!(c->epsilon > 0.0 && c->epsilon <= 0.1))
    return nn__fail(err, NN_EINVAL, "epsilon", "epsilon must be in (0, 0.1]");
  if (d->rows > NN_MAX_BATCH)
    return nn__fail(err, NN_ERANGE, "rows", "a gradient check takes at most %d rows",
                    NN_MAX_BATCH);
  int rc = nn_data_check(d, &m->spec, err);
  if (rc != NN_OK) return rc;
  check k = {.d = d};
  float *x = NULL, *grad = NULL;
  size_t n = d->rows, P = m->arch.n_params, inputs = (size_t)m->spec.inputs;
  if ((rc = nn_model_clone(m, &k.m)) != NN_OK) goto nomem;
  if ((rc = nn__gnet_new(k.m, n, 0, &k.r, err)) != NN_OK) goto exit;
  if ((rc = nn__gnet_check_codes(k.r, d, "x", err)) != NN_OK) goto exit;
  k.n_sig = pattern(nn__gnet_graph(k.r), n, NULL);
  x = malloc(n * inputs * sizeof *x);
  grad = malloc((P + 1) * sizeof *grad);
  k.sig0 = malloc((2 * k.n_sig + 1) * sizeof(float));
  if (x == NULL || grad == NULL || k.sig0 == NULL) goto nomem;
  k.sig = k.sig0 + k.n_sig;
  nn__standardize(NULL, d->x, NULL, n, (int)inputs, m->mean, m->std, x);
  k.x = x;
  double L0;
  if ((rc = loss(&k, 1, k.sig0, &L0)) != NN_OK || (rc = nn__gnet_backward(k.r)) != NN_OK) goto failed;
  memcpy(grad, grad_in != NULL ? grad_in : nn__gnet_grads(k.r), P * sizeof *grad);
  k.floor = NOISE_ULPS * FLT_EPSILON * fmax(1.0, fabs(L0)) /
            (2.0 * c->epsilon * NN_GRADCHECK_THRESHOLD);

  const nn_graph *g = nn__gnet_graph(k.r);
  int nodes = nn_graph_nodes(g), with = 0;
  for (int i = 0; i < nodes; i++) {
    size_t off, size;
    nn_graph_node_params(g, i, &off, &size);
    with += size > 0;
  }
  /* a pass costs about n (P + V); each node's entries get an equal share */
  double pass = 2.0 * (double)n * ((double)P + (double)nn__gnet_row_floats(k.r));
  double share = with > 0 ? (double)NN_GRADCHECK_BUDGET / with / pass : 0.0;
  memset(out, 0, sizeof *out);
  out->max_error = NAN;
  for (int i = 0; i < nodes && rc == NN_OK; i++) {
    size_t off, size;
    nn_graph_node_params(g, i, &off, &size);
    out->nodes[i].error = NAN;
    if (size == 0) continue;
    size_t count = size < NN_GRADCHECK_PER_TENSOR ? size : NN_GRADCHECK_PER_TENSOR;
    if (share < (double)count) count = (size_t)share;
    if (count == 0) continue;
    rc = node(&k, k.m->params + off, grad + off, size, count, c->seed, c->epsilon, L0,
              &out->nodes[i]);
    out->checked += out->nodes[i].checked;
    if (out->nodes[i].checked) out->max_error = fmax(out->max_error, out->nodes[i].error);
  }
  if (rc != NN_OK) goto failed;
  out->loss = L0;
  out->threshold = NN_GRADCHECK_THRESHOLD;
  out->pass = out->checked > 0 && out->max_error < out->threshold;
  goto exit;
failed:
  nn__fail(err, rc, "", "cannot compute the loss: %s", nn_strerror(rc));
  goto exit;
nomem:
  rc = nn__fail(err, NN_ENOMEM, "", "cannot allocate a gradient check of %zu rows", n);
exit:
  nn__gnet_free(k.r);
  nn_model_free(k.m);
  free(x);
  free(grad);
  free(k.sig0);
  return rc;
}

int nn_gradcheck_graph(const nn_model *m, const nn_data *d, const nn_gradcheck_config *c,
                       nn_gradcheck_graph_result *out, nn_error *err) {
  return nn__gradcheck_graph_with(m, d, NULL, c, out, err);
}
