/* store_jobs.c — jobs, their metrics and checkpoints in the store. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- jobs ---------------------------------------------------------------------------- */

void store_job_clear(store_job *j) {
  free(j->config);
  free(j->error);
  memset(j, 0, sizeof *j);
}

void store_job_list_free(store_job *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) store_job_clear(&list[i]);
  free(list);
}

void store__clear_job(void *row) { store_job_clear(row); }

int store__read_job(sqlite3_stmt *s, void *row) {
  store_job *j = row;
  memset(j, 0, sizeof *j);
  j->id = sqlite3_column_int64(s, 0);
  j->model_id = sqlite3_column_int64(s, 1);
  j->dataset_id = sqlite3_column_int64(s, 2);
  int status = store_job_state_parse((const char *)sqlite3_column_text(s, 3), &j->state);
  if (status != STORE_OK) return STORE_EIO; /* the schema's CHECK allows no other */
  j->epoch = sqlite3_column_int64(s, 5);
  j->epochs = sqlite3_column_int64(s, 6);
  j->loss = store__column_double(s, 7);
  j->val_loss = store__column_double(s, 8);
  j->accuracy = store__column_double(s, 9);
  j->val_accuracy = store__column_double(s, 10);
  j->samples_per_second = store__column_double(s, 11);
  j->restarts = sqlite3_column_int64(s, 12);
  j->cancel_requested = sqlite3_column_int(s, 13) != 0;
  store__column_time(s, 15, j->created_at);
  store__column_time(s, 16, j->started_at);
  store__column_time(s, 17, j->finished_at);
  j->memory = sqlite3_column_int64(s, 18); /* NULL: 0 */
  status = store__column_text(s, 4, &j->config);
  if (status == STORE_OK) status = store__column_text(s, 14, &j->error);
  if (status != STORE_OK) store_job_clear(j);
  return status;
}

/* Run a statement returning one job into out (or nowhere when out is NULL). */
static int run_job(sqlite3_stmt *s, store_job *out) {
  store_job tmp;
  store_job *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  int status = store__run_one(s, store__read_job, store__clear_job, row);
  if (out == NULL && status == STORE_OK) store_job_clear(&tmp);
  return status;
}

/* Log that a job entered state, with the epochs it had completed then. */
static int state_event(store *st, int64_t job_id, store_job_state state, int64_t epoch) {
  store_event e = {.job_id = job_id, .kind = STORE_EVENT_STATE, .state = state, .epoch = epoch};
  return store__event(st, &e);
}

/* Run s, a bound statement returning the job it moved to a new state, and
 * log that state, in one transaction.
 * @param out receives the job; may be NULL */
static int write_job(store *st, sqlite3_stmt *s, store_job *out) {
  store_job tmp;
  store_job *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) {
    store__done(s);
    return status;
  }
  status = run_job(s, row);
  if (status == STORE_OK) status = state_event(st, row->id, row->state, row->epoch);
  status = store__end(st, status);
  if (status != STORE_OK || out == NULL) store_job_clear(row);
  return status;
}

int store_job_insert(store *st, int64_t model_id, int64_t dataset_id, const char *config,
                     int64_t epochs, int64_t memory, store_job *out) {
  if (out) memset(out, 0, sizeof *out);
  if (config == NULL || epochs <= 0 || memory < 0) return STORE_EINVAL;
  char created[STORE_TIME_LEN];
  store__now(created);
  sqlite3_stmt *s = st->stmt[Q_JOB_INSERT];
  sqlite3_bind_int64(s, 1, model_id);
  sqlite3_bind_int64(s, 2, dataset_id);
  int rc = sqlite3_bind_text(s, 3, config, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, epochs);
  sqlite3_bind_text(s, 5, created, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, memory);
  if (rc != SQLITE_OK) {
    store__done(s);
    return store__status_of(rc);
  }
  return write_job(st, s, out);
}

