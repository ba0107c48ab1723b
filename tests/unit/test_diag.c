/* test_diag.c — per-layer training diagnostics: their values against an
 * independent computation, dead relu units, no effect on training, and an
 * exact resume from a mid-epoch checkpoint (format version 2; version 1
 * checkpoints still load). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/nn_internal.h"
#include "nets.h"

enum { ROWS = 12, BATCH = 6 };

/* ROWS rows of 2 features in [0, 1) and a smooth target. */
static void make_rows(float *x, float *y) {
  for (int i = 0; i < ROWS; i++) {
    x[2 * i] = (float)(i % 4) / 4.0f;
    x[2 * i + 1] = (float)(i % 3) / 3.0f;
    y[i] = x[2 * i] * x[2 * i + 1] - 0.25f;
  }
}

/* 2 -> tanh 5 -> relu 3 -> linear 1, mse: every kind of row in the output. */
static nn_spec small_spec(void) {
  static const int w[] = {5, 3, 1};
  static const nn_act a[] = {NN_ACT_TANH, NN_ACT_RELU, NN_ACT_LINEAR};
  return nets_mlp(2, 3, w, a, NN_LOSS_MSE, 7);
}

static nn_train_config sgd_config(int epochs) {
  nn_train_config c;
  nn_train_config_defaults(&c);
  nn_optim_defaults(NN_OPT_SGD, &c.optim);
  c.optim.lr = 0.1f;
  c.epochs = epochs;
  c.batch_size = BATCH;
  c.shuffle = 0;
  c.seed = 5;
  c.diagnostics = 1;
  return c;
}

/* ||W||^2 of dense layer l of the flat buffer p of m, summed naively. */
static double w_sq(const nn_model *m, const float *p, int l) {
  size_t w_off, b_off;
  cr_assert_eq(nn_model_layer_offsets(m, l, &w_off, &b_off), NN_OK);
  double s = 0.0;
  for (size_t i = w_off; i < b_off; i++) s += (double)p[i] * p[i];
  return s;
}

static void expect_close(double got, double want, const char *what, int l) {
  cr_expect(fabs(got - want) <= 1e-12 * fabs(want), "%s of layer %d: %.17g, expected %.17g",
            what, l, got, want);
}

/* Stops after the first batch. */
static int stop_first(void *ud, int epoch, size_t batch, size_t n_batches) {
  (void)ud, (void)epoch, (void)batch, (void)n_batches;
  return 1;
}

Test(diag, norms_match_backprop_on_each_batch) {
  float x[ROWS * 2], y[ROWS];
  make_rows(x, y);
  nn_data d = {.rows = ROWS, .features = 2, .x = x, .outputs = 1, .y = y};
  nn_spec s = small_spec();
  nn_train_config c = sgd_config(1);
  nn_model *m, *before, *mid;
  nn_trainer *t, *half;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  cr_assert_eq(nn_model_clone(m, &before), NN_OK);
  cr_assert_eq(nn_model_clone(m, &mid), NN_OK);

  /* the weights the second batch saw: a twin run stopped after the first */
  nn_epoch_metrics em;
  cr_assert_eq(nn_trainer_new(mid, &d, &c, NULL, &half, NULL), NN_OK);
  cr_assert_eq(nn_trainer_epoch(half, stop_first, NULL, &em), NN_ESTOPPED);

  nn_layer_diag got[3];
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  cr_assert_eq(nn_trainer_diagnostics(t, got), NN_EINVAL, "no epoch completed yet");
  cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
  cr_assert_eq(nn_trainer_diagnostics(t, got), NN_OK);

  /* each batch's gradient, independently: rows 0..5 at the initial weights,
   * rows 6..11 at the weights after the first step */
  size_t P = nn_model_param_count(m);
  float *g1 = malloc(P * sizeof(float)), *g2 = malloc(P * sizeof(float));
  double loss;
  cr_assert_eq(nn_model_loss_grad(before, x, y, NULL, BATCH, g1, NULL, &loss), NN_OK);
  cr_assert_eq(nn_model_loss_grad(mid, x + 2 * BATCH, y + BATCH, NULL, BATCH, g2, NULL, &loss),
               NN_OK);
  for (int l = 0; l < 3; l++) {
    double rms = sqrt((w_sq(m, g1, l) + w_sq(m, g2, l)) / 2.0);
    cr_assert_gt(rms, 0.0);
    expect_close(got[l].grad_norm, rms, "grad_norm", l);
    expect_close(got[l].weight_norm, sqrt(w_sq(m, nn_model_params_const(m), l)), "weight_norm",
                 l);
  }
  cr_expect(isnan(got[0].dead_fraction), "tanh has no dead units");
  cr_expect(isnan(got[2].dead_fraction), "linear has no dead units");
  cr_expect(got[1].dead_fraction >= 0.0 && got[1].dead_fraction <= 1.0);
  free(g1);
  free(g2);
  nn_trainer_free(t);
  nn_trainer_free(half);
  nn_model_free(m);
  nn_model_free(before);
  nn_model_free(mid);
}

