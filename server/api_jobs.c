/* api_jobs.c — job endpoints: validate against the model and dataset, queue, report. */
#include "api_jobs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "jobs.h"
#include "json_out.h"
#include "notify.h"
#include "parse_job.h"
#include "parse_spec.h"
#include "store.h"

/* Can dataset d train a model with this spec? The rules of nn_data_check
 * that the metadata decides, stricter on the task: classification needs a
 * cross-entropy loss, mse needs a regression dataset.
 * @return 0 or -API_UNPROCESSABLE naming why */
int api_jobs_check_fit(const store_dataset *d, const nn_spec *spec, int64_t model_id,
                       api_error *err) {
  long long did = (long long)d->id, mid = (long long)model_id;
  int units = nn_spec_outputs(spec);
  long long n = (long long)d->outputs;
  const char *loss = nn_name(NN_NAMES_LOSS, spec->loss);
  int classification = d->task == STORE_TASK_CLASSIFICATION;
  if (d->features != spec->inputs)
    return api_fail(err, API_UNPROCESSABLE, "dataset",
                    "dataset %lld has %lld features but model %lld takes %d inputs", did,
                    (long long)d->features, mid, spec->inputs);
  switch (spec->loss) {
    case NN_LOSS_MSE:
      if (classification)
        return api_fail(err, API_UNPROCESSABLE, "dataset",
                        "dataset %lld is a classification dataset but model %lld uses loss mse; "
                        "classification needs cross_entropy (softmax output) or "
                        "binary_cross_entropy (sigmoid output)",
                        did, mid);
      break;
    case NN_LOSS_CROSS_ENTROPY:
      if (!classification)
        return api_fail(err, API_UNPROCESSABLE, "dataset",
                        "dataset %lld is a regression dataset but model %lld uses loss "
                        "cross_entropy, which needs class labels",
                        did, mid);
      break;
    case NN_LOSS_BCE:
      if (classification && n == 2 && units == 1) return 0;
      break;
  }
  const char *need = !classification ? "one unit per target column"
                     : spec->loss == NN_LOSS_BCE ? "one unit per class, or 1 unit for 2 classes"
                                                 : "one unit per class";
  if (n != units)
    return api_fail(err, API_UNPROCESSABLE, "dataset",
                    "dataset %lld has %lld %s but the last layer of model %lld has %d units "
                    "(loss %s needs %s)",
                    did, n, classification ? "classes" : "outputs", mid, units, loss, need);
  return 0;
}

/* The model's stored spec (valid when stored). */
static int model_spec(const store_model *m, nn_spec *spec, api_error *err) {
  cJSON *root = NULL;
  char name[PARSE_NAME_MAX + 1];
  int rc = parse_json_body(m->spec, strlen(m->spec), &root, err);
  if (rc == 0) rc = parse_spec(root, spec, name, err);
  cJSON_Delete(root);
  if (rc != 0)
    return api_fail(err, API_INTERNAL, NULL, "the stored spec of model %lld is unreadable",
                    (long long)m->id);
  return 0;
}

/* Load and check what a job names; 404 naming the missing one, 422 on a
 * misfit or when it cannot fit the memory budget; *memory its estimate. */
static int check_job(store *st, const parse_job *job, size_t limit, size_t *memory,
                     api_error *err) {
  store_model m = {0};
  store_dataset d = {0};
  nn_spec spec;
  int rc = store_model_get(st, job->model, &m);
  if (rc == STORE_ENOTFOUND)
    rc = api_fail(err, API_NOT_FOUND, "model", "no model with id %lld", (long long)job->model);
  else if (rc != STORE_OK)
    rc = api_fail(err, store_api_code(rc), NULL, "database error: %s", store_strerror(rc));
  else if ((rc = store_dataset_get(st, job->dataset, &d)) == STORE_ENOTFOUND)
    rc = api_fail(err, API_NOT_FOUND, "dataset", "no dataset with id %lld",
                  (long long)job->dataset);
  else if (rc != STORE_OK)
    rc = api_fail(err, store_api_code(rc), NULL, "database error: %s", store_strerror(rc));
  else if ((rc = model_spec(&m, &spec, err)) == 0 &&
           (rc = api_jobs_check_fit(&d, &spec, m.id, err)) == 0)
    rc = budget_check_job(limit, &spec, &job->config, &d, memory, err);
  store_dataset_clear(&d);
  store_model_clear(&m);
  return rc;
}

void api_jobs_create(app *a, const http_request *req, http_response *res) {
  cJSON *root = NULL, *normalized = NULL;
  char *config_text = NULL;
  parse_job job;
  api_error err;
  store_job row = {0};
  if (parse_json_body(req->body, req->body_len, &root, &err) != 0 ||
      parse_job_config(root, &job, &err) != 0) {
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
    app_answer_store_error(res, rc);
    goto out;
  }
  jobs_notify(a->jobs);
  http_json(res, 202, json_out_job(&row));
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
    app_answer_store_error(res, rc);
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(root, "jobs");
  int ok = arr != NULL;
  for (size_t i = 0; ok && i < n; i++) ok = cJSON_AddItemToArray(arr, json_out_job(&list[i]));
  store_job_list_free(list, n);
  if (!ok) {
    cJSON_Delete(root);
    root = NULL;
  }
  http_json(res, 200, root);
}

/* Answer a failed store call about job id. */
static void job_store_error(http_response *res, int rc, int64_t id) {
  if (rc == STORE_ENOTFOUND)
    http_fail(res, API_NOT_FOUND, "id", "no job with id %lld", (long long)id);
  else
    app_answer_store_error(res, rc);
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
    job_store_error(res, rc, id);
  else
    http_json(res, 200, json_out_job(&j));
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
    job_store_error(res, rc, id);
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(root, "metrics");
  int ok = arr != NULL;
  for (size_t i = 0; ok && i < n; i++) ok = cJSON_AddItemToArray(arr, json_out_metric(&list[i]));
  store_metric_list_free(list, n);
  if (!ok) {
    cJSON_Delete(root);
    root = NULL;
  }
  http_json(res, 200, root);
}

void api_jobs_cancel(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_job j;
  int rc = store_job_request_cancel(st, id, &j);
  if (rc != STORE_OK) {
    job_store_error(res, rc, id);
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
    job_store_error(res, rc, id);
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(root, "checkpoints");
  int ok = arr != NULL;
  for (size_t i = 0; ok && i < n; i++)
    ok = cJSON_AddItemToArray(arr, json_out_checkpoint(&list[i]));
  free(list);
  if (!ok) {
    cJSON_Delete(root);
    root = NULL;
  }
  http_json(res, 200, root);
}