int store_job_get(store *st, int64_t id, store_job *out) {
  sqlite3_bind_int64(st->stmt[Q_JOB_GET], 1, id);
  return run_job(st->stmt[Q_JOB_GET], out);
}

int store_job_list(store *st, int state, int64_t model_id, store_job **out, size_t *n) {
  static const enum query by_filter[2][2] = {{Q_JOB_LIST, Q_JOB_LIST_STATE},
                                             {Q_JOB_LIST_MODEL, Q_JOB_LIST_MODEL_STATE}};
  sqlite3_stmt *s = st->stmt[by_filter[model_id != 0][state != -1]];
  *out = NULL;
  *n = 0;
  if (state != -1 && store_job_state_name((store_job_state)state) == NULL) return STORE_EINVAL;
  if (state != -1) sqlite3_bind_text(s, 1, store__state_names[state], -1, SQLITE_STATIC);
  if (model_id != 0) sqlite3_bind_int64(s, 2, model_id);
  void *rows;
  int status = store__run_list(s, sizeof **out, store__read_job, store__clear_job, &rows, n);
  *out = rows;
  return status;
}

int store_job_count(store *st, int64_t counts[STORE_JOB_STATE_COUNT]) {
  for (int i = 0; i < STORE_JOB_STATE_COUNT; i++) counts[i] = 0;
  sqlite3_stmt *s = st->stmt[Q_JOB_COUNT];
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    store_job_state state;
    const char *name = (const char *)sqlite3_column_text(s, 0);
    if (name != NULL && store_job_state_parse(name, &state) == STORE_OK)
      counts[state] = sqlite3_column_int64(s, 1);
  }
  int status = rc == SQLITE_DONE ? STORE_OK : store__status_of_db(st->db, rc);
  store__done(s);
  return status;
}

int store_job_claim(store *st, int64_t room, int64_t budget, store_job *out) {
  char started[STORE_TIME_LEN];
  store__now(started);
  sqlite3_bind_text(st->stmt[Q_JOB_CLAIM], 1, started, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st->stmt[Q_JOB_CLAIM], 2, room);
  sqlite3_bind_int64(st->stmt[Q_JOB_CLAIM], 3, budget);
  return write_job(st, st->stmt[Q_JOB_CLAIM], out);
}

int store_job_request_cancel(store *st, int64_t id, store_job *out) {
  char finished[STORE_TIME_LEN];
  store_job before = {0}, tmp;
  store_job *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  store__now(finished);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  /* The state before, to log a change (only a queued job's). */
  sqlite3_bind_int64(st->stmt[Q_JOB_GET], 1, id);
  status = run_job(st->stmt[Q_JOB_GET], &before);
  if (status == STORE_OK) {
    sqlite3_stmt *s = st->stmt[Q_JOB_CANCEL];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, finished, -1, SQLITE_STATIC);
    status = run_job(s, row);
  }
  if (status == STORE_OK && row->state != before.state)
    status = state_event(st, id, row->state, row->epoch);
  status = store__end(st, status);
  store_job_clear(&before);
  if (status != STORE_OK || out == NULL) store_job_clear(row);
  return status;
}

int store_job_finish(store *st, int64_t id, store_job_state state, const char *error) {
  if (state != STORE_JOB_SUCCEEDED && state != STORE_JOB_FAILED && state != STORE_JOB_CANCELLED)
    return STORE_EINVAL;
  char finished[STORE_TIME_LEN];
  int64_t epoch = 0;
  store__now(finished);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  sqlite3_stmt *s = st->stmt[Q_JOB_FINISH];
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, store__state_names[state], -1, SQLITE_STATIC);
  int rc = sqlite3_bind_text(s, 3, error, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, finished, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    store__done(s);
    status = store__status_of(rc);
    goto exit;
  }
  status = store__run_one(s, store__read_int64, NULL, &epoch);
  if (status == STORE_ENOTFOUND) status = store__job_missing_or_conflict(st, id);
  if (status == STORE_OK) status = state_event(st, id, state, epoch);
