/* test_nn_gradcheck.c — nn_gradcheck: trained nets of every loss pass with
 * small errors, a wrong gradient (fed through the internal hook) fails in
 * the layer it is wrong in, large tensors are sampled by seed, the budget
 * bounds big models, relu kinks are skipped, bad arguments are refused. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/nn_internal.h"
#include "nets.h"

enum { BLOB_ROWS = 300 };

typedef struct {
  float x[BLOB_ROWS * 2];
  int32_t labels[BLOB_ROWS];
  nn_data d;
} blobs;

static void blobs_init(blobs *b) {
  nets_blobs(BLOB_ROWS, 11, b->x, b->labels);
  b->d = (nn_data){.rows = BLOB_ROWS, .features = 2, .x = b->x, .labels = b->labels,
                   .classes = 3};
}

/* The first n rows of d. */
static nn_data first(const nn_data *d, size_t n) {
  nn_data s = *d;
  s.rows = n;
  return s;
}

static nn_model *trained(nn_spec s, const nn_data *d, int epochs) {
  nn_model *m;
  nn_train_config c;
  nn_epoch_metrics em;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_train_config_defaults(&c);
  c.epochs = epochs;
  c.optim.lr = 0.02f;
  cr_assert_eq(nets_train(m, d, &c, &em), NN_OK);
  return m;
}

/* Check m on d; every layer must pass and every parameter be accounted for
 * when all fit in NN_GRADCHECK_PER_TENSOR. */
static nn_gradcheck_result check(const nn_model *m, const nn_data *d, const char *what) {
  nn_gradcheck_config c;
  nn_gradcheck_result r;
  nn_error err;
  nn_gradcheck_defaults(&c);
  cr_assert_eq(nn_gradcheck(m, d, &c, &r, &err), NN_OK, "%s: %s", what, err.message);
  cr_expect(r.pass, "%s: max error %g", what, r.max_error);
  cr_expect_lt(r.max_error, r.threshold / 2, "%s: max error %g", what, r.max_error);
  cr_expect_eq(r.threshold, NN_GRADCHECK_THRESHOLD);
  cr_expect(isfinite(r.loss) && r.loss >= 0.0, "%s: loss %g", what, r.loss);
  return r;
}

static size_t accounted(const nn_gradcheck_result *r, int n_layers) {
  size_t n = 0;
  for (int l = 0; l < n_layers; l++)
    n += r->layers[l].weights_checked + r->layers[l].biases_checked + r->layers[l].skipped;
  return n;
}

Test(nn_gradcheck, trained_nets_pass_with_small_errors) {
  blobs b;
  blobs_init(&b);
  static const int w[] = {8, 6, 3}; /* every tensor within K: all are checked */
  static const nn_act relu[] = {NN_ACT_RELU, NN_ACT_TANH, NN_ACT_SOFTMAX};
  nn_spec s = nets_mlp(2, 3, w, relu, NN_LOSS_CROSS_ENTROPY, 5);
  s.normalize = 1;
  nn_model *m = trained(s, &b.d, 60); /* near a perfect fit: tiny gradients */
  for (size_t n = 1; n <= 64; n *= 8) {
    nn_data d = first(&b.d, n);
    nn_gradcheck_result r = check(m, &d, "relu/tanh/softmax");
    cr_expect_eq(accounted(&r, 3), nn_model_param_count(m), "all %zu parameters",
                 nn_model_param_count(m));
    cr_expect_gt(r.checked, 0);
  }
  nn_model_free(m);

  nn_spec x = nets_xor_spec(2); /* tanh, sigmoid output, mse */
  nn_data xd = nets_xor_data();
  m = trained(x, &xd, 1500);
  nn_gradcheck_result r = check(m, &xd, "xor");
  cr_expect_eq(r.checked, nn_model_param_count(m), "no kinks in a tanh net");
  nn_model_free(m);

  /* two classes as one sigmoid output, binary cross-entropy, leaky relu */
  static const int w2[] = {6, 1};
  static const nn_act a2[] = {NN_ACT_LEAKY_RELU, NN_ACT_SIGMOID};
  int32_t two[BLOB_ROWS];
  for (int i = 0; i < BLOB_ROWS; i++) two[i] = b.labels[i] == 2;
  nn_data bd = b.d;
  bd.labels = two;
  bd.classes = 2;
  m = trained(nets_mlp(2, 2, w2, a2, NN_LOSS_BCE, 8), &bd, 20);
  bd.rows = 32;
  check(m, &bd, "bce");
  nn_model_free(m);
}

