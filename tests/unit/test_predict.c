/* test_predict.c — inference on models and shared snapshots, and snapshots
 * published while other threads predict. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nets.h"

static nn_model *random_net(void) {
  static const int w[] = {33, 17, 4};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_TANH, NN_ACT_SOFTMAX};
  nn_spec s = nets_mlp(5, 3, w, a, NN_LOSS_CROSS_ENTROPY, 21);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  return m;
}

Test(predict, chunks_and_snapshots_match_row_by_row) {
  enum { ROWS = 600 }; /* more than one internal chunk */
  nn_model *m = random_net();
  float *x = malloc(ROWS * 5 * sizeof(float)), *all = malloc(ROWS * 4 * sizeof(float));
  for (int i = 0; i < ROWS * 5; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  cr_assert_eq(nn_model_predict(m, x, ROWS, all), NN_OK);
  for (int r = 0; r < ROWS; r += 97) {
    float one[4];
    cr_assert_eq(nn_model_predict(m, x + r * 5, 1, one), NN_OK);
    for (int j = 0; j < 4; j++) cr_assert_float_eq(one[j], all[r * 4 + j], 1e-6);
  }
  nn_weights *w;
  cr_assert_eq(nn_weights_new(m, &w), NN_OK);
  /* the snapshot is a copy: changing the model does not change it */
  nn_model_params(m)[0] += 1.0f;
  size_t bytes = nn_weights_scratch_bytes(w, ROWS);
  cr_assert_gt(bytes, 0);
  void *scratch = malloc(bytes);
  float *snap = malloc(ROWS * 4 * sizeof(float));
  cr_assert_eq(nn_weights_predict(w, x, ROWS, snap, scratch), NN_OK);
  cr_assert_eq(memcmp(snap, all, ROWS * 4 * sizeof(float)), 0);
  cr_assert_eq(nn_weights_predict(w, x, ROWS, snap, NULL), NN_OK);
  cr_assert_eq(memcmp(snap, all, ROWS * 4 * sizeof(float)), 0);
  cr_assert_eq(nn_weights_spec(w)->n_layers, 3);
  cr_assert_eq(nn_weights_predict(w, x, 0, snap, NULL), NN_OK);
  nn_weights_unref(w);
  free(scratch);
  free(snap);
  free(x);
  free(all);
  nn_model_free(m);
}

/* 1-64-1 linear net with every weight and bias set to c: f(1) = 128 c^2 + c.
 * A half-written snapshot would mix two values of c and miss every f(c). */
static nn_weights *constant_net(int c) {
  static const int w[] = {64, 1};
  static const nn_act a[] = {NN_ACT_LINEAR, NN_ACT_LINEAR};
  nn_spec s = nets_mlp(1, 2, w, a, NN_LOSS_MSE, 0);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  for (size_t i = 0; i < nn_model_param_count(m); i++) nn_model_params(m)[i] = (float)c;
  nn_weights *wt;
  cr_assert_eq(nn_weights_new(m, &wt), NN_OK);
  nn_model_free(m);
  return wt;
}

enum { VERSIONS = 200, READERS = 4 };

typedef struct {
  nn_slot *slot;
  atomic_int done;
  atomic_int bad;
  atomic_long predictions;
} shared_slot;

static void *reader(void *arg) {
  shared_slot *s = arg;
  float one = 1.0f, y;
  while (!atomic_load(&s->done)) {
    nn_weights *w = nn_slot_acquire(s->slot);
    if (w == NULL) continue;
    nn_weights_predict(w, &one, 1, &y, NULL);
    nn_weights_unref(w);
    int ok = 0;
    for (int c = 1; c <= VERSIONS && !ok; c++) ok = y == 128.0f * c * c + c;
    if (!ok) atomic_fetch_add(&s->bad, 1);
    atomic_fetch_add(&s->predictions, 1);
  }
  return NULL;
}

Test(predict, readers_never_see_a_half_published_model) {
  shared_slot s;
  cr_assert_eq(nn_slot_new(&s.slot), NN_OK);
  cr_assert_null(nn_slot_acquire(s.slot));
  atomic_init(&s.done, 0);
  atomic_init(&s.bad, 0);
  atomic_init(&s.predictions, 0);
  pthread_t th[READERS];
  for (int i = 0; i < READERS; i++) cr_assert_eq(pthread_create(&th[i], NULL, reader, &s), 0);
  for (int c = 1; c <= VERSIONS; c++) nn_slot_publish(s.slot, constant_net(c));
  atomic_store(&s.done, 1);
  for (int i = 0; i < READERS; i++) pthread_join(th[i], NULL);
  cr_assert_eq(atomic_load(&s.bad), 0);
  nn_weights *last = nn_slot_acquire(s.slot);
  float one = 1.0f, y;
  cr_assert_eq(nn_weights_predict(last, &one, 1, &y, NULL), NN_OK);
  cr_assert_eq(y, 128.0f * VERSIONS * VERSIONS + VERSIONS);
  nn_weights_unref(last);
  nn_slot_free(s.slot);
}
