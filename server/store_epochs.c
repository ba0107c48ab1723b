/* store_epochs.c — what each epoch of a job leaves in the store: the job's
 * progress columns, a metrics row (thinned past STORE_METRICS_DENSE epochs),
 * and every few epochs a checkpoint whose weights become the model's next
 * version; store_job_epoch_commit writes them (and their events) in one
 * transaction. Also the reads of a job's metrics and checkpoints. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- metrics rows -------------------------------------------------------------------- */

#define METRIC_COLS "epoch, loss, val_loss, accuracy, val_accuracy, lr, seconds, layers, threads"
enum {
  METRIC_EPOCH, METRIC_LOSS, METRIC_VAL_LOSS, METRIC_ACCURACY, METRIC_VAL_ACCURACY, METRIC_LR,
  METRIC_SECONDS, METRIC_LAYERS, METRIC_THREADS,
  METRIC_NCOLS
};

/* A row of METRIC_COLS. */
static int read_metric(sqlite3_stmt *s, void *row) {
  store_metric *m = row;
  assert(sqlite3_column_count(s) == METRIC_NCOLS);
  m->epoch = sqlite3_column_int64(s, METRIC_EPOCH);
  m->loss = store__column_double(s, METRIC_LOSS);
  m->val_loss = store__column_double(s, METRIC_VAL_LOSS);
  m->accuracy = store__column_double(s, METRIC_ACCURACY);
  m->val_accuracy = store__column_double(s, METRIC_VAL_ACCURACY);
  m->lr = store__column_double(s, METRIC_LR);
  m->seconds = store__column_double(s, METRIC_SECONDS);
  m->threads = sqlite3_column_int(s, METRIC_THREADS); /* NULL reads as 0 */
  return store__column_text(s, METRIC_LAYERS, &m->layers);
}

static void clear_metric(void *row) {
  store_metric *m = row;
  free(m->layers);
  m->layers = NULL;
}

void store_metric_list_free(store_metric *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) clear_metric(&list[i]);
  free(list);
}

static const store__sql metric_get = {
    Q_METRIC_GET, "SELECT " METRIC_COLS " FROM metrics WHERE job_id = :job_id AND epoch = :epoch"};

int store__metric_get(store *st, int64_t job_id, int64_t epoch, store_metric *out) {
  store__query q = store__prepare(st, &metric_get);
  store__bind_int64(&q, ":job_id", job_id);
  store__bind_int64(&q, ":epoch", epoch);
  return store__run_one(&q, read_metric, NULL, out);
}

/* ---- checkpoints ---------------------------------------------------------------------- */

static const store__sql checkpoint_upsert = {
    Q_CHECKPOINT_UPSERT,
    "INSERT INTO checkpoints (job_id, epoch, bytes, data, created_at)"
    " VALUES (:job_id, :epoch, :bytes, :data, :created_at) ON CONFLICT (job_id, epoch) DO UPDATE"
    " SET bytes = excluded.bytes, data = excluded.data, created_at = excluded.created_at"};
static const store__sql job_checkpointed = {
    Q_JOB_CHECKPOINTED, "UPDATE jobs SET stalled_restarts = 0 WHERE id = :job_id"};
static const store__sql checkpoint_prune = {
    Q_CHECKPOINT_PRUNE, "DELETE FROM checkpoints WHERE job_id = :job_id AND epoch NOT IN"
                        " (SELECT epoch FROM checkpoints WHERE job_id = :job_id"
                        " ORDER BY epoch DESC LIMIT :kept)"};

/* A checkpoint is progress a crash cannot take back, so the job's stalled
 * restarts start over. */
int store__checkpoint_save(store *st, int64_t job_id, int64_t epoch, const uint8_t *data,
                           size_t len) {
  assert(st->writing);
  char created[STORE_TIME_LEN];
  store__now(created);
  store__query q = store__prepare(st, &checkpoint_upsert);
  store__bind_int64(&q, ":job_id", job_id);
  store__bind_int64(&q, ":epoch", epoch);
  store__bind_int64(&q, ":bytes", (int64_t)len);
  store__bind_blob(&q, ":data", data, len);
  store__bind_text(&q, ":created_at", created);
  int status = store__run(&q);
  if (status != STORE_OK) return status;
  q = store__prepare(st, &job_checkpointed);
  store__bind_int64(&q, ":job_id", job_id);
  if ((status = store__run(&q)) != STORE_OK) return status;
  q = store__prepare(st, &checkpoint_prune);
  store__bind_int64(&q, ":job_id", job_id);
  store__bind_int64(&q, ":kept", STORE_CHECKPOINTS_KEPT);
  return store__run(&q);
}

