/* test_shard.c — the sharded trainer without MPI: R replicas stepped in
 * lockstep on R threads, their reduces summing in process (nn_replicas).
 * One rank is the plain trainer bit for bit; two and three agree with it up
 * to the order of float additions, and with each other bit for bit after
 * every step, with dropout, every optimizer and uneven shares. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/nn_internal.h"
#include "nets.h"

#define MAX_R 3
#define MAX_EPOCHS 6
#define MAX_STEPS 512

/* What one run (plain, or one rank of a sharded one) leaves behind. */
typedef struct {
  nn_model *m;
  nn_epoch_metrics em[MAX_EPOCHS];
  uint32_t step_crc[MAX_STEPS]; /* CRC-32 of the parameters after each step */
  int steps;
  uint8_t *ckpt; /* the checkpoint after the last epoch, trainer state included */
  size_t ckpt_len;
  int rc;
} run_out;

typedef struct {
  const nn_spec *spec;
  const nn_data *d;
  const nn_train_config *c;
  nn_shard shard; /* ranks 0: the plain trainer */
  run_out *out;
} run_args;

static int after_batch(void *ud, int epoch, size_t batch, size_t n_batches) {
  (void)epoch, (void)batch, (void)n_batches;
  run_out *o = ud;
  cr_assert_lt(o->steps, MAX_STEPS);
  o->step_crc[o->steps++] = nn_crc32(0, nn_model_params(o->m),
                                     nn_model_param_count(o->m) * sizeof(float));
  return 0;
}

static void *run(void *arg) {
  run_args *a = arg;
  run_out *o = a->out;
  nn_trainer *t = NULL;
  o->rc = nn_model_new(a->spec, &o->m, NULL);
  if (o->rc != NN_OK) return NULL;
  o->rc = nn_trainer_new_shard(o->m, a->d, a->c, NULL, a->shard.ranks > 0 ? &a->shard : NULL,
                               &t, NULL);
  for (int e = 0; o->rc == NN_OK && !nn_trainer_done(t); e++)
    o->rc = nn_trainer_epoch(t, after_batch, o, &o->em[e]);
  if (o->rc == NN_OK) o->rc = nn_checkpoint_save(o->m, t, &o->ckpt, &o->ckpt_len);
  nn_trainer_free(t);
  return NULL;
}

static void run_plain(const nn_spec *spec, const nn_data *d, const nn_train_config *c,
                      run_out *o) {
  memset(o, 0, sizeof *o);
  run_args a = {spec, d, c, {.ranks = 0}, o};
  run(&a);
  cr_assert_eq(o->rc, NN_OK, "plain run: %s", nn_strerror(o->rc));
}

/* R ranks, one thread each. */
static void run_sharded(const nn_spec *spec, const nn_data *d, const nn_train_config *c, int R,
                        run_out *o) {
  nn_replicas *g;
  nn_spec s = *spec;
  cr_assert_eq(nn_spec_validate(&s, NULL), NN_OK);
  cr_assert_eq(nn_replicas_new(R, nn_spec_param_count(&s), &g), NN_OK);
  pthread_t th[MAX_R];
  run_args a[MAX_R];
  for (int r = 0; r < R; r++) {
    memset(&o[r], 0, sizeof o[r]);
    a[r] = (run_args){spec, d, c, {0}, &o[r]};
    nn_replicas_shard(g, r, &a[r].shard);
    cr_assert_eq(pthread_create(&th[r], NULL, run, &a[r]), 0);
  }
  for (int r = 0; r < R; r++) pthread_join(th[r], NULL);
  nn_replicas_free(g);
  for (int r = 0; r < R; r++) cr_assert_eq(o[r].rc, NN_OK, "rank %d: %s", r, nn_strerror(o[r].rc));
}

static void free_out(run_out *o, int n) {
  for (int i = 0; i < n; i++) {
    nn_model_free(o[i].m);
    free(o[i].ckpt);
  }
}

/* The replicas hold the same parameters after every step, and the same
 * checkpoint (so rank 0's resumes the run). */