exit:
  return store__end(st, status);
}


static int check_epoch(const store_epoch *e) {
  if (e->metric.epoch < 1) return STORE_EINVAL;
  if ((e->checkpoint == NULL) != (e->checkpoint_len == 0)) return STORE_EINVAL;
  if ((e->weights == NULL) != (e->weights_len == 0)) return STORE_EINVAL;
  if (e->weights != NULL && e->checkpoint == NULL) return STORE_EINVAL;
  if (e->versions_kept < 0) return STORE_EINVAL;
  return STORE_OK;
}

/* Store a job's checkpoint at epoch and keep the newest few. It is progress
 * a crash cannot take back, so the job's stalled restarts start over. */
static int save_checkpoint(store *st, int64_t job_id, int64_t epoch, const uint8_t *data,
                           size_t len) {
  char created[STORE_TIME_LEN];
  store__now(created);
  sqlite3_stmt *s = st->stmt[Q_CHECKPOINT_UPSERT];
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, epoch);
  sqlite3_bind_int64(s, 3, (int64_t)len);
  sqlite3_bind_text(s, 5, created, -1, SQLITE_STATIC);
  int rc = sqlite3_bind_blob64(s, 4, data, len, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    store__done(s);
    return store__status_of(rc);
  }
  int status = store__run(s);
  if (status != STORE_OK) return status;
  sqlite3_bind_int64(st->stmt[Q_JOB_CHECKPOINTED], 1, job_id);
  if ((status = store__run(st->stmt[Q_JOB_CHECKPOINTED])) != STORE_OK) return status;
  s = st->stmt[Q_CHECKPOINT_PRUNE];
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int(s, 2, STORE_CHECKPOINTS_KEPT);
  return store__run(s);
}

/* Log a checkpoint of job at epoch, with the model's weights version then. */
static int checkpoint_event(store *st, int64_t job_id, int64_t epoch, int64_t version,
                            size_t bytes) {
  store_event e = {.job_id = job_id, .kind = STORE_EVENT_CHECKPOINT, .epoch = epoch,
                   .version = version, .bytes = (int64_t)bytes};
  return store__event(st, &e);
}

/* Store a checkpoint, prune the old ones and publish the weights as the
 * model's next version, pruning old versions. */
static int publish(store *st, const store_epoch *e, int64_t model_id, int64_t *version) {
  int status = save_checkpoint(st, e->job_id, e->metric.epoch, e->checkpoint, e->checkpoint_len);
  if (status != STORE_OK) return status;
  sqlite3_stmt *s = st->stmt[Q_MODEL_PUBLISH];
  sqlite3_bind_int64(s, 1, model_id);
  sqlite3_bind_int64(s, 2, e->job_id);
  sqlite3_bind_text(s, 3, e->classes, -1, SQLITE_STATIC);
  if ((status = store__run_one(s, store__read_int64, NULL, version)) != STORE_OK) return status;

  char now[STORE_TIME_LEN];
  store__now(now);
  s = st->stmt[Q_VERSION_INSERT];
  sqlite3_bind_int64(s, 1, model_id);
  sqlite3_bind_int64(s, 2, *version);
  sqlite3_bind_int64(s, 3, e->job_id);
  sqlite3_bind_int64(s, 4, e->metric.epoch);
  sqlite3_bind_text(s, 6, e->classes, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 7, now, -1, SQLITE_STATIC);
  int rc = e->weights ? sqlite3_bind_blob64(s, 5, e->weights, e->weights_len, SQLITE_STATIC)
                      : sqlite3_bind_blob64(s, 5, e->checkpoint, e->checkpoint_len, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    store__done(s);
    return store__status_of(rc);
  }
  if ((status = store__run(s)) != STORE_OK) return status;
  s = st->stmt[Q_VERSION_PRUNE];
  sqlite3_bind_int64(s, 1, model_id);
  sqlite3_bind_int64(s, 2, *version);
  sqlite3_bind_int(s, 3, e->versions_kept > 0 ? e->versions_kept : STORE_VERSIONS_KEPT);
  return store__run(s);
}