/* ---- committing an epoch ------------------------------------------------------------- */

static int check_epoch(const store_epoch *e) {
  if (e->metric.epoch < 1) return STORE_EINVAL;
  if ((e->checkpoint == NULL) != (e->checkpoint_len == 0)) return STORE_EINVAL;
  if ((e->weights == NULL) != (e->weights_len == 0)) return STORE_EINVAL;
  if (e->weights != NULL && e->checkpoint == NULL) return STORE_EINVAL;
  if (e->versions_kept < 0) return STORE_EINVAL;
  return STORE_OK;
}

/* The job's columns that mirror its latest metrics row. */
static const store__sql job_progress = {
    Q_JOB_PROGRESS,
    "UPDATE jobs SET epoch = :epoch, loss = :loss, val_loss = :val_loss, accuracy = :accuracy,"
    " val_accuracy = :val_accuracy, samples_per_second = :samples_per_second"
    " WHERE id = :job_id AND state = 'running' RETURNING model_id"};
/* Upsert: a job resumed from a checkpoint re-runs the epochs after it. */
static const store__sql metric_upsert = {
    Q_METRIC_UPSERT,
    "INSERT INTO metrics (job_id, epoch, loss, val_loss, accuracy, val_accuracy, lr, seconds,"
    " layers, threads) VALUES (:job_id, :epoch, :loss, :val_loss, :accuracy, :val_accuracy,"
    " :lr, :seconds, :layers, :threads)"
    " ON CONFLICT (job_id, epoch) DO UPDATE"
    " SET loss = excluded.loss, val_loss = excluded.val_loss, accuracy = excluded.accuracy,"
    " val_accuracy = excluded.val_accuracy, lr = excluded.lr, seconds = excluded.seconds,"
    " layers = excluded.layers, threads = excluded.threads"};

/* Bind what both statements above take from the epoch by the same names. */
static void bind_figures(store__query *q, const store_epoch *e) {
  store__bind_int64(q, ":job_id", e->job_id);
  store__bind_int64(q, ":epoch", e->metric.epoch);
  store__bind_double(q, ":loss", e->metric.loss);
  store__bind_double(q, ":val_loss", e->metric.val_loss);
  store__bind_double(q, ":accuracy", e->metric.accuracy);
  store__bind_double(q, ":val_accuracy", e->metric.val_accuracy);
}

int64_t store_metrics_stride(int64_t epoch) {
  int64_t stride = 1;
  while (epoch > stride * STORE_METRICS_DENSE) stride *= 2;
  return stride;
}

/* A long job's metrics at a :stride: its rows in [:from, :to) off it go. */
static const store__sql metrics_thin = {
    Q_METRICS_THIN, "DELETE FROM metrics WHERE job_id = :job_id AND epoch >= :from"
                    " AND epoch < :to AND epoch % :stride != 0"};

/* Keep a job's metrics at the stride of epoch, its newest row just written:
 * the row before goes unless it is on the stride, and when the stride has
 * just doubled, every row below that is not on it. Both deletes are ranges
 * of the primary key. */
static int thin_metrics(store *st, int64_t job_id, int64_t epoch) {
  int64_t stride = store_metrics_stride(epoch);
  if (stride == 1) return STORE_OK;
  store__query q = store__prepare(st, &metrics_thin);
  store__bind_int64(&q, ":job_id", job_id);
  store__bind_int64(&q, ":from", store_metrics_stride(epoch - 1) != stride ? 1 : epoch - 1);
  store__bind_int64(&q, ":to", epoch);
  store__bind_int64(&q, ":stride", stride);
  return store__run(&q);
}

