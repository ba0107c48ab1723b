/*
 * search_space.c — parsing a search space, drawing trials from it and writing
 * a trial's values into its model spec and job config.
 *
 * Random trials: trial k seeds core's PCG32 with (seed, stream k) and draws
 * its parameters in the space's order, so its values depend on nothing but
 * (seed, k) — not on how many trials ran before it or in what order, which
 * is what lets a search be re-driven after a restart and give the same
 * trials. Uniform draws use 53 random bits; loguniform draws are uniform in
 * log space, exp(log a + u (log b - log a)), clamped to [a, b] against the
 * last-bit rounding of exp; int and choice use the unbiased nn__rng_below.
 *
 * Grid points are mixed-radix numbers over the parameters' value counts. The
 * count is checked against a bound while it is multiplied, so a space of
 * many large ranges is refused before anything is enumerated.
 *
 * Substitution works on copies (cJSON_Duplicate) of the bases and replaces
 * only values that exist: a misspelt path would otherwise add a member the
 * parsers refuse as unknown at best, or that a default hides at worst. The
 * copies are then run through the daemon's own parsers, so a value the
 * space can produce and the API would refuse (a units of 0, an lr past its
 * range) fails with the same message, its field prefixed with its root.
 * Costs: a duplicate of two small trees and one parse of each per trial.
 */
#include "search_space.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/nn_internal.h"
#include "parse_job.h"
#include "parse_spec.h"

static const char *const dist_names[] = {"choice", "uniform", "loguniform", "int"};

/* ---- paths ---------------------------------------------------------------- */

/* Walk the rest of a path ("optimizer.lr", "layers[0].units") from root.
 * @return the item it names, with its container in *parent; NULL when the
 *         path is malformed or a step does not exist */
static cJSON *path_find(cJSON *root, const char *p, cJSON **parent) {
  cJSON *cur = root;
  *parent = NULL;
  if (*p == '\0') return NULL;
  while (*p) {
    cJSON *next = NULL;
    if (*p == '[') {
      char *end = NULL;
      if (p[1] < '0' || p[1] > '9') return NULL;
      unsigned long idx = strtoul(p + 1, &end, 10);
      if (*end != ']' || !cJSON_IsArray(cur) || idx >= (unsigned long)cJSON_GetArraySize(cur))
        return NULL;
      next = cJSON_GetArrayItem(cur, (int)idx);
      p = end + 1;
    } else {
      size_t len = strcspn(p, ".[");
      if (len == 0 || !cJSON_IsObject(cur)) return NULL;
      for (cJSON *c = cur->child; c; c = c->next)
        if (c->string && strlen(c->string) == len && memcmp(c->string, p, len) == 0) next = c;
      p += len;
    }
    if (!next) return NULL;
    if (*p == '.') {
      p++;
      if (*p == '\0' || *p == '[' || *p == '.') return NULL;
    } else if (*p != '\0' && *p != '[') {
      return NULL;
    }
    *parent = cur;
    cur = next;
  }
  return cur;
}

/* "model.layers[0].units" -> its root ("model" or "job") and the rest */
static int path_split(const char *path, const char **rest) {
  if (strncmp(path, "model.", 6) == 0) {
    *rest = path + 6;
    return 0;
  }
  if (strncmp(path, "job.", 4) == 0) {
    *rest = path + 4;
    return 1;
  }
  return -1;
}

/* space["model.layers[0].units"], the field that names a parameter */
static void space_field(char *buf, size_t cap, const char *path) {
  if (snprintf(buf, cap, "space[\"%s\"]", path) >= (int)cap) buf[cap - 1] = '\0';
}

/* ---- parsing -------------------------------------------------------------- */

static int parse_bounds(const cJSON *arr, const char *field, double *lo, double *hi,
                        api_error *err) {
  if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 2 || !cJSON_IsNumber(arr->child) ||
      !cJSON_IsNumber(arr->child->next))
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be an array of two numbers [a, b]",
                    field);
  *lo = arr->child->valuedouble;
  *hi = arr->child->next->valuedouble;
  if (!isfinite(*lo) || !isfinite(*hi) || *lo > *hi)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s: bounds must be finite and ordered (a <= b)", field);
  return 0;
}