Test(nn_gradcheck, dropout_layers_have_nothing_to_check) {
  blobs b;
  blobs_init(&b);
  static const int w[] = {8, 8, 3};
  static const nn_act a[] = {NN_ACT_SIGMOID, NN_ACT_SIGMOID, NN_ACT_SOFTMAX};
  nn_spec s = nets_mlp(2, 3, w, a, NN_LOSS_CROSS_ENTROPY, 4);
  s.layers[1].type = NN_LAYER_DROPOUT;
  s.layers[1].rate = 0.5f;
  nn_model *m = trained(s, &b.d, 5);
  nn_data d = first(&b.d, 16);
  nn_gradcheck_result r = check(m, &d, "dropout");
  cr_expect_eq(r.layers[1].weights_checked + r.layers[1].biases_checked, 0);
  cr_expect(isnan(r.layers[1].weight_error) && isnan(r.layers[1].bias_error));
  cr_expect_eq(r.checked, nn_model_param_count(m));
  nn_model_free(m);
}

/* ---- a wrong gradient is caught ---------------------------------------------- */

typedef struct {
  nn_model *m;
  nn_data d;
  float *grad; /* (P,) backprop's */
  blobs b;
} fixture;

static void fixture_init(fixture *f) {
  blobs_init(&f->b);
  static const int w[] = {8, 5, 3};
  static const nn_act a[] = {NN_ACT_TANH, NN_ACT_SIGMOID, NN_ACT_SOFTMAX};
  f->m = trained(nets_mlp(2, 3, w, a, NN_LOSS_CROSS_ENTROPY, 6), &f->b.d, 3);
  f->d = first(&f->b.d, 8);
  f->grad = malloc(nn_model_param_count(f->m) * sizeof(float));
  double loss;
  cr_assert_eq(nn_model_loss_grad(f->m, f->d.x, NULL, f->d.labels, 8, f->grad, NULL, &loss),
               NN_OK);
}

static void fixture_free(fixture *f) {
  free(f->grad);
  nn_model_free(f->m);
}

static nn_gradcheck_result check_with(const fixture *f, const float *grad) {
  nn_gradcheck_config c;
  nn_gradcheck_result r;
  nn_gradcheck_defaults(&c);
  cr_assert_eq(nn__gradcheck_with(f->m, &f->d, grad, &c, &r, NULL), NN_OK);
  return r;
}

Test(nn_gradcheck, a_gradient_two_percent_off_fails) {
  fixture f;
  fixture_init(&f);
  nn_gradcheck_result r = check_with(&f, f.grad);
  cr_assert(r.pass, "backprop's own gradient: max error %g", r.max_error);
  size_t P = nn_model_param_count(f.m);
  float *scaled = malloc(P * sizeof(float));
  for (size_t i = 0; i < P; i++) scaled[i] = 0.98f * f.grad[i];
  r = check_with(&f, scaled);
  cr_expect_not(r.pass);
  cr_expect(fabs(r.max_error - 0.02) < 0.002, "max error %g, expected 0.02", r.max_error);
  free(scaled);
  fixture_free(&f);
}

Test(nn_gradcheck, one_wrong_bias_fails_its_layer_alone) {
  fixture f;
  fixture_init(&f);
  size_t P = nn_model_param_count(f.m), w_off, b_off;
  float *wrong = malloc(P * sizeof(float));
  memcpy(wrong, f.grad, P * sizeof(float));
  cr_assert_eq(nn_model_layer_offsets(f.m, 1, &w_off, &b_off), NN_OK);
  wrong[b_off + 2] = 1.1f * wrong[b_off + 2] + 1e-3f; /* a term too many */
  nn_gradcheck_result r = check_with(&f, wrong);
  cr_expect_not(r.pass);
  cr_expect_gt(r.layers[1].bias_error, r.threshold);
  cr_expect_lt(r.layers[1].weight_error, r.threshold);
  cr_expect_lt(r.layers[0].weight_error, r.threshold);
  cr_expect_lt(r.layers[0].bias_error, r.threshold);
  cr_expect_lt(r.layers[2].weight_error, r.threshold);
  cr_expect_lt(r.layers[2].bias_error, r.threshold);
  cr_expect_eq(r.max_error, r.layers[1].bias_error);
  free(wrong);
  fixture_free(&f);
}

