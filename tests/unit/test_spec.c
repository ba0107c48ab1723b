/* test_spec.c — model specs, training configs, data checks and name tables. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "nets.h"

static void expect_invalid(nn_spec s, int status, const char *field) {
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_spec_validate(&s, &err), status, "field %s: %s", field, err.message);
  cr_assert_str_eq(err.field, field);
  cr_assert_neq(err.message[0], '\0');
}

Test(spec, xor_net_counts_parameters_and_resolves_init) {
  nn_spec s = nets_xor_spec(1);
  cr_assert_eq(nn_spec_validate(&s, NULL), NN_OK);
  cr_assert_eq(nn_spec_param_count(&s), 2 * 8 + 8 + 8 + 1);
  cr_assert_eq(nn_spec_outputs(&s), 1);
  cr_assert_eq(s.layers[0].init, NN_INIT_XAVIER);
  static const int w[] = {4, 3};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_SOFTMAX};
  nn_spec r = nets_mlp(5, 2, w, a, NN_LOSS_CROSS_ENTROPY, 0);
  cr_assert_eq(nn_spec_validate(&r, NULL), NN_OK);
  cr_assert_eq(r.layers[0].init, NN_INIT_HE);
}

Test(spec, rejects_bad_widths_and_rates) {
  nn_spec s = nets_xor_spec(1);
  s.layers[1].units = 0;
  expect_invalid(s, NN_EINVAL, "layers[1].units");
  s.layers[1].units = -3;
  expect_invalid(s, NN_EINVAL, "layers[1].units");
  s = nets_xor_spec(1);
  s.layers[0].units = NN_MAX_UNITS + 1;
  expect_invalid(s, NN_ERANGE, "layers[0].units");
  s = nets_xor_spec(1);
  s.inputs = 0;
  expect_invalid(s, NN_EINVAL, "inputs");
  s.n_layers = 0;
  s.inputs = 2;
  expect_invalid(s, NN_EINVAL, "layers");
  s.n_layers = NN_MAX_LAYERS + 1;
  expect_invalid(s, NN_ERANGE, "layers");

  float rates[] = {1.0f, -0.1f, NAN, INFINITY};
  for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
    s = nets_xor_spec(1);
    s.layers[2] = s.layers[1];
    s.layers[1].type = NN_LAYER_DROPOUT;
    s.layers[1].rate = rates[i];
    s.n_layers = 3;
    expect_invalid(s, NN_EINVAL, "layers[1].rate");
  }
  s = nets_xor_spec(1);
  s.layers[0].act = NN_ACT_LEAKY_RELU;
  s.layers[0].slope = 1.5f;
  expect_invalid(s, NN_EINVAL, "layers[0].slope");
}

Test(spec, rejects_parameter_counts_that_overflow) {
  /* three 2^20-wide layers: 2^40 weights, far past NN_MAX_PARAMS */
  static const int w[] = {NN_MAX_UNITS, NN_MAX_UNITS, 1};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_RELU, NN_ACT_LINEAR};
  nn_spec s = nets_mlp(NN_MAX_UNITS, 3, w, a, NN_LOSS_MSE, 0);
  expect_invalid(s, NN_ERANGE, "layers[0].units");
  nn_model *m = NULL;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_ERANGE);
  cr_assert_null(m);
}

Test(spec, loss_must_match_output_layer) {
  static const int w[] = {4, 3};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_LINEAR};
  expect_invalid(nets_mlp(2, 2, w, a, NN_LOSS_CROSS_ENTROPY, 0), NN_EINVAL, "layers[1].activation");
  expect_invalid(nets_mlp(2, 2, w, a, NN_LOSS_BCE, 0), NN_EINVAL, "layers[1].activation");
  nn_spec s = nets_mlp(2, 2, w, a, NN_LOSS_MSE, 0);
  s.layers[1].type = NN_LAYER_DROPOUT;
  expect_invalid(s, NN_EINVAL, "layers[1].type");
  s = nets_mlp(2, 2, w, a, NN_LOSS_MSE, 0);
  s.loss = (nn_loss)42;
  expect_invalid(s, NN_EINVAL, "loss");
}

