/* api_jobs.c — job endpoints: validate against the model and dataset, queue, report. */
#include "api_jobs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "evaluation.h"
#include "fit.h"
#include "jobs.h"
#include "json_eval.h"
#include "json_out.h"
#include "notify.h"
#include "parse_job.h"
#include "parse_spec.h"
#include "reply.h"
#include "store.h"

/* Load and check what a job names; 404 naming the missing one, 422 on a
 * misfit, 422 too_large when it cannot fit the memory budget (limit bytes);
 * *memory receives its estimate. */
static int check_job(store *st, const parse_job *job, size_t limit, size_t *memory,
                     api_error *err) {
  store_model m = {0};
  store_dataset d = {0};
  nn_spec spec = {0};
  int rc = fit_model_load(st, job->model, "model", &m, &spec, err);
  if (rc == 0) rc = fit_dataset_load(st, job->dataset, &spec, m.id, &d, err);
  if (rc == 0 && job->validation_dataset != 0)
    rc = evaluation_check_holdout(st, job->validation_dataset, "validation_dataset", &d, &spec,
                                  m.id, false, err);
  if (rc == 0 && job->test_dataset != 0)
    rc = evaluation_check_holdout(st, job->test_dataset, "test_dataset", &d, &spec, m.id, true,
                                  err);
  if (rc == 0 && job->ranks > 1 && spec.graph != NULL) /* core shards layer lists only */
    rc = api_fail(err, API_UNPROCESSABLE, "ranks",
                  "model %lld is a graph: a data-parallel job (ranks %d) trains layer lists only",
                  (long long)job->model, job->ranks);
  if (rc == 0) rc = budget_check_job(limit, &spec, &job->config, &d, memory, err);
  store_dataset_clear(&d);
  store_model_clear(&m);
  parse_spec_free(&spec);
  return rc;
}

/* Rows per rank and batch below which the gradient allreduce outweighs the
 * compute of a step (docs/performance.md). */
#define RANK_ROWS_WORTH 32

/* A data-parallel job needs a daemon started with --mpi; a small share of
 * each batch per rank is allowed but warned about in the answer. */
static int check_ranks(const app *a, const parse_job *job, cJSON *answer, api_error *err) {
  if (job->ranks > 1 && !a->cfg.mpi)
    return api_fail(err, API_UNPROCESSABLE, "ranks",
                    "ranks %d needs a daemon started with --mpi or --mpi-hostfile", job->ranks);
  /* the rank protocol carries neither a second dataset nor the best weights yet */
  if (job->ranks > 1 && job->validation_dataset != 0)
    return api_fail(err, API_UNPROCESSABLE, "validation_dataset",
                    "a data-parallel job (ranks %d) validates on validation_split only",
                    job->ranks);
  if (job->ranks > 1 && job->config.restore_best)
    return api_fail(err, API_UNPROCESSABLE, "early_stopping.restore_best",
                    "a data-parallel job (ranks %d) cannot restore its best weights yet",
                    job->ranks);
  if (answer == NULL || job->ranks == 1) return 0;
  cJSON *mpi = cJSON_AddObjectToObject(answer, "mpi");
  if (mpi != NULL) {
    cJSON_AddNumberToObject(mpi, "ranks", job->ranks);
    cJSON_AddNumberToObject(mpi, "algorithm", a->cfg.mpi_allreduce);
    cJSON_AddStringToObject(mpi, "open_mpi_version", a->cfg.mpi_version);
  }
  int rows = job->config.batch_size / job->ranks;
  if (rows >= RANK_ROWS_WORTH) return 0;
  char text[256];
  snprintf(text, sizeof text, "batch_size %d over %d ranks is %d rows per rank and step: the "
           "gradient allreduce will likely cost more than it saves (docs/performance.md)",
           job->config.batch_size, job->ranks, rows);
  cJSON *w = cJSON_AddArrayToObject(answer, "warnings");
  if (w != NULL) cJSON_AddItemToArray(w, cJSON_CreateString(text));
  return 0;
}

void api_jobs_create(app *a, const http_request *req, http_response *res) {
  cJSON *root = NULL, *normalized = NULL;
  char *config_text = NULL;
  parse_job job;
  api_error err;
  store_job row = {0};
  if (parse_json_body(req->body, req->body_len, &root, &err) != 0 ||
      parse_job_config(root, &job, &err) != 0 || check_ranks(a, &job, NULL, &err) != 0) {
    http_error(res, &err);
    goto out;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) goto out;
  size_t memory;
  if (check_job(st, &job, a->cfg.memory_budget, &memory, &err) != 0) {
    http_error(res, &err);
    goto out;
  }
  normalized = parse_job_to_json(&job);
  config_text = normalized != NULL ? cJSON_PrintUnformatted(normalized) : NULL;
  if (config_text == NULL) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    goto out;
  }
  int rc = store_job_insert(st, job.model, job.dataset, config_text, job.config.epochs,
                            (int64_t)memory, &row);
  if (rc == STORE_ENOTFOUND) { /* deleted since check_job */
    http_fail(res, API_NOT_FOUND, "model", "model %lld or dataset %lld no longer exists",
              (long long)job.model, (long long)job.dataset);
    goto out;
  }
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    goto out;
  }
  jobs_notify(a->jobs);
  cJSON *answer = json_out_job(&row);
  check_ranks(a, &job, answer, &err);
  http_json(res, 202, answer);
