/*
 * store.c — the SQLite store; the only file of the daemon that speaks SQL.
 *
 * Every statement is prepared once per handle (at store_open) from the
 * `queries` table and run with bound parameters only; values are never
 * formatted into SQL text. Writes that touch more than one row run in
 * BEGIN IMMEDIATE transactions: taking the write lock up front means a
 * transaction never has to upgrade a stale WAL read snapshot (which fails
 * with SQLITE_BUSY_SNAPSHOT instead of waiting on busy_timeout).
 */
#include "store.h"

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
    /* weights is the latest published core checkpoint (weights only) and
     * version counts publications, so predict caches can tell stale copies.
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
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements -------------------------------------------------------------- */

#define DATASET_COLS "id, name, rows, features, outputs, task, classes, created_at"
#define MODEL_COLS "id, name, spec, parameters, version, trained, last_job, created_at, classes"
#define JOB_COLS                                                                     \
  "id, model_id, dataset_id, state, config, epoch, epochs, loss, val_loss, accuracy, " \
  "val_accuracy, samples_per_second, restarts, cancel_requested, error, created_at, " \
  "started_at, finished_at"
#define ACTIVE "('queued', 'running')"

enum query {
  Q_BEGIN_READ,
  Q_BEGIN_WRITE,
  Q_COMMIT,
  Q_ROLLBACK,
  Q_HEALTHZ,
  Q_DATASET_INSERT,
  Q_DATASET_GET,
  Q_DATASET_GET_DATA,
  Q_DATASET_LIST,
  Q_DATASET_IN_USE,
  Q_DATASET_DELETE,
  Q_MODEL_INSERT,
  Q_MODEL_GET,
  Q_MODEL_LIST,
  Q_MODEL_IN_USE,
  Q_MODEL_DELETE,
  Q_MODEL_WEIGHTS,
  Q_MODEL_VERSION,
  Q_MODEL_PUBLISH,
  Q_JOB_INSERT,
  Q_JOB_GET,
  Q_JOB_EXISTS,
  Q_JOB_LIST,
  Q_JOB_COUNT,
  Q_JOB_CLAIM,
  Q_JOB_CANCEL,
  Q_JOB_FINISH,
  Q_JOB_REQUEUE,
  Q_JOB_PROGRESS,
  Q_RECOVER_CANCELLED,
  Q_RECOVER_FAILED,
  Q_RECOVER_REQUEUE,
  Q_METRIC_UPSERT,
  Q_METRICS_AFTER,
  Q_CHECKPOINT_UPSERT,
  Q_CHECKPOINT_PRUNE,
  Q_CHECKPOINT_LIST,
  Q_CHECKPOINT_LATEST,
  Q_COUNT
};

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
    [Q_DATASET_GET_DATA] = "SELECT " DATASET_COLS ", x, y, labels FROM datasets WHERE id = ?1",
    [Q_DATASET_LIST] = "SELECT " DATASET_COLS " FROM datasets ORDER BY id",
    [Q_DATASET_IN_USE] =
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE dataset_id = ?1 AND state IN " ACTIVE ")",
    [Q_DATASET_DELETE] = "DELETE FROM datasets WHERE id = ?1",
    [Q_MODEL_INSERT] = "INSERT INTO models (name, spec, parameters, created_at)"
                       " VALUES (?1, ?2, ?3, ?4) RETURNING " MODEL_COLS,
    [Q_MODEL_GET] = "SELECT " MODEL_COLS " FROM models WHERE id = ?1",
    [Q_MODEL_LIST] = "SELECT " MODEL_COLS " FROM models ORDER BY id",
    [Q_MODEL_IN_USE] =
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE model_id = ?1 AND state IN " ACTIVE ")",
    [Q_MODEL_DELETE] = "DELETE FROM models WHERE id = ?1",
    [Q_MODEL_WEIGHTS] = "SELECT weights, version FROM models WHERE id = ?1",
    [Q_MODEL_VERSION] = "SELECT version FROM models WHERE id = ?1",
    [Q_MODEL_PUBLISH] = "UPDATE models SET weights = ?2, version = version + 1, trained = 1,"
                        " last_job = ?3, classes = ?4 WHERE id = ?1 RETURNING version",
    [Q_JOB_INSERT] = "INSERT INTO jobs (model_id, dataset_id, config, epochs, created_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5) RETURNING " JOB_COLS,
    [Q_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
    [Q_JOB_EXISTS] = "SELECT id FROM jobs WHERE id = ?1",
    [Q_JOB_LIST] = "SELECT " JOB_COLS " FROM jobs WHERE (?1 IS NULL OR state = ?1)"
                   " AND (?2 IS NULL OR model_id = ?2) ORDER BY id",
    /* One statement, so the pick and the update are atomic. */
    [Q_JOB_COUNT] = "SELECT state, count(*) FROM jobs GROUP BY state",
    [Q_JOB_CLAIM] = "UPDATE jobs SET state = 'running', started_at = coalesce(started_at, ?1)"
                    " WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1)"
                    " RETURNING " JOB_COLS,
    /* SET expressions all see the row as it was before the update. */
    [Q_JOB_CANCEL] =
        "UPDATE jobs SET"
        " cancel_requested = (state IN " ACTIVE ") OR cancel_requested,"
        " state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END,"
        " finished_at = CASE state WHEN 'queued' THEN ?2 ELSE finished_at END"
        " WHERE id = ?1 RETURNING " JOB_COLS,
    [Q_JOB_FINISH] = "UPDATE jobs SET state = ?2, error = ?3, finished_at = ?4"
                     " WHERE id = ?1 AND state = 'running'",
    [Q_JOB_REQUEUE] = "UPDATE jobs SET state = 'queued' WHERE id = ?1 AND state = 'running'",
    [Q_JOB_PROGRESS] = "UPDATE jobs SET epoch = ?2, loss = ?3, val_loss = ?4, accuracy = ?5,"
                       " val_accuracy = ?6, samples_per_second = ?7"
                       " WHERE id = ?1 AND state = 'running' RETURNING model_id",
    [Q_RECOVER_CANCELLED] = "UPDATE jobs SET state = 'cancelled', finished_at = ?1"
                            " WHERE state = 'running' AND cancel_requested",
    [Q_RECOVER_FAILED] = "UPDATE jobs SET state = 'failed', restarts = restarts + 1, error = ?2,"
                         " finished_at = ?1 WHERE state = 'running' AND restarts >= ?3",
    [Q_RECOVER_REQUEUE] =
        "UPDATE jobs SET state = 'queued', restarts = restarts + 1 WHERE state = 'running'",
    /* Upsert: a job resumed from a checkpoint re-runs the epochs after it. */
    [Q_METRIC_UPSERT] =
        "INSERT INTO metrics (job_id, epoch, loss, val_loss, accuracy, val_accuracy, lr, seconds)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (job_id, epoch) DO UPDATE SET"
        " loss = excluded.loss, val_loss = excluded.val_loss, accuracy = excluded.accuracy,"
        " val_accuracy = excluded.val_accuracy, lr = excluded.lr, seconds = excluded.seconds",
    [Q_METRICS_AFTER] = "SELECT epoch, loss, val_loss, accuracy, val_accuracy, lr, seconds"
                        " FROM metrics WHERE job_id = ?1 AND epoch > ?2 ORDER BY epoch",
    [Q_CHECKPOINT_UPSERT] =
        "INSERT INTO checkpoints (job_id, epoch, bytes, data, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (job_id, epoch) DO UPDATE SET"
        " bytes = excluded.bytes, data = excluded.data, created_at = excluded.created_at",
    [Q_CHECKPOINT_PRUNE] = "DELETE FROM checkpoints WHERE job_id = ?1 AND epoch NOT IN"
                           " (SELECT epoch FROM checkpoints WHERE job_id = ?1"
                           " ORDER BY epoch DESC LIMIT ?2)",
    [Q_CHECKPOINT_LIST] =
        "SELECT epoch, bytes, created_at FROM checkpoints WHERE job_id = ?1 ORDER BY epoch",
    [Q_CHECKPOINT_LATEST] =
        "SELECT epoch, data FROM checkpoints WHERE job_id = ?1 ORDER BY epoch DESC LIMIT 1",
};

