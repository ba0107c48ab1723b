/*
 * budget.c — admission by memory (budget.h).
 *
 * Core counts what it allocates to train (nn_memory_estimate); the daemon
 * adds what it holds beside it for a job: the dataset's numbers, read whole
 * by the worker, and the copies of the weights a commit makes. The estimate
 * is what a job holds at its peak, an epoch's commit, not on average.
 *
 * The accounting of running jobs trusts the estimate stored with each job
 * (jobs.memory): estimating again at claim time would need the model spec,
 * the dataset and the config read and parsed for every queued job a worker
 * looks at. Claims take the lock below, so two workers cannot both fit a job
 * into the same room; a claim is one SQLite statement, quick next to a job.
 */
#include "budget.h"

#include "../core/graph.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The fixed part of a checkpoint (header, spec, diagnostics sums), above
 * what it holds per parameter and per unit. */
#define CHECKPOINT_EXTRA ((size_t)64 << 10)

/* The limit in a cgroup file ("max" or a byte count), or SIZE_MAX. */
static size_t cgroup_limit(const char *path) {
  FILE *f = fopen(path, "r");
  unsigned long long v;
  size_t limit = SIZE_MAX;
  if (f == NULL) return limit;
  if (fscanf(f, "%llu", &v) == 1 && v > 0 && v < SIZE_MAX) limit = (size_t)v;
  fclose(f);
  return limit;
}

size_t budget_default(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  size_t mem = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)1 << 30;
  size_t v2 = cgroup_limit("/sys/fs/cgroup/memory.max");
  size_t v1 = cgroup_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (v2 < mem) mem = v2;
  if (v1 < mem) mem = v1;
  return mem / 2 > 0 ? mem / 2 : 1;
}

int budget_job_bytes(const nn_spec *spec, const nn_train_config *c, const store_dataset *meta,
                     size_t *out, api_error *err) {
  nn_memory e;
  nn_error ne;
  int labels = meta->task == STORE_TASK_CLASSIFICATION;
  /* a model that takes a table's columns has an input per column at least
   * (its encoded width is known when a job fits the encoding) */
  nn_spec sized = *spec;
  if (sized.inputs == 0) sized.inputs = (int)meta->features;
  spec = &sized;
  *out = 0;
  if (meta->rows < 1 || meta->features < 1 || meta->outputs < 1 ||
      nn_memory_estimate(spec, c, (size_t)meta->rows, labels, &e, &ne) != NN_OK)
    return api_fail(err, API_UNPROCESSABLE, NULL, "cannot estimate the job's memory: %s",
                    meta->rows < 1 ? "the dataset has no rows" : ne.message);
  size_t rows = (size_t)meta->rows;
  /* the dataset: x (rows, features) and labels (rows,) or y (rows, outputs) */
  size_t data = rows * (size_t)meta->features * 4 + rows * (labels ? 1 : (size_t)meta->outputs) * 4;
  /* a commit: the checkpoint (weights, statistics, optimizer state, a byte
   * per unit), the weights alone, and their snapshot for predictions; a
   * resumed job keeps its checkpoint's optimizer state besides */
  size_t units = 0;
  for (int l = 0; l < spec->n_layers; l++) units += (size_t)spec->layers[l].units;
  /* a graph's checkpoint carries its spec too, and its snapshot an
   * inference graph (its workspace is the predictions' scratch) */
  size_t graph = spec->graph != NULL ? 3 * sizeof(nn_graph_spec) + sizeof(nn_graph) : 0;
  size_t commit = 2 * (e.model + CHECKPOINT_EXTRA) + e.optimizer + units + e.model + graph;
  *out = e.total + data + commit + e.optimizer;
  return 0;
}

