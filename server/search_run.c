/*
 * search_run.c — the searches' scheduler thread (search_run.h).
 *
 * State lives in the store only: a pass reads a search's config, trials and
 * rungs, compares them with its jobs and writes what changed, so a crash at
 * any point leaves rows the next pass (or the next daemon) continues from.
 * The writes are ordered for that: a trial's model, then its trial row; a
 * rung's job, then its rung row. A crash between the two of a pair leaves an
 * orphan the next pass adopts rather than duplicates: the model is found by
 * its name (search-<id>-trial-<k>), and a rung's job is the model's one job
 * once it is queued for (or extended to) that rung's epochs.
 *
 * Costs: a pass reads each running search's rows and one job per running
 * rung; the config is parsed again each pass (a few kilobytes). ASHA's replay
 * calls asha_next once per replayed step, each O(rows^2): nothing for tens
 * of trials, tens of milliseconds a pass for a few hundred. A search ranked
 * by an evaluation's metric evaluates each finished rung's weights here, on
 * this thread (search_metric.h): one pass of the validation rows each.
 */
#include "search_run.h"

#include <math.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
#include "notify.h"
#include "search_config.h"
#include "search_end.h"
#include "store_searches.h"

#define PASS_MS 250

struct search_run {
  char db_path[1024];
  jobs *jobs;
  notifier *events;    /* told of the search events this thread commits */
  int64_t events_kept; /* the event log's retention (store_keep_events) */
  size_t memory_budget; /* what each trial's job must fit */
  uv_thread_t thread;
  uv_mutex_t lock;
  uv_cond_t wake;
  int pending;  /* guarded by lock */
  int stopping; /* guarded by lock */
};

/* One pass over one search. */
typedef struct {
  search_run *r;
  store *st;
  const store_search *s;
  search_config c;
  int rung_epochs[ASHA_MAX_RUNGS];
  int n_rungs;
  store_search_trial *trials;
  size_t n_trials;
  store_search_rung *rungs;
  size_t n_rungs_rows;
} pass;

static void trial_name(char *buf, size_t cap, int64_t search, int64_t trial) {
  snprintf(buf, cap, "search-%lld-trial-%lld", (long long)search, (long long)trial);
}

/* The trial row of index k, or NULL. */
static const store_search_trial *find_trial(const pass *p, int64_t k) {
  for (size_t i = 0; i < p->n_trials; i++)
    if (p->trials[i].trial == k) return &p->trials[i];
  return NULL;
}

static int has_rung(const pass *p, int64_t trial, int64_t rung) {
  for (size_t i = 0; i < p->n_rungs_rows; i++)
    if (p->rungs[i].trial == trial && p->rungs[i].rung == rung) return 1;
  return 0;
}

/* Trial t's one job: rung 0 queues it, each promotion extends it to the
 * next rung's epochs (store_job_extend), so it resumes from its checkpoint
 * exactly as if it had never stopped. A crash between the job's write and
 * the rung row's leaves a job this adopts: the model's first job, already
 * queued for (or extended to) the rung's epochs. */
static int start_rung(pass *p, const store_search_trial *t, int rung) {
  store_job *list = NULL;
  size_t n = 0;
  int64_t job_id = 0;
  int epochs = p->rung_epochs[rung];
  int rc = store_job_list(p->st, -1, t->model_id, &list, &n);
  if (rc != STORE_OK) return rc;
  if (n > 0 && list[0].epochs >= epochs) job_id = list[0].id; /* a crash's orphan */
  int64_t extend = n > 0 && job_id == 0 ? list[0].id : 0;
  store_job_list_free(list, n);
  if (job_id == 0) {
    char name[64], *spec = NULL, *job = NULL;
    int64_t parameters;
    api_error err;
    cJSON *params = cJSON_Parse(t->params);
    trial_name(name, sizeof name, p->s->id, t->trial);
    int64_t memory = 0;
    store_dataset meta = {0};
    store_job row = {0};
    rc = store_dataset_get(p->st, p->c.dataset, &meta);
    if (rc == STORE_OK) {
      /* creation checked every trial: only memory can fail here */
      if (!params || search_config_trial(&p->c, params, name, t->model_id, epochs, &meta,
                                         p->r->memory_budget, &spec, &parameters, &job, &memory,
                                         &err) != 0)
        rc = STORE_ENOMEM;
      else if (extend)
        rc = store_job_extend(p->st, extend, epochs, job, &row);
      else if (rung == 0)
        rc = store_job_insert(p->st, t->model_id, p->c.dataset, job, epochs, memory, &row);
      else
        rc = STORE_ENOTFOUND; /* promoted, yet its job is gone */
    }
    job_id = row.id;
    store_dataset_clear(&meta);
    store_job_clear(&row);
    cJSON_Delete(params);
    free(spec);
    free(job);
    /* its model, job or dataset was deleted, or its job did not succeed: the
     * trial fails */
    if (rc == STORE_ENOTFOUND || rc == STORE_ECONFLICT) {
      store_search_rung failed = {.trial = t->trial, .rung = rung, .job_id = extend,
                                  .state = STORE_RUNG_FAILED, .metric = NAN};
      return store_search_rung_put(p->st, p->s->id, &failed, STORE_SEARCH_TRIAL_FAILED);
    }
    if (rc != STORE_OK) return rc;
    jobs_notify(p->r->jobs);
  }
  store_search_rung row = {.trial = t->trial, .rung = rung, .job_id = job_id,
                           .state = STORE_RUNG_RUNNING, .metric = NAN};
  return store_search_rung_put(p->st, p->s->id, &row,
                               rung == 0 ? STORE_SEARCH_TRIAL_STARTED : STORE_SEARCH_TRIAL_PROMOTED);
}