int store_job_epoch_commit(store *st, const store_epoch *e, int64_t *version) {
  int64_t model_id = 0, v = 0;
  int status = check_epoch(e);
  if (status != STORE_OK) return status;
  if ((status = store__begin(st, Q_BEGIN_WRITE)) != STORE_OK) return status;

  store__query q = store__prepare(st, &job_progress);
  bind_figures(&q, e);
  store__bind_double(&q, ":samples_per_second", e->samples_per_second);
  status = store__run_one(&q, store__read_int64, NULL, &model_id);
  if (status == STORE_ENOTFOUND) status = store__job_missing_or_conflict(st, e->job_id);
  if (status != STORE_OK) goto exit;

  q = store__prepare(st, &metric_upsert);
  bind_figures(&q, e);
  store__bind_double(&q, ":lr", e->metric.lr);
  store__bind_double(&q, ":seconds", e->metric.seconds);
  store__bind_text(&q, ":layers", e->metric.layers);
  if (e->metric.threads > 0) store__bind_int64(&q, ":threads", e->metric.threads);
  if ((status = store__run(&q)) != STORE_OK ||
      (status = thin_metrics(st, e->job_id, e->metric.epoch)) != STORE_OK)
    goto exit;
  store_event epoch = {.job_id = e->job_id, .kind = STORE_EVENT_EPOCH, .epoch = e->metric.epoch};
  if ((status = store__event(st, &epoch)) != STORE_OK) goto exit;

  if (e->checkpoint == NULL) {
    status = store__model_version(st, model_id, &v);
    goto exit;
  }
  status = store__checkpoint_save(st, e->job_id, e->metric.epoch, e->checkpoint,
                                  e->checkpoint_len);
  if (status == STORE_OK) status = store__model_publish(st, e, model_id, &v);
  if (status == STORE_OK) {
    store_event c = {.job_id = e->job_id, .kind = STORE_EVENT_CHECKPOINT,
                     .epoch = e->metric.epoch, .version = v, .bytes = (int64_t)e->checkpoint_len};
    status = store__event(st, &c);
  }

exit:
  status = store__end(st, status);
  if (status == STORE_OK && version != NULL) *version = v;
  return status;
}

/* ---- reading a job's epochs ------------------------------------------------------------ */

/* List a job's rows with q (bound but for :job_id), telling a job without
 * rows from no job at all (one read transaction, so both answers come from
 * the same snapshot). */
static int list_of_job(store *st, store__query *q, int64_t job_id, size_t size,
                       store__row_reader read, store__row_clear clear, void **out, size_t *n) {
  *out = NULL;
  *n = 0;
  int status = store__begin(st, Q_BEGIN_READ);
  if (status == STORE_OK) {
    status = store__job_exists(st, job_id);
    store__bind_int64(q, ":job_id", job_id);
    if (status == STORE_OK) status = store__run_list(q, size, read, clear, out, n);
    status = store__end(st, status);
  }
  store__done(q);
  if (status != STORE_OK) {
    for (size_t i = 0; clear != NULL && i < *n; i++) clear((char *)*out + i * size);
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return status;
}

static const store__sql metrics_after = {
    Q_METRICS_AFTER, "SELECT " METRIC_COLS " FROM metrics"
                     " WHERE job_id = :job_id AND epoch > :after ORDER BY epoch"};

int store_metrics_after(store *st, int64_t job_id, int64_t after, store_metric **out,
                        size_t *n) {
  void *rows;
  store__query q = store__prepare(st, &metrics_after);
  store__bind_int64(&q, ":after", after);
  int status = list_of_job(st, &q, job_id, sizeof **out, read_metric, clear_metric, &rows, n);
  *out = rows;
  return status;
}

static const store__sql checkpoint_list = {
    Q_CHECKPOINT_LIST,
    "SELECT epoch, bytes, created_at FROM checkpoints WHERE job_id = :job_id ORDER BY epoch"};
enum { LISTED_EPOCH, LISTED_BYTES, LISTED_CREATED_AT };

static int read_checkpoint(sqlite3_stmt *s, void *row) {
  store_checkpoint *c = row;
  c->epoch = sqlite3_column_int64(s, LISTED_EPOCH);
  c->bytes = sqlite3_column_int64(s, LISTED_BYTES);
  store__column_time(s, LISTED_CREATED_AT, c->created_at);
  return STORE_OK;
}

int store_checkpoint_list(store *st, int64_t job_id, store_checkpoint **out, size_t *n) {
  void *rows;
  store__query q = store__prepare(st, &checkpoint_list);
  int status = list_of_job(st, &q, job_id, sizeof **out, read_checkpoint, NULL, &rows, n);
  *out = rows;
  return status;
}

static const store__sql checkpoint_latest = {
    Q_CHECKPOINT_LATEST, "SELECT epoch, data FROM checkpoints WHERE job_id = :job_id"
                         " ORDER BY epoch DESC LIMIT 1"};
enum { LATEST_EPOCH, LATEST_DATA };

struct checkpoint_row {
  int64_t epoch;
  uint8_t *buf;
  size_t len;
};

static int read_checkpoint_data(sqlite3_stmt *s, void *row) {
  struct checkpoint_row *c = row;
  void *buf;
  c->epoch = sqlite3_column_int64(s, LATEST_EPOCH);
  int status = store__column_blob(s, LATEST_DATA, 0, &buf, &c->len);
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
  store__query q = store__prepare(st, &checkpoint_latest);
  store__bind_int64(&q, ":job_id", job_id);
  int status = store__run_one(&q, read_checkpoint_data, clear_checkpoint_data, &c);
  *epoch = c.epoch;
  *buf = c.buf;
  *len = c.len;
  return status;
}