static void assert_replicas_agree(const run_out *o, int R) {
  for (int r = 1; r < R; r++) {
    cr_assert_eq(o[r].steps, o[0].steps);
    for (int i = 0; i < o[0].steps; i++)
      cr_assert_eq(o[r].step_crc[i], o[0].step_crc[i], "rank %d differs after step %d", r, i);
    cr_assert_eq(o[r].ckpt_len, o[0].ckpt_len);
    cr_assert_eq(memcmp(o[r].ckpt, o[0].ckpt, o[0].ckpt_len), 0, "rank %d's checkpoint", r);
  }
}

/* Largest |a - b| over the parameters, relative to the largest |a|. */
static double param_gap(const nn_model *a, const nn_model *b) {
  const float *p = nn_model_params_const(a), *q = nn_model_params_const(b);
  double gap = 0.0, scale = 0.0;
  for (size_t i = 0; i < nn_model_param_count(a); i++) {
    gap = fmax(gap, fabs((double)p[i] - q[i]));
    scale = fmax(scale, fabs((double)p[i]));
  }
  return gap / scale;
}

/* 3 classes of 2-D blobs through 2-16-dropout-16-3 relu/softmax. */
static nn_spec blob_spec(float rate) {
  nn_spec s = {.inputs = 2, .n_layers = 4, .loss = NN_LOSS_CROSS_ENTROPY, .seed = 11};
  for (int l = 0; l < 4; l++) nn_layer_spec_defaults(&s.layers[l]);
  s.layers[0] = (nn_layer_spec){.type = NN_LAYER_DENSE, .units = 16, .act = NN_ACT_RELU};
  s.layers[1] = (nn_layer_spec){.type = NN_LAYER_DROPOUT, .rate = rate};
  s.layers[2] = (nn_layer_spec){.type = NN_LAYER_DENSE, .units = 16, .act = NN_ACT_TANH};
  s.layers[3] = (nn_layer_spec){.type = NN_LAYER_DENSE, .units = 3, .act = NN_ACT_SOFTMAX};
  return s;
}

#define ROWS 93
static float blob_x[ROWS * 2];
static int32_t blob_labels[ROWS];

static nn_data blob_data(size_t rows) {
  nets_blobs(rows, 5, blob_x, blob_labels);
  return (nn_data){.rows = rows, .features = 2, .x = blob_x, .outputs = 3,
                   .labels = blob_labels, .classes = 3};
}

static nn_train_config config(nn_opt opt, int batch) {
  nn_train_config c;
  nn_train_config_defaults(&c);
  nn_optim_defaults(opt, &c.optim);
  c.optim.lr = opt == NN_OPT_SGD ? 0.1f : 0.01f;
  if (opt == NN_OPT_SGD) {
    c.optim.momentum = 0.9f;
    c.optim.nesterov = 1;
  }
  if (opt == NN_OPT_RMSPROP) c.optim.momentum = 0.5f;
  if (opt != NN_OPT_ADAMW) c.optim.weight_decay = 1e-3f;
  c.epochs = MAX_EPOCHS;
  c.batch_size = batch;
  c.validation_split = 0.2f;
  c.clip_norm = 1.0f;
  c.seed = 99;
  return c;
}

/* One rank through nn_replicas is today's trainer bit for bit: weights after
 * every step, every metric, and the checkpoint's bytes. */
Test(shard, one_rank_is_the_plain_trainer_bit_for_bit) {
  nn_data d = blob_data(ROWS);
  nn_spec spec = blob_spec(0.3f);
  for (nn_opt opt = NN_OPT_SGD; opt <= NN_OPT_RMSPROP; opt++) {
    nn_train_config c = config(opt, 10);
    run_out plain, one;
    run_plain(&spec, &d, &c, &plain);
    run_sharded(&spec, &d, &c, 1, &one);
    cr_assert_eq(one.steps, plain.steps);
    for (int i = 0; i < plain.steps; i++)
      cr_assert_eq(one.step_crc[i], plain.step_crc[i], "%s: step %d", nn_name(NN_NAMES_OPT, opt), i);
    for (int e = 0; e < MAX_EPOCHS; e++) {
      cr_assert(memcmp(&one.em[e].loss, &plain.em[e].loss, sizeof(double)) == 0);
      cr_assert(memcmp(&one.em[e].accuracy, &plain.em[e].accuracy, sizeof(double)) == 0);
      cr_assert(memcmp(&one.em[e].val_loss, &plain.em[e].val_loss, sizeof(double)) == 0);
    }
    cr_assert_eq(one.ckpt_len, plain.ckpt_len);
    cr_assert_eq(memcmp(one.ckpt, plain.ckpt, plain.ckpt_len), 0);
    free_out(&plain, 1);
    free_out(&one, 1);
  }
}