static int parse_param(const cJSON *item, search_param *p, api_error *err) {
  char field[PARSE_PATH_MAX];
  space_field(field, sizeof field, item->string);
  const char *rest;
  if (path_split(item->string, &rest) < 0)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s: a path starts with model. or job. (model.layers[0].units, "
                    "job.optimizer.lr)", field);
  /* syntax only: walking a throwaway tree would not tell, so check by hand */
  for (const char *c = rest; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '_' || *c == '.' || *c == '[' || *c == ']'))
      return api_fail(err, API_INVALID_ARGUMENT, field, "%s: a path holds names, dots and [i]",
                      field);
  if (strlen(item->string) >= sizeof p->path - 1)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s: the path is too long", field);
  if (!cJSON_IsObject(item) || !item->child || item->child->next)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s must be an object with one member: choice, uniform, loguniform or int",
                    field);
  const cJSON *d = item->child;
  int kind = -1;
  for (int i = 0; i < 4; i++)
    if (strcmp(d->string, dist_names[i]) == 0) kind = i;
  char dfield[PARSE_PATH_MAX];
  parse_json_path(dfield, sizeof dfield, field, d->string);
  if (kind < 0)
    return api_fail(err, API_INVALID_ARGUMENT, dfield,
                    "%s is not a distribution: choice, uniform, loguniform or int", dfield);
  snprintf(p->path, sizeof p->path, "%s", item->string);
  p->dist = (search_dist)kind;
  switch (p->dist) {
  case SEARCH_CHOICE: {
    int n = cJSON_IsArray(d) ? cJSON_GetArraySize(d) : 0;
    if (n < 1 || n > SEARCH_MAX_CHOICES)
      return api_fail(err, API_INVALID_ARGUMENT, dfield, "%s must be an array of 1..%d values",
                      dfield, SEARCH_MAX_CHOICES);
    p->choices = cJSON_Duplicate(d, 1);
    if (!p->choices) return api_fail(err, API_INTERNAL, NULL, "out of memory");
    return 0;
  }
  case SEARCH_UNIFORM:
    return parse_bounds(d, dfield, &p->lo, &p->hi, err);
  case SEARCH_LOGUNIFORM:
    if (parse_bounds(d, dfield, &p->lo, &p->hi, err) < 0 || p->lo <= 0)
      return api_fail(err, API_INVALID_ARGUMENT, dfield,
                      "%s: bounds must be positive and ordered (0 < a <= b)", dfield);
    return 0;
  case SEARCH_INT: {
    double lo, hi;
    if (parse_bounds(d, dfield, &lo, &hi, err) < 0) return -API_INVALID_ARGUMENT;
    if (lo != floor(lo) || hi != floor(hi) || fabs(lo) > 1e9 || fabs(hi) > 1e9)
      return api_fail(err, API_INVALID_ARGUMENT, dfield,
                      "%s: bounds must be integers within +-1e9", dfield);
    p->ilo = (int64_t)lo;
    p->ihi = (int64_t)hi;
    return 0;
  }
  }
  assert(0 && "unreachable");
  return -API_INTERNAL;
}

int search_space_parse(const cJSON *obj, search_space *s, api_error *err) {
  memset(s, 0, sizeof *s);
  if (!cJSON_IsObject(obj) || !obj->child)
    return api_fail(err, API_INVALID_ARGUMENT, "space",
                    "space must be an object mapping 1..%d paths to distributions",
                    SEARCH_MAX_PARAMS);
  for (const cJSON *item = obj->child; item; item = item->next) {
    if (s->n == SEARCH_MAX_PARAMS) {
      search_space_free(s);
      return api_fail(err, API_INVALID_ARGUMENT, "space", "space holds at most %d paths",
                      SEARCH_MAX_PARAMS);
    }
    int rc = parse_param(item, &s->params[s->n], err);
    s->n++; /* counted even on failure so search_space_free frees its choices */
    if (rc < 0) {
      search_space_free(s);
      return rc;
    }
  }
  return 0;
}

