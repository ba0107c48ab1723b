/*
 * test_torch_ref.c — core's numbers against PyTorch's: outputs, losses,
 * gradients and ten optimizer steps on the nets of
 * tests/fixtures/torch_ref.txt (made by tests/gen_torch_fixture.py).
 *
 * Tolerances. Both sides compute in float32 but sum in different orders
 * (PyTorch's kernels against core's loops or OpenBLAS), so each value differs
 * by a few ulps of the terms summed into it. Measured on these cases: outputs,
 * losses and gradients agree to 6e-8 absolute (dx to 4e-9), weights after ten
 * steps to 5e-7 (RMSprop and Adam, whose division by sqrt(v) magnifies the
 * relative error of near-zero gradient entries, are the worst). The bounds
 * below leave a margin of 15-20x for other compilers and BLAS builds, yet a
 * wrong formula (a missing bias correction, momentum, decay, clip or schedule
 * step; a wrong slope or loss scale) moves values by 1e-3 or more.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define FIXTURE "tests/fixtures/torch_ref.txt"

#define FWD_ATOL 1e-6 /* outputs, loss, gradients: |got - want| <= atol + rtol |want| */
#define FWD_RTOL 1e-5
#define TRAIN_ATOL 1e-5 /* per-epoch losses and weights after ten steps */
#define TRAIN_RTOL 1e-4

static void load(const char *name, fixture_case *c) {
  char err[256];
  cr_assert_eq(fixture_load(FIXTURE, name, c, err, sizeof err), 0, "%s", err);
}

static const fixture_tensor *tensor(const fixture_case *c, const char *name) {
  const fixture_tensor *t = fixture_tensor_get(c, name);
  cr_assert_not_null(t, "fixture tensor %s missing", name);
  return t;
}

/* |got - want| <= atol + rtol |want| for all n values; names the worst. */
static void expect_close(const char *what, const float *got, const float *want, size_t n,
                         double atol, double rtol) {
  size_t worst = 0;
  double worst_excess = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double excess = fabs((double)got[i] - want[i]) - (atol + rtol * fabs(want[i]));
    if (!(excess <= worst_excess)) { /* NaN counts as worst */
      worst_excess = excess;
      worst = i;
    }
  }
  cr_expect(worst_excess <= 0.0, "%s[%zu]: got %.9g, PyTorch %.9g", what, worst, got[worst],
            want[worst]);
}

/* A model of the case's spec with the case's initial parameters. */
static nn_model *model_of(const fixture_case *c) {
  nn_model *m;
  cr_assert_eq(nn_model_new(&c->spec, &m, NULL), NN_OK);
  const fixture_tensor *p = tensor(c, "params");
  cr_assert_eq(nn_model_param_count(m), p->count, "parameter layout differs from nn.Linear's");
  memcpy(nn_model_params(m), p->v, p->count * sizeof(float));
  return m;
}

/* (rows,) class indices from a tensor that stores them as floats */
static int32_t *labels_of(const fixture_tensor *t) {
  int32_t *labels = malloc(t->count * sizeof(int32_t));
  cr_assert_not_null(labels);
  for (size_t i = 0; i < t->count; i++) labels[i] = (int32_t)t->v[i];
  return labels;
}

/* Forward pass, loss, dLoss/dParams and dLoss/dx of one case. */
static void check_forward(const char *name) {
  fixture_case c;
  load(name, &c);
  nn_model *m = model_of(&c);
  const fixture_tensor *x = tensor(&c, "x"), *want_out = tensor(&c, "out");
  const fixture_tensor *want_grad = tensor(&c, "grad"), *want_dx = tensor(&c, "dx");
  const fixture_tensor *y = fixture_tensor_get(&c, "y");
  size_t rows = x->count / (size_t)c.spec.inputs;
  int32_t *labels = y == NULL ? labels_of(tensor(&c, "labels")) : NULL;
  float *out = malloc(want_out->count * sizeof(float));      /* (rows, outputs) */
  float *grad = malloc(want_grad->count * sizeof(float));    /* (P,) */
  float *dx = malloc(x->count * sizeof(float));              /* (rows, inputs) */
  cr_assert(out != NULL && grad != NULL && dx != NULL);
  cr_assert_eq(want_out->count, rows * (size_t)nn_spec_outputs(&c.spec));

  cr_assert_eq(nn_model_predict(m, x->v, rows, out), NN_OK);
  expect_close("out", out, want_out->v, want_out->count, FWD_ATOL, FWD_RTOL);
  double loss;
  cr_assert_eq(nn_model_loss_grad(m, x->v, y != NULL ? y->v : NULL, labels, rows, grad, dx, &loss),
               NN_OK);
  float loss_f = (float)loss;
  expect_close("loss", &loss_f, tensor(&c, "loss")->v, 1, FWD_ATOL, FWD_RTOL);
  expect_close("grad", grad, want_grad->v, want_grad->count, FWD_ATOL, FWD_RTOL);
  expect_close("dx", dx, want_dx->v, want_dx->count, FWD_ATOL, FWD_RTOL);

  free(out);
  free(grad);
  free(dx);
  free(labels);
  nn_model_free(m);
  fixture_free(&c);
}

