/*
 * parse_job.h — a training job's JSON config (the body of POST /v1/jobs) to
 * and from core's nn_train_config.
 *
 * {"model":1,"dataset":1,"epochs":500,"batch_size":4,
 *  "optimizer":{"type":"adam","lr":0.01},"validation_split":0.0,
 *  "shuffle":true,"seed":7,"checkpoint_every":1,"clip_norm":0,
 *  "lr_schedule":{"type":"step","step_size":10,"gamma":0.5},
 *  "early_stopping":{"patience":20,"min_delta":0.0,"restore_best":false},
 *  "reset":false,"validation_dataset":2,"test_dataset":3}
 *
 * validation_dataset replaces validation_split (both given: refused, naming
 * validation_dataset); restore_best needs one of them. The two datasets are
 * written out by parse_job_to_json only when given, and validation_split
 * only without a validation_dataset.
 *
 * model and dataset are required; everything else defaults to
 * nn_train_config_defaults, nn_optim_defaults(optimizer.type) and
 * checkpoint_every 1, reset false, ranks 1 (written out only when larger). Optimizer members by type: sgd lr,
 * momentum, nesterov, weight_decay; adam/adamw lr, beta1, beta2, eps,
 * weight_decay; rmsprop lr, alpha, eps, momentum, weight_decay. Schedule
 * members (type required) by type: constant none; step step_size, gamma;
 * exponential gamma; cosine min_lr. Members that are unknown or do not
 * apply to the chosen type are rejected, naming them.
 */
#ifndef TRAIND_PARSE_JOB_H
#define TRAIND_PARSE_JOB_H

#include "parse_json.h"

/* Epochs of one job: a million epochs of a small net are days of training,
 * and every epoch is a row of metrics and events on disk (thinned past
 * STORE_METRICS_DENSE, pruned past --events-keep, but written first). */
#define PARSE_MAX_EPOCHS 1000000
/* Processes of one data-parallel job ("ranks", docs/distributed.md). */
#define PARSE_MAX_RANKS 256

typedef struct {
  int64_t model;        /* model id, 1..2^53 - 1 */
  int64_t dataset;      /* dataset id, 1..2^53 - 1 */
  nn_train_config config;
  int reset;            /* start from fresh weights instead of the model's current ones */
  int checkpoint_every; /* epochs between checkpoints, >= 1 */
  int64_t validation_dataset; /* dataset id validated on every epoch, or 0 */
  int64_t test_dataset;       /* dataset id evaluated with the final weights, or 0 */
  int ranks;            /* data-parallel processes, 1..PARSE_MAX_RANKS; 1: in the worker */
} parse_job;

/**
 * Parse and validate (nn_train_config_validate) a job config.
 * @param root the parsed body
 * @param job  receives the config with every default filled
 * @return 0, -API_INVALID_ARGUMENT naming the field, or -API_INTERNAL
 */
int parse_job_config(const cJSON *root, parse_job *job, api_error *err);

/**
 * The normalized JSON of a job config, every default written out; it parses
 * back (parse_job_config) into the same config.
 * @return a new object (cJSON_Delete it), or NULL when out of memory
 */
cJSON *parse_job_to_json(const parse_job *job);

#endif
