/*
 * store.h — the daemon's SQLite store: datasets, models, jobs, per-epoch
 * metrics, training checkpoints and the event log of jobs. The store_*.c
 * files are the only ones that speak SQL.
 *
 * A `store` handle wraps its own SQLite connection and prepared statements,
 * and is used by one thread at a time (store_pool.h hands them between
 * threads). Every function returns
 * STORE_OK (0) or a negative store_status; rows come back as plain structs
 * whose strings are owned (release them with the matching _clear/_free);
 * after a failure an out-struct is left empty, so clearing it is always safe.
 *
 * Metrics that are unknown or absent (val_loss without a validation split,
 * accuracy for regression) are NAN in C and NULL in SQL, both ways.
 * Timestamps are RFC 3339 UTC with seconds ("2026-11-27T05:00:00Z"); a
 * timestamp that is not set yet is "".
 */
#ifndef TRAIND_STORE_H
#define TRAIND_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "errors.h"

#define STORE_TIME_LEN 32         /* room for any RFC 3339 timestamp we write */
#define STORE_CHECKPOINTS_KEPT 3  /* newest checkpoints kept per job */
#define STORE_VERSIONS_KEPT 10    /* newest weights versions kept per model, by default */
#define STORE_MAX_RESTARTS 3      /* crash restarts in a row without a new checkpoint
                                     before a job is failed */
#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_METRICS_DENSE 10000 /* a job keeps every epoch's metrics up to this many
                                     epochs, then at most about this many rows */

typedef enum {
  STORE_OK = 0,
  STORE_ENOTFOUND = -1, /* no such row (or a referenced row is missing) */
  STORE_ECONFLICT = -2, /* the row is in a state that forbids the change */
  STORE_EBUSY = -3,     /* the database stayed locked past the busy timeout */
  STORE_EIO = -4,       /* I/O error or a corrupt database */
  STORE_ENOMEM = -5,
  STORE_EINVAL = -6,    /* an argument is inconsistent (shape vs. blob sizes...) */
  STORE_ETOOBIG = -7,   /* a blob or string exceeds SQLite's size limit */
  STORE_ESCHEMA = -8,   /* the database was written by a newer schema */
  STORE_EFULL = -9,     /* the disk (or quota) holding the database is full;
                           nothing of the failed write was kept */
  STORE_ECORRUPT = -10  /* the file is damaged, or is not an SQLite database */
} store_status;

typedef struct store store;

/* ---- handle ---------------------------------------------------------------- */

/**
 * Open (creating if needed) the database file at path and bring its schema up
 * to date. Settings: WAL journal, synchronous=FULL, foreign keys on, busy
 * timeout STORE_BUSY_TIMEOUT_MS.
 * @param out receives the handle, or NULL on failure
 * @return STORE_OK, STORE_EIO (cannot open, or not a WAL-capable file),
 *         STORE_ECORRUPT (damaged, or not a database), STORE_EBUSY,
 *         STORE_ESCHEMA or STORE_ENOMEM
 */
int store_open(const char *path, store **out);

/** Finalize statements and close the connection. NULL is a no-op. */
void store_close(store *st);

/**
 * @return true when no transaction is open and no statement is mid-way on
 *         st: nothing of one use can leak into the next
 */
bool store_idle(store *st);

/** Free what st's page cache holds; its statements stay prepared. */
void store_shrink(store *st);

/** @return the schema version of the open database (PRAGMA user_version). */
int store_schema_version(const store *st);

/** @return SQLite's message for the handle's last failure, for logs. */
const char *store_errmsg(const store *st);

/** @return a static sentence for a store_status. */
const char *store_strerror(int status);

/** @return the API code a store_status answers with (not found → 404...). */
api_code store_api_code(int status);

/** The database answers a trivial query. @return STORE_OK or an error */
int store_healthz(store *st);

/**
 * Format t as RFC 3339 UTC with seconds — the one timestamp format of the store.
 * @param out receives e.g. "2026-11-27T05:00:00Z"
 */
void store_timestamp(time_t t, char out[STORE_TIME_LEN]);