struct store {
  sqlite3 *db;
  int writing; /* holds a turn of the writers' queue */
  int schema_version;
  sqlite3_stmt *stmt[Q_COUNT];
};

/* ---- names ------------------------------------------------------------------- */

static const char *const task_names[] = {
    [STORE_TASK_REGRESSION] = "regression",
    [STORE_TASK_CLASSIFICATION] = "classification",
};

static const char *const state_names[STORE_JOB_STATE_COUNT] = {
    [STORE_JOB_QUEUED] = "queued",       [STORE_JOB_RUNNING] = "running",
    [STORE_JOB_SUCCEEDED] = "succeeded", [STORE_JOB_FAILED] = "failed",
    [STORE_JOB_CANCELLED] = "cancelled",
};

const char *store_task_name(store_task task) {
  if ((unsigned)task >= sizeof task_names / sizeof task_names[0]) return NULL;
  return task_names[task];
}

const char *store_job_state_name(store_job_state state) {
  if ((unsigned)state >= STORE_JOB_STATE_COUNT) return NULL;
  return state_names[state];
}

int store_job_state_parse(const char *s, store_job_state *out) {
  for (int i = 0; s != NULL && i < STORE_JOB_STATE_COUNT; i++) {
    if (strcmp(s, state_names[i]) == 0) {
      *out = (store_job_state)i;
      return STORE_OK;
    }
  }
  return STORE_EINVAL;
}

/* ---- errors and time ----------------------------------------------------------- */

/* Map an SQLite result code (extended codes are on) to a store_status. */
static int status_of(int rc) {
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_DONE:
    return STORE_OK;
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
  default: return API_INTERNAL;
  }
}