Test(diag, dead_units_are_those_silent_for_every_row) {
  /* 2 -> relu 4 -> linear 1: units 0 and 1 are dead (bias -100), unit 2
   * fires for the row (1, 1) alone, unit 3 for every row */
  static const int w[] = {4, 1};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_LINEAR};
  nn_spec s = nets_mlp(2, 2, w, a, NN_LOSS_MSE, 3);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  size_t w_off, b_off;
  cr_assert_eq(nn_model_layer_offsets(m, 0, &w_off, &b_off), NN_OK);
  float *p = nn_model_params(m);
  static const float W[8] = {0.1f, 0.1f, 0.1f, 0.1f, 1.0f, 1.0f, 0.5f, 0.5f};
  static const float b[4] = {-100.0f, -100.0f, -1.5f, 0.5f};
  memcpy(p + w_off, W, sizeof W);
  memcpy(p + b_off, b, sizeof b);
  nn_data d = nets_xor_data();
  nn_train_config c = sgd_config(3);
  c.optim.lr = 1e-4f; /* unit 2 keeps firing for its one row */
  c.batch_size = 1;   /* that row is in one batch of four */
  c.shuffle = 1;
  nn_trainer *t;
  nn_epoch_metrics em;
  nn_layer_diag got[2];
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  for (int e = 0; e < 3; e++) {
    cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
    cr_assert_eq(nn_trainer_diagnostics(t, got), NN_OK);
    cr_expect_eq(got[0].dead_fraction, 0.5, "epoch %d: %g", e + 1, got[0].dead_fraction);
    cr_expect(isnan(got[1].dead_fraction));
  }
  /* now all four fire: the count starts over each epoch */
  cr_assert_eq(nn_model_layer_offsets(m, 0, &w_off, &b_off), NN_OK);
  p[b_off] = p[b_off + 1] = 1.0f;
  cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
  cr_assert_eq(nn_trainer_diagnostics(t, got), NN_OK);
  cr_expect_eq(got[0].dead_fraction, 0.0);
  nn_trainer_free(t);
  nn_model_free(m);
}

Test(diag, off_by_default_and_refused_when_off) {
  nn_train_config c;
  nn_train_config_defaults(&c);
  cr_assert_eq(c.diagnostics, 0);
  nn_spec s = nets_xor_spec(1);
  nn_model *m;
  nn_trainer *t;
  nn_epoch_metrics em;
  nn_layer_diag got[2];
  nn_data d = nets_xor_data();
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
  cr_assert_eq(nn_trainer_diagnostics(t, got), NN_EINVAL);
  nn_trainer_free(t);
  nn_model_free(m);
}

Test(diag, sums_of_squares_are_accurate_at_every_size) {
  /* sizes around the 8-lane loop, its tail and the float block path */
  static const size_t sizes[] = {0, 1, 7, 8, 9, 31, 1023, 1024, 1025, 2047, 2048, 2049, 100003};
  float *v = malloc(100003 * sizeof(float));
  uint64_t st = 99;
  for (size_t i = 0; i < 100003; i++) {
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = ((float)(st >> 40) / 8388608.0f - 1.0f) * (i % 3 == 0 ? 1e3f : 1e-2f);
  }
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    long double want = 0.0L;
    for (size_t i = 0; i < sizes[s]; i++) want += (long double)v[i] * v[i];
    double got = nn__sumsq(v, sizes[s]);
    cr_expect(fabsl(got - want) <= 4e-6L * want, "n %zu: %.17g, expected %.17Lg", sizes[s], got,
              want);
  }
  free(v);
}

/* ---- a net with dropout, trained with and without pauses -------------------- */

enum { LONG_ROWS = 50, EPOCHS = 5 };

typedef struct {
  float x[LONG_ROWS * 2], y[LONG_ROWS];
  nn_data d;
  nn_train_config c;
} problem;

