/*
 * search_config.c — a search's request, parsed and checked once at
 * POST /v1/searches and again, from its stored normalized form, by the
 * scheduler (search_run.c), which needs its space, bases and method.
 *
 * Creation checks every trial up front: the trials of a search are known
 * from its request alone (grid points, or the (seed, k) draws), so building
 * each one's spec and config and running them through the API's parsers
 * costs a few microseconds per trial and means the scheduler never meets a
 * value it cannot train.
 */
#include "search_config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "evaluation.h"
#include "fit.h"
#include "parse_job.h"
#include "parse_spec.h"

static const char *const search_keys[] = {"model", "dataset", "job", "space", "method", "asha",
                                          "trials", "metric", "mode", "max_concurrent",
                                          "seed", NULL};
static const char *const asha_keys[] = {"reduction_factor", "min_epochs", NULL};

void search_config_clear(search_config *c) {
  cJSON_Delete(c->model);
  cJSON_Delete(c->job);
  cJSON_Delete(c->space_json);
  search_space_free(&c->space);
  memset(c, 0, sizeof *c);
}

/* The base spec: the object given, or stored model id's spec. */
static int read_model(store *st, const cJSON *v, search_config *c, api_error *err) {
  if (cJSON_IsObject(v)) {
    c->model = cJSON_Duplicate(v, 1);
    return c->model ? 0 : api_fail(err, API_INTERNAL, NULL, "out of memory");
  }
  int64_t id = 0;
  cJSON *holder = cJSON_CreateObject();
  if (!holder || !cJSON_AddItemReferenceToObject(holder, "model", (cJSON *)v)) {
    cJSON_Delete(holder);
    return api_fail(err, API_INTERNAL, NULL, "out of memory");
  }
  int rc = parse_json_int(holder, NULL, "model", PARSE_REQUIRED, 1, PARSE_MAX_SAFE_INT, &id, err);
  cJSON_Delete(holder);
  if (rc < 0)
    return api_fail(err, API_INVALID_ARGUMENT, "model", "model must be a model spec or a model id");
  if (st == NULL) return api_fail(err, API_INTERNAL, NULL, "a stored search names a model id");
  store_model m = {0};
  nn_spec spec = {0};
  rc = fit_model_load(st, id, "model", &m, &spec, err);
  if (rc == 0) {
    c->model = parse_spec_to_json(&spec, m.name);
    if (!c->model) rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
  }
  store_model_clear(&m);
  parse_spec_free(&spec);
  return rc;
}

/* The base job: no model or dataset of its own, a validation split or
 * dataset; *test_dataset receives its test_dataset (or 0). */
static int read_job(const cJSON *root, search_config *c, int64_t *test_dataset,
                    api_error *err) {
  const cJSON *job = cJSON_GetObjectItemCaseSensitive(root, "job");
  if (!job) return api_fail(err, API_INVALID_ARGUMENT, "job", "job is required");
  int rc = parse_json_object(job, "job", err);
  if (rc < 0) return rc;
  if (cJSON_HasObjectItem(job, "model") || cJSON_HasObjectItem(job, "dataset"))
    return api_fail(err, API_INVALID_ARGUMENT, "job",
                    "job names no model or dataset: the search's own are used");
  c->job = cJSON_Duplicate(job, 1);
  cJSON *full = cJSON_Duplicate(job, 1);
  parse_job parsed;
  if (!c->job || !full || !cJSON_AddNumberToObject(full, "model", 1) ||
      !cJSON_AddNumberToObject(full, "dataset", 1)) {
    cJSON_Delete(full);
    return api_fail(err, API_INTERNAL, NULL, "out of memory");
  }
  rc = parse_job_config(full, &parsed, err);
  cJSON_Delete(full);
  if (rc < 0) {
    char field[sizeof err->field];
    parse_json_path(field, sizeof field, "job", err->field);
    memcpy(err->field, field, sizeof field);
    return rc;
  }
  if (!(parsed.config.validation_split > 0) && parsed.validation_dataset == 0)
    return api_fail(err, API_INVALID_ARGUMENT, "job.validation_split",
                    "job.validation_split must be > 0, or job.validation_dataset given: trials "
                    "are ranked on validation rows");
  c->asha.max_epochs = parsed.config.epochs;
  c->validation_dataset = parsed.validation_dataset;
  *test_dataset = parsed.test_dataset;
  return 0;
}