/* ---- datasets --------------------------------------------------------------- */

typedef enum { STORE_TASK_REGRESSION, STORE_TASK_CLASSIFICATION } store_task;

/** @return "regression" or "classification" (NULL when out of range). */
const char *store_task_name(store_task task);

typedef struct {
  int64_t id;
  char *name;
  int64_t rows;
  int64_t features;
  int64_t outputs; /* target width (regression) or class count (classification) */
  store_task task;
  char *classes;   /* JSON array of class names, or NULL (and in lists) */
  int64_t n_classes; /* the names in classes (lists read only this); -1 when they
                        are damaged (not JSON) */
  char created_at[STORE_TIME_LEN];
  /* A typed table (issue 14) rather than numbers: then features counts its
   * feature columns, rows all its rows, and the fields below are set. */
  int table;
  char *target;               /* the target column's name */
  int64_t rows_without_target;
  char *columns;              /* the columns' profile, a JSON array */
} store_dataset;

/* A dataset's numbers; exactly one of y, labels is set, as its task says.
 * A table's: only table, its stored form (nn_table_save). */
typedef struct {
  float *x;        /* (rows, features) */
  float *y;        /* (rows, outputs), regression */
  int32_t *labels; /* (rows,), classification: indices in [0, outputs) */
  uint8_t *table;  /* (table_len,) */
  size_t table_len;
  /* On insert, in place of table: the caller writes the table_len bytes
   * itself, in pieces through put, straight into the stored blob (inside
   * the insert's transaction), so no second copy of a large table is held.
   * Returns 0, or nonzero to abort the insert (STORE_EIO). */
  int (*write_table)(void *ud, int (*put)(void *ctx, const void *buf, size_t len), void *ctx);
  void *write_table_ud;
} store_dataset_data;

/**
 * Insert a dataset with all its numbers in one statement. The blobs are
 * written straight from the caller's buffers (no copy is made). A table's
 * stored form goes into dataset_pieces, 1 MiB a row, in the transaction
 * of the dataset's row: from data->table, or as data->write_table gives it.
 * @param meta name, rows, features, outputs, task, classes (id, created_at ignored)
 * @param data borrowed; sizes follow meta's shape
 * @param out  receives the stored row (id, created_at set); may be NULL
 * @return STORE_OK, STORE_EINVAL (shape/task/data mismatch), STORE_ETOOBIG, ...
 */
int store_dataset_insert(store *st, const store_dataset *meta,
                         const store_dataset_data *data, store_dataset *out);

/** Read a dataset's metadata. @return STORE_OK or STORE_ENOTFOUND */
int store_dataset_get(store *st, int64_t id, store_dataset *out);

/**
 * Read a dataset's metadata and numbers in one consistent read.
 * @param meta receives the metadata
 * @param data receives malloc'd arrays; release with store_dataset_data_clear
 */
int store_dataset_get_data(store *st, int64_t id, store_dataset *meta,
                           store_dataset_data *data);

/** All datasets, oldest first; release with store_dataset_list_free. */
int store_dataset_list(store *st, store_dataset **out, size_t *n);

/**
 * Delete a dataset. Finished jobs that used it keep their history with no
 * dataset (dataset_id 0).
 * @return STORE_OK, STORE_ENOTFOUND, or STORE_ECONFLICT while a queued or
 *         running job uses it
 */
int store_dataset_delete(store *st, int64_t id);

/**
 * Read a dataset's metadata and k = min(n, rows) of its rows, spread evenly
 * over it (rows floor(i * rows / k), i = 0..k-1), in one consistent read
 * that touches those rows' bytes only (a gradient check needs a few rows of
 * a dataset that may be large).
 * @param n    rows wanted, >= 1
 * @param meta receives the metadata (meta->rows: the whole dataset's)
 * @param data receives (k, ...) arrays; release with store_dataset_data_clear
 * @param k    receives the rows read
 * @return STORE_OK, STORE_ENOTFOUND, STORE_EINVAL (n < 1), STORE_ENOMEM...
 */
int store_dataset_sample(store *st, int64_t id, size_t n, store_dataset *meta,
                         store_dataset_data *data, size_t *k);