static void problem_init(problem *p, int diagnostics) {
  for (int i = 0; i < LONG_ROWS; i++) {
    p->x[2 * i] = (float)(i % 7) / 7.0f - 0.5f;
    p->x[2 * i + 1] = (float)(i % 5) / 5.0f - 0.5f;
    p->y[i] = (float)((i % 7 + i % 5) % 2);
  }
  p->d = (nn_data){.rows = LONG_ROWS, .features = 2, .x = p->x, .outputs = 1, .y = p->y};
  nn_train_config_defaults(&p->c);
  p->c.optim.lr = 0.01f;
  p->c.epochs = EPOCHS;
  p->c.batch_size = 8;
  p->c.seed = 3;
  p->c.validation_split = 0.2f;
  p->c.diagnostics = diagnostics;
}

/* 2 -> relu 6 -> dropout -> tanh 4 -> sigmoid 1 */
static nn_model *dropout_model(void) {
  static const int w[] = {6, 4, 1};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_TANH, NN_ACT_SIGMOID};
  nn_spec s = nets_mlp(2, 3, w, a, NN_LOSS_MSE, 11);
  memmove(&s.layers[2], &s.layers[1], 2 * sizeof s.layers[0]);
  nn_layer_spec_defaults(&s.layers[1]);
  s.layers[1].type = NN_LAYER_DROPOUT;
  s.layers[1].rate = 0.25f;
  s.n_layers = 4;
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  return m;
}

static int stop_at(void *ud, int epoch, size_t batch, size_t n_batches) {
  (void)n_batches;
  const int *at = ud; /* {epoch, batch} */
  return epoch == at[0] && (int)batch == at[1];
}

/* Train p to the end, pausing once at pause (epoch, batch) when given and
 * going on from a checkpoint in a fresh model and trainer whose config has
 * diagnostics `resume_diag`. Fills diag (EPOCHS, 4) when diagnostics are on. */
static nn_model *train(const problem *p, const int *pause, int resume_diag,
                       nn_layer_diag diag[EPOCHS][4]) {
  nn_model *m = dropout_model();
  nn_trainer *t;
  nn_train_config c = p->c;
  cr_assert_eq(nn_trainer_new(m, &p->d, &c, NULL, &t, NULL), NN_OK);
  nn_epoch_metrics em;
  while (!nn_trainer_done(t)) {
    int rc = nn_trainer_epoch(t, pause ? stop_at : NULL, (void *)pause, &em);
    if (rc == NN_OK) {
      if (c.diagnostics) cr_assert_eq(nn_trainer_diagnostics(t, diag[em.epoch - 1]), NN_OK);
      continue;
    }
    cr_assert_eq(rc, NN_ESTOPPED);
    uint8_t *buf;
    size_t len;
    nn_train_state st;
    cr_assert_eq(nn_checkpoint_save(m, t, &buf, &len), NN_OK);
    nn_trainer_free(t);
    nn_model_free(m);
    cr_assert_eq(nn_checkpoint_load(buf, len, &m, &st, NULL), NN_OK);
    free(buf);
    cr_assert_eq(st.has_diag, c.diagnostics);
    c.diagnostics = resume_diag;
    cr_assert_eq(nn_trainer_new(m, &p->d, &c, &st, &t, NULL), NN_OK);
    nn_train_state_free(&st);
    pause = NULL;
  }
  nn_trainer_free(t);
  return m;
}

static void assert_same_params(const nn_model *a, const nn_model *b, const char *why) {
  cr_assert_eq(memcmp(nn_model_params_const(a), nn_model_params_const(b),
                      nn_model_param_count(a) * sizeof(float)),
               0, "%s", why);
}

Test(diag, change_nothing_in_training) {
  problem on, off;
  problem_init(&on, 1);
  problem_init(&off, 0);
  nn_layer_diag diag[EPOCHS][4];
  nn_model *a = train(&on, NULL, 1, diag), *b = train(&off, NULL, 0, diag);
  assert_same_params(a, b, "diagnostics changed the weights");
  nn_model_free(a);
  nn_model_free(b);
}

