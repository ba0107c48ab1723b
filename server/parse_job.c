/* parse_job.c — job config JSON <-> nn_train_config. */
#include "parse_job.h"

#include <float.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const job_keys[] = {
    "model", "dataset", "epochs", "batch_size", "optimizer", "lr_schedule", "validation_split",
    "shuffle", "seed", "checkpoint_every", "clip_norm", "early_stopping", "reset",
    "validation_dataset", "test_dataset", "ranks", NULL};
static const char *const stopping_keys[] = {"patience", "min_delta", "restore_best", NULL};

/* Optimizer members, all of them and by type; each list drives parsing,
 * the "does not apply" check and printing. */
static const char *const optim_keys[] = {
    "type", "lr", "momentum", "nesterov", "beta1", "beta2", "eps", "alpha", "weight_decay", NULL};
static const char *const sgd_keys[] = {"type", "lr", "momentum", "nesterov", "weight_decay", NULL};
static const char *const adam_keys[] = {"type", "lr", "beta1", "beta2", "eps", "weight_decay",
                                        NULL};
static const char *const rmsprop_keys[] = {
    "type", "lr", "alpha", "eps", "momentum", "weight_decay", NULL};
static const char *const *const optim_keys_of[] = {
    [NN_OPT_SGD] = sgd_keys,
    [NN_OPT_ADAM] = adam_keys,
    [NN_OPT_ADAMW] = adam_keys,
    [NN_OPT_RMSPROP] = rmsprop_keys,
};

static const char *const sched_keys[] = {"type", "step_size", "gamma", "min_lr", NULL};
static const char *const constant_keys[] = {"type", NULL};
static const char *const step_keys[] = {"type", "step_size", "gamma", NULL};
static const char *const exponential_keys[] = {"type", "gamma", NULL};
static const char *const cosine_keys[] = {"type", "min_lr", NULL};
static const char *const *const sched_keys_of[] = {
    [NN_SCHED_CONSTANT] = constant_keys,
    [NN_SCHED_STEP] = step_keys,
    [NN_SCHED_EXPONENTIAL] = exponential_keys,
    [NN_SCHED_COSINE] = cosine_keys,
};

#define NOT_A_FLOAT ((size_t)-1)

/* Offset in nn_optim_spec of the float a member name stands for, or
 * NOT_A_FLOAT ("type", "nesterov"). */
static size_t optim_float_offset(const char *key) {
  static const struct {
    const char *key;
    size_t offset;
  } fields[] = {
      {"lr", offsetof(nn_optim_spec, lr)},       {"momentum", offsetof(nn_optim_spec, momentum)},
      {"beta1", offsetof(nn_optim_spec, beta1)}, {"beta2", offsetof(nn_optim_spec, beta2)},
      {"eps", offsetof(nn_optim_spec, eps)},     {"alpha", offsetof(nn_optim_spec, alpha)},
      {"weight_decay", offsetof(nn_optim_spec, weight_decay)},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (strcmp(fields[i].key, key) == 0) return fields[i].offset;
  return NOT_A_FLOAT;
}

/* The member list of a type from core's name table, or NULL when this file
 * does not know the type yet. */
static const char *const *keys_of(const char *const *const *table, size_t n, int type) {
  return type >= 0 && (size_t)type < n ? table[type] : NULL;
}

static int parse_optimizer(const cJSON *root, nn_optim_spec *o, api_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "optimizer");
  if (v == NULL) return 0;
  int type = o->type;
  int rc = parse_json_object(v, "optimizer", err);
  if (rc == 0) rc = parse_json_known_keys(v, "optimizer", optim_keys, err);
  if (rc == 0)
    rc = parse_json_enum(v, "optimizer", "type", PARSE_OPTIONAL, NN_NAMES_OPT, &type, err);
  if (rc != 0) return rc;
  const char *const *keys = keys_of(optim_keys_of, ARRAY_LEN(optim_keys_of), type);
  if (keys == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "optimizer.type",
                    "optimizer.type %s is not supported",
                    nn_name(NN_NAMES_OPT, type));
  char context[48];
  snprintf(context, sizeof context, "optimizer %s", nn_name(NN_NAMES_OPT, type));
  rc = parse_json_applicable_keys(v, "optimizer", keys, context, err);
  if (rc != 0) return rc;
  nn_optim_defaults((nn_opt)type, o);
  for (const char *const *k = keys + 1; rc == 0 && *k != NULL; k++) {
    size_t off = optim_float_offset(*k);
    if (off != NOT_A_FLOAT) /* ranges beyond float's are nn_train_config_validate's */
      rc = parse_json_float(v, "optimizer", *k, PARSE_OPTIONAL, -FLT_MAX, FLT_MAX,
                            (float *)((char *)o + off), err);
    else
      rc = parse_json_bool(v, "optimizer", *k, PARSE_OPTIONAL, &o->nesterov, err);
  }
  return rc;
}