out:
  store_job_clear(&row);
  free(config_text);
  cJSON_Delete(normalized);
  cJSON_Delete(root);
}

void api_jobs_list(app *a, const http_request *req, http_response *res) {
  api_error err;
  int state = -1;
  int64_t model = 0;
  const char *s = route_query_get(&req->query, "state");
  store_job_state parsed;
  if (s != NULL && store_job_state_parse(s, &parsed) != STORE_OK) {
    http_fail(res, API_INVALID_ARGUMENT, "state",
              "state must be one of queued, running, succeeded, failed, cancelled");
    return;
  }
  if (s != NULL) state = (int)parsed;
  if (route_query_int(&req->query, "model", 1, PARSE_MAX_SAFE_INT, &model, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  store_job *list;
  size_t n;
  int rc = store_job_list(st, state, model, &list, &n);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    return;
  }
  reply_list l;
  reply_list_start(&l, "jobs");
  for (size_t i = 0; i < n; i++) reply_list_add(&l, json_out_job(&list[i]));
  store_job_list_free(list, n);
  reply_list_end(&l, res);
}

static bool finished(store_job_state state) {
  return state == STORE_JOB_SUCCEEDED || state == STORE_JOB_FAILED ||
         state == STORE_JOB_CANCELLED;
}

/* Long poll: re-read job j until its epoch passes after_epoch, its state
 * changes, or wait_s seconds pass, waking only when an event is committed
 * (seen: the newest event posted before j was read). A finished job cannot
 * change: it is answered at once. */
static int wait_for_change(app *a, store *st, int64_t wait_s, int64_t after_epoch, int64_t seen,
                           store_job *j) {
  int64_t id = j->id;
  store_job_state from = j->state;
  struct timespec deadline;
  notify_deadline(&deadline, (uint64_t)wait_s * 1000u);
  while (!finished(j->state) && j->state == from && j->epoch <= after_epoch) {
    if (notify_wait(a->events, seen, &deadline) != NOTIFY_NEW) return STORE_OK;
    seen = notify_latest(a->events);
    store_job_clear(j);
    int rc = store_job_get(st, id, j);
    if (rc != STORE_OK) return rc;
  }
  return STORE_OK;
}

/* The job's test_evaluation member: its test_dataset's evaluation as an
 * evaluation list shows it (id and headline numbers), or null (none asked,
 * not evaluated yet, or unreadable: the job itself still answers). */
static cJSON *with_test_evaluation(store *st, cJSON *job, int64_t id) {
  store_evaluation e;
  cJSON *v = NULL;
  if (job == NULL) return NULL;
  if (store_evaluation_of_job(st, id, &e) == STORE_OK) v = json_eval_evaluation(&e, false);
  store_evaluation_clear(&e);
  if (v == NULL) v = cJSON_CreateNull();
  if (v == NULL || !cJSON_AddItemToObject(job, "test_evaluation", v)) {
    cJSON_Delete(v);
    cJSON_Delete(job);
    return NULL;
  }
  return job;
}

void api_jobs_get(app *a, const http_request *req, http_response *res) {
  api_error err;
  int64_t id = (int64_t)req->ids[0], wait_s = 0, after_epoch = -1;
  if (route_query_int(&req->query, "wait", 0, API_JOBS_WAIT_MAX, &wait_s, &err) != 0 ||
      route_query_int(&req->query, "after_epoch", 0, PARSE_MAX_SAFE_INT, &after_epoch, &err) !=
          0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t seen = notify_latest(a->events); /* before the read: later changes wake the wait */
  store_job j;
  int rc = store_job_get(st, id, &j);
  if (rc == STORE_OK && wait_s > 0)
    rc = wait_for_change(a, st, wait_s, after_epoch >= 0 ? after_epoch : j.epoch, seen, &j);
  if (rc != STORE_OK)
    reply_store_error(res, rc, "job", id);
  else
    http_json(res, 200, with_test_evaluation(st, json_out_job(&j), id));
  store_job_clear(&j);
}

void api_jobs_metrics(app *a, const http_request *req, http_response *res) {
  api_error err;
  int64_t after = 0, id = (int64_t)req->ids[0];
  if (route_query_int(&req->query, "after", 0, PARSE_MAX_SAFE_INT, &after, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  store_metric *list;
  size_t n;
  int rc = store_metrics_after(st, id, after, &list, &n);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "job", id);
    return;
  }
  reply_list l;
  reply_list_start(&l, "metrics");
  for (size_t i = 0; i < n; i++) reply_list_add(&l, json_out_metric(&list[i]));
  store_metric_list_free(list, n);
  reply_list_end(&l, res);
}

void api_jobs_cancel(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_job j;
  int rc = store_job_request_cancel(st, id, &j);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "job", id);
  } else {
    if (j.state == STORE_JOB_RUNNING) jobs_cancel(a->jobs, id);
    http_json(res, 200, json_out_job(&j));
  }
  store_job_clear(&j);
}

void api_jobs_checkpoints(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_checkpoint *list;
  size_t n;
  int rc = store_checkpoint_list(st, id, &list, &n);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "job", id);
    return;
  }
  reply_list l;
  reply_list_start(&l, "checkpoints");
  for (size_t i = 0; i < n; i++) reply_list_add(&l, json_out_checkpoint(&list[i]));
  free(list);
  reply_list_end(&l, res);
}
