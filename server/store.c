/*
 * store.c — the SQLite store (with store_datasets.c and store_jobs.c, the
 * only files of the daemon that speak SQL): schema, statements, transactions.
 *
 * Every statement is prepared once per handle (at store_open) from the
 * `queries` table and run with bound parameters only; values are never
 * formatted into SQL text. Writes that touch more than one row run in
 * BEGIN IMMEDIATE transactions: taking the write lock up front means a
 * transaction never has to upgrade a stale WAL read snapshot (which fails
 * with SQLITE_BUSY_SNAPSHOT instead of waiting on busy_timeout).
 */
#include "store_internal.h"

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
 * The state and task names in CHECK constraints and queries below are the
 * same strings as the name tables further down (the schema cannot refer to C).
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

    /* 7: the bytes a job is estimated to take while it trains (budget.h),
     * set when it is queued: a worker claims a job only when this fits what
     * the running jobs leave of --memory-budget. NULL for jobs queued
     * before, which are claimed as if they took nothing. */
    "ALTER TABLE jobs ADD COLUMN memory INTEGER;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements -------------------------------------------------------------- */

#define DATASET_COLS \
  "id, name, rows, features, outputs, task, classes, created_at, json_array_length(classes)"
#define MODEL_COLS \
  "id, name, spec, parameters, version, trained, last_job, created_at, classes," \
  " json_array_length(classes)"
/* Lists carry summaries: the count of the class names, not the names. */
#define DATASET_SUMMARY_COLS \
  "id, name, rows, features, outputs, task, NULL, created_at, json_array_length(classes)"
#define MODEL_SUMMARY_COLS \
  "id, name, spec, parameters, version, trained, last_job, created_at, NULL," \
  " json_array_length(classes)"
#define JOB_COLS                                                                     \
  "id, model_id, dataset_id, state, config, epoch, epochs, loss, val_loss, accuracy, " \
  "val_accuracy, samples_per_second, restarts, cancel_requested, error, created_at, " \
  "started_at, finished_at, memory"
#define ACTIVE "('queued', 'running')"
#define METRIC_COLS "epoch, loss, val_loss, accuracy, val_accuracy, lr, seconds, layers, threads"
#define EVENT_COLS "id, job_id, kind, state, epoch, version, bytes"

/* Which running jobs each recovery step takes: the event insert and the
 * update of a step must select the same rows. */
#define RECOVER_CANCELLED " WHERE state = 'running' AND cancel_requested"
#define RECOVER_FAILED " WHERE state = 'running' AND stalled_restarts >= ?3"
#define RECOVER_REQUEUE " WHERE state = 'running'"

