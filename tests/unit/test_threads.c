/* test_threads.c — the compute pool runs every task exactly once, and a
 * trainer's weights do not depend on its thread count, even when the count
 * changes mid-training. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/nn_internal.h"
#include "nets.h"

#define TASKS 37

typedef struct {
  atomic_int hits[TASKS];
} counts;

static void count_task(void *ctx, int i) { atomic_fetch_add(&((counts *)ctx)->hits[i], 1); }

Test(pool, runs_each_task_once_whatever_the_budget) {
  nn__pool *p;
  cr_assert_eq(nn__pool_new(4, &p), NN_OK);
  cr_assert_eq(nn__pool_capacity(p), 4);
  counts c;
  for (int i = 0; i < TASKS; i++) atomic_init(&c.hits[i], 0);
  int runs = 0;
  for (int round = 0; round < 300; round++) {
    nn__pool_set_budget(p, 1 + round % 6); /* 5 and 6 clamp to 4 */
    int tasks = 1 + round % TASKS;
    nn__pool_run(p, tasks, count_task, &c);
    runs++;
    for (int i = 0; i < tasks; i++) cr_assert_eq(atomic_load(&c.hits[i]), 1, "round %d", round);
    for (int i = 0; i < TASKS; i++) atomic_store(&c.hits[i], 0);
  }
  cr_assert_eq(runs, 300);
  nn__pool_free(p);
}

Test(pool, null_pool_runs_on_the_caller) {
  counts c;
  for (int i = 0; i < TASKS; i++) atomic_init(&c.hits[i], 0);
  nn__pool_run(NULL, TASKS, count_task, &c);
  for (int i = 0; i < TASKS; i++) cr_assert_eq(atomic_load(&c.hits[i]), 1);
  cr_assert_eq(nn__pool_capacity(NULL), 1);
}

Test(pool, rejects_bad_sizes) {
  nn__pool *p = (nn__pool *)&p;
  cr_assert_eq(nn__pool_new(0, &p), NN_ERANGE);
  cr_assert_null(p);
  cr_assert_eq(nn__pool_new(NN_MAX_THREADS + 1, &p), NN_ERANGE);
}

/* Large enough that every product of a batch is cut into several tiles. */
#define ROWS 256
#define INPUTS 300

typedef struct {
  nn_trainer *t;
  int calls;
} switcher;

/* Alternate 1, 2 and 3 threads from batch to batch. */
static int switch_threads(void *ud, int epoch, size_t batch, size_t n_batches) {
  (void)epoch;
  (void)n_batches;
  switcher *s = ud;
  s->calls++;
  cr_assert_eq(nn_trainer_set_threads(s->t, 1 + (int)(batch % 3)), NN_OK);
  return 0;
}

/* Train a 300-512-256-10 relu classifier for 2 epochs; threads == 0
 * switches the count at every batch. @return the parameters (P,). */
static float *train_with(int threads, size_t *P) {
  static const int w[] = {512, 256, 10};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_RELU, NN_ACT_SOFTMAX};
  nn_spec s = nets_mlp(INPUTS, 3, w, a, NN_LOSS_CROSS_ENTROPY, 11);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  float *x = malloc(sizeof(float) * ROWS * INPUTS);
  int32_t *labels = malloc(sizeof(int32_t) * ROWS);
  uint64_t r = 7;
  for (size_t i = 0; i < (size_t)ROWS * INPUTS; i++) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)(r >> 40) / (float)(1 << 24) - 0.5f;
  }
  for (int i = 0; i < ROWS; i++) labels[i] = i % 10;
  nn_data d = {.rows = ROWS, .features = INPUTS, .x = x, .labels = labels, .classes = 10};
  nn_train_config c;
  nn_train_config_defaults(&c);
  nn_optim_defaults(NN_OPT_ADAM, &c.optim);
  c.epochs = 2;
  c.batch_size = 64;
  c.seed = 5;
  nn_trainer *t;
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  switcher sw = {t, 0};
  if (threads > 0) cr_assert_eq(nn_trainer_set_threads(t, threads), NN_OK);
  while (!nn_trainer_done(t)) {
    nn_epoch_metrics em;
    cr_assert_eq(nn_trainer_epoch(t, threads == 0 ? switch_threads : NULL, &sw, &em), NN_OK);
  }
  if (threads == 0) cr_assert_gt(sw.calls, 4);
  *P = nn_model_param_count(m);
  float *out = malloc(*P * sizeof(float));
  memcpy(out, nn_model_params(m), *P * sizeof(float));
  nn_trainer_free(t);
  nn_model_free(m);
  free(x);
  free(labels);
  return out;
}

Test(threads, weights_do_not_depend_on_the_thread_count) {
  size_t P1, P3, Pv;
  float *one = train_with(1, &P1);
  float *three = train_with(3, &P3);
  float *varying = train_with(0, &Pv);
  cr_assert_eq(P1, P3);
  cr_assert_eq(P1, Pv);
  cr_assert_eq(memcmp(one, three, P1 * sizeof(float)), 0, "3 threads changed the weights");
  cr_assert_eq(memcmp(one, varying, P1 * sizeof(float)), 0,
               "changing the thread count mid-training changed the weights");
  free(one);
  free(three);
  free(varying);
}

Test(threads, rejects_bad_counts) {
  static const int w[] = {4, 1};
  static const nn_act a[] = {NN_ACT_TANH, NN_ACT_SIGMOID};
  nn_spec s = nets_mlp(2, 2, w, a, NN_LOSS_MSE, 1);
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_data d = nets_xor_data();
  nn_train_config c;
  nn_train_config_defaults(&c);
  nn_trainer *t;
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, NULL), NN_OK);
  cr_assert_eq(nn_trainer_set_threads(t, 0), NN_ERANGE);
  cr_assert_eq(nn_trainer_set_threads(t, NN_MAX_THREADS + 1), NN_ERANGE);
  cr_assert_eq(nn_trainer_set_threads(t, 2), NN_OK);
  cr_assert_eq(nn_trainer_set_threads(t, 1), NN_OK);
  nn_trainer_free(t);
  nn_model_free(m);
}
