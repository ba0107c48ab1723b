/*
 * json_eval.h — evaluations as JSON: core's metrics (core/evaluate.h) as the
 * "metrics" object an evaluation is stored and answered with, its headline
 * numbers as the "summary" a list shows, and the evaluation resource around
 * either. A number core leaves undefined (NAN) is written null, beside a
 * "*_note" sentence saying why; nothing here writes a NaN.
 *
 * Every writer returns a new object to cJSON_Delete, or NULL when out of
 * memory (or when stored JSON text no longer parses).
 */
#ifndef TRAIND_JSON_EVAL_H
#define TRAIND_JSON_EVAL_H

#include <cjson/cJSON.h>

#include "../core/evaluate.h"
#include "store.h"

/**
 * {"labels","accuracy","balanced_accuracy","log_loss","roc_auc","roc_auc_note",
 *  "average_precision","top_k_accuracy":[{"k","accuracy"}],"macro_avg","weighted_avg"
 *  ({"precision","recall","f1"}),"per_class":[{"class","label","precision","recall",
 *  "f1","support","roc_auc","average_precision"}],"confusion_matrix" (rows: actual,
 *  columns: predicted),"roc_curves":[{"class","fpr","tpr","thresholds"}],
 *  "pr_curves":[{"class","recall","precision","thresholds"}]}
 * @param classes the class names (a JSON array of e->classes strings), or
 *                NULL: labels are then the class indices
 */
cJSON *json_eval_classification(const nn_eval_class *e, const char *classes);

/**
 * {"mse","rmse","mae","median_absolute_error","r2","r2_note","explained_variance",
 *  "max_error","outputs":[{"output", the seven numbers, "residual_quantiles":
 *  {"levels","values"}}],"sample":{"rows","actual","predicted"}}
 * @param pred,target (rows, outputs): the sample's pairs are read from them
 * @param sample      row indices (n_sample,), nn_eval_sample_rows
 */
cJSON *json_eval_regression(const nn_eval_regress *e, const float *pred, const float *target,
                           const size_t *sample, size_t n_sample);

/** {"accuracy","log_loss","roc_auc"} or {"rmse","mae","r2"} of a metrics object. */
cJSON *json_eval_summary(store_task task, const cJSON *metrics);

/**
 * {"id","model","version","dataset","job","task","rows","created_at"} then
 * ("job": the job whose test_dataset it is, or null)
 * "metrics" (e->result parsed) or, in a list, "summary" (e->summary parsed).
 */
cJSON *json_eval_evaluation(const store_evaluation *e, bool whole);

/** Whether json_eval_evaluation's NULL was e's stored text no longer parsing
 *  (damaged behind the daemon's back), not a lack of memory. */
bool json_eval_damaged(const store_evaluation *e, bool whole);

#endif
