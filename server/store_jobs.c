/* store_jobs.c — jobs in the store: the queue (insert, claim), their state
 * changes (cancel, finish, pause), lists and counts, and the recovery of the
 * jobs a crash left running. Each state change logs its event in the same
 * transaction. What an epoch leaves (progress, metrics, checkpoints) is in
 * store_epochs.c. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- rows -------------------------------------------------------------------------- */

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

/* A row of JOB_COLS (store_internal.h); store_events.c reads one more column. */
int store__read_job(sqlite3_stmt *s, void *row) {
  store_job *j = row;
  assert(sqlite3_column_count(s) >= JOB_NCOLS);
  memset(j, 0, sizeof *j);
  j->id = sqlite3_column_int64(s, JOB_ID);
  j->model_id = sqlite3_column_int64(s, JOB_MODEL_ID);
  j->dataset_id = sqlite3_column_int64(s, JOB_DATASET_ID);
  int status = store_job_state_parse((const char *)sqlite3_column_text(s, JOB_STATE), &j->state);
  if (status != STORE_OK) return STORE_EIO; /* the schema's CHECK allows no other */
  j->epoch = sqlite3_column_int64(s, JOB_EPOCH);
  j->epochs = sqlite3_column_int64(s, JOB_EPOCHS);
  j->loss = store__column_double(s, JOB_LOSS);
  j->val_loss = store__column_double(s, JOB_VAL_LOSS);
  j->accuracy = store__column_double(s, JOB_ACCURACY);
  j->val_accuracy = store__column_double(s, JOB_VAL_ACCURACY);
  j->samples_per_second = store__column_double(s, JOB_SAMPLES_PER_SECOND);
  j->restarts = sqlite3_column_int64(s, JOB_RESTARTS);
  j->cancel_requested = sqlite3_column_int(s, JOB_CANCEL_REQUESTED) != 0;
  store__column_time(s, JOB_CREATED_AT, j->created_at);
  store__column_time(s, JOB_STARTED_AT, j->started_at);
  store__column_time(s, JOB_FINISHED_AT, j->finished_at);
  j->memory = sqlite3_column_int64(s, JOB_MEMORY); /* NULL: 0 */
  status = store__column_text(s, JOB_CONFIG, &j->config);
  if (status == STORE_OK) status = store__column_text(s, JOB_ERROR, &j->error);
  if (status != STORE_OK) store_job_clear(j);
  return status;
}

/* Run a statement returning one job into out (or nowhere when out is NULL). */
static int run_job(store__query *q, store_job *out) {
  store_job tmp;
  store_job *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  int status = store__run_one(q, store__read_job, store__clear_job, row);
  if (out == NULL && status == STORE_OK) store_job_clear(&tmp);
  return status;
}

/* Log that a job entered state, with the epochs it had completed then. */
static int state_event(store *st, int64_t job_id, store_job_state state, int64_t epoch) {
  store_event e = {.job_id = job_id, .kind = STORE_EVENT_STATE, .state = state, .epoch = epoch};
  return store__event(st, &e);
}

/* Run q, a bound statement returning the job it moved to a new state, and
 * log that state, in one transaction.
 * @param out receives the job; may be NULL */
static int write_job(store *st, store__query *q, store_job *out) {
  store_job tmp;
  store_job *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  int status = q->status;
  if (status == STORE_OK) status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) {
    store__done(q);
    return status;
  }
  status = run_job(q, row);
  if (status == STORE_OK) status = state_event(st, row->id, row->state, row->epoch);
  status = store__end(st, status);
  if (status != STORE_OK || out == NULL) store_job_clear(row);
  return status;
}

/* ---- the queue ------------------------------------------------------------------------ */

static const store__sql job_insert = {
    Q_JOB_INSERT, "INSERT INTO jobs (model_id, dataset_id, config, epochs, created_at, memory)"
                  " VALUES (:model_id, :dataset_id, :config, :epochs, :created_at, :memory)"
                  " RETURNING " JOB_COLS};

int store_job_insert(store *st, int64_t model_id, int64_t dataset_id, const char *config,
                     int64_t epochs, int64_t memory, store_job *out) {
  if (out) memset(out, 0, sizeof *out);
  if (config == NULL || epochs <= 0 || memory < 0) return STORE_EINVAL;
  char created[STORE_TIME_LEN];
  store__now(created);
  store__query q = store__prepare(st, &job_insert);
  store__bind_int64(&q, ":model_id", model_id);
  store__bind_int64(&q, ":dataset_id", dataset_id);
  store__bind_text(&q, ":config", config);
  store__bind_int64(&q, ":epochs", epochs);
  store__bind_text(&q, ":created_at", created);
  store__bind_int64(&q, ":memory", memory);
  return write_job(st, &q, out);
}

