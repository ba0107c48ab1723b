/* store_events.c — the jobs' event log: written with each change, read back with its subject. */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- writing ----------------------------------------------------------------------- */

/* Retention: ids only grow, so the newest :kept events are those above
 * :newest - :kept. */
static const store__sql events_prune = {Q_EVENTS_PRUNE,
                                        "DELETE FROM events WHERE id <= :newest - :kept"};

int store__events_inserted(store *st) {
  if (sqlite3_changes(st->db) == 0) return STORE_OK;
  st->event_pending = sqlite3_last_insert_rowid(st->db);
  if (st->events_kept == 0 || st->event_pending <= st->events_kept) return STORE_OK;
  /* ids are the primary key: the delete seeks to the few rows that fell out */
  store__query q = store__prepare(st, &events_prune);
  store__bind_int64(&q, ":newest", st->event_pending);
  store__bind_int64(&q, ":kept", st->events_kept);
  return store__run(&q);
}

static const store__sql event_insert = {
    Q_EVENT_INSERT, "INSERT INTO events (job_id, kind, state, epoch, version, bytes)"
                    " VALUES (:job_id, :kind, :state, :epoch, :version, :bytes)"};

int store__event(store *st, const store_event *e) {
  /* The log is written with the change it records. */
  assert(st->writing && st->in_transaction);
  store__query q = store__prepare(st, &event_insert);
  store__bind_int64(&q, ":job_id", e->job_id);
  store__bind_text(&q, ":kind", store__event_kind_names[e->kind]);
  if (e->kind == STORE_EVENT_STATE) store__bind_text(&q, ":state", store__state_names[e->state]);
  store__bind_int64(&q, ":epoch", e->epoch);
  if (e->kind == STORE_EVENT_CHECKPOINT) {
    store__bind_int64(&q, ":version", e->version);
    store__bind_int64(&q, ":bytes", e->bytes);
  }
  int status = store__run(&q);
  if (status == STORE_OK) status = store__events_inserted(st);
  return status;
}

static const char *const search_event_names[STORE_SEARCH_EVENT_COUNT] = {
    [STORE_SEARCH_CREATED] = "created",
    [STORE_SEARCH_TRIAL_STARTED] = "trial_started",
    [STORE_SEARCH_TRIAL_PAUSED] = "trial_paused",
    [STORE_SEARCH_TRIAL_PROMOTED] = "trial_promoted",
    [STORE_SEARCH_TRIAL_DONE] = "trial_done",
    [STORE_SEARCH_TRIAL_STOPPED] = "trial_stopped",
    [STORE_SEARCH_TRIAL_FAILED] = "trial_failed",
    [STORE_SEARCH_FINISHED] = "finished",
};

const char *store_search_event_name(store_search_event type) {
  return (unsigned)type < STORE_SEARCH_EVENT_COUNT ? search_event_names[type] : NULL;
}

/* epoch is NOT NULL in the schema; a search event has none. */
static const store__sql search_event_insert = {
    Q_SEARCH_EVENT_INSERT,
    "INSERT INTO events (kind, epoch, search_id, type, detail)"
    " VALUES ('search', 0, CASE WHEN :search_id > 0 THEN :search_id ELSE last_insert_rowid() END,"
    " :type, :detail)"};

int store__search_event(store *st, int64_t search_id, store_search_event type,
                        const char *detail) {
  assert(st->writing && st->in_transaction);
  assert((unsigned)type < STORE_SEARCH_EVENT_COUNT);
  store__query q = store__prepare(st, &search_event_insert);
  store__bind_int64(&q, ":search_id", search_id);
  store__bind_text(&q, ":type", search_event_names[type]);
  store__bind_text(&q, ":detail", detail != NULL ? detail : "{}");
  int status = store__run(&q);
  if (status == STORE_OK) status = store__events_inserted(st);
  return status;
}

/* ---- reading --------------------------------------------------------------------------- */

