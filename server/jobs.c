/*
 * jobs.c — the training queue: worker threads that claim queued jobs from
 * the store and train them with core/, one epoch at a time.
 *
 * Wake-ups: jobs_notify counts a pending notification and signals one
 * sleeping worker, which then tries to claim a job; a worker that finishes a
 * job tries to claim the next before it sleeps, so no queued job waits while
 * a worker is free. Cancellation and shutdown reach a running job through
 * flags its per-batch callback reads, so it stops within one batch.
 *
 * Threads: the running jobs share --threads compute threads evenly. A job
 * reads its share at every batch and hands it to its trainer, whose results
 * do not depend on it: a job alone uses every core, and when a second starts
 * both shrink to half at their next batch instead of oversubscribing.
 *
 * A full disk pauses a job rather than failing it: nothing can be written
 * then, not even "failed", so the worker keeps the epoch it could not record
 * and tries the same write again after 100 ms, 200 ms... up to 5 s apart,
 * until the disk has room (the job then goes on as if nothing happened, to
 * the same weights), the job is cancelled or the daemon stops. Claiming a job
 * and recording a job's end are retried the same way.
 */
#include "jobs.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "budget.h"
#include "evaluation.h"
#include "fit.h"
#include "json_out.h"
#include "log.h"
#include "prediction_run.h"
#include "prometheus.h"
#include "parse_job.h"
#include "parse_spec.h"
#include "parse_json.h"

typedef struct worker {
  jobs *owner;
  uv_thread_t thread;
  int64_t job_id;    /* the job being trained, 0 when idle; guarded by owner->lock */
  atomic_int cancel; /* that job was cancelled */
  nn_trainer *t;     /* that job's trainer, touched by this thread only */
  int share;         /* the compute threads t was last given */
  int epoch_threads; /* the most it was given in this epoch */
} worker;

#define RETRY_MIN_MS 100u  /* first wait before writing again to a full disk */
#define RETRY_MAX_MS 5000u /* the longest, reached by doubling */

struct jobs {
  char db_path[1024];
  predict_cache *cache;
  notifier *events;
  uv_mutex_t lock;
  uv_cond_t wake;
  uv_cond_t retry; /* wakes workers waiting for disk space: a stop or a cancel */
  int pending; /* notifications no worker has taken yet; guarded by lock */
  atomic_int stopping;
  int threads;         /* compute threads shared by the running jobs */
  int versions_kept;   /* jobs_config.versions_kept */
  int64_t events_kept; /* jobs_config.events_kept */
  atomic_int training; /* jobs with a trainer now */
  budget memory;       /* the running jobs' share of --memory-budget */
  mpi_launch mpi;      /* jobs_config.mpi */
  bool has_mpi;
  int n_workers;
  worker *workers; /* (n_workers,) */
};

/* Everything one job run holds; released by run_clear. */
typedef struct {
  parse_job cfg;
  nn_spec spec;
  fit_data data; /* checked to fit spec */
  fit_data val;  /* the validation_dataset's rows, encoded as data's; else empty */
  nn_model *m;
  nn_train_state resume;
  nn_trainer *t;
  bool stopped;     /* cancelled or stopping, mid-epoch or waiting for disk space */
  bool uncommitted; /* the trainer is past the last epoch recorded (the disk was full) */
  int64_t version;  /* the weights version this run published last, or 0 */
  char error[256];  /* why the job failed */
} run;

static void run_clear(run *r) {
  nn_trainer_free(r->t);
  nn_train_state_free(&r->resume);
  nn_model_free(r->m);
  fit_data_clear(&r->val);
  fit_data_clear(&r->data);
  parse_spec_free(&r->spec);
}

static int fail(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(run *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->error, sizeof r->error, fmt, ap);
  va_end(ap);
  return -1;
}

/* Parse the stored job config and model spec (both were validated when
 * stored; a failure here means the database was edited or corrupted). */
static int load_specs(store *st, const store_job *job, run *r) {
  cJSON *root = NULL;
  store_model model = {0};
  api_error err;
  int rc = -1;
  if (parse_json_body(job->config, strlen(job->config), &root, &err) != 0 ||
      parse_job_config(root, &r->cfg, &err) != 0) {
    fail(r, "stored job config is invalid: %s", err.message);
    goto out;
  }
  if (fit_model_load(st, job->model_id, "model", &model, &r->spec, &err) != 0) {
    fail(r, "%s", err.message);
    goto out;
  }
  rc = 0;
out:
  cJSON_Delete(root);
  store_model_clear(&model);
  return rc;
}

