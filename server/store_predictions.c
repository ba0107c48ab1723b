/* store_predictions.c — batch predictions and their output blocks in the
 * store (store_predictions.h). A block is one row of prediction_blocks, its
 * outputs a float32 blob: a run's memory holds one block, and the output
 * endpoint reads one at a time. */
#include "store_predictions.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

void store_prediction_clear(store_prediction *p) {
  free(p->error);
  memset(p, 0, sizeof *p);
}

void store_prediction_list_free(store_prediction *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) store_prediction_clear(&list[i]);
  free(list);
}

static void clear_prediction(void *row) { store_prediction_clear(row); }

#define PREDICTION_COLS                                                                    \
  "id, model_id, version, dataset_id, state, rows, rows_done, cancel_requested, error," \
  " created_at, started_at, finished_at"
enum {
  P_ID, P_MODEL_ID, P_VERSION, P_DATASET_ID, P_STATE, P_ROWS, P_ROWS_DONE, P_CANCEL, P_ERROR,
  P_CREATED_AT, P_STARTED_AT, P_FINISHED_AT, P_NCOLS
};

static int read_prediction(sqlite3_stmt *s, void *row) {
  store_prediction *p = row;
  assert(sqlite3_column_count(s) == P_NCOLS);
  memset(p, 0, sizeof *p);
  p->id = sqlite3_column_int64(s, P_ID);
  p->model_id = sqlite3_column_int64(s, P_MODEL_ID);
  p->version = sqlite3_column_int64(s, P_VERSION);
  p->dataset_id = sqlite3_column_int64(s, P_DATASET_ID);
  p->rows = sqlite3_column_int64(s, P_ROWS);
  p->rows_done = sqlite3_column_int64(s, P_ROWS_DONE);
  p->cancel_requested = sqlite3_column_int64(s, P_CANCEL) != 0;
  store__column_time(s, P_CREATED_AT, p->created_at);
  store__column_time(s, P_STARTED_AT, p->started_at);
  store__column_time(s, P_FINISHED_AT, p->finished_at);
  int status = store_job_state_parse((const char *)sqlite3_column_text(s, P_STATE), &p->state);
  if (status != STORE_OK) return STORE_EIO; /* the schema's CHECK allows no other */
  return store__column_text(s, P_ERROR, &p->error);
}

/* The prediction's event, as it is now, in the open write transaction. */
static const store__sql prediction_event = {
    Q_PREDICTION_EVENT,
    "INSERT INTO events (kind, epoch, prediction_id, state, detail)"
    " SELECT 'prediction', 0, id, state, json_object('rows', rows, 'rows_done', rows_done)"
    " FROM predictions WHERE id = :id"};

static int log_event(store *st, int64_t id) {
  assert(st->writing && st->in_transaction);
  store__query q = store__prepare(st, &prediction_event);
  store__bind_int64(&q, ":id", id);
  int status = store__run(&q);
  if (status == STORE_OK) status = store__events_inserted(st);
  return status;
}

/* Run q (RETURNING PREDICTION_COLS) into out and log the event, in one write. */
static int write_logged(store *st, store__query *q, store_prediction *out) {
  store_prediction tmp;
  store_prediction *row = out != NULL ? out : &tmp;
  memset(row, 0, sizeof *row);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) {
    store__done(q);
    return status;
  }
  status = store__run_one(q, read_prediction, clear_prediction, row);
  if (status == STORE_OK) status = log_event(st, row->id);
  status = store__end(st, status);
  if (out == NULL || status != STORE_OK) store_prediction_clear(row);
  return status;
}

static const store__sql prediction_insert = {
    Q_PREDICTION_INSERT,
    "INSERT INTO predictions (model_id, version, dataset_id, state, rows, created_at)"
    " VALUES (:model_id, :version, :dataset_id, 'queued', :rows, :created_at)"
    " RETURNING " PREDICTION_COLS};

int store_prediction_insert(store *st, const store_prediction *p, store_prediction *out) {
  if (p->rows <= 0 || p->version <= 0) return STORE_EINVAL;
  char now[STORE_TIME_LEN];
  store__now(now);
  store__query q = store__prepare(st, &prediction_insert);
  store__bind_int64(&q, ":model_id", p->model_id);
  store__bind_int64(&q, ":version", p->version);
  store__bind_int64(&q, ":dataset_id", p->dataset_id);
  store__bind_int64(&q, ":rows", p->rows);
  store__bind_text(&q, ":created_at", now);
  return write_logged(st, &q, out);
}