int64_t store_metrics_stride(int64_t epoch) {
  int64_t stride = 1;
  while (epoch > stride * STORE_METRICS_DENSE) stride *= 2;
  return stride;
}

/* Keep a job's metrics at the stride of epoch, its newest row just written:
 * the row before goes unless it is on the stride, and when the stride has
 * just doubled, every row below that is not on it. Both deletes are ranges
 * of the primary key. */
static int thin_metrics(store *st, int64_t job_id, int64_t epoch) {
  int64_t stride = store_metrics_stride(epoch);
  if (stride == 1) return STORE_OK;
  sqlite3_stmt *s = st->stmt[Q_METRICS_THIN];
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, store_metrics_stride(epoch - 1) != stride ? 1 : epoch - 1);
  sqlite3_bind_int64(s, 3, epoch);
  sqlite3_bind_int64(s, 4, stride);
  return store__run(s);
}

int store_job_epoch_commit(store *st, const store_epoch *e, int64_t *version) {
  int64_t model_id = 0, v = 0;
  int status = check_epoch(e);
  if (status != STORE_OK) return status;
  if ((status = store__begin(st, Q_BEGIN_WRITE)) != STORE_OK) return status;

  sqlite3_stmt *s = st->stmt[Q_JOB_PROGRESS];
  sqlite3_bind_int64(s, 1, e->job_id);
  sqlite3_bind_int64(s, 2, e->metric.epoch);
  store__bind_double(s, 3, e->metric.loss);
  store__bind_double(s, 4, e->metric.val_loss);
  store__bind_double(s, 5, e->metric.accuracy);
  store__bind_double(s, 6, e->metric.val_accuracy);
  store__bind_double(s, 7, e->samples_per_second);
  status = store__run_one(s, store__read_int64, NULL, &model_id);
  if (status == STORE_ENOTFOUND) status = store__job_missing_or_conflict(st, e->job_id);
  if (status != STORE_OK) goto exit;

  s = st->stmt[Q_METRIC_UPSERT];
  sqlite3_bind_int64(s, 1, e->job_id);
  sqlite3_bind_int64(s, 2, e->metric.epoch);
  store__bind_double(s, 3, e->metric.loss);
  store__bind_double(s, 4, e->metric.val_loss);
  store__bind_double(s, 5, e->metric.accuracy);
  store__bind_double(s, 6, e->metric.val_accuracy);
  store__bind_double(s, 7, e->metric.lr);
  store__bind_double(s, 8, e->metric.seconds);
  if (e->metric.threads > 0) sqlite3_bind_int(s, 10, e->metric.threads);
  int rc = sqlite3_bind_text(s, 9, e->metric.layers, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    store__done(s);
    status = store__status_of(rc);
    goto exit;
  }
  if ((status = store__run(s)) != STORE_OK ||
      (status = thin_metrics(st, e->job_id, e->metric.epoch)) != STORE_OK)
    goto exit;
  store_event epoch = {.job_id = e->job_id, .kind = STORE_EVENT_EPOCH, .epoch = e->metric.epoch};
  if ((status = store__event(st, &epoch)) != STORE_OK) goto exit;

  if (e->checkpoint != NULL) {
    status = publish(st, e, model_id, &v);
    if (status == STORE_OK)
      status = checkpoint_event(st, e->job_id, e->metric.epoch, v, e->checkpoint_len);
  } else {
    sqlite3_bind_int64(st->stmt[Q_MODEL_VERSION], 1, model_id);
    status = store__run_one(st->stmt[Q_MODEL_VERSION], store__read_int64, NULL, &v);
  }

exit:
  status = store__end(st, status);
  if (status == STORE_OK && version != NULL) *version = v;
  return status;
}