static int load_data(store *st, const store_job *job, run *r) {
  api_error err;
  fit_table_how how = {.split = &r->cfg.config};
  if (fit_data_load(st, job->dataset_id, 0, &r->spec, job->model_id, &how, &r->data, &err) != 0)
    return fail(r, "%s", err.message);
  if (r->spec.inputs == 0) r->spec.inputs = r->data.d.features; /* a table's columns, encoded */
  if (r->cfg.validation_dataset == 0) return 0;
  /* a table: encoded as the training rows were, never refitted on these */
  fit_table_how val = {.encoder = r->data.encoder};
  if (fit_data_load(st, r->cfg.validation_dataset, 0, &r->spec, job->model_id, &val, &r->val,
                    &err) != 0)
    return fail(r, "validation_dataset: %s", err.message);
  return 0;
}

/* The starting point: the job's newest checkpoint (resume), else the model's
 * published weights (fine-tuning), else a fresh initialisation. */
static int load_model(store *st, const store_job *job, run *r) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int64_t epoch;
  nn_error ne;
  api_error err;
  int rc = store_checkpoint_latest(st, job->id, &epoch, &buf, &len);
  if (rc == STORE_OK) {
    rc = nn_checkpoint_load(buf, len, &r->m, &r->resume, &ne);
    free(buf);
    return rc == NN_OK ? 0 : fail(r, "checkpoint of epoch %lld is unreadable: %s",
                                  (long long)epoch, ne.message);
  }
  if (rc != STORE_ENOTFOUND) return fail(r, "cannot read checkpoints: %s", store_strerror(rc));
  if (!r->cfg.reset) {
    fit_weights w;
    rc = fit_weights_load(st, job->model_id, 0, &w, &err);
    r->m = w.model; /* r owns it now */
    w.model = NULL;
    fit_weights_clear(&w);
    if (rc == 0) return 0;
    if (rc != -API_CONFLICT) return fail(r, "%s", err.message); /* conflict: never trained */
  }
  if (nn_model_new(&r->spec, &r->m, &ne) != NN_OK)
    return fail(r, "cannot create the model: %s", ne.message);
  return 0;
}

static int prepare(store *st, const store_job *job, run *r) {
  if (load_specs(st, job, r) != 0 || load_data(st, job, r) != 0 || load_model(st, job, r) != 0)
    return -1;
  nn_error ne;
  const nn_train_state *resume = r->resume.state != NULL ? &r->resume : NULL;
  /* every epoch's metrics row carries its per-layer (per-node)
   * diagnostics (not gathered across ranks) */
  r->cfg.config.diagnostics = r->cfg.ranks == 1;
  if (nn_trainer_new(r->m, &r->data.d, &r->cfg.config, resume, &r->t, &ne) != NN_OK ||
      (r->cfg.validation_dataset != 0 &&
       nn_trainer_set_validation(r->t, &r->val.d, &ne) != NN_OK))
    return fail(r, "%s%s%s", ne.field, ne.field[0] ? ": " : "", ne.message);
  return 0;
}

/* The job succeeded: evaluate its test_dataset with the weights it published
 * last (the newest, when a resumed run had no epoch left to publish), once. */
static int test_evaluation(store *st, const store_job *job, run *r) {
  store_evaluation e;
  fit_weights w = {0};
  api_error err;
  int rc = store_evaluation_of_job(st, job->id, &e); /* made before a crash */
  store_evaluation_clear(&e);
  if (rc == STORE_OK) return 0;
  if (rc != STORE_ENOTFOUND)
    return fail(r, "cannot read its test evaluation: %s", store_strerror(rc));
  rc = fit_weights_load(st, job->model_id, r->version, &w, &err);
  if (rc == 0)
    rc = evaluation_run(st, job->model_id, r->cfg.test_dataset, &w, job->id, "test_dataset", &e,
                        &err);
  store_evaluation_clear(&e);
  fit_weights_clear(&w);
  return rc == 0 ? 0 : fail(r, "test_dataset: %s", err.message);
}

/* Whether a worker waiting for disk space should give up (under owner->lock). */
static bool giving_up(worker *w, bool cancellable) {
  return atomic_load(&w->owner->stopping) || (cancellable && atomic_load(&w->cancel));
}