Test(names, every_table_round_trips) {
  nn_names_kind kinds[] = {NN_NAMES_LAYER, NN_NAMES_ACT, NN_NAMES_INIT,
                           NN_NAMES_LOSS,  NN_NAMES_OPT, NN_NAMES_SCHED};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    int v = 0;
    for (; nn_name(kinds[k], v) != NULL; v++) {
      int back = -1;
      cr_assert_eq(nn_parse_name(kinds[k], nn_name(kinds[k], v), &back), NN_OK);
      cr_assert_eq(back, v);
    }
    cr_assert_geq(v, 2, "table %zu has too few names", k);
    cr_assert_null(nn_name(kinds[k], -1));
    int unused;
    cr_assert_eq(nn_parse_name(kinds[k], "no-such-name", &unused), NN_EINVAL);
    cr_assert_eq(nn_parse_name(kinds[k], NULL, &unused), NN_EINVAL);
  }
  cr_assert_str_eq(nn_name(NN_NAMES_ACT, NN_ACT_LEAKY_RELU), "leaky_relu");
  cr_assert_str_eq(nn_name(NN_NAMES_LOSS, NN_LOSS_BCE), "binary_cross_entropy");
  cr_assert_str_eq(nn_name(NN_NAMES_STATUS, NN_EINVAL), "invalid_argument");
  cr_assert_str_eq(nn_name(NN_NAMES_STATUS, NN_OK), "ok");
  cr_assert_null(nn_name(NN_NAMES_STATUS, 1));
  cr_assert_str_eq(nn_strerror(NN_ENUMERIC), "training diverged (NaN or Inf)");
  cr_assert_str_eq(nn_strerror(-100), "unknown error");
}

static void expect_config_invalid(nn_train_config c, const char *field) {
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_train_config_validate(&c, &err), NN_EINVAL, "field %s accepted", field);
  cr_assert_str_eq(err.field, field);
}

Test(config, defaults_are_valid_and_bad_fields_are_named) {
  nn_train_config c;
  nn_train_config_defaults(&c);
  cr_assert_eq(nn_train_config_validate(&c, NULL), NN_OK);
  nn_train_config b = c;
  b.epochs = 0;
  expect_config_invalid(b, "epochs");
  b = c;
  b.batch_size = 0;
  expect_config_invalid(b, "batch_size");
  b = c;
  b.validation_split = 1.0f;
  expect_config_invalid(b, "validation_split");
  b = c;
  b.optim.lr = NAN;
  expect_config_invalid(b, "optimizer.lr");
  b = c;
  b.optim.lr = -1.0f;
  expect_config_invalid(b, "optimizer.lr");
  b = c;
  b.optim.nesterov = 1; /* adam has no nesterov */
  expect_config_invalid(b, "optimizer.nesterov");
  b = c;
  b.optim.beta2 = 1.0f;
  expect_config_invalid(b, "optimizer.beta2");
  b = c;
  b.sched.type = NN_SCHED_STEP;
  b.sched.step_size = 0;
  expect_config_invalid(b, "lr_schedule.step_size");
  b = c;
  b.clip_norm = INFINITY;
  expect_config_invalid(b, "clip_norm");
  b = c;
  b.patience = -1;
  expect_config_invalid(b, "early_stopping.patience");
}

Test(config, schedules_follow_their_formulas) {
  nn_sched_spec s = {NN_SCHED_CONSTANT, 2, 0.5f, 0.0f};
  cr_assert_float_eq(nn_sched_lr(&s, 0.1f, 7, 10), 0.1f, 1e-9);
  s.type = NN_SCHED_STEP;
  cr_assert_float_eq(nn_sched_lr(&s, 0.1f, 1, 10), 0.1f, 1e-9);
  cr_assert_float_eq(nn_sched_lr(&s, 0.1f, 5, 10), 0.025f, 1e-9);
  s.type = NN_SCHED_EXPONENTIAL;
  cr_assert_float_eq(nn_sched_lr(&s, 0.1f, 3, 10), 0.0125f, 1e-9);
  s.type = NN_SCHED_COSINE;
  s.min_lr = 0.01f;
  cr_assert_float_eq(nn_sched_lr(&s, 0.1f, 0, 10), 0.1f, 1e-7);
  cr_assert_float_eq(nn_sched_lr(&s, 0.1f, 5, 10), 0.055f, 1e-7);
  cr_assert_float_eq(nn_sched_lr(&s, 0.1f, 10, 10), 0.01f, 1e-7);
}