static int read_choice(const cJSON *root, const char *key, const char *const *names, int n,
                       int *out, api_error *err) {
  const char *s = NULL;
  int rc = parse_json_string(root, NULL, key, PARSE_OPTIONAL, 32, &s, err);
  if (rc < 0 || s == NULL) return rc;
  for (int i = 0; i < n; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = i;
      return 0;
    }
  return api_fail(err, API_INVALID_ARGUMENT, key, "%s must be one of %s, %s%s%s", key, names[0],
                  names[1], n > 2 ? ", " : "", n > 2 ? names[2] : "");
}

static const char *const method_names[] = {"random", "grid", "asha"};
static const char *const mode_names[] = {"min", "max"};

/* The metric (val_loss when left out) and the mode, which must agree with
 * it: a search maximizing a loss is a mistake. */
static int read_metric(const cJSON *root, search_config *c, api_error *err) {
  const char *s = "val_loss";
  int mode = -1;
  int rc = parse_json_string(root, NULL, "metric", PARSE_OPTIONAL, 64, &s, err);
  if (rc < 0) return rc;
  if ((c->metric = search_metric_find(s)) == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "metric", "metric must be one of %s",
                    search_metric_names());
  rc = read_choice(root, "mode", mode_names, 2, &mode, err);
  if (rc < 0) return rc;
  if (mode >= 0 && mode != c->metric->maximize)
    return api_fail(err, API_INVALID_ARGUMENT, "metric",
                    "metric %s is %s: mode must be %s (or left out)", c->metric->name,
                    c->metric->maximize ? "maximized" : "minimized",
                    mode_names[c->metric->maximize]);
  if (search_metric_evaluated(c->metric) && c->validation_dataset == 0)
    return api_fail(err, API_INVALID_ARGUMENT, "job.validation_dataset",
                    "metric %s is measured on job.validation_dataset, which is required then",
                    c->metric->name);
  c->asha.maximize = c->metric->maximize;
  return 0;
}

/* The task the metric is of, and the held-out datasets, checked against
 * the training dataset d and trial 0's spec. */
static int check_holdouts(store *st, const search_config *c, int64_t test_dataset,
                          const store_dataset *d, const nn_spec *spec, api_error *err) {
  int rc = 0;
  if (c->metric->task != SEARCH_METRIC_ANY_TASK && (int)d->task != c->metric->task)
    rc = api_fail(err, API_UNPROCESSABLE, "metric",
                  "metric %s is a %s metric but dataset %lld is a %s dataset", c->metric->name,
                  store_task_name((store_task)c->metric->task), (long long)d->id,
                  store_task_name(d->task));
  if (rc == 0 && c->validation_dataset != 0)
    rc = evaluation_check_holdout(st, c->validation_dataset, "job.validation_dataset", d, spec,
                                  0, search_metric_evaluated(c->metric), err);
  if (rc == 0 && test_dataset != 0)
    rc = evaluation_check_holdout(st, test_dataset, "job.test_dataset", d, spec, 0, true, err);
  return rc;
}

/* Every trial's values must make a valid spec and config, that the dataset
 * trains (trial 0's spec: a space rarely changes the widths) within the
 * memory budget. */
static int check_trials(store *st, size_t limit, search_config *c, int64_t test_dataset,
                        api_error *err) {
  store_dataset d = {0};
  int rc = 0;
  for (int64_t k = 0; rc == 0 && k < c->trials; k++) {
    cJSON *params = search_config_params(c, k);
    char *spec = NULL, *job = NULL;
    int64_t parameters, memory;
    if (!params) {
      rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
      break;
    }
    if (k == 0) {
      cJSON *m = NULL, *j = NULL;
      nn_spec s = {0};
      char name[PARSE_NAME_MAX + 1];
      rc = search_space_apply(c->model, c->job, params, &m, &j, err);
      if (rc == 0) rc = parse_spec(m, &s, name, err);
      if (rc == 0) rc = fit_dataset_load(st, c->dataset, &s, 0, &d, err);
      if (rc == 0) rc = check_holdouts(st, c, test_dataset, &d, &s, err);
      parse_spec_free(&s);
      cJSON_Delete(m);
      cJSON_Delete(j);
    }
    if (rc == 0)
      rc = search_config_trial(c, params, "trial", 1, c->asha.max_epochs, &d, limit, &spec,
                               &parameters, &job, &memory, err);
    cJSON_Delete(params);
    free(spec);
    free(job);
  }
  store_dataset_clear(&d);
  return rc;
}