static int parse_schedule(const cJSON *root, nn_sched_spec *s, api_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "lr_schedule");
  if (v == NULL) return 0;
  int type = s->type;
  int rc = parse_json_object(v, "lr_schedule", err);
  if (rc == 0) rc = parse_json_known_keys(v, "lr_schedule", sched_keys, err);
  if (rc == 0)
    rc = parse_json_enum(v, "lr_schedule", "type", PARSE_REQUIRED, NN_NAMES_SCHED, &type, err);
  if (rc != 0) return rc;
  const char *const *keys = keys_of(sched_keys_of, ARRAY_LEN(sched_keys_of), type);
  if (keys == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "lr_schedule.type",
                    "lr_schedule.type %s is not supported", nn_name(NN_NAMES_SCHED, type));
  s->type = (nn_sched)type;
  char context[48];
  snprintf(context, sizeof context, "lr_schedule %s", nn_name(NN_NAMES_SCHED, type));
  rc = parse_json_applicable_keys(v, "lr_schedule", keys, context, err);
  if (rc != 0) return rc;
  /* Members that do not apply were rejected above, so reading them all
   * only overrides the defaults of this type's. */
  rc = parse_json_int32(v, "lr_schedule", "step_size", PARSE_OPTIONAL, 1, INT_MAX, &s->step_size,
                        err);
  if (rc == 0)
    rc = parse_json_float(v, "lr_schedule", "gamma", PARSE_OPTIONAL, -FLT_MAX, FLT_MAX, &s->gamma,
                          err);
  if (rc == 0)
    rc = parse_json_float(v, "lr_schedule", "min_lr", PARSE_OPTIONAL, -FLT_MAX, FLT_MAX,
                          &s->min_lr, err);
  return rc;
}

static int parse_early_stopping(const cJSON *root, nn_train_config *c, api_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "early_stopping");
  if (v == NULL) return 0;
  int rc = parse_json_object(v, "early_stopping", err);
  if (rc == 0) rc = parse_json_known_keys(v, "early_stopping", stopping_keys, err);
  if (rc == 0)
    rc = parse_json_int32(v, "early_stopping", "patience", PARSE_OPTIONAL, 0, INT_MAX,
                          &c->patience, err);
  if (rc == 0)
    rc = parse_json_float(v, "early_stopping", "min_delta", PARSE_OPTIONAL, -FLT_MAX, FLT_MAX,
                          &c->min_delta, err);
  if (rc == 0)
    rc = parse_json_bool(v, "early_stopping", "restore_best", PARSE_OPTIONAL, &c->restore_best,
                         err);
  return rc;
}

/* The held-out datasets: validation_dataset instead of a validation_split,
 * and restore_best only with something to validate on. */
static int parse_holdout(const cJSON *root, parse_job *job, api_error *err) {
  int rc = parse_json_int(root, NULL, "validation_dataset", PARSE_OPTIONAL, 1,
                          PARSE_MAX_SAFE_INT, &job->validation_dataset, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "test_dataset", PARSE_OPTIONAL, 1, PARSE_MAX_SAFE_INT,
                        &job->test_dataset, err);
  if (rc != 0) return rc;
  if (job->validation_dataset != 0 &&
      cJSON_GetObjectItemCaseSensitive(root, "validation_split") != NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "validation_dataset",
                    "validation_dataset replaces validation_split: give one of them");
  if (job->config.restore_best && job->validation_dataset == 0 &&
      job->config.validation_split == 0.0f)
    return api_fail(err, API_INVALID_ARGUMENT, "early_stopping.restore_best",
                    "early_stopping.restore_best needs a validation_split or a "
                    "validation_dataset to pick the best epoch by");
  return 0;
}

int parse_job_config(const cJSON *root, parse_job *job, api_error *err) {
  memset(job, 0, sizeof *job);
  nn_train_config *c = &job->config;
  nn_train_config_defaults(c);
  job->checkpoint_every = 1;
  job->ranks = 1;
  int64_t seed = (int64_t)c->seed;
  int rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, job_keys, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "model", PARSE_REQUIRED, 1, PARSE_MAX_SAFE_INT, &job->model,
                        err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "dataset", PARSE_REQUIRED, 1, PARSE_MAX_SAFE_INT,
                        &job->dataset, err);
  if (rc == 0)
    rc = parse_json_int32(root, NULL, "epochs", PARSE_OPTIONAL, 1, PARSE_MAX_EPOCHS, &c->epochs,
                          err);
  if (rc == 0)
    rc = parse_json_int32(root, NULL, "batch_size", PARSE_OPTIONAL, 1, NN_MAX_BATCH,
                          &c->batch_size, err);
  if (rc == 0) rc = parse_optimizer(root, &c->optim, err);
  if (rc == 0) rc = parse_schedule(root, &c->sched, err);
  if (rc == 0)
    rc = parse_json_float(root, NULL, "validation_split", PARSE_OPTIONAL, -FLT_MAX, FLT_MAX,
                          &c->validation_split, err);
  if (rc == 0) rc = parse_json_bool(root, NULL, "shuffle", PARSE_OPTIONAL, &c->shuffle, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "seed", PARSE_OPTIONAL, 0, PARSE_MAX_SAFE_INT, &seed, err);
  if (rc == 0)
    rc = parse_json_int32(root, NULL, "checkpoint_every", PARSE_OPTIONAL, 1, INT_MAX,
                          &job->checkpoint_every, err);
  if (rc == 0)
    rc = parse_json_float(root, NULL, "clip_norm", PARSE_OPTIONAL, -FLT_MAX, FLT_MAX,
                          &c->clip_norm, err);
  if (rc == 0) rc = parse_early_stopping(root, c, err);
  if (rc == 0) rc = parse_json_bool(root, NULL, "reset", PARSE_OPTIONAL, &job->reset, err);
  if (rc == 0) rc = parse_holdout(root, job, err);
  if (rc == 0)
    rc = parse_json_int32(root, NULL, "ranks", PARSE_OPTIONAL, 1, PARSE_MAX_RANKS, &job->ranks,
                          err);
  if (rc != 0) return rc;
  c->seed = (uint64_t)seed;
  nn_error e = {{0}, {0}};
  int st = nn_train_config_validate(c, &e);
  return st == NN_OK ? 0 : parse_from_nn_error(st, &e, err);
}

