/*
 * search_metric.h — what a search ranks its trials by: a job's own
 * validation metric (val_loss, val_accuracy), or a metric of an evaluation
 * (evaluation.h) of the trial's weights on the search's validation_dataset,
 * made at the end of each rung through the same code as POST evaluate.
 *
 * The metrics and their natural direction (a search's mode must agree):
 *
 *   val_loss                        min  any task    the job's last val_loss
 *   val_accuracy                    max  classification
 *   evaluation.accuracy             max  classification  metrics.accuracy
 *   evaluation.balanced_accuracy    max  classification  metrics.balanced_accuracy
 *   evaluation.f1_macro             max  classification  metrics.macro_avg.f1
 *   evaluation.f1_weighted          max  classification  metrics.weighted_avg.f1
 *   evaluation.roc_auc              max  classification  metrics.roc_auc
 *   evaluation.average_precision    max  classification  metrics.average_precision
 *   evaluation.log_loss             min  classification  metrics.log_loss
 *   evaluation.r2                   max  regression      metrics.r2
 *   evaluation.mse                  min  regression      metrics.mse
 *   evaluation.rmse                 min  regression      metrics.rmse
 *   evaluation.mae                  min  regression      metrics.mae
 *
 * The evaluation is stored as any other (GET /v1/models/{id}/evaluations of
 * the trial's model, "job": null) and the number read back from its stored
 * text, so a trial's metric is exactly what POST evaluate of the same weights
 * version answers. A rung's evaluation is looked for before one is made: a
 * crash between the evaluation and the rung row leaves one evaluation, not
 * two, and the same number (weights and evaluation are both deterministic).
 *
 * Costs: one evaluation per rung a trial finishes, on the scheduler's thread
 * (evaluation.h: the validation rows read and predicted once, a sort per
 * class), and a read of the model's versions and evaluations (small rows).
 */
#ifndef TRAIND_SEARCH_METRIC_H
#define TRAIND_SEARCH_METRIC_H

#include <stdint.h>

#include "errors.h"
#include "store.h"

#define SEARCH_METRIC_ANY_TASK (-1)

typedef struct {
  const char *name;   /* as a request names it */
  int maximize;       /* its natural mode: 1 max, 0 min */
  int task;           /* the store_task it applies to, or SEARCH_METRIC_ANY_TASK */
  const char *key;    /* an evaluation's: metrics[key], or metrics[key][sub]; */
  const char *sub;    /* NULL key: the job's own validation metric */
} search_metric;

/** The metric named name, or NULL when there is none. */
const search_metric *search_metric_find(const char *name);

/** Every metric's name, for a message listing them. */
const char *search_metric_names(void);

/** Whether the metric is an evaluation's (needs a validation_dataset). */
int search_metric_evaluated(const search_metric *m);

/** A job's own val_loss or val_accuracy; NAN for an evaluation's metric. */
double search_metric_of_job(const search_metric *m, const store_job *j);

/**
 * The metric of rung job job_id's last published weights of model_id,
 * evaluated on dataset: the stored evaluation of that version on dataset,
 * made now when there is none.
 * @param out the number, NAN when the evaluation leaves it undefined (null)
 * @return 0; -API_NOT_FOUND or -API_UNPROCESSABLE when the trial cannot be
 *         measured (its weights, model or dataset gone, the dataset no
 *         longer fits: the rung fails); -API_CONFLICT when the job published
 *         no weights; another negative api code for a failure worth trying
 *         again (the store busy or full, out of memory)
 */
int search_metric_measure(store *st, const search_metric *m, int64_t dataset, int64_t model_id,
                          int64_t job_id, double *out, api_error *err);

#endif
