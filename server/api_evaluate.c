/* api_evaluate.c — evaluations of a model's weights on a stored dataset:
 * computed within the request (core/evaluate.h), stored, listed and read. */
#include "api_evaluate.h"

#include <stdlib.h>

#include "json_eval.h"
#include "fit.h"
#include "parse_json.h"
#include "reply.h"

typedef struct {
  int64_t dataset;
  int64_t version; /* 0: the newest */
} request;

static int parse_request(const http_request *req, request *r, api_error *err) {
  static const char *const keys[] = {"dataset", "version", NULL};
  cJSON *root = NULL;
  r->version = 0;
  int rc = parse_json_body(req->body, req->body_len, &root, err);
  if (rc == 0) rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, keys, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "dataset", PARSE_REQUIRED, 1, PARSE_MAX_SAFE_INT,
                        &r->dataset, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "version", PARSE_OPTIONAL, 1, PARSE_MAX_SAFE_INT,
                        &r->version, err);
  cJSON_Delete(root);
  return rc;
}

/* The metrics of predictions y (rows, outputs) of d's rows, as JSON; NULL
 * with err filled on failure. */
static cJSON *metrics(const nn_data *d, const float *y, int outputs, const char *classes,
                      int64_t dataset, api_error *err) {
  nn_error ne;
  cJSON *out = NULL;
  int rc;
  if (d->labels != NULL) {
    nn_eval_class e;
    rc = nn_eval_classification(y, d->rows, outputs, d->labels, d->classes, &e, &ne);
    if (rc == NN_OK) out = json_eval_classification(&e, classes);
    nn_eval_class_clear(&e);
  } else {
    nn_eval_regress e;
    size_t *sample = malloc(API_EVALUATE_SAMPLE * sizeof *sample);
    rc = sample == NULL ? NN_ENOMEM : nn_eval_regression(y, d->y, d->rows, outputs, &e, &ne);
    if (rc == NN_OK) {
      size_t n = nn_eval_sample_rows(d->rows, API_EVALUATE_SAMPLE, sample);
      out = json_eval_regression(&e, y, d->y, sample, n);
    }
    nn_eval_regress_clear(&e);
    free(sample);
  }
  if (rc == NN_EINVAL) /* the shapes were checked: a prediction is not finite */
    api_fail(err, API_UNPROCESSABLE, "dataset",
             "model predictions on dataset %lld cannot be evaluated: %s", (long long)dataset,
             ne.message);
  else if (rc != NN_OK || out == NULL)
    api_fail(err, API_INTERNAL, NULL, "out of memory evaluating %zu rows", d->rows);
  return rc == NN_OK ? out : NULL;
}

/* Do the dataset's class names mean the weights' outputs? Both name their
 * classes in sorted order, so equal names are equal indices; a dataset of
 * other names cannot be scored by them. Unnamed (integer) classes pass. */
static int same_classes(const store_dataset *d, const fit_weights *w, int64_t id,
                        api_error *err) {
  if (d->classes == NULL || w->classes == NULL) return 0;
  cJSON *a = cJSON_Parse(d->classes), *b = cJSON_Parse(w->classes);
  int same = a != NULL && b != NULL && cJSON_Compare(a, b, 1);
  cJSON_Delete(a);
  cJSON_Delete(b);
  if (same) return 0;
  return api_fail(err, API_UNPROCESSABLE, "dataset",
                  "dataset %lld names its classes %s but version %lld of model %lld predicts %s",
                  (long long)d->id, d->classes, (long long)w->version, (long long)id,
                  w->classes);
}

