/*
 * store.c — the SQLite store's connection: schema and migrations,
 * transactions, the statement cache, and the helpers that bind and run
 * statements. The statements themselves sit in the file of their table
 * (store_internal.h lists the files), beside the code that binds them;
 * this one holds only those of transactions.
 *
 * Every statement is prepared once per handle, at its first use (the
 * transaction statements at store_open, so that ending a transaction never
 * has to prepare anything), and run with bound parameters only; values are
 * never formatted into SQL text. A handle that serves one request thus
 * prepares only what the request runs. Writes that touch more than one row
 * run in BEGIN IMMEDIATE transactions: taking the write lock up front means
 * a transaction never has to upgrade a stale WAL read snapshot (which fails
 * with SQLITE_BUSY_SNAPSHOT instead of waiting on busy_timeout).
 */
#include "store_internal.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Blobs hold the host's float32/int32 bytes as they are; the format promises
 * little-endian, so a big-endian host would need byte swapping here. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "store.c writes host-order blobs and assumes a little-endian host"
#endif

/* ---- schema ------------------------------------------------------------------ */

/*
 * Migrations: migrations[i] brings a database from user_version i to i + 1,
 * in its own transaction. Append new scripts; never edit a released one.
 *
 * The state and task names in CHECK constraints and in the statements of the
 * store_*.c files are the same strings as the name tables further down (the
 * schema cannot refer to C).
 */