static const char *const queries[Q_COUNT] = {
    [Q_BEGIN_READ] = "BEGIN",
    [Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_HEALTHZ] = "SELECT 1",
    [Q_DATASET_INSERT] =
        "INSERT INTO datasets (name, rows, features, outputs, task, classes, x, y, labels,"
        " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING " DATASET_COLS,
    [Q_DATASET_GET] = "SELECT " DATASET_COLS " FROM datasets WHERE id = ?1",
    [Q_DATASET_LIST] = "SELECT " DATASET_SUMMARY_COLS " FROM datasets ORDER BY id",
    [Q_DATASET_IN_USE] =
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE dataset_id = ?1 AND state IN " ACTIVE ")",
    [Q_DATASET_DELETE] = "DELETE FROM datasets WHERE id = ?1",
    [Q_MODEL_INSERT] = "INSERT INTO models (name, spec, parameters, created_at)"
                       " VALUES (?1, ?2, ?3, ?4) RETURNING " MODEL_COLS,
    [Q_MODEL_GET] = "SELECT " MODEL_COLS " FROM models WHERE id = ?1",
    [Q_MODEL_BY_NAME] =
        "SELECT " MODEL_COLS " FROM models WHERE name = ?1 ORDER BY id DESC LIMIT 1",
    [Q_MODEL_LIST] = "SELECT " MODEL_SUMMARY_COLS " FROM models ORDER BY id",
    [Q_MODEL_IN_USE] =
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE model_id = ?1 AND state IN " ACTIVE ")",
    [Q_MODEL_DELETE] = "DELETE FROM models WHERE id = ?1",
    /* The newest weights: the model row answers for a model never trained. */
    [Q_MODEL_WEIGHTS] = "SELECT v.weights, m.version, v.classes, m.version FROM models m"
                        " LEFT JOIN model_versions v ON v.model_id = m.id AND v.version = m.version"
                        " WHERE m.id = ?1",
    /* A version not kept reads as NULL weights; only a missing model is no row. */
    [Q_MODEL_WEIGHTS_AT] = "SELECT v.weights, ?2, v.classes, m.version FROM models m"
                           " LEFT JOIN model_versions v ON v.model_id = m.id AND v.version = ?2"
                           " WHERE m.id = ?1",
    [Q_MODEL_VERSION] = "SELECT version FROM models WHERE id = ?1",
    [Q_MODEL_PUBLISH] = "UPDATE models SET version = version + 1, trained = 1, last_job = ?2,"
                        " classes = ?3 WHERE id = ?1 RETURNING version",
    [Q_VERSION_INSERT] = "INSERT INTO model_versions (model_id, version, job_id, epoch, weights,"
                         " classes, published_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* Past the newest ?3 (?2 is the newest version), only each job's last
     * version stays. */
    [Q_VERSION_PRUNE] = "DELETE FROM model_versions WHERE model_id = ?1 AND version <= ?2 - ?3"
                        " AND version NOT IN (SELECT max(version) FROM model_versions"
                        " WHERE model_id = ?1 GROUP BY job_id)",
    [Q_VERSION_LIST] = "SELECT version, job_id, epoch, length(weights), published_at"
                       " FROM model_versions WHERE model_id = ?1 ORDER BY version DESC",
    [Q_JOB_INSERT] = "INSERT INTO jobs (model_id, dataset_id, config, epochs, created_at, memory)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING " JOB_COLS,
    [Q_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
    [Q_JOB_EXISTS] = "SELECT id FROM jobs WHERE id = ?1",
    /* One list per filter (?1 the state, ?2 the model): a single statement
     * with "?1 IS NULL OR state = ?1" hides the indexes from the planner,
     * and every filtered list would scan every job ever queued. */
    [Q_JOB_LIST] = "SELECT " JOB_COLS " FROM jobs ORDER BY id",
    [Q_JOB_LIST_STATE] = "SELECT " JOB_COLS " FROM jobs WHERE state = ?1 ORDER BY id",
    [Q_JOB_LIST_MODEL] = "SELECT " JOB_COLS " FROM jobs WHERE model_id = ?2 ORDER BY id",
    [Q_JOB_LIST_MODEL_STATE] = "SELECT " JOB_COLS " FROM jobs"
                               " WHERE model_id = ?2 AND state = ?1 ORDER BY id",
    /* One statement, so the pick and the update are atomic. */
    [Q_JOB_COUNT] = "SELECT state, count(*) FROM jobs GROUP BY state",
    /* The oldest queued job whose model has no running job, and whose memory
     * fits the room ?2 left by the running ones or exceeds the whole budget
     * ?3 (its worker fails it). */
    [Q_JOB_CLAIM] = "UPDATE jobs SET state = 'running', started_at = coalesce(started_at, ?1)"
                    " WHERE id = (SELECT q.id FROM jobs q WHERE q.state = 'queued'"
                    " AND NOT EXISTS (SELECT 1 FROM jobs r"
                    " WHERE r.model_id = q.model_id AND r.state = 'running')"
                    " AND (coalesce(q.memory, 0) <= ?2 OR q.memory > ?3) ORDER BY q.id LIMIT 1)"
                    " RETURNING " JOB_COLS,
    /* SET expressions all see the row as it was before the update. */
    [Q_JOB_CANCEL] =
        "UPDATE jobs SET"
        " cancel_requested = (state IN " ACTIVE ") OR cancel_requested,"
        " state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END,"
        " finished_at = CASE state WHEN 'queued' THEN ?2 ELSE finished_at END"
        " WHERE id = ?1 RETURNING " JOB_COLS,
    [Q_JOB_FINISH] = "UPDATE jobs SET state = ?2, error = ?3, finished_at = ?4"
                     " WHERE id = ?1 AND state = 'running' RETURNING epoch",
    [Q_JOB_REQUEUE] = "UPDATE jobs SET state = 'queued' WHERE id = ?1 AND state = 'running'"
                      " RETURNING model_id",
    [Q_JOB_PROGRESS] = "UPDATE jobs SET epoch = ?2, loss = ?3, val_loss = ?4, accuracy = ?5,"
                       " val_accuracy = ?6, samples_per_second = ?7"
                       " WHERE id = ?1 AND state = 'running' RETURNING model_id",
    [Q_RECOVER_CANCELLED] =
        "UPDATE jobs SET state = 'cancelled', finished_at = ?1" RECOVER_CANCELLED,
    [Q_RECOVER_FAILED] = "UPDATE jobs SET state = 'failed', restarts = restarts + 1, error = ?2,"
                         " finished_at = ?1" RECOVER_FAILED,
    [Q_RECOVER_REQUEUE] = "UPDATE jobs SET state = 'queued', restarts = restarts + 1,"
                          " stalled_restarts = stalled_restarts + 1" RECOVER_REQUEUE,
    /* Each recovery step's state events, inserted just before its update. */
    [Q_RECOVER_CANCELLED_EVENTS] = "INSERT INTO events (job_id, kind, state, epoch)"
                                   " SELECT id, 'state', 'cancelled', epoch FROM jobs"
                                   RECOVER_CANCELLED " ORDER BY id",
    [Q_RECOVER_FAILED_EVENTS] = "INSERT INTO events (job_id, kind, state, epoch)"
                                " SELECT id, 'state', 'failed', epoch FROM jobs"
                                RECOVER_FAILED " ORDER BY id",
    [Q_RECOVER_REQUEUE_EVENTS] = "INSERT INTO events (job_id, kind, state, epoch)"
                                 " SELECT id, 'state', 'queued', epoch FROM jobs"
                                 RECOVER_REQUEUE " ORDER BY id",
    /* Upsert: a job resumed from a checkpoint re-runs the epochs after it. */
    [Q_METRIC_UPSERT] =
        "INSERT INTO metrics (job_id, epoch, loss, val_loss, accuracy, val_accuracy, lr, seconds,"
        " layers, threads) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        " ON CONFLICT (job_id, epoch) DO UPDATE"
        " SET loss = excluded.loss, val_loss = excluded.val_loss, accuracy = excluded.accuracy,"
        " val_accuracy = excluded.val_accuracy, lr = excluded.lr, seconds = excluded.seconds,"
        " layers = excluded.layers, threads = excluded.threads",
    [Q_METRICS_AFTER] =
        "SELECT " METRIC_COLS " FROM metrics WHERE job_id = ?1 AND epoch > ?2 ORDER BY epoch",
    [Q_METRIC_GET] = "SELECT " METRIC_COLS " FROM metrics WHERE job_id = ?1 AND epoch = ?2",
    [Q_CHECKPOINT_UPSERT] =
        "INSERT INTO checkpoints (job_id, epoch, bytes, data, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (job_id, epoch) DO UPDATE SET"
        " bytes = excluded.bytes, data = excluded.data, created_at = excluded.created_at",
    [Q_JOB_CHECKPOINTED] = "UPDATE jobs SET stalled_restarts = 0 WHERE id = ?1",
    [Q_CHECKPOINT_PRUNE] = "DELETE FROM checkpoints WHERE job_id = ?1 AND epoch NOT IN"
                           " (SELECT epoch FROM checkpoints WHERE job_id = ?1"
                           " ORDER BY epoch DESC LIMIT ?2)",
    [Q_CHECKPOINT_LIST] =
        "SELECT epoch, bytes, created_at FROM checkpoints WHERE job_id = ?1 ORDER BY epoch",
    [Q_CHECKPOINT_LATEST] =
        "SELECT epoch, data FROM checkpoints WHERE job_id = ?1 ORDER BY epoch DESC LIMIT 1",
    [Q_EVENT_INSERT] = "INSERT INTO events (job_id, kind, state, epoch, version, bytes)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_EVENTS_AFTER] = "SELECT " EVENT_COLS " FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
    /* Apart from the one above, so that this one can use events_by_job. */
    [Q_JOB_EVENTS_AFTER] = "SELECT " EVENT_COLS " FROM events WHERE job_id = ?3 AND id > ?1"
                           " ORDER BY id LIMIT ?2",
    [Q_EVENTS_LATEST] = "SELECT coalesce(max(id), 0) FROM events",
    /* The unfinished jobs, each with its newest event's id, in that order. */
    [Q_EVENTS_ACTIVE] = "SELECT " JOB_COLS ", (SELECT max(events.id) FROM events"
                        " WHERE events.job_id = jobs.id) AS last FROM jobs"
                        " WHERE state IN " ACTIVE " ORDER BY last, id",
    /* Retention: ids only grow, so the newest ?2 events are those above ?1 - ?2. */
    [Q_EVENTS_PRUNE] = "DELETE FROM events WHERE id <= ?1 - ?2",
    /* A long job's metrics at a stride ?4: rows in [?2, ?3) off it go. */
    [Q_METRICS_THIN] = "DELETE FROM metrics WHERE job_id = ?1 AND epoch >= ?2 AND epoch < ?3"
                       " AND epoch % ?4 != 0",
};



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

