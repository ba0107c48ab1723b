/*
 * workload.h — the benchmark workloads shared by every peer: network shapes,
 * batch sizes, optimizers, the synthetic data and the timing protocol. The
 * C peers link workload.c; bench_torch.py reads the same table and data from
 * the files bench_data writes, so all peers train on identical rows.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#define WL_MAX_WIDTHS 4

/* Timing protocol, the same for every peer:
 * 1. a probe epoch on the first WL_PROBE_ROWS rows; when it predicts a full
 *    epoch longer than WL_REP_SECONDS, only a prefix of the rows that fits
 *    is timed (a slow peer would otherwise take minutes; per-sample cost
 *    does not depend on the row count, and a smaller set only helps the
 *    slower peer's caches);
 * 2. one warm-up epoch on the timed rows;
 * 3. WL_REPS repetitions of enough epochs to last about WL_REP_SECONDS
 *    (estimated from the warm-up epoch, 1..WL_MAX_EPOCHS_PER_REP); the
 *    fastest repetition counts. */
#define WL_PROBE_ROWS 256
#define WL_REPS 3
#define WL_REP_SECONDS 1.0
#define WL_MAX_EPOCHS_PER_REP 100

typedef enum {
  WL_REGRESSION, /* tanh hidden layers, linear output, mean squared error */
  WL_CLASSIFY    /* relu hidden layers, softmax output fused with cross-entropy */
} wl_task;

typedef struct {
  const char *name; /* "a".."d" */
  wl_task task;
  int n_widths;                /* inputs plus one per dense layer */
  int widths[WL_MAX_WIDTHS];   /* widths[0] inputs, widths[n_widths - 1] outputs */
  int batch;
  size_t rows;                 /* see wl_configs in workload.c */
} wl_config;

typedef struct {
  const char *name; /* "sgd", "adam" */
  float lr;
} wl_optim;

#define WL_N_OPTIMS 2

extern const wl_config wl_configs[];
extern const int wl_n_configs;
extern const wl_optim wl_optims[WL_N_OPTIMS];

/* A generated data set; exactly one of y and labels is set. */
typedef struct {
  size_t rows;
  int features;
  int outputs;     /* regression: width of y; classification: classes */
  float *x;        /* (rows, features) uniform in [-1, 1) */
  float *y;        /* (rows, outputs) regression targets, or NULL */
  int32_t *labels; /* (rows,) class indices, or NULL */
} wl_data;

/**
 * Generate a config's data set, deterministically (fixed seed per config).
 * Regression: y = sin(pi x0) * x1 on every output (needs 2+ inputs).
 * Classification: the label is the argmax of a fixed random linear map of
 * x, so the classes are learnable.
 * @return 0, or -1 when out of memory (d is then empty)
 */
int wl_data_make(const wl_config *c, wl_data *d);

void wl_data_free(wl_data *d);

/** @return the number of weights (biases excluded) of a config's network. */
size_t wl_weights(const wl_config *c);

/**
 * Multiply-add flops of one training sample: forward, weight gradient and
 * input gradient of every layer but the first (its input needs none).
 * @return 6 * weights - 2 * first-layer weights
 */
double wl_train_flops(const wl_config *c);

/**
 * Whether a peer's command line selects a config: no arguments select all.
 * @return nonzero when c->name is among argv[1..argc-1], or argc < 2
 */
int wl_selected(const wl_config *c, int argc, char **argv);

/** @return seconds on a monotonic clock. */
double wl_now(void);

/** @return the rows to time, after a probe epoch over probe_rows rows. */
size_t wl_rows_to_time(size_t rows, size_t probe_rows, double probe_seconds);

/** @return epochs per repetition for a warm-up epoch of warm_seconds. */
int wl_epochs_per_rep(double warm_seconds);

#endif /* BENCH_WORKLOAD_H */