int search_config_parse(store *st, size_t limit, const cJSON *root, search_config *c,
                        api_error *err) {
  memset(c, 0, sizeof *c);
  int method = SEARCH_RANDOM, max_concurrent = 1;
  int64_t trials = 0, test_dataset = 0;
  c->asha.reduction_factor = 3;
  c->asha.min_epochs = 1;
  int rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, search_keys, err);
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  if (rc == 0 && !model) rc = api_fail(err, API_INVALID_ARGUMENT, "model", "model is required");
  if (rc == 0)
    rc = parse_json_int(root, NULL, "dataset", PARSE_REQUIRED, 1, PARSE_MAX_SAFE_INT,
                        &c->dataset, err);
  if (rc == 0) rc = read_model(st, model, c, err);
  if (rc == 0) rc = read_job(root, c, &test_dataset, err);
  if (rc == 0) {
    c->space_json = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(root, "space"), 1);
    rc = search_space_parse(c->space_json, &c->space, err);
  }
  for (int i = 0; rc == 0 && i < c->space.n; i++)
    if (strcmp(c->space.params[i].path, "job.epochs") == 0) /* the rungs own it */
      rc = api_fail(err, API_INVALID_ARGUMENT, "space[\"job.epochs\"]",
                    "space[\"job.epochs\"]: the epochs are the search's resource, set in job");
  if (rc == 0) rc = read_choice(root, "method", method_names, 3, &method, err);
  if (rc == 0) rc = read_metric(root, c, err);
  /* a trial's one job ends at each rung, and its test evaluation is made
   * once: it would be of the first rung's weights */
  if (rc == 0 && method == SEARCH_ASHA && test_dataset != 0)
    rc = api_fail(err, API_INVALID_ARGUMENT, "job.test_dataset",
                  "job.test_dataset cannot be evaluated at each rung of an asha search: "
                  "evaluate the best trial's model (POST /v1/models/{id}/evaluate)");
  if (rc == 0)
    rc = parse_json_int(root, NULL, "trials", PARSE_OPTIONAL, 1, SEARCH_MAX_TRIALS, &trials, err);
  if (rc == 0)
    rc = parse_json_int32(root, NULL, "max_concurrent", PARSE_OPTIONAL, 1, 64, &max_concurrent,
                          err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "seed", PARSE_OPTIONAL, 0, PARSE_MAX_SAFE_INT, &c->seed, err);
  const cJSON *asha = cJSON_GetObjectItemCaseSensitive(root, "asha");
  if (rc == 0 && asha && method != SEARCH_ASHA)
    rc = api_fail(err, API_INVALID_ARGUMENT, "asha", "asha applies to method asha only");
  if (rc == 0 && asha) rc = parse_json_object(asha, "asha", err);
  if (rc == 0 && asha) rc = parse_json_known_keys(asha, "asha", asha_keys, err);
  if (rc == 0 && asha)
    rc = parse_json_int32(asha, "asha", "reduction_factor", PARSE_OPTIONAL, 2, 16,
                          &c->asha.reduction_factor, err);
  if (rc == 0 && asha)
    rc = parse_json_int32(asha, "asha", "min_epochs", PARSE_OPTIONAL, 1, c->asha.max_epochs,
                          &c->asha.min_epochs, err);
  if (rc < 0) goto fail;
  c->method = (search_method)method;
  c->max_concurrent = max_concurrent;
  if (c->method == SEARCH_GRID) {
    int64_t points;
    rc = search_space_grid_size(&c->space, SEARCH_MAX_TRIALS, &points, err);
    if (rc == 0 && trials > points)
      rc = api_fail(err, API_INVALID_ARGUMENT, "trials",
                    "trials must be at most the grid's %lld points", (long long)points);
    if (rc < 0) goto fail;
    c->trials = trials ? trials : points;
  } else {
    c->trials = trials ? trials : 10;
  }
  /* a stored config was checked */
  rc = st != NULL ? check_trials(st, limit, c, test_dataset, err) : 0;
  if (rc < 0) goto fail;
  return 0;