/* ---- running statements ------------------------------------------------------- */


void store__bind_double(sqlite3_stmt *s, int i, double v) {
  if (isnan(v))
    sqlite3_bind_null(s, i);
  else
    sqlite3_bind_double(s, i, v);
}

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
 * nonzero the blob must be exactly that long (shape checks). */
int store__column_blob(sqlite3_stmt *s, int col, size_t want, void **out, size_t *len) {
  const void *b = sqlite3_column_blob(s, col);
  size_t n = (size_t)sqlite3_column_bytes(s, col);
  *out = NULL;
  if (len) *len = 0;
  if (b == NULL) return sqlite3_column_type(s, col) == SQLITE_NULL ? STORE_OK : STORE_ENOMEM;
  if (want != 0 && n != want) return STORE_EIO;
  if ((*out = malloc(n)) == NULL) return STORE_ENOMEM;
  memcpy(*out, b, n);
  if (len) *len = n;
  return STORE_OK;
}

void store__column_time(sqlite3_stmt *s, int col, char out[STORE_TIME_LEN]) {
  const unsigned char *t = sqlite3_column_text(s, col);
  snprintf(out, STORE_TIME_LEN, "%s", t ? (const char *)t : "");
}

void store__done(sqlite3_stmt *s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows. */
int store__run(sqlite3_stmt *s) {
  int rc = sqlite3_step(s);
  int status = rc == SQLITE_DONE ? STORE_OK : store__status_of_db(sqlite3_db_handle(s), rc);
  store__done(s);
  return status;
}

/* Run a statement that yields at most one row, read into row. The statement
 * is stepped to completion so an autocommit (and any error of it) happens
 * here, before the caller reports success.
 * @return STORE_OK, STORE_ENOTFOUND when there was no row, or an error */
int store__run_one(sqlite3_stmt *s, store__row_reader read, store__row_clear clear, void *row) {
  int status = STORE_ENOTFOUND;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    status = read(s, row);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && status == STORE_OK && clear != NULL) clear(row);
  }
  if (rc != SQLITE_DONE)
    status = rc == SQLITE_ROW ? STORE_EIO : store__status_of_db(sqlite3_db_handle(s), rc);
  store__done(s);
  return status;
}

