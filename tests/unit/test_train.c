/* test_train.c — the training loop learns, is deterministic, and honours
 * batches, callbacks, early stopping, standardization and divergence. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nets.h"

static nn_train_config xor_config(nn_opt opt, float lr, int epochs) {
  nn_train_config c;
  nn_train_config_defaults(&c);
  nn_optim_defaults(opt, &c.optim);
  c.optim.lr = lr;
  c.epochs = epochs;
  c.batch_size = 4;
  c.seed = 3;
  return c;
}

static double xor_mse(const nn_model *m) {
  float out[4];
  cr_assert_eq(nn_model_predict(m, nets_xor_x, 4, out), NN_OK);
  double s = 0;
  for (int i = 0; i < 4; i++) s += (out[i] - nets_xor_y[i]) * (out[i] - nets_xor_y[i]);
  return s / 4;
}

static void learns_xor(nn_opt opt, float lr, float momentum, int epochs) {
  nn_spec s = nets_xor_spec(1);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = nets_xor_data();
  nn_train_config c = xor_config(opt, lr, epochs);
  c.optim.momentum = momentum;
  nn_epoch_metrics em;
  cr_assert_eq(nets_train(m, &d, &c, &em), NN_OK);
  cr_assert_eq(em.epoch, epochs);
  cr_assert_lt(xor_mse(m), 0.01, "%s: mse %g", nn_name(NN_NAMES_OPT, opt), xor_mse(m));
  nn_model_free(m);
}

Test(train, xor_learns_with_sgd) { learns_xor(NN_OPT_SGD, 0.5f, 0.9f, 2000); }
Test(train, xor_learns_with_adam) { learns_xor(NN_OPT_ADAM, 0.05f, 0.0f, 1000); }
Test(train, xor_learns_with_rmsprop) { learns_xor(NN_OPT_RMSPROP, 0.01f, 0.0f, 2000); }

Test(train, three_classes_reach_95_percent) {
  enum { ROWS = 600 };
  float *x = malloc(ROWS * 2 * sizeof(float));
  int32_t *labels = malloc(ROWS * sizeof(int32_t));
  nets_blobs(ROWS, 11, x, labels);
  static const int w[] = {16, 3};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_SOFTMAX};
  nn_spec s = nets_mlp(2, 2, w, a, NN_LOSS_CROSS_ENTROPY, 5);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = {.rows = ROWS, .features = 2, .x = x, .labels = labels, .classes = 3};
  nn_train_config c;
  nn_train_config_defaults(&c);
  c.optim.lr = 0.01f;
  c.epochs = 30;
  c.batch_size = 16;
  c.validation_split = 0.25f;
  nn_epoch_metrics em;
  cr_assert_eq(nets_train(m, &d, &c, &em), NN_OK);
  cr_assert_geq(em.accuracy, 0.95, "accuracy %g", em.accuracy);
  cr_assert_geq(em.val_accuracy, 0.95, "val_accuracy %g", em.val_accuracy);
  cr_assert_eq(em.samples, ROWS - ROWS / 4);
  cr_assert(isfinite(em.val_loss) && em.val_loss < 0.3, "val_loss %g", em.val_loss);
  /* predictions agree with the reported accuracy on the training data */
  float *p = malloc(ROWS * 3 * sizeof(float));
  cr_assert_eq(nn_model_predict(m, x, ROWS, p), NN_OK);
  int right = 0;
  for (int r = 0; r < ROWS; r++) {
    int best = 0;
    for (int j = 1; j < 3; j++) best = p[r * 3 + j] > p[r * 3 + best] ? j : best;
    right += best == labels[r];
    cr_assert_float_eq(p[r * 3] + p[r * 3 + 1] + p[r * 3 + 2], 1.0f, 1e-5);
  }
  cr_assert_geq(right, 0.95 * ROWS);
  free(p);
  free(x);
  free(labels);
  nn_model_free(m);
}