Test(nn_gradcheck, a_nan_gradient_fails) {
  fixture f;
  fixture_init(&f);
  f.grad[0] = NAN;
  nn_gradcheck_result r = check_with(&f, f.grad);
  cr_expect_not(r.pass);
  cr_expect(isinf(r.layers[0].weight_error), "%g", r.layers[0].weight_error);
  fixture_free(&f);
}

/* ---- what is checked -------------------------------------------------------------- */

/* 20 features -> relu 16 -> softmax 3: W0 has 320 entries, more than K. */
static nn_model *wide_model(blobs *b, float *x) {
  for (int r = 0; r < BLOB_ROWS; r++)
    for (int j = 0; j < 20; j++) x[r * 20 + j] = b->x[2 * r + j % 2] * (float)(j + 1) / 20.0f;
  b->d.x = x;
  b->d.features = 20;
  static const int w[] = {16, 3};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_SOFTMAX};
  return trained(nets_mlp(20, 2, w, a, NN_LOSS_CROSS_ENTROPY, 9), &b->d, 3);
}

Test(nn_gradcheck, large_tensors_are_sampled_by_seed) {
  blobs b;
  blobs_init(&b);
  float *x = malloc(BLOB_ROWS * 20 * sizeof(float));
  nn_model *m = wide_model(&b, x);
  nn_data d = first(&b.d, 16);
  nn_gradcheck_config c;
  nn_gradcheck_result r1, r2;
  nn_gradcheck_defaults(&c);
  cr_assert_eq(nn_gradcheck(m, &d, &c, &r1, NULL), NN_OK);
  cr_assert_eq(nn_gradcheck(m, &d, &c, &r2, NULL), NN_OK);
  cr_expect(r1.pass, "%g", r1.max_error);
  /* K of W0's 320 weights and all 16 biases are picked */
  cr_expect_eq(r1.layers[0].weights_checked + r1.layers[0].biases_checked + r1.layers[0].skipped,
               NN_GRADCHECK_PER_TENSOR + 16);
  cr_expect_eq(r1.layers[1].weights_checked + r1.layers[1].biases_checked + r1.layers[1].skipped,
               48 + 3);
  cr_expect_eq(memcmp(&r1, &r2, sizeof r1), 0, "the same seed checks the same parameters");

  /* one wrong weight in W0 is caught by the seeds that pick it (K in 320)
   * and missed by the others */
  size_t P = nn_model_param_count(m);
  float *wrong = malloc(P * sizeof(float));
  double loss;
  cr_assert_eq(nn_model_loss_grad(m, d.x, NULL, d.labels, d.rows, wrong, NULL, &loss), NN_OK);
  wrong[123] = 2.0f * wrong[123] + 1e-2f;
  int caught = 0, seeds = 30;
  for (int seed = 0; seed < seeds; seed++) {
    c.seed = (uint64_t)seed;
    cr_assert_eq(nn__gradcheck_with(m, &d, wrong, &c, &r1, NULL), NN_OK);
    caught += !r1.pass;
  }
  cr_expect(caught > 0 && caught < seeds, "caught by %d of %d seeds", caught, seeds);
  free(wrong);
  nn_model_free(m);
  free(x);
}