void search_space_free(search_space *s) {
  for (int i = 0; i < s->n; i++) cJSON_Delete(s->params[i].choices);
  memset(s, 0, sizeof *s);
}

/* ---- sampling and the grid ------------------------------------------------ */

/* uniform in [0, 1) with 53 random bits */
static double draw_unit(nn__rng *r) {
  uint64_t x = ((uint64_t)nn__rng_u32(r) << 21) ^ (nn__rng_u32(r) >> 11);
  return (double)(x & ((1ull << 53) - 1)) * 0x1.0p-53;
}

static cJSON *choice_value(const search_param *p, uint64_t i) {
  return cJSON_Duplicate(cJSON_GetArrayItem(p->choices, (int)i), 1);
}

cJSON *search_space_sample(const search_space *s, uint64_t seed, uint64_t k) {
  nn__rng r;
  nn__rng_seed(&r, seed, k);
  cJSON *out = cJSON_CreateObject();
  for (int i = 0; out && i < s->n; i++) {
    const search_param *p = &s->params[i];
    cJSON *v = NULL;
    switch (p->dist) {
    case SEARCH_CHOICE:
      v = choice_value(p, nn__rng_below(&r, (uint64_t)cJSON_GetArraySize(p->choices)));
      break;
    case SEARCH_UNIFORM:
      v = cJSON_CreateNumber(fmin(p->hi, p->lo + (p->hi - p->lo) * draw_unit(&r)));
      break;
    case SEARCH_LOGUNIFORM: {
      double a = log(p->lo), b = log(p->hi);
      v = cJSON_CreateNumber(fmin(p->hi, fmax(p->lo, exp(a + (b - a) * draw_unit(&r)))));
      break;
    }
    case SEARCH_INT:
      v = cJSON_CreateNumber(
          (double)(p->ilo + (int64_t)nn__rng_below(&r, (uint64_t)(p->ihi - p->ilo) + 1)));
      break;
    }
    if (!v || !cJSON_AddItemToObject(out, p->path, v)) {
      cJSON_Delete(v);
      cJSON_Delete(out);
      out = NULL;
    }
  }
  return out;
}

static int64_t param_count(const search_param *p) {
  if (p->dist == SEARCH_CHOICE) return cJSON_GetArraySize(p->choices);
  assert(p->dist == SEARCH_INT);
  return p->ihi - p->ilo + 1; /* bounds within +-1e9: no overflow */
}

int search_space_grid_size(const search_space *s, int64_t max, int64_t *count, api_error *err) {
  int64_t n = 1;
  for (int i = 0; i < s->n; i++) {
    const search_param *p = &s->params[i];
    if (p->dist == SEARCH_UNIFORM || p->dist == SEARCH_LOGUNIFORM) {
      char field[PARSE_PATH_MAX];
      space_field(field, sizeof field, p->path);
      return api_fail(err, API_INVALID_ARGUMENT, field,
                      "%s: a grid takes only choice and int; %s is continuous", field,
                      dist_names[p->dist]);
    }
    int64_t c = param_count(p);
    if (c > max / n)
      return api_fail(err, API_INVALID_ARGUMENT, "space",
                      "the grid has more than %lld points", (long long)max);
    n *= c;
  }
  *count = n;
  return 0;
}