static const char *const migrations[] = {
    /* 1: initial schema. */
    /* A dataset is written once, in one row, with all its numbers: x is
     * float32 (rows, features); regression keeps float32 targets y (rows,
     * outputs), classification int32 labels (rows,) and, when the labels
     * were names, classes as a JSON array. Blob lengths are checked against
     * the shape so a reader can trust them. */
    "CREATE TABLE datasets ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  rows INTEGER NOT NULL CHECK (rows > 0),"
    "  features INTEGER NOT NULL CHECK (features > 0),"
    "  outputs INTEGER NOT NULL CHECK (outputs > 0),"
    "  task TEXT NOT NULL CHECK (task IN ('regression', 'classification')),"
    "  classes TEXT,"
    "  x BLOB NOT NULL CHECK (length(x) = rows * features * 4),"
    "  y BLOB CHECK (y IS NULL OR length(y) = rows * outputs * 4),"
    "  labels BLOB CHECK (labels IS NULL OR length(labels) = rows * 4),"
    "  created_at TEXT NOT NULL,"
    "  CHECK ((task = 'regression') = (y IS NOT NULL)),"
    "  CHECK ((task = 'classification') = (labels IS NOT NULL))"
    ");"
    /* weights is the latest published core checkpoint (weights only; moved
     * to model_versions by migration 5) and version counts publications, so
     * predict caches can tell stale copies.
     * classes (a JSON array) names the outputs of a model trained for
     * classification, copied from its dataset when weights are published, so
     * predictions keep their labels after the dataset is deleted.
     * last_job has no foreign key: jobs already reference models, and a
     * model's jobs only disappear together with the model. */
    "CREATE TABLE models ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  spec TEXT NOT NULL,"
    "  parameters INTEGER NOT NULL CHECK (parameters > 0),"
    "  version INTEGER NOT NULL DEFAULT 0,"
    "  weights BLOB,"
    "  trained INTEGER NOT NULL DEFAULT 0,"
    "  last_job INTEGER,"
    "  classes TEXT,"
    "  created_at TEXT NOT NULL"
    ");"
    /* A job dies with its model (its history means nothing without it), but
     * outlives its dataset: deleting a dataset is refused while an active job
     * uses it, and finished jobs keep their history with dataset_id NULL.
     * Progress columns mirror the latest metrics row; NULL means unknown. */
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
    "    ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
    "  config TEXT NOT NULL,"
    "  epoch INTEGER NOT NULL DEFAULT 0,"
    "  epochs INTEGER NOT NULL CHECK (epochs > 0),"
    "  loss REAL,"
    "  val_loss REAL,"
    "  accuracy REAL,"
    "  val_accuracy REAL,"
    "  samples_per_second REAL,"
    "  restarts INTEGER NOT NULL DEFAULT 0,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT,"
    "  created_at TEXT NOT NULL,"
    "  started_at TEXT,"
    "  finished_at TEXT"
    ");"
    /* The queue (oldest queued first), the in-use checks before deletes, and
     * the foreign keys' cascades all look jobs up by these. */
    "CREATE INDEX jobs_by_state ON jobs (state, id);"
    "CREATE INDEX jobs_by_model ON jobs (model_id, state);"
    "CREATE INDEX jobs_by_dataset ON jobs (dataset_id, state);"
    /* One small row per epoch; WITHOUT ROWID clusters a job's rows by epoch. */
    "CREATE TABLE metrics ("
    "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  loss REAL,"
    "  val_loss REAL,"
    "  accuracy REAL,"
    "  val_accuracy REAL,"
    "  lr REAL,"
    "  seconds REAL,"
    "  PRIMARY KEY (job_id, epoch)"
    ") WITHOUT ROWID;"
    /* Core checkpoints with trainer state, to resume a job after a crash.
     * Only the newest few per job are kept (pruned at each insert). A rowid
     * table, because large blobs do not belong in WITHOUT ROWID b-trees. */
    "CREATE TABLE checkpoints ("
    "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  data BLOB NOT NULL CHECK (length(data) = bytes),"
    "  created_at TEXT NOT NULL,"
    "  UNIQUE (job_id, epoch)"
    ");",

    /* 2: the event log that GET /v1/events and /v1/jobs/{id}/events stream. */
    /* One small row per change a client follows, written in the transaction
     * of the change so the log and the tables never disagree. What a client
     * is sent (the job, the metrics row) is read from the other tables when
     * the event goes out, so the rows stay small.
     *   id       AUTOINCREMENT: ids only grow and are never reused, even after
     *            the newest events left with a deleted model, so a client
     *            resuming after its Last-Event-ID never skips a new event.
     *   job_id   whose change; deleting the job (with its model) deletes them.
     *   kind     'state' (the job entered a state), 'epoch' (an epoch's
     *            metrics were committed), 'checkpoint' (a checkpoint written).
     *   state    the state entered ('state' only): the job row keeps only
     *            the latest, and a replay must show each one.
     *   epoch    epochs completed at a state change; the epoch of an 'epoch'
     *            event (its metrics row is read by (job_id, epoch)) or of a
     *            checkpoint.
     *   version  the model's weights version ('checkpoint' only).
     *   bytes    the checkpoint's size ('checkpoint' only): old checkpoints
     *            are pruned, so it cannot be read back later.
     * The index serves one job's stream and the cascade from jobs.
     * Jobs that predate the log get their epochs and their current state as
     * events, so their streams replay like those of newer jobs. */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('state', 'epoch', 'checkpoint')),"
    "  state TEXT CHECK (state IN"
    "    ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
    "  epoch INTEGER NOT NULL,"
    "  version INTEGER,"
    "  bytes INTEGER,"
    "  CHECK ((kind = 'state') = (state IS NOT NULL)),"
    "  CHECK ((kind = 'checkpoint') = (version IS NOT NULL AND bytes IS NOT NULL))"
    ");"
    "CREATE INDEX events_by_job ON events (job_id, id);"
    "INSERT INTO events (job_id, kind, epoch)"
    "  SELECT job_id, 'epoch', epoch FROM metrics ORDER BY job_id, epoch;"
    "INSERT INTO events (job_id, kind, state, epoch)"
    "  SELECT id, 'state', state, epoch FROM jobs ORDER BY id;",

    /* 3: a job is given up on after crashes that leave it where it was, not
     * after crashes as such: restarts keeps counting every crash (the API
     * shows it), stalled_restarts only those since its last checkpoint. A
     * daemon killed over and over thus never fails a job that moves on
     * between the kills, and a job that brings the daemon down before its
     * next checkpoint still stops being retried. */
    "ALTER TABLE jobs ADD COLUMN stalled_restarts INTEGER NOT NULL DEFAULT 0;",

    /* 4: each epoch's per-layer training diagnostics, a JSON array (see
     * json_out_layers); NULL for epochs recorded before. */
    "ALTER TABLE metrics ADD COLUMN layers TEXT;",

    /* 5: weights versions, so a client can keep calling the weights it
     * validated while newer ones are trained (/v2/models/{name}/versions/
     * {v}). Every publication is a row; models.version stays the newest
     * version's number and the weights move here, out of the models rows
     * that every list and lookup reads.
     *   job_id, epoch  the job and epoch that published it; NULL for weights
     *                  published before this table existed.
     *   classes        the class names these weights predict: a model may
     *                  be retrained on a dataset that names them otherwise.
     * Kept per model (store_job_epoch_commit): the newest few, and the
     * newest of each job, i.e. the weights each finished job ended with.
     * A rowid table, as large blobs do not belong in WITHOUT ROWID b-trees. */
    "CREATE TABLE model_versions ("
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  job_id INTEGER,"
    "  epoch INTEGER,"
    "  weights BLOB NOT NULL,"
    "  classes TEXT,"
    "  published_at TEXT,"
    "  PRIMARY KEY (model_id, version)"
    ");"
    "INSERT INTO model_versions (model_id, version, job_id, weights, classes)"
    "  SELECT id, version, last_job, weights, classes FROM models WHERE weights IS NOT NULL;"
    "ALTER TABLE models DROP COLUMN weights;",

    /* 6: the compute threads each epoch ran on (the most its batches used),
     * so a figure of samples_per_second comes with the budget it had; NULL
     * for epochs recorded before. The weights do not depend on it. */
    "ALTER TABLE metrics ADD COLUMN threads INTEGER;",

    /* 7: evaluations of a model's weights on a dataset (POST
     * /v1/models/{id}/evaluate). result is the whole evaluation, metrics and
     * curves, as the JSON object an API client reads (tens of kilobytes at
     * most: curves and samples are capped); summary is its headline numbers,
     * what a list shows without reading result. An evaluation dies with its
     * model and outlives its dataset: dataset_id has no foreign key, it
     * records which rows were used. */
    "CREATE TABLE evaluations ("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  dataset_id INTEGER NOT NULL,"
    "  task TEXT NOT NULL CHECK (task IN ('regression', 'classification')),"
    "  rows INTEGER NOT NULL CHECK (rows > 0),"
    "  summary TEXT NOT NULL,"
    "  result TEXT NOT NULL,"
    "  created_at TEXT NOT NULL"
    ");"
    "CREATE INDEX evaluations_by_model ON evaluations (model_id, id);",
    /* 8: the bytes a job is estimated to take while it trains (budget.h),
     * set when it is queued: a worker claims a job only when this fits what
     * the running jobs leave of --memory-budget. NULL for jobs queued
     * before, which are claimed as if they took nothing. */
    "ALTER TABLE jobs ADD COLUMN memory INTEGER;",

    /* 9: hyperparameter searches (store_searches.c). config is the search's
     * normalized request; a trial is a model of the search's, params the
     * values it drew; a rung row is one job of a trial: running until that
     * job ends, then done with the metric it reached, or failed. A trial's
     * model and jobs are ordinary rows: deleting them leaves the ids. */
    "CREATE TABLE searches ("
    "  id INTEGER PRIMARY KEY,"
    "  state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'cancelled')),"
    "  config TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  finished_at TEXT"
    ");"
    "CREATE TABLE search_trials ("
    "  search_id INTEGER NOT NULL REFERENCES searches(id) ON DELETE CASCADE,"
    "  trial INTEGER NOT NULL CHECK (trial >= 0),"
    "  params TEXT NOT NULL,"
    "  model_id INTEGER NOT NULL,"
    "  PRIMARY KEY (search_id, trial)"
    ") WITHOUT ROWID;"
    "CREATE TABLE search_rungs ("
    "  search_id INTEGER NOT NULL REFERENCES searches(id) ON DELETE CASCADE,"
    "  trial INTEGER NOT NULL,"
    "  rung INTEGER NOT NULL CHECK (rung >= 0),"
    "  job_id INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),"
    "  metric REAL,"
    "  PRIMARY KEY (search_id, trial, rung)"
    ") WITHOUT ROWID;",

    /* 10: typed tables (issue 14). A dataset is of a kind: 'numeric' as
     * before (x, and y or labels), or 'table': the raw typed table in data
     * (nn_table_save's stored form, docs/table-format.md; never a lossy
     * encoding: the encoding belongs to the model), its target column's
     * name, the rows whose target is missing (kept, never trained on), and
     * the per-column profile as JSON (columns), computed once at upload.
     * features counts a table's feature columns; outputs its classes (or 1).
     * SQLite cannot relax a CHECK in place: the table is rebuilt, with the
     * foreign keys off around the migrations (migrate_locked) so dropping
     * the old table touches no job.
     * encoding: the preprocessing fitted with a weights version
     * (docs/encoding-format.md), NULL for weights trained on numbers. */
    "CREATE TABLE datasets_new ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  kind TEXT NOT NULL DEFAULT 'numeric' CHECK (kind IN ('numeric', 'table')),"
    "  rows INTEGER NOT NULL CHECK (rows > 0),"
    "  features INTEGER NOT NULL CHECK (features > 0),"
    "  outputs INTEGER NOT NULL CHECK (outputs > 0),"
    "  task TEXT NOT NULL CHECK (task IN ('regression', 'classification')),"
    "  classes TEXT,"
    "  x BLOB CHECK (x IS NULL OR length(x) = rows * features * 4),"
    "  y BLOB CHECK (y IS NULL OR length(y) = rows * outputs * 4),"
    "  labels BLOB CHECK (labels IS NULL OR length(labels) = rows * 4),"
    "  target TEXT,"
    "  rows_without_target INTEGER,"
    "  columns TEXT,"
    "  data BLOB,"
    "  created_at TEXT NOT NULL,"
    "  CHECK ((kind = 'numeric') = (x IS NOT NULL)),"
    "  CHECK ((kind = 'table') = (data IS NOT NULL AND target IS NOT NULL"
    "    AND rows_without_target IS NOT NULL AND columns IS NOT NULL)),"
    "  CHECK (kind = 'table' OR (task = 'regression') = (y IS NOT NULL)),"
    "  CHECK (kind = 'table' OR (task = 'classification') = (labels IS NOT NULL))"
    ");"
    "INSERT INTO datasets_new (id, name, rows, features, outputs, task, classes, x, y, labels,"
    "  created_at)"
    "  SELECT id, name, rows, features, outputs, task, classes, x, y, labels, created_at"
    "  FROM datasets;"
    "DROP TABLE datasets;"
    "ALTER TABLE datasets_new RENAME TO datasets;"
    "ALTER TABLE model_versions ADD COLUMN encoding BLOB;",

    /* 11: searches' events in the log (issue 16), so the event streams tell
     * a search's progress as they tell a job's, durably and resumably.
     *   kind 'search'  a search changed; job_id is NULL (a job's stream does
     *                  not carry it), search_id says which, type what
     *                  (store_search_event_name) and detail holds the rest as
     *                  a JSON object (trial, rung, job, metric; the best
     *                  trial of 'finished').
     * The table is rebuilt (SQLite cannot relax NOT NULL nor a CHECK in
     * place); its AUTOINCREMENT counter is carried over, so ids pruned or
     * gone with their jobs are still never reused. */
    "CREATE TABLE events_new ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id INTEGER REFERENCES jobs(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('state', 'epoch', 'checkpoint', 'search')),"
    "  state TEXT CHECK (state IN"
    "    ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
    "  epoch INTEGER NOT NULL,"
    "  version INTEGER,"
    "  bytes INTEGER,"
    "  search_id INTEGER REFERENCES searches(id) ON DELETE CASCADE,"
    "  type TEXT CHECK (type IN ('created', 'trial_started', 'trial_paused', 'trial_promoted',"
    "    'trial_done', 'trial_stopped', 'trial_failed', 'finished')),"
    "  detail TEXT,"
    "  CHECK ((kind = 'state') = (state IS NOT NULL)),"
    "  CHECK ((kind = 'checkpoint') = (version IS NOT NULL AND bytes IS NOT NULL)),"
    "  CHECK ((kind = 'search') = (job_id IS NULL)),"
    "  CHECK ((kind = 'search') = (search_id IS NOT NULL AND type IS NOT NULL"
    "    AND detail IS NOT NULL))"
    ");"
    "INSERT INTO events_new (id, job_id, kind, state, epoch, version, bytes)"
    "  SELECT id, job_id, kind, state, epoch, version, bytes FROM events;"
    "DELETE FROM sqlite_sequence WHERE name = 'events_new';"
    "INSERT INTO sqlite_sequence (name, seq)"
    "  SELECT 'events_new', seq FROM sqlite_sequence WHERE name = 'events';"
    "DROP TABLE events;"
    "ALTER TABLE events_new RENAME TO events;"
    "CREATE INDEX events_by_job ON events (job_id, id);"
    "CREATE INDEX events_by_search ON events (search_id, id);",

    /* 12: the job whose test_dataset an evaluation is (issue 15), NULL for
     * one asked for by POST evaluate; at most one per job. Like dataset_id
     * it records an id, without a foreign key: a job goes with its model,
     * and so does the evaluation. */
    "ALTER TABLE evaluations ADD COLUMN job_id INTEGER;"
    "CREATE UNIQUE INDEX evaluations_by_job ON evaluations (job_id)"
    "  WHERE job_id IS NOT NULL;",

    /* 13: a table's stored form in pieces of at most 1 MiB, in order
     * (store_dataset_insert): SQLite builds a record holding all of a
     * value's bytes, so one blob of the whole table cost a large upload its
     * table twice more in memory (the buffer and the record; as a zeroblob
     * written in place, its expansion and the record). A table's data
     * column now holds an empty blob; the tables stored before move here. */
    "CREATE TABLE dataset_pieces ("
    "  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,"
    "  piece INTEGER NOT NULL CHECK (piece >= 0),"
    "  bytes BLOB NOT NULL,"
    "  UNIQUE (dataset_id, piece)"
    ");"
    "INSERT INTO dataset_pieces (dataset_id, piece, bytes)"
    "  SELECT id, 0, data FROM datasets WHERE kind = 'table';"
    "UPDATE datasets SET data = x'' WHERE kind = 'table';",

    /* 14: batch predictions over a stored dataset (issue 15), run by the
     * workers like jobs: one row each, in the jobs' states, with its
     * progress (rows_done of rows) and the output written as it is made,
     * as blocks of consecutive rows (the float32 outputs of rows rows,
     * row-major). A run interrupted by a crash resumes after its last
     * block. A prediction goes with its model; its dataset is an id
     * (deleting the dataset fails a queued run, as it fails a job).
     * The event log takes kind 'prediction' (prediction_id, state, detail
     * {"rows":..,"rows_done":..}); the table is rebuilt as in 11. */
    "CREATE TABLE predictions ("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  dataset_id INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN"
    "    ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
    "  rows INTEGER NOT NULL CHECK (rows >= 0),"
    "  rows_done INTEGER NOT NULL DEFAULT 0 CHECK (rows_done BETWEEN 0 AND rows),"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT,"
    "  created_at TEXT NOT NULL,"
    "  started_at TEXT,"
    "  finished_at TEXT"
    ");"
    "CREATE INDEX predictions_by_state ON predictions (state, id);"
    "CREATE TABLE prediction_blocks ("
    "  prediction_id INTEGER NOT NULL REFERENCES predictions(id) ON DELETE CASCADE,"
    "  first_row INTEGER NOT NULL CHECK (first_row >= 0),"
    "  rows INTEGER NOT NULL CHECK (rows > 0),"
    "  outputs INTEGER NOT NULL CHECK (outputs > 0),"
    "  y BLOB NOT NULL CHECK (length(y) = rows * outputs * 4),"
    "  PRIMARY KEY (prediction_id, first_row)"
    ") WITHOUT ROWID;"
    "CREATE TABLE events_new ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id INTEGER REFERENCES jobs(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN"
    "    ('state', 'epoch', 'checkpoint', 'search', 'prediction')),"
    "  state TEXT CHECK (state IN"
    "    ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
    "  epoch INTEGER NOT NULL,"
    "  version INTEGER,"
    "  bytes INTEGER,"
    "  search_id INTEGER REFERENCES searches(id) ON DELETE CASCADE,"
    "  type TEXT CHECK (type IN ('created', 'trial_started', 'trial_paused', 'trial_promoted',"
    "    'trial_done', 'trial_stopped', 'trial_failed', 'finished')),"
    "  detail TEXT,"
    "  prediction_id INTEGER REFERENCES predictions(id) ON DELETE CASCADE,"
    "  CHECK ((kind IN ('state', 'prediction')) = (state IS NOT NULL)),"
    "  CHECK ((kind = 'checkpoint') = (version IS NOT NULL AND bytes IS NOT NULL)),"
    "  CHECK ((kind IN ('search', 'prediction')) = (job_id IS NULL)),"
    "  CHECK ((kind = 'search') = (search_id IS NOT NULL AND type IS NOT NULL)),"
    "  CHECK ((kind = 'prediction') = (prediction_id IS NOT NULL)),"
    "  CHECK ((kind IN ('search', 'prediction')) = (detail IS NOT NULL))"
    ");"
    "INSERT INTO events_new (id, job_id, kind, state, epoch, version, bytes, search_id, type,"
    "  detail)"
    "  SELECT id, job_id, kind, state, epoch, version, bytes, search_id, type, detail"
    "  FROM events;"
    "DELETE FROM sqlite_sequence WHERE name = 'events_new';"
    "INSERT INTO sqlite_sequence (name, seq)"
    "  SELECT 'events_new', seq FROM sqlite_sequence WHERE name = 'events';"
    "DROP TABLE events;"
    "ALTER TABLE events_new RENAME TO events;"
    "CREATE INDEX events_by_job ON events (job_id, id);"
    "CREATE INDEX events_by_search ON events (search_id, id);"
    "CREATE INDEX events_by_prediction ON events (prediction_id, id);",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- names ------------------------------------------------------------------- */

