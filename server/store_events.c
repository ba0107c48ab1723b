/* store_events.c — the jobs' event log: written with each change, read back with its subject. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- writing ----------------------------------------------------------------------- */

int store__events_inserted(store *st) {
  if (sqlite3_changes(st->db) == 0) return STORE_OK;
  st->event_pending = sqlite3_last_insert_rowid(st->db);
  if (st->events_kept == 0 || st->event_pending <= st->events_kept) return STORE_OK;
  /* ids are the primary key: the delete seeks to the few rows that fell out */
  sqlite3_stmt *s = st->stmt[Q_EVENTS_PRUNE];
  sqlite3_bind_int64(s, 1, st->event_pending);
  sqlite3_bind_int64(s, 2, st->events_kept);
  return store__run(s);
}

int store__event(store *st, const store_event *e) {
  sqlite3_stmt *s = st->stmt[Q_EVENT_INSERT];
  sqlite3_bind_int64(s, 1, e->job_id);
  sqlite3_bind_text(s, 2, store__event_kind_names[e->kind], -1, SQLITE_STATIC);
  if (e->kind == STORE_EVENT_STATE)
    sqlite3_bind_text(s, 3, store__state_names[e->state], -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, e->epoch);
  if (e->kind == STORE_EVENT_CHECKPOINT) {
    sqlite3_bind_int64(s, 5, e->version);
    sqlite3_bind_int64(s, 6, e->bytes);
  }
  int status = store__run(s);
  if (status == STORE_OK) status = store__events_inserted(st);
  return status;
}

/* ---- reading --------------------------------------------------------------------------- */

void store_event_clear(store_event *e) {
  store_job_clear(&e->job);
  free(e->metric.layers);
  memset(e, 0, sizeof *e);
}

void store_event_list_free(store_event *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) store_event_clear(&list[i]);
  free(list);
}

static void clear_event(void *row) { store_event_clear(row); }

static int parse_kind(const char *s, store_event_kind *out) {
  for (int i = 0; s != NULL && i < STORE_EVENT_KIND_COUNT; i++) {
    if (strcmp(s, store__event_kind_names[i]) == 0) {
      *out = (store_event_kind)i;
      return STORE_OK;
    }
  }
  return STORE_EIO; /* the schema's CHECK allows no other */
}

/* A row of EVENT_COLS: id, job_id, kind, state, epoch, version, bytes. */
static int read_event(sqlite3_stmt *s, void *row) {
  store_event *e = row;
  memset(e, 0, sizeof *e);
  e->id = sqlite3_column_int64(s, 0);
  e->job_id = sqlite3_column_int64(s, 1);
  int status = parse_kind((const char *)sqlite3_column_text(s, 2), &e->kind);
  if (status == STORE_OK && e->kind == STORE_EVENT_STATE &&
      store_job_state_parse((const char *)sqlite3_column_text(s, 3), &e->state) != STORE_OK)
    status = STORE_EIO;
  e->epoch = sqlite3_column_int64(s, 4);
  e->version = sqlite3_column_int64(s, 5);
  e->bytes = sqlite3_column_int64(s, 6);
  return status;
}

/* Read what an event describes: the job of a state event, the metrics row of
 * an epoch event (a checkpoint event carries all it says). */
static int read_subject(store *st, store_event *e) {
  sqlite3_stmt *s;
  switch (e->kind) {
    case STORE_EVENT_STATE:
      s = st->stmt[Q_JOB_GET];
      sqlite3_bind_int64(s, 1, e->job_id);
      return store__run_one(s, store__read_job, store__clear_job, &e->job);
    case STORE_EVENT_EPOCH: {
      s = st->stmt[Q_METRIC_GET];
      sqlite3_bind_int64(s, 1, e->job_id);
      sqlite3_bind_int64(s, 2, e->epoch);
      int status = store__run_one(s, store__read_metric, NULL, &e->metric);
      /* Metrics rows go only with their job, events included; a row removed
       * behind the daemon's back reads as unknown numbers rather than
       * breaking every stream that reaches it. */
      if (status == STORE_ENOTFOUND) {
        e->metric = (store_metric){e->epoch, NAN, NAN, NAN, NAN, NAN, NAN, NULL, 0};
        status = STORE_OK;
      }
      return status;
    }
    default:
      return STORE_OK;
  }
}

int store_events_after(store *st, int64_t job_id, int64_t after, size_t limit,
                       store_event **out, size_t *n) {
  void *rows = NULL;
  *out = NULL;
  *n = 0;
  if (limit == 0 || limit > INT_MAX) return STORE_EINVAL;
  int status = store__begin(st, Q_BEGIN_READ);
  if (status != STORE_OK) return status;
  sqlite3_stmt *s = st->stmt[job_id > 0 ? Q_JOB_EVENTS_AFTER : Q_EVENTS_AFTER];
  sqlite3_bind_int64(s, 1, after);
  sqlite3_bind_int(s, 2, (int)limit);
  if (job_id > 0) sqlite3_bind_int64(s, 3, job_id);
  status = store__run_list(s, sizeof **out, read_event, clear_event, &rows, n);
  store_event *list = rows;
  for (size_t i = 0; status == STORE_OK && i < *n; i++) status = read_subject(st, &list[i]);
  status = store__end(st, status);
  if (status != STORE_OK) {
    store_event_list_free(list, *n);
    list = NULL;
    *n = 0;
  }
  *out = list;
  return status;
}

/* A row of JOB_COLS and the id of the job's newest event. */
static int read_active(sqlite3_stmt *s, void *row) {
  store_event *e = row;
  memset(e, 0, sizeof *e);
  int status = store__read_job(s, &e->job);
  if (status != STORE_OK) return status;
  e->id = sqlite3_column_int64(s, sqlite3_column_count(s) - 1); /* last, after JOB_COLS */
  e->job_id = e->job.id;
  e->kind = STORE_EVENT_STATE;
  e->state = e->job.state;
  e->epoch = e->job.epoch;
  return STORE_OK;
}

int store_events_active(store *st, store_event **out, size_t *n, int64_t *latest) {
  void *rows = NULL;
  *out = NULL;
  *n = 0;
  *latest = 0;
  int status = store__begin(st, Q_BEGIN_READ);
  if (status != STORE_OK) return status;
  status = store__run_one(st->stmt[Q_EVENTS_LATEST], store__read_int64, NULL, latest);
  if (status == STORE_OK)
    status = store__run_list(st->stmt[Q_EVENTS_ACTIVE], sizeof **out, read_active, clear_event,
                             &rows, n);
  status = store__end(st, status);
  if (status != STORE_OK) {
    store_event_list_free(rows, *n);
    rows = NULL;
    *n = 0;
    *latest = 0;
  }
  *out = rows;
  return status;
}