void store_timestamp(time_t t, char out[STORE_TIME_LEN]) {
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || strftime(out, STORE_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    out[0] = '\0';
}

static void now(char out[STORE_TIME_LEN]) { store_timestamp(time(NULL), out); }

/* ---- running statements ------------------------------------------------------- */

typedef int (*row_reader)(sqlite3_stmt *s, void *row);
typedef void (*row_clear)(void *row);

static void bind_double(sqlite3_stmt *s, int i, double v) {
  if (isnan(v))
    sqlite3_bind_null(s, i);
  else
    sqlite3_bind_double(s, i, v);
}

static double column_double(sqlite3_stmt *s, int col) {
  return sqlite3_column_type(s, col) == SQLITE_NULL ? NAN : sqlite3_column_double(s, col);
}

/* Owned copy of a text column; *out is NULL for SQL NULL. */
static int column_text(sqlite3_stmt *s, int col, char **out) {
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
static int column_blob(sqlite3_stmt *s, int col, size_t want, void **out, size_t *len) {
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

static void column_time(sqlite3_stmt *s, int col, char out[STORE_TIME_LEN]) {
  const unsigned char *t = sqlite3_column_text(s, col);
  snprintf(out, STORE_TIME_LEN, "%s", t ? (const char *)t : "");
}

static void done(sqlite3_stmt *s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows. */
static int run(sqlite3_stmt *s) {
  int rc = sqlite3_step(s);
  done(s);
  return rc == SQLITE_DONE ? STORE_OK : status_of(rc);
}

/* Run a statement that yields at most one row, read into row. The statement
 * is stepped to completion so an autocommit (and any error of it) happens
 * here, before the caller reports success.
 * @return STORE_OK, STORE_ENOTFOUND when there was no row, or an error */
static int run_one(sqlite3_stmt *s, row_reader read, row_clear clear, void *row) {
  int status = STORE_ENOTFOUND;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    status = read(s, row);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && status == STORE_OK && clear != NULL) clear(row);
  }
  if (rc != SQLITE_DONE) status = rc == SQLITE_ROW ? STORE_EIO : status_of(rc);
  done(s);
  return status;
}

/* Run a statement that yields any number of rows of `size` bytes each into
 * a malloc'd array. */
static int run_list(sqlite3_stmt *s, size_t size, row_reader read, row_clear clear, void **out,
                    size_t *n) {
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
  if (status == STORE_OK && rc != SQLITE_DONE) status = status_of(rc);
  done(s);
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

static int read_int64(sqlite3_stmt *s, void *row) {
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

static void write_lock(store *st) {
  pthread_mutex_lock(&writers.mutex);
  uint64_t ticket = writers.next++;
  while (ticket != writers.serving) pthread_cond_wait(&writers.turn, &writers.mutex);
  pthread_mutex_unlock(&writers.mutex);
  st->writing = 1;
}

static void write_unlock(store *st) {
  if (!st->writing) return;
  st->writing = 0;
  pthread_mutex_lock(&writers.mutex);
  writers.serving++;
  pthread_cond_broadcast(&writers.turn);
  pthread_mutex_unlock(&writers.mutex);
}

static int begin(store *st, enum query q) {
  if (q == Q_BEGIN_WRITE) write_lock(st);
  int status = run(st->stmt[q]);
  if (status != STORE_OK) write_unlock(st);
  return status;
}

/* Commit when status is STORE_OK, otherwise roll back; @return the outcome. */
static int end(store *st, int status) {
  if (status == STORE_OK) status = run(st->stmt[Q_COMMIT]);
  /* SQLite may already have rolled back by itself (disk full, I/O error). */
  if (status != STORE_OK && !sqlite3_get_autocommit(st->db)) run(st->stmt[Q_ROLLBACK]);
  write_unlock(st);
  return status;
}

/* Why an update guarded by the job's state matched nothing. */
static int job_missing_or_conflict(store *st, int64_t id) {
  int64_t found;
  sqlite3_bind_int64(st->stmt[Q_JOB_EXISTS], 1, id);
  int status = run_one(st->stmt[Q_JOB_EXISTS], read_int64, NULL, &found);
  return status == STORE_OK ? STORE_ECONFLICT : status;
}

/* ---- opening ------------------------------------------------------------------------ */

/* Run a statement returning one value (a pragma) and copy it as text. */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t n) {
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
  if (rc != SQLITE_OK) return status_of(rc);
  rc = sqlite3_step(s);
  const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
  snprintf(buf, n, "%s", t ? (const char *)t : "");
  sqlite3_finalize(s);
  return rc == SQLITE_ROW ? STORE_OK : status_of(rc);
}

/* Apply the missing migrations, each with its version bump in one
 * transaction. The version is re-read under the write lock, so two daemons
 * starting at once cannot both apply a script. */
static int migrate_locked(store *st) {
  for (;;) {
    char text[32];
    int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return status_of(rc);
    int status = query_text(st->db, "PRAGMA user_version", text, sizeof text);
    int version = atoi(text);
    if (status == STORE_OK && version > N_MIGRATIONS) status = STORE_ESCHEMA;
    if (status != STORE_OK || version == N_MIGRATIONS) {
      st->schema_version = version;
      if (status == STORE_OK) status = status_of(sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL));
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
      if (!sqlite3_get_autocommit(st->db)) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      return status_of(rc);
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
  write_lock(st);
  status = migrate_locked(st);
  write_unlock(st);
  return status;
}

static int configure(sqlite3 *db) {
  char mode[16];
  sqlite3_extended_result_codes(db, 1);
  int rc = sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
  if (rc != SQLITE_OK) return status_of(rc);
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
  return status_of(sqlite3_exec(db, pragmas, NULL, NULL, NULL));
}

int store_open(const char *path, store **out) {
  *out = NULL;
  store *st = calloc(1, sizeof *st);
  if (st == NULL) return STORE_ENOMEM;
  /* NOMUTEX: a handle belongs to one thread, so SQLite's per-connection
   * mutex would only cost time. */
  int rc = sqlite3_open_v2(path, &st->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  int status = rc == SQLITE_OK ? STORE_OK : rc == SQLITE_NOMEM ? STORE_ENOMEM : STORE_EIO;
  if (status == STORE_OK) status = configure(st->db);
  if (status == STORE_OK) status = migrate(st);
  for (int q = 0; status == STORE_OK && q < Q_COUNT; q++) {
    rc = sqlite3_prepare_v3(st->db, queries[q], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[q], NULL);
    status = status_of(rc);
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

int store_schema_version(const store *st) { return st->schema_version; }

const char *store_errmsg(const store *st) { return sqlite3_errmsg(st->db); }

int store_healthz(store *st) {
  int64_t one = 0;
  int status = run_one(st->stmt[Q_HEALTHZ], read_int64, NULL, &one);
  return status == STORE_OK && one != 1 ? STORE_EIO : status;
}

/* ---- datasets -------------------------------------------------------------------- */

void store_dataset_clear(store_dataset *d) {
  free(d->name);
  free(d->classes);
  memset(d, 0, sizeof *d);
}

void store_dataset_data_clear(store_dataset_data *d) {
  free(d->x);
  free(d->y);
  free(d->labels);
  memset(d, 0, sizeof *d);
}

void store_dataset_list_free(store_dataset *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) store_dataset_clear(&list[i]);
  free(list);
}

static void clear_dataset(void *row) { store_dataset_clear(row); }

static int read_dataset(sqlite3_stmt *s, void *row) {
  store_dataset *d = row;
  memset(d, 0, sizeof *d);
  d->id = sqlite3_column_int64(s, 0);
  d->rows = sqlite3_column_int64(s, 2);
  d->features = sqlite3_column_int64(s, 3);
  d->outputs = sqlite3_column_int64(s, 4);
  const char *task = (const char *)sqlite3_column_text(s, 5);
  if (task != NULL && strcmp(task, task_names[STORE_TASK_CLASSIFICATION]) == 0)
    d->task = STORE_TASK_CLASSIFICATION;
  else if (task != NULL && strcmp(task, task_names[STORE_TASK_REGRESSION]) == 0)
    d->task = STORE_TASK_REGRESSION;
  else
    return STORE_EIO; /* the schema's CHECK allows no other */
  column_time(s, 7, d->created_at);
  int status = column_text(s, 1, &d->name);
  if (status == STORE_OK) status = column_text(s, 6, &d->classes);
  if (status != STORE_OK) store_dataset_clear(d);
  return status;
}

/* Bytes of a (rows, cols) array of 4-byte numbers, or 0 when out of range. */
static size_t array_bytes(int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0 || (uint64_t)rows > SIZE_MAX / 4 / (uint64_t)cols) return 0;
  return (size_t)rows * (size_t)cols * 4;
}

static int check_dataset(const store_dataset *m, const store_dataset_data *d) {
  int regression = m->task == STORE_TASK_REGRESSION;
  if (m->name == NULL || store_task_name(m->task) == NULL || d->x == NULL) return STORE_EINVAL;
  if (array_bytes(m->rows, m->features) == 0 || array_bytes(m->rows, m->outputs) == 0)
    return STORE_EINVAL;
  if (regression ? d->y == NULL || d->labels != NULL || m->classes != NULL
                 : d->labels == NULL || d->y != NULL)
    return STORE_EINVAL;
  /* Guard the trainer: a label indexes the output row. */
  for (int64_t i = 0; !regression && i < m->rows; i++)
    if (d->labels[i] < 0 || d->labels[i] >= m->outputs) return STORE_EINVAL;
  return STORE_OK;
}

int store_dataset_insert(store *st, const store_dataset *meta, const store_dataset_data *data,
                         store_dataset *out) {
  store_dataset tmp;
  store_dataset *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  int status = check_dataset(meta, data);
  if (status != STORE_OK) return status;
  char created[STORE_TIME_LEN];
  now(created);
  sqlite3_stmt *s = st->stmt[Q_DATASET_INSERT];
  sqlite3_bind_text(s, 1, meta->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, meta->rows);
  sqlite3_bind_int64(s, 3, meta->features);
  sqlite3_bind_int64(s, 4, meta->outputs);
  sqlite3_bind_text(s, 5, task_names[meta->task], -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 6, meta->classes, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 10, created, -1, SQLITE_STATIC);
  /* Blobs are bound in place: a 256 MiB dataset is not copied again. */
  int rc = sqlite3_bind_blob64(s, 7, data->x, array_bytes(meta->rows, meta->features),
                               SQLITE_STATIC);
  if (rc == SQLITE_OK && data->y != NULL)
    rc = sqlite3_bind_blob64(s, 8, data->y, array_bytes(meta->rows, meta->outputs),
                             SQLITE_STATIC);
  if (rc == SQLITE_OK && data->labels != NULL)
    rc = sqlite3_bind_blob64(s, 9, data->labels, array_bytes(meta->rows, 1), SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    done(s);
    return status_of(rc);
  }
  write_lock(st);
  status = run_one(s, read_dataset, clear_dataset, row);
  write_unlock(st);
  if (out == NULL && status == STORE_OK) store_dataset_clear(&tmp);
  return status;
}

int store_dataset_get(store *st, int64_t id, store_dataset *out) {
  memset(out, 0, sizeof *out);
  sqlite3_bind_int64(st->stmt[Q_DATASET_GET], 1, id);
  return run_one(st->stmt[Q_DATASET_GET], read_dataset, clear_dataset, out);
}

struct dataset_with_data {
  store_dataset *meta;
  store_dataset_data *data;
};

static void clear_dataset_with_data(void *row) {
  struct dataset_with_data *r = row;
  store_dataset_clear(r->meta);
  store_dataset_data_clear(r->data);
}

static int read_dataset_with_data(sqlite3_stmt *s, void *row) {
  struct dataset_with_data *r = row;
  int status = read_dataset(s, r->meta);
  if (status != STORE_OK) return status;
  const store_dataset *m = r->meta;
  store_dataset_data *d = r->data;
  int regression = m->task == STORE_TASK_REGRESSION;
  void *x = NULL, *target = NULL;
  status = column_blob(s, 8, array_bytes(m->rows, m->features), &x, NULL);
  d->x = x;
  if (status == STORE_OK && regression) {
    status = column_blob(s, 9, array_bytes(m->rows, m->outputs), &target, NULL);
    d->y = target;
  } else if (status == STORE_OK) {
    status = column_blob(s, 10, array_bytes(m->rows, 1), &target, NULL);
    d->labels = target;
  }
  /* The schema's CHECKs promise both; a missing array means corruption. */
  if (status == STORE_OK && (x == NULL || target == NULL)) status = STORE_EIO;
  if (status != STORE_OK) clear_dataset_with_data(r);
  return status;
}

int store_dataset_get_data(store *st, int64_t id, store_dataset *meta, store_dataset_data *data) {
  struct dataset_with_data row = {meta, data};
  memset(meta, 0, sizeof *meta);
  memset(data, 0, sizeof *data);
  sqlite3_bind_int64(st->stmt[Q_DATASET_GET_DATA], 1, id);
  return run_one(st->stmt[Q_DATASET_GET_DATA], read_dataset_with_data, clear_dataset_with_data,
                 &row);
}

int store_dataset_list(store *st, store_dataset **out, size_t *n) {
  void *rows;
  int status = run_list(st->stmt[Q_DATASET_LIST], sizeof **out, read_dataset, clear_dataset,
                        &rows, n);
  *out = rows;
  return status;
}

/* Delete a row unless an active job uses it; the check and the delete share
 * one write transaction, so no job can be queued in between. */
static int delete_unused(store *st, enum query in_use, enum query del, int64_t id) {
  int64_t used = 0;
  int status = begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  sqlite3_bind_int64(st->stmt[in_use], 1, id);
  status = run_one(st->stmt[in_use], read_int64, NULL, &used);
  if (status == STORE_OK && used) status = STORE_ECONFLICT;
  if (status == STORE_OK) {
    sqlite3_bind_int64(st->stmt[del], 1, id);
    status = run(st->stmt[del]);
  }
  if (status == STORE_OK && sqlite3_changes(st->db) == 0) status = STORE_ENOTFOUND;
  return end(st, status);
}

int store_dataset_delete(store *st, int64_t id) {
  return delete_unused(st, Q_DATASET_IN_USE, Q_DATASET_DELETE, id);
}

/* ---- models ------------------------------------------------------------------------ */

void store_model_clear(store_model *m) {
  free(m->name);
  free(m->spec);
  free(m->classes);
  memset(m, 0, sizeof *m);
}

void store_model_list_free(store_model *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) store_model_clear(&list[i]);
  free(list);
}

static void clear_model(void *row) { store_model_clear(row); }

static int read_model(sqlite3_stmt *s, void *row) {
  store_model *m = row;
  memset(m, 0, sizeof *m);
  m->id = sqlite3_column_int64(s, 0);
  m->parameters = sqlite3_column_int64(s, 3);
  m->version = sqlite3_column_int64(s, 4);
  m->trained = sqlite3_column_int(s, 5) != 0;
  m->last_job = sqlite3_column_int64(s, 6); /* NULL reads as 0 */
  column_time(s, 7, m->created_at);
  int status = column_text(s, 1, &m->name);
  if (status == STORE_OK) status = column_text(s, 2, &m->spec);
  if (status == STORE_OK && sqlite3_column_type(s, 8) != SQLITE_NULL)
    status = column_text(s, 8, &m->classes);
  if (status != STORE_OK) store_model_clear(m);
  return status;
}

int store_model_insert(store *st, const char *name, const char *spec, int64_t parameters,
                       store_model *out) {
  store_model tmp;
  store_model *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  if (name == NULL || spec == NULL || parameters <= 0) return STORE_EINVAL;
  char created[STORE_TIME_LEN];
  now(created);
  sqlite3_stmt *s = st->stmt[Q_MODEL_INSERT];
  int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(s, 2, spec, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, parameters);
  sqlite3_bind_text(s, 4, created, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    done(s);
    return status_of(rc);
  }
  write_lock(st);
  int status = run_one(s, read_model, clear_model, row);
  write_unlock(st);
  if (out == NULL && status == STORE_OK) store_model_clear(&tmp);
  return status;
}

int store_model_get(store *st, int64_t id, store_model *out) {
  memset(out, 0, sizeof *out);
  sqlite3_bind_int64(st->stmt[Q_MODEL_GET], 1, id);
  return run_one(st->stmt[Q_MODEL_GET], read_model, clear_model, out);
}

int store_model_list(store *st, store_model **out, size_t *n) {
  void *rows;
  int status =
      run_list(st->stmt[Q_MODEL_LIST], sizeof **out, read_model, clear_model, &rows, n);
  *out = rows;
  return status;
}

int store_model_delete(store *st, int64_t id) {
  return delete_unused(st, Q_MODEL_IN_USE, Q_MODEL_DELETE, id);
}

struct weights_row {
  uint8_t *buf;
  size_t len;
  int64_t version;
};

static int read_weights(sqlite3_stmt *s, void *row) {
  struct weights_row *w = row;
  void *buf;
  w->version = sqlite3_column_int64(s, 1);
  int status = column_blob(s, 0, 0, &buf, &w->len);
  w->buf = buf;
  return status;
}

static void clear_weights(void *row) {
  struct weights_row *w = row;
  free(w->buf);
  w->buf = NULL;
}

int store_model_weights(store *st, int64_t id, uint8_t **buf, size_t *len, int64_t *version) {
  struct weights_row w = {NULL, 0, 0};
  sqlite3_bind_int64(st->stmt[Q_MODEL_WEIGHTS], 1, id);
  int status = run_one(st->stmt[Q_MODEL_WEIGHTS], read_weights, clear_weights, &w);
  *buf = w.buf;
  *len = w.len;
  *version = w.version;
  return status;
}

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

static void clear_job(void *row) { store_job_clear(row); }

static int read_job(sqlite3_stmt *s, void *row) {
  store_job *j = row;
  memset(j, 0, sizeof *j);
  j->id = sqlite3_column_int64(s, 0);
  j->model_id = sqlite3_column_int64(s, 1);
  j->dataset_id = sqlite3_column_int64(s, 2);
  int status = store_job_state_parse((const char *)sqlite3_column_text(s, 3), &j->state);
  if (status != STORE_OK) return STORE_EIO; /* the schema's CHECK allows no other */
  j->epoch = sqlite3_column_int64(s, 5);
  j->epochs = sqlite3_column_int64(s, 6);
  j->loss = column_double(s, 7);
  j->val_loss = column_double(s, 8);
  j->accuracy = column_double(s, 9);
  j->val_accuracy = column_double(s, 10);
  j->samples_per_second = column_double(s, 11);
  j->restarts = sqlite3_column_int64(s, 12);
  j->cancel_requested = sqlite3_column_int(s, 13) != 0;
  column_time(s, 15, j->created_at);
  column_time(s, 16, j->started_at);
  column_time(s, 17, j->finished_at);
  status = column_text(s, 4, &j->config);
  if (status == STORE_OK) status = column_text(s, 14, &j->error);
  if (status != STORE_OK) store_job_clear(j);
  return status;
}

/* Run a statement returning one job into out (or nowhere when out is NULL). */
static int run_job(sqlite3_stmt *s, store_job *out) {
  store_job tmp;
  store_job *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  int status = run_one(s, read_job, clear_job, row);
  if (out == NULL && status == STORE_OK) store_job_clear(&tmp);
  return status;
}

/* A single-statement write returning the job, in this process's turn. */
static int write_job(store *st, sqlite3_stmt *s, store_job *out) {
  write_lock(st);
  int status = run_job(s, out);
  write_unlock(st);
  return status;
}

/* A state change guarded by the job's state, in this process's turn; no row
 * changed means the job is missing or in another state. */
static int write_job_state(store *st, sqlite3_stmt *s, int64_t id) {
  write_lock(st);
  int status = run(s);
  if (status == STORE_OK && sqlite3_changes(st->db) == 0) status = job_missing_or_conflict(st, id);
  write_unlock(st);
  return status;
}

int store_job_insert(store *st, int64_t model_id, int64_t dataset_id, const char *config,
                     int64_t epochs, store_job *out) {
  if (out) memset(out, 0, sizeof *out);
  if (config == NULL || epochs <= 0) return STORE_EINVAL;
  char created[STORE_TIME_LEN];
  now(created);
  sqlite3_stmt *s = st->stmt[Q_JOB_INSERT];
  sqlite3_bind_int64(s, 1, model_id);
  sqlite3_bind_int64(s, 2, dataset_id);
  int rc = sqlite3_bind_text(s, 3, config, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, epochs);
  sqlite3_bind_text(s, 5, created, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    done(s);
    return status_of(rc);
  }
  return write_job(st, s, out);
}

int store_job_get(store *st, int64_t id, store_job *out) {
  sqlite3_bind_int64(st->stmt[Q_JOB_GET], 1, id);
  return run_job(st->stmt[Q_JOB_GET], out);
}

int store_job_list(store *st, int state, int64_t model_id, store_job **out, size_t *n) {
  sqlite3_stmt *s = st->stmt[Q_JOB_LIST];
  *out = NULL;
  *n = 0;
  if (state != -1 && store_job_state_name((store_job_state)state) == NULL) return STORE_EINVAL;
  /* Unbound parameters are NULL: "any". */
  if (state != -1) sqlite3_bind_text(s, 1, state_names[state], -1, SQLITE_STATIC);
  if (model_id != 0) sqlite3_bind_int64(s, 2, model_id);
  void *rows;
  int status = run_list(s, sizeof **out, read_job, clear_job, &rows, n);
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
  done(s);
  return rc == SQLITE_DONE ? STORE_OK : status_of(rc);
}

int store_job_claim(store *st, store_job *out) {
  char started[STORE_TIME_LEN];
  now(started);
  sqlite3_bind_text(st->stmt[Q_JOB_CLAIM], 1, started, -1, SQLITE_STATIC);
  return write_job(st, st->stmt[Q_JOB_CLAIM], out);
}

int store_job_request_cancel(store *st, int64_t id, store_job *out) {
  char finished[STORE_TIME_LEN];
  now(finished);
  sqlite3_stmt *s = st->stmt[Q_JOB_CANCEL];
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, finished, -1, SQLITE_STATIC);
  return write_job(st, s, out);
}

int store_job_finish(store *st, int64_t id, store_job_state state, const char *error) {
  if (state != STORE_JOB_SUCCEEDED && state != STORE_JOB_FAILED && state != STORE_JOB_CANCELLED)
    return STORE_EINVAL;
  char finished[STORE_TIME_LEN];
  now(finished);
  sqlite3_stmt *s = st->stmt[Q_JOB_FINISH];
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, state_names[state], -1, SQLITE_STATIC);
  int rc = sqlite3_bind_text(s, 3, error, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, finished, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    done(s);
    return status_of(rc);
  }
  return write_job_state(st, s, id);
}


static int check_epoch(const store_epoch *e) {
  if (e->metric.epoch < 1) return STORE_EINVAL;
  if ((e->checkpoint == NULL) != (e->checkpoint_len == 0)) return STORE_EINVAL;
  if ((e->weights == NULL) != (e->weights_len == 0)) return STORE_EINVAL;
  if (e->weights != NULL && e->checkpoint == NULL) return STORE_EINVAL;
  return STORE_OK;
}

/* Store a job's checkpoint at epoch and keep the newest few. */
static int save_checkpoint(store *st, int64_t job_id, int64_t epoch, const uint8_t *data,
                           size_t len) {
  char created[STORE_TIME_LEN];
  now(created);
  sqlite3_stmt *s = st->stmt[Q_CHECKPOINT_UPSERT];
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, epoch);
  sqlite3_bind_int64(s, 3, (int64_t)len);
  sqlite3_bind_text(s, 5, created, -1, SQLITE_STATIC);
  int rc = sqlite3_bind_blob64(s, 4, data, len, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    done(s);
    return status_of(rc);
  }
  int status = run(s);
  if (status != STORE_OK) return status;
  s = st->stmt[Q_CHECKPOINT_PRUNE];
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int(s, 2, STORE_CHECKPOINTS_KEPT);
  return run(s);
}

/* Store a checkpoint, prune the old ones and publish the weights. */
static int publish(store *st, const store_epoch *e, int64_t model_id, int64_t *version) {
  int status = save_checkpoint(st, e->job_id, e->metric.epoch, e->checkpoint, e->checkpoint_len);
  if (status != STORE_OK) return status;
  sqlite3_stmt *s = st->stmt[Q_MODEL_PUBLISH];
  sqlite3_bind_int64(s, 1, model_id);
  sqlite3_bind_int64(s, 3, e->job_id);
  sqlite3_bind_text(s, 4, e->classes, -1, SQLITE_STATIC);
  int rc = e->weights ? sqlite3_bind_blob64(s, 2, e->weights, e->weights_len, SQLITE_STATIC)
                  : sqlite3_bind_blob64(s, 2, e->checkpoint, e->checkpoint_len, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    done(s);
    return status_of(rc);
  }
  return run_one(s, read_int64, NULL, version);
}

int store_job_epoch_commit(store *st, const store_epoch *e, int64_t *version) {
  int64_t model_id = 0, v = 0;
  int status = check_epoch(e);
  if (status != STORE_OK) return status;
  if ((status = begin(st, Q_BEGIN_WRITE)) != STORE_OK) return status;

  sqlite3_stmt *s = st->stmt[Q_JOB_PROGRESS];
  sqlite3_bind_int64(s, 1, e->job_id);
  sqlite3_bind_int64(s, 2, e->metric.epoch);
  bind_double(s, 3, e->metric.loss);
  bind_double(s, 4, e->metric.val_loss);
  bind_double(s, 5, e->metric.accuracy);
  bind_double(s, 6, e->metric.val_accuracy);
  bind_double(s, 7, e->samples_per_second);
  status = run_one(s, read_int64, NULL, &model_id);
  if (status == STORE_ENOTFOUND) status = job_missing_or_conflict(st, e->job_id);
  if (status != STORE_OK) goto exit;

  s = st->stmt[Q_METRIC_UPSERT];
  sqlite3_bind_int64(s, 1, e->job_id);
  sqlite3_bind_int64(s, 2, e->metric.epoch);
  bind_double(s, 3, e->metric.loss);
  bind_double(s, 4, e->metric.val_loss);
  bind_double(s, 5, e->metric.accuracy);
  bind_double(s, 6, e->metric.val_accuracy);
  bind_double(s, 7, e->metric.lr);
  bind_double(s, 8, e->metric.seconds);
  if ((status = run(s)) != STORE_OK) goto exit;

  if (e->checkpoint != NULL) {
    status = publish(st, e, model_id, &v);
  } else {
    sqlite3_bind_int64(st->stmt[Q_MODEL_VERSION], 1, model_id);
    status = run_one(st->stmt[Q_MODEL_VERSION], read_int64, NULL, &v);
  }

exit:
  status = end(st, status);
  if (status == STORE_OK && version != NULL) *version = v;
  return status;
}

int store_job_pause(store *st, int64_t id, int64_t epoch, const uint8_t *checkpoint,
                    size_t len) {
  if ((checkpoint == NULL) != (len == 0) || epoch < 0) return STORE_EINVAL;
  int status = begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  sqlite3_stmt *s = st->stmt[Q_JOB_REQUEUE];
  sqlite3_bind_int64(s, 1, id);
  status = run(s);
  if (status == STORE_OK && sqlite3_changes(st->db) == 0) status = job_missing_or_conflict(st, id);
  if (status == STORE_OK && checkpoint != NULL)
    status = save_checkpoint(st, id, epoch, checkpoint, len);
  return end(st, status);
}

int store_jobs_recover(store *st, int *requeued, int *failed, int *cancelled) {
  char at[STORE_TIME_LEN], why[160];
  int n_cancelled = 0, n_failed = 0, n_requeued = 0;
  now(at);
  snprintf(why, sizeof why,
           "the daemon stopped while running this job more than %d times; not restarted again",
           STORE_MAX_RESTARTS);
  int status = begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;

  /* A cancel request outlives the crash: the job is not resumed. */
  sqlite3_bind_text(st->stmt[Q_RECOVER_CANCELLED], 1, at, -1, SQLITE_STATIC);
  if ((status = run(st->stmt[Q_RECOVER_CANCELLED])) != STORE_OK) goto exit;
  n_cancelled = sqlite3_changes(st->db);

  sqlite3_stmt *s = st->stmt[Q_RECOVER_FAILED];
  sqlite3_bind_text(s, 1, at, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, why, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 3, STORE_MAX_RESTARTS);
  if ((status = run(s)) != STORE_OK) goto exit;
  n_failed = sqlite3_changes(st->db);

  if ((status = run(st->stmt[Q_RECOVER_REQUEUE])) != STORE_OK) goto exit;
  n_requeued = sqlite3_changes(st->db);

exit:
  status = end(st, status);
  if (status == STORE_OK) {
    if (requeued) *requeued = n_requeued;
    if (failed) *failed = n_failed;
    if (cancelled) *cancelled = n_cancelled;
  }
  return status;
}

/* ---- metrics and checkpoints ---------------------------------------------------------- */

static int read_metric(sqlite3_stmt *s, void *row) {
  store_metric *m = row;
  m->epoch = sqlite3_column_int64(s, 0);
  m->loss = column_double(s, 1);
  m->val_loss = column_double(s, 2);
  m->accuracy = column_double(s, 3);
  m->val_accuracy = column_double(s, 4);
  m->lr = column_double(s, 5);
  m->seconds = column_double(s, 6);
  return STORE_OK;
}

static int read_checkpoint(sqlite3_stmt *s, void *row) {
  store_checkpoint *c = row;
  c->epoch = sqlite3_column_int64(s, 0);
  c->bytes = sqlite3_column_int64(s, 1);
  column_time(s, 2, c->created_at);
  return STORE_OK;
}

/* List a job's rows with q, telling a job without rows from no job at all
 * (one read transaction, so both answers come from the same snapshot). */
static int list_of_job(store *st, enum query q, int64_t job_id, int64_t after, size_t size,
                       row_reader read, void **out, size_t *n) {
  *out = NULL;
  *n = 0;
  int status = begin(st, Q_BEGIN_READ);
  if (status != STORE_OK) return status;
  int64_t found;
  sqlite3_bind_int64(st->stmt[Q_JOB_EXISTS], 1, job_id);
  status = run_one(st->stmt[Q_JOB_EXISTS], read_int64, NULL, &found);
  if (status == STORE_OK) {
    sqlite3_bind_int64(st->stmt[q], 1, job_id);
    if (q == Q_METRICS_AFTER) sqlite3_bind_int64(st->stmt[q], 2, after);
    status = run_list(st->stmt[q], size, read, NULL, out, n);
  }
  status = end(st, status);
  if (status != STORE_OK) {
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
      list_of_job(st, Q_METRICS_AFTER, job_id, after, sizeof **out, read_metric, &rows, n);
  *out = rows;
  return status;
}

int store_checkpoint_list(store *st, int64_t job_id, store_checkpoint **out, size_t *n) {
  void *rows;
  int status =
      list_of_job(st, Q_CHECKPOINT_LIST, job_id, 0, sizeof **out, read_checkpoint, &rows, n);
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
  int status = column_blob(s, 1, 0, &buf, &c->len);
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
  int status =
      run_one(st->stmt[Q_CHECKPOINT_LATEST], read_checkpoint_data, clear_checkpoint_data, &c);
  *epoch = c.epoch;
  *buf = c.buf;
  *len = c.len;
  return status;
}