const char *const store__task_names[] = {
    [STORE_TASK_REGRESSION] = "regression",
    [STORE_TASK_CLASSIFICATION] = "classification",
};

const char *const store__state_names[STORE_JOB_STATE_COUNT] = {
    [STORE_JOB_QUEUED] = "queued",       [STORE_JOB_RUNNING] = "running",
    [STORE_JOB_SUCCEEDED] = "succeeded", [STORE_JOB_FAILED] = "failed",
    [STORE_JOB_CANCELLED] = "cancelled",
};

const char *const store__event_kind_names[STORE_EVENT_KIND_COUNT] = {
    [STORE_EVENT_STATE] = "state",
    [STORE_EVENT_EPOCH] = "epoch",
    [STORE_EVENT_CHECKPOINT] = "checkpoint",
    [STORE_EVENT_SEARCH] = "search",
    [STORE_EVENT_PREDICTION] = "prediction",
};

const char *store_event_kind_name(store_event_kind kind) {
  if ((unsigned)kind >= STORE_EVENT_KIND_COUNT) return NULL;
  return store__event_kind_names[kind];
}

const char *store_task_name(store_task task) {
  if ((unsigned)task >= sizeof store__task_names / sizeof store__task_names[0]) return NULL;
  return store__task_names[task];
}

