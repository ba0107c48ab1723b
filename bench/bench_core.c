/*
 * bench_core.c — training throughput of our core (public API of core/nn.h
 * only) on every workload, and the cblas_sgemm ceiling for config (d).
 *
 *   bench_core [-t THREADS] [-o OPTIM] [-s STEPS] [NAME...]
 *
 * A NAME is a config (a..d) or `sgemm`, the ceiling; none selects every
 * config and the ceiling. -o trains that optimizer only (sgd, adam).
 * -s runs exactly STEPS training steps (one epoch of STEPS batches) per
 * config and optimizer, untimed, for a profiler (bench/profile.sh), and
 * prints `steps <config> <optim> <STEPS>` instead of a figure.
 * THREADS (default 1) is the trainer's thread count (nn_trainer_set_threads);
 * OpenBLAS itself always runs on one thread, so run with
 * OPENBLAS_NUM_THREADS=1 (the program also asks OpenBLAS for one thread).
 * BENCH_DIAGNOSTICS=1 in the environment trains with the per-layer
 * diagnostics on (nn_train_config.diagnostics, as the daemon does), to
 * measure what they cost.
 *
 * Output, one fact per line (parsed by bench/report.py):
 *   blas corename <name>              OpenBLAS kernel that ran
 *   blas config <text>                openblas_get_config()
 *   core <config> <optim> <samples/s> <rows timed> <threads>
 *   sgemm <config> <GFLOP/s>          the config's training products alone,
 *                                     bare cblas_sgemm on one thread
 *   gflops <config> <optim> <GFLOP/s> <fraction of sgemm>
 *                                     when both ran, at 1 thread
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/nn.h"
#include "workload.h"

/* The config whose matrix products are compared with bare cblas_sgemm. */
#define SGEMM_CONFIG "d"

/* The trainer's compute threads (-t). */
static int bench_threads = 1;
/* The one optimizer to train (-o), or NULL for all. */
static const char *bench_optim;
/* Untimed steps for a profiler (-s), or 0 for the timed protocol. */
static int profile_steps;

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
  if ((rc = nn_trainer_set_threads(probe, bench_threads))) goto exit;
  if ((rc = run_epochs(probe, 1, &seconds))) goto exit;
  timed = prefix(d, wl_rows_to_time(d->rows, probe_data.rows, seconds));
  if ((rc = nn_trainer_new(m, &timed, &tc, NULL, &t, &err))) goto exit;
  if ((rc = nn_trainer_set_threads(t, bench_threads))) goto exit;
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

/* One epoch of profile_steps batches, untimed: what a profiler looks at
 * (bench/profile.sh collects inside nn_trainer_epoch only). */
static int profile_train(const wl_config *c, const wl_data *d, const wl_optim *o) {
  nn_spec spec;
  nn_train_config tc;
  nn_error err = {{0}, {0}};
  nn_model *m = NULL;
  nn_trainer *t = NULL;
  nn_data data = prefix(d, d->rows);
  double seconds;
  int rc;

  spec_for(c, &spec);
  if ((rc = train_config_for(c, o, &tc))) goto exit;
  if ((rc = nn_model_new(&spec, &m, &err))) goto exit;
  if ((rc = nn_trainer_new(m, &data, &tc, NULL, &t, &err))) goto exit;
  if ((rc = nn_trainer_set_threads(t, bench_threads))) goto exit;
  rc = run_epochs(t, 1, &seconds);
exit:
  if (rc)
    fprintf(stderr, "bench_core: %s %s: %s%s%s\n", c->name, o->name, nn_strerror(rc),
            err.message[0] ? ": " : "", err.message);
  nn_trainer_free(t);
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

static int optim_selected(const wl_optim *o) {
  return bench_optim == NULL || strcmp(bench_optim, o->name) == 0;
}

/* Train the selected optimizers on one config; for SGEMM_CONFIG, when the
 * ceiling is measured too (peak > 0) at one thread, also print the
 * throughput in GFLOP/s next to it. */
static int bench_config(const wl_config *c, double peak) {
  wl_config sized = *c;
  wl_data d;
  int rc = NN_OK;
  /* a profile needs only its steps' rows */
  if (profile_steps > 0) sized.rows = (size_t)profile_steps * c->batch;
  if (wl_data_make(&sized, &d)) return NN_ENOMEM;
  for (int o = 0; o < WL_N_OPTIMS && rc == NN_OK; o++) {
    double sps = 0.0;
    size_t rows = 0;
    if (!optim_selected(&wl_optims[o])) continue;
    if (profile_steps > 0) {
      if ((rc = profile_train(c, &d, &wl_optims[o])) == NN_OK)
        printf("steps %s %s %d\n", c->name, wl_optims[o].name, profile_steps);
      continue;
    }
    rc = bench_train(c, &d, &wl_optims[o], &sps, &rows);
    if (rc != NN_OK) break;
    printf("core %s %s %.1f %zu %d\n", c->name, wl_optims[o].name, sps, rows, bench_threads);
    if (peak > 0.0 && bench_threads == 1 && strcmp(c->name, SGEMM_CONFIG) == 0) {
      double g = sps * wl_train_flops(c) / 1e9;
      printf("gflops %s %s %.2f %.3f\n", c->name, wl_optims[o].name, g, g / peak);
    }
    fflush(stdout);
  }
  wl_data_free(&d);
  return rc;
}

static const wl_config *find_config(const char *name) {
  for (int i = 0; i < wl_n_configs; i++)
    if (strcmp(wl_configs[i].name, name) == 0) return &wl_configs[i];
  return NULL;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_core [-t THREADS] [-o sgd|adam] [-s STEPS] [a|b|c|d|sgemm]...\n");
  return 2;
}

int main(int argc, char **argv) {
  int failed = 0, opt, want_sgemm;
  double peak = 0.0;
  while ((opt = getopt(argc, argv, "t:o:s:")) != -1) {
    switch (opt) {
    case 't':
      bench_threads = atoi(optarg);
      if (bench_threads < 1 || bench_threads > NN_MAX_THREADS) {
        fprintf(stderr, "bench_core: -t takes 1..%d threads\n", NN_MAX_THREADS);
        return 2;
      }
      break;
    case 'o':
      bench_optim = optarg;
      break;
    case 's':
      profile_steps = atoi(optarg);
      if (profile_steps < 1) return usage();
      break;
    default:
      return usage();
    }
  }
  int known = bench_optim == NULL;
  for (int o = 0; o < WL_N_OPTIMS; o++) known |= optim_selected(&wl_optims[o]);
  if (!known) return usage();
  /* names after the options, in wl_selected's argv form */
  argc -= optind - 1;
  argv += optind - 1;
  want_sgemm = argc < 2 && profile_steps == 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "sgemm") == 0)
      want_sgemm = 1;
    else if (find_config(argv[i]) == NULL)
      return usage();
  }

  openblas_set_num_threads(1);
  printf("blas corename %s\n", openblas_get_corename());
  printf("blas config %s\n", openblas_get_config());
  fflush(stdout);
  /* the ceiling first, so the GFLOP/s line can follow the training line */
  if (want_sgemm) {
    if (bench_sgemm(find_config(SGEMM_CONFIG), &peak) != NN_OK) return 1;
    printf("sgemm %s %.2f\n", SGEMM_CONFIG, peak);
    fflush(stdout);
  }
  for (int i = 0; i < wl_n_configs; i++)
    if (wl_selected(&wl_configs[i], argc, argv))
      failed |= bench_config(&wl_configs[i], peak) != NN_OK;
  return failed;
}