static const store__sql prediction_get = {
    Q_PREDICTION_GET, "SELECT " PREDICTION_COLS " FROM predictions WHERE id = :id"};

int store_prediction_get(store *st, int64_t id, store_prediction *out) {
  memset(out, 0, sizeof *out);
  store__query q = store__prepare(st, &prediction_get);
  store__bind_int64(&q, ":id", id);
  return store__run_one(&q, read_prediction, clear_prediction, out);
}

static const store__sql prediction_list = {
    Q_PREDICTION_LIST, "SELECT " PREDICTION_COLS " FROM predictions ORDER BY id DESC"};

int store_prediction_list(store *st, store_prediction **out, size_t *n) {
  void *rows = NULL;
  store__query q = store__prepare(st, &prediction_list);
  int status = store__run_list(&q, sizeof **out, read_prediction, clear_prediction, &rows, n);
  *out = rows;
  return status;
}

static const store__sql prediction_claim = {
    Q_PREDICTION_CLAIM,
    "UPDATE predictions SET state = 'running', started_at = coalesce(started_at, :now)"
    " WHERE id = (SELECT id FROM predictions WHERE state = 'queued' ORDER BY id LIMIT 1)"
    " RETURNING " PREDICTION_COLS};

int store_prediction_claim(store *st, store_prediction *out) {
  char now[STORE_TIME_LEN];
  store__now(now);
  store__query q = store__prepare(st, &prediction_claim);
  store__bind_text(&q, ":now", now);
  return write_logged(st, &q, out);
}

static const store__sql block_insert = {
    Q_PREDICTION_BLOCK_INSERT,
    "INSERT INTO prediction_blocks (prediction_id, first_row, rows, outputs, y)"
    " VALUES (:id, :first_row, :rows, :outputs, :y)"};
/* Only the next rows of a running prediction advance it. */
static const store__sql prediction_progress = {
    Q_PREDICTION_PROGRESS,
    "UPDATE predictions SET rows_done = rows_done + :rows"
    " WHERE id = :id AND state = 'running' AND rows_done = :first_row"
    " AND rows_done + :rows <= rows RETURNING cancel_requested"};

int store_prediction_block(store *st, int64_t id, int64_t first_row, int64_t rows, int outputs,
                           const float *y, bool *cancel) {
  *cancel = false;
  if (rows <= 0 || outputs <= 0 || first_row < 0 ||
      (uint64_t)rows > SIZE_MAX / sizeof(float) / (unsigned)outputs)
    return STORE_EINVAL;
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  int64_t cancelled = 0;
  store__query q = store__prepare(st, &prediction_progress);
  store__bind_int64(&q, ":id", id);
  store__bind_int64(&q, ":first_row", first_row);
  store__bind_int64(&q, ":rows", rows);
  status = store__run_one(&q, store__read_int64, NULL, &cancelled);
  if (status == STORE_OK) {
    q = store__prepare(st, &block_insert);
    store__bind_int64(&q, ":id", id);
    store__bind_int64(&q, ":first_row", first_row);
    store__bind_int64(&q, ":rows", rows);
    store__bind_int64(&q, ":outputs", outputs);
    store__bind_blob(&q, ":y", y, (size_t)rows * (size_t)outputs * sizeof *y);
    status = store__run(&q);
  }
  if (status == STORE_OK) status = log_event(st, id);
  status = store__end(st, status);
  if (status == STORE_OK) *cancel = cancelled != 0;
  return status;
}

static const store__sql prediction_finish = {
    Q_PREDICTION_FINISH,
    "UPDATE predictions SET state = :state, error = :error, finished_at = :now"
    " WHERE id = :id AND state = 'running' RETURNING " PREDICTION_COLS};
static const store__sql blocks_delete = {
    Q_PREDICTION_BLOCKS_DELETE, "DELETE FROM prediction_blocks WHERE prediction_id = :id"};

/* Delete id's blocks (its output is gone: cancelled or failed). */
static int delete_blocks(store *st, int64_t id) {
  store__query q = store__prepare(st, &blocks_delete);
  store__bind_int64(&q, ":id", id);
  return store__run(&q);
}