void store_dataset_clear(store_dataset *d);
void store_dataset_data_clear(store_dataset_data *d);
void store_dataset_list_free(store_dataset *list, size_t n);

/* ---- models ------------------------------------------------------------------- */

typedef struct {
  int64_t id;
  char *name;
  char *spec;         /* normalized JSON */
  int64_t parameters;
  int64_t version;    /* weights version: 0 until the first checkpoint */
  int trained;        /* weights have been published */
  int64_t last_job;   /* job that published the weights, 0 when none */
  char created_at[STORE_TIME_LEN];
  char *classes;      /* JSON array of the class names it predicts, or NULL (and in lists) */
  int64_t n_classes;  /* the names in classes (lists read only this); -1 when they
                         are damaged (not JSON) */
} store_model;

/**
 * Insert a model (version 0, untrained).
 * @param out receives the stored row; may be NULL
 */
int store_model_insert(store *st, const char *name, const char *spec, int64_t parameters,
                       store_model *out);

int store_model_get(store *st, int64_t id, store_model *out);

/**
 * Insert a model that arrives trained (an imported model file): its row and
 * one weights version, kept with no job, in one transaction.
 * @param version the weights version it gets, >= 1
 * @param classes JSON array text, or NULL
 * @param encoding its table encoding (nn_encoder_save), or NULL
 * @param out     receives the stored row; may be NULL
 */
int store_model_import(store *st, const char *name, const char *spec, int64_t parameters,
                       int64_t version, const uint8_t *weights, size_t len,
                       const char *classes, const uint8_t *encoding, size_t encoding_len,
                       store_model *out);

/**
 * The model named name; names need not be unique, and the newest model (the
 * highest id) of that name wins.
 * @return STORE_OK or STORE_ENOTFOUND
 */
int store_model_find(store *st, const char *name, store_model *out);

/** All models, oldest first; release with store_model_list_free. */
int store_model_list(store *st, store_model **out, size_t *n);

/**
 * Delete a model with its jobs, metrics and checkpoints.
 * @return STORE_OK, STORE_ENOTFOUND, or STORE_ECONFLICT while one of its jobs
 *         is queued or running
 */
int store_model_delete(store *st, int64_t id);

/* A version of a model's weights. */
typedef struct {
  uint8_t *buf;    /* a weights-only core checkpoint; NULL (len 0) when never trained,
                    * or when the version asked for is not kept */
  size_t len;
  int64_t version; /* its version; the newest one (0 when never trained) if buf is NULL */
  char *classes;   /* the class names it predicts (JSON array text), or NULL */
  int64_t newest;  /* the model's newest version when read */
  uint8_t *encoding; /* its table encoding (nn_encoder_save), or NULL */
  size_t encoding_len;
} store_weights;

/**
 * A model's published weights with their version and class names, read
 * together so they always match.
 * @param version the version wanted, or 0 for the newest
 * @param out     release with store_weights_clear
 * @return STORE_OK (buf NULL for a version not kept: see
 *         store_job_epoch_commit), or STORE_ENOTFOUND (no such model)
 */
int store_model_weights(store *st, int64_t id, int64_t version, store_weights *out);

void store_weights_clear(store_weights *w);

/* A kept weights version, without its bytes. */
typedef struct {
  int64_t version;
  int64_t job_id;  /* the job that published it; 0 for versions older than */
  int64_t epoch;   /* the history (schema 5), which record neither */
  int64_t bytes;   /* size of its checkpoint */
  char published_at[STORE_TIME_LEN]; /* "" when unknown */
} store_model_version;

/**
 * The kept weights versions of a model, newest first; none until trained.
 * @param out receives a malloc'd array (free it), NULL when empty
 * @return STORE_OK or STORE_ENOTFOUND (no such model)
 */
int store_model_versions(store *st, int64_t id, store_model_version **out, size_t *n);

void store_model_clear(store_model *m);
void store_model_list_free(store_model *list, size_t n);

/* ---- jobs ---------------------------------------------------------------------- */

