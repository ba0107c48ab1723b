/* evaluation.c — a weights version evaluated on a stored dataset and stored
 * (evaluation.h). */
#include "evaluation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/evaluate.h"
#include "json_eval.h"
#include "predict.h"

/* A failure about the dataset names the request's field for it. */
static int renamed(int rc, const char *field, api_error *err) {
  if (rc != 0 && strcmp(err->field, "dataset") == 0)
    snprintf(err->field, sizeof err->field, "%s", field);
  return rc;
}

int evaluation_check(const store_dataset *meta, const nn_spec *spec, int64_t model_id,
                     const char *field, api_error *err) {
  int outputs = nn_spec_outputs(spec);
  int rc = fit_check(meta, spec, model_id, err);
  if (rc == 0 && meta->rows > EVALUATION_MAX_ROWS)
    rc = api_fail(err, API_UNPROCESSABLE, "dataset",
                  "dataset %lld has %lld rows; an evaluation reads at most %d rows",
                  (long long)meta->id, (long long)meta->rows, EVALUATION_MAX_ROWS);
  if (rc == 0 && meta->rows * outputs > EVALUATION_MAX_VALUES)
    rc = api_fail(err, API_UNPROCESSABLE, "dataset",
                  "dataset %lld has %lld rows and model %lld has %d outputs; an evaluation "
                  "predicts at most %d values", (long long)meta->id, (long long)meta->rows,
                  (long long)model_id, outputs, EVALUATION_MAX_VALUES);
  if (rc == 0 && meta->task == STORE_TASK_CLASSIFICATION &&
      (meta->outputs < 2 || meta->outputs > NN_EVAL_MAX_CLASSES))
    rc = api_fail(err, API_UNPROCESSABLE, "dataset",
                  "dataset %lld has %lld classes; an evaluation needs 2 to %d",
                  (long long)meta->id, (long long)meta->outputs, NN_EVAL_MAX_CLASSES);
  return renamed(rc, field, err);
}

int evaluation_check_holdout(store *st, int64_t id, const char *field, const store_dataset *d,
                             const nn_spec *spec, int64_t model_id, bool evaluated,
                             api_error *err) {
  store_dataset h = {0};
  int rc = store_dataset_get(st, id, &h);
  if (rc != STORE_OK) rc = api_store_fail(err, rc, "dataset", field, id);
  else if (h.table != d->table || (h.table && strcmp(h.target, d->target) != 0))
    rc = api_fail(err, API_UNPROCESSABLE, field,
                  "%s %lld is %s but dataset %lld, which the job trains on, is %s%s%s", field,
                  (long long)id, h.table ? "a table" : "numbers", (long long)d->id,
                  d->table ? "a table of target " : "numbers", d->table ? d->target : "",
                  h.table && d->table ? "; both must name the same target" : "");
  else if (h.task != d->task)
    rc = api_fail(err, API_UNPROCESSABLE, field,
                  "%s %lld is a %s dataset but dataset %lld, which the job trains on, is a %s one",
                  field, (long long)id, store_task_name(h.task), (long long)d->id,
                  store_task_name(d->task));
  else if (!d->table && /* a table's classes are matched by name through the encoding */
           ((h.classes != NULL) != (d->classes != NULL) ||
            (h.classes != NULL && strcmp(h.classes, d->classes) != 0)))
    rc = api_fail(err, API_UNPROCESSABLE, field,
                  "%s %lld does not name the classes of dataset %lld, which the job trains on",
                  field, (long long)id, (long long)d->id);
  else
    rc = evaluated ? evaluation_check(&h, spec, model_id, field, err)
                   : fit_check(&h, spec, model_id, err);
  if (rc != 0 && strcmp(err->field, "dataset") == 0)
    snprintf(err->field, sizeof err->field, "%s", field);
  store_dataset_clear(&h);
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
    size_t *sample = malloc(EVALUATION_SAMPLE * sizeof *sample);
    rc = sample == NULL ? NN_ENOMEM : nn_eval_regression(y, d->y, d->rows, outputs, &e, &ne);
    if (rc == NN_OK) {
      size_t n = nn_eval_sample_rows(d->rows, EVALUATION_SAMPLE, sample);
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

/* Predict data's rows with w into y (rows, outputs), a regression of a
 * table's target in its units, and its targets too. */
static int predict_rows(const fit_weights *w, fit_data *data, float *y, int outputs,
                        api_error *err) {
  size_t n = data->d.rows;
  if (nn_model_predict(w->model, data->d.x, n, y) != NN_OK)
    return api_fail(err, API_INTERNAL, NULL, "out of memory predicting %zu rows", n);
  /* d.y is data->data.y, the table encoded by fit_data_load: ours to change */
  if (outputs == 1 && data->d.y != NULL &&
      (predict_unscale(w->encoder, y, n) != 0 ||
       predict_unscale(w->encoder, data->data.y, n) != 0))
    return api_fail(err, API_INTERNAL, NULL, "out of memory unscaling %zu rows", n);
  return 0;
}

int evaluation_run(store *st, int64_t model_id, int64_t dataset, const fit_weights *w,
                   int64_t job_id, const char *field, store_evaluation *row, api_error *err) {
  const nn_spec *spec = nn_model_spec(w->model);
  int outputs = nn_spec_outputs(spec);
  store_dataset meta;
  fit_data data = {0};
  float *y = NULL;
  cJSON *m = NULL, *summary = NULL;
  memset(row, 0, sizeof *row);
  /* the size is known before the rows are read */
  int rc = store_dataset_get(st, dataset, &meta);
  if (rc != STORE_OK) rc = api_store_fail(err, rc, "dataset", field, dataset);
  else if ((rc = evaluation_check(&meta, spec, model_id, field, err)) == 0)
    rc = renamed(same_classes(&meta, w, model_id, err), field, err);
  store_dataset_clear(&meta);
  fit_table_how how = {.encoder = w->encoder}; /* a table: the weights' own encoding */
  if (rc == 0) rc = renamed(fit_data_load(st, dataset, 0, spec, model_id, &how, &data, err),
                            field, err);
  if (rc != 0) goto out;
  size_t n = data.d.rows; /* n outputs <= EVALUATION_MAX_VALUES */
  if ((y = malloc(n * (size_t)outputs * sizeof *y)) == NULL) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory predicting %zu rows", n);
    goto out;
  }
  if ((rc = predict_rows(w, &data, y, outputs, err)) != 0) goto out;
  if ((m = metrics(&data.d, y, outputs, w->classes, dataset, err)) == NULL) {
    rc = renamed(-(int)err->code, field, err);
    goto out;
  }
  store_evaluation e = {.model_id = model_id, .version = w->version, .dataset_id = dataset,
                        .job_id = job_id, .task = data.meta.task, .rows = (int64_t)n};
  summary = json_eval_summary(e.task, m);
  e.result = cJSON_PrintUnformatted(m);
  e.summary = summary != NULL ? cJSON_PrintUnformatted(summary) : NULL;
  if (e.result == NULL || e.summary == NULL) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory writing an evaluation");
  } else if ((rc = store_evaluation_insert(st, &e, row)) != STORE_OK) {
    rc = api_store_fail(err, rc, "model", "id", model_id);
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