Test(train, binary_labels_with_sigmoid_output) {
  int32_t labels[4] = {0, 1, 1, 0};
  static const int w[] = {8, 1};
  static const nn_act a[] = {NN_ACT_TANH, NN_ACT_SIGMOID};
  nn_spec s = nets_mlp(2, 2, w, a, NN_LOSS_BCE, 2);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = {.rows = 4, .features = 2, .x = nets_xor_x, .labels = labels, .classes = 2};
  nn_train_config c = xor_config(NN_OPT_ADAM, 0.05f, 500);
  nn_epoch_metrics em;
  cr_assert_eq(nets_train(m, &d, &c, &em), NN_OK);
  cr_assert_eq(em.accuracy, 1.0);
  cr_assert_lt(em.loss, 0.05);
  nn_model_free(m);
}

/* Train a dropout net; the weights must depend only on the seeds. */
static nn_model *train_dropout_net(uint64_t seed, int epochs) {
  static const int w[] = {8, 8, 8, 1};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_LINEAR, NN_ACT_TANH, NN_ACT_SIGMOID};
  nn_spec s = nets_mlp(2, 4, w, a, NN_LOSS_MSE, 9);
  s.layers[1].type = NN_LAYER_DROPOUT;
  s.layers[1].rate = 0.25f;
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = nets_xor_data();
  nn_train_config c = xor_config(NN_OPT_ADAM, 0.01f, epochs);
  c.batch_size = 3; /* a partial last batch every epoch */
  c.seed = seed;
  nn_epoch_metrics em;
  cr_assert_eq(nets_train(m, &d, &c, &em), NN_OK);
  return m;
}

Test(train, same_seed_gives_bit_identical_weights) {
  nn_model *a = train_dropout_net(7, 50), *b = train_dropout_net(7, 50),
           *c = train_dropout_net(8, 50);
  size_t bytes = nn_model_param_count(a) * sizeof(float);
  cr_assert_eq(memcmp(nn_model_params(a), nn_model_params(b), bytes), 0);
  cr_assert_neq(memcmp(nn_model_params(a), nn_model_params(c), bytes), 0);
  nn_model_free(a);
  nn_model_free(b);
  nn_model_free(c);
}

typedef struct {
  size_t calls, n_batches, stop_after;
} batch_log;

static int count_batches(void *ud, int epoch, size_t batch, size_t n_batches) {
  batch_log *l = ud;
  cr_assert_eq(epoch, 1);
  cr_assert_eq(batch, l->calls);
  l->calls++;
  l->n_batches = n_batches;
  return l->stop_after != 0 && l->calls >= l->stop_after;
}

Test(train, partial_last_batch_and_callback) {
  enum { ROWS = 10 };
  float x[ROWS * 2], y[ROWS];
  for (int i = 0; i < ROWS; i++) {
    x[2 * i] = (float)i / ROWS;
    x[2 * i + 1] = 1.0f - (float)i / ROWS;
    y[i] = (float)(i % 2);
  }
  nn_spec s = nets_xor_spec(1);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = {.rows = ROWS, .features = 2, .x = x, .outputs = 1, .y = y};
  nn_train_config c = xor_config(NN_OPT_SGD, 0.1f, 3);
  nn_trainer *t;
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  batch_log l = {0, 0, 0};
  nn_epoch_metrics em;
  cr_assert_eq(nn_trainer_epoch(t, count_batches, &l, &em), NN_OK);
  cr_assert_eq(l.calls, 3); /* 4 + 4 + 2 rows */
  cr_assert_eq(l.n_batches, 3);
  cr_assert_eq(em.samples, ROWS);
  cr_assert(isnan(em.accuracy) && isnan(em.val_loss) && isnan(em.val_accuracy));
  nn_trainer_free(t);

  /* a callback that asks to stop ends the epoch early, uncounted */
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  batch_log stop = {0, 0, 2};
  cr_assert_eq(nn_trainer_epoch(t, count_batches, &stop, &em), NN_ESTOPPED);
  cr_assert_eq(stop.calls, 2);
  cr_assert_eq(nn_trainer_epochs_done(t), 0);
  nn_trainer_free(t);
  nn_model_free(m);
}

static int stop_now(void *ud, const nn_epoch_metrics *m) {
  (void)m;
  return ++*(int *)ud >= 2;
}

Test(train, epoch_callback_stops_nn_train) {
  nn_spec s = nets_xor_spec(1);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = nets_xor_data();
  nn_train_config c = xor_config(NN_OPT_SGD, 0.1f, 100);
  int epochs = 0;
  cr_assert_eq(nn_train(m, &d, &c, NULL, stop_now, &epochs, NULL), NN_ESTOPPED);
  cr_assert_eq(epochs, 2);
  nn_model_free(m);
}