cJSON *search_space_grid_point(const search_space *s, int64_t k) {
  cJSON *out = cJSON_CreateObject();
  cJSON *vals[SEARCH_MAX_PARAMS] = {0};
  for (int i = s->n - 1; out && i >= 0; i--) { /* the last parameter is the lowest digit */
    const search_param *p = &s->params[i];
    int64_t c = param_count(p);
    int64_t digit = k % c;
    k /= c;
    vals[i] = p->dist == SEARCH_CHOICE ? choice_value(p, (uint64_t)digit)
                                       : cJSON_CreateNumber((double)(p->ilo + digit));
    if (!vals[i]) goto fail;
  }
  for (int i = 0; out && i < s->n; i++) {
    if (!cJSON_AddItemToObject(out, s->params[i].path, vals[i])) goto fail;
    vals[i] = NULL;
  }
  return out;
fail:
  for (int i = 0; i < s->n; i++) cJSON_Delete(vals[i]);
  cJSON_Delete(out);
  return NULL;
}

/* ---- substitution ---------------------------------------------------------- */

/* err's field, as the parsers named it inside root, prefixed with root */
static int prefix_field(api_error *err, const char *root) {
  char field[sizeof err->field];
  parse_json_path(field, sizeof field, root, err->field);
  if (err->field[0] == '\0') snprintf(field, sizeof field, "%s", root);
  memcpy(err->field, field, sizeof field);
  return -(int)err->code;
}

static int validate(const cJSON *model, const cJSON *job, api_error *err) {
  if (model) {
    nn_spec spec;
    char name[PARSE_NAME_MAX + 1];
    if (parse_spec(model, &spec, name, err) < 0) return prefix_field(err, "model");
    parse_spec_free(&spec);
  }
  /* a search's job config leaves model and dataset to the search: fill both
   * in a copy so the parser checks everything else */
  cJSON *full = cJSON_Duplicate(job, 1);
  int rc = 0;
  if (!full) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  if ((!cJSON_HasObjectItem(full, "model") && !cJSON_AddNumberToObject(full, "model", 1)) ||
      (!cJSON_HasObjectItem(full, "dataset") && !cJSON_AddNumberToObject(full, "dataset", 1))) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
    goto done;
  }
  parse_job parsed;
  if (parse_job_config(full, &parsed, err) < 0) rc = prefix_field(err, "job");
done:
  cJSON_Delete(full);
  return rc;
}

int search_space_apply(const cJSON *model, const cJSON *job, const cJSON *params,
                       cJSON **model_out, cJSON **job_out, api_error *err) {
  int rc = 0;
  *model_out = NULL;
  *job_out = NULL;
  cJSON *m = model ? cJSON_Duplicate(model, 1) : NULL;
  cJSON *j = cJSON_Duplicate(job, 1);
  if ((model && !m) || !j) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
    goto fail;
  }
  for (const cJSON *v = params ? params->child : NULL; v; v = v->next) {
    const char *rest;
    int root = path_split(v->string, &rest);
    char field[PARSE_PATH_MAX];
    space_field(field, sizeof field, v->string);
    if (root == 0 && !m) {
      rc = api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s: a search from a stored model cannot vary model paths", field);
      goto fail;
    }
    cJSON *parent;
    cJSON *target = root < 0 ? NULL : path_find(root == 0 ? m : j, rest, &parent);
    if (!target) {
      rc = api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s does not exist in the base %s: write it there first", v->string,
                    root == 0 ? "model spec" : "job config");
      goto fail;
    }
    cJSON *value = cJSON_Duplicate(v, 1);
    cJSON_bool ok = value != NULL;
    if (ok && cJSON_IsArray(parent)) { /* an element has no name: drop the path copied with it */
      cJSON_free(value->string);
      value->string = NULL;
      ok = cJSON_ReplaceItemViaPointer(parent, target, value);
    } else if (ok) { /* renames value to the member it replaces */
      ok = cJSON_ReplaceItemInObjectCaseSensitive(parent, target->string, value);
    }
    if (!ok) {
      cJSON_Delete(value);
      rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
      goto fail;
    }
  }
  rc = validate(m, j, err);
  if (rc < 0) goto fail;
  *model_out = m;
  *job_out = j;
  return 0;
fail:
  cJSON_Delete(m);
  cJSON_Delete(j);
  return rc;
}