/* Found by fuzz_job: with lr 0.1 and min_lr 0.0011, lr - min_lr rounded in
 * float made epoch 0 run at the float above lr. */
Test(config, cosine_starts_at_lr_and_stays_within_its_range) {
  static const float lrs[] = {0.1f, 0.01f, 3e-4f, 1.0f, 0.7f};
  static const float mins[] = {0.0011f, 1e-6f, 0.0f, 3e-5f, 0.69f};
  nn_sched_spec s = {NN_SCHED_COSINE, 1, 0.1f, 0.0f};
  for (size_t i = 0; i < sizeof lrs / sizeof lrs[0]; i++) {
    s.min_lr = mins[i];
    cr_assert_eq(nn_sched_lr(&s, lrs[i], 0, 50), lrs[i], "lr %g, min_lr %g", (double)lrs[i],
                 (double)mins[i]);
    cr_assert_eq(nn_sched_lr(&s, lrs[i], 50, 50), mins[i]);
    for (int e = 1; e < 50; e++) {
      float lr = nn_sched_lr(&s, lrs[i], e, 50);
      cr_assert(lr >= mins[i] && lr <= lrs[i], "epoch %d: %g", e, (double)lr);
    }
  }
}

Test(data, mismatches_are_named) {
  nn_spec s = nets_xor_spec(1);
  cr_assert_eq(nn_spec_validate(&s, NULL), NN_OK);
  nn_data d = nets_xor_data();
  nn_error err;
  cr_assert_eq(nn_data_check(&d, &s, &err), NN_OK);
  d.features = 3;
  cr_assert_eq(nn_data_check(&d, &s, &err), NN_ESHAPE);
  cr_assert_str_eq(err.field, "features");
  d = nets_xor_data();
  d.outputs = 2;
  cr_assert_eq(nn_data_check(&d, &s, &err), NN_ESHAPE);
  cr_assert_str_eq(err.field, "outputs");
  float bad[8] = {0, 0, 0, NAN, 1, 0, 1, 1};
  d = nets_xor_data();
  d.x = bad;
  cr_assert_eq(nn_data_check(&d, &s, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "inputs");
  d = nets_xor_data();
  d.rows = 0;
  cr_assert_eq(nn_data_check(&d, &s, &err), NN_EINVAL);

  static const int w[] = {4, 3};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_SOFTMAX};
  nn_spec ce = nets_mlp(2, 2, w, a, NN_LOSS_CROSS_ENTROPY, 0);
  cr_assert_eq(nn_spec_validate(&ce, NULL), NN_OK);
  int32_t labels[4] = {0, 1, 2, 3};
  nn_data l = {.rows = 4, .features = 2, .x = nets_xor_x, .labels = labels, .classes = 3};
  cr_assert_eq(nn_data_check(&l, &ce, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "labels");
  labels[3] = 0;
  cr_assert_eq(nn_data_check(&l, &ce, &err), NN_OK);
  l.classes = 4;
  cr_assert_eq(nn_data_check(&l, &ce, &err), NN_ESHAPE);
  l.y = nets_xor_y; /* both targets and labels */
  cr_assert_eq(nn_data_check(&l, &ce, &err), NN_EINVAL);
}

Test(data, binary_cross_entropy_needs_targets_in_unit_interval) {
  static const int w[] = {4, 1};
  static const nn_act a[] = {NN_ACT_TANH, NN_ACT_SIGMOID};
  nn_spec s = nets_mlp(2, 2, w, a, NN_LOSS_BCE, 0);
  cr_assert_eq(nn_spec_validate(&s, NULL), NN_OK);
  float y[4] = {0, 1, 2, 0};
  nn_data d = {.rows = 4, .features = 2, .x = nets_xor_x, .outputs = 1, .y = y};
  nn_error err;
  cr_assert_eq(nn_data_check(&d, &s, &err), NN_ESHAPE);
  cr_assert_str_eq(err.field, "targets");
}