/* "12.9 GiB" and the like. */
static void human(size_t bytes, char *buf, size_t size) {
  static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  if (u == 0)
    snprintf(buf, size, "%zu bytes", bytes);
  else
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

static int too_large(size_t bytes, size_t limit, const char *field, const char *what,
                     api_error *err) {
  char need[32], have[32];
  human(bytes, need, sizeof need);
  human(limit, have, sizeof have);
  return api_fail(err, API_TOO_LARGE, field,
                  "training %s takes an estimated %s (%zu bytes), more than the memory budget "
                  "of %s (%zu bytes, --memory-budget)",
                  what, need, bytes, have, limit);
}

/* The cheapest way to train spec: one row, batch 1, sgd. */
static void cheapest(const nn_spec *spec, nn_train_config *c, store_dataset *meta) {
  nn_train_config_defaults(c);
  nn_optim_defaults(NN_OPT_SGD, &c->optim);
  c->batch_size = 1;
  c->diagnostics = 1; /* the workers always gather them */
  memset(meta, 0, sizeof *meta);
  meta->rows = 1;
  meta->features = spec->inputs > 0 ? spec->inputs : 1; /* 0: a table's columns, 1 at least */
  meta->outputs = nn_spec_outputs(spec);
  meta->task = STORE_TASK_REGRESSION;
}

int budget_check_model(size_t limit, const nn_spec *spec, api_error *err) {
  nn_train_config c;
  store_dataset meta;
  size_t bytes;
  cheapest(spec, &c, &meta);
  int rc = budget_job_bytes(spec, &c, &meta, &bytes, err);
  if (rc != 0) return rc;
  return bytes > limit ? too_large(bytes, limit, spec->graph != NULL ? "nodes" : "layers",
                                   "this model (batch 1, sgd)", err)
                        : 0;
}

int budget_check_job(size_t limit, const nn_spec *spec, const nn_train_config *c,
                     const store_dataset *meta, size_t *bytes, api_error *err) {
  int rc = budget_job_bytes(spec, c, meta, bytes, err);
  if (rc != 0 || *bytes <= limit) return rc;
  /* whose fault: the batch, when a batch of one would fit; else the
   * dataset's rows (the model alone fit when it was created) */
  nn_train_config one = *c;
  one.batch_size = 1;
  size_t least;
  int batch = budget_job_bytes(spec, &one, meta, &least, NULL) == 0 && least <= limit;
  char what[96];
  snprintf(what, sizeof what, "this job (batch_size %d, %s, %lld rows)", c->batch_size,
           nn_name(NN_NAMES_OPT, c->optim.type), (long long)meta->rows);
  return too_large(*bytes, limit, batch ? "batch_size" : "dataset", what, err);
}

int budget_init(budget *b, size_t total) {
  b->total = total < (size_t)INT64_MAX ? (int64_t)total : INT64_MAX;
  b->used = 0;
  return uv_mutex_init(&b->lock) == 0 ? 0 : -1;
}

void budget_destroy(budget *b) { uv_mutex_destroy(&b->lock); }

int budget_claim(budget *b, store *st, store_job *out) {
  uv_mutex_lock(&b->lock);
  assert(b->used >= 0 && b->used <= b->total);
  int rc = store_job_claim(st, b->total - b->used, b->total, out);
  if (rc == STORE_OK && out->memory <= b->total) b->used += out->memory;
  uv_mutex_unlock(&b->lock);
  return rc;
}

void budget_release(budget *b, const store_job *job) {
  if (job->memory > b->total) return; /* never held */
  uv_mutex_lock(&b->lock);
  b->used -= job->memory;
  assert(b->used >= 0);
  uv_mutex_unlock(&b->lock);
}

bool budget_refuses(const budget *b, const store_job *job, char *msg, size_t size) {
  if (job->memory <= b->total) return false;
  char need[32], have[32];
  human((size_t)job->memory, need, sizeof need);
  human((size_t)b->total, have, sizeof have);
  snprintf(msg, size, "training it takes an estimated %s, more than the memory budget of %s "
           "(--memory-budget was lowered since it was queued)", need, have);
  return true;
}
