/*
 * test_gradcheck.c — nn_model_loss_grad's dLoss/dParams and dLoss/dx
 * against central finite differences of its own loss, on small random nets:
 * every activation as a hidden layer, every output activation and loss,
 * dropout layers present (evaluation mode: the identity), random shapes.
 *
 * Tolerance. Core is float32, so the differences are taken at EPS = 5e-3
 * rather than the 1e-6 a float64 check would use: the loss carries a
 * relative rounding error of about 1e-7, which a step of 2 EPS turns into
 * gradient noise of 1e-5 |L|, and the truncation error of the central
 * difference is EPS^2 / 6 |f'''|, 4e-6 |f'''|. The bound is an absolute
 * floor ATOL (the noise, with room) plus RTOL of the larger of the two
 * gradients (the truncation). The worst error measured over all nets here is
 * a quarter of that bound (at EPS 1e-3 noise pushes it past half, at 1e-2
 * curvature raises it too), while a wrong derivative (a lost factor, a wrong
 * slope, a missing softmax term) is off by far more than 1%.
 *
 * relu and leaky_relu are not differentiable at 0: a coordinate whose
 * +-EPS step moves any relu-family pre-activation across 0 is skipped (the
 * pre-activations are read from prefix models: the net up to that layer with
 * the layer made linear). Such crossings are rare; the test requires that at
 * least 90% of the coordinates were checked.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/nn.h"

#define EPS 5e-3f
#define ATOL 1e-4
#define RTOL 1e-2
#define SEEDS 3 /* random nets per (hidden activation, output) pair */
#define MAX_ROWS 4   /* batch rows */
#define MAX_INPUTS 4 /* input width */
#define MAX_UNITS 5  /* width of any layer */
#define MAX_DENSE 3  /* dense layers: two hidden and the output */

/* splitmix64: the shapes and values of the test nets, independent of core */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static float uniform(uint64_t *s, float lo, float hi) {
  return lo + (hi - lo) * (float)((next_u64(s) >> 40) * 0x1.0p-24);
}

/* uniform integer in [lo, hi] */
static int between(uint64_t *s, int lo, int hi) {
  return lo + (int)(next_u64(s) % (uint64_t)(hi - lo + 1));
}

static const nn_act all_acts[] = {NN_ACT_LINEAR, NN_ACT_RELU,  NN_ACT_LEAKY_RELU,
                                  NN_ACT_SIGMOID, NN_ACT_TANH, NN_ACT_SOFTMAX};

/* The output layer and the targets the loss is given. */
typedef struct {
  nn_loss loss;
  nn_act act;
  int labels;           /* targets as class indices (BCE with one output: 0/1) */
  int min_out, max_out; /* output width */
} output_kind;

static int is_relu_family(nn_act a) { return a == NN_ACT_RELU || a == NN_ACT_LEAKY_RELU; }

static nn_layer_spec dense(int units, nn_act act, uint64_t *s) {
  nn_layer_spec l;
  nn_layer_spec_defaults(&l);
  l.units = units;
  l.act = act;
  l.slope = uniform(s, 0.05f, 0.3f);
  return l;
}

/* One or two hidden layers, the first with activation hidden, widths 2..5;
 * half the nets get a dropout layer anywhere before the output layer. */
static nn_spec random_spec(uint64_t *s, nn_act hidden, const output_kind *o) {
  nn_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.inputs = between(s, 1, MAX_INPUTS);
  spec.loss = o->loss;
  spec.seed = next_u64(s);
  int n_hidden = between(s, 1, 2);
  int dropout_at = between(s, 0, 2 * n_hidden + 1); /* > n_hidden: no dropout */
  for (int i = 0; i <= n_hidden; i++) {
    if (i == dropout_at) {
      nn_layer_spec *d = &spec.layers[spec.n_layers++];
      nn_layer_spec_defaults(d);
      d->type = NN_LAYER_DROPOUT;
      d->rate = 0.5f;
    }
    if (i == n_hidden)
      spec.layers[spec.n_layers++] = dense(between(s, o->min_out, o->max_out), o->act, s);
    else
      spec.layers[spec.n_layers++] =
          dense(between(s, 2, MAX_UNITS), i == 0 ? hidden : all_acts[between(s, 0, 5)], s);
  }
  return spec;
}