/*
 * Two and three ranks against one process, over six epochs with dropout,
 * for each optimizer. Only the order of float additions differs: each rank's
 * weight gradient sums its own rows (one GEMM each) and the reduce adds the
 * ranks', where one process sums all rows in one GEMM. That is a relative
 * difference of a few float ulps (1e-7) per gradient, which the optimizer
 * steps carry along and the nonlinearities amplify a little (adam divides by
 * sqrt(v), so a gradient near zero moves a weight by up to lr either way).
 * After 48 steps the parameters measured here differ by at most 6e-5 of
 * the largest weight (sgd with nesterov momentum; adam and adamw 1e-7) and
 * the epoch losses by 7e-6; 1e-3 and 1e-4 leave room for other BLAS kernels
 * and still fail on a real error: a loss scaled by the share instead of the
 * batch gives 1e-1, dropout masks drawn from the wrong position 2e-2.
 */
#define PARAM_TOLERANCE 1e-3
#define METRIC_TOLERANCE 1e-4

static void agree_with_one_process(nn_opt opt, int R, int batch, size_t rows) {
  nn_data d = blob_data(rows);
  nn_spec spec = blob_spec(0.3f);
  nn_train_config c = config(opt, batch);
  run_out plain, o[MAX_R];
  run_plain(&spec, &d, &c, &plain);
  run_sharded(&spec, &d, &c, R, o);
  assert_replicas_agree(o, R);
  cr_assert_eq(o[0].steps, plain.steps);
  double gap = param_gap(plain.m, o[0].m);
  cr_assert_lt(gap, PARAM_TOLERANCE, "%s over %d ranks: parameters differ by %g",
               nn_name(NN_NAMES_OPT, opt), R, gap);
  for (int e = 0; e < MAX_EPOCHS; e++) {
    cr_assert_lt(fabs(o[0].em[e].loss - plain.em[e].loss), METRIC_TOLERANCE, "epoch %d", e);
    cr_assert_lt(fabs(o[0].em[e].val_loss - plain.em[e].val_loss), METRIC_TOLERANCE);
    cr_assert_lt(fabs(o[0].em[e].accuracy - plain.em[e].accuracy), METRIC_TOLERANCE);
    cr_assert_eq(o[0].em[e].samples, plain.em[e].samples);
  }
  free_out(&plain, 1);
  free_out(o, R);
}

Test(shard, two_ranks_agree_with_one_process_for_every_optimizer) {
  for (nn_opt opt = NN_OPT_SGD; opt <= NN_OPT_RMSPROP; opt++) agree_with_one_process(opt, 2, 10, ROWS);
}

Test(shard, three_ranks_agree_with_one_process_for_every_optimizer) {
  for (nn_opt opt = NN_OPT_SGD; opt <= NN_OPT_RMSPROP; opt++) agree_with_one_process(opt, 3, 12, ROWS);
}

/* Batches of 10 over 3 ranks (3, 3, 4 rows), and 61 training rows, so the
 * last batch has one row and two ranks have none of it. */
Test(shard, uneven_and_empty_shares) {
  agree_with_one_process(NN_OPT_ADAM, 3, 10, 76); /* 76 - 15 held out = 61 */
}

/* A wrong mask for a row would show: with dropout at 0.5 the same test
 * holds, and the masks drawn are the ones of one process. */