const char *store_job_state_name(store_job_state state) {
  if ((unsigned)state >= STORE_JOB_STATE_COUNT) return NULL;
  return store__state_names[state];
}

int store_job_state_parse(const char *s, store_job_state *out) {
  for (int i = 0; s != NULL && i < STORE_JOB_STATE_COUNT; i++) {
    if (strcmp(s, store__state_names[i]) == 0) {
      *out = (store_job_state)i;
      return STORE_OK;
    }
  }
  return STORE_EINVAL;
}

/* ---- errors and time ----------------------------------------------------------- */

/* Map an SQLite result code (extended codes are on) to a store_status. */
int store__status_of(int rc) {
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_DONE:
    return STORE_OK;
  case SQLITE_FULL:
    return STORE_EFULL;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return STORE_EBUSY;
  case SQLITE_NOMEM:
    return STORE_ENOMEM;
  case SQLITE_TOOBIG:
    return STORE_ETOOBIG;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return STORE_ECORRUPT;
  case SQLITE_CONSTRAINT:
    /* Inserts name their parents (model, dataset); a missing parent is a
     * 404 for the caller, not a malformed row. */
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return STORE_ENOTFOUND;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
      return STORE_ECONFLICT;
    return STORE_EINVAL;
  default:
    return STORE_EIO;
  }
}

