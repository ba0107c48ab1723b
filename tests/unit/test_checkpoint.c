/* test_checkpoint.c — CRC-32, and the checkpoint format: exact round trips,
 * resuming a run bit for bit, and rejection of every corrupt, truncated,
 * crafted or foreign-version buffer without a crash or a leak. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets.h"

/* Byte offsets of the fields these tests patch (docs/checkpoint-format.md). */
#define OFF_VERSION 8
#define OFF_INPUTS 12
#define OFF_N_LAYERS 16
#define OFF_LAYER(i) (20 + 24 * (size_t)(i)) /* type, units, act, slope, init, rate */
#define OFF_PARAM_COUNT(n_layers) (OFF_LAYER(n_layers) + 16) /* after loss, seed, normalize */

static void put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the trailing CRC, so only the patched field is wrong. */
static void reseal(uint8_t *buf, size_t len) { put_le32(buf + len - 4, nn_crc32(0, buf, len - 4)); }

/* The definition of CRC-32 (reflected, polynomial 0xEDB88320), one bit at a time. */
static uint32_t crc_bitwise(const uint8_t *p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

/* Load buf and expect status rc, with nothing returned. @return the error. */
static nn_error expect_rejected(const uint8_t *buf, size_t len, int rc, const char *why) {
  static int sentinel;
  nn_model *m = (nn_model *)&sentinel; /* garbage the loader must reset */
  nn_train_state st = {.state = (float *)&sentinel};
  nn_error err = {{0}, {0}};
  int got = nn_checkpoint_load(buf, len, &m, &st, &err);
  cr_assert_eq(got, rc, "%s: status %d (%s), expected %d", why, got, err.message, rc);
  cr_assert_null(m, "%s: a model was returned", why);
  cr_assert_null(st.state, "%s: a trainer state was returned", why);
  cr_assert_neq(err.message[0], '\0', "%s: no error message", why);
  return err;
}

static void assert_same_spec(const nn_spec *a, const nn_spec *b) {
  cr_assert_eq(a->inputs, b->inputs);
  cr_assert_eq(a->n_layers, b->n_layers);
  for (int i = 0; i < a->n_layers; i++) {
    const nn_layer_spec *x = &a->layers[i], *y = &b->layers[i];
    cr_assert_eq(x->type, y->type, "layer %d", i);
    cr_assert_eq(x->units, y->units, "layer %d", i);
    cr_assert_eq(x->act, y->act, "layer %d", i);
    cr_assert_eq(memcmp(&x->slope, &y->slope, sizeof x->slope), 0, "layer %d", i);
    cr_assert_eq(x->init, y->init, "layer %d", i);
    cr_assert_eq(memcmp(&x->rate, &y->rate, sizeof x->rate), 0, "layer %d", i);
  }
  cr_assert_eq(a->loss, b->loss);
  cr_assert_eq(a->seed, b->seed);
  cr_assert_eq(a->normalize, b->normalize);
}

static void assert_same_model(const nn_model *a, const nn_model *b) {
  assert_same_spec(nn_model_spec(a), nn_model_spec(b));
  size_t n = nn_model_param_count(a);
  cr_assert_eq(nn_model_param_count(b), n);
  cr_assert_eq(memcmp(nn_model_params_const(a), nn_model_params_const(b), n * sizeof(float)), 0,
               "weights differ");
  const float *ma, *sa, *mb, *sb;
  int ra = nn_model_norm(a, &ma, &sa), rb = nn_model_norm(b, &mb, &sb);
  cr_assert_eq(ra, rb, "normalization statistics present in one model only");
  if (ra != NN_OK) return;
  size_t bytes = (size_t)nn_model_spec(a)->inputs * sizeof(float);
  cr_assert_eq(memcmp(ma, mb, bytes), 0, "means differ");
  cr_assert_eq(memcmp(sa, sb, bytes), 0, "stds differ");
}

static void assert_same_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
  cr_assert_eq(na, nb, "lengths %zu and %zu", na, nb);
  cr_assert_eq(memcmp(a, b, na), 0, "checkpoints differ");
}

static void run_epochs(nn_trainer *t, int n) {
  for (int i = 0; i < n; i++) {
    nn_epoch_metrics em;
    cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
  }
}

/* The XOR net, standardized, after two epochs of Adam: a small checkpoint
 * with every section present. *d must outlive *t. */