/* Run a statement that yields any number of rows of `size` bytes each into
 * a malloc'd array. */
int store__run_list(sqlite3_stmt *s, size_t size, store__row_reader read, store__row_clear clear,
                    void **out, size_t *n) {
  char *rows = NULL;
  size_t count = 0, cap = 0;
  int status = STORE_OK, rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
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
    if ((status = read(s, rows + count * size)) != STORE_OK) break;
    count++;
  }
  if (status == STORE_OK && rc != SQLITE_DONE)
    status = store__status_of_db(sqlite3_db_handle(s), rc);
  store__done(s);
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
  pthread_mutex_lock(&writers.mutex);
  uint64_t ticket = writers.next++;
  while (ticket != writers.serving) pthread_cond_wait(&writers.turn, &writers.mutex);
  pthread_mutex_unlock(&writers.mutex);
  st->writing = 1;
}

void store__write_unlock(store *st) {
  if (!st->writing) return;
  st->writing = 0;
  pthread_mutex_lock(&writers.mutex);
  writers.serving++;
  pthread_cond_broadcast(&writers.turn);
  pthread_mutex_unlock(&writers.mutex);
}

int store__begin(store *st, enum query q) {
  if (q == Q_BEGIN_WRITE) store__write_lock(st);
  int status = store__run(st->stmt[q]);
  if (status != STORE_OK) store__write_unlock(st);
  return status;
}