Test(diag, resume_exactly_from_a_mid_epoch_checkpoint) {
  problem p;
  problem_init(&p, 1);
  nn_layer_diag whole[EPOCHS][4], resumed[EPOCHS][4];
  nn_model *a = train(&p, NULL, 1, whole);
  for (int e = 0; e < EPOCHS; e++) {
    cr_assert(whole[e][0].grad_norm > 0.0 && isfinite(whole[e][0].grad_norm));
    cr_assert(whole[e][0].dead_fraction >= 0.0 && whole[e][0].dead_fraction <= 1.0);
    cr_assert(isnan(whole[e][1].grad_norm) && isnan(whole[e][1].weight_norm),
              "dropout has no weights");
  }
  int pauses[][2] = {{3, 2}, {1, 0}, {5, 4}}; /* mid, first batch, last batch */
  for (size_t i = 0; i < sizeof pauses / sizeof pauses[0]; i++) {
    nn_model *b = train(&p, pauses[i], 1, resumed);
    assert_same_params(a, b, "weights after a pause");
    cr_assert_eq(memcmp(whole, resumed, sizeof whole), 0,
                 "diagnostics after a pause at epoch %d batch %d", pauses[i][0], pauses[i][1]);
    nn_model_free(b);
  }
  nn_model_free(a);
}

Test(diag, a_checkpoint_without_sums_resumes_with_the_batches_after_it) {
  problem p;
  problem_init(&p, 0); /* paused by a trainer without diagnostics */
  nn_layer_diag whole[EPOCHS][4], resumed[EPOCHS][4];
  problem q = p;
  q.c.diagnostics = 1;
  nn_model *a = train(&q, NULL, 1, whole);
  int pause[2] = {3, 2};
  nn_model *b = train(&p, pause, 1, resumed);
  assert_same_params(a, b, "weights");
  /* epoch 3 saw 2 of its 5 batches before the pause: its gradient RMS
   * covers the other 3 only, the epochs after are whole again */
  cr_expect(isfinite(resumed[2][0].grad_norm) && resumed[2][0].grad_norm > 0.0);
  cr_expect_neq(resumed[2][0].grad_norm, whole[2][0].grad_norm);
  cr_expect_eq(memcmp(resumed[3], whole[3], sizeof whole[3]), 0);
  cr_expect_eq(memcmp(resumed[4], whole[4], sizeof whole[4]), 0);
  nn_model_free(a);
  nn_model_free(b);
}

/* ---- the checkpoint section ---------------------------------------------------- */

static void put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void reseal(uint8_t *buf, size_t len) { put_le32(buf + len - 4, nn_crc32(0, buf, len - 4)); }

/* A checkpoint of the dropout net paused at epoch 2, batch 1. The relu
 * layer has 6 units: one alive word, the last section before the CRC, after
 * the diagnostics flag, diag_batches and 4 x NN_DIAG_LANES f64 sums. */
static void paused_checkpoint(int diagnostics, uint8_t **buf, size_t *len) {
  problem p;
  problem_init(&p, diagnostics);
  nn_model *m = dropout_model();
  nn_trainer *t;
  nn_epoch_metrics em;
  int at[2] = {2, 1};
  cr_assert_eq(nn_trainer_new(m, &p.d, &p.c, NULL, &t, NULL), NN_OK);
  cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
  cr_assert_eq(nn_trainer_epoch(t, stop_at, at, &em), NN_ESTOPPED);
  cr_assert_eq(nn_checkpoint_save(m, t, buf, len), NN_OK);
  nn_trainer_free(t);
  nn_model_free(m);
}

#define SUMS_BYTES (4 * NN_DIAG_LANES * 8)     /* 4 layers' partial sums */
#define DIAG_BYTES (4 + 4 + SUMS_BYTES + 4) /* flag, batches, sums, 1 alive word */

