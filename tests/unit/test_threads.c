/* test_threads.c — the compute pool runs every task exactly once, a
 * product's tiles and a pass's ranges are cut by shape alone and give the
 * same bits on any number of threads, and a trainer's weights do not depend
 * on its thread count, even when the count changes mid-training. */
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

typedef struct {
  atomic_int hits[1000];
  atomic_int misplaced; /* ranges that are empty or start off a chunk boundary */
} range_counts;

static void count_range(void *ctx, size_t begin, size_t end) {
  range_counts *c = ctx;
  if (begin >= end || begin % 64 != 0) atomic_fetch_add(&c->misplaced, 1);
  for (size_t i = begin; i < end; i++) atomic_fetch_add(&c->hits[i], 1);
}

Test(pool, for_covers_each_index_once_in_chunks) {
  nn__pool *p;
  cr_assert_eq(nn__pool_new(3, &p), NN_OK);
  range_counts c;
  for (size_t n = 0; n <= 1000; n += 111) {
    for (int i = 0; i < 1000; i++) atomic_init(&c.hits[i], 0);
    atomic_init(&c.misplaced, 0);
    nn__pool_for(p, n, 64, count_range, &c);
    cr_assert_eq(atomic_load(&c.misplaced), 0, "n %zu", n);
    for (size_t i = 0; i < 1000; i++)
      cr_assert_eq(atomic_load(&c.hits[i]), i < n, "n %zu, index %zu", n, i);
  }
  nn__pool_free(p);
}

/* Products of every op and both cuts: (d)'s, odd tile counts, a product
 * too small to cut and one between the loops and the tiles. */
static const struct {
  nn__gemm_op op;
  int M, N, K;
} shapes[] = {
    {NN__GEMM_NT, 256, 1024, 1024}, {NN__GEMM_TN, 1024, 1024, 256},
    {NN__GEMM_NN, 256, 1024, 1024}, {NN__GEMM_NT, 64, 1536, 300},
    {NN__GEMM_TN, 1536, 300, 64},   {NN__GEMM_NN, 1300, 96, 64},
    {NN__GEMM_NT, 7, 9, 11},        {NN__GEMM_TN, 10, 1024, 256},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static float *noise(size_t n, uint64_t seed) {
  float *v = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = (float)(seed >> 40) / (float)(1 << 24) - 0.5f;
  }
  return v;
}

Test(gemm, the_cut_follows_the_shape) {
  for (size_t s = 0; s < N_SHAPES; s++) {
    nn__gemm g = {.op = shapes[s].op, .M = shapes[s].M, .N = shapes[s].N, .K = shapes[s].K};
    nn__gemm_plan(&g);
    int span = g.by_rows ? g.M : g.N;
    cr_assert_eq(g.by_rows, g.M >= g.N, "shape %zu cuts the shorter side", s);
    cr_assert_geq(g.tiles, 1);
    cr_assert_lt((g.tiles - 1) * g.width, span, "shape %zu has an empty tile", s);
    cr_assert_geq(g.tiles * g.width, span, "shape %zu leaves rows or columns out", s);
    if (g.tiles > 1) cr_assert_eq(g.width % 16, 0, "shape %zu: tiles of whole vectors", s);
  }
  /* (d)'s large products: two tiles each, along C's longer side */
  for (size_t s = 0; s < 3; s++) {
    nn__gemm g = {.op = shapes[s].op, .M = shapes[s].M, .N = shapes[s].N, .K = shapes[s].K};
    nn__gemm_plan(&g);
    cr_assert_eq(g.tiles, 2, "shape %zu", s);
  }
  nn__gemm odd = {.op = NN__GEMM_NT, .M = 64, .N = 1536, .K = 300};
  nn__gemm_plan(&odd);
  cr_assert(!odd.by_rows && odd.tiles == 3 && odd.width == 512);
  nn__gemm tiny = {.op = NN__GEMM_NT, .M = 7, .N = 9, .K = 11};
  nn__gemm_plan(&tiny);
  cr_assert_eq(tiny.tiles, 1);
}

/* Every product of shapes alone, then all of them in one run, on budget
 * threads of p: the same bits as one thread computing them one by one. */
Test(gemm, bits_do_not_depend_on_the_threads_or_the_company) {
  nn__pool *p;
  cr_assert_eq(nn__pool_new(3, &p), NN_OK);
  float *A[N_SHAPES], *B[N_SHAPES], *ref[N_SHAPES], *C[N_SHAPES];
  nn__gemm g[N_SHAPES];
  for (size_t s = 0; s < N_SHAPES; s++) {
    size_t M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
    A[s] = noise(M * K, 2 * s + 1);
    B[s] = noise(N * K, 2 * s + 2);
    ref[s] = malloc(M * N * sizeof(float));
    C[s] = malloc(M * N * sizeof(float));
    g[s] = (nn__gemm){.op = shapes[s].op, .M = (int)M, .N = (int)N, .K = (int)K,
                      .A = A[s], .B = B[s], .C = ref[s]};
    nn__gemm_run(NULL, &g[s], 1);
  }
  for (int budget = 1; budget <= 3; budget++) {
    nn__pool_set_budget(p, budget);
    for (int together = 0; together <= 1; together++) {
      for (size_t s = 0; s < N_SHAPES; s++) {
        g[s].C = C[s];
        memset(C[s], 0xff, (size_t)shapes[s].M * shapes[s].N * sizeof(float));
        if (!together) nn__gemm_run(p, &g[s], 1);
      }
      if (together) nn__gemm_run(p, g, N_SHAPES);
      for (size_t s = 0; s < N_SHAPES; s++)
        cr_assert_eq(memcmp(C[s], ref[s], (size_t)shapes[s].M * shapes[s].N * sizeof(float)), 0,
                     "shape %zu, %d threads, %s", s, budget, together ? "together" : "alone");
    }
  }
  for (size_t s = 0; s < N_SHAPES; s++) {
    free(A[s]);
    free(B[s]);
    free(ref[s]);
    free(C[s]);
  }
  nn__pool_free(p);
}

/* Large enough that the products of a batch are cut into tiles, three of
 * them for 1536 rows or columns (core/gemm.c): more tiles than threads, and
 * cuts along both rows and columns. */
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

/* Train a 300-1536-768-10 relu classifier for 2 epochs; threads == 0
 * switches the count at every batch. @return the parameters (P,). */
static float *train_with(int threads, size_t *P) {
  static const int w[] = {1536, 768, 10};
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
