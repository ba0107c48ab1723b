/* json_eval.c — evaluations to JSON (json_eval.h). */
#include "json_eval.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "json_out.h"

/* A number, or null for NAN (an undefined metric). */
static bool add_number(cJSON *o, const char *key, double v) {
  return isfinite(v) ? cJSON_AddNumberToObject(o, key, v) != NULL
                     : cJSON_AddNullToObject(o, key) != NULL;
}

/* A note: the sentence, or null. */
static bool add_note(cJSON *o, const char *key, const char *s) {
  return s != NULL ? cJSON_AddStringToObject(o, key, s) != NULL
                   : cJSON_AddNullToObject(o, key) != NULL;
}

/* [v[0], ..., v[n - 1]] as doubles under key. */
static bool add_doubles(cJSON *o, const char *key, const double *v, size_t n) {
  cJSON *a = cJSON_AddArrayToObject(o, key);
  for (size_t i = 0; a != NULL && i < n; i++)
    if (!cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull()))
      return false;
  return a != NULL;
}

static cJSON *finish(cJSON *o, bool ok) {
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}

/* ---- classification ------------------------------------------------------------------ */

static cJSON *averages(double precision, double recall, double f1) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && add_number(o, "precision", precision) &&
            add_number(o, "recall", recall) && add_number(o, "f1", f1);
  return finish(o, ok);
}

/* The class names when they are K strings, else the indices 0..K-1. */
static cJSON *labels_of(const char *classes, int K) {
  cJSON *names = classes != NULL ? cJSON_Parse(classes) : NULL;
  bool named = cJSON_IsArray(names) && cJSON_GetArraySize(names) == K;
  for (cJSON *c = named ? names->child : NULL; c != NULL; c = c->next) named &= cJSON_IsString(c);
  if (named) return names;
  cJSON_Delete(names);
  cJSON *a = cJSON_CreateArray();
  for (int k = 0; a != NULL && k < K; k++)
    if (!cJSON_AddItemToArray(a, cJSON_CreateNumber(k))) return finish(a, false);
  return a;
}

static cJSON *class_row(const nn_eval_class_stats *s, int k, const cJSON *labels) {
  cJSON *o = cJSON_CreateObject();
  cJSON *label = cJSON_Duplicate(cJSON_GetArrayItem(labels, k), 1);
  bool ok = o != NULL && label != NULL && cJSON_AddNumberToObject(o, "class", k) &&
            cJSON_AddItemToObject(o, "label", label) && (label = NULL, true) &&
            add_number(o, "precision", s->precision) && add_number(o, "recall", s->recall) &&
            add_number(o, "f1", s->f1) && add_number(o, "support", (double)s->support) &&
            add_number(o, "roc_auc", s->roc_auc) &&
            add_number(o, "average_precision", s->average_precision);
  cJSON_Delete(label);
  return finish(o, ok);
}

static cJSON *curve(const nn_eval_curve *c, int k, const char *x, const char *y) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && cJSON_AddNumberToObject(o, "class", k) && add_doubles(o, x, c->x, c->n) &&
            add_doubles(o, y, c->y, c->n) &&
            add_doubles(o, "thresholds", c->thresholds, c->n_thresholds);
  return finish(o, ok);
}

static cJSON *confusion(const nn_eval_class *e) {
  size_t K = (size_t)e->classes;
  cJSON *m = cJSON_CreateArray();
  for (size_t a = 0; m != NULL && a < K; a++) {
    cJSON *row = cJSON_CreateArray();
    if (!cJSON_AddItemToArray(m, row)) return finish(m, false);
    for (size_t p = 0; p < K; p++)
      if (!cJSON_AddItemToArray(row, cJSON_CreateNumber((double)e->confusion[a * K + p])))
        return finish(m, false);
  }
  return m;
}

cJSON *json_eval_classification(const nn_eval_class *e, const char *classes) {
  cJSON *o = cJSON_CreateObject(), *labels = labels_of(classes, e->classes);
  cJSON *topk = NULL, *rows = NULL, *rocs = NULL, *prs = NULL;
  bool ok = o != NULL && labels != NULL && cJSON_AddItemToObject(o, "labels", labels);
  if (!ok) cJSON_Delete(labels);
  ok = ok && add_number(o, "accuracy", e->accuracy) &&
       add_number(o, "balanced_accuracy", e->balanced_accuracy) &&
       add_number(o, "log_loss", e->log_loss) && add_number(o, "roc_auc", e->roc_auc) &&
       add_note(o, "roc_auc_note", e->roc_auc_undefined) &&
       add_number(o, "average_precision", e->average_precision) &&
       (topk = cJSON_AddArrayToObject(o, "top_k_accuracy")) != NULL;
  for (int k = 0; ok && k < e->n_top_k; k++) {
    cJSON *t = cJSON_CreateObject();
    ok = cJSON_AddItemToArray(topk, t) && cJSON_AddNumberToObject(t, "k", k + 1) &&
         add_number(t, "accuracy", e->top_k[k]);
  }
  ok = ok && cJSON_AddItemToObject(o, "macro_avg", averages(e->macro_precision, e->macro_recall,
                                                            e->macro_f1)) &&
       cJSON_AddItemToObject(o, "weighted_avg", averages(e->weighted_precision,
                                                         e->weighted_recall, e->weighted_f1)) &&
       (rows = cJSON_AddArrayToObject(o, "per_class")) != NULL;
  for (int k = 0; ok && k < e->classes; k++)
    ok = cJSON_AddItemToArray(rows, class_row(&e->per_class[k], k, labels));
  ok = ok && cJSON_AddItemToObject(o, "confusion_matrix", confusion(e)) &&
       (rocs = cJSON_AddArrayToObject(o, "roc_curves")) != NULL &&
       (prs = cJSON_AddArrayToObject(o, "pr_curves")) != NULL;
  for (int c = 0; ok && c < e->n_curves; c++)
    ok = cJSON_AddItemToArray(rocs, curve(&e->roc[c], e->curve_class[c], "fpr", "tpr")) &&
         cJSON_AddItemToArray(prs, curve(&e->pr[c], e->curve_class[c], "recall", "precision"));
  return finish(o, ok);
}