typedef enum {
  STORE_JOB_QUEUED,
  STORE_JOB_RUNNING,
  STORE_JOB_SUCCEEDED,
  STORE_JOB_FAILED,
  STORE_JOB_CANCELLED,
  STORE_JOB_STATE_COUNT
} store_job_state;

/** @return "queued", "running"... (NULL when out of range). */
const char *store_job_state_name(store_job_state state);

/** Parse a state name. @return STORE_OK or STORE_EINVAL */
int store_job_state_parse(const char *s, store_job_state *out);

typedef struct {
  int64_t id;
  int64_t model_id;
  int64_t dataset_id;   /* 0 once the dataset was deleted (finished jobs only) */
  store_job_state state;
  char *config;         /* the job's training configuration, JSON */
  int64_t epoch;        /* epochs completed */
  int64_t epochs;
  double loss;          /* latest epoch's metrics; NAN when unknown */
  double val_loss;
  double accuracy;
  double val_accuracy;
  double samples_per_second;
  int64_t restarts;     /* times a daemon crash interrupted it */
  int cancel_requested;
  char *error;          /* why it failed, or NULL */
  char created_at[STORE_TIME_LEN];
  char started_at[STORE_TIME_LEN];  /* first claim; "" while never run */
  char finished_at[STORE_TIME_LEN]; /* "" until it ends */
  int64_t memory;       /* bytes it takes to train (budget.h); 0 when unknown */
} store_job;

/*
 * Every change a job's followers see is logged as an event in the
 * transaction that makes it (see "events" below): the functions that change
 * a job's state record a state event, an epoch commit an epoch event and,
 * with a checkpoint, a checkpoint event.
 */

/**
 * Queue a job.
 * @param memory the bytes it takes to train (budget_job_bytes), >= 0
 * @param out receives the stored row; may be NULL
 * @return STORE_OK, or STORE_ENOTFOUND when the model or dataset is missing
 */
int store_job_insert(store *st, int64_t model_id, int64_t dataset_id, const char *config,
                     int64_t epochs, int64_t memory, store_job *out);

int store_job_get(store *st, int64_t id, store_job *out);

/**
 * Jobs, oldest first, optionally filtered.
 * @param state    only jobs in this state, or -1 for any
 * @param model_id only jobs of this model, or 0 for any
 */
int store_job_list(store *st, int state, int64_t model_id, store_job **out, size_t *n);

/** Jobs in each state, indexed by store_job_state. */
int store_job_count(store *st, int64_t counts[STORE_JOB_STATE_COUNT]);

/**
 * Atomically take the oldest queued job that may run now: it becomes running
 * (started_at set on its first run). A job waits while another job of its
 * model runs (a model trains in one job at a time), and while its memory
 * exceeds room; a job whose memory exceeds the whole budget is taken at once,
 * for its worker to fail. Safe against other handles claiming at the same time.
 * @param room   bytes the running jobs leave of the budget
 * @param budget all the bytes training may take
 * @return STORE_OK, or STORE_ENOTFOUND when no queued job may run now
 */
int store_job_claim(store *st, int64_t room, int64_t budget, store_job *out);

/**
 * Ask a job to stop: a queued job is cancelled at once; a running job gets
 * cancel_requested (its worker ends it, no event until then); a finished job
 * is left unchanged.
 * @param out receives the job after the change; may be NULL
 */
int store_job_request_cancel(store *st, int64_t id, store_job *out);

/**
 * End a running job.
 * @param state STORE_JOB_SUCCEEDED, _FAILED or _CANCELLED
 * @param error message for a failure, or NULL
 * @return STORE_OK, STORE_EINVAL (state not final), STORE_ENOTFOUND, or
 *         STORE_ECONFLICT when the job is not running
 */
int store_job_finish(store *st, int64_t id, store_job_state state, const char *error);

/**
 * Queue a succeeded job again to train on to epochs, from its newest
 * checkpoint (a search's promotion: the trial continues exactly as if it had
 * never stopped). Logs the state event.
 * @param config the job's config with those epochs
 * @param out    receives the job; may be NULL
 * @return STORE_OK, STORE_EINVAL, STORE_ENOTFOUND, or STORE_ECONFLICT unless
 *         the job succeeded before reaching epochs
 */