static void train_xor(nn_data *d, nn_model **m, nn_trainer **t) {
  nn_spec s = nets_xor_spec(5);
  s.normalize = 1;
  *d = nets_xor_data();
  nn_train_config c;
  nn_train_config_defaults(&c);
  c.epochs = 4;
  c.batch_size = 2;
  c.seed = 9;
  cr_assert_eq(nn_model_new(&s, m, NULL), NN_OK);
  cr_assert_eq(nn_trainer_new(*m, d, &c, NULL, t, NULL), NN_OK);
  run_epochs(*t, 2);
}

/* A saved XOR checkpoint; with_trainer selects the trainer-state section. */
static void xor_checkpoint(int with_trainer, uint8_t **buf, size_t *len) {
  nn_data d;
  nn_model *m;
  nn_trainer *t;
  train_xor(&d, &m, &t);
  cr_assert_eq(nn_checkpoint_save(m, with_trainer ? t : NULL, buf, len), NN_OK);
  nn_trainer_free(t);
  nn_model_free(m);
}

/* ---- CRC-32 ---------------------------------------------------------------- */

Test(checkpoint, crc32_matches_the_standard_check_value) {
  cr_assert_eq(nn_crc32(0, "123456789", 9), 0xcbf43926u);
  cr_assert_eq(nn_crc32(0, "", 0), 0u);
  /* continuing from a returned CRC equals one pass */
  cr_assert_eq(nn_crc32(nn_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

Test(checkpoint, crc32_matches_the_bitwise_definition) {
  uint8_t buf[1024];
  for (int b = 0; b < 256; b++) {
    uint8_t one = (uint8_t)b;
    cr_assert_eq(nn_crc32(0, &one, 1), crc_bitwise(&one, 1), "byte %d", b);
  }
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131u + (i >> 3));
  cr_assert_eq(nn_crc32(0, buf, sizeof buf), crc_bitwise(buf, sizeof buf));
}

/* ---- round trips ------------------------------------------------------------- */

Test(checkpoint, weights_spec_and_norm_round_trip_bit_exactly) {
  static const int widths[] = {5, 4, 3};
  static const nn_act acts[] = {NN_ACT_LEAKY_RELU, NN_ACT_RELU, NN_ACT_SOFTMAX};
  nn_spec s = nets_mlp(3, 3, widths, acts, NN_LOSS_CROSS_ENTROPY, 0x0123456789abcdefull);
  s.layers[0].slope = 0.2f;
  s.normalize = 1;
  /* insert a dropout layer after the first dense layer */
  memmove(&s.layers[2], &s.layers[1], 2 * sizeof s.layers[0]);
  nn_layer_spec_defaults(&s.layers[1]);
  s.layers[1].type = NN_LAYER_DROPOUT;
  s.layers[1].rate = 0.3f;
  s.n_layers = 4;
  nn_model *m, *m2;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  const float mean[3] = {-1.5f, 0.0f, 2.25f}, std[3] = {0.5f, 1.0f, 3e-3f};
  cr_assert_eq(nn_model_set_norm(m, mean, std), NN_OK);
  /* special values: signaling NaN with a payload, negative NaN, -0, inf, denormal */
  static const uint32_t special[] = {0x7fa00001u, 0xffc12345u, 0x80000000u, 0x7f800000u,
                                     0x00000001u};
  float *p = nn_model_params(m);
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
    memcpy(&p[i * 7], &special[i], sizeof(float));

  uint8_t *buf, *buf2;
  size_t len, len2;
  nn_train_state st;
  nn_error err;
  cr_assert_eq(nn_checkpoint_save(m, NULL, &buf, &len), NN_OK);
  /* little-endian on any host: version 4, 3 inputs, 59 parameters, then the
   * signaling NaN 0x7fa00001 as the first weight */
  static const uint8_t head[16] = {'T', 'R', 'A', 'I', 'N', 'D', 'C', 'K', 4, 0, 0, 0, 3, 0, 0, 0};
  static const uint8_t count_and_first[12] = {59, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0xa0, 0x7f};
  cr_assert_eq(memcmp(buf, head, sizeof head), 0);
  cr_assert_eq(memcmp(buf + OFF_PARAM_COUNT(4), count_and_first, sizeof count_and_first), 0);
  cr_assert_eq(nn_checkpoint_load(buf, len, &m2, &st, &err), NN_OK, "%s", err.message);
  cr_assert_null(st.state, "no trainer state was saved");
  assert_same_model(m, m2);
  cr_assert_eq(nn_checkpoint_save(m2, NULL, &buf2, &len2), NN_OK);
  assert_same_bytes(buf, len, buf2, len2);
  free(buf);
  free(buf2);
  nn_model_free(m);
  nn_model_free(m2);
}

Test(checkpoint, model_without_norm_round_trips_without_it) {
  nn_spec s = nets_xor_spec(1);
  nn_model *m, *m2;
  const float *mean, *std;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  uint8_t *buf;
  size_t len;
  cr_assert_eq(nn_checkpoint_save(m, NULL, &buf, &len), NN_OK);
  cr_assert_eq(nn_checkpoint_load(buf, len, &m2, NULL, NULL), NN_OK);
  assert_same_model(m, m2);
  cr_assert_eq(nn_model_norm(m2, &mean, &std), NN_EINVAL);
  free(buf);
  nn_model_free(m);
  nn_model_free(m2);
}

Test(checkpoint, trainer_state_round_trips_and_resaves_identically) {
  nn_data d;
  nn_model *m, *m2;
  nn_trainer *t, *t2;
  train_xor(&d, &m, &t);
  uint8_t *buf, *buf2;
  size_t len, len2;
  nn_train_state want, st;
  nn_error err;
  cr_assert_eq(nn_checkpoint_save(m, t, &buf, &len), NN_OK);
  cr_assert_eq(nn_checkpoint_load(buf, len, &m2, &st, &err), NN_OK, "%s", err.message);
  assert_same_model(m, m2);

  cr_assert_eq(nn_trainer_state(t, &want), NN_OK);
  cr_assert_eq(st.epoch, 2);
  cr_assert_eq(st.epoch, want.epoch);
  cr_assert_eq(st.step, want.step);
  cr_assert_eq(st.opt, want.opt);
  cr_assert_eq(st.n_state, want.n_state);
  cr_assert_eq(memcmp(st.state, want.state, st.n_state * sizeof(float)), 0);
  cr_assert_eq(st.rng[0], want.rng[0]);
  cr_assert_eq(st.rng[1], want.rng[1]);
  cr_assert_eq(memcmp(&st.best, &want.best, sizeof st.best), 0);
  cr_assert_eq(st.bad_epochs, want.bad_epochs);
  cr_assert_eq(st.stopped, want.stopped);

  nn_train_config c;
  nn_train_config_defaults(&c);
  c.epochs = 4;
  c.batch_size = 2;
  c.seed = 9;
  cr_assert_eq(nn_trainer_new(m2, &d, &c, &st, &t2, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_checkpoint_save(m2, t2, &buf2, &len2), NN_OK);
  assert_same_bytes(buf, len, buf2, len2);

  nn_train_state_free(&want);
  nn_train_state_free(&st);
  cr_assert_null(st.state);
  nn_train_state_free(&st); /* freeing twice is harmless */
  free(buf);
  free(buf2);
  nn_trainer_free(t);
  nn_trainer_free(t2);
  nn_model_free(m);
  nn_model_free(m2);
}

Test(checkpoint, trainer_of_another_model_is_refused) {
  nn_data d;
  nn_model *m, *other;
  nn_trainer *t;
  train_xor(&d, &m, &t);
  static const int widths[] = {3, 1};
  static const nn_act acts[] = {NN_ACT_TANH, NN_ACT_LINEAR};
  nn_spec s = nets_mlp(2, 2, widths, acts, NN_LOSS_MSE, 1);
  cr_assert_eq(nn_model_new(&s, &other, NULL), NN_OK);
  uint8_t *buf = (uint8_t *)&s;
  size_t len = 1;
  cr_assert_eq(nn_checkpoint_save(other, t, &buf, &len), NN_EINVAL);
  cr_assert_null(buf);
  cr_assert_eq(len, 0);
  nn_trainer_free(t);
  nn_model_free(m);
  nn_model_free(other);
}

/* ---- resuming --------------------------------------------------------------------- */

/* A resumed run ends where the uninterrupted one did: the same weights, and
 * the same optimizer moments, generator and early-stopping state (their
 * checkpoints are the same bytes). */
static void assert_same_run(const nn_model *full, const nn_trainer *t_full,
                            const nn_model *resumed, const nn_trainer *t_resumed) {
  size_t n = nn_model_param_count(full);
  cr_assert_eq(memcmp(nn_model_params_const(full), nn_model_params_const(resumed),
                      n * sizeof(float)),
               0, "resumed weights differ from the uninterrupted run");
  uint8_t *a, *b;
  size_t na, nb;
  cr_assert_eq(nn_checkpoint_save(full, t_full, &a, &na), NN_OK);
  cr_assert_eq(nn_checkpoint_save(resumed, t_resumed, &b, &nb), NN_OK);
  assert_same_bytes(a, na, b, nb);
  free(a);
  free(b);
}

Test(checkpoint, resumed_run_equals_uninterrupted_run) {
  enum { ROWS = 60, FIRST = 3, SECOND = 2 };
  float x[ROWS * 2];
  int32_t labels[ROWS];
  nets_blobs(ROWS, 4, x, labels);
  nn_data d = {.rows = ROWS, .features = 2, .x = x, .labels = labels, .classes = 3};
  static const int widths[] = {12, 12, 3};
  static const nn_act acts[] = {NN_ACT_RELU, NN_ACT_RELU, NN_ACT_SOFTMAX};
  nn_spec s = nets_mlp(2, 3, widths, acts, NN_LOSS_CROSS_ENTROPY, 21);
  s.normalize = 1;
  s.layers[1].type = NN_LAYER_DROPOUT; /* dense 12 relu, dropout 0.4, dense 3 softmax */
  s.layers[1].rate = 0.4f;
  nn_train_config c;
  nn_train_config_defaults(&c);
  nn_optim_defaults(NN_OPT_ADAM, &c.optim);
  c.optim.lr = 0.01f;
  c.epochs = FIRST + SECOND;
  c.batch_size = 8;
  c.validation_split = 0.2f;
  c.seed = 17;
  nn_error err;

  nn_model *full, *part, *resumed;
  nn_trainer *t_full, *t_part, *t_resumed;
  cr_assert_eq(nn_model_new(&s, &full, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_trainer_new(full, &d, &c, NULL, &t_full, &err), NN_OK, "%s", err.message);
  run_epochs(t_full, FIRST + SECOND);

  cr_assert_eq(nn_model_new(&s, &part, NULL), NN_OK);
  cr_assert_eq(nn_trainer_new(part, &d, &c, NULL, &t_part, NULL), NN_OK);
  run_epochs(t_part, FIRST);
  uint8_t *buf;
  size_t len;
  cr_assert_eq(nn_checkpoint_save(part, t_part, &buf, &len), NN_OK);
  nn_trainer_free(t_part);
  nn_model_free(part);

  nn_train_state st;
  cr_assert_eq(nn_checkpoint_load(buf, len, &resumed, &st, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_trainer_new(resumed, &d, &c, &st, &t_resumed, &err), NN_OK, "%s",
               err.message);
  cr_assert_eq(nn_trainer_epochs_done(t_resumed), FIRST);
  run_epochs(t_resumed, SECOND);
  cr_assert(nn_trainer_done(t_resumed));

  assert_same_run(full, t_full, resumed, t_resumed);
  free(buf);
  nn_train_state_free(&st);
  nn_trainer_free(t_full);
  nn_trainer_free(t_resumed);
  nn_model_free(full);
  nn_model_free(resumed);
}

/* restore_best: the run ends on its best epoch's weights, and a run resumed
 * from a checkpoint taken after that epoch ends on the same bits. */
Test(checkpoint, restore_best_survives_a_resume) {
  enum { ROWS = 40, EPOCHS = 8, FIRST = 5 };
  float x[ROWS * 2], vx[ROWS * 2], y[ROWS], vy[ROWS];
  for (int i = 0; i < ROWS; i++) {
    x[2 * i] = vx[2 * i] = (float)(i % 7) / 7.0f - 0.5f;
    x[2 * i + 1] = vx[2 * i + 1] = (float)(i % 5) / 5.0f - 0.4f;
    y[i] = x[2 * i] + 2 * x[2 * i + 1];
    vy[i] = -y[i]; /* the better the fit, the worse on these */
  }
  nn_data d = {.rows = ROWS, .features = 2, .outputs = 1, .x = x, .y = y};
  nn_data v = {.rows = ROWS, .features = 2, .outputs = 1, .x = vx, .y = vy};
  static const int widths[] = {6, 1};
  static const nn_act acts[] = {NN_ACT_TANH, NN_ACT_LINEAR};
  nn_spec s = nets_mlp(2, 2, widths, acts, NN_LOSS_MSE, 3);
  nn_train_config c;
  nn_train_config_defaults(&c);
  c.optim.lr = 0.05f;
  c.epochs = EPOCHS;
  c.batch_size = 8;
  c.seed = 4;
  c.restore_best = 1;
  nn_error err;
  nn_model *full, *part, *resumed, *best;
  nn_trainer *t_full, *t_part, *t_resumed, *t_best;
  double losses[EPOCHS];
  cr_assert_eq(nn_model_new(&s, &full, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_trainer_new(full, &d, &c, NULL, &t_full, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_trainer_set_validation(t_full, &v, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_trainer_set_validation(t_full, &v, &err), NN_EINVAL, "set once");
  int at = 0;
  for (int e = 0; e < EPOCHS; e++) {
    nn_epoch_metrics em;
    cr_assert_eq(nn_trainer_epoch(t_full, NULL, NULL, &em), NN_OK);
    losses[e] = em.val_loss;
    if (losses[e] < losses[at]) at = e;
  }
  cr_assert_lt(at + 1, FIRST, "the best epoch (%d) must come before the checkpoint", at + 1);
  cr_assert_gt(losses[EPOCHS - 1], losses[at]);

  /* the weights of the best epoch: the same run stopped there */
  nn_train_config short_c = c;
  short_c.epochs = at + 1;
  short_c.restore_best = 0;
  cr_assert_eq(nn_model_new(&s, &best, NULL), NN_OK);
  cr_assert_eq(nn_trainer_new(best, &d, &short_c, NULL, &t_best, NULL), NN_OK);
  cr_assert_eq(nn_trainer_set_validation(t_best, &v, NULL), NN_OK);
  run_epochs(t_best, at + 1);
  size_t n = nn_model_param_count(full);
  cr_assert_eq(memcmp(nn_model_params_const(full), nn_model_params_const(best),
                      n * sizeof(float)), 0, "the run did not end on its best epoch");

  cr_assert_eq(nn_model_new(&s, &part, NULL), NN_OK);
  cr_assert_eq(nn_trainer_new(part, &d, &c, NULL, &t_part, NULL), NN_OK);
  cr_assert_eq(nn_trainer_set_validation(t_part, &v, NULL), NN_OK);
  run_epochs(t_part, FIRST);
  uint8_t *buf;
  size_t len;
  cr_assert_eq(nn_checkpoint_save(part, t_part, &buf, &len), NN_OK);
  nn_train_state st;
  cr_assert_eq(nn_checkpoint_load(buf, len, &resumed, &st, &err), NN_OK, "%s", err.message);
  cr_assert_eq(st.n_best, n);
  cr_assert_eq(nn_trainer_new(resumed, &d, &c, &st, &t_resumed, &err), NN_OK, "%s",
               err.message);
  cr_assert_eq(nn_trainer_set_validation(t_resumed, &v, &err), NN_OK, "%s", err.message);
  run_epochs(t_resumed, EPOCHS - FIRST);
  cr_assert(nn_trainer_done(t_resumed));
  assert_same_run(full, t_full, resumed, t_resumed);
  free(buf);
  nn_train_state_free(&st);
  nn_trainer_free(t_full);
  nn_trainer_free(t_part);
  nn_trainer_free(t_resumed);
  nn_trainer_free(t_best);
  nn_model_free(full);
  nn_model_free(part);
  nn_model_free(resumed);
  nn_model_free(best);
}

Test(checkpoint, validation_rows_must_be_of_the_training_kind) {
  nn_data d = nets_xor_data();
  nn_spec s = nets_xor_spec(5);
  nn_model *m;
  nn_trainer *t;
  nn_train_config c;
  nn_train_config_defaults(&c);
  c.batch_size = 2;
  nn_error err;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  int32_t labels[4] = {0, 1, 1, 0};
  nn_data lab = {.rows = 4, .features = 2, .x = d.x, .labels = labels, .classes = 2};
  cr_assert_neq(nn_trainer_set_validation(t, &lab, &err), NN_OK);
  nn_trainer_free(t);
  c.validation_split = 0.5f;
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  cr_assert_eq(nn_trainer_set_validation(t, &d, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "validation_split");
  nn_trainer_free(t);
  nn_model_free(m);
}

/* ---- corruption ------------------------------------------------------------------- */

Test(checkpoint, every_single_byte_corruption_is_rejected) {
  uint8_t *buf;
  size_t len;
  xor_checkpoint(1, &buf, &len);
  for (size_t i = 0; i < len; i++) {
    /* the eight one-bit flips and the inversion of byte i */
    for (int k = 0; k <= 8; k++) {
      uint8_t mask = k < 8 ? (uint8_t)(1u << k) : 0xffu;
      char why[64];
      snprintf(why, sizeof why, "byte %zu ^ 0x%02x", i, mask);
      buf[i] ^= mask;
      /* a version flipped to another that is read (3 to 1 or 2) fails the CRC */
      uint32_t v = (uint32_t)buf[OFF_VERSION] | (uint32_t)buf[OFF_VERSION + 1] << 8 |
                   (uint32_t)buf[OFF_VERSION + 2] << 16 | (uint32_t)buf[OFF_VERSION + 3] << 24;
      int want = i >= OFF_VERSION && i < OFF_VERSION + 4 && (v < 1 || v > NN_FORMAT_VERSION)
                     ? NN_EVERSION
                     : NN_EFORMAT;
      expect_rejected(buf, len, want, why);
      buf[i] ^= mask;
    }
  }
  nn_model *m;
  cr_assert_eq(nn_checkpoint_load(buf, len, &m, NULL, NULL), NN_OK, "the original loads");
  nn_model_free(m);
  free(buf);
}

Test(checkpoint, every_truncation_is_rejected) {
  uint8_t *buf;
  size_t len;
  xor_checkpoint(1, &buf, &len);
  for (size_t n = 0; n < len; n++) {
    /* a copy of exactly n bytes, so ASan sees any read past the end */
    uint8_t *cut = malloc(n ? n : 1);
    memcpy(cut, buf, n);
    char why[32];
    snprintf(why, sizeof why, "length %zu", n);
    expect_rejected(cut, n, NN_EFORMAT, why);
    free(cut);
  }
  free(buf);
}

Test(checkpoint, wrong_version_is_rejected_as_a_version_error) {
  uint8_t *buf;
  size_t len;
  xor_checkpoint(0, &buf, &len);
  static const uint32_t versions[] = {0, NN_FORMAT_VERSION + 1, 0xffffffffu};
  for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
    put_le32(buf + OFF_VERSION, versions[i]);
    reseal(buf, len);
    expect_rejected(buf, len, NN_EVERSION, "version");
  }
  free(buf);
}

Test(checkpoint, wrong_magic_is_rejected) {
  uint8_t *buf;
  size_t len;
  nn_model *m;
  nn_error err;
  xor_checkpoint(0, &buf, &len);
  memcpy(buf, "TRAINDCX", 8);
  reseal(buf, len);
  expect_rejected(buf, len, NN_EFORMAT, "magic");
  cr_assert_eq(nn_checkpoint_load(buf, len, &m, NULL, &err), NN_EFORMAT);
  cr_assert_not_null(strstr(err.message, "magic"), "%s", err.message);
  free(buf);
}

Test(checkpoint, checksum_mismatch_is_reported_as_such) {
  uint8_t *buf;
  size_t len;
  nn_model *m;
  nn_error err;
  xor_checkpoint(0, &buf, &len);
  buf[OFF_PARAM_COUNT(2) + 8] ^= 1; /* a weight bit */
  cr_assert_eq(nn_checkpoint_load(buf, len, &m, NULL, &err), NN_EFORMAT);
  cr_assert_not_null(strstr(err.message, "checksum mismatch"), "%s", err.message);
  free(buf);
}

/* ---- crafted checkpoints: valid CRC, hostile contents ------------------------------- */

Test(checkpoint, huge_layer_counts_are_rejected) {
  uint8_t *buf;
  size_t len;
  xor_checkpoint(0, &buf, &len);
  static const uint32_t counts[] = {0, NN_MAX_LAYERS + 1, 0x7fffffffu, 0xffffffffu};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    put_le32(buf + OFF_N_LAYERS, counts[i]);
    reseal(buf, len);
    expect_rejected(buf, len, NN_EINVAL, "n_layers");
  }
  free(buf);
}

Test(checkpoint, huge_parameter_counts_are_rejected_before_allocating) {
  uint8_t *orig, *buf;
  size_t len;
  xor_checkpoint(1, &orig, &len);
  buf = malloc(len);

  /* a count that disagrees with the spec */
  static const uint64_t counts[] = {0, 32, 34, 1ull << 30, 1ull << 62, UINT64_MAX};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    memcpy(buf, orig, len);
    put_le64(buf + OFF_PARAM_COUNT(2), counts[i]);
    reseal(buf, len);
    nn_error err = expect_rejected(buf, len, NN_EFORMAT, "parameter count");
    cr_assert_str_eq(err.field, "parameter count", "%s", err.message);
  }

  /* a valid spec of ~1e9 parameters whose weights are not in the buffer: the
   * length check must come before the 4 GiB allocation */
  memcpy(buf, orig, len);
  uint64_t inputs = NN_MAX_UNITS, units = 1000;
  uint64_t params = (inputs + 1) * units + (units + 1);
  cr_assert_leq(params, NN_MAX_PARAMS);
  put_le32(buf + OFF_INPUTS, (uint32_t)inputs);
  put_le32(buf + OFF_LAYER(0) + 4, (uint32_t)units);
  put_le64(buf + OFF_PARAM_COUNT(2), params);
  reseal(buf, len);
  nn_error err = expect_rejected(buf, len, NN_EFORMAT, "weights missing");
  cr_assert_str_eq(err.field, "parameters", "%s", err.message);
  cr_assert_not_null(strstr(err.message, "truncated"), "%s", err.message);

  /* a spec beyond NN_MAX_PARAMS is refused by validation */
  put_le32(buf + OFF_LAYER(0) + 4, 4096);
  reseal(buf, len);
  err = expect_rejected(buf, len, NN_EINVAL, "spec too large");
  cr_assert_str_eq(err.field, "layers[0].units", "%s", err.message);

  /* an optimizer state of the wrong size: epoch, step, opt come first */
  size_t off_n_state = OFF_PARAM_COUNT(2) + 8 + 33 * 4 + 4 + 2 * 2 * 4 + 4 + 4 + 8 + 4;
  static const uint64_t states[] = {0, 65, 67, 1ull << 60, UINT64_MAX};
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
    memcpy(buf, orig, len);
    cr_assert_eq(buf[off_n_state], 66, "offset of n_state: 2 x 33 floats for adam");
    put_le64(buf + off_n_state, states[i]);
    reseal(buf, len);
    err = expect_rejected(buf, len, NN_EFORMAT, "n_state");
    cr_assert_str_eq(err.field, "n_state", "%s", err.message);
  }
  free(buf);
  free(orig);
}

Test(checkpoint, invalid_fields_are_rejected_with_their_name) {
  uint8_t *buf;
  size_t len;
  nn_model *m;
  nn_error err;
  xor_checkpoint(0, &buf, &len);

  put_le32(buf + OFF_LAYER(0) + 8, 99); /* activation */
  reseal(buf, len);
  expect_rejected(buf, len, NN_EINVAL, "activation 99");
  nn_checkpoint_load(buf, len, &m, NULL, &err);
  cr_assert_str_eq(err.field, "layers[0].activation");
  put_le32(buf + OFF_LAYER(0) + 8, NN_ACT_TANH);

  put_le32(buf + OFF_LAYER(1) + 8, NN_ACT_LINEAR); /* a known value, but not for bce */
  put_le32(buf + OFF_LAYER(2), NN_LOSS_BCE);       /* loss follows the last layer */
  reseal(buf, len);
  expect_rejected(buf, len, NN_EINVAL, "loss without its output activation");
  nn_checkpoint_load(buf, len, &m, NULL, &err);
  cr_assert_str_eq(err.field, "layers[1].activation");

  put_le32(buf + OFF_LAYER(1) + 8, NN_ACT_SIGMOID);
  put_le32(buf + OFF_INPUTS, 0xffffffffu); /* -1 */
  reseal(buf, len);
  expect_rejected(buf, len, NN_EINVAL, "negative inputs");
  free(buf);
}

/* Patch one u32 of a copy of orig and expect NN_EFORMAT naming field. */
static void expect_bad_u32(const uint8_t *orig, size_t len, size_t off, uint32_t v,
                           const char *field) {
  uint8_t *buf = malloc(len);
  memcpy(buf, orig, len);
  put_le32(buf + off, v);
  reseal(buf, len);
  nn_error err = expect_rejected(buf, len, NN_EFORMAT, field);
  cr_assert_str_eq(err.field, field, "%s", err.message);
  free(buf);
}

Test(checkpoint, invalid_norm_trainer_fields_and_flags_are_rejected) {
  uint8_t *orig;
  size_t len;
  xor_checkpoint(1, &orig, &len);
  size_t off_norm_flag = OFF_PARAM_COUNT(2) + 8 + 33 * 4;
  size_t off_std = off_norm_flag + 4 + 2 * 4;
  size_t off_train_flag = off_std + 2 * 4;
  size_t off_epoch = off_train_flag + 4;
  size_t off_bad_epochs = off_epoch + 4 + 8 + 4 + 8 + 66 * 4 + 16 + 8;
  size_t off_batch = off_bad_epochs + 8; /* after bad_epochs and stopped */
  size_t off_diag_flag = off_batch + 4 + 16 + 16; /* after 2 x u64 epoch_rng, 2 x f64 sums */
  size_t off_best_flag = off_diag_flag + 4;
  /* the diagnostics flag (0: the trainer gathered none), the best weights'
   * flag (0: not restore_best), then the CRC */
  cr_assert_eq(off_best_flag + 4 + 4, len, "layout of the trainer section");
  /* zero, -0, -1, inf, NaN */
  static const uint32_t bad_std[] = {0x00000000u, 0x80000000u, 0xbf800000u, 0x7f800000u,
                                     0x7fc00000u};
  for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++)
    expect_bad_u32(orig, len, off_std + 4, bad_std[i], "std");
  expect_bad_u32(orig, len, off_norm_flag, 2, "normalization flag");
  expect_bad_u32(orig, len, off_train_flag, 2, "trainer flag");
  expect_bad_u32(orig, len, off_epoch, 0xffffffffu, "epoch");
  expect_bad_u32(orig, len, off_bad_epochs, 0x80000000u, "bad_epochs");
  expect_bad_u32(orig, len, off_bad_epochs + 4, 2, "stopped");
  expect_bad_u32(orig, len, off_batch, 0xffffffffu, "batch");
  expect_bad_u32(orig, len, off_diag_flag, 2, "diagnostics flag");
  expect_bad_u32(orig, len, off_best_flag, 2, "best weights flag");
  /* a best weights flag of 1 with no weights after it */
  nn_error trunc = {{0}, {0}};
  uint8_t *b1 = malloc(len);
  memcpy(b1, orig, len);
  put_le32(b1 + off_best_flag, 1);
  reseal(b1, len);
  trunc = expect_rejected(b1, len, NN_EFORMAT, "best weights missing");
  cr_assert(strstr(trunc.message, "best weights") != NULL, "%s", trunc.message);
  /* a layer list's version 4 bytes are version 3's: labelled 3, they load */
  put_le32(b1 + OFF_VERSION, 3);
  put_le32(b1 + off_best_flag, 0);
  reseal(b1, len);
  nn_model *m3;
  cr_assert_eq(nn_checkpoint_load(b1, len, &m3, NULL, &trunc), NN_OK, "%s", trunc.message);
  nn_model_free(m3);
  put_le32(b1 + off_best_flag, 1);
  /* the same bytes as version 2, without the best weights' flag, still load */
  put_le32(b1 + OFF_VERSION, 2);
  memmove(b1 + off_best_flag, b1 + off_best_flag + 4, 4);
  reseal(b1, len - 4);
  nn_model *m2;
  nn_train_state st2;
  cr_assert_eq(nn_checkpoint_load(b1, len - 4, &m2, &st2, &trunc), NN_OK, "%s", trunc.message);
  cr_assert_eq(st2.n_best, 0);
  cr_assert_null(st2.best_params);
  nn_train_state_free(&st2);
  nn_model_free(m2);
  free(b1);

  uint8_t *buf = malloc(len);
  memcpy(buf, orig, len);
  put_le32(buf + off_epoch + 12, 4); /* an optimizer that does not exist */
  reseal(buf, len);
  nn_error err = expect_rejected(buf, len, NN_EINVAL, "optimizer");
  cr_assert_str_eq(err.field, "optimizer", "%s", err.message);
  memcpy(buf, orig, len);
  put_le32(buf + off_train_flag, 0); /* the trainer section becomes trailing bytes */
  reseal(buf, len);
  expect_rejected(buf, len, NN_EFORMAT, "trainer flag 0");
  free(buf);
  free(orig);
}

Test(checkpoint, trailing_bytes_are_rejected) {
  uint8_t *buf;
  size_t len;
  nn_model *m;
  nn_error err;
  xor_checkpoint(1, &buf, &len);
  uint8_t *longer = malloc(len + 4);
  /* extra bytes inside the sealed body */
  memcpy(longer, buf, len - 4);
  memset(longer + len - 4, 0, 4);
  reseal(longer, len + 4);
  expect_rejected(longer, len + 4, NN_EFORMAT, "trailing bytes before the CRC");
  cr_assert_eq(nn_checkpoint_load(longer, len + 4, &m, NULL, &err), NN_EFORMAT);
  cr_assert_not_null(strstr(err.message, "unexpected bytes"), "%s", err.message);
  /* extra bytes after the CRC */
  memcpy(longer, buf, len);
  expect_rejected(longer, len + 4, NN_EFORMAT, "trailing bytes after the CRC");
  free(longer);
  free(buf);
}