static cJSON *optimizer_to_json(const nn_optim_spec *o) {
  cJSON *v = cJSON_CreateObject();
  int ok = v != NULL && cJSON_AddStringToObject(v, "type", nn_name(NN_NAMES_OPT, o->type)) != NULL;
  const char *const *keys = keys_of(optim_keys_of, ARRAY_LEN(optim_keys_of), o->type);
  ok = ok && keys != NULL;
  for (const char *const *k = ok ? keys + 1 : NULL; ok && *k != NULL; k++) {
    size_t off = optim_float_offset(*k);
    ok = off != NOT_A_FLOAT
             ? parse_json_add_float(v, *k, *(const float *)((const char *)o + off)) == 0
             : cJSON_AddBoolToObject(v, *k, o->nesterov) != NULL;
  }
  if (ok) return v;
  cJSON_Delete(v);
  return NULL;
}

static cJSON *schedule_to_json(const nn_sched_spec *s) {
  cJSON *v = cJSON_CreateObject();
  int ok = v != NULL &&
           cJSON_AddStringToObject(v, "type", nn_name(NN_NAMES_SCHED, s->type)) != NULL;
  if (ok && s->type == NN_SCHED_STEP)
    ok = cJSON_AddNumberToObject(v, "step_size", s->step_size) != NULL;
  if (ok && (s->type == NN_SCHED_STEP || s->type == NN_SCHED_EXPONENTIAL))
    ok = parse_json_add_float(v, "gamma", s->gamma) == 0;
  if (ok && s->type == NN_SCHED_COSINE) ok = parse_json_add_float(v, "min_lr", s->min_lr) == 0;
  if (ok) return v;
  cJSON_Delete(v);
  return NULL;
}

/* Attach child to o under key; child is freed when that fails. */
static int add_child(cJSON *o, const char *key, cJSON *child) {
  if (child != NULL && cJSON_AddItemToObject(o, key, child)) return 1;
  cJSON_Delete(child);
  return 0;
}

cJSON *parse_job_to_json(const parse_job *job) {
  const nn_train_config *c = &job->config;
  cJSON *o = cJSON_CreateObject();
  cJSON *stopping = NULL;
  int ok = o != NULL && parse_json_add_int(o, "model", job->model) == 0 &&
           parse_json_add_int(o, "dataset", job->dataset) == 0 &&
           cJSON_AddNumberToObject(o, "epochs", c->epochs) != NULL &&
           cJSON_AddNumberToObject(o, "batch_size", c->batch_size) != NULL &&
           add_child(o, "optimizer", optimizer_to_json(&c->optim)) &&
           add_child(o, "lr_schedule", schedule_to_json(&c->sched)) &&
           (job->validation_dataset != 0
                ? parse_json_add_int(o, "validation_dataset", job->validation_dataset) == 0
                : parse_json_add_float(o, "validation_split", c->validation_split) == 0) &&
           (job->test_dataset == 0 ||
            parse_json_add_int(o, "test_dataset", job->test_dataset) == 0) &&
           cJSON_AddBoolToObject(o, "shuffle", c->shuffle) != NULL &&
           parse_json_add_int(o, "seed", (int64_t)c->seed) == 0 &&
           cJSON_AddNumberToObject(o, "checkpoint_every", job->checkpoint_every) != NULL &&
           parse_json_add_float(o, "clip_norm", c->clip_norm) == 0 &&
           (stopping = cJSON_AddObjectToObject(o, "early_stopping")) != NULL &&
           cJSON_AddNumberToObject(stopping, "patience", c->patience) != NULL &&
           parse_json_add_float(stopping, "min_delta", c->min_delta) == 0 &&
           cJSON_AddBoolToObject(stopping, "restore_best", c->restore_best) != NULL &&
           cJSON_AddBoolToObject(o, "reset", job->reset) != NULL &&
           (job->ranks == 1 || cJSON_AddNumberToObject(o, "ranks", job->ranks) != NULL);
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}