Test(nn_gradcheck, the_budget_bounds_big_models) {
  enum { IN = 8, ROWS = 64 };
  static const int w[] = {256, 256, 256, 4};
  static const nn_act a[] = {NN_ACT_TANH, NN_ACT_TANH, NN_ACT_TANH, NN_ACT_SOFTMAX};
  nn_spec s = nets_mlp(IN, 4, w, a, NN_LOSS_CROSS_ENTROPY, 2);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  float x[ROWS * IN];
  int32_t labels[ROWS];
  for (int i = 0; i < ROWS * IN; i++) x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
  for (int i = 0; i < ROWS; i++) labels[i] = i % 4;
  nn_data d = {.rows = ROWS, .features = IN, .x = x, .labels = labels, .classes = 4};
  nn_gradcheck_result r = check(m, &d, "deep");
  /* a move of W0 runs two 256 x 256 layers in full on 64 rows: the first
   * layer gets a few checks, the cheap last layers all of K */
  cr_expect_gt(r.layers[0].weights_checked, 0);
  cr_expect_lt(r.layers[0].weights_checked, NN_GRADCHECK_PER_TENSOR);
  cr_expect_eq(r.layers[3].weights_checked, NN_GRADCHECK_PER_TENSOR);
  cr_expect_eq(r.layers[3].biases_checked, 4);
  nn__exact e;
  cr_assert_eq(nn__exact_init(&e, m, &d), NN_OK);
  double spent = 0.0;
  for (int l = 0; l < 4; l++)
    spent += 2.0 * nn__exact_cost(&e, l) *
             (double)(r.layers[l].weights_checked + r.layers[l].biases_checked);
  cr_expect_leq(spent, NN_GRADCHECK_BUDGET);
  nn__exact_free(&e);
  nn_model_free(m);
}

Test(nn_gradcheck, steps_across_a_relu_kink_are_skipped) {
  /* unit 0 of the relu layer sits exactly at 0 on the all-zero row: moving
   * its bias crosses the kink, moving its weights (times 0) does not */
  static const int w[] = {3, 1};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_LINEAR};
  nn_model *m;
  nn_spec s = nets_mlp(2, 2, w, a, NN_LOSS_MSE, 1);
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  size_t w_off, b_off;
  cr_assert_eq(nn_model_layer_offsets(m, 0, &w_off, &b_off), NN_OK);
  float *p = nn_model_params(m);
  p[b_off] = 0.0f;
  p[b_off + 1] = p[b_off + 2] = 0.5f;
  static const float x[2] = {0.0f, 0.0f}, y[1] = {1.0f};
  nn_data d = {.rows = 1, .features = 2, .x = x, .outputs = 1, .y = y};
  nn_gradcheck_config c;
  nn_gradcheck_result r;
  nn_gradcheck_defaults(&c);
  cr_assert_eq(nn_gradcheck(m, &d, &c, &r, NULL), NN_OK);
  cr_expect_eq(r.layers[0].skipped, 1);
  cr_expect_eq(r.layers[0].biases_checked, 2);
  cr_expect_eq(r.layers[0].weights_checked, 6);
  cr_expect(r.pass, "%g", r.max_error);
  nn_model_free(m);
}

Test(nn_gradcheck, bad_arguments_are_refused) {
  nn_spec s = nets_xor_spec(1);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = nets_xor_data();
  nn_gradcheck_config c;
  nn_gradcheck_result r;
  nn_error err;
  static const double bad_eps[] = {0.0, -1e-6, 0.2, NAN, INFINITY};
  for (size_t i = 0; i < sizeof bad_eps / sizeof bad_eps[0]; i++) {
    nn_gradcheck_defaults(&c);
    c.epsilon = bad_eps[i];
    cr_expect_eq(nn_gradcheck(m, &d, &c, &r, &err), NN_EINVAL, "epsilon %g", bad_eps[i]);
    cr_expect_str_eq(err.field, "epsilon");
  }
  nn_gradcheck_defaults(&c);
  nn_data wrong = d;
  wrong.features = 3;
  cr_expect_eq(nn_gradcheck(m, &wrong, &c, &r, &err), NN_ESHAPE);
  cr_expect_str_eq(err.field, "features");
  wrong = d;
  wrong.rows = 0;
  cr_expect_eq(nn_gradcheck(m, &wrong, &c, &r, &err), NN_EINVAL);
  static const float nan_y[4] = {0, NAN, 1, 0};
  wrong = d;
  wrong.y = nan_y;
  cr_expect_eq(nn_gradcheck(m, &wrong, &c, &r, &err), NN_EINVAL);
  nn_model_free(m);
}
