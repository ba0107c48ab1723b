/*
 * bench_data.c — write the workload table and data sets for bench_torch.py,
 * so Python trains on exactly the rows the C peers generate.
 *
 *   bench_data DIR   writes DIR/manifest.txt and per config DIR/<name>.x
 *                    (float32) plus DIR/<name>.y (float32) or
 *                    DIR/<name>.labels (int32), raw native byte order.
 *
 * manifest.txt lines:
 *   protocol <probe_rows> <reps> <rep_seconds> <max_epochs_per_rep>
 *   optim <name> <lr>
 *   config <name> <regression|classify> <batch> <rows> <width>...
 */
#include <stdio.h>

#include "workload.h"

static int write_raw(const char *dir, const char *name, const char *ext, const void *p,
                     size_t size, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    return -1;
  }
  int rc = fwrite(p, size, n, f) == n ? 0 : -1;
  if (fclose(f) != 0) rc = -1;
  if (rc) fprintf(stderr, "bench_data: cannot write %s\n", path);
  return rc;
}

static int write_config(FILE *manifest, const char *dir, const wl_config *c) {
  wl_data d;
  int rc = -1;
  if (wl_data_make(c, &d)) {
    fprintf(stderr, "bench_data: out of memory for config %s\n", c->name);
    return -1;
  }
  fprintf(manifest, "config %s %s %d %zu", c->name,
          c->task == WL_REGRESSION ? "regression" : "classify", c->batch, c->rows);
  for (int i = 0; i < c->n_widths; i++) fprintf(manifest, " %d", c->widths[i]);
  fputc('\n', manifest);
  if (write_raw(dir, c->name, "x", d.x, sizeof *d.x, d.rows * (size_t)d.features)) goto exit;
  if (d.y ? write_raw(dir, c->name, "y", d.y, sizeof *d.y, d.rows * (size_t)d.outputs)
          : write_raw(dir, c->name, "labels", d.labels, sizeof *d.labels, d.rows))
    goto exit;
  rc = 0;
exit:
  wl_data_free(&d);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/manifest.txt", argv[1]);
  FILE *manifest = fopen(path, "w");
  if (!manifest) {
    perror(path);
    return 1;
  }
  int rc = 0;
  fprintf(manifest, "protocol %d %d %g %d\n", WL_PROBE_ROWS, WL_REPS, WL_REP_SECONDS,
          WL_MAX_EPOCHS_PER_REP);
  for (int i = 0; i < WL_N_OPTIMS; i++)
    fprintf(manifest, "optim %s %g\n", wl_optims[i].name, wl_optims[i].lr);
  for (int i = 0; i < wl_n_configs && rc == 0; i++) rc = write_config(manifest, argv[1], &wl_configs[i]);
  if (fclose(manifest) != 0) rc = -1;
  return rc ? 1 : 0;
}