/* One statement, so the pick and the update are atomic. It picks the oldest
 * queued job whose model has no running job, and whose memory fits the :room
 * left by the running ones or exceeds the whole :budget (its worker fails
 * it). */
static const store__sql job_claim = {
    Q_JOB_CLAIM,
    "UPDATE jobs SET state = 'running', started_at = coalesce(started_at, :started_at)"
    " WHERE id = (SELECT q.id FROM jobs q WHERE q.state = 'queued'"
    " AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.model_id = q.model_id AND r.state = 'running')"
    " AND (coalesce(q.memory, 0) <= :room OR q.memory > :budget) ORDER BY q.id LIMIT 1)"
    " RETURNING " JOB_COLS};

int store_job_claim(store *st, int64_t room, int64_t budget, store_job *out) {
  char started[STORE_TIME_LEN];
  store__now(started);
  store__query q = store__prepare(st, &job_claim);
  store__bind_text(&q, ":started_at", started);
  store__bind_int64(&q, ":room", room);
  store__bind_int64(&q, ":budget", budget);
  return write_job(st, &q, out);
}

/* ---- reading ------------------------------------------------------------------------ */

static const store__sql job_get = {Q_JOB_GET, "SELECT " JOB_COLS " FROM jobs WHERE id = :id"};

int store_job_get(store *st, int64_t id, store_job *out) {
  store__query q = store__prepare(st, &job_get);
  store__bind_int64(&q, ":id", id);
  return run_job(&q, out);
}

static const store__sql job_exists = {Q_JOB_EXISTS, "SELECT id FROM jobs WHERE id = :id"};

int store__job_exists(store *st, int64_t id) {
  int64_t found;
  store__query q = store__prepare(st, &job_exists);
  store__bind_int64(&q, ":id", id);
  return store__run_one(&q, store__read_int64, NULL, &found);
}

int store__job_missing_or_conflict(store *st, int64_t id) {
  int status = store__job_exists(st, id);
  return status == STORE_OK ? STORE_ECONFLICT : status;
}

/* One list per filter (:state, :model_id): a single statement with
 * ":state IS NULL OR state = :state" hides the indexes from the planner,
 * and every filtered list would scan every job ever queued. */
static const store__sql job_list = {Q_JOB_LIST, "SELECT " JOB_COLS " FROM jobs ORDER BY id"};
static const store__sql job_list_state = {
    Q_JOB_LIST_STATE, "SELECT " JOB_COLS " FROM jobs WHERE state = :state ORDER BY id"};
static const store__sql job_list_model = {
    Q_JOB_LIST_MODEL, "SELECT " JOB_COLS " FROM jobs WHERE model_id = :model_id ORDER BY id"};
static const store__sql job_list_model_state = {
    Q_JOB_LIST_MODEL_STATE,
    "SELECT " JOB_COLS " FROM jobs WHERE model_id = :model_id AND state = :state ORDER BY id"};

int store_job_list(store *st, int state, int64_t model_id, store_job **out, size_t *n) {
  static const store__sql *const by_filter[2][2] = {{&job_list, &job_list_state},
                                                    {&job_list_model, &job_list_model_state}};
  *out = NULL;
  *n = 0;
  if (state != -1 && store_job_state_name((store_job_state)state) == NULL) return STORE_EINVAL;
  store__query q = store__prepare(st, by_filter[model_id != 0][state != -1]);
  if (state != -1) store__bind_text(&q, ":state", store__state_names[state]);
  if (model_id != 0) store__bind_int64(&q, ":model_id", model_id);
  void *rows;
  int status = store__run_list(&q, sizeof **out, store__read_job, store__clear_job, &rows, n);
  *out = rows;
  return status;
}

static const store__sql job_count = {Q_JOB_COUNT,
                                     "SELECT state, count(*) FROM jobs GROUP BY state"};
enum { COUNT_STATE, COUNT_JOBS };

int store_job_count(store *st, int64_t counts[STORE_JOB_STATE_COUNT]) {
  for (int i = 0; i < STORE_JOB_STATE_COUNT; i++) counts[i] = 0;
  store__query q = store__prepare(st, &job_count);
  if (q.status != STORE_OK) return q.status;
  int rc;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    store_job_state state;
    const char *name = (const char *)sqlite3_column_text(q.s, COUNT_STATE);
    if (name != NULL && store_job_state_parse(name, &state) == STORE_OK)
      counts[state] = sqlite3_column_int64(q.s, COUNT_JOBS);
  }
  int status = rc == SQLITE_DONE ? STORE_OK : store__status_of_db(st->db, rc);
  store__done(&q);
  return status;
}

/* ---- state changes ---------------------------------------------------------------- */