/* The same for a failure of db's I/O: SQLite reports a write that found the
 * disk full as SQLITE_FULL, but a full disk met while syncing, truncating or
 * growing the shared-memory file comes back as an SQLITE_IOERR_* code, with
 * the system's errno kept aside. Call it before resetting the statement. */
int store__status_of_db(sqlite3 *db, int rc) {
  if ((rc & 0xff) == SQLITE_IOERR) {
    int e = sqlite3_system_errno(db);
    if (e == ENOSPC || e == EDQUOT) return STORE_EFULL;
  }
  return store__status_of(rc);
}

const char *store_strerror(int status) {
  switch (status) {
  case STORE_OK: return "ok";
  case STORE_ENOTFOUND: return "not found";
  case STORE_ECONFLICT: return "conflicts with the current state";
  case STORE_EBUSY: return "database is busy";
  case STORE_EIO: return "database I/O error";
  case STORE_ENOMEM: return "out of memory";
  case STORE_EINVAL: return "invalid argument";
  case STORE_ETOOBIG: return "value too large for the database";
  case STORE_ESCHEMA: return "database schema is newer than this program";
  case STORE_EFULL: return "the disk holding the database is full";
  case STORE_ECORRUPT: return "the file is damaged, or is not an SQLite database";
  default: return "unknown store error";
  }
}

api_code store_api_code(int status) {
  switch (status) {
  case STORE_OK: return API_OK;
  case STORE_ENOTFOUND: return API_NOT_FOUND;
  case STORE_ECONFLICT: return API_CONFLICT;
  case STORE_EBUSY: return API_UNAVAILABLE;
  case STORE_ETOOBIG: return API_PAYLOAD_TOO_LARGE;
  case STORE_EINVAL: return API_INVALID_ARGUMENT;
  case STORE_EFULL: return API_STORAGE_FULL;
  default: return API_INTERNAL;
  }
}

