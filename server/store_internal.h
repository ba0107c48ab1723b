/*
 * store_internal.h — what the store's files share; not for the rest of the
 * daemon. The files, each holding the SQL of the tables it names:
 *   store.c           the connection, the schema and its migrations,
 *                     transactions, the statement cache, binding and
 *                     running helpers, errors and names
 *   store_datasets.c  datasets
 *   store_models.c    models and their weights versions (model_versions)
 *   store_jobs.c      jobs: the queue, state changes, crash recovery
 *   store_epochs.c    what each epoch of a job leaves: its progress, its
 *                     metrics row and checkpoint, committed together
 *   store_events.c    the jobs' event log
 *   store_evaluations.c  evaluations of models on datasets
 *   store_searches.c  hyperparameter searches, their trials and rungs
 *   store_pool.c      handles kept between requests (no SQL of its own)
 *
 * A statement is a `static const store__sql` beside the function that binds
 * it and reads its columns. Parameters are named (`:id`) and bound by name;
 * columns are read through an enum beside the column list.
 */
#ifndef TRAIND_STORE_INTERNAL_H
#define TRAIND_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

/* The slots of each handle's statement cache: one per statement of the
 * store, grouped by the file that holds its SQL. */
enum store__slot {
  /* store.c */
  Q_BEGIN_READ,
  Q_BEGIN_WRITE,
  Q_COMMIT,
  Q_ROLLBACK,
  Q_HEALTHZ,
  /* store_datasets.c */
  Q_DATASET_INSERT,
  Q_DATASET_GET,
  Q_DATASET_LIST,
  Q_DATASET_IN_USE,
  Q_DATASET_DELETE,
  Q_DATASET_PIECE_INSERT,
  Q_DATASET_PIECES_SIZE,
  Q_DATASET_PIECES,
  /* store_models.c */
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
  Q_MODEL_IMPORT,
  Q_VERSION_IMPORT,
  /* store_jobs.c */
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
  Q_JOB_CRASHED,
  Q_JOB_EXTEND,
  Q_RECOVER_CANCELLED,
  Q_RECOVER_FAILED,
  Q_RECOVER_REQUEUE,
  Q_RECOVER_CANCELLED_EVENTS,
  Q_RECOVER_FAILED_EVENTS,
  Q_RECOVER_REQUEUE_EVENTS,
  /* store_epochs.c */
  Q_JOB_PROGRESS,
  Q_METRIC_UPSERT,
  Q_METRICS_AFTER,
  Q_METRIC_GET,
  Q_CHECKPOINT_UPSERT,
  Q_JOB_CHECKPOINTED,
  Q_CHECKPOINT_PRUNE,
  Q_CHECKPOINT_LIST,
  Q_CHECKPOINT_LATEST,
  Q_METRICS_THIN,
  /* store_events.c */
  Q_EVENT_INSERT,
  Q_EVENTS_AFTER,
  Q_SEARCH_EVENTS_AFTER,
  Q_SEARCH_EVENT_INSERT,
  Q_JOB_EVENTS_AFTER,
  Q_EVENTS_LATEST,
  Q_EVENTS_ACTIVE,
  Q_EVENTS_PRUNE,
  /* store_evaluations.c */
  Q_EVALUATION_INSERT,
  Q_EVALUATION_GET,
  Q_EVALUATION_LIST,
  Q_EVALUATION_OF_JOB,

  Q_PREDICTION_INSERT,
  Q_PREDICTION_GET,
  Q_PREDICTION_LIST,
  Q_PREDICTION_CLAIM,
  Q_PREDICTION_START,
  Q_PREDICTION_BLOCK_INSERT,
  Q_PREDICTION_PROGRESS,
  Q_PREDICTION_FINISH,
  Q_PREDICTION_CANCEL,
  Q_PREDICTION_BLOCKS_DELETE,
  Q_PREDICTION_BLOCK_READ,
  Q_PREDICTION_RECOVER,
  Q_PREDICTION_EVENT,
  /* store_searches.c */
  Q_SEARCH_INSERT,
  Q_SEARCH_GET,
  Q_SEARCH_LIST,
  Q_SEARCH_LIST_ACTIVE,
  Q_SEARCH_FINISH,
  Q_SEARCH_TRIAL_INSERT,
  Q_SEARCH_TRIALS,
  Q_SEARCH_RUNG_PUT,
  Q_SEARCH_RUNGS,
  Q_COUNT
};

/* A statement: its SQL and its slot in the cache. */
typedef struct store__sql {
  enum store__slot slot;
  const char *text;
} store__sql;

struct store {
  sqlite3 *db;
  int writing;        /* holds a turn of the writers' queue */
  int in_transaction; /* between a successful store__begin and its store__end */
  int schema_version;
  int64_t event_pending;  /* the newest event of the open transaction, 0 when none */
  int64_t events_kept;    /* newest events kept (store_keep_events), 0: all */
  store_event_hook on_event; /* told event_pending once it is committed */
  void *on_event_ud;
  /* The statement cache: stmt[slot] is prepared from sql[slot] at its first
   * use on this handle (the transaction statements at store_open) and
   * finalized by store_close. */
  sqlite3_stmt *stmt[Q_COUNT];
  const store__sql *sql[Q_COUNT];
};

/* The jobs' columns, shared by store_jobs.c and store_events.c (which reads
 * the unfinished jobs with their newest event). */
#define JOB_COLS                                                                     \
  "id, model_id, dataset_id, state, config, epoch, epochs, loss, val_loss, accuracy, " \
  "val_accuracy, samples_per_second, restarts, cancel_requested, error, created_at, " \
  "started_at, finished_at, memory"
