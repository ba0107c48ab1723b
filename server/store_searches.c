/* store_searches.c — hyperparameter searches, their trials and their rungs
 * (schema 7), and their events in the log (schema 11). Each call is one
 * statement, with the event it logs if any, in one transaction: the
 * scheduler (search_run.c) orders its writes so that a crash between two of
 * them leaves a state it can re-drive — a trial row after its model, a rung
 * row after its job — and finds the rows a crash orphaned by name and by
 * model. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_searches.h"

static const char *const search_state_names[] = {"running", "succeeded", "cancelled"};
static const char *const rung_state_names[] = {"running", "done", "failed"};

const char *store_search_state_name(store_search_state s) {
  return (unsigned)s < 3 ? search_state_names[s] : NULL;
}

static int name_index(const char *const *names, int n, const unsigned char *text) {
  for (int i = 0; text && i < n; i++)
    if (strcmp(names[i], (const char *)text) == 0) return i;
  return -1;
}

/* ---- searches ---------------------------------------------------------------- */

void store_search_clear(store_search *s) {
  free(s->config);
  memset(s, 0, sizeof *s);
}

void store_search_list_free(store_search *list, size_t n) {
  for (size_t i = 0; list && i < n; i++) store_search_clear(&list[i]);
  free(list);
}

static void clear_search(void *row) { store_search_clear(row); }

#define SEARCH_COLS "id, state, config, created_at, finished_at"
enum { S_ID, S_STATE, S_CONFIG, S_CREATED_AT, S_FINISHED_AT, S_NCOLS };

static int read_search(sqlite3_stmt *s, void *row) {
  store_search *r = row;
  assert(sqlite3_column_count(s) == S_NCOLS);
  memset(r, 0, sizeof *r);
  r->id = sqlite3_column_int64(s, S_ID);
  int state = name_index(search_state_names, 3, sqlite3_column_text(s, S_STATE));
  if (state < 0) return STORE_EIO; /* the schema's CHECK allows no other */
  r->state = (store_search_state)state;
  store__column_time(s, S_CREATED_AT, r->created_at);
  store__column_time(s, S_FINISHED_AT, r->finished_at);
  return store__column_text(s, S_CONFIG, &r->config);
}

/* Run q, which yields the search row, in its own transaction; a write also
 * logs the search's event of type with detail. */
static int run_search(store *st, store__query *q, store_search *out, int write,
                      store_search_event type, const char *detail) {
  store_search tmp;
  store_search *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  int status = write ? store__begin(st, Q_BEGIN_WRITE) : STORE_OK;
  assert(!write || type == STORE_SEARCH_CREATED);
  if (status != STORE_OK) {
    store__done(q);
    return status;
  }
  status = store__run_one(q, read_search, clear_search, row);
  if (write && status == STORE_OK) status = store__search_event(st, row->id, type, detail);
  if (write) status = store__end(st, status);
  if ((out == NULL || status != STORE_OK) && row->id != 0) store_search_clear(row);
  return status;
}

static const store__sql search_insert = {
    Q_SEARCH_INSERT, "INSERT INTO searches (state, config, created_at)"
                     " VALUES ('running', :config, :created_at) RETURNING " SEARCH_COLS};

int store_search_insert(store *st, const char *config, store_search *out) {
  if (config == NULL) return STORE_EINVAL;
  char created[STORE_TIME_LEN];
  store__now(created);
  store__query q = store__prepare(st, &search_insert);
  store__bind_text(&q, ":config", config);
  store__bind_text(&q, ":created_at", created);
  return run_search(st, &q, out, 1, STORE_SEARCH_CREATED, NULL);
}

static const store__sql search_get = {Q_SEARCH_GET,
                                      "SELECT " SEARCH_COLS " FROM searches WHERE id = :id"};

int store_search_get(store *st, int64_t id, store_search *out) {
  store__query q = store__prepare(st, &search_get);
  store__bind_int64(&q, ":id", id);
  return run_search(st, &q, out, 0, STORE_SEARCH_CREATED, NULL);
}