void store_timestamp(time_t t, char out[STORE_TIME_LEN]) {
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || strftime(out, STORE_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    out[0] = '\0';
}

void store__now(char out[STORE_TIME_LEN]) { store_timestamp(time(NULL), out); }

/* ---- the statement cache ------------------------------------------------------- */

/*
 * A handle's cache has a slot per statement (enum store__slot), filled at
 * the statement's first use and emptied only by store_close, which
 * finalizes every slot: one cleanup path, and nothing mutable outside the
 * handle. The descriptors (store__sql) are constant and live in their files.
 */
store__query store__prepare(store *st, const store__sql *sql) {
  assert(sql->slot < Q_COUNT);
  /* Each slot belongs to one statement. */
  assert(st->sql[sql->slot] == NULL || st->sql[sql->slot] == sql);
  sqlite3_stmt **s = &st->stmt[sql->slot];
  if (*s == NULL) {
    int rc = sqlite3_prepare_v3(st->db, sql->text, -1, SQLITE_PREPARE_PERSISTENT, s, NULL);
    if (rc != SQLITE_OK) return (store__query){NULL, store__status_of(rc)};
    st->sql[sql->slot] = sql;
  }
  /* A statement is run to its end and reset before its next use. */
  assert(!sqlite3_stmt_busy(*s));
  return (store__query){*s, STORE_OK};
}

/* The index of the parameter name; every name a caller binds is one of its
 * statement's (a misspelt one would otherwise leave a NULL behind). */
static int param(store__query *q, const char *name) {
  int i = sqlite3_bind_parameter_index(q->s, name);
  assert(i > 0 && "no such parameter in the statement");
  return i;
}

/* Keep the first failure of a bind. */
static void bound(store__query *q, int rc) {
  if (rc != SQLITE_OK) q->status = store__status_of(rc);
}

void store__bind_int64(store__query *q, const char *name, int64_t v) {
  if (q->status == STORE_OK) bound(q, sqlite3_bind_int64(q->s, param(q, name), v));
}

void store__bind_double(store__query *q, const char *name, double v) {
  if (q->status != STORE_OK) return;
  int i = param(q, name);
  bound(q, isnan(v) ? sqlite3_bind_null(q->s, i) : sqlite3_bind_double(q->s, i, v));
}

void store__bind_text(store__query *q, const char *name, const char *t) {
  if (q->status == STORE_OK)
    bound(q, sqlite3_bind_text(q->s, param(q, name), t, -1, SQLITE_STATIC));
}

void store__bind_blob(store__query *q, const char *name, const void *b, size_t n) {
  if (q->status == STORE_OK)
    bound(q, sqlite3_bind_blob64(q->s, param(q, name), b, n, SQLITE_STATIC));
}

/* ---- running statements ------------------------------------------------------- */

double store__column_double(sqlite3_stmt *s, int col) {
  return sqlite3_column_type(s, col) == SQLITE_NULL ? NAN : sqlite3_column_double(s, col);
}

/* Owned copy of a text column; *out is NULL for SQL NULL. */
int store__column_text(sqlite3_stmt *s, int col, char **out) {
  *out = NULL;
  if (sqlite3_column_type(s, col) == SQLITE_NULL) return STORE_OK;
  const unsigned char *t = sqlite3_column_text(s, col);
  if (t == NULL) return STORE_ENOMEM; /* converting the value failed */
  size_t n = (size_t)sqlite3_column_bytes(s, col);
  if ((*out = malloc(n + 1)) == NULL) return STORE_ENOMEM;
  memcpy(*out, t, n + 1);
  return STORE_OK;
}

/* Owned copy of a blob column; NULL with *len 0 for SQL NULL. When want is
 * nonzero the blob must be exactly that long (shape checks). An empty blob
 * (SQLite gives NULL for it, as for a failed allocation) is an owned empty
 * buffer, for the reader to find that it holds nothing. */
int store__column_blob(sqlite3_stmt *s, int col, size_t want, void **out, size_t *len) {
  const void *b = sqlite3_column_blob(s, col);
  size_t n = (size_t)sqlite3_column_bytes(s, col);
  *out = NULL;
  if (len) *len = 0;
  if (b == NULL && sqlite3_column_type(s, col) == SQLITE_NULL) return STORE_OK;
  if (b == NULL && n > 0) return STORE_ENOMEM;
  if (want != 0 && n != want) return STORE_EIO;
  if ((*out = malloc(n > 0 ? n : 1)) == NULL) return STORE_ENOMEM;
  if (n > 0) memcpy(*out, b, n);
  if (len) *len = n;
  return STORE_OK;
}

void store__column_time(sqlite3_stmt *s, int col, char out[STORE_TIME_LEN]) {
  const unsigned char *t = sqlite3_column_text(s, col);
  snprintf(out, STORE_TIME_LEN, "%s", t ? (const char *)t : "");
}

void store__done(store__query *q) {
  if (q->s == NULL) return;
  sqlite3_reset(q->s);
  sqlite3_clear_bindings(q->s);
}

/* Run a statement that returns no rows. */
int store__run(store__query *q) {
  if (q->status != STORE_OK) {
    store__done(q);
    return q->status;
  }
  int rc = sqlite3_step(q->s);
  int status = rc == SQLITE_DONE ? STORE_OK : store__status_of_db(sqlite3_db_handle(q->s), rc);
  store__done(q);
  return status;
}

/* Run a statement that yields at most one row, read into row. The statement
 * is stepped to completion so an autocommit (and any error of it) happens
 * here, before the caller reports success.
 * @return STORE_OK, STORE_ENOTFOUND when there was no row, or an error */
int store__run_one(store__query *q, store__row_reader read, store__row_clear clear, void *row) {
  if (q->status != STORE_OK) {
    store__done(q);
    return q->status;
  }
  sqlite3_stmt *s = q->s;
  int status = STORE_ENOTFOUND;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    status = read(s, row);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && status == STORE_OK && clear != NULL) clear(row);
  }
  if (rc != SQLITE_DONE)
    status = rc == SQLITE_ROW ? STORE_EIO : store__status_of_db(sqlite3_db_handle(s), rc);
  store__done(q);
  return status;
}

/* Run a statement that yields any number of rows of `size` bytes each into
 * a malloc'd array. */