fail:
  search_config_clear(c);
  return rc;
}

cJSON *search_config_to_json(const search_config *c) {
  cJSON *o = cJSON_CreateObject();
  cJSON *asha = c->method == SEARCH_ASHA ? cJSON_CreateObject() : NULL;
  if (!o || (c->method == SEARCH_ASHA && !asha) ||
      !cJSON_AddItemToObject(o, "model", cJSON_Duplicate(c->model, 1)) ||
      parse_json_add_int(o, "dataset", c->dataset) < 0 ||
      !cJSON_AddItemToObject(o, "job", cJSON_Duplicate(c->job, 1)) ||
      !cJSON_AddItemToObject(o, "space", cJSON_Duplicate(c->space_json, 1)) ||
      !cJSON_AddStringToObject(o, "method", method_names[c->method]) ||
      (asha && (!cJSON_AddNumberToObject(asha, "reduction_factor", c->asha.reduction_factor) ||
                !cJSON_AddNumberToObject(asha, "min_epochs", c->asha.min_epochs) ||
                !cJSON_AddItemToObject(o, "asha", asha))) ||
      parse_json_add_int(o, "trials", c->trials) < 0 ||
      !cJSON_AddStringToObject(o, "metric", c->metric->name) ||
      !cJSON_AddStringToObject(o, "mode", mode_names[c->asha.maximize]) ||
      !cJSON_AddNumberToObject(o, "max_concurrent", c->max_concurrent) ||
      parse_json_add_int(o, "seed", c->seed) < 0) {
    if (asha && !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "asha"))) cJSON_Delete(asha);
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

cJSON *search_config_params(const search_config *c, int64_t k) {
  if (c->method == SEARCH_GRID) return search_space_grid_point(&c->space, k);
  return search_space_sample(&c->space, (uint64_t)c->seed, (uint64_t)k);
}

int search_config_trial(const search_config *c, const cJSON *params, const char *name,
                        int64_t model_id, int epochs, const store_dataset *meta, size_t limit,
                        char **spec_text, int64_t *parameters, char **job_text,
                        int64_t *memory, api_error *err) {
  cJSON *m = NULL, *j = NULL, *norm_spec = NULL, *norm_job = NULL;
  *spec_text = *job_text = NULL;
  int rc = search_space_apply(c->model, c->job, params, &m, &j, err);
  if (rc < 0) return rc;
  nn_spec spec = {0};
  char base_name[PARSE_NAME_MAX + 1];
  parse_job job;
  if (!cJSON_AddItemToObject(j, "model", cJSON_CreateNumber((double)model_id)) ||
      !cJSON_AddItemToObject(j, "dataset", cJSON_CreateNumber((double)c->dataset))) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
    goto out;
  }
  rc = parse_spec(m, &spec, base_name, err);
  if (rc == 0) rc = parse_job_config(j, &job, err);
  if (rc < 0) goto out;
  job.config.epochs = epochs;
  job.reset = 0;
  size_t bytes = 0;
  rc = budget_check_job(limit, &spec, &job.config, meta, &bytes, err);
  if (rc < 0) goto out;
  *memory = (int64_t)bytes;
  *parameters = (int64_t)nn_spec_param_count(&spec);
  norm_spec = parse_spec_to_json(&spec, name);
  norm_job = parse_job_to_json(&job);
  *spec_text = norm_spec ? cJSON_PrintUnformatted(norm_spec) : NULL;
  *job_text = norm_job ? cJSON_PrintUnformatted(norm_job) : NULL;
  if (!*spec_text || !*job_text) {
    free(*spec_text);
    free(*job_text);
    *spec_text = *job_text = NULL;
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
  }
out:
  cJSON_Delete(m);
  cJSON_Delete(j);
  cJSON_Delete(norm_spec);
  cJSON_Delete(norm_job);
  parse_spec_free(&spec);
  return rc;
}
