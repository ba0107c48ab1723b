/* search_metric.c — a search's metric: its name, direction and task, and a
 * rung measured by an evaluation of the trial's weights (search_metric.h). */
#include "search_metric.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evaluation.h"
#include "fit.h"

#define CLS STORE_TASK_CLASSIFICATION
#define REG STORE_TASK_REGRESSION

static const search_metric metrics[] = {
    {"val_loss", 0, SEARCH_METRIC_ANY_TASK, NULL, NULL},
    {"val_accuracy", 1, CLS, NULL, NULL},
    {"evaluation.accuracy", 1, CLS, "accuracy", NULL},
    {"evaluation.balanced_accuracy", 1, CLS, "balanced_accuracy", NULL},
    {"evaluation.f1_macro", 1, CLS, "macro_avg", "f1"},
    {"evaluation.f1_weighted", 1, CLS, "weighted_avg", "f1"},
    {"evaluation.roc_auc", 1, CLS, "roc_auc", NULL},
    {"evaluation.average_precision", 1, CLS, "average_precision", NULL},
    {"evaluation.log_loss", 0, CLS, "log_loss", NULL},
    {"evaluation.r2", 1, REG, "r2", NULL},
    {"evaluation.mse", 0, REG, "mse", NULL},
    {"evaluation.rmse", 0, REG, "rmse", NULL},
    {"evaluation.mae", 0, REG, "mae", NULL},
};

const search_metric *search_metric_find(const char *name) {
  for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
    if (strcmp(metrics[i].name, name) == 0) return &metrics[i];
  return NULL;
}

const char *search_metric_names(void) {
  return "val_loss, val_accuracy or evaluation.NAME, NAME one of accuracy, balanced_accuracy, "
         "f1_macro, f1_weighted, roc_auc, average_precision, log_loss, r2, mse, rmse, mae";
}

int search_metric_evaluated(const search_metric *m) { return m->key != NULL; }

double search_metric_of_job(const search_metric *m, const store_job *j) {
  if (search_metric_evaluated(m)) return NAN;
  return strcmp(m->name, "val_accuracy") == 0 ? j->val_accuracy : j->val_loss;
}

/* The newest weights version job_id published of model_id, or 0. */
static int job_version(store *st, int64_t model_id, int64_t job_id, int64_t *version,
                       api_error *err) {
  store_model_version *v = NULL;
  size_t n = 0;
  *version = 0;
  int rc = store_model_versions(st, model_id, &v, &n);
  if (rc != STORE_OK) return api_store_fail(err, rc, "model", "model", model_id);
  for (size_t i = 0; i < n && *version == 0; i++) /* newest first */
    if (v[i].job_id == job_id) *version = v[i].version;
  free(v);
  if (*version == 0)
    return api_fail(err, API_CONFLICT, "job", "job %lld published no weights of model %lld",
                    (long long)job_id, (long long)model_id);
  return 0;
}

/* The stored evaluation text of (model_id, version) on dataset, made by a
 * search (job null), or NULL in *result when there is none. */
static int find_evaluation(store *st, int64_t model_id, int64_t version, int64_t dataset,
                           char **result, api_error *err) {
  store_evaluation *list = NULL, e = {0};
  size_t n = 0;
  int64_t id = 0;
  *result = NULL;
  int rc = store_evaluation_list(st, model_id, &list, &n);
  for (size_t i = 0; rc == STORE_OK && i < n; i++)
    if (list[i].version == version && list[i].dataset_id == dataset && list[i].job_id == 0)
      id = list[i].id; /* the newest of them: equal anyway */
  store_evaluation_list_free(list, n);
  if (rc == STORE_OK && id != 0 && (rc = store_evaluation_get(st, model_id, id, &e)) == STORE_OK) {
    *result = e.result; /* handed over */
    e.result = NULL;
  }
  store_evaluation_clear(&e);
  return rc == STORE_OK ? 0 : api_store_fail(err, rc, "model", "model", model_id);
}

/* metrics[key] or metrics[key][sub] of an evaluation's text; NAN for null. */
static int read_number(const search_metric *m, const char *text, double *out, api_error *err) {
  cJSON *root = cJSON_Parse(text);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, m->key);
  if (m->sub != NULL) v = cJSON_GetObjectItemCaseSensitive(v, m->sub);
  int rc = 0;
  if (cJSON_IsNumber(v))
    *out = v->valuedouble;
  else if (cJSON_IsNull(v))
    *out = NAN;
  else
    rc = api_fail(err, root ? API_UNPROCESSABLE : API_INTERNAL, "metric",
                  root ? "the evaluation has no %s" : "out of memory reading %s", m->name);
  cJSON_Delete(root);
  return rc;
}

int search_metric_measure(store *st, const search_metric *m, int64_t dataset, int64_t model_id,
                          int64_t job_id, double *out, api_error *err) {
  int64_t version;
  char *text = NULL;
  fit_weights w = {0};
  store_evaluation row = {0};
  *out = NAN;
  int rc = job_version(st, model_id, job_id, &version, err);
  if (rc == 0) rc = find_evaluation(st, model_id, version, dataset, &text, err);
  if (rc == 0 && text == NULL) {
    rc = fit_weights_load(st, model_id, version, &w, err);
    if (rc == 0)
      rc = evaluation_run(st, model_id, dataset, &w, 0, "job.validation_dataset", &row, err);
    if (rc == 0) {
      text = row.result; /* handed over */
      row.result = NULL;
    }
  }
  if (rc == 0) rc = read_number(m, text, out, err);
  free(text);
  store_evaluation_clear(&row);
  fit_weights_clear(&w);
  return rc;
}
