/*
 * store_internal.h — what the store's files (store.c: schema, statements,
 * transactions; store_datasets.c: datasets; store_models.c:
 * models and their weights versions; store_jobs.c: jobs,
 * metrics and checkpoints) share; not for the rest of the daemon.
 */
#ifndef TRAIND_STORE_INTERNAL_H
#define TRAIND_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

/* Every statement of the store, prepared once per handle from store.c's table. */
enum query {
  Q_BEGIN_READ,
  Q_BEGIN_WRITE,
  Q_COMMIT,
  Q_ROLLBACK,
  Q_HEALTHZ,
  Q_DATASET_INSERT,
  Q_DATASET_GET,
  Q_DATASET_LIST,
  Q_DATASET_IN_USE,
  Q_DATASET_DELETE,
  Q_MODEL_INSERT,
  Q_MODEL_GET,
  Q_MODEL_BY_NAME,
  Q_MODEL_LIST,
  Q_MODEL_IN_USE,
  Q_MODEL_DELETE,
  Q_MODEL_WEIGHTS,
  Q_MODEL_WEIGHTS_AT,
  Q_MODEL_VERSION,
  Q_MODEL_PUBLISH,
  Q_VERSION_INSERT,
  Q_VERSION_PRUNE,
  Q_VERSION_LIST,
  Q_JOB_INSERT,
  Q_JOB_GET,
  Q_JOB_EXISTS,
  Q_JOB_LIST,
  Q_JOB_LIST_STATE,
  Q_JOB_LIST_MODEL,
  Q_JOB_LIST_MODEL_STATE,
  Q_JOB_COUNT,
  Q_JOB_CLAIM,
  Q_JOB_CANCEL,
  Q_JOB_FINISH,
  Q_JOB_REQUEUE,
  Q_JOB_PROGRESS,
  Q_RECOVER_CANCELLED,
  Q_RECOVER_FAILED,
  Q_RECOVER_REQUEUE,
  Q_RECOVER_CANCELLED_EVENTS,
  Q_RECOVER_FAILED_EVENTS,
  Q_RECOVER_REQUEUE_EVENTS,
  Q_METRIC_UPSERT,
  Q_METRICS_AFTER,
  Q_METRIC_GET,
  Q_CHECKPOINT_UPSERT,
  Q_JOB_CHECKPOINTED,
  Q_CHECKPOINT_PRUNE,
  Q_CHECKPOINT_LIST,
  Q_CHECKPOINT_LATEST,
  Q_EVENT_INSERT,
  Q_EVENTS_AFTER,
  Q_JOB_EVENTS_AFTER,
  Q_EVENTS_LATEST,
  Q_EVENTS_ACTIVE,
  Q_EVENTS_PRUNE,
  Q_METRICS_THIN,
  Q_COUNT
};

struct store {
  sqlite3 *db;
  int writing; /* holds a turn of the writers' queue */
  int schema_version;
  int64_t event_pending;  /* the newest event of the open transaction, 0 when none */
  int64_t events_kept;    /* newest events kept (store_keep_events), 0: all */
  store_event_hook on_event; /* told event_pending once it is committed */
  void *on_event_ud;
  sqlite3_stmt *stmt[Q_COUNT];
};

extern const char *const store__task_names[];
extern const char *const store__state_names[STORE_JOB_STATE_COUNT];
extern const char *const store__event_kind_names[STORE_EVENT_KIND_COUNT];

/* Reads the current row of s into row; @return a store_status. */
typedef int (*store__row_reader)(sqlite3_stmt *s, void *row);
/* Releases what a row_reader allocated. */
typedef void (*store__row_clear)(void *row);

/* The store_status of an SQLite result code. */
int store__status_of(int rc);
/* The same for a failed step or exec on db, telling a full disk behind an
 * I/O error (read before the statement is reset). */
int store__status_of_db(sqlite3 *db, int rc);
/* The current time as a store timestamp. */
void store__now(char out[STORE_TIME_LEN]);

/* Bind v, or NULL for NAN. */
void store__bind_double(sqlite3_stmt *s, int i, double v);
/* A column as a double; NAN for NULL. */
double store__column_double(sqlite3_stmt *s, int col);
/* Owned copy of a text column; *out is NULL for SQL NULL. */
int store__column_text(sqlite3_stmt *s, int col, char **out);
/* Owned copy of a blob column; want != 0 demands exactly that many bytes. */
int store__column_blob(sqlite3_stmt *s, int col, size_t want, void **out, size_t *len);
void store__column_time(sqlite3_stmt *s, int col, char out[STORE_TIME_LEN]);

/* Reset a statement and clear its bindings. */
void store__done(sqlite3_stmt *s);
/* Run a statement that returns no rows. */
int store__run(sqlite3_stmt *s);
/* Run a statement yielding at most one row into row; STORE_ENOTFOUND for none. */
int store__run_one(sqlite3_stmt *s, store__row_reader read, store__row_clear clear, void *row);
/* Run a statement yielding rows of size bytes into a malloc'd array. */
int store__run_list(sqlite3_stmt *s, size_t size, store__row_reader read, store__row_clear clear,
                    void **out, size_t *n);
/* A row_reader for one integer column. */
int store__read_int64(sqlite3_stmt *s, void *row);

/* This process's writers take turns (store.c explains why). */
void store__write_lock(store *st);
void store__write_unlock(store *st);
/* Begin a transaction; Q_BEGIN_WRITE also takes this process's write turn. */
int store__begin(store *st, enum query q);
/* Commit when status is STORE_OK, else roll back; releases the write turn. */
int store__end(store *st, int status);
/* Delete row id with del unless in_use says an active job uses it. */
int store__delete_unused(store *st, enum query in_use, enum query del, int64_t id);
/* Why an update guarded by the job's state matched nothing. */
int store__job_missing_or_conflict(store *st, int64_t id);

/* Row readers of store_jobs.c, shared with store_events.c. */
int store__read_job(sqlite3_stmt *s, void *row);
void store__clear_job(void *row);
int store__read_metric(sqlite3_stmt *s, void *row);

/* Record an event (job_id, kind, state, epoch, version, bytes of e) in the
 * open write transaction; store__end reports it to the hook once committed. */
int store__event(store *st, const store_event *e);
/* After a statement that inserted events: remember the newest, if any, and
 * prune the events past the newest st->events_kept, in the same transaction. */
int store__events_inserted(store *st);

#endif