int store_job_extend(store *st, int64_t id, int64_t epochs, const char *config, store_job *out);

/**
 * Put a running job back in the queue without counting a restart (the daemon
 * is stopping gracefully), with the checkpoint of where it paused, in one
 * transaction; the job resumes from that checkpoint. Events: the checkpoint
 * (with the model's current weights version, as it publishes nothing), then
 * the state.
 * @param epoch      epochs it completed (the checkpoint may hold part of the next)
 * @param checkpoint core checkpoint with trainer state, or NULL to resume from
 *                   the newest one already stored
 * @return STORE_OK, STORE_EINVAL, STORE_ENOTFOUND, or STORE_ECONFLICT when the
 *         job is not running
 */
int store_job_pause(store *st, int64_t id, int64_t epoch, const uint8_t *checkpoint,
                    size_t len);

/**
 * A running job's processes died under it (a data-parallel job's ranks,
 * mpi_job.h): counted like a crash of the daemon (store_jobs_recover), it is
 * queued again to resume from its newest checkpoint, or fails with error
 * once it crashed more than STORE_MAX_RESTARTS times in a row without a new
 * checkpoint in between. Logs the state event.
 * @param out receives the job (its state says which); may be NULL
 * @return STORE_OK, STORE_ENOTFOUND, or STORE_ECONFLICT when it is not running
 */
int store_job_crashed(store *st, int64_t id, const char *error, store_job *out);

/* One epoch's metrics row; NAN fields are stored as NULL. */
typedef struct {
  int64_t epoch; /* 1-based */
  double loss;
  double val_loss;
  double accuracy;
  double val_accuracy;
  double lr;
  double seconds;
  char *layers;  /* per-layer diagnostics, JSON array text (json_out_layers), or NULL
                  * when none were recorded; owned by rows read from the store */
  int threads;   /* compute threads the epoch ran on, at most; 0 when unknown */
} store_metric;

/* What a worker records after an epoch. */
typedef struct {
  int64_t job_id;
  store_metric metric;
  double samples_per_second;   /* NAN when unknown */
  const uint8_t *checkpoint;   /* core checkpoint with trainer state, or NULL */
  size_t checkpoint_len;
  const uint8_t *weights;      /* weights-only checkpoint to publish; NULL: */
  size_t weights_len;          /* publish the checkpoint itself */
  const char *classes;         /* class names (JSON array) recorded with the */
                               /* published weights, or NULL for regression */
  const uint8_t *encoding;     /* the table encoding published with the weights */
  size_t encoding_len;         /* (nn_encoder_save), or NULL */
  int versions_kept;           /* besides each job's last, the newest weights */
} store_epoch;                 /* versions kept (>= 1; 0: STORE_VERSIONS_KEPT) */

/**
 * Record an epoch in ONE transaction: upsert the metrics row (a resumed job
 * re-runs epochs past its last checkpoint), update the job's progress and,
 * when a checkpoint is given, store it, keep the newest
 * STORE_CHECKPOINTS_KEPT, and publish the model's weights (version + 1,
 * trained, last_job) as a new version. Older versions are dropped except
 * the newest versions_kept and the last one each job published (the
 * weights a finished job ended with). Past STORE_METRICS_DENSE epochs the
 * job's metrics are thinned to store_metrics_stride(epoch), in the same
 * transaction. Either all of it is on disk or none.
 * @param version receives the model's weights version after the commit; may be NULL
 * @return STORE_OK, STORE_EINVAL, STORE_ENOTFOUND, or STORE_ECONFLICT when
 *         the job is not running
 */
int store_job_epoch_commit(store *st, const store_epoch *e, int64_t *version);

/**
 * The resolution of a job's metrics once it has run epoch epochs: it keeps
 * the rows of the epochs that are multiples of this stride, and its newest
 * row. 1 up to STORE_METRICS_DENSE epochs, then the smallest power of two
 * that keeps at most STORE_METRICS_DENSE rows (and the newest): the stride
 * doubles at 10,000, 20,000, 40,000... epochs, and each time every other
 * row goes.
 */