/* Ten full-batch epochs, one optimizer step each: per-epoch loss and learning
 * rate, and the final weights. */
static void check_training(const char *name) {
  fixture_case c;
  load(name, &c);
  cr_assert(c.has_train);
  nn_model *m = model_of(&c);
  const fixture_tensor *x = tensor(&c, "x"), *want_losses = tensor(&c, "losses");
  const fixture_tensor *want_lrs = tensor(&c, "lrs"), *want = tensor(&c, "params_after");
  const fixture_tensor *lt = tensor(&c, "labels");
  int32_t *labels = labels_of(lt);
  nn_data d = {.rows = lt->count, .features = c.spec.inputs, .x = x->v,
               .outputs = nn_spec_outputs(&c.spec), .labels = labels,
               .classes = nn_spec_outputs(&c.spec)};
  nn_train_config cfg = c.train; /* optimizer, clip_norm, schedule, epochs */
  cfg.batch_size = (int)d.rows;
  cfg.shuffle = 0;
  cfg.validation_split = 0.0f;
  cr_assert_eq(want_losses->count, (size_t)cfg.epochs);
  nn_trainer *t;
  nn_error err;
  cr_assert_eq(nn_trainer_new(m, &d, &cfg, NULL, &t, &err), NN_OK, "%s", err.message);
  float losses[64], lrs[64];
  cr_assert(cfg.epochs <= 64);
  for (int e = 0; e < cfg.epochs; e++) {
    nn_epoch_metrics em;
    cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
    losses[e] = (float)em.loss;
    lrs[e] = em.lr;
  }
  cr_expect(nn_trainer_done(t));
  expect_close("losses", losses, want_losses->v, want_losses->count, TRAIN_ATOL, TRAIN_RTOL);
  expect_close("lrs", lrs, want_lrs->v, want_lrs->count, 0.0, 1e-6);
  expect_close("params_after", nn_model_params(m), want->v, want->count, TRAIN_ATOL, TRAIN_RTOL);

  nn_trainer_free(t);
  free(labels);
  nn_model_free(m);
  fixture_free(&c);
}

Test(torch_ref, mse_mixed_hidden_activations) { check_forward("mse_mix"); }
Test(torch_ref, mse_tanh_output) { check_forward("mse_tanh_out"); }
Test(torch_ref, cross_entropy_labels) { check_forward("ce_labels"); }
Test(torch_ref, cross_entropy_one_hot) { check_forward("ce_onehot"); }
Test(torch_ref, bce_with_dropout_layer) { check_forward("bce"); }

Test(torch_ref, sgd) { check_training("train_sgd"); }
Test(torch_ref, sgd_momentum) { check_training("train_sgd_momentum"); }
Test(torch_ref, sgd_nesterov) { check_training("train_sgd_nesterov"); }
Test(torch_ref, adam) { check_training("train_adam"); }
Test(torch_ref, adamw) { check_training("train_adamw"); }
Test(torch_ref, rmsprop) { check_training("train_rmsprop"); }
Test(torch_ref, sgd_l2_weight_decay) { check_training("train_sgd_l2"); }
Test(torch_ref, adam_l2_weight_decay) { check_training("train_adam_l2"); }
Test(torch_ref, sgd_clip_grad_norm) { check_training("train_sgd_clip"); }
Test(torch_ref, sgd_step_lr) { check_training("train_sgd_step_lr"); }

Test(torch_ref, fixture_reader_rejects_missing_case) {
  fixture_case c;
  char err[256];
  cr_expect_eq(fixture_load(FIXTURE, "no_such_case", &c, err, sizeof err), -1);
  cr_expect(strstr(err, "no_such_case") != NULL, "%s", err);
  fixture_free(&c);
  cr_expect_eq(fixture_load("tests/fixtures/absent.txt", "sgd", &c, err, sizeof err), -1);
  fixture_free(&c);
}