/* Commit when status is STORE_OK, otherwise roll back; @return the outcome.
 * Events the transaction logged are announced once they are on disk. */
int store__end(store *st, int status) {
  int64_t event = st->event_pending;
  st->event_pending = 0;
  if (status == STORE_OK) status = store__run(st->stmt[Q_COMMIT]);
  /* SQLite may already have rolled back by itself (disk full, I/O error). */
  if (status != STORE_OK && !sqlite3_get_autocommit(st->db)) store__run(st->stmt[Q_ROLLBACK]);
  store__write_unlock(st);
  if (status == STORE_OK && event > 0 && st->on_event != NULL) st->on_event(st->on_event_ud, event);
  return status;
}

/* Why an update guarded by the job's state matched nothing. */
int store__job_missing_or_conflict(store *st, int64_t id) {
  int64_t found;
  sqlite3_bind_int64(st->stmt[Q_JOB_EXISTS], 1, id);
  int status = store__run_one(st->stmt[Q_JOB_EXISTS], store__read_int64, NULL, &found);
  return status == STORE_OK ? STORE_ECONFLICT : status;
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

/* Apply the missing migrations, each with its version bump in one
 * transaction. The version is re-read under the write lock, so two daemons
 * starting at once cannot both apply a script. */
static int migrate_locked(store *st) {
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
  for (int q = 0; status == STORE_OK && q < Q_COUNT; q++) {
    rc = sqlite3_prepare_v3(st->db, queries[q], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[q], NULL);
    status = store__status_of(rc);
  }
  if (status != STORE_OK) {
    store_close(st);
    return status;
  }
  *out = st;
  return STORE_OK;
}

void store_close(store *st) {
  if (st == NULL) return;
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
 * one write transaction, so no job can be queued in between. */
int store__delete_unused(store *st, enum query in_use, enum query del, int64_t id) {
  int64_t used = 0;
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  sqlite3_bind_int64(st->stmt[in_use], 1, id);
  status = store__run_one(st->stmt[in_use], store__read_int64, NULL, &used);
  if (status == STORE_OK && used) status = STORE_ECONFLICT;
  if (status == STORE_OK) {
    sqlite3_bind_int64(st->stmt[del], 1, id);
    status = store__run(st->stmt[del]);
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

int store_healthz(store *st) {
  int64_t one = 0;
  int status = store__run_one(st->stmt[Q_HEALTHZ], store__read_int64, NULL, &one);
  return status == STORE_OK && one != 1 ? STORE_EIO : status;
}