int store__run_list(store__query *q, size_t size, store__row_reader read, store__row_clear clear,
                    void **out, size_t *n) {
  char *rows = NULL;
  size_t count = 0, cap = 0;
  int status = q->status, rc = SQLITE_DONE;
  while (status == STORE_OK && (rc = sqlite3_step(q->s)) == SQLITE_ROW) {
    if (count == cap) {
      size_t grown = cap ? 2 * cap : 8;
      char *bigger = realloc(rows, grown * size);
      if (bigger == NULL) {
        status = STORE_ENOMEM;
        break;
      }
      rows = bigger;
      cap = grown;
    }
    if ((status = read(q->s, rows + count * size)) != STORE_OK) break;
    count++;
  }
  if (status == STORE_OK && rc != SQLITE_DONE)
    status = store__status_of_db(sqlite3_db_handle(q->s), rc);
  store__done(q);
  if (status != STORE_OK) {
    for (size_t i = 0; clear != NULL && i < count; i++) clear(rows + i * size);
    free(rows);
    rows = NULL;
    count = 0;
  }
  *out = rows;
  *n = count;
  return status;
}

int store__read_int64(sqlite3_stmt *s, void *row) {
  *(int64_t *)row = sqlite3_column_int64(s, 0);
  return STORE_OK;
}

/* ---- transactions ---------------------------------------------------------------- */

/*
 * SQLite admits one writer at a time and makes the others sleep and retry
 * (busy_timeout). A worker committing tiny epochs back to back holds the lock
 * nearly all the time, so a request's write could sleep through its whole
 * timeout. The writers of this process therefore take turns here first, in
 * arrival order (a ticket lock), and meet SQLite's lock only when theirs is
 * the turn; busy_timeout still covers other processes.
 */
static struct {
  pthread_mutex_t mutex;
  pthread_cond_t turn;
  uint64_t next, serving;
} writers = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

void store__write_lock(store *st) {
  /* A handle takes one turn at a time, outside any transaction of its own
   * (store__begin takes it before BEGIN IMMEDIATE). */
  assert(!st->writing && !st->in_transaction);
  pthread_mutex_lock(&writers.mutex);
  uint64_t ticket = writers.next++;
  while (ticket != writers.serving) pthread_cond_wait(&writers.turn, &writers.mutex);
  pthread_mutex_unlock(&writers.mutex);
  st->writing = 1;
}

void store__write_unlock(store *st) {
  assert(st->writing);
  st->writing = 0;
  pthread_mutex_lock(&writers.mutex);
  writers.serving++;
  pthread_cond_broadcast(&writers.turn);
  pthread_mutex_unlock(&writers.mutex);
}

static const store__sql begin_read = {Q_BEGIN_READ, "BEGIN"};
static const store__sql begin_write = {Q_BEGIN_WRITE, "BEGIN IMMEDIATE"};
static const store__sql commit = {Q_COMMIT, "COMMIT"};
static const store__sql rollback = {Q_ROLLBACK, "ROLLBACK"};

int store__begin(store *st, enum store__slot begin) {
  assert(begin == Q_BEGIN_READ || begin == Q_BEGIN_WRITE);
  /* Transactions do not nest. */
  assert(!st->in_transaction && !st->writing);
  if (begin == Q_BEGIN_WRITE) store__write_lock(st);
  store__query q = store__prepare(st, begin == Q_BEGIN_WRITE ? &begin_write : &begin_read);
  int status = store__run(&q);
  if (status == STORE_OK)
    st->in_transaction = 1;
  else if (st->writing)
    store__write_unlock(st);
  return status;
}

/* Commit when status is STORE_OK, otherwise roll back; @return the outcome.
 * Events the transaction logged are announced once they are on disk. */
int store__end(store *st, int status) {
  assert(st->in_transaction);
  /* Events are only logged in write transactions. */
  assert(st->writing || st->event_pending == 0);
  int64_t event = st->event_pending;
  st->event_pending = 0;
  st->in_transaction = 0;
  store__query q;
  if (status == STORE_OK) {
    q = store__prepare(st, &commit);
    status = store__run(&q);
  }
  /* SQLite may already have rolled back by itself (disk full, I/O error). */
  if (status != STORE_OK && !sqlite3_get_autocommit(st->db)) {
    q = store__prepare(st, &rollback);
    store__run(&q);
  }
  if (st->writing) store__write_unlock(st);
  if (status == STORE_OK && event > 0 && st->on_event != NULL) st->on_event(st->on_event_ud, event);
  return status;
}

/* ---- opening ------------------------------------------------------------------------ */

/* Run a statement returning one value (a pragma) and copy it as text. */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t n) {
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
  if (rc != SQLITE_OK) return store__status_of(rc);
  rc = sqlite3_step(s);
  const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
  snprintf(buf, n, "%s", t ? (const char *)t : "");
  int status = rc == SQLITE_ROW ? STORE_OK : store__status_of_db(db, rc);
  sqlite3_finalize(s);
  return status;
}

static int migrate_steps(store *st);

/* Apply the missing migrations, each with its version bump in one
 * transaction. The version is re-read under the write lock, so two daemons
 * starting at once cannot both apply a script. */