/* A net, a batch, and what the kink check needs. */
typedef struct {
  nn_model *m;
  size_t rows;
  float x[MAX_ROWS * MAX_INPUTS];  /* (rows, inputs) */
  float y[MAX_ROWS * MAX_UNITS];   /* (rows, outputs), unless labels */
  int32_t labels[MAX_ROWS];        /* (rows,) */
  int use_labels;
  int n_prefix;
  nn_model *prefix[NN_MAX_LAYERS]; /* the net up to each relu-family layer, made linear */
  size_t n_signs;                  /* relu-family pre-activations over the batch */
  unsigned char base[MAX_ROWS * MAX_DENSE * MAX_UNITS];  /* (n_signs,) sides at the point */
  unsigned char sides[MAX_ROWS * MAX_DENSE * MAX_UNITS]; /* (n_signs,) sides after a step */
} problem;

/* Which side of the kink each relu-family pre-activation is on, (n_signs,).
 * Parameters are laid out layer by layer, so a prefix model's parameters are
 * a prefix of the net's. */
static void kink_sides(const problem *p, unsigned char *sides) {
  float z[MAX_ROWS * MAX_UNITS]; /* (rows, units) pre-activations of one layer */
  size_t k = 0;
  for (int i = 0; i < p->n_prefix; i++) {
    nn_model *pm = p->prefix[i];
    memcpy(nn_model_params(pm), nn_model_params_const(p->m),
           nn_model_param_count(pm) * sizeof(float));
    cr_assert_eq(nn_model_predict(pm, p->x, p->rows, z), NN_OK);
    size_t n = p->rows * (size_t)nn_spec_outputs(nn_model_spec(pm));
    for (size_t j = 0; j < n; j++) sides[k++] = z[j] > 0.0f;
  }
}

static void problem_init(problem *p, uint64_t *s, nn_act hidden, const output_kind *o) {
  memset(p, 0, sizeof *p);
  nn_spec spec = random_spec(s, hidden, o);
  cr_assert_eq(nn_model_new(&spec, &p->m, NULL), NN_OK);
  spec = *nn_model_spec(p->m);
  /* nonzero biases, as in a trained net rather than a fresh one */
  for (int l = 0; l < spec.n_layers; l++) {
    size_t w_off, b_off;
    if (nn_model_layer_offsets(p->m, l, &w_off, &b_off) != NN_OK) continue;
    for (int j = 0; j < spec.layers[l].units; j++)
      nn_model_params(p->m)[b_off + j] = uniform(s, -0.5f, 0.5f);
  }
  p->rows = (size_t)between(s, 1, MAX_ROWS);
  int k = nn_spec_outputs(&spec);
  for (size_t i = 0; i < p->rows * (size_t)spec.inputs; i++) p->x[i] = uniform(s, -1.5f, 1.5f);
  p->use_labels = o->labels;
  for (size_t r = 0; r < p->rows; r++) {
    p->labels[r] = between(s, 0, k == 1 ? 1 : k - 1);
    for (int j = 0; j < k; j++) {
      float *t = &p->y[r * (size_t)k + j];
      if (o->loss == NN_LOSS_MSE) *t = uniform(s, 0.0f, 1.0f);
      else if (o->loss == NN_LOSS_BCE) *t = (float)between(s, 0, 1);
      else *t = (float)(j == p->labels[r]); /* one-hot */
    }
  }
  for (int l = 0; l < spec.n_layers; l++) {
    if (spec.layers[l].type != NN_LAYER_DENSE || !is_relu_family(spec.layers[l].act)) continue;
    nn_spec pre = spec;
    pre.n_layers = l + 1;
    pre.layers[l].act = NN_ACT_LINEAR;
    pre.loss = NN_LOSS_MSE;
    cr_assert_eq(nn_model_new(&pre, &p->prefix[p->n_prefix++], NULL), NN_OK);
    p->n_signs += p->rows * (size_t)spec.layers[l].units;
  }
  kink_sides(p, p->base);
}