int64_t store_metrics_stride(int64_t epoch);

/**
 * At daemon start, settle jobs a crash left running: those with a cancel
 * request become cancelled, those interrupted more than STORE_MAX_RESTARTS
 * times in a row without storing a checkpoint in between become failed (with
 * an error saying so), the rest are queued again with restarts + 1, each with
 * its state event. Counts may be NULL.
 */
int store_jobs_recover(store *st, int *requeued, int *failed, int *cancelled);

void store_job_clear(store_job *j);
void store_job_list_free(store_job *list, size_t n);

/* ---- metrics and checkpoints ----------------------------------------------------- */

/**
 * A job's metrics for epochs > after, in epoch order; release with
 * store_metric_list_free.
 * @return STORE_OK or STORE_ENOTFOUND when the job does not exist
 */
int store_metrics_after(store *st, int64_t job_id, int64_t after, store_metric **out,
                        size_t *n);

/** Free a list from store_metrics_after and the layers text of its rows. NULL is a no-op. */
void store_metric_list_free(store_metric *list, size_t n);

typedef struct {
  int64_t epoch;
  int64_t bytes;
  char created_at[STORE_TIME_LEN];
} store_checkpoint;

/** A job's stored checkpoints, oldest first; free(*out). STORE_ENOTFOUND: no job. */
int store_checkpoint_list(store *st, int64_t job_id, store_checkpoint **out, size_t *n);

/**
 * The newest checkpoint of a job, to resume from.
 * @param buf receives a malloc'd copy
 * @return STORE_OK, or STORE_ENOTFOUND when the job has none
 */
int store_checkpoint_latest(store *st, int64_t job_id, int64_t *epoch, uint8_t **buf,
                            size_t *len);

/* ---- events ---------------------------------------------------------------------- */

/*
 * The event log: ids are positive, increase in commit order and are never
 * reused, across restarts too. A job's events go when the job does.
 */

typedef enum {
  STORE_EVENT_STATE,      /* the job entered a state */
  STORE_EVENT_EPOCH,      /* an epoch's metrics were committed */
  STORE_EVENT_CHECKPOINT, /* a checkpoint was written */
  STORE_EVENT_SEARCH,     /* a search changed (store_searches.h logs them) */
  STORE_EVENT_PREDICTION, /* a batch prediction changed (store_predictions.h logs them) */
  STORE_EVENT_KIND_COUNT
} store_event_kind;

/* What a search event says (its type). */
typedef enum {
  STORE_SEARCH_CREATED,         /* the search was created */
  STORE_SEARCH_TRIAL_STARTED,   /* a trial's job was queued for its first rung */
  STORE_SEARCH_TRIAL_PAUSED,    /* a trial reached a rung below the last: it waits there */
  STORE_SEARCH_TRIAL_PROMOTED,  /* a paused trial goes on to the next rung */
  STORE_SEARCH_TRIAL_DONE,      /* a trial trained to the last rung */
  STORE_SEARCH_TRIAL_STOPPED,   /* the search ended with the trial paused */
  STORE_SEARCH_TRIAL_FAILED,    /* a trial's job failed or went away */
  STORE_SEARCH_FINISHED,        /* the search ended (succeeded or cancelled): its last event */
  STORE_SEARCH_EVENT_COUNT
} store_search_event;

/** @return "created", "trial_started", ... (NULL when out of range). */
const char *store_search_event_name(store_search_event type);

/** @return "state", "epoch", "checkpoint", "search" or "prediction" (NULL when out of range). */
const char *store_event_kind_name(store_event_kind kind);

/**
 * Told, on the committing thread right after a commit that logged events,
 * the newest one's id. Must not block: writers wait for it.
 */
typedef void (*store_event_hook)(void *ud, int64_t event_id);

/** Call hook(ud, id) after each of this handle's commits that logged events. */
void store_on_event(store *st, store_event_hook hook, void *ud);