int store_job_pause(store *st, int64_t id, int64_t epoch, const uint8_t *checkpoint,
                    size_t len) {
  if ((checkpoint == NULL) != (len == 0) || epoch < 0) return STORE_EINVAL;
  int64_t model_id = 0, version = 0;
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  sqlite3_stmt *s = st->stmt[Q_JOB_REQUEUE];
  sqlite3_bind_int64(s, 1, id);
  status = store__run_one(s, store__read_int64, NULL, &model_id);
  if (status == STORE_ENOTFOUND) status = store__job_missing_or_conflict(st, id);
  if (status == STORE_OK && checkpoint != NULL)
    status = save_checkpoint(st, id, epoch, checkpoint, len);
  if (status == STORE_OK && checkpoint != NULL) {
    sqlite3_bind_int64(st->stmt[Q_MODEL_VERSION], 1, model_id);
    status = store__run_one(st->stmt[Q_MODEL_VERSION], store__read_int64, NULL, &version);
  }
  if (status == STORE_OK && checkpoint != NULL)
    status = checkpoint_event(st, id, epoch, version, len);
  if (status == STORE_OK) status = state_event(st, id, STORE_JOB_QUEUED, epoch);
  return store__end(st, status);
}

int store_jobs_recover(store *st, int *requeued, int *failed, int *cancelled) {
  char at[STORE_TIME_LEN], why[192];
  int n_cancelled = 0, n_failed = 0, n_requeued = 0;
  store__now(at);
  snprintf(why, sizeof why,
           "the daemon stopped while running this job more than %d times in a row without "
           "a new checkpoint in between; not restarted again",
           STORE_MAX_RESTARTS);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;

  /* Each step logs the state events of the jobs it is about to change. */
  /* A cancel request outlives the crash: the job is not resumed. */
  if ((status = store__run(st->stmt[Q_RECOVER_CANCELLED_EVENTS])) != STORE_OK ||
      (status = store__events_inserted(st)) != STORE_OK)
    goto exit;
  sqlite3_bind_text(st->stmt[Q_RECOVER_CANCELLED], 1, at, -1, SQLITE_STATIC);
  if ((status = store__run(st->stmt[Q_RECOVER_CANCELLED])) != STORE_OK) goto exit;
  n_cancelled = sqlite3_changes(st->db);

  sqlite3_bind_int(st->stmt[Q_RECOVER_FAILED_EVENTS], 3, STORE_MAX_RESTARTS);
  if ((status = store__run(st->stmt[Q_RECOVER_FAILED_EVENTS])) != STORE_OK ||
      (status = store__events_inserted(st)) != STORE_OK)
    goto exit;
  sqlite3_stmt *s = st->stmt[Q_RECOVER_FAILED];
  sqlite3_bind_text(s, 1, at, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, why, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 3, STORE_MAX_RESTARTS);
  if ((status = store__run(s)) != STORE_OK) goto exit;
  n_failed = sqlite3_changes(st->db);

  if ((status = store__run(st->stmt[Q_RECOVER_REQUEUE_EVENTS])) != STORE_OK ||
      (status = store__events_inserted(st)) != STORE_OK)
    goto exit;
  if ((status = store__run(st->stmt[Q_RECOVER_REQUEUE])) != STORE_OK) goto exit;
  n_requeued = sqlite3_changes(st->db);

exit:
  status = store__end(st, status);
  if (status == STORE_OK) {
    if (requeued) *requeued = n_requeued;
    if (failed) *failed = n_failed;
    if (cancelled) *cancelled = n_cancelled;
  }
  return status;
}

/* ---- metrics and checkpoints ---------------------------------------------------------- */