static void problem_free(problem *p) {
  for (int i = 0; i < p->n_prefix; i++) nn_model_free(p->prefix[i]);
  nn_model_free(p->m);
}

static double loss_at(const problem *p, float *grad, float *dx) {
  double loss;
  cr_assert_eq(nn_model_loss_grad(p->m, p->x, p->use_labels ? NULL : p->y,
                                  p->use_labels ? p->labels : NULL, p->rows, grad, dx, &loss),
               NN_OK);
  return loss;
}

/* dLoss/dv by central differences into *d; 0 when a kink lies within +-EPS. */
static int numeric(problem *p, float *v, double *d) {
  float v0 = *v, hi = v0 + EPS, lo = v0 - EPS;
  int smooth = 1;
  *v = hi;
  double loss_hi = loss_at(p, NULL, NULL);
  kink_sides(p, p->sides);
  smooth &= memcmp(p->sides, p->base, p->n_signs) == 0;
  *v = lo;
  double loss_lo = loss_at(p, NULL, NULL);
  kink_sides(p, p->sides);
  smooth &= memcmp(p->sides, p->base, p->n_signs) == 0;
  *v = v0;
  /* the step actually taken: hi - lo in float need not be 2 EPS exactly */
  *d = (loss_hi - loss_lo) / ((double)hi - (double)lo);
  return smooth;
}

typedef struct {
  size_t checked, skipped;
  double worst; /* largest error / allowed error */
  char where[160];
} tally;

/* Compare dLoss/dv at v (params or x, index i) with its analytic value. */
static void compare(tally *t, problem *p, float *v, float ana, const char *what, size_t i,
                    const char *net) {
  double num;
  if (!numeric(p, v, &num)) {
    t->skipped++;
    return;
  }
  t->checked++;
  double ratio = fabs(num - ana) / (ATOL + RTOL * fmax(fabs(num), fabs(ana)));
  if (isnan(ratio)) ratio = INFINITY;
  if (ratio > t->worst) {
    t->worst = ratio;
    snprintf(t->where, sizeof t->where, "%s %s[%zu]: analytic %.7g, numeric %.7g", net, what, i,
             (double)ana, num);
  }
}

/* Every parameter and every input of one random net. */
static void check_net(uint64_t *s, nn_act hidden, const output_kind *o, tally *t) {
  problem p;
  problem_init(&p, s, hidden, o);
  const nn_spec *spec = nn_model_spec(p.m);
  size_t n_params = nn_model_param_count(p.m), n_x = p.rows * (size_t)spec->inputs;
  float *grad = malloc(n_params * sizeof(float)); /* (P,) */
  float dx[MAX_ROWS * MAX_INPUTS];                /* (rows, inputs) */
  cr_assert_not_null(grad);
  char net[64];
  snprintf(net, sizeof net, "%s->%s/%s%s", nn_name(NN_NAMES_ACT, hidden),
           nn_name(NN_NAMES_ACT, o->act), nn_name(NN_NAMES_LOSS, o->loss),
           o->labels ? "(labels)" : "");

  loss_at(&p, grad, dx);
  float *params = nn_model_params(p.m);
  for (size_t i = 0; i < n_params; i++) compare(t, &p, &params[i], grad[i], "param", i, net);
  for (size_t i = 0; i < n_x; i++) compare(t, &p, &p.x[i], dx[i], "x", i, net);

  free(grad);
  problem_free(&p);
}