/* Start trial k: its model (or the one a crash left), its row, its rung 0. */
static int start_trial(pass *p, int64_t k) {
  const store_search_trial *t = find_trial(p, k);
  if (t) return start_rung(p, t, 0);
  char name[64], *spec = NULL, *job = NULL;
  int64_t parameters = 0;
  api_error err;
  store_model m = {0};
  store_search_trial row = {.trial = k};
  cJSON *params = search_config_params(&p->c, k);
  row.params = params ? cJSON_PrintUnformatted(params) : NULL;
  trial_name(name, sizeof name, p->s->id, k);
  /* the spec only: the job text (for a model id and epochs not known yet) is
   * dropped, and no budget applies (creation checked it) */
  int64_t memory;
  store_dataset meta = {0};
  int rc = row.params && store_dataset_get(p->st, p->c.dataset, &meta) == STORE_OK
               ? search_config_trial(&p->c, params, name, 1, 1, &meta, SIZE_MAX, &spec,
                                     &parameters, &job, &memory, &err)
               : -API_INTERNAL;
  store_dataset_clear(&meta);
  if (rc != 0) {
    rc = STORE_ENOMEM;
    goto out;
  }
  rc = store_model_find(p->st, name, &m);
  if (rc == STORE_ENOTFOUND) rc = store_model_insert(p->st, name, spec, parameters, &m);
  if (rc != STORE_OK) goto out;
  row.model_id = m.id;
  rc = store_search_trial_insert(p->st, p->s->id, &row);
  if (rc == STORE_OK) rc = start_rung(p, &row, 0);
out:
  store_model_clear(&m);
  cJSON_Delete(params);
  free(row.params);
  free(spec);
  free(job);
  return rc;
}

/* The evaluation metric of rung g's weights on the validation dataset: NAN
 * in *m when the trial cannot be measured (the rung fails), STORE_EBUSY
 * when it is worth trying again (a busy or full store, out of memory), so
 * that no passing trouble changes a trial's result. */
static int measure(pass *p, const store_search_rung *g, double *m) {
  const store_search_trial *t = find_trial(p, g->trial);
  api_error err;
  int rc = t ? search_metric_measure(p->st, p->c.metric, p->c.validation_dataset, t->model_id,
                                     g->job_id, m, &err)
             : api_fail(&err, API_NOT_FOUND, "trial", "no row of trial %lld", (long long)g->trial);
  if (rc == -API_NOT_FOUND || rc == -API_UNPROCESSABLE || rc == -API_CONFLICT) {
    log_write(LOG_WARN, "search %lld: trial %lld cannot be measured at rung %lld: %s",
              (long long)p->s->id, (long long)g->trial, (long long)g->rung, err.message);
    *m = NAN;
    return STORE_OK;
  }
  if (rc != 0)
    log_write(LOG_WARN, "search %lld: trial %lld at rung %lld: %s; measured again next pass",
              (long long)p->s->id, (long long)g->trial, (long long)g->rung, err.message);
  return rc == 0 ? STORE_OK : STORE_EBUSY;
}