static const store__sql search_list = {Q_SEARCH_LIST,
                                       "SELECT " SEARCH_COLS " FROM searches ORDER BY id"};

int store_search_list(store *st, store_search **out, size_t *n) {
  store__query q = store__prepare(st, &search_list);
  return store__run_list(&q, sizeof **out, read_search, clear_search, (void **)out, n);
}

/* The searches a scheduler pass visits: running, or cancelled with jobs
 * still to settle. */
static const store__sql search_list_active = {
    Q_SEARCH_LIST_ACTIVE,
    "SELECT " SEARCH_COLS " FROM searches s WHERE state = 'running' OR EXISTS"
    " (SELECT 1 FROM search_rungs r WHERE r.search_id = s.id AND r.state = 'running')"
    " ORDER BY id"};

int store_search_list_active(store *st, store_search **out, size_t *n) {
  store__query q = store__prepare(st, &search_list_active);
  return store__run_list(&q, sizeof **out, read_search, clear_search, (void **)out, n);
}

static const store__sql search_finish = {
    Q_SEARCH_FINISH, "UPDATE searches SET state = :state, finished_at = :finished_at"
                     " WHERE id = :id AND state = 'running' RETURNING " SEARCH_COLS};

int store_search_finish(store *st, int64_t id, store_search_state state, const int64_t *stopped,
                        size_t n_stopped, const char *detail) {
  if (state == STORE_SEARCH_RUNNING || store_search_state_name(state) == NULL)
    return STORE_EINVAL;
  char now[STORE_TIME_LEN];
  store__now(now);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  store__query q = store__prepare(st, &search_finish);
  store__bind_text(&q, ":state", search_state_names[state]);
  store__bind_text(&q, ":finished_at", now);
  store__bind_int64(&q, ":id", id);
  store_search row;
  status = store__run_one(&q, read_search, clear_search, &row);
  if (status == STORE_OK) store_search_clear(&row);
  for (size_t i = 0; status == STORE_OK && i < n_stopped; i++) {
    char text[48];
    snprintf(text, sizeof text, "{\"trial\":%lld}", (long long)stopped[i]);
    status = store__search_event(st, id, STORE_SEARCH_TRIAL_STOPPED, text);
  }
  if (status == STORE_OK) status = store__search_event(st, id, STORE_SEARCH_FINISHED, detail);
  status = store__end(st, status);
  if (status == STORE_ENOTFOUND) /* missing, or not running */
    status = store_search_get(st, id, NULL) == STORE_OK ? STORE_ECONFLICT : STORE_ENOTFOUND;
  return status;
}

/* ---- trials ---------------------------------------------------------------------- */

void store_search_trials_free(store_search_trial *list, size_t n) {
  for (size_t i = 0; list && i < n; i++) free(list[i].params);
  free(list);
}

static void clear_trial(void *row) {
  store_search_trial *t = row;
  free(t->params);
  memset(t, 0, sizeof *t);
}

enum { T_TRIAL, T_PARAMS, T_MODEL_ID, T_NCOLS };

static int read_trial(sqlite3_stmt *s, void *row) {
  store_search_trial *t = row;
  assert(sqlite3_column_count(s) == T_NCOLS);
  memset(t, 0, sizeof *t);
  t->trial = sqlite3_column_int64(s, T_TRIAL);
  t->model_id = sqlite3_column_int64(s, T_MODEL_ID);
  return store__column_text(s, T_PARAMS, &t->params);
}

static const store__sql trial_insert = {
    Q_SEARCH_TRIAL_INSERT, "INSERT INTO search_trials (search_id, trial, params, model_id)"
                           " VALUES (:search_id, :trial, :params, :model_id)"};