/* SET expressions all see the row as it was before the update. */
static const store__sql job_cancel = {
    Q_JOB_CANCEL,
    "UPDATE jobs SET"
    " cancel_requested = (state IN " JOB_ACTIVE ") OR cancel_requested,"
    " state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END,"
    " finished_at = CASE state WHEN 'queued' THEN :finished_at ELSE finished_at END"
    " WHERE id = :id RETURNING " JOB_COLS};

int store_job_request_cancel(store *st, int64_t id, store_job *out) {
  char finished[STORE_TIME_LEN];
  store_job before = {0}, tmp;
  store_job *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  store__now(finished);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  /* The state before, to log a change (only a queued job's). */
  status = store_job_get(st, id, &before);
  if (status == STORE_OK) {
    store__query q = store__prepare(st, &job_cancel);
    store__bind_int64(&q, ":id", id);
    store__bind_text(&q, ":finished_at", finished);
    status = run_job(&q, row);
  }
  if (status == STORE_OK && row->state != before.state)
    status = state_event(st, id, row->state, row->epoch);
  status = store__end(st, status);
  store_job_clear(&before);
  if (status != STORE_OK || out == NULL) store_job_clear(row);
  return status;
}

static const store__sql job_finish = {
    Q_JOB_FINISH, "UPDATE jobs SET state = :state, error = :error, finished_at = :finished_at"
                  " WHERE id = :id AND state = 'running' RETURNING epoch"};

int store_job_finish(store *st, int64_t id, store_job_state state, const char *error) {
  if (state != STORE_JOB_SUCCEEDED && state != STORE_JOB_FAILED && state != STORE_JOB_CANCELLED)
    return STORE_EINVAL;
  char finished[STORE_TIME_LEN];
  int64_t epoch = 0;
  store__now(finished);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  store__query q = store__prepare(st, &job_finish);
  store__bind_int64(&q, ":id", id);
  store__bind_text(&q, ":state", store__state_names[state]);
  store__bind_text(&q, ":error", error);
  store__bind_text(&q, ":finished_at", finished);
  status = store__run_one(&q, store__read_int64, NULL, &epoch);
  if (status == STORE_ENOTFOUND) status = store__job_missing_or_conflict(st, id);
  if (status == STORE_OK) status = state_event(st, id, state, epoch);
  return store__end(st, status);
}

/* A succeeded job trains on: more epochs, the same row, queued again. */
static const store__sql job_extend = {
    Q_JOB_EXTEND,
    "UPDATE jobs SET state = 'queued', epochs = :epochs, config = :config, finished_at = NULL"
    " WHERE id = :id AND state = 'succeeded' AND epoch < :epochs RETURNING " JOB_COLS};

int store_job_extend(store *st, int64_t id, int64_t epochs, const char *config, store_job *out) {
  if (out) memset(out, 0, sizeof *out);
  if (config == NULL || epochs <= 0) return STORE_EINVAL;
  store__query q = store__prepare(st, &job_extend);
  store__bind_int64(&q, ":id", id);
  store__bind_int64(&q, ":epochs", epochs);
  store__bind_text(&q, ":config", config);
  int status = write_job(st, &q, out);
  if (status == STORE_ENOTFOUND) status = store__job_missing_or_conflict(st, id);
  return status;
}

static const store__sql job_requeue = {
    Q_JOB_REQUEUE,
    "UPDATE jobs SET state = 'queued' WHERE id = :id AND state = 'running' RETURNING model_id"};

int store_job_pause(store *st, int64_t id, int64_t epoch, const uint8_t *checkpoint,
                    size_t len) {
  if ((checkpoint == NULL) != (len == 0) || epoch < 0) return STORE_EINVAL;
  int64_t model_id = 0, version = 0;
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  store__query q = store__prepare(st, &job_requeue);
  store__bind_int64(&q, ":id", id);
  status = store__run_one(&q, store__read_int64, NULL, &model_id);
  if (status == STORE_ENOTFOUND) status = store__job_missing_or_conflict(st, id);
  if (status == STORE_OK && checkpoint != NULL)
    status = store__checkpoint_save(st, id, epoch, checkpoint, len);
  if (status == STORE_OK && checkpoint != NULL)
    status = store__model_version(st, model_id, &version);
  if (status == STORE_OK && checkpoint != NULL) {
    store_event e = {.job_id = id, .kind = STORE_EVENT_CHECKPOINT, .epoch = epoch,
                     .version = version, .bytes = (int64_t)len};
    status = store__event(st, &e);
  }
  if (status == STORE_OK) status = state_event(st, id, STORE_JOB_QUEUED, epoch);
  return store__end(st, status);
}