Test(train, early_stopping_after_patience_epochs_without_progress) {
  nn_spec s = nets_xor_spec(1);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = nets_xor_data();
  /* an lr this small leaves the loss flat: no epoch improves by min_delta */
  nn_train_config c = xor_config(NN_OPT_SGD, 1e-12f, 100);
  c.patience = 3;
  c.min_delta = 1e-3f;
  nn_trainer *t;
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  nn_epoch_metrics em;
  while (!nn_trainer_done(t)) cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
  cr_assert(nn_trainer_stopped_early(t));
  cr_assert_eq(nn_trainer_epochs_done(t), 1 + 3); /* the first epoch sets the best */
  nn_trainer_free(t);
  nn_model_free(m);
}

Test(train, schedule_sets_each_epochs_lr) {
  nn_spec s = nets_xor_spec(1);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = nets_xor_data();
  nn_train_config c = xor_config(NN_OPT_SGD, 0.4f, 4);
  c.sched.type = NN_SCHED_STEP;
  c.sched.step_size = 2;
  c.sched.gamma = 0.5f;
  nn_trainer *t;
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  float want[] = {0.4f, 0.4f, 0.2f, 0.2f};
  for (int e = 0; e < 4; e++) {
    nn_epoch_metrics em;
    cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
    cr_assert_float_eq(em.lr, want[e], 1e-7);
    cr_assert_eq(em.epoch, e + 1);
  }
  cr_assert(nn_trainer_done(t));
  nn_trainer_free(t);
  nn_model_free(m);
}

Test(train, standardization_uses_training_statistics) {
  enum { ROWS = 64 };
  float x[ROWS * 2], y[ROWS];
  for (int i = 0; i < ROWS; i++) {
    x[2 * i] = 1000.0f + (float)(i % 8);      /* mean 1003.5 */
    x[2 * i + 1] = -50.0f + 0.01f * (float)i; /* tiny spread */
    y[i] = (float)(i % 2);
  }
  nn_spec s = nets_xor_spec(1);
  s.normalize = 1;
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  const float *mean, *std;
  cr_assert_eq(nn_model_norm(m, &mean, &std), NN_EINVAL);
  nn_data d = {.rows = ROWS, .features = 2, .x = x, .outputs = 1, .y = y};
  nn_train_config c = xor_config(NN_OPT_ADAM, 0.01f, 2);
  nn_epoch_metrics em;
  cr_assert_eq(nets_train(m, &d, &c, &em), NN_OK);
  cr_assert_eq(nn_model_norm(m, &mean, &std), NN_OK);
  cr_assert_float_eq(mean[0], 1003.5f, 1e-3);
  cr_assert_float_eq(std[0], sqrtf(5.25f), 1e-4); /* population std of 0..7 */
  cr_assert_float_eq(mean[1], -50.0f + 0.01f * 31.5f, 1e-4);

  /* predict standardizes: same as a model without statistics fed (x-mean)/std */
  nn_model *plain;
  nn_spec ps = s;
  ps.normalize = 0;
  cr_assert_eq(nn_model_new(&ps, &plain, NULL), NN_OK);
  memcpy(nn_model_params(plain), nn_model_params(m), nn_model_param_count(m) * sizeof(float));
  float row[2] = {x[6], x[7]}, z[2] = {(x[6] - mean[0]) / std[0], (x[7] - mean[1]) / std[1]};
  float a, b;
  cr_assert_eq(nn_model_predict(m, row, 1, &a), NN_OK);
  cr_assert_eq(nn_model_predict(plain, z, 1, &b), NN_OK);
  cr_assert_eq(a, b);
  float bad_std[2] = {1.0f, 0.0f};
  cr_assert_eq(nn_model_set_norm(plain, mean, bad_std), NN_EINVAL);
  nn_model_free(plain);
  nn_model_free(m);
}