void store_event_clear(store_event *e) {
  store_job_clear(&e->job);
  free(e->metric.layers);
  free(e->detail);
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

#define EVENT_COLS \
  "id, job_id, kind, state, epoch, version, bytes, search_id, type, detail, prediction_id"
enum {
  EVENT_ID, EVENT_JOB_ID, EVENT_KIND, EVENT_STATE, EVENT_EPOCH, EVENT_VERSION, EVENT_BYTES,
  EVENT_SEARCH_ID, EVENT_TYPE, EVENT_DETAIL, EVENT_PREDICTION_ID, EVENT_NCOLS
};

/* A row of EVENT_COLS. */
static int read_event(sqlite3_stmt *s, void *row) {
  store_event *e = row;
  assert(sqlite3_column_count(s) == EVENT_NCOLS);
  memset(e, 0, sizeof *e);
  e->id = sqlite3_column_int64(s, EVENT_ID);
  e->job_id = sqlite3_column_int64(s, EVENT_JOB_ID);
  int status = parse_kind((const char *)sqlite3_column_text(s, EVENT_KIND), &e->kind);
  if (status == STORE_OK && (e->kind == STORE_EVENT_STATE || e->kind == STORE_EVENT_PREDICTION) &&
      store_job_state_parse((const char *)sqlite3_column_text(s, EVENT_STATE), &e->state) !=
          STORE_OK)
    status = STORE_EIO;
  e->epoch = sqlite3_column_int64(s, EVENT_EPOCH);
  e->version = sqlite3_column_int64(s, EVENT_VERSION);
  e->bytes = sqlite3_column_int64(s, EVENT_BYTES);
  if (status == STORE_OK && e->kind == STORE_EVENT_PREDICTION) {
    e->prediction_id = sqlite3_column_int64(s, EVENT_PREDICTION_ID);
    return store__column_text(s, EVENT_DETAIL, &e->detail);
  }
  if (status != STORE_OK || e->kind != STORE_EVENT_SEARCH) return status;
  e->search_id = sqlite3_column_int64(s, EVENT_SEARCH_ID);
  int type = 0;
  const char *name = (const char *)sqlite3_column_text(s, EVENT_TYPE);
  while (name != NULL && type < STORE_SEARCH_EVENT_COUNT && strcmp(name, search_event_names[type]))
    type++;
  if (name == NULL || type == STORE_SEARCH_EVENT_COUNT) return STORE_EIO; /* the CHECK's */
  e->type = (store_search_event)type;
  return store__column_text(s, EVENT_DETAIL, &e->detail);
}

/* Read what an event describes: the job of a state event, the metrics row of
 * an epoch event (a checkpoint event carries all it says). */
static int read_subject(store *st, store_event *e) {
  switch (e->kind) {
    case STORE_EVENT_STATE:
      return store_job_get(st, e->job_id, &e->job);
    case STORE_EVENT_EPOCH: {
      int status = store__metric_get(st, e->job_id, e->epoch, &e->metric);
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

static const store__sql events_after = {
    Q_EVENTS_AFTER, "SELECT " EVENT_COLS " FROM events WHERE id > :after ORDER BY id LIMIT :limit"};
/* Apart from the one above, so that this one can use events_by_job. */
static const store__sql job_events_after = {
    Q_JOB_EVENTS_AFTER, "SELECT " EVENT_COLS " FROM events WHERE job_id = :job_id AND id > :after"
                        " ORDER BY id LIMIT :limit"};

static const store__sql search_events_after = {
    Q_SEARCH_EVENTS_AFTER, "SELECT " EVENT_COLS " FROM events WHERE search_id = :search_id"
                           " AND id > :after ORDER BY id LIMIT :limit"};

/* Events after `after` read by sql (binding :id to id when it is > 0). */
static int read_events_after(store *st, const store__sql *sql, int64_t id, int64_t after,
                        size_t limit, store_event **out, size_t *n);

int store_events_after(store *st, int64_t job_id, int64_t after, size_t limit,
                       store_event **out, size_t *n) {
  return read_events_after(st, job_id > 0 ? &job_events_after : &events_after, job_id, after, limit,
                      out, n);
}

int store_search_events_after(store *st, int64_t search_id, int64_t after, size_t limit,
                              store_event **out, size_t *n) {
  if (search_id <= 0) return STORE_EINVAL;
  return read_events_after(st, &search_events_after, search_id, after, limit, out, n);
}

static int read_events_after(store *st, const store__sql *sql, int64_t id, int64_t after,
                        size_t limit, store_event **out, size_t *n) {
  void *rows = NULL;
  *out = NULL;
  *n = 0;
  if (limit == 0 || limit > INT_MAX) return STORE_EINVAL;
  int status = store__begin(st, Q_BEGIN_READ);
  if (status != STORE_OK) return status;
  store__query q = store__prepare(st, sql);
  store__bind_int64(&q, ":after", after);
  store__bind_int64(&q, ":limit", (int64_t)limit);
  if (sql == &job_events_after) store__bind_int64(&q, ":job_id", id);
  if (sql == &search_events_after) store__bind_int64(&q, ":search_id", id);
  status = store__run_list(&q, sizeof **out, read_event, clear_event, &rows, n);
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

static const store__sql events_latest = {Q_EVENTS_LATEST,
                                         "SELECT coalesce(max(id), 0) FROM events"};
/* The unfinished jobs, each with its newest event's id, in that order. */
static const store__sql events_active = {
    Q_EVENTS_ACTIVE, "SELECT " JOB_COLS ", (SELECT max(events.id) FROM events"
                     " WHERE events.job_id = jobs.id) AS last FROM jobs"
                     " WHERE state IN " JOB_ACTIVE " ORDER BY last, id"};
enum { ACTIVE_LAST = JOB_NCOLS };

/* A row of JOB_COLS and the id of the job's newest event. */
static int read_active(sqlite3_stmt *s, void *row) {
  store_event *e = row;
  memset(e, 0, sizeof *e);
  int status = store__read_job(s, &e->job);
  if (status != STORE_OK) return status;
  e->id = sqlite3_column_int64(s, ACTIVE_LAST);
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
  store__query q = store__prepare(st, &events_latest);
  status = store__run_one(&q, store__read_int64, NULL, latest);
  if (status == STORE_OK) {
    q = store__prepare(st, &events_active);
    status = store__run_list(&q, sizeof **out, read_active, clear_event, &rows, n);
  }
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
