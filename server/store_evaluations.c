/* store_evaluations.c — evaluations of models on datasets in the store: one
 * row each, holding the evaluation as the JSON text a client reads and its
 * headline numbers apart, so a list reads small rows only. Rows are written
 * once and never changed; they go when their model does. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

void store_evaluation_clear(store_evaluation *e) {
  free(e->summary);
  free(e->result);
  memset(e, 0, sizeof *e);
}

void store_evaluation_list_free(store_evaluation *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) store_evaluation_clear(&list[i]);
  free(list);
}

static void clear_evaluation(void *row) { store_evaluation_clear(row); }

/* The columns every statement reads; a list reads NULL for result. */
#define EVALUATION_COLS \
  "id, model_id, version, dataset_id, task, rows, summary, created_at, job_id"
enum {
  EVAL_ID, EVAL_MODEL_ID, EVAL_VERSION, EVAL_DATASET_ID, EVAL_TASK, EVAL_ROWS, EVAL_SUMMARY,
  EVAL_CREATED_AT, EVAL_JOB_ID, EVAL_RESULT,
  EVAL_NCOLS
};

static int read_evaluation(sqlite3_stmt *s, void *row) {
  store_evaluation *e = row;
  assert(sqlite3_column_count(s) == EVAL_NCOLS);
  memset(e, 0, sizeof *e);
  e->id = sqlite3_column_int64(s, EVAL_ID);
  e->model_id = sqlite3_column_int64(s, EVAL_MODEL_ID);
  e->version = sqlite3_column_int64(s, EVAL_VERSION);
  e->dataset_id = sqlite3_column_int64(s, EVAL_DATASET_ID);
  e->job_id = sqlite3_column_int64(s, EVAL_JOB_ID); /* NULL reads 0 */
  e->rows = sqlite3_column_int64(s, EVAL_ROWS);
  const char *task = (const char *)sqlite3_column_text(s, EVAL_TASK);
  e->task = task != NULL && strcmp(task, store__task_names[STORE_TASK_CLASSIFICATION]) == 0
                ? STORE_TASK_CLASSIFICATION
                : STORE_TASK_REGRESSION;
  store__column_time(s, EVAL_CREATED_AT, e->created_at);
  int status = store__column_text(s, EVAL_SUMMARY, &e->summary);
  if (status == STORE_OK) status = store__column_text(s, EVAL_RESULT, &e->result);
  if (status != STORE_OK) store_evaluation_clear(e);
  return status;
}

static const store__sql evaluation_insert = {
    Q_EVALUATION_INSERT,
    "INSERT INTO evaluations (model_id, version, dataset_id, job_id, task, rows, summary,"
    " result, created_at) VALUES (:model_id, :version, :dataset_id, nullif(:job_id, 0), :task,"
    " :rows, :summary, :result, :created_at) RETURNING " EVALUATION_COLS ", NULL"};

int store_evaluation_insert(store *st, const store_evaluation *e, store_evaluation *out) {
  store_evaluation tmp;
  store_evaluation *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  if (e->summary == NULL || e->result == NULL || e->rows <= 0 || e->version <= 0 ||
      store_task_name(e->task) == NULL)
    return STORE_EINVAL;
  char created[STORE_TIME_LEN];
  store__now(created);
  store__query q = store__prepare(st, &evaluation_insert);
  store__bind_int64(&q, ":model_id", e->model_id);
  store__bind_int64(&q, ":version", e->version);
  store__bind_int64(&q, ":dataset_id", e->dataset_id);
  store__bind_int64(&q, ":job_id", e->job_id);
  store__bind_text(&q, ":task", store__task_names[e->task]);
  store__bind_int64(&q, ":rows", e->rows);
  store__bind_text(&q, ":summary", e->summary);
  store__bind_text(&q, ":result", e->result);
  store__bind_text(&q, ":created_at", created);
  if (q.status != STORE_OK) {
    store__done(&q);
    return q.status;
  }
  store__write_lock(st);
  int status = store__run_one(&q, read_evaluation, clear_evaluation, row);
  store__write_unlock(st);
  if (status == STORE_OK) { /* the caller has the strings */
    free(row->summary);
    row->summary = NULL;
  }
  if (out == NULL && status == STORE_OK) store_evaluation_clear(&tmp);
  return status;
}

static const store__sql evaluation_get = {
    Q_EVALUATION_GET, "SELECT " EVALUATION_COLS ", result FROM evaluations"
                      " WHERE id = :id AND model_id = :model_id"};

int store_evaluation_get(store *st, int64_t model_id, int64_t id, store_evaluation *out) {
  memset(out, 0, sizeof *out);
  store__query q = store__prepare(st, &evaluation_get);
  store__bind_int64(&q, ":id", id);
  store__bind_int64(&q, ":model_id", model_id);
  return store__run_one(&q, read_evaluation, clear_evaluation, out);
}

static const store__sql evaluation_list = {
    Q_EVALUATION_LIST, "SELECT " EVALUATION_COLS ", NULL FROM evaluations"
                       " WHERE model_id = :model_id ORDER BY id"};

int store_evaluation_list(store *st, int64_t model_id, store_evaluation **out, size_t *n) {
  void *rows;
  store__query q = store__prepare(st, &evaluation_list);
  store__bind_int64(&q, ":model_id", model_id);
  int status = store__run_list(&q, sizeof **out, read_evaluation, clear_evaluation, &rows, n);
  *out = rows;
  return status;
}

static const store__sql evaluation_of_job = {
    Q_EVALUATION_OF_JOB, "SELECT " EVALUATION_COLS ", NULL FROM evaluations"
                         " WHERE job_id = :job_id"};

int store_evaluation_of_job(store *st, int64_t job_id, store_evaluation *out) {
  memset(out, 0, sizeof *out);
  store__query q = store__prepare(st, &evaluation_of_job);
  store__bind_int64(&q, ":job_id", job_id);
  return store__run_one(&q, read_evaluation, clear_evaluation, out);
}