/*
 * The disk holding the database is full: sleep before the write is tried
 * again, *delay_ms (0 at first) growing from RETRY_MIN_MS to RETRY_MAX_MS.
 * A stop, or a cancel when cancellable, ends the wait early.
 * @return 0 to try again, or -1 to give up
 */
static int wait_for_space(worker *w, unsigned *delay_ms, bool cancellable) {
  jobs *j = w->owner;
  unsigned next = *delay_ms == 0 ? RETRY_MIN_MS : 2 * *delay_ms;
  *delay_ms = next < RETRY_MAX_MS ? next : RETRY_MAX_MS;
  uv_mutex_lock(&j->lock);
  /* Checked under the lock that jobs_stop and jobs_cancel signal under. */
  if (!giving_up(w, cancellable))
    uv_cond_timedwait(&j->retry, &j->lock, (uint64_t)*delay_ms * 1000000u);
  int rc = giving_up(w, cancellable) ? -1 : 0;
  uv_mutex_unlock(&j->lock);
  return rc;
}


/* This job's even share of the compute threads now. */
static int fair_share(const jobs *j) {
  int running = atomic_load_explicit(&j->training, memory_order_relaxed);
  int share = running > 1 ? j->threads / running : j->threads;
  return share < 1 ? 1 : share;
}

/* Follow the share as jobs start and end; a failure to add threads keeps the
 * old ones (nn_trainer_set_threads), which only costs speed. */
static void follow_share(worker *w) {
  int share = fair_share(w->owner);
  if (share != w->share && nn_trainer_set_threads(w->t, share) == NN_OK) w->share = share;
  if (w->share > w->epoch_threads) w->epoch_threads = w->share;
}

/* Per batch: adjust the threads, then stop if cancelled or stopping. */
static int between_batches(void *ud, int epoch, size_t batch, size_t n_batches) {
  worker *w = ud;
  (void)epoch, (void)batch, (void)n_batches;
  follow_share(w);
  return atomic_load_explicit(&w->cancel, memory_order_relaxed) ||
         atomic_load_explicit(&w->owner->stopping, memory_order_relaxed);
}

/* The epoch's diagnostics as JSON text for its metrics row, or NULL when
 * out of memory: they are worth a warning, not the job. */
static char *layers_text(const store_job *job, const run *r) {
  nn_layer_diag diag[NN_DIAG_SLOTS];
  char *text = NULL;
  if (nn_trainer_diagnostics(r->t, diag) == NN_OK) {
    cJSON *layers = json_out_layers(nn_model_spec(r->m), diag);
    text = layers != NULL ? cJSON_PrintUnformatted(layers) : NULL;
    cJSON_Delete(layers);
  }
  if (text == NULL)
    log_write(LOG_WARN, "job %lld: out of memory for the diagnostics of epoch %d",
              (long long)job->id, nn_trainer_epochs_done(r->t));
  return text;
}

/* Commit one epoch; with a checkpoint, publish the new weights too. */
static int commit_epoch(worker *w, store *st, const store_job *job, run *r,
                        const nn_epoch_metrics *em) {
  int every = r->cfg.checkpoint_every;
  int checkpoint = em->epoch % every == 0 || nn_trainer_done(r->t);
  uint8_t *ckpt = NULL, *weights = NULL;
  size_t ckpt_len = 0, weights_len = 0;
  int64_t version = 0;
  int rc = -1;
  char *layers = layers_text(job, r);
  if (checkpoint && (nn_checkpoint_save(r->m, r->t, &ckpt, &ckpt_len) != NN_OK ||
                     nn_checkpoint_save(r->m, NULL, &weights, &weights_len) != NN_OK)) {
    fail(r, "out of memory writing the checkpoint of epoch %d", em->epoch);
    goto out;
  }
  store_epoch e = {
      .job_id = job->id,
      .metric = {em->epoch, em->loss, em->val_loss, em->accuracy, em->val_accuracy, em->lr,
                 em->seconds, layers, w->epoch_threads},
      .samples_per_second = em->seconds > 0 ? (double)em->samples / em->seconds : NAN,
      .checkpoint = ckpt,
      .checkpoint_len = ckpt_len,
      .weights = weights,
      .weights_len = weights_len,
      .classes = r->data.meta.classes,
      .encoding = r->data.encoding,
      .encoding_len = r->data.encoding_len,
      .versions_kept = w->owner->versions_kept,
  };
  int src;
  unsigned delay = 0;
  while ((src = store_job_epoch_commit(st, &e, &version)) == STORE_EFULL) {
    if (delay == 0)
      log_write(LOG_WARN, "job %lld: %s; epoch %d waits to be recorded, retrying",
                (long long)job->id, store_strerror(src), em->epoch);
    if (wait_for_space(w, &delay, true) != 0) {
      r->stopped = r->uncommitted = true;
      goto out;
    }
  }
  if (src != STORE_OK) {
    fail(r, "cannot record epoch %d: %s", em->epoch, store_strerror(src));
    goto out;
  }
  if (delay != 0)
    log_write(LOG_INFO, "job %lld: epoch %d recorded, the disk has room again", (long long)job->id,
              em->epoch);
  prometheus_epoch(em->samples);
  nn_weights *snap;
  if (checkpoint) r->version = version;
  if (checkpoint && nn_weights_new(r->m, &snap) == NN_OK)
    predict_cache_publish(w->owner->cache, job->model_id, version, snap, r->data.meta.classes,
                          r->data.encoding, r->data.encoding_len);
  rc = 0;
out:
  free(ckpt);
  free(weights);
  free(layers);
  return rc;
}

