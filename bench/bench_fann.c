/*
 * bench_fann.c — training throughput of FANN (float build) on the workloads,
 * with each of its training algorithms; the fastest one is FANN's figure.
 *
 *   bench_fann [CONFIG...]    all configs when none is named
 *
 * Output (parsed by report.py):
 *   fann_algo <config> <algorithm> <samples/s> <rows timed>
 *   fann <config> <fastest algorithm> <samples/s> <rows timed>
 *
 * FANN updates per row (incremental) or once per epoch (batch, rprop,
 * quickprop); it has no mini-batches, so it cannot run batch size 4 as such.
 * It has no ReLU and no softmax either: classification configs use its
 * bounded-linear hidden units and a sigmoid output trained on one-hot targets
 * with squared error — the same shapes and multiply-adds, other nonlinearities.
 */
#include <floatfann.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

static const struct {
  enum fann_train_enum algo;
  const char *name;
} algos[] = {
    {FANN_TRAIN_INCREMENTAL, "incremental"},
    {FANN_TRAIN_RPROP, "rprop"},
    {FANN_TRAIN_QUICKPROP, "quickprop"},
    {FANN_TRAIN_BATCH, "batch"},
};
#define N_ALGOS (int)(sizeof algos / sizeof algos[0])

static struct fann_train_data *fann_data_from(const wl_data *d) {
  struct fann_train_data *t = fann_create_train((unsigned)d->rows, (unsigned)d->features,
                                                (unsigned)d->outputs);
  if (!t) return NULL;
  for (size_t i = 0; i < d->rows; i++) {
    for (int f = 0; f < d->features; f++) t->input[i][f] = d->x[i * (size_t)d->features + f];
    for (int o = 0; o < d->outputs; o++)
      t->output[i][o] = d->y ? d->y[i * (size_t)d->outputs + o] : (float)(d->labels[i] == o);
  }
  return t;
}

static struct fann *new_ann(const wl_config *c, enum fann_train_enum algo) {
  unsigned widths[WL_MAX_WIDTHS];
  for (int i = 0; i < c->n_widths; i++) widths[i] = (unsigned)c->widths[i];
  struct fann *ann = fann_create_standard_array((unsigned)c->n_widths, widths);
  if (!ann) return NULL;
  srand(1); /* FANN draws initial weights from rand() */
  fann_randomize_weights(ann, -0.1f, 0.1f);
  /* sigmoid_symmetric at steepness s is tanh(s x) */
  fann_set_activation_steepness_hidden(ann, 1.0f);
  fann_set_activation_steepness_output(ann, 1.0f);
  if (c->task == WL_REGRESSION) {
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_function_output(ann, FANN_LINEAR);
  } else {
    fann_set_activation_function_hidden(ann, FANN_LINEAR_PIECE);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
  }
  fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
  fann_set_training_algorithm(ann, algo);
  fann_set_learning_rate(ann, wl_optims[0].lr); /* SGD's, for incremental and batch */
  return ann;
}

static double run_epochs(struct fann *ann, struct fann_train_data *t, int n,
                         enum fann_train_enum algo) {
  double t0 = wl_now();
  for (int e = 0; e < n; e++) {
    /* row order matters only to per-row updates; our trainer shuffles too */
    if (algo == FANN_TRAIN_INCREMENTAL) fann_shuffle_train_data(t);
    fann_train_epoch(ann, t);
  }
  return wl_now() - t0;
}

/* Step 1 of the protocol (workload.h): a probe epoch sizes the timed rows. */
static unsigned rows_to_time(struct fann *ann, struct fann_train_data *all,
                             enum fann_train_enum algo) {
  unsigned rows = fann_length_train_data(all);
  unsigned probe_rows = rows < WL_PROBE_ROWS ? rows : WL_PROBE_ROWS;
  struct fann_train_data *probe = fann_subset_train_data(all, 0, probe_rows);
  if (!probe) return rows;
  double seconds = run_epochs(ann, probe, 1, algo);
  fann_destroy_train(probe);
  return (unsigned)wl_rows_to_time(rows, probe_rows, seconds);
}

/* Best-of-WL_REPS throughput of one algorithm; 0 on failure. */
static double bench_algo(const wl_config *c, struct fann_train_data *all,
                         enum fann_train_enum algo, unsigned *rows) {
  struct fann *ann = new_ann(c, algo);
  struct fann_train_data *t = all;
  double best = INFINITY, sps = 0.0;
  if (!ann) return 0.0;
  *rows = rows_to_time(ann, all, algo);
  if (*rows < fann_length_train_data(all)) t = fann_subset_train_data(all, 0, *rows);
  if (t) {
    int epochs = wl_epochs_per_rep(run_epochs(ann, t, 1, algo));
    for (int r = 0; r < WL_REPS; r++) best = fmin(best, run_epochs(ann, t, epochs, algo));
    sps = (double)*rows * epochs / best;
  }
  if (t && t != all) fann_destroy_train(t);
  fann_destroy(ann);
  return sps;
}

static int bench_config(const wl_config *c) {
  wl_data d;
  struct fann_train_data *all = NULL;
  int fastest = -1;
  unsigned best_rows = 0;
  double best = 0.0;
  if (wl_data_make(c, &d) == 0) all = fann_data_from(&d);
  wl_data_free(&d);
  if (!all) {
    fprintf(stderr, "bench_fann: out of memory for config %s\n", c->name);
    return -1;
  }
  for (int a = 0; a < N_ALGOS; a++) {
    unsigned rows = 0;
    double sps = bench_algo(c, all, algos[a].algo, &rows);
    printf("fann_algo %s %s %.1f %u\n", c->name, algos[a].name, sps, rows);
    fflush(stdout);
    if (sps > best) {
      best = sps;
      fastest = a;
      best_rows = rows;
    }
  }
  fann_destroy_train(all);
  if (fastest < 0) return -1;
  printf("fann %s %s %.1f %u\n", c->name, algos[fastest].name, best, best_rows);
  return 0;
}

int main(int argc, char **argv) {
  int failed = 0;
  for (int i = 0; i < wl_n_configs; i++)
    if (wl_selected(&wl_configs[i], argc, argv)) failed |= bench_config(&wl_configs[i]) != 0;
  return failed;
}