enum {
  JOB_ID, JOB_MODEL_ID, JOB_DATASET_ID, JOB_STATE, JOB_CONFIG, JOB_EPOCH, JOB_EPOCHS,
  JOB_LOSS, JOB_VAL_LOSS, JOB_ACCURACY, JOB_VAL_ACCURACY, JOB_SAMPLES_PER_SECOND,
  JOB_RESTARTS, JOB_CANCEL_REQUESTED, JOB_ERROR, JOB_CREATED_AT, JOB_STARTED_AT,
  JOB_FINISHED_AT, JOB_MEMORY,
  JOB_NCOLS
};
/* The count of the class names in a row's classes column (datasets, models),
 * for the lists that carry it instead of the names: 0 for NULL, -1 when the
 * stored text is not JSON (damaged; json_array_length would fail the whole
 * statement, where a damaged row is to be left out of its list). */
#define CLASS_COUNT_COL \
  "CASE WHEN classes IS NULL THEN 0 WHEN json_valid(classes) THEN json_array_length(classes)" \
  " ELSE -1 END"
/* The states of a job that still uses its model and dataset. */
#define JOB_ACTIVE "('queued', 'running')"

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

/*
 * A statement being bound and run. The first failure (preparing it, binding
 * a value SQLite refuses) sticks: later binds do nothing and the run
 * functions return it, so a caller checks once, at the run.
 */
typedef struct store__query {
  sqlite3_stmt *s; /* NULL when preparing failed */
  int status;
} store__query;

/* sql's statement on st, prepared at its first use on st. */
store__query store__prepare(store *st, const store__sql *sql);
/* Bind to the parameter `name` (":id"); values are bound in place
 * (SQLITE_STATIC), so they must live until the run. */
void store__bind_int64(store__query *q, const char *name, int64_t v);
/* v, or NULL for NAN. */
void store__bind_double(store__query *q, const char *name, double v);
/* t, or NULL for a NULL t. */
void store__bind_text(store__query *q, const char *name, const char *t);
void store__bind_blob(store__query *q, const char *name, const void *b, size_t n);

/* A column as a double; NAN for NULL. */
double store__column_double(sqlite3_stmt *s, int col);
/* Owned copy of a text column; *out is NULL for SQL NULL. */
int store__column_text(sqlite3_stmt *s, int col, char **out);
/* Owned copy of a blob column; want != 0 demands exactly that many bytes. */
int store__column_blob(sqlite3_stmt *s, int col, size_t want, void **out, size_t *len);
void store__column_time(sqlite3_stmt *s, int col, char out[STORE_TIME_LEN]);

/* Reset a statement and clear its bindings. */
void store__done(store__query *q);
/* Run a statement that returns no rows. */
int store__run(store__query *q);
/* Run a statement yielding at most one row into row; STORE_ENOTFOUND for none. */
int store__run_one(store__query *q, store__row_reader read, store__row_clear clear, void *row);
/* Run a statement yielding rows of size bytes into a malloc'd array. */
int store__run_list(store__query *q, size_t size, store__row_reader read, store__row_clear clear,
                    void **out, size_t *n);
/* A row_reader for one integer column. */
int store__read_int64(sqlite3_stmt *s, void *row);

/* This process's writers take turns (store.c explains why). */
void store__write_lock(store *st);
void store__write_unlock(store *st);
/* Begin a transaction; Q_BEGIN_WRITE also takes this process's write turn. */
int store__begin(store *st, enum store__slot begin);
/* Commit when status is STORE_OK, else roll back; releases the write turn. */
int store__end(store *st, int status);
/* Delete row :id with del unless in_use says an active job uses it. */
int store__delete_unused(store *st, const store__sql *in_use, const store__sql *del, int64_t id);

/* store_jobs.c: whether job id exists (STORE_OK or STORE_ENOTFOUND), and
 * why an update guarded by the job's state matched nothing. */
int store__job_exists(store *st, int64_t id);
int store__job_missing_or_conflict(store *st, int64_t id);
/* store_jobs.c: the row reader of JOB_COLS, shared with store_events.c. */
int store__read_job(sqlite3_stmt *s, void *row);
void store__clear_job(void *row);

/* store_models.c: the newest weights version of model id. */
int store__model_version(store *st, int64_t id, int64_t *version);
/* store_models.c: publish e's weights as model_id's next version (returned
 * in *version) and prune the old versions, in the open write transaction. */
int store__model_publish(store *st, const store_epoch *e, int64_t model_id, int64_t *version);

/* store_epochs.c: store a job's checkpoint at epoch and keep the newest few,
 * in the open write transaction. */
int store__checkpoint_save(store *st, int64_t job_id, int64_t epoch, const uint8_t *data,
                           size_t len);
/* store_epochs.c: the metrics row of job_id at epoch. */
int store__metric_get(store *st, int64_t job_id, int64_t epoch, store_metric *out);

/* store_events.c: record an event (job_id, kind, state, epoch, version,
 * bytes of e) in the open write transaction; store__end reports it to the
 * hook once committed. */
int store__event(store *st, const store_event *e);
/* store_events.c: record search search_id's event of type with its detail
 * (a JSON object's text) in the open write transaction; search_id 0 is the
 * row the last INSERT made. */
int store__search_event(store *st, int64_t search_id, store_search_event type,
                        const char *detail);
/* After a statement that inserted events: remember the newest, if any, and
 * prune the events past the newest st->events_kept, in the same transaction. */
int store__events_inserted(store *st);

#endif