/* The daemon is stopping: checkpoint the job where it paused (mid-epoch)
 * and queue it again, to resume there at the next start. A trainer past an
 * epoch the full disk kept from being recorded resumes from the last stored
 * checkpoint instead, so no epoch's metrics go missing. One try: a disk
 * still full leaves the job running in the store, and the next start
 * recovers it as after a crash. */
static int pause_job(store *st, const store_job *job, run *r) {
  uint8_t *ckpt = NULL;
  size_t len = 0;
  if (!r->uncommitted && nn_checkpoint_save(r->m, r->t, &ckpt, &len) != NN_OK)
    log_write(LOG_WARN, "job %lld: out of memory for its pause checkpoint; it resumes from "
              "its last one", (long long)job->id);
  int rc = store_job_pause(st, job->id, nn_trainer_epochs_done(r->t), ckpt, len);
  free(ckpt);
  return rc;
}

static int wait_for_space_cancellable(void *ud, unsigned *delay_ms) {
  return wait_for_space(ud, delay_ms, true);
}

/* A data-parallel job: its ranks train it from where r->m and r->t stand
 * (mpi_job.c); *recorded says whether its end is in the store already. */
static int train_ranks(worker *w, store *st, const store_job *job, run *r, bool *recorded) {
  jobs *j = w->owner;
  uint8_t *start;
  size_t len;
  if (!j->has_mpi) return fail(r, "ranks %d needs a daemon started with --mpi", r->cfg.ranks);
  if (nn_checkpoint_save(r->m, r->resume.state != NULL ? r->t : NULL, &start, &len) != NN_OK)
    return fail(r, "out of memory for the starting checkpoint");
  mpi_job mj = {st, job, &r->cfg, &r->data, start, len, j->cache, j->versions_kept,
                &w->cancel, &j->stopping, wait_for_space_cancellable, w};
  mpi_job_end end = mpi_job_run(&j->mpi, &mj, r->error, sizeof r->error);
  free(start);
  *recorded = end == MPI_JOB_PAUSED || end == MPI_JOB_REQUEUED;
  r->stopped = end != MPI_JOB_SUCCEEDED && end != MPI_JOB_FAILED;
  r->uncommitted = end == MPI_JOB_UNRECORDED;
  return end == MPI_JOB_FAILED ? -1 : 0;
}

/* Record a job's end, waiting for disk space when the disk is full (the
 * end is owed even to a cancelled job) unless the daemon stops meanwhile. */
static int finish_job(worker *w, store *st, const store_job *job, store_job_state end,
                      const char *error) {
  unsigned delay = 0;
  int rc;
  while ((rc = store_job_finish(st, job->id, end, error)) == STORE_EFULL) {
    if (delay == 0)
      log_write(LOG_WARN, "job %lld: %s; its end waits to be recorded, retrying",
                (long long)job->id, store_strerror(rc));
    if (wait_for_space(w, &delay, false) != 0) break;
  }
  return rc;
}