/* Evaluate w on the dataset's rows and store the evaluation in *row. */
static int evaluate(store *st, int64_t id, const request *r, const fit_weights *w,
                    store_evaluation *row, api_error *err) {
  const nn_spec *spec = nn_model_spec(w->model);
  store_dataset meta;
  fit_data data = {0};
  float *y = NULL;
  cJSON *m = NULL, *summary = NULL;
  /* the size is known before the rows are read */
  int rc = fit_dataset_load(st, r->dataset, spec, id, &meta, err);
  if (rc == 0 && meta.rows > API_EVALUATE_MAX_ROWS)
    rc = api_fail(err, API_UNPROCESSABLE, "dataset",
                  "dataset %lld has %lld rows; an evaluation reads at most %d rows",
                  (long long)r->dataset, (long long)meta.rows, API_EVALUATE_MAX_ROWS);
  if (rc == 0 && meta.rows * nn_spec_outputs(spec) > API_EVALUATE_MAX_VALUES)
    rc = api_fail(err, API_UNPROCESSABLE, "dataset",
                  "dataset %lld has %lld rows and model %lld has %d outputs; an evaluation "
                  "predicts at most %d values", (long long)r->dataset, (long long)meta.rows,
                  (long long)id, nn_spec_outputs(spec), API_EVALUATE_MAX_VALUES);
  if (rc == 0 && meta.task == STORE_TASK_CLASSIFICATION &&
      (meta.outputs < 2 || meta.outputs > NN_EVAL_MAX_CLASSES))
    rc = api_fail(err, API_UNPROCESSABLE, "dataset",
                  "dataset %lld has %lld classes; an evaluation needs 2 to %d",
                  (long long)r->dataset, (long long)meta.outputs, NN_EVAL_MAX_CLASSES);
  if (rc == 0) rc = same_classes(&meta, w, id, err);
  store_dataset_clear(&meta);
  fit_table_how how = {.encoder = w->encoder}; /* a table: the weights' own encoding */
  if (rc == 0) rc = fit_data_load(st, r->dataset, 0, spec, id, &how, &data, err);
  if (rc != 0) goto out;
  int outputs = nn_spec_outputs(spec);
  size_t n = data.d.rows; /* n outputs <= API_EVALUATE_MAX_VALUES */
  if ((y = malloc(n * (size_t)outputs * sizeof *y)) == NULL ||
      nn_model_predict(w->model, data.d.x, n, y) != NN_OK) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory predicting %zu rows", n);
    goto out;
  }
  if ((m = metrics(&data.d, y, outputs, w->classes, r->dataset, err)) == NULL) {
    rc = -(int)err->code;
    goto out;
  }
  store_evaluation e = {.model_id = id, .version = w->version, .dataset_id = r->dataset,
                        .task = data.meta.task, .rows = (int64_t)n};
  summary = json_eval_summary(e.task, m);
  e.result = cJSON_PrintUnformatted(m);
  e.summary = summary != NULL ? cJSON_PrintUnformatted(summary) : NULL;
  if (e.result == NULL || e.summary == NULL) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory writing an evaluation");
  } else if ((rc = store_evaluation_insert(st, &e, row)) != STORE_OK) {
    rc = api_store_fail(err, rc, "model", "id", id);
  } else {
    row->result = e.result; /* handed over */
    e.result = NULL;
  }
  free(e.result);
  free(e.summary);
out:
  cJSON_Delete(m);
  cJSON_Delete(summary);
  free(y);
  fit_data_clear(&data);
  return rc;
}

void api_evaluate(app *a, const http_request *req, http_response *res) {
  int64_t id = (int64_t)req->ids[0];
  request r;
  api_error err;
  fit_weights w = {0};
  store_evaluation row = {0};
  if (parse_request(req, &r, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  if (fit_weights_load(st, id, r.version, &w, &err) != 0 ||
      evaluate(st, id, &r, &w, &row, &err) != 0) {
    http_error(res, &err);
  } else {
    http_json(res, 201, json_eval_evaluation(&row, true));
  }
  store_evaluation_clear(&row);
  fit_weights_clear(&w);
}

void api_evaluations_list(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_model model;
  store_evaluation *list = NULL;
  size_t n = 0;
  int rc = store_model_get(st, id, &model);
  store_model_clear(&model);
  if (rc == STORE_OK) rc = store_evaluation_list(st, id, &list, &n);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "model", id);
    return;
  }
  reply_list l;
  reply_list_start(&l, "evaluations");
  for (size_t i = 0; i < n; i++) {
    /* NULL: damaged (its JSON parsed again only then), or out of memory */
    cJSON *item = json_eval_evaluation(&list[i], false);
    reply_list_add_row(&l, item, item == NULL && json_eval_damaged(&list[i], false),
                       "evaluation", list[i].id);
  }
  store_evaluation_list_free(list, n);
  reply_list_end(&l, res);
}

void api_evaluations_get(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0], eid = (int64_t)req->ids[1];
  store_model model;
  store_evaluation e;
  api_error err;
  int rc = store_model_get(st, id, &model);
  store_model_clear(&model);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "model", id);
    return;
  }
  rc = store_evaluation_get(st, id, eid, &e);
  if (rc != STORE_OK) {
    if (rc == STORE_ENOTFOUND)
      api_fail(&err, API_NOT_FOUND, "eid", "model %lld has no evaluation %lld", (long long)id,
               (long long)eid);
    else
      api_store_fail(&err, rc, NULL, "eid", eid);
    http_error(res, &err);
    return;
  }
  cJSON *item = json_eval_evaluation(&e, true);
  reply_row(res, item, item == NULL && json_eval_damaged(&e, true), "evaluation", eid);
  store_evaluation_clear(&e);
}
