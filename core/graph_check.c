/*
 * graph_check.c — the finite-difference check of a graph's backward pass.
 * The loss is a fixed random linear function of the output, L = sum c_i
 * y_i, so every output entry's gradient path is exercised; it is summed in
 * double over the float32 forward passes. Each checked entry v (parameter
 * or input) gives (L(v + h) - L(v - h)) / 2h, h = step max(1, |v|), against
 * the analytic dL/dv. In float32 a pass's rounding is about 1e-7 of L, so
 * the step is large (1e-2) and the error relative to a floor: a central
 * difference is off by h^2 f''' / 6, small next to a wrong gradient, which
 * is off by a factor. Where an op has a kink (relu, max) the step may
 * straddle it: then the one-sided slopes disagree and the entry is skipped.
 * Costs: two forward passes per checked entry, plus copies of the inputs
 * and the state.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define CHECK_STREAM 0x63686b31ull

void nn_graph_check_defaults(nn_graph_check_config *c) {
  memset(c, 0, sizeof *c);
  c->step = 1e-2;
  c->tolerance = 1e-2;
  c->floor = 0.1;
  c->kinks = 1;
  c->per_tensor = 64;
  c->seed = 1;
}

typedef struct {
  nn_graph *g;
  const nn_graph_check_config *c;
  const float *in[NN_GRAPH_MAX_INPUTS];
  size_t n;
  const float *coef; /* (n, output size) */
  const float *state0; /* the state to restart each pass from */
  nn_graph_check_result *out;
} check;

/* L at the current parameters and inputs. */
static int loss(check *k, double *L) {
  nn__rng r;
  nn__rng_seed(&r, k->c->rng_seed, CHECK_STREAM);
  memcpy(k->g->state, k->state0, k->g->n_state * sizeof(float));
  int rc = nn_graph_forward(k->g, k->in, k->n, k->c->train, &r);
  if (rc != NN_OK) return rc;
  const float *y = nn_graph_value(k->g, k->g->output);
  size_t count = k->n * nn_shape_size(&k->g->shape[k->g->output]);
  double s = 0.0;
  for (size_t i = 0; i < count; i++) s += (double)k->coef[i] * y[i];
  *L = s;
  return NN_OK;
}

/* Check v[i] against the analytic gradient a. */
static int entry(check *k, float *v, double a, double L0, int value, size_t i) {
  float keep = *v;
  double h = k->c->step * (fabs(keep) > 1.0 ? fabs(keep) : 1.0), Lp, Lm;
  *v = (float)(keep + h);
  double hp = (double)*v - keep; /* the step float can take */
  int rc = loss(k, &Lp);
  *v = (float)(keep - h);
  double hm = keep - (double)*v;
  if (rc == NN_OK) rc = loss(k, &Lm);
  *v = keep;
  if (rc != NN_OK) return rc;
  double num = (Lp - Lm) / (hp + hm);
  if (k->c->kinks) {
    double sp = (Lp - L0) / hp, sm = (L0 - Lm) / hm;
    double scale = fmax(fmax(fabs(sp), fabs(sm)), k->c->floor);
    if (fabs(sp - sm) > 0.2 * scale) {
      k->out->skipped++;
      return NN_OK;
    }
  }
  double err = fabs(a - num) / fmax(fmax(fabs(a), fabs(num)), k->c->floor);
  k->out->checked++;
  if (err > k->out->max_error || isnan(err)) {
    k->out->max_error = isnan(err) ? INFINITY : err;
    k->out->worst_value = value;
    k->out->worst_index = i;
  }
  return NN_OK;
}

/* per_tensor entries of (count,) spread evenly: entry j * count / per */
static int tensor(check *k, float *v, const float *grad, size_t count, double L0, int value,
                  size_t base) {
  size_t per = k->c->per_tensor < count ? k->c->per_tensor : count;
  for (size_t j = 0; j < per; j++) {
    size_t i = per == count ? j : j * count / per;
    int rc = entry(k, v + i, grad[i], L0, value, base + i);
    if (rc != NN_OK) return rc;
  }
  return NN_OK;
}

int nn__graph_check_with(nn_graph *g, const float *const *inputs, size_t n,
                         const nn_graph_check_config *c, const float *grad_in,
                         nn_graph_check_result *out) {
  memset(out, 0, sizeof *out);
  out->worst_value = -1;
  int ni = g->spec.n_inputs, rc = NN_ENOMEM;
  size_t ny = n * nn_shape_size(&g->shape[g->output]), total = ny + 2 * g->n_state;
  for (int i = 0; i < ni; i++) total += 2 * n * nn_shape_size(&g->shape[i]);
  total += 2 * g->n_params;
  float *mem = malloc(total * sizeof(float)), *at = mem;
  if (mem == NULL) return NN_ENOMEM;
  check k = {.g = g, .c = c, .n = n, .out = out};
  float *coef = at, *state0 = at + ny, *saved = state0 + g->n_state;
  at = saved + g->n_state;
  memcpy(state0, g->state, g->n_state * sizeof(float));
  memcpy(saved, g->state, g->n_state * sizeof(float));
  float *x[NN_GRAPH_MAX_INPUTS], *dx[NN_GRAPH_MAX_INPUTS];
  for (int i = 0; i < ni; i++) {
    size_t z = n * nn_shape_size(&g->shape[i]);
    x[i] = at, dx[i] = at + z, at += 2 * z;
    memcpy(x[i], inputs[i], z * sizeof(float));
    k.in[i] = x[i];
  }
  float *grad = at;
  nn__rng r;
  nn__rng_seed(&r, c->seed, CHECK_STREAM);
  for (size_t i = 0; i < ny; i++) coef[i] = 2.0f * nn__rng_uniform(&r) - 1.0f;
  k.coef = coef;
  k.state0 = state0;
  double L0;
  rc = loss(&k, &L0);
  if (rc != NN_OK) goto done;
  /* dL/dy = c */
  rc = nn_graph_backward(g, coef, 1);
  if (rc != NN_OK) goto done;
  memcpy(grad, grad_in != NULL ? grad_in : g->grads, g->n_params * sizeof(float));
  for (int i = 0; i < ni; i++) {
    const float *d = nn_graph_value_grad(g, i);
    if (d != NULL) memcpy(dx[i], d, n * nn_shape_size(&g->shape[i]) * sizeof(float));
  }
  for (int i = 0; i < g->spec.n_nodes && rc == NN_OK; i++) {
    const nn__gnode *node = &g->nodes[i];
    if (node->n_params > 0)
      rc = tensor(&k, g->params + node->p_off, grad + node->p_off, node->n_params, L0, -1,
                  node->p_off);
  }
  for (int i = 0; i < ni && rc == NN_OK; i++)
    if (nn_graph_value_grad(g, i) != NULL)
      rc = tensor(&k, x[i], dx[i], n * nn_shape_size(&g->shape[i]), L0, i, 0);
  out->pass = rc == NN_OK && out->checked > 0 && out->max_error <= c->tolerance;
done:
  memcpy(g->state, saved, g->n_state * sizeof(float));
  free(mem);
  return rc;
}

int nn_graph_check(nn_graph *g, const float *const *inputs, size_t n,
                   const nn_graph_check_config *c, nn_graph_check_result *out) {
  return nn__graph_check_with(g, inputs, n, c, NULL, out);
}