Test(train, divergence_is_reported) {
  static const int w[] = {8, 1};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_LINEAR};
  nn_spec s = nets_mlp(2, 2, w, a, NN_LOSS_MSE, 1);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  float y[4] = {1e6f, -1e6f, 1e6f, -1e6f};
  nn_data d = {.rows = 4, .features = 2, .x = nets_xor_x, .outputs = 1, .y = y};
  nn_train_config c = xor_config(NN_OPT_SGD, 1e6f, 50);
  nn_error err;
  cr_assert_eq(nn_train(m, &d, &c, NULL, NULL, NULL, &err), NN_ENUMERIC);
  cr_assert(strstr(err.message, "diverged") != NULL);
  nn_model_free(m);
}

Test(train, trainer_rejects_data_that_does_not_fit) {
  nn_spec s = nets_xor_spec(1);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = nets_xor_data();
  d.features = 3;
  nn_train_config c = xor_config(NN_OPT_SGD, 0.1f, 1);
  nn_trainer *t = NULL;
  nn_error err;
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, &err), NN_ESHAPE);
  cr_assert_null(t);
  d = nets_xor_data();
  c.batch_size = 0;
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "batch_size");
  nn_model_free(m);
}

static int stop_at_batch(void *ud, int epoch, size_t batch, size_t n_batches) {
  (void)n_batches;
  const int *at = ud; /* {epoch, batch} */
  return epoch == at[0] && (int)batch == at[1];
}

/* Train to the end, pausing once at pause (epoch, batch) when given: the
 * paused trainer is checkpointed and training goes on from the checkpoint in
 * a fresh model and trainer, as after a graceful daemon stop. */
static nn_model *train_paused(const nn_data *d, const nn_train_config *c, const int *pause) {
  nn_spec s = nets_xor_spec(4);
  s.layers[2] = s.layers[1];
  s.layers[1].type = NN_LAYER_DROPOUT;
  s.layers[1].rate = 0.2f;
  s.n_layers = 3;
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_trainer *t;
  cr_assert_eq(nn_trainer_new(m, d, c, NULL, &t, NULL), NN_OK);
  nn_epoch_metrics em;
  while (!nn_trainer_done(t)) {
    int rc = nn_trainer_epoch(t, pause ? stop_at_batch : NULL, (void *)pause, &em);
    if (rc == NN_OK) continue;
    cr_assert_eq(rc, NN_ESTOPPED);
    cr_assert_eq(nn_trainer_epochs_done(t), pause[0] - 1);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(nn_checkpoint_save(m, t, &buf, &len), NN_OK);
    nn_trainer_free(t);
    nn_model_free(m);
    nn_train_state st;
    cr_assert_eq(nn_checkpoint_load(buf, len, &m, &st, NULL), NN_OK);
    free(buf);
    cr_assert_eq(st.batch, pause[1] + 1);
    cr_assert_eq(nn_trainer_new(m, d, c, &st, &t, NULL), NN_OK);
    nn_train_state_free(&st);
    pause = NULL;
  }
  cr_assert_eq(em.epoch, c->epochs);
  nn_trainer_free(t);
  return m;
}

Test(train, pausing_mid_epoch_and_resuming_from_a_checkpoint_is_bit_exact) {
  enum { ROWS = 50 };
  float x[ROWS * 2], y[ROWS];
  for (int i = 0; i < ROWS; i++) {
    x[2 * i] = (float)(i % 7) / 7.0f;
    x[2 * i + 1] = (float)(i % 5) / 5.0f;
    y[i] = (float)((i % 7 + i % 5) % 2);
  }
  nn_data d = {.rows = ROWS, .features = 2, .x = x, .outputs = 1, .y = y};
  nn_train_config c = xor_config(NN_OPT_ADAM, 0.01f, 6);
  c.batch_size = 8;
  c.validation_split = 0.2f;
  nn_model *whole = train_paused(&d, &c, NULL);
  int pauses[][2] = {{3, 2}, {1, 0}, {6, 4}}; /* mid, first batch, last batch */
  for (size_t i = 0; i < sizeof pauses / sizeof pauses[0]; i++) {
    nn_model *resumed = train_paused(&d, &c, pauses[i]);
    cr_assert_eq(memcmp(nn_model_params(whole), nn_model_params(resumed),
                        nn_model_param_count(whole) * sizeof(float)),
                 0, "pause at epoch %d batch %d", pauses[i][0], pauses[i][1]);
    nn_model_free(resumed);
  }
  nn_model_free(whole);
}