static int migrate_locked(store *st) {
  /* Off outside a transaction only (SQLite ignores it inside one): a
   * migration that rebuilds a table drops the old one, and with the keys on
   * that would set the jobs' dataset_id to NULL. */
  int rc = sqlite3_exec(st->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
  if (rc != SQLITE_OK) return store__status_of_db(st->db, rc);
  int status = migrate_steps(st);
  rc = sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
  return status == STORE_OK && rc != SQLITE_OK ? store__status_of_db(st->db, rc) : status;
}

static int migrate_steps(store *st) {
  for (;;) {
    char text[32];
    int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return store__status_of_db(st->db, rc);
    int status = query_text(st->db, "PRAGMA user_version", text, sizeof text);
    int version = atoi(text);
    if (status == STORE_OK && version > N_MIGRATIONS) status = STORE_ESCHEMA;
    if (status != STORE_OK || version == N_MIGRATIONS) {
      st->schema_version = version;
      if (status == STORE_OK)
        status = store__status_of_db(st->db, sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL));
      if (status != STORE_OK && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      return status;
    }
    /* PRAGMA takes no bound parameters; the value is our own loop counter. */
    char bump[48];
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d", version + 1);
    rc = sqlite3_exec(st->db, migrations[version], NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(st->db, bump, NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      status = store__status_of_db(st->db, rc);
      if (!sqlite3_get_autocommit(st->db)) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      return status;
    }
  }
}

static int migrate(store *st) {
  /* The common case, an up-to-date schema, needs no write lock: every
   * request thread opens a handle, and none should queue behind writers. */
  char current[32];
  int status = query_text(st->db, "PRAGMA user_version", current, sizeof current);
  if (status != STORE_OK) return status;
  if (atoi(current) == N_MIGRATIONS) {
    st->schema_version = N_MIGRATIONS;
    return STORE_OK;
  }
  store__write_lock(st);
  status = migrate_locked(st);
  store__write_unlock(st);
  return status;
}

static int configure(sqlite3 *db) {
  char mode[16];
  sqlite3_extended_result_codes(db, 1);
  int rc = sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
  if (rc != SQLITE_OK) return store__status_of(rc);
  /* WAL: readers (GET, predict) never block the writer, nor it them. */
  int status = query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof mode);
  if (status != STORE_OK) return status;
  if (strcmp(mode, "wal") != 0) return STORE_EIO; /* e.g. ":memory:" cannot be durable */
  /* FULL, not the usual WAL companion NORMAL: NORMAL syncs the WAL only at
   * checkpoints, so a power loss or OS crash can drop the last commits, and
   * a 2xx must mean the data is on disk. FULL syncs the WAL at every commit. */
  const char *const pragmas =
      "PRAGMA synchronous = FULL;"
      "PRAGMA foreign_keys = ON;"
      /* Trim the WAL back after a checkpoint: one large dataset insert
       * would otherwise leave a WAL file of its size behind forever. */
      "PRAGMA journal_size_limit = 67108864;";
  return store__status_of_db(db, sqlite3_exec(db, pragmas, NULL, NULL, NULL));
}

int store_open(const char *path, store **out) {
  *out = NULL;
  store *st = calloc(1, sizeof *st);
  if (st == NULL) return STORE_ENOMEM;
  /* NOMUTEX: a handle is used by one thread at a time, so SQLite's
   * per-connection mutex would only cost time. */
  int rc = sqlite3_open_v2(path, &st->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  int status = rc == SQLITE_OK ? STORE_OK : rc == SQLITE_NOMEM ? STORE_ENOMEM : STORE_EIO;
  if (status == STORE_OK) status = configure(st->db);
  if (status == STORE_OK) status = migrate(st);
  /* Ending a transaction must not fail for want of memory to prepare. */
  const store__sql *const transactions[] = {&begin_read, &begin_write, &commit, &rollback};
  for (size_t i = 0; status == STORE_OK && i < sizeof transactions / sizeof *transactions; i++)
    status = store__prepare(st, transactions[i]).status;
  if (status != STORE_OK) {
    store_close(st);
    return status;
  }
  *out = st;
  return STORE_OK;
}

void store_close(store *st) {
  if (st == NULL) return;
  /* A held turn would stop every other writer of the process for good. */
  assert(!st->writing);
  for (int q = 0; q < Q_COUNT; q++) sqlite3_finalize(st->stmt[q]);
  sqlite3_close(st->db);
  free(st);
}

bool store_idle(store *st) {
  if (!sqlite3_get_autocommit(st->db)) return false;
  for (sqlite3_stmt *s = sqlite3_next_stmt(st->db, NULL); s != NULL;
       s = sqlite3_next_stmt(st->db, s)) {
    if (sqlite3_stmt_busy(s)) return false;
  }
  return true;
}

void store_shrink(store *st) { sqlite3_db_release_memory(st->db); }

/* Delete a row unless an active job uses it; the check and the delete share
 * one write transaction, so no job can be queued in between. Both
 * statements take the row's :id. */
int store__delete_unused(store *st, const store__sql *in_use, const store__sql *del, int64_t id) {
  int64_t used = 0;
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  store__query q = store__prepare(st, in_use);
  store__bind_int64(&q, ":id", id);
  status = store__run_one(&q, store__read_int64, NULL, &used);
  if (status == STORE_OK && used) status = STORE_ECONFLICT;
  if (status == STORE_OK) {
    q = store__prepare(st, del);
    store__bind_int64(&q, ":id", id);
    status = store__run(&q);
  }
  if (status == STORE_OK && sqlite3_changes(st->db) == 0) status = STORE_ENOTFOUND;
  return store__end(st, status);
}

int store_schema_version(const store *st) { return st->schema_version; }

void store_on_event(store *st, store_event_hook hook, void *ud) {
  st->on_event = hook;
  st->on_event_ud = ud;
}

void store_keep_events(store *st, int64_t n) { st->events_kept = n > 0 ? n : 0; }

const char *store_errmsg(const store *st) { return sqlite3_errmsg(st->db); }

static const store__sql healthz = {Q_HEALTHZ, "SELECT 1"};

int store_healthz(store *st) {
  int64_t one = 0;
  store__query q = store__prepare(st, &healthz);
  int status = store__run_one(&q, store__read_int64, NULL, &one);
  return status == STORE_OK && one != 1 ? STORE_EIO : status;
}

