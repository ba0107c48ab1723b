/*
 * search_space.h — a hyperparameter search's space: which values of a base
 * model spec and job config its trials vary, how trial k draws them, and how
 * they are written into a trial's own spec and config.
 *
 * {"job.optimizer.lr": {"loguniform": [1e-4, 1e-1]},
 *  "model.layers[0].units": {"choice": [16, 32, 64]},
 *  "job.batch_size": {"int": [8, 64]}}
 *
 * A key is a dotted path rooted at "model" (the spec) or "job" (the config);
 * [i] indexes an array. Distributions: choice (1..SEARCH_MAX_CHOICES JSON
 * values), uniform [a, b] (a <= b, finite), loguniform [a, b] (0 < a <= b),
 * int [a, b] (a <= b, both inclusive). Parameters keep the order of the
 * space's members, which fixes both the sampling draws and the grid order.
 */
#ifndef TRAIND_SEARCH_SPACE_H
#define TRAIND_SEARCH_SPACE_H

#include "parse_json.h"

#define SEARCH_MAX_PARAMS 16
#define SEARCH_MAX_CHOICES 256
#define SEARCH_MAX_TRIALS 1000 /* trials of one search, grid points included */

typedef enum { SEARCH_CHOICE, SEARCH_UNIFORM, SEARCH_LOGUNIFORM, SEARCH_INT } search_dist;

typedef struct {
  char path[PARSE_PATH_MAX]; /* "job.optimizer.lr" */
  search_dist dist;
  double lo, hi;     /* uniform, loguniform: the closed interval */
  int64_t ilo, ihi;  /* int: inclusive bounds */
  cJSON *choices;    /* choice: an owned array of 1..SEARCH_MAX_CHOICES values */
} search_param;

typedef struct {
  int n;
  search_param params[SEARCH_MAX_PARAMS];
} search_space;

/**
 * Parse and check a space object. Errors name the field as
 * space["job.optimizer.lr"].loguniform.
 * @return 0 (free with search_space_free), -API_INVALID_ARGUMENT or -API_INTERNAL
 */
int search_space_parse(const cJSON *obj, search_space *s, api_error *err);

void search_space_free(search_space *s);

/**
 * Trial k's parameters drawn at random: an object {path: value} in the
 * space's order. The draws depend only on (seed, k): trial k reads PCG32
 * stream k seeded with seed.
 * @return a new object, or NULL when out of memory
 */
cJSON *search_space_sample(const search_space *s, uint64_t seed, uint64_t k);

/**
 * The number of grid points: the product of the choice counts and int range
 * sizes.
 * @return 0 with *count set; -API_INVALID_ARGUMENT naming a uniform or
 *         loguniform parameter, or when there are more than max points
 */
int search_space_grid_size(const search_space *s, int64_t max, int64_t *count, api_error *err);

/**
 * Grid point k (0 <= k < grid size), in mixed radix: the last parameter
 * varies fastest, the first slowest.
 * @return a new object {path: value}, or NULL when out of memory
 */
cJSON *search_space_grid_point(const search_space *s, int64_t k);

/**
 * Write params into copies of the base spec and config, then validate them
 * (parse_spec, parse_job_config). Every path must exist in its base: a path
 * that does not is refused naming it, never created. A value the parsers
 * refuse names the trial's field ("job.optimizer.lr").
 * @param model the base spec, or NULL when the search starts from a stored
 *              model (then no model.* path is allowed)
 * @param job   the base config (without model and dataset)
 * @param model_out receives the trial's spec (NULL when model is NULL)
 * @param job_out   receives the trial's config
 * @return 0, -API_INVALID_ARGUMENT or -API_INTERNAL
 */
int search_space_apply(const cJSON *model, const cJSON *job, const cJSON *params,
                       cJSON **model_out, cJSON **job_out, api_error *err);

#endif