/* SET expressions all see the row as it was before the update. */
static const store__sql job_crashed = {
    Q_JOB_CRASHED,
    "UPDATE jobs SET restarts = restarts + 1, stalled_restarts = stalled_restarts + 1,"
    " state = CASE WHEN stalled_restarts >= :max_restarts THEN 'failed' ELSE 'queued' END,"
    " error = CASE WHEN stalled_restarts >= :max_restarts THEN :error ELSE error END,"
    " finished_at = CASE WHEN stalled_restarts >= :max_restarts THEN :finished_at"
    " ELSE finished_at END"
    " WHERE id = :id AND state = 'running' RETURNING " JOB_COLS};

int store_job_crashed(store *st, int64_t id, const char *error, store_job *out) {
  char finished[STORE_TIME_LEN], why[512];
  store__now(finished);
  snprintf(why, sizeof why, "%s; more than %d times in a row without a new checkpoint in "
           "between: not restarted again", error, STORE_MAX_RESTARTS);
  store__query q = store__prepare(st, &job_crashed);
  store__bind_int64(&q, ":id", id);
  store__bind_int64(&q, ":max_restarts", STORE_MAX_RESTARTS);
  store__bind_text(&q, ":error", why);
  store__bind_text(&q, ":finished_at", finished);
  int status = write_job(st, &q, out);
  if (status == STORE_ENOTFOUND) status = store__job_missing_or_conflict(st, id);
  return status;
}

/* ---- recovery after a crash ---------------------------------------------------------- */

/* Which running jobs each recovery step takes: the event insert and the
 * update of a step must select the same rows. */
#define RECOVER_CANCELLED " WHERE state = 'running' AND cancel_requested"
#define RECOVER_FAILED " WHERE state = 'running' AND stalled_restarts >= :max_restarts"
#define RECOVER_REQUEUE " WHERE state = 'running'"

static const store__sql recover_cancelled = {
    Q_RECOVER_CANCELLED,
    "UPDATE jobs SET state = 'cancelled', finished_at = :finished_at" RECOVER_CANCELLED};
static const store__sql recover_failed = {
    Q_RECOVER_FAILED, "UPDATE jobs SET state = 'failed', restarts = restarts + 1,"
                      " error = :error, finished_at = :finished_at" RECOVER_FAILED};
static const store__sql recover_requeue = {
    Q_RECOVER_REQUEUE, "UPDATE jobs SET state = 'queued', restarts = restarts + 1,"
                       " stalled_restarts = stalled_restarts + 1" RECOVER_REQUEUE};
/* Each recovery step's state events, inserted just before its update. */
static const store__sql recover_cancelled_events = {
    Q_RECOVER_CANCELLED_EVENTS, "INSERT INTO events (job_id, kind, state, epoch)"
                                " SELECT id, 'state', 'cancelled', epoch FROM jobs"
                                RECOVER_CANCELLED " ORDER BY id"};
static const store__sql recover_failed_events = {
    Q_RECOVER_FAILED_EVENTS, "INSERT INTO events (job_id, kind, state, epoch)"
                             " SELECT id, 'state', 'failed', epoch FROM jobs"
                             RECOVER_FAILED " ORDER BY id"};
static const store__sql recover_requeue_events = {
    Q_RECOVER_REQUEUE_EVENTS, "INSERT INTO events (job_id, kind, state, epoch)"
                              " SELECT id, 'state', 'queued', epoch FROM jobs"
                              RECOVER_REQUEUE " ORDER BY id"};

/* Run a recovery step: its event insert, then its update (both bound);
 * *changed receives the number of jobs it changed. */
static int recover_step(store *st, store__query *events, store__query *update, int *changed) {
  int status = store__run(events);
  if (status == STORE_OK) status = store__events_inserted(st);
  if (status != STORE_OK) {
    store__done(update);
    return status;
  }
  if ((status = store__run(update)) == STORE_OK) *changed = sqlite3_changes(st->db);
  return status;
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
  store__query events = store__prepare(st, &recover_cancelled_events);
  store__query update = store__prepare(st, &recover_cancelled);
  store__bind_text(&update, ":finished_at", at);
  if ((status = recover_step(st, &events, &update, &n_cancelled)) != STORE_OK) goto exit;

  events = store__prepare(st, &recover_failed_events);
  store__bind_int64(&events, ":max_restarts", STORE_MAX_RESTARTS);
  update = store__prepare(st, &recover_failed);
  store__bind_text(&update, ":finished_at", at);
  store__bind_text(&update, ":error", why);
  store__bind_int64(&update, ":max_restarts", STORE_MAX_RESTARTS);
  if ((status = recover_step(st, &events, &update, &n_failed)) != STORE_OK) goto exit;

  events = store__prepare(st, &recover_requeue_events);
  update = store__prepare(st, &recover_requeue);
  status = recover_step(st, &events, &update, &n_requeued);

exit:
  status = store__end(st, status);
  if (status == STORE_OK) {
    if (requeued) *requeued = n_requeued;
    if (failed) *failed = n_failed;
    if (cancelled) *cancelled = n_cancelled;
  }
  return status;
}