/* Train a claimed job to its end, or until cancelled or stopped. */
static void run_job(worker *w, store *st, const store_job *job) {
  run r;
  memset(&r, 0, sizeof r);
  store_job_state end = STORE_JOB_FAILED;
  int rc = budget_refuses(&w->owner->memory, job, r.error, sizeof r.error) ? -1
                                                                            : prepare(st, job, &r);
  log_write(LOG_INFO, "job %lld running (model %lld, dataset %lld, from epoch %d)",
            (long long)job->id, (long long)job->model_id, (long long)job->dataset_id,
            r.t != NULL ? nn_trainer_epochs_done(r.t) : 0);
  if (rc == 0) {
    atomic_fetch_add(&w->owner->training, 1);
    w->t = r.t;
    w->share = w->epoch_threads = 1;
    follow_share(w);
  }
  bool ranks = rc == 0 && r.cfg.ranks > 1, recorded = false;
  if (ranks) rc = train_ranks(w, st, job, &r, &recorded);
  while (!ranks && rc == 0 && !nn_trainer_done(r.t)) {
    nn_epoch_metrics em;
    int nrc = nn_trainer_epoch(r.t, between_batches, w, &em);
    if (nrc == NN_ESTOPPED) {
      r.stopped = true;
      break;
    }
    if (nrc != NN_OK) {
      rc = fail(&r, "training diverged at epoch %d: the loss is not finite",
                nn_trainer_epochs_done(r.t) + 1);
      break;
    }
    rc = commit_epoch(w, st, job, &r, &em);
    w->epoch_threads = w->share;
  }
  if (w->t != NULL) {
    atomic_fetch_sub(&w->owner->training, 1);
    w->t = NULL;
  }
  if (!r.stopped && rc == 0 && r.cfg.test_dataset != 0) rc = test_evaluation(st, job, &r);
  if (r.stopped)
    end = atomic_load(&w->cancel) ? STORE_JOB_CANCELLED : STORE_JOB_QUEUED;
  else if (rc == 0)
    end = STORE_JOB_SUCCEEDED;
  int src = recorded                  ? STORE_OK
            : end == STORE_JOB_QUEUED ? pause_job(st, job, &r)
                : finish_job(w, st, job, end, end == STORE_JOB_FAILED ? r.error : NULL);
  if (end == STORE_JOB_FAILED)
    log_write(LOG_WARN, "job %lld failed: %s", (long long)job->id, r.error);
  if (src != STORE_OK)
    log_write(LOG_ERROR, "job %lld: cannot record its end: %s (a job left running is "
              "recovered at the next start)", (long long)job->id, store_strerror(src));
  else if (end != STORE_JOB_FAILED)
    log_write(LOG_INFO, "job %lld %s", (long long)job->id,
              end == STORE_JOB_QUEUED ? "paused (queued to resume at the next start)"
                                      : store_job_state_name(end));
  run_clear(&r);
}

/* Register the job as this worker's, then honour a cancel that arrived
 * between the claim and the registration (jobs_cancel found no worker). */
static void start_job(worker *w, store *st, const store_job *job) {
  jobs *j = w->owner;
  uv_mutex_lock(&j->lock);
  w->job_id = job->id;
  atomic_store(&w->cancel, 0);
  uv_mutex_unlock(&j->lock);
  store_job now = {0};
  if (store_job_get(st, job->id, &now) == STORE_OK && now.cancel_requested)
    atomic_store(&w->cancel, 1);
  store_job_clear(&now);
  run_job(w, st, job);
  uv_mutex_lock(&j->lock);
  w->job_id = 0;
  uv_mutex_unlock(&j->lock);
  /* its memory is free (run_job freed all): a job waiting for room may fit */
  budget_release(&j->memory, job);
  jobs_notify(j);
}

static void worker_main(void *arg) {
  worker *w = arg;
  jobs *j = w->owner;
  store *st = NULL;
  if (store_open(j->db_path, &st) != STORE_OK) {
    log_write(LOG_ERROR, "worker cannot open the database %s", j->db_path);
    return;
  }
  store_on_event(st, notify_store_hook, j->events);
  store_keep_events(st, j->events_kept);
  unsigned delay = 0; /* waiting for disk space to claim a job */
  while (!atomic_load(&j->stopping)) {
    store_job job = {0};
    int rc = budget_claim(&j->memory, st, &job);
    if (rc == STORE_EFULL) {
      if (delay == 0) log_write(LOG_WARN, "cannot claim a job: %s; retrying", store_strerror(rc));
      wait_for_space(w, &delay, false);
      continue;
    }
    delay = 0;
    if (rc == STORE_OK) {
      start_job(w, st, &job);
      store_job_clear(&job);
      continue; /* the queue may hold more: claim again before sleeping */
    }
    if (rc != STORE_ENOTFOUND)
      log_write(LOG_ERROR, "cannot claim a job: %s", store_strerror(rc));
    /* no job waits: a batch prediction may (prediction_run.h) */
    if (rc == STORE_ENOTFOUND && prediction_run_next(st, &j->stopping) > 0) continue;
    uv_mutex_lock(&j->lock);
    while (j->pending == 0 && !atomic_load(&j->stopping)) uv_cond_wait(&j->wake, &j->lock);
    if (j->pending > 0) j->pending--;
    uv_mutex_unlock(&j->lock);
  }
  store_close(st);
}