Test(shard, dropout_masks_follow_the_row_not_the_rank) {
  nn_spec spec = blob_spec(0.5f);
  nn_model *m;
  cr_assert_eq(nn_model_new(&spec, &m, NULL), NN_OK);
  nn__ws whole, part;
  cr_assert_eq(nn__ws_init(&whole, &m->spec, &m->arch, 10, 1), NN_OK);
  cr_assert_eq(nn__ws_init(&part, &m->spec, &m->arch, 4, 1), NN_OK);
  nn__rng r1, r2;
  nn__rng_seed(&r1, 7, 1);
  r2 = r1;
  nn__net_forward(&m->spec, &m->arch, nn_model_params(m), &whole, 10, &r1);
  part.row0 = 6;
  part.batch_rows = 10;
  nn__net_forward(&m->spec, &m->arch, nn_model_params(m), &part, 4, &r2);
  /* rows 6..9 of the batch get the masks they get in one pass */
  cr_assert_eq(memcmp(part.masks[1], whole.masks[1] + 6 * 16, 4 * 16 * sizeof(float)), 0);
  /* and both generators end past the whole batch */
  cr_assert_eq(r1.state, r2.state);
  /* a rank with no rows of the batch still moves past it */
  nn__rng r3;
  nn__rng_seed(&r3, 7, 1);
  part.row0 = 10;
  nn__net_forward(&m->spec, &m->arch, nn_model_params(m), &part, 0, &r3);
  cr_assert_eq(r3.state, r1.state);
  nn__ws_free(&whole);
  nn__ws_free(&part);
  nn_model_free(m);
}

Test(shard, advance_is_the_same_as_drawing) {
  for (uint64_t k = 0; k < 300; k += 37) {
    nn__rng a, b;
    nn__rng_seed(&a, 42, k);
    b = a;
    for (uint64_t i = 0; i < k; i++) nn__rng_u32(&a);
    nn__rng_advance(&b, k);
    cr_assert_eq(a.state, b.state, "after %llu draws", (unsigned long long)k);
    cr_assert_eq(nn__rng_u32(&a), nn__rng_u32(&b));
  }
}

static int fail_floats(void *ud, float *buf, size_t n) {
  (void)ud, (void)buf, (void)n;
  return -1;
}
static int sum_doubles_alone(void *ud, double *buf, size_t n) {
  (void)ud, (void)buf, (void)n;
  return 0;
}

