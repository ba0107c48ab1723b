/*
 * workload.c — benchmark configs and their synthetic data (see workload.h).
 */
#include "workload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Row counts keep an epoch of our core at 0.1-0.5 s on a 2.5 GHz Xeon core,
 * so a 1 s repetition spans several epochs and the largest data set ((c):
 * 60 MiB of x) stays small. */
const wl_config wl_configs[] = {
    {"a", WL_REGRESSION, 3, {2, 16, 1}, 4, 200000},
    {"b", WL_CLASSIFY, 3, {64, 128, 10}, 32, 100000},
    {"c", WL_CLASSIFY, 4, {784, 256, 128, 10}, 128, 20000},
    {"d", WL_CLASSIFY, 4, {1024, 1024, 1024, 10}, 256, 4096},
};
const int wl_n_configs = (int)(sizeof wl_configs / sizeof wl_configs[0]);

const wl_optim wl_optims[WL_N_OPTIMS] = {{"sgd", 0.01f}, {"adam", 0.001f}};

/* splitmix64: tiny, and good enough for synthetic features */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* uniform in [-1, 1), from the top 24 bits */
static float next_sym(uint64_t *s) {
  return (float)(next_u64(s) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

static void make_labels(wl_data *d, const float *proj /* (features, classes) */) {
  for (size_t i = 0; i < d->rows; i++) {
    const float *x = d->x + i * (size_t)d->features;
    int best = 0;
    float best_score = -INFINITY;
    for (int c = 0; c < d->outputs; c++) {
      /* score_c = sum_f x_f proj[f][c] */
      float score = 0.0f;
      for (int f = 0; f < d->features; f++) score += x[f] * proj[(size_t)f * d->outputs + c];
      if (score > best_score) {
        best_score = score;
        best = c;
      }
    }
    d->labels[i] = best;
  }
}

int wl_data_make(const wl_config *c, wl_data *d) {
  uint64_t seed = 0x5EED0000ull + (uint64_t)c->name[0];
  float *proj = NULL;
  *d = (wl_data){.rows = c->rows, .features = c->widths[0], .outputs = c->widths[c->n_widths - 1]};
  d->x = malloc(d->rows * (size_t)d->features * sizeof *d->x);
  if (!d->x) goto fail;
  for (size_t i = 0; i < d->rows * (size_t)d->features; i++) d->x[i] = next_sym(&seed);

  if (c->task == WL_REGRESSION) {
    d->y = malloc(d->rows * (size_t)d->outputs * sizeof *d->y);
    if (!d->y) goto fail;
    /* every output: y = sin(pi x0) * x1 (regression configs have 2+ inputs) */
    for (size_t i = 0; i < d->rows; i++) {
      const float *x = d->x + i * (size_t)d->features;
      for (int o = 0; o < d->outputs; o++)
        d->y[i * (size_t)d->outputs + o] = sinf(3.14159265f * x[0]) * x[1];
    }
    return 0;
  }
  d->labels = malloc(d->rows * sizeof *d->labels);
  proj = malloc((size_t)d->features * d->outputs * sizeof *proj);
  if (!d->labels || !proj) goto fail;
  for (size_t i = 0; i < (size_t)d->features * d->outputs; i++) proj[i] = next_sym(&seed);
  make_labels(d, proj);
  free(proj);
  return 0;

fail:
  free(proj);
  wl_data_free(d);
  return -1;
}

void wl_data_free(wl_data *d) {
  free(d->x);
  free(d->y);
  free(d->labels);
  *d = (wl_data){0};
}

size_t wl_weights(const wl_config *c) {
  size_t w = 0;
  for (int l = 1; l < c->n_widths; l++) w += (size_t)c->widths[l - 1] * c->widths[l];
  return w;
}

double wl_train_flops(const wl_config *c) {
  /* 2 flops per weight for Y = X W^T, dW = dY^T X and dX = dY W each */
  return 6.0 * (double)wl_weights(c) - 2.0 * c->widths[0] * c->widths[1];
}

int wl_selected(const wl_config *c, int argc, char **argv) {
  if (argc < 2) return 1;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], c->name) == 0) return 1;
  return 0;
}

double wl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t wl_rows_to_time(size_t rows, size_t probe_rows, double probe_seconds) {
  double full = probe_seconds * (double)rows / (double)probe_rows;
  if (full <= WL_REP_SECONDS) return rows;
  size_t fit = (size_t)((double)rows * (WL_REP_SECONDS / full));
  return fit > probe_rows ? fit : probe_rows;
}

int wl_epochs_per_rep(double warm_seconds) {
  double e = ceil(WL_REP_SECONDS / (warm_seconds > 1e-9 ? warm_seconds : 1e-9));
  return e < 1 ? 1 : e > WL_MAX_EPOCHS_PER_REP ? WL_MAX_EPOCHS_PER_REP : (int)e;
}