/* ---- regression ----------------------------------------------------------------------- */

static bool add_seven(cJSON *o, const nn_eval_output *m) {
  return add_number(o, "mse", m->mse) && add_number(o, "rmse", m->rmse) &&
         add_number(o, "mae", m->mae) &&
         add_number(o, "median_absolute_error", m->median_absolute_error) &&
         add_number(o, "r2", m->r2) && add_number(o, "explained_variance", m->explained_variance) &&
         add_number(o, "max_error", m->max_error);
}

static cJSON *output_json(const nn_eval_output *m, int c) {
  cJSON *o = cJSON_CreateObject(), *q = NULL;
  bool ok = o != NULL && cJSON_AddNumberToObject(o, "output", c) && add_seven(o, m) &&
            (q = cJSON_AddObjectToObject(o, "residual_quantiles")) != NULL &&
            add_doubles(q, "levels", nn_eval_quantile_levels, NN_EVAL_QUANTILES) &&
            add_doubles(q, "values", m->quantiles, NN_EVAL_QUANTILES);
  return finish(o, ok);
}

/* [[v[r * outputs], ...] for each sampled row r], each float as the
 * shortest decimal that reads back as it */
static bool add_rows(cJSON *o, const char *key, const float *v, int outputs,
                     const size_t *sample, size_t n) {
  cJSON *a = cJSON_AddArrayToObject(o, key);
  for (size_t i = 0; a != NULL && i < n; i++) {
    cJSON *row = cJSON_CreateArray();
    if (!cJSON_AddItemToArray(a, row)) return false;
    for (int c = 0; c < outputs; c++)
      if (!cJSON_AddItemToArray(row, json_out_float(v[sample[i] * (size_t)outputs + c])))
        return false;
  }
  return a != NULL;
}

cJSON *json_eval_regression(const nn_eval_regress *e, const float *pred, const float *target,
                           const size_t *sample, size_t n_sample) {
  cJSON *o = cJSON_CreateObject(), *outs = NULL, *s = NULL, *rows = NULL;
  bool ok = o != NULL && add_seven(o, &e->mean) && add_note(o, "r2_note", e->r2_undefined) &&
            (outs = cJSON_AddArrayToObject(o, "outputs")) != NULL;
  for (int c = 0; ok && c < e->outputs; c++)
    ok = cJSON_AddItemToArray(outs, output_json(&e->per_output[c], c));
  ok = ok && (s = cJSON_AddObjectToObject(o, "sample")) != NULL &&
       (rows = cJSON_AddArrayToObject(s, "rows")) != NULL;
  for (size_t i = 0; ok && i < n_sample; i++)
    ok = cJSON_AddItemToArray(rows, cJSON_CreateNumber((double)sample[i]));
  ok = ok && add_rows(s, "actual", target, e->outputs, sample, n_sample) &&
       add_rows(s, "predicted", pred, e->outputs, sample, n_sample);
  return finish(o, ok);
}

/* ---- the resource ---------------------------------------------------------------------- */

cJSON *json_eval_summary(store_task task, const cJSON *metrics) {
  static const char *const classification[] = {"accuracy", "log_loss", "roc_auc"};
  static const char *const regression[] = {"rmse", "mae", "r2"};
  const char *const *keys = task == STORE_TASK_CLASSIFICATION ? classification : regression;
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL;
  for (int i = 0; ok && i < 3; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(metrics, keys[i]);
    ok = v != NULL && cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 0));
  }
  return finish(o, ok);
}

cJSON *json_eval_evaluation(const store_evaluation *e, bool whole) {
  cJSON *o = cJSON_CreateObject();
  const char *text = whole ? e->result : e->summary;
  cJSON *v = text != NULL ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
  bool ok = o != NULL && v != NULL && cJSON_AddNumberToObject(o, "id", (double)e->id) &&
            cJSON_AddNumberToObject(o, "model", (double)e->model_id) &&
            cJSON_AddNumberToObject(o, "version", (double)e->version) &&
            cJSON_AddNumberToObject(o, "dataset", (double)e->dataset_id) &&
            (e->job_id != 0 ? cJSON_AddNumberToObject(o, "job", (double)e->job_id) != NULL
                            : cJSON_AddNullToObject(o, "job") != NULL) &&
            cJSON_AddStringToObject(o, "task", store_task_name(e->task)) &&
            cJSON_AddNumberToObject(o, "rows", (double)e->rows) &&
            cJSON_AddStringToObject(o, "created_at", e->created_at);
  /* the stored text as it is: printing the parsed tree again could round it */
  cJSON_Delete(v);
  ok = ok && cJSON_AddRawToObject(o, whole ? "metrics" : "summary", text) != NULL;
  return finish(o, ok);
}

bool json_eval_damaged(const store_evaluation *e, bool whole) {
  const char *text = whole ? e->result : e->summary;
  return text == NULL || json_out_text_damaged(text);
}