int store_search_trial_insert(store *st, int64_t search_id, const store_search_trial *t) {
  store__query q = store__prepare(st, &trial_insert);
  store__bind_int64(&q, ":search_id", search_id);
  store__bind_int64(&q, ":trial", t->trial);
  store__bind_text(&q, ":params", t->params);
  store__bind_int64(&q, ":model_id", t->model_id);
  store__write_lock(st);
  int status = store__run(&q);
  store__write_unlock(st);
  return status;
}

static const store__sql trials_list = {
    Q_SEARCH_TRIALS, "SELECT trial, params, model_id FROM search_trials"
                     " WHERE search_id = :search_id ORDER BY trial"};

int store_search_trials(store *st, int64_t search_id, store_search_trial **out, size_t *n) {
  store__query q = store__prepare(st, &trials_list);
  store__bind_int64(&q, ":search_id", search_id);
  return store__run_list(&q, sizeof **out, read_trial, clear_trial, (void **)out, n);
}

/* ---- rungs ------------------------------------------------------------------------ */

enum { R_TRIAL, R_RUNG, R_JOB_ID, R_STATE, R_METRIC, R_NCOLS };

static int read_rung(sqlite3_stmt *s, void *row) {
  store_search_rung *r = row;
  assert(sqlite3_column_count(s) == R_NCOLS);
  r->trial = sqlite3_column_int64(s, R_TRIAL);
  r->rung = sqlite3_column_int64(s, R_RUNG);
  r->job_id = sqlite3_column_int64(s, R_JOB_ID);
  int state = name_index(rung_state_names, 3, sqlite3_column_text(s, R_STATE));
  if (state < 0) return STORE_EIO;
  r->state = (store_rung_state)state;
  r->metric = store__column_double(s, R_METRIC);
  return STORE_OK;
}

static const store__sql rung_put = {
    Q_SEARCH_RUNG_PUT,
    "INSERT OR REPLACE INTO search_rungs (search_id, trial, rung, job_id, state, metric)"
    " VALUES (:search_id, :trial, :rung, :job_id, :state, :metric)"};

int store_search_rung_put(store *st, int64_t search_id, const store_search_rung *r,
                          store_search_event type) {
  if ((unsigned)r->state > STORE_RUNG_FAILED || (unsigned)type > STORE_SEARCH_EVENT_COUNT)
    return STORE_EINVAL;
  store__query q = store__prepare(st, &rung_put);
  store__bind_int64(&q, ":search_id", search_id);
  store__bind_int64(&q, ":trial", r->trial);
  store__bind_int64(&q, ":rung", r->rung);
  store__bind_int64(&q, ":job_id", r->job_id);
  store__bind_text(&q, ":state", rung_state_names[r->state]);
  store__bind_double(&q, ":metric", r->state == STORE_RUNG_DONE ? r->metric : NAN);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) {
    store__done(&q);
    return status;
  }
  status = store__run(&q);
  if (status == STORE_OK && type != STORE_SEARCH_EVENT_COUNT) {
    char detail[160];
    int len = snprintf(detail, sizeof detail, "{\"trial\":%lld,\"rung\":%lld,\"job\":%lld",
                       (long long)r->trial, (long long)r->rung, (long long)r->job_id);
    if (r->state == STORE_RUNG_DONE && isfinite(r->metric))
      len += snprintf(detail + len, sizeof detail - (size_t)len, ",\"metric\":%.17g", r->metric);
    snprintf(detail + len, sizeof detail - (size_t)len, "}");
    status = store__search_event(st, search_id, type, detail);
  }
  return store__end(st, status);
}

static const store__sql rungs_list = {
    Q_SEARCH_RUNGS, "SELECT trial, rung, job_id, state, metric FROM search_rungs"
                    " WHERE search_id = :search_id ORDER BY trial, rung"};

int store_search_rungs(store *st, int64_t search_id, store_search_rung **out, size_t *n) {
  store__query q = store__prepare(st, &rungs_list);
  store__bind_int64(&q, ":search_id", search_id);
  return store__run_list(&q, sizeof **out, read_rung, NULL, (void **)out, n);
}