int jobs_start(const jobs_config *c, predict_cache *cache, notifier *events, jobs **out) {
  const char *db_path = c->db_path;
  int workers = c->workers;
  store *st = NULL;
  int requeued = 0, failed = 0, cancelled = 0;
  int rc = store_open(db_path, &st);
  if (rc != STORE_OK)
    log_write(LOG_ERROR, "cannot open the database %s: %s", db_path, store_strerror(rc));
  else if ((rc = store_jobs_recover(st, &requeued, &failed, &cancelled)) != STORE_OK)
    log_write(LOG_ERROR, "cannot recover interrupted jobs in %s: %s", db_path,
              store_strerror(rc));
  else
    rc = prediction_run_recover(st);
  store_close(st);
  if (rc != STORE_OK) {
    return -1;
  }
  /* BLAS runs single-threaded inside our own tiles (core/gemm.c): one pool
   * per job, sized by its share, instead of OpenBLAS's threads competing
   * with the workers' for the same cores. */
  openblas_set_num_threads(1);
  if (requeued + failed + cancelled > 0)
    log_write(LOG_INFO, "recovered interrupted jobs: %d requeued, %d failed, %d cancelled",
              requeued, failed, cancelled);
  jobs *j = calloc(1, sizeof *j);
  if (j == NULL) return -1;
  snprintf(j->db_path, sizeof j->db_path, "%s", db_path);
  j->cache = cache;
  j->threads = c->threads;
  j->versions_kept = c->versions_kept;
  j->events_kept = c->events_kept;
  j->events = events;
  j->has_mpi = c->mpi != NULL;
  if (j->has_mpi) j->mpi = *c->mpi;
  j->workers = calloc((size_t)workers, sizeof *j->workers);
  if (j->workers == NULL || uv_mutex_init(&j->lock) != 0) goto fail_lock;
  if (uv_cond_init(&j->wake) != 0) goto fail_wake;
  if (uv_cond_init(&j->retry) != 0) goto fail_retry;
  if (budget_init(&j->memory, c->memory_budget) != 0) goto fail_budget;
  for (int i = 0; i < workers; i++) {
    j->workers[i].owner = j;
    if (uv_thread_create(&j->workers[i].thread, worker_main, &j->workers[i]) != 0) {
      log_write(LOG_ERROR, "cannot start worker thread %d", i);
      break;
    }
    j->n_workers++;
  }
  if (j->n_workers == 0) {
    jobs_stop(j); /* everything is initialised: the one full teardown */
    return -1;
  }
  *out = j;
  return 0;

fail_budget:
  uv_cond_destroy(&j->retry);
fail_retry:
  uv_cond_destroy(&j->wake);
fail_wake:
  uv_mutex_destroy(&j->lock);
fail_lock:
  free(j->workers);
  free(j);
  return -1;
}

void jobs_notify(jobs *j) {
  uv_mutex_lock(&j->lock);
  j->pending++;
  uv_cond_signal(&j->wake);
  uv_mutex_unlock(&j->lock);
}

void jobs_cancel(jobs *j, int64_t job_id) {
  uv_mutex_lock(&j->lock);
  for (int i = 0; i < j->n_workers; i++)
    if (j->workers[i].job_id == job_id) atomic_store(&j->workers[i].cancel, 1);
  uv_cond_broadcast(&j->retry);
  uv_mutex_unlock(&j->lock);
}

void jobs_stop(jobs *j) {
  if (j == NULL) return;
  uv_mutex_lock(&j->lock);
  atomic_store(&j->stopping, 1);
  uv_cond_broadcast(&j->wake);
  uv_cond_broadcast(&j->retry);
  uv_mutex_unlock(&j->lock);
  for (int i = 0; i < j->n_workers; i++) uv_thread_join(&j->workers[i].thread);
  budget_destroy(&j->memory);
  uv_cond_destroy(&j->retry);
  uv_cond_destroy(&j->wake);
  uv_mutex_destroy(&j->lock);
  free(j->workers);
  free(j);
}