int store__read_metric(sqlite3_stmt *s, void *row) {
  store_metric *m = row;
  m->epoch = sqlite3_column_int64(s, 0);
  m->loss = store__column_double(s, 1);
  m->val_loss = store__column_double(s, 2);
  m->accuracy = store__column_double(s, 3);
  m->val_accuracy = store__column_double(s, 4);
  m->lr = store__column_double(s, 5);
  m->seconds = store__column_double(s, 6);
  m->threads = sqlite3_column_int(s, 8); /* NULL reads as 0 */
  return store__column_text(s, 7, &m->layers);
}

static void clear_metric(void *row) {
  store_metric *m = row;
  free(m->layers);
  m->layers = NULL;
}

void store_metric_list_free(store_metric *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) clear_metric(&list[i]);
  free(list);
}

static int read_checkpoint(sqlite3_stmt *s, void *row) {
  store_checkpoint *c = row;
  c->epoch = sqlite3_column_int64(s, 0);
  c->bytes = sqlite3_column_int64(s, 1);
  store__column_time(s, 2, c->created_at);
  return STORE_OK;
}

/* List a job's rows with q, telling a job without rows from no job at all
 * (one read transaction, so both answers come from the same snapshot). */
static int list_of_job(store *st, enum query q, int64_t job_id, int64_t after, size_t size,
                       store__row_reader read, store__row_clear clear, void **out, size_t *n) {
  *out = NULL;
  *n = 0;
  int status = store__begin(st, Q_BEGIN_READ);
  if (status != STORE_OK) return status;
  int64_t found;
  sqlite3_bind_int64(st->stmt[Q_JOB_EXISTS], 1, job_id);
  status = store__run_one(st->stmt[Q_JOB_EXISTS], store__read_int64, NULL, &found);
  if (status == STORE_OK) {
    sqlite3_bind_int64(st->stmt[q], 1, job_id);
    if (q == Q_METRICS_AFTER) sqlite3_bind_int64(st->stmt[q], 2, after);
    status = store__run_list(st->stmt[q], size, read, clear, out, n);
  }
  status = store__end(st, status);
  if (status != STORE_OK) {
    for (size_t i = 0; clear != NULL && i < *n; i++) clear((char *)*out + i * size);
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return status;
}

int store_metrics_after(store *st, int64_t job_id, int64_t after, store_metric **out,
                        size_t *n) {
  void *rows;
  int status =
      list_of_job(st, Q_METRICS_AFTER, job_id, after, sizeof **out, store__read_metric,
                  clear_metric, &rows, n);
  *out = rows;
  return status;
}

int store_checkpoint_list(store *st, int64_t job_id, store_checkpoint **out, size_t *n) {
  void *rows;
  int status =
      list_of_job(st, Q_CHECKPOINT_LIST, job_id, 0, sizeof **out, read_checkpoint, NULL, &rows,
                  n);
  *out = rows;
  return status;
}

struct checkpoint_row {
  int64_t epoch;
  uint8_t *buf;
  size_t len;
};

static int read_checkpoint_data(sqlite3_stmt *s, void *row) {
  struct checkpoint_row *c = row;
  void *buf;
  c->epoch = sqlite3_column_int64(s, 0);
  int status = store__column_blob(s, 1, 0, &buf, &c->len);
  c->buf = buf;
  return status;
}

static void clear_checkpoint_data(void *row) {
  struct checkpoint_row *c = row;
  free(c->buf);
  c->buf = NULL;
}

int store_checkpoint_latest(store *st, int64_t job_id, int64_t *epoch, uint8_t **buf,
                            size_t *len) {
  struct checkpoint_row c = {0, NULL, 0};
  sqlite3_bind_int64(st->stmt[Q_CHECKPOINT_LATEST], 1, job_id);
  int status = store__run_one(st->stmt[Q_CHECKPOINT_LATEST], read_checkpoint_data,
                              clear_checkpoint_data, &c);
  *epoch = c.epoch;
  *buf = c.buf;
  *len = c.len;
  return status;
}