/**
 * Retention: each of this handle's writes that logs events deletes, in its
 * transaction, the events older than the newest n (of all jobs; 0 keeps
 * them all, the default). A stream resuming from a pruned id goes on at the
 * oldest event kept.
 */
void store_keep_events(store *st, int64_t n);

typedef struct {
  int64_t id;
  int64_t job_id;
  store_event_kind kind;
  store_job_state state; /* STATE, PREDICTION: the state it entered (or is in) */
  int64_t epoch;         /* STATE: epochs completed then; EPOCH, CHECKPOINT: its epoch */
  int64_t version;       /* CHECKPOINT: the model's weights version */
  int64_t bytes;         /* CHECKPOINT: its size */
  store_job job;         /* STATE: the job as it is when read (zeroed otherwise) */
  store_metric metric;   /* EPOCH: the epoch's metrics row as it is when read */
  int64_t search_id;     /* SEARCH: the search */
  store_search_event type; /* SEARCH: what changed */
  char *detail;          /* SEARCH, PREDICTION: a JSON object, the rest of what it says */
  int64_t prediction_id; /* PREDICTION: the batch prediction */
} store_event;

/**
 * Events with ids > after, oldest first, with what they describe, all read
 * in one snapshot; release with store_event_list_free.
 * @param job_id only this job's events, or 0 for every job's
 * @param limit  at most this many, 1..INT_MAX
 * @return STORE_OK (none is not an error) or an error
 */
int store_events_after(store *st, int64_t job_id, int64_t after, size_t limit,
                       store_event **out, size_t *n);

/** As store_events_after, of one search's events only. */
int store_search_events_after(store *st, int64_t search_id, int64_t after, size_t limit,
                              store_event **out, size_t *n);

/**
 * Where a stream of every job starts without a Last-Event-ID: each queued or
 * running job as a state event of its current state carrying the id of its
 * newest event, ordered by that id; and the newest event id of all, in the
 * same snapshot. Release with store_event_list_free.
 * @param latest receives the newest event id, 0 when the log is empty
 */
int store_events_active(store *st, store_event **out, size_t *n, int64_t *latest);

void store_event_clear(store_event *e);
void store_event_list_free(store_event *list, size_t n);

/* ---- evaluations ----------------------------------------------------------------- */

/* An evaluation of a model's weights version on a dataset's rows. */
typedef struct {
  int64_t id;
  int64_t model_id;
  int64_t version;    /* the weights version evaluated */
  int64_t dataset_id; /* the dataset's id then (it may be deleted since) */
  int64_t job_id;     /* the job whose test_dataset this is, or 0 */
  store_task task;
  int64_t rows;
  char *summary; /* JSON object text: the headline numbers */
  char *result;  /* JSON object text: the whole evaluation; NULL in lists */
  char created_at[STORE_TIME_LEN];
} store_evaluation;

/**
 * Store an evaluation.
 * @param e    model_id, version, dataset_id, job_id, task, rows, summary,
 *             result (id, created_at ignored)
 * @param out  receives the stored row's id and created_at (strings not
 *             copied: summary and result stay NULL); may be NULL
 * @return STORE_OK, STORE_EINVAL, STORE_ENOTFOUND (the model is gone), ...
 */
int store_evaluation_insert(store *st, const store_evaluation *e, store_evaluation *out);

/** Read evaluation id of model model_id. @return STORE_OK or STORE_ENOTFOUND */
int store_evaluation_get(store *st, int64_t model_id, int64_t id, store_evaluation *out);

/**
 * A model's evaluations, oldest first, without their result; release with
 * store_evaluation_list_free. @return STORE_OK (none is not an error) or an error
 */
int store_evaluation_list(store *st, int64_t model_id, store_evaluation **out, size_t *n);

/** The test evaluation of job job_id (without its result). @return STORE_OK
 * or STORE_ENOTFOUND (none: no test_dataset, or not evaluated yet) */
int store_evaluation_of_job(store *st, int64_t job_id, store_evaluation *out);

void store_evaluation_clear(store_evaluation *e);
void store_evaluation_list_free(store_evaluation *list, size_t n);

#endif
