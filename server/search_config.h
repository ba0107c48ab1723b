/*
 * search_config.h — a hyperparameter search's request (the body of
 * POST /v1/searches), checked whole before anything is stored.
 *
 * {"model": {..a model spec..} or 7, "dataset": 3,
 *  "job": {"epochs": 27, "optimizer": {"type": "adam", "lr": 0.001},
 *          "validation_split": 0.2},
 *  "space": {"job.optimizer.lr": {"loguniform": [1e-4, 1e-1]}},
 *  "method": "asha", "asha": {"reduction_factor": 3, "min_epochs": 3},
 *  "trials": 16, "metric": "val_loss", "mode": "min", "max_concurrent": 2,
 *  "seed": 1}
 *
 * model, dataset, job and space are required. method: random (default),
 * grid or asha; trials 1..SEARCH_MAX_TRIALS (10 for random and asha; grid:
 * the grid's size, at most); metric one of search_metric.h's (val_loss by
 * default, the dataset's task's), mode its direction (min or max: by
 * default, and a mode against it is refused naming metric); max_concurrent
 * 1..64 (1); seed 0..2^53 - 1 (0); asha: reduction_factor 2..16 (3),
 * min_epochs 1..job.epochs (1). job.epochs is the most a trial trains (the
 * last rung's resource, which the space cannot vary); the job needs a
 * validation_split > 0 or a validation_dataset (which an evaluation metric
 * requires, and is measured on) to measure the metric, and names no model
 * or dataset (the search's); its held-out datasets are checked as a job's
 * are, and an asha search's job takes no test_dataset (a trial's job ends
 * at every rung, its test evaluation made at the first). A stored model (an id) stands for its spec:
 * every trial is a new model of that spec.
 */
#ifndef TRAIND_SEARCH_CONFIG_H
#define TRAIND_SEARCH_CONFIG_H

#include "asha.h"
#include "search_metric.h"
#include "search_space.h"
#include "store.h"

typedef enum { SEARCH_RANDOM, SEARCH_GRID, SEARCH_ASHA } search_method;

typedef struct {
  cJSON *model;     /* the base spec (owned) */
  int64_t dataset;
  cJSON *job;       /* the base job config, without model and dataset (owned) */
  cJSON *space_json; /* the space as given (owned) */
  search_space space;
  search_method method;
  asha_config asha; /* max_epochs job.epochs; maximize as mode; rf, min 1 unless asha */
  int64_t trials;
  const search_metric *metric; /* what trials are ranked by */
  int64_t validation_dataset; /* job.validation_dataset, or 0 */
  int max_concurrent;
  int64_t seed;
} search_config;

/**
 * Parse and check a request; every trial's spec and config are built and
 * validated (search_space_apply), so no trial can fail on its values later.
 * @param st reads the model when it is an id, and the dataset (fit_check of
 *           trial 0's spec); NULL skips both and the trials' check (a
 *           stored config, checked when it was created)
 * @param limit the memory budget every trial's job must fit (budget.h)
 * @return 0 (release with search_config_clear), -API_INVALID_ARGUMENT naming
 *         the field, -API_NOT_FOUND, -API_UNPROCESSABLE (naming metric for
 *         a metric of the other task) or -API_INTERNAL
 */
int search_config_parse(store *st, size_t limit, const cJSON *root, search_config *c,
                        api_error *err);

void search_config_clear(search_config *c);

/** The normalized request, defaults written out and a model id resolved to
 *  its spec. @return a new object, or NULL when out of memory */
cJSON *search_config_to_json(const search_config *c);

/** Trial k's params: grid point k, or the (seed, k) draw. @return a new object or NULL */
cJSON *search_config_params(const search_config *c, int64_t k);

/**
 * A trial's spec text (named name) and the JSON text of the job that trains
 * model_id for epochs (reset false: a promotion continues its weights), with
 * the bytes that job takes on the dataset meta describes.
 * @return 0, or a negative api code (err filled): -API_TOO_LARGE past limit
 */
int search_config_trial(const search_config *c, const cJSON *params, const char *name,
                        int64_t model_id, int epochs, const store_dataset *meta, size_t limit,
                        char **spec_text, int64_t *parameters, char **job_text,
                        int64_t *memory, api_error *err);

#endif
