/*
 * bench_core.c — training throughput of our core (public API of core/nn.h
 * only) on every workload, and the cblas_sgemm ceiling for config (d).
 *
 *   bench_core [CONFIG...]    all configs when none is named, e.g. bench_core d
 *
 * BENCH_DIAGNOSTICS=1 in the environment trains with the per-layer
 * diagnostics on (nn_train_config.diagnostics, as the daemon does), to
 * measure what they cost.
 *
 * Output, one fact per line (parsed by run.sh):
 *   blas corename <name>              OpenBLAS kernel that ran
 *   blas config <text>                openblas_get_config()
 *   core <config> <optim> <samples/s> <rows timed>
 *   sgemm <config> <GFLOP/s>          the config's training products alone
 *   gflops <config> <optim> <GFLOP/s> <fraction of sgemm>
 *
 * Run with OPENBLAS_NUM_THREADS=1 (the program also asks OpenBLAS for one
 * thread).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/nn.h"
#include "workload.h"

/* The config whose matrix products are compared with bare cblas_sgemm. */
#define SGEMM_CONFIG "d"

static void spec_for(const wl_config *c, nn_spec *spec) {
  memset(spec, 0, sizeof *spec);
  spec->inputs = c->widths[0];
  spec->n_layers = c->n_widths - 1;
  for (int l = 0; l < spec->n_layers; l++) {
    nn_layer_spec *ls = &spec->layers[l];
    int last = l == spec->n_layers - 1;
    nn_layer_spec_defaults(ls);
    ls->units = c->widths[l + 1];
    if (c->task == WL_REGRESSION)
      ls->act = last ? NN_ACT_LINEAR : NN_ACT_TANH;
    else
      ls->act = last ? NN_ACT_SOFTMAX : NN_ACT_RELU;
  }
  spec->loss = c->task == WL_REGRESSION ? NN_LOSS_MSE : NN_LOSS_CROSS_ENTROPY;
  spec->seed = 1;
}

static int train_config_for(const wl_config *c, const wl_optim *o, nn_train_config *tc) {
  int type;
  int rc = nn_parse_name(NN_NAMES_OPT, o->name, &type);
  if (rc) return rc;
  nn_train_config_defaults(tc);
  /* enough epochs that the trainer never reports itself done mid-benchmark */
  tc->epochs = 1 + WL_REPS * WL_MAX_EPOCHS_PER_REP;
  tc->batch_size = c->batch;
  tc->shuffle = 1;
  tc->validation_split = 0.0f;
  tc->seed = 1;
  nn_optim_defaults((nn_opt)type, &tc->optim);
  tc->optim.lr = o->lr;
  const char *diag = getenv("BENCH_DIAGNOSTICS");
  tc->diagnostics = diag != NULL && strcmp(diag, "1") == 0;
  return NN_OK;
}

static int run_epochs(nn_trainer *t, int n, double *seconds) {
  nn_epoch_metrics m;
  double t0 = wl_now();
  for (int e = 0; e < n; e++) {
    int rc = nn_trainer_epoch(t, NULL, NULL, &m);
    if (rc) return rc;
  }
  *seconds = wl_now() - t0;
  return NN_OK;
}

/* The first rows rows of d, borrowed. */
static nn_data prefix(const wl_data *d, size_t rows) {
  return (nn_data){.rows = rows, .features = d->features, .x = d->x, .outputs = d->outputs,
                   .y = d->y, .labels = d->labels, .classes = d->labels ? d->outputs : 0};
}

/* Best-of-WL_REPS training throughput of one config and optimizer, under
 * the protocol of workload.h. */
static int bench_train(const wl_config *c, const wl_data *d, const wl_optim *o, double *sps,
                       size_t *rows) {
  nn_spec spec;
  nn_train_config tc;
  nn_error err = {{0}, {0}};
  nn_model *m = NULL;
  nn_trainer *probe = NULL, *t = NULL;
  nn_data probe_data = prefix(d, d->rows < WL_PROBE_ROWS ? d->rows : WL_PROBE_ROWS), timed;
  double seconds, best = INFINITY;
  int epochs, rc;

  spec_for(c, &spec);
  if ((rc = train_config_for(c, o, &tc))) goto exit;
  if ((rc = nn_model_new(&spec, &m, &err))) goto exit;
  if ((rc = nn_trainer_new(m, &probe_data, &tc, NULL, &probe, &err))) goto exit;
  if ((rc = run_epochs(probe, 1, &seconds))) goto exit;
  timed = prefix(d, wl_rows_to_time(d->rows, probe_data.rows, seconds));
  if ((rc = nn_trainer_new(m, &timed, &tc, NULL, &t, &err))) goto exit;
  if ((rc = run_epochs(t, 1, &seconds))) goto exit;
  epochs = wl_epochs_per_rep(seconds);
  for (int r = 0; r < WL_REPS; r++) {
    if ((rc = run_epochs(t, epochs, &seconds))) goto exit;
    if (seconds < best) best = seconds;
  }
  *rows = timed.rows;
  *sps = (double)timed.rows * epochs / best;
exit:
  if (rc)
    fprintf(stderr, "bench_core: %s %s: %s%s%s\n", c->name, o->name, nn_strerror(rc),
            err.message[0] ? ": " : "", err.message);
  nn_trainer_free(t);
  nn_trainer_free(probe);
  nn_model_free(m);
  return rc;
}

/* ---- the sgemm ceiling ------------------------------------------------------ */