/* A running rung whose job ended: done with its metric, or failed. */
static int settle(pass *p, store_search_rung *g, int *active) {
  store_job j = {0};
  int rc = store_job_get(p->st, g->job_id, &j);
  if (rc == STORE_ENOTFOUND) {
    g->state = STORE_RUNG_FAILED;
  } else if (rc != STORE_OK) {
    return rc;
  } else if (j.state == STORE_JOB_QUEUED || j.state == STORE_JOB_RUNNING) {
    store_job_clear(&j);
    if (p->s->state == STORE_SEARCH_CANCELLED) {
      rc = store_job_request_cancel(p->st, g->job_id, &j);
      if (rc == STORE_OK && j.state == STORE_JOB_RUNNING) jobs_cancel(p->r->jobs, g->job_id);
      store_job_clear(&j);
    }
    (*active)++;
    return STORE_OK;
  } else {
    double m = search_metric_of_job(p->c.metric, &j);
    if (j.state == STORE_JOB_SUCCEEDED && search_metric_evaluated(p->c.metric)) {
      rc = measure(p, g, &m);
      if (rc != STORE_OK) {
        store_job_clear(&j);
        return rc; /* tried again at the next pass */
      }
    }
    g->metric = m;
    g->state = j.state == STORE_JOB_SUCCEEDED && isfinite(m) ? STORE_RUNG_DONE : STORE_RUNG_FAILED;
  }
  store_job_clear(&j);
  store_search_event type = g->state == STORE_RUNG_FAILED      ? STORE_SEARCH_TRIAL_FAILED
                            : g->rung < p->n_rungs - 1 ? STORE_SEARCH_TRIAL_PAUSED
                                                       : STORE_SEARCH_TRIAL_DONE;
  return store_search_rung_put(p->st, p->s->id, g, type);
}

/* The row of (trial, rung), or NULL. */
static const store_search_rung *find_rung(const pass *p, int64_t trial, int64_t rung) {
  for (size_t i = 0; i < p->n_rungs_rows; i++)
    if (p->rungs[i].trial == trial && p->rungs[i].rung == rung) return &p->rungs[i];
  return NULL;
}

/*
 * The next step to start. ASHA's promotions replay the schedule of one job at
 * a time over the rows, step by step — the promotion asha_next finds among
 * the steps replayed so far, else the next new trial — so they do not depend
 * on max_concurrent nor on which job ended first. The replay stops at the
 * first step whose row has not finished: a promotion without a row is
 * started; otherwise the room left goes to the first trials without rung 0
 * (every trial trains rung 0, whatever the promotions), which is also all a
 * grid or random search does.
 * @return 1 with *trial and *rung set (rung 0: a new trial), or 0 */
static int next_step(pass *p, int64_t *trial, int *rung) {
  if (p->c.method == SEARCH_ASHA) {
    asha_row *replay = calloc(p->n_rungs_rows + 1, sizeof *replay);
    size_t n = 0; /* each replayed step is a distinct finished row: n <= n_rungs_rows */
    int64_t next_new = 0;
    int promote = 0;
    if (!replay) return 0;
    for (;;) {
      int t, k;
      int64_t step_trial;
      int step_rung;
      if (asha_next(&p->c.asha, replay, n, &t, &k)) {
        step_trial = t;
        step_rung = k + 1;
      } else if (next_new < p->c.trials) {
        step_trial = next_new++;
        step_rung = 0;
      } else {
        break; /* replayed to the end */
      }
      const store_search_rung *g = find_rung(p, step_trial, step_rung);
      if (g == NULL || g->state == STORE_RUNG_RUNNING) {
        promote = g == NULL && step_rung > 0;
        *trial = step_trial;
        *rung = step_rung;
        break;
      }
      replay[n++] = (asha_row){.trial = (int)g->trial, .rung = (int)g->rung,
                               .state = (asha_state)g->state, .metric = g->metric};
    }
    free(replay);
    if (promote) return 1;
  }
  for (int64_t k = 0; k < p->c.trials; k++)
    if (!has_rung(p, k, 0)) {
      *trial = k;
      *rung = 0;
      return 1;
    }
  return 0;
}

static int reload(pass *p) {
  store_search_trials_free(p->trials, p->n_trials);
  free(p->rungs);
  p->trials = NULL;
  p->rungs = NULL;
  int rc = store_search_trials(p->st, p->s->id, &p->trials, &p->n_trials);
  if (rc == STORE_OK) rc = store_search_rungs(p->st, p->s->id, &p->rungs, &p->n_rungs_rows);
  return rc;
}

/* A cancelled search has nothing left to do once none of its rungs runs. */
static bool settled(const pass *p) {
  for (size_t i = 0; i < p->n_rungs_rows; i++)
    if (p->rungs[i].state == STORE_RUNG_RUNNING) return false;
  return p->s->state == STORE_SEARCH_CANCELLED;
}