Test(diag, sums_round_trip_and_resave_identically) {
  uint8_t *buf, *buf2, *plain;
  size_t len, len2, plain_len;
  paused_checkpoint(1, &buf, &len);
  paused_checkpoint(0, &plain, &plain_len);
  cr_assert_eq(len, plain_len + DIAG_BYTES - 4, "the section is the flag and what follows");
  nn_model *m;
  nn_train_state st;
  nn_error err;
  cr_assert_eq(nn_checkpoint_load(buf, len, &m, &st, &err), NN_OK, "%s", err.message);
  cr_assert_eq(st.has_diag, 1);
  cr_assert_eq(st.diag_batches, 2);
  cr_assert_eq(st.n_units, 6);
  for (size_t i = 0; i < st.n_units; i++) cr_assert(st.alive[i] == 0 || st.alive[i] == 1);
  for (int k = 0; k < NN_DIAG_LANES; k++) {
    cr_assert_geq(st.grad_sq[0][k], 0.0);
    cr_assert_eq(st.grad_sq[1][k], 0.0, "dropout");
  }
  cr_assert_gt(st.grad_sq[0][0], 0.0);
  problem p;
  problem_init(&p, 1);
  nn_trainer *t;
  cr_assert_eq(nn_trainer_new(m, &p.d, &p.c, &st, &t, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_checkpoint_save(m, t, &buf2, &len2), NN_OK);
  cr_assert_eq(len2, len);
  cr_assert_eq(memcmp(buf, buf2, len), 0, "resaved differently");

  /* sums of another model are refused by the trainer */
  nn_trainer_free(t);
  st.n_units = 5;
  cr_assert_eq(nn_trainer_new(m, &p.d, &p.c, &st, &t, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "diagnostics");
  st.n_units = 6;
  nn_train_state_free(&st);
  cr_assert_null(st.alive);
  free(buf);
  free(buf2);
  free(plain);
  nn_model_free(m);
}

Test(diag, a_version_1_checkpoint_loads_and_saves_as_version_3) {
  uint8_t *v2;
  size_t len;
  paused_checkpoint(0, &v2, &len); /* (version 3, of the newest format) */
  /* version 1: the same without the diagnostics flag and the best weights' flag */
  uint8_t *v1 = malloc(len - 8);
  memcpy(v1, v2, len - 12);
  put_le32(v1 + 8, 1);
  reseal(v1, len - 8);
  nn_model *m;
  nn_train_state st;
  nn_error err;
  cr_assert_eq(nn_checkpoint_load(v1, len - 8, &m, &st, &err), NN_OK, "%s", err.message);
  cr_assert_eq(st.has_diag, 0);
  cr_assert_eq(st.batch, 2);
  problem p;
  problem_init(&p, 0);
  nn_trainer *t;
  uint8_t *again;
  size_t again_len;
  cr_assert_eq(nn_trainer_new(m, &p.d, &p.c, &st, &t, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_checkpoint_save(m, t, &again, &again_len), NN_OK);
  cr_assert_eq(again_len, len);
  cr_assert_eq(memcmp(again, v2, len), 0, "not the version 3 checkpoint");
  /* read as version 1, the flags are trailing bytes */
  nn_model *none;
  put_le32(v2 + 8, 1);
  reseal(v2, len);
  cr_assert_eq(nn_checkpoint_load(v2, len, &none, NULL, &err), NN_EFORMAT);
  nn_train_state_free(&st);
  nn_trainer_free(t);
  nn_model_free(m);
  free(again);
  free(v1);
  free(v2);
}

/* Load buf and expect NN_EFORMAT naming field (or any field when NULL). */
static void expect_bad(const uint8_t *buf, size_t len, const char *field) {
  nn_model *m = NULL;
  nn_train_state st;
  nn_error err = {{0}, {0}};
  int rc = nn_checkpoint_load(buf, len, &m, &st, &err);
  cr_assert_eq(rc, NN_EFORMAT, "%s: status %d (%s)", field ? field : "", rc, err.message);
  cr_assert_null(m);
  cr_assert_null(st.alive);
  if (field != NULL) cr_assert_str_eq(err.field, field, "%s", err.message);
}

Test(diag, corrupt_sums_are_rejected) {
  uint8_t *orig, *buf;
  size_t len;
  paused_checkpoint(1, &orig, &len);
  buf = malloc(len);
  size_t off_batches = len - 8 - DIAG_BYTES + 4; /* after the flag; the best weights' flag
                                                  * and the CRC come last */
  static const struct {
    size_t off;
    uint32_t v;
    const char *field;
  } bad[] = {
      {0, 0xffffffffu, "diag_batches"},            /* negative */
      {4 + 4, 0xbff00000u, "grad_sq"},             /* high word of -1.0 */
      {4 + SUMS_BYTES - 4, 0x7ff80000u, "grad_sq"}, /* NaN, the last sum */
      {4 + SUMS_BYTES, 0x40u, "alive"},            /* bit of a 7th unit */
      {4 + SUMS_BYTES, 0x80000000u, "alive"},      /* bit 31 */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memcpy(buf, orig, len);
    put_le32(buf + off_batches + bad[i].off, bad[i].v);
    reseal(buf, len);
    expect_bad(buf, len, bad[i].field);
  }
  for (size_t n = 0; n < len; n++) {
    uint8_t *cut = malloc(n ? n : 1);
    memcpy(cut, orig, n);
    expect_bad(cut, n, NULL);
    free(cut);
  }
  free(buf);
  free(orig);
}