/* Buffers of one training step's products: per layer l, activations and
 * their gradients acts/grads[l] (B, widths[l]), weights and weight
 * gradients W/dW[l] (widths[l + 1], widths[l]). */
typedef struct {
  int n;
  float *acts[WL_MAX_WIDTHS], *grads[WL_MAX_WIDTHS];
  float *w[WL_MAX_WIDTHS], *dw[WL_MAX_WIDTHS];
} products;

static float *random_buf(size_t n, float scale, uint64_t *seed) {
  float *p = malloc(n * sizeof *p);
  if (!p) return NULL;
  /* LCG noise in [-scale, scale]: normal floats, so no denormal slowdowns */
  for (size_t i = 0; i < n; i++) {
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = scale * ((float)(*seed >> 40) / 8388608.0f - 1.0f);
  }
  return p;
}

static void products_free(products *p) {
  for (int l = 0; l < WL_MAX_WIDTHS; l++) {
    free(p->acts[l]);
    free(p->grads[l]);
    free(p->w[l]);
    free(p->dw[l]);
  }
}

static int products_init(products *p, const wl_config *c) {
  uint64_t seed = 42;
  size_t b = (size_t)c->batch;
  memset(p, 0, sizeof *p);
  p->n = c->n_widths;
  for (int l = 0; l < c->n_widths; l++) {
    p->acts[l] = random_buf(b * c->widths[l], 1.0f, &seed);
    p->grads[l] = random_buf(b * c->widths[l], 1e-3f, &seed);
    if (!p->acts[l] || !p->grads[l]) goto fail;
    if (l + 1 == c->n_widths) break;
    size_t nw = (size_t)c->widths[l + 1] * c->widths[l];
    p->w[l] = random_buf(nw, 1.0f / sqrtf((float)c->widths[l]), &seed);
    p->dw[l] = random_buf(nw, 0.0f, &seed);
    if (!p->w[l] || !p->dw[l]) goto fail;
  }
  return 0;
fail:
  products_free(p);
  return -1;
}

/* One training step's products, in the forms core/gemm.c uses. */
static void products_step(const products *p, const wl_config *c) {
  int B = c->batch;
  for (int l = 0; l + 1 < p->n; l++) {
    int K = c->widths[l], N = c->widths[l + 1];
    /* Y (B, N) = X (B, K) W^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, N, K, 1.0f, p->acts[l], K, p->w[l],
                K, 0.0f, p->acts[l + 1], N);
  }
  for (int l = p->n - 2; l >= 0; l--) {
    int K = c->widths[l], N = c->widths[l + 1];
    /* dW (N, K) = dY^T X */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, B, 1.0f, p->grads[l + 1], N,
                p->acts[l], K, 0.0f, p->dw[l], K);
    if (l == 0) continue; /* the input needs no gradient */
    /* dX (B, K) = dY W */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, K, N, 1.0f, p->grads[l + 1], N,
                p->w[l], K, 0.0f, p->grads[l], K);
  }
}

/* GFLOP/s of a config's training products at its batch size: the fastest
 * single step over WL_REPS * WL_REP_SECONDS. A ceiling should not count
 * the moments another process held the core, so it takes the minimum of
 * many short steps rather than the best of a few long repetitions. */
static int bench_sgemm(const wl_config *c, double *gflops) {
  products p;
  double best = INFINITY, start;
  if (products_init(&p, c)) return NN_ENOMEM;
  products_step(&p, c); /* warm-up: first touch of every buffer */
  start = wl_now();
  do {
    double t0 = wl_now();
    products_step(&p, c);
    best = fmin(best, wl_now() - t0);
  } while (wl_now() - start < WL_REPS * WL_REP_SECONDS);
  *gflops = (double)c->batch * wl_train_flops(c) / best / 1e9;
  products_free(&p);
  return NN_OK;
}

/* ---- main --------------------------------------------------------------------- */

/* Train every optimizer on one config; for SGEMM_CONFIG also compare the
 * throughput in GFLOP/s with bare sgemm. */
static int bench_config(const wl_config *c) {
  wl_data d;
  double sps[WL_N_OPTIMS], peak = 0.0;
  int rc = NN_OK;
  if (wl_data_make(c, &d)) return NN_ENOMEM;
  for (int o = 0; o < WL_N_OPTIMS && rc == NN_OK; o++) {
    size_t rows = 0;
    rc = bench_train(c, &d, &wl_optims[o], &sps[o], &rows);
    if (rc == NN_OK) printf("core %s %s %.1f %zu\n", c->name, wl_optims[o].name, sps[o], rows);
    fflush(stdout);
  }
  wl_data_free(&d);
  if (rc != NN_OK || strcmp(c->name, SGEMM_CONFIG) != 0) return rc;
  if ((rc = bench_sgemm(c, &peak))) return rc;
  printf("sgemm %s %.2f\n", c->name, peak);
  for (int o = 0; o < WL_N_OPTIMS; o++) {
    double g = sps[o] * wl_train_flops(c) / 1e9;
    printf("gflops %s %s %.2f %.3f\n", c->name, wl_optims[o].name, g, g / peak);
  }
  return NN_OK;
}

int main(int argc, char **argv) {
  int failed = 0;
  openblas_set_num_threads(1);
  printf("blas corename %s\n", openblas_get_corename());
  printf("blas config %s\n", openblas_get_config());
  fflush(stdout);
  for (int i = 0; i < wl_n_configs; i++)
    if (wl_selected(&wl_configs[i], argc, argv)) failed |= bench_config(&wl_configs[i]) != NN_OK;
  return failed;
}