int store_prediction_finish(store *st, int64_t id, store_job_state end, const char *error) {
  if (end != STORE_JOB_SUCCEEDED && end != STORE_JOB_FAILED && end != STORE_JOB_CANCELLED)
    return STORE_EINVAL;
  char now[STORE_TIME_LEN];
  store__now(now);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  store__query q = store__prepare(st, &prediction_finish);
  store__bind_text(&q, ":state", store__state_names[end]);
  if (end == STORE_JOB_FAILED) store__bind_text(&q, ":error", error != NULL ? error : "failed");
  store__bind_text(&q, ":now", now);
  store__bind_int64(&q, ":id", id);
  store_prediction row;
  status = store__run_one(&q, read_prediction, clear_prediction, &row);
  if (status == STORE_OK) store_prediction_clear(&row);
  if (status == STORE_OK && end != STORE_JOB_SUCCEEDED) status = delete_blocks(st, id);
  if (status == STORE_OK) status = log_event(st, id);
  return store__end(st, status);
}

/* A queued prediction ends at once; a running one is flagged for its worker. */
static const store__sql prediction_cancel = {
    Q_PREDICTION_CANCEL,
    "UPDATE predictions SET cancel_requested = 1,"
    " state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END,"
    " finished_at = CASE state WHEN 'queued' THEN :now ELSE finished_at END"
    " WHERE id = :id AND state IN ('queued', 'running') RETURNING " PREDICTION_COLS};

int store_prediction_cancel(store *st, int64_t id, store_prediction *out) {
  char now[STORE_TIME_LEN];
  store__now(now);
  store__query q = store__prepare(st, &prediction_cancel);
  store__bind_text(&q, ":now", now);
  store__bind_int64(&q, ":id", id);
  int status = write_logged(st, &q, out);
  if (status == STORE_ENOTFOUND) { /* missing, or ended */
    store_prediction p;
    int got = store_prediction_get(st, id, &p);
    store_prediction_clear(&p);
    status = got == STORE_OK ? STORE_ECONFLICT : got;
  }
  return status;
}

typedef struct {
  int64_t first, rows;
  int outputs;
  float *y;
} block;

static int read_block(sqlite3_stmt *s, void *row) {
  block *b = row;
  b->first = sqlite3_column_int64(s, 0);
  b->rows = sqlite3_column_int64(s, 1);
  b->outputs = (int)sqlite3_column_int64(s, 2);
  /* the schema's CHECK holds length(y) = rows * outputs * 4 */
  return store__column_blob(s, 3, 0, (void **)&b->y, NULL);
}

static void clear_block(void *row) {
  block *b = row;
  free(b->y);
  b->y = NULL;
}

static const store__sql block_read = {
    Q_PREDICTION_BLOCK_READ,
    "SELECT first_row, rows, outputs, y FROM prediction_blocks WHERE prediction_id = :id"
    " AND first_row >= :row ORDER BY first_row LIMIT 1"}; /* a seek in the primary key */

int store_prediction_block_read(store *st, int64_t id, int64_t row, int64_t *first,
                                int64_t *rows, int *outputs, float **y) {
  block b = {0};
  store__query q = store__prepare(st, &block_read);
  store__bind_int64(&q, ":id", id);
  store__bind_int64(&q, ":row", row);
  int status = store__run_one(&q, read_block, clear_block, &b);
  if (status == STORE_OK && b.y == NULL) status = STORE_EIO;
  if (status != STORE_OK) clear_block(&b);
  *first = b.first;
  *rows = b.rows;
  *outputs = b.outputs;
  *y = b.y;
  return status;
}

static const store__sql prediction_recover = {
    Q_PREDICTION_RECOVER,
    "UPDATE predictions SET state = 'queued' WHERE id ="
    " (SELECT id FROM predictions WHERE state = 'running' ORDER BY id LIMIT 1)"
    " RETURNING " PREDICTION_COLS};

int store_predictions_recover(store *st, int *requeued) {
  int status;
  store_prediction p;
  *requeued = 0;
  /* one at a time: each logs its own 'queued' event */
  store__query q = store__prepare(st, &prediction_recover);
  while ((status = write_logged(st, &q, &p)) == STORE_OK) {
    store_prediction_clear(&p);
    (*requeued)++;
    q = store__prepare(st, &prediction_recover);
  }
  return status == STORE_ENOTFOUND ? STORE_OK : status;
}