Test(shard, bad_shards_are_refused_and_a_failed_reduce_stops_training) {
  nn_data d = blob_data(ROWS);
  nn_spec spec = blob_spec(0.0f);
  nn_train_config c = config(NN_OPT_ADAM, 10);
  nn_model *m;
  nn_trainer *t = NULL;
  nn_error err;
  cr_assert_eq(nn_model_new(&spec, &m, NULL), NN_OK);
  nn_shard bad[] = {
      {.rank = 0, .ranks = 0, fail_floats, sum_doubles_alone, NULL},
      {.rank = 2, .ranks = 2, fail_floats, sum_doubles_alone, NULL},
      {.rank = -1, .ranks = 2, fail_floats, sum_doubles_alone, NULL},
      {.rank = 0, .ranks = NN_MAX_RANKS + 1, fail_floats, sum_doubles_alone, NULL},
      {.rank = 0, .ranks = 2, NULL, sum_doubles_alone, NULL},
      {.rank = 0, .ranks = 2, fail_floats, NULL, NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(nn_trainer_new_shard(m, &d, &c, NULL, &bad[i], &t, &err), NN_EINVAL, "shard %zu", i);
    cr_assert_neq(err.message[0], '\0');
  }
  c.diagnostics = 1;
  nn_shard two = {1, 2, fail_floats, sum_doubles_alone, NULL};
  cr_assert_eq(nn_trainer_new_shard(m, &d, &c, NULL, &two, &t, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "diagnostics");
  c.diagnostics = 0;
  nn_shard fails = {0, 1, fail_floats, sum_doubles_alone, NULL};
  cr_assert_eq(nn_trainer_new_shard(m, &d, &c, NULL, &fails, &t, NULL), NN_OK);
  nn_epoch_metrics em;
  cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_ESHARD);
  cr_assert_str_eq(nn_name(NN_NAMES_STATUS, NN_ESHARD), "reduce_failed");
  nn_trainer_free(t);
  nn_model_free(m);
}

/* A run paused mid-epoch on every rank and resumed from rank 0's checkpoint
 * with the same ranks ends where an uninterrupted one does, bit for bit. */
typedef struct {
  const nn_spec *spec;
  const nn_data *d;
  const nn_train_config *c;
  nn_shard shard;
  run_out *out;
  const uint8_t *resume; /* rank 0's checkpoint, or NULL */
  size_t resume_len;
  size_t stop_after; /* batches of the first epoch, or 0 */
} resume_args;

static int stop_at(void *ud, int epoch, size_t batch, size_t n_batches) {
  (void)epoch, (void)n_batches;
  return batch + 1 == *(size_t *)ud;
}

static void *run_resume(void *arg) {
  resume_args *a = arg;
  run_out *o = a->out;
  nn_trainer *t = NULL;
  nn_train_state st = {0};
  if (a->resume != NULL)
    o->rc = nn_checkpoint_load(a->resume, a->resume_len, &o->m, &st, NULL);
  else
    o->rc = nn_model_new(a->spec, &o->m, NULL);
  if (o->rc == NN_OK)
    o->rc = nn_trainer_new_shard(o->m, a->d, a->c, a->resume ? &st : NULL, &a->shard, &t, NULL);
  nn_train_state_free(&st);
  nn_epoch_metrics em;
  if (o->rc == NN_OK && a->stop_after > 0) {
    o->rc = nn_trainer_epoch(t, stop_at, &a->stop_after, &em);
    if (o->rc == NN_ESTOPPED) o->rc = NN_OK;
  } else {
    while (o->rc == NN_OK && !nn_trainer_done(t)) o->rc = nn_trainer_epoch(t, NULL, NULL, &em);
  }
  if (o->rc == NN_OK) o->rc = nn_checkpoint_save(o->m, t, &o->ckpt, &o->ckpt_len);
  nn_trainer_free(t);
  return NULL;
}

static void resume_round(const nn_spec *spec, const nn_data *d, const nn_train_config *c, int R,
                         const run_out *from, size_t stop_after, run_out *o) {
  nn_replicas *g;
  cr_assert_eq(nn_replicas_new(R, 1 << 16, &g), NN_OK);
  pthread_t th[MAX_R];
  resume_args a[MAX_R];
  for (int r = 0; r < R; r++) {
    memset(&o[r], 0, sizeof o[r]);
    a[r] = (resume_args){spec, d, c, {0}, &o[r], from ? from->ckpt : NULL,
                         from ? from->ckpt_len : 0, stop_after};
    nn_replicas_shard(g, r, &a[r].shard);
    cr_assert_eq(pthread_create(&th[r], NULL, run_resume, &a[r]), 0);
  }
  for (int r = 0; r < R; r++) pthread_join(th[r], NULL);
  nn_replicas_free(g);
  for (int r = 0; r < R; r++) cr_assert_eq(o[r].rc, NN_OK, "rank %d: %s", r, nn_strerror(o[r].rc));
}

Test(shard, a_paused_run_resumes_bit_for_bit_on_the_same_ranks) {
  nn_data d = blob_data(ROWS);
  nn_spec spec = blob_spec(0.3f);
  nn_train_config c = config(NN_OPT_ADAM, 10);
  run_out whole[MAX_R], paused[MAX_R], resumed[MAX_R];
  resume_round(&spec, &d, &c, 3, NULL, 0, whole);
  resume_round(&spec, &d, &c, 3, NULL, 4, paused);
  resume_round(&spec, &d, &c, 3, &paused[0], 0, resumed);
  assert_replicas_agree(resumed, 3);
  cr_assert_eq(resumed[0].ckpt_len, whole[0].ckpt_len);
  cr_assert_eq(memcmp(resumed[0].ckpt, whole[0].ckpt, whole[0].ckpt_len), 0);
  free_out(whole, 3);
  free_out(paused, 3);
  free_out(resumed, 3);
}