/* Every hidden activation, SEEDS random nets each, with output o. */
static void check_output(const output_kind *o, uint64_t seed) {
  tally t = {0, 0, 0.0, ""};
  uint64_t s = seed;
  for (size_t h = 0; h < sizeof all_acts / sizeof all_acts[0]; h++)
    for (int i = 0; i < SEEDS; i++) check_net(&s, all_acts[h], o, &t);
  cr_expect(t.worst <= 1.0, "error %.3g x the tolerance at %s", t.worst, t.where);
  cr_expect(t.skipped * 10 <= t.checked + t.skipped, "%zu of %zu coordinates skipped at kinks",
            t.skipped, t.checked + t.skipped);
}

Test(gradcheck, mse_linear_output) {
  check_output(&(output_kind){NN_LOSS_MSE, NN_ACT_LINEAR, 0, 1, 3}, 1);
}
Test(gradcheck, mse_relu_output) {
  check_output(&(output_kind){NN_LOSS_MSE, NN_ACT_RELU, 0, 1, 3}, 2);
}
Test(gradcheck, mse_leaky_relu_output) {
  check_output(&(output_kind){NN_LOSS_MSE, NN_ACT_LEAKY_RELU, 0, 1, 3}, 3);
}
Test(gradcheck, mse_sigmoid_output) {
  check_output(&(output_kind){NN_LOSS_MSE, NN_ACT_SIGMOID, 0, 1, 3}, 4);
}
Test(gradcheck, mse_tanh_output) {
  check_output(&(output_kind){NN_LOSS_MSE, NN_ACT_TANH, 0, 1, 3}, 5);
}
Test(gradcheck, mse_softmax_output) {
  check_output(&(output_kind){NN_LOSS_MSE, NN_ACT_SOFTMAX, 0, 2, 4}, 6);
}
Test(gradcheck, cross_entropy_labels) {
  check_output(&(output_kind){NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, 1, 2, 4}, 7);
}
Test(gradcheck, cross_entropy_one_hot) {
  check_output(&(output_kind){NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, 0, 2, 4}, 8);
}
Test(gradcheck, bce_targets) {
  check_output(&(output_kind){NN_LOSS_BCE, NN_ACT_SIGMOID, 0, 1, 3}, 9);
}
Test(gradcheck, bce_one_output_labels) {
  check_output(&(output_kind){NN_LOSS_BCE, NN_ACT_SIGMOID, 1, 1, 1}, 10);
}

/* The checker itself must be able to fail: a gradient of the wrong loss
 * (targets shifted after the analytic pass) is caught. */
Test(gradcheck, detects_a_wrong_gradient) {
  uint64_t s = 11;
  problem p;
  problem_init(&p, &s, NN_ACT_TANH, &(output_kind){NN_LOSS_MSE, NN_ACT_LINEAR, 0, 2, 2});
  size_t n_params = nn_model_param_count(p.m);
  float *grad = malloc(n_params * sizeof(float));
  cr_assert_not_null(grad);
  loss_at(&p, grad, NULL);
  p.y[0] += 0.5f;
  tally t = {0, 0, 0.0, ""};
  for (size_t i = 0; i < n_params; i++)
    compare(&t, &p, &nn_model_params(p.m)[i], grad[i], "param", i, "");
  cr_expect(t.worst > 1.0, "a gradient for other targets passed (worst %.3g)", t.worst);
  free(grad);
  problem_free(&p);
}

Test(gradcheck, loss_grad_rejects_bad_targets) {
  uint64_t s = 12;
  problem p;
  problem_init(&p, &s, NN_ACT_TANH, &(output_kind){NN_LOSS_MSE, NN_ACT_LINEAR, 0, 1, 1});
  double loss;
  cr_expect_eq(nn_model_loss_grad(p.m, p.x, NULL, NULL, p.rows, NULL, NULL, &loss), NN_EINVAL);
  cr_expect_eq(nn_model_loss_grad(p.m, p.x, p.y, p.labels, p.rows, NULL, NULL, &loss), NN_EINVAL);
  cr_expect_eq(nn_model_loss_grad(p.m, p.x, p.y, NULL, 0, NULL, NULL, &loss), NN_EINVAL);
  problem_free(&p);
}