static int drive(search_run *r, store *st, const store_search *s) {
  pass p = {.r = r, .st = st, .s = s};
  api_error err;
  int rc = reload(&p);
  if (rc != STORE_OK || settled(&p)) goto out;
  cJSON *root = cJSON_Parse(s->config);
  rc = root ? search_config_parse(NULL, 0, root, &p.c, &err) : -API_INTERNAL;
  cJSON_Delete(root);
  if (rc != 0) {
    log_write(LOG_ERROR, "search %lld: its stored config does not parse", (long long)s->id);
    rc = STORE_EIO;
    goto out;
  }
  if (p.c.method == SEARCH_ASHA) {
    p.n_rungs = asha_rungs(&p.c.asha, p.rung_epochs);
  } else {
    p.n_rungs = 1;
    p.rung_epochs[0] = p.c.asha.max_epochs;
  }
  int active = 0;
  for (size_t i = 0; rc == STORE_OK && i < p.n_rungs_rows; i++)
    if (p.rungs[i].state == STORE_RUNG_RUNNING) rc = settle(&p, &p.rungs[i], &active);
  while (rc == STORE_OK && s->state == STORE_SEARCH_RUNNING && active < p.c.max_concurrent) {
    int64_t trial;
    int rung;
    if (!next_step(&p, &trial, &rung)) break;
    if (rung == 0) {
      rc = start_trial(&p, trial);
    } else {
      const store_search_trial *t = find_trial(&p, trial);
      rc = t ? start_rung(&p, t, rung) : STORE_EIO;
    }
    if (rc == STORE_OK) rc = reload(&p);
    active++;
  }
  if (rc == STORE_OK && active == 0 && s->state == STORE_SEARCH_RUNNING)
    rc = search_end(st, s, STORE_SEARCH_SUCCEEDED);
out:
  store_search_trials_free(p.trials, p.n_trials);
  free(p.rungs);
  search_config_clear(&p.c);
  return rc;
}

static void drive_all(search_run *r, store *st) {
  store_search *list = NULL;
  size_t n = 0;
  if (store_search_list_active(st, &list, &n) != STORE_OK) return;
  for (size_t i = 0; i < n; i++) {
    int rc = drive(r, st, &list[i]);
    if (rc != STORE_OK)
      log_write(LOG_WARN, "search %lld: %s", (long long)list[i].id, store_strerror(rc));
  }
  store_search_list_free(list, n);
}

static void run(void *arg) {
  search_run *r = arg;
  store *st = NULL;
  uv_mutex_lock(&r->lock);
  while (!r->stopping) {
    uv_mutex_unlock(&r->lock);
    if (st == NULL && store_open(r->db_path, &st) != STORE_OK) st = NULL;
    if (st != NULL && r->events != NULL) store_on_event(st, notify_store_hook, r->events);
    if (st != NULL) store_keep_events(st, r->events_kept);
    if (st != NULL) drive_all(r, st);
    uv_mutex_lock(&r->lock);
    if (!r->pending && !r->stopping)
      (void)uv_cond_timedwait(&r->wake, &r->lock, (uint64_t)PASS_MS * 1000000u);
    r->pending = 0;
  }
  uv_mutex_unlock(&r->lock);
  store_close(st);
}

int search_run_start(const char *db_path, size_t memory_budget, jobs *j, notifier *events,
                     int64_t events_kept, search_run **out) {
  *out = NULL;
  search_run *r = calloc(1, sizeof *r);
  if (!r || strlen(db_path) >= sizeof r->db_path) {
    free(r);
    log_write(LOG_ERROR, "search scheduler: out of memory");
    return -1;
  }
  snprintf(r->db_path, sizeof r->db_path, "%s", db_path);
  r->jobs = j;
  r->events = events;
  r->events_kept = events_kept;
  r->memory_budget = memory_budget;
  if (uv_mutex_init(&r->lock) < 0) goto fail_mutex;
  if (uv_cond_init(&r->wake) < 0) goto fail_cond;
  if (uv_thread_create(&r->thread, run, r) < 0) goto fail_thread;
  *out = r;
  return 0;
fail_thread:
  uv_cond_destroy(&r->wake);
fail_cond:
  uv_mutex_destroy(&r->lock);
fail_mutex:
  free(r);
  log_write(LOG_ERROR, "search scheduler: cannot start its thread");
  return -1;
}

void search_run_notify(search_run *r) {
  uv_mutex_lock(&r->lock);
  r->pending = 1;
  uv_cond_signal(&r->wake);
  uv_mutex_unlock(&r->lock);
}

void search_run_stop(search_run *r) {
  if (r == NULL) return;
  uv_mutex_lock(&r->lock);
  r->stopping = 1;
  uv_cond_signal(&r->wake);
  uv_mutex_unlock(&r->lock);
  uv_thread_join(&r->thread);
  uv_cond_destroy(&r->wake);
  uv_mutex_destroy(&r->lock);
  free(r);
}
