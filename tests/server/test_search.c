/* test_search.c — hyperparameter search: the space's parser, each
 * distribution's draws, grid enumeration, dotted-path substitution and its
 * errors, and the ASHA promotion rule on hand-made tables. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "../../server/asha.h"
#include "../../server/search_space.h"

static cJSON *json(const char *s) {
  cJSON *v = NULL;
  api_error err = {0};
  cr_assert_eq(parse_json_body(s, strlen(s), &v, &err), 0, "%s: %s", s, err.message);
  return v;
}

static void space_of(const char *s, search_space *sp) {
  cJSON *v = json(s);
  api_error err = {0};
  cr_assert_eq(search_space_parse(v, sp, &err), 0, "%s: %s", s, err.message);
  cJSON_Delete(v);
}

/* the space s must be refused naming field, its message holding words */
static void refused(const char *s, const char *field, const char *words) {
  cJSON *v = json(s);
  search_space sp;
  api_error err = {0};
  cr_assert_eq(search_space_parse(v, &sp, &err), -API_INVALID_ARGUMENT, "%s accepted", s);
  cr_expect_str_eq(err.field, field, "%s", s);
  cr_expect(strstr(err.message, words) != NULL, "%s: %s", s, err.message);
  cJSON_Delete(v);
}

Test(search_space, refuses_bad_distributions) {
  refused("{}", "space", "1..16 paths");
  refused("[]", "space", "object");
  refused("{\"optimizer.lr\":{\"uniform\":[0,1]}}", "space[\"optimizer.lr\"]", "model. or job.");
  refused("{\"job.lr x\":{\"uniform\":[0,1]}}", "space[\"job.lr x\"]", "names, dots");
  refused("{\"job.optimizer.lr\":{\"loguniform\":[0,1]}}", "space[\"job.optimizer.lr\"].loguniform",
          "positive and ordered");
  refused("{\"job.optimizer.lr\":{\"loguniform\":[0.1,0.01]}}",
          "space[\"job.optimizer.lr\"].loguniform", "positive and ordered");
  refused("{\"job.optimizer.lr\":{\"uniform\":[2,1]}}", "space[\"job.optimizer.lr\"].uniform",
          "ordered");
  refused("{\"job.optimizer.lr\":{\"uniform\":[1]}}", "space[\"job.optimizer.lr\"].uniform",
          "two numbers");
  refused("{\"job.batch_size\":{\"int\":[1.5,4]}}", "space[\"job.batch_size\"].int", "integers");
  refused("{\"job.batch_size\":{\"choice\":[]}}", "space[\"job.batch_size\"].choice", "1..256");
  refused("{\"job.batch_size\":{\"normal\":[0,1]}}", "space[\"job.batch_size\"].normal",
          "not a distribution");
  refused("{\"job.batch_size\":{\"int\":[1,2],\"choice\":[1]}}", "space[\"job.batch_size\"]",
          "one member");
}

Test(search_space, draws_stay_in_bounds_and_depend_on_seed_and_k_only) {
  search_space sp;
  space_of("{\"job.a\":{\"uniform\":[-2,3]},\"job.b\":{\"loguniform\":[1e-4,1e-1]},"
           "\"job.c\":{\"int\":[2,5]},\"job.d\":{\"choice\":[\"x\",7,true]}}",
           &sp);
  int seen_int[4] = {0}, seen_choice[3] = {0};
  int low_decades[3] = {0}; /* loguniform: trials per decade of [1e-4, 1e-1] */
  enum { N = 3000 };
  for (int k = 0; k < N; k++) {
    cJSON *t = search_space_sample(&sp, 42, (uint64_t)k);
    cr_assert_not_null(t);
    double a = cJSON_GetObjectItem(t, "job.a")->valuedouble;
    double b = cJSON_GetObjectItem(t, "job.b")->valuedouble;
    double c = cJSON_GetObjectItem(t, "job.c")->valuedouble;
    cJSON *d = cJSON_GetObjectItem(t, "job.d");
    cr_assert(a >= -2 && a <= 3);
    cr_assert(b >= 1e-4 && b <= 1e-1);
    cr_assert(c == floor(c) && c >= 2 && c <= 5);
    seen_int[(int)c - 2]++;
    seen_choice[cJSON_IsString(d) ? 0 : cJSON_IsNumber(d) ? 1 : 2]++;
    low_decades[b < 1e-3 ? 0 : b < 1e-2 ? 1 : 2]++;
    /* the same (seed, k) gives the same trial; another seed another one */
    cJSON *again = search_space_sample(&sp, 42, (uint64_t)k);
    cJSON *other = search_space_sample(&sp, 43, (uint64_t)k);
    cr_assert(cJSON_Compare(t, again, 1));
    cr_assert(!cJSON_Compare(t, other, 1));
    cJSON_Delete(t);
    cJSON_Delete(again);
    cJSON_Delete(other);
  }
  /* both int bounds are drawn, each value about N/4 times */
  for (int i = 0; i < 4; i++) cr_expect(seen_int[i] > N / 4 - 150 && seen_int[i] < N / 4 + 150);
  for (int i = 0; i < 3; i++) cr_expect(seen_choice[i] > N / 3 - 150);
  /* log-uniform: each decade holds a third (a uniform draw would put 90% in
   * the last); chi-square with 2 degrees of freedom below 13.8 (p = 0.001) */
  double chi2 = 0;
  for (int i = 0; i < 3; i++) chi2 += pow(low_decades[i] - N / 3.0, 2) / (N / 3.0);
  cr_expect(chi2 < 13.8, "chi2 %g: %d %d %d", chi2, low_decades[0], low_decades[1],
            low_decades[2]);
  search_space_free(&sp);
}

Test(search_space, degenerate_ranges_give_their_one_value) {
  search_space sp;
  space_of("{\"job.a\":{\"uniform\":[0.5,0.5]},\"job.b\":{\"loguniform\":[0.01,0.01]},"
           "\"job.c\":{\"int\":[-3,-3]}}",
           &sp);
  cJSON *t = search_space_sample(&sp, 1, 9);
  cr_assert_eq(cJSON_GetObjectItem(t, "job.a")->valuedouble, 0.5);
  cr_assert_eq(cJSON_GetObjectItem(t, "job.b")->valuedouble, 0.01);
  cr_assert_eq(cJSON_GetObjectItem(t, "job.c")->valuedouble, -3);
  cJSON_Delete(t);
  search_space_free(&sp);
}

Test(search_space, grid_enumerates_last_parameter_fastest) {
  search_space sp;
  space_of("{\"model.layers[0].units\":{\"choice\":[4,8]},\"job.batch_size\":{\"int\":[1,3]}}",
           &sp);
  int64_t count = 0;
  api_error err = {0};
  cr_assert_eq(search_space_grid_size(&sp, SEARCH_MAX_TRIALS, &count, &err), 0);
  cr_assert_eq(count, 6);
  const int want[6][2] = {{4, 1}, {4, 2}, {4, 3}, {8, 1}, {8, 2}, {8, 3}};
  for (int k = 0; k < 6; k++) {
    cJSON *p = search_space_grid_point(&sp, k);
    cr_assert_eq(cJSON_GetObjectItem(p, "model.layers[0].units")->valueint, want[k][0]);
    cr_assert_eq(cJSON_GetObjectItem(p, "job.batch_size")->valueint, want[k][1]);
    cr_assert_str_eq(p->child->string, "model.layers[0].units"); /* the space's order */
    cJSON_Delete(p);
  }
  cr_assert_eq(search_space_grid_size(&sp, 5, &count, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "space");
  search_space_free(&sp);
}

Test(search_space, grid_refuses_continuous_parameters_naming_them) {
  search_space sp;
  space_of("{\"job.batch_size\":{\"int\":[1,3]},\"job.optimizer.lr\":{\"loguniform\":[0.1,1]}}",
           &sp);
  int64_t count = 0;
  api_error err = {0};
  cr_assert_eq(search_space_grid_size(&sp, SEARCH_MAX_TRIALS, &count, &err),
               -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "space[\"job.optimizer.lr\"]");
  cr_expect(strstr(err.message, "loguniform") != NULL, "%s", err.message);
  search_space_free(&sp);
}

Test(search_space, grid_bound_checks_the_product_without_overflow) {
  search_space sp;
  space_of("{\"job.a\":{\"int\":[0,999999999]},\"job.b\":{\"int\":[0,999999999]},"
           "\"job.c\":{\"int\":[0,999999999]}}",
           &sp);
  int64_t count = 0;
  api_error err = {0};
  cr_assert_eq(search_space_grid_size(&sp, SEARCH_MAX_TRIALS, &count, &err),
               -API_INVALID_ARGUMENT);
  search_space_free(&sp);
}

static const char *base_model =
    "{\"name\":\"n\",\"inputs\":2,\"layers\":[{\"type\":\"dense\",\"units\":4,"
    "\"activation\":\"tanh\"},{\"type\":\"dense\",\"units\":1,\"activation\":\"sigmoid\"}],"
    "\"loss\":\"mse\"}";
static const char *base_job =
    "{\"epochs\":9,\"batch_size\":4,\"optimizer\":{\"type\":\"adam\",\"lr\":0.01}}";

/* substitute params into the bases; returns the rc and fills err */
static int apply(const char *params, cJSON **m, cJSON **j, api_error *err) {
  cJSON *model = json(base_model), *job = json(base_job), *p = json(params);
  int rc = search_space_apply(model, job, p, m, j, err);
  cJSON_Delete(model);
  cJSON_Delete(job);
  cJSON_Delete(p);
  return rc;
}

Test(search_space, substitutes_into_copies_of_both_bases) {
  cJSON *m = NULL, *j = NULL;
  api_error err = {0};
  cr_assert_eq(apply("{\"model.layers[0].units\":16,\"job.optimizer.lr\":0.5,"
                     "\"model.layers[1].activation\":\"linear\",\"job.batch_size\":2}",
                     &m, &j, &err),
               0, "%s %s", err.field, err.message);
  cJSON *l0 = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "layers"), 0);
  cr_assert_eq(cJSON_GetObjectItem(l0, "units")->valueint, 16);
  cr_assert_null(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "layers"), 0)->string);
  cJSON *l1 = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "layers"), 1);
  cr_assert_str_eq(cJSON_GetObjectItem(l1, "activation")->valuestring, "linear");
  cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "optimizer"), "lr")->valuedouble, 0.5);
  cr_assert_eq(cJSON_GetObjectItem(j, "batch_size")->valueint, 2);
  cr_assert_eq(cJSON_GetArraySize(j), 3); /* nothing added: no model, dataset */
  char *text = cJSON_PrintUnformatted(j);
  cr_assert_null(strstr(text, "job."), "%s", text); /* members keep their own names */
  cJSON_free(text);
  cJSON_Delete(m);
  cJSON_Delete(j);
  /* a whole layer replaced through an index */
  cr_assert_eq(apply("{\"model.layers[0]\":{\"type\":\"dense\",\"units\":3}}", &m, &j, &err), 0,
               "%s", err.message);
  cJSON_Delete(m);
  cJSON_Delete(j);
}

static void apply_refused(const char *params, const char *field, const char *words) {
  cJSON *m = (cJSON *)1, *j = (cJSON *)1;
  api_error err = {0};
  cr_assert_eq(apply(params, &m, &j, &err), -API_INVALID_ARGUMENT, "%s accepted", params);
  cr_assert_null(m);
  cr_assert_null(j);
  cr_expect_str_eq(err.field, field, "%s", params);
  cr_expect(strstr(err.message, words) != NULL, "%s: %s", params, err.message);
}

Test(search_space, paths_that_do_not_exist_are_refused_by_name) {
  apply_refused("{\"job.optimizer.momentum\":0.9}", "space[\"job.optimizer.momentum\"]",
                "job.optimizer.momentum does not exist in the base job config");
  apply_refused("{\"model.layers[2].units\":3}", "space[\"model.layers[2].units\"]",
                "does not exist in the base model spec");
  apply_refused("{\"model.layers.units\":3}", "space[\"model.layers.units\"]", "does not exist");
  apply_refused("{\"model.layers[0]units\":3}", "space[\"model.layers[0]units\"]",
                "does not exist");
  apply_refused("{\"job.batch_size.x\":3}", "space[\"job.batch_size.x\"]", "does not exist");
  apply_refused("{\"job.optimizer.\":3}", "space[\"job.optimizer.\"]", "does not exist");
  apply_refused("{\"job.Epochs\":3}", "space[\"job.Epochs\"]", "does not exist");
}

Test(search_space, invalid_substituted_values_name_the_trial_field) {
  apply_refused("{\"model.layers[0].units\":0}", "model.layers[0].units", "units");
  apply_refused("{\"job.batch_size\":0}", "job.batch_size", "batch_size");
  apply_refused("{\"job.optimizer.lr\":\"fast\"}", "job.optimizer.lr", "lr");
}

Test(search_space, a_stored_model_takes_no_model_paths) {
  cJSON *job = json(base_job), *p = json("{\"model.layers[0].units\":8}");
  cJSON *m = NULL, *j = NULL;
  api_error err = {0};
  cr_assert_eq(search_space_apply(NULL, job, p, &m, &j, &err), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "space[\"model.layers[0].units\"]");
  cJSON_Delete(job);
  cJSON_Delete(p);
}

/* ---- ASHA ------------------------------------------------------------------ */

static const asha_config rf3 = {.reduction_factor = 3, .min_epochs = 1, .max_epochs = 9};

Test(asha, rungs_grow_by_the_factor_up_to_the_maximum) {
  int e[ASHA_MAX_RUNGS];
  cr_assert_eq(asha_rungs(&rf3, e), 3);
  cr_assert(e[0] == 1 && e[1] == 3 && e[2] == 9);
  asha_config c = {.reduction_factor = 3, .min_epochs = 3, .max_epochs = 20};
  cr_assert_eq(asha_rungs(&c, e), 3);
  cr_assert(e[0] == 3 && e[1] == 9 && e[2] == 20);
  c.max_epochs = 3;
  cr_assert_eq(asha_rungs(&c, e), 1);
  cr_assert_eq(e[0], 3);
  c = (asha_config){.reduction_factor = 2, .min_epochs = 1, .max_epochs = 2147483647};
  cr_assert_eq(asha_rungs(&c, e), 32); /* capped, the last one the maximum */
  cr_assert_eq(e[31], 2147483647);
}

#define DONE(t, r, m) {.trial = (t), .rung = (r), .state = ASHA_DONE, .metric = (m)}
#define FAILED(t, r) {.trial = (t), .rung = (r), .state = ASHA_FAILED}
#define RUNNING(t, r) {.trial = (t), .rung = (r), .state = ASHA_RUNNING}

Test(asha, the_top_third_of_completed_trials_is_promoted) {
  asha_row rows[] = {DONE(0, 0, 0.5), DONE(1, 0, 0.2), RUNNING(2, 0)};
  /* two completed: floor(2/3) = 0, nobody yet */
  cr_assert_eq(asha_promotable(&rf3, rows, 3, 1, 0), 0);
  int t, r;
  cr_assert_eq(asha_next(&rf3, rows, 3, &t, &r), 0);
  rows[2] = (asha_row)DONE(2, 0, 0.3);
  cr_assert_eq(asha_promotable(&rf3, rows, 3, 1, 0), 1);
  cr_assert_eq(asha_promotable(&rf3, rows, 3, 2, 0), 0);
  cr_assert_eq(asha_promotable(&rf3, rows, 3, 0, 0), 0);
  cr_assert_eq(asha_next(&rf3, rows, 3, &t, &r), 1);
  cr_assert(t == 1 && r == 0);
  /* maximizing turns the order around */
  asha_config max = rf3;
  max.maximize = 1;
  cr_assert_eq(asha_next(&max, rows, 3, &t, &r), 1);
  cr_assert(t == 0 && r == 0);
}

Test(asha, promoted_trials_are_not_promoted_twice_and_higher_rungs_go_first) {
  asha_row rows[] = {DONE(0, 0, 0.5), DONE(1, 0, 0.2), DONE(2, 0, 0.3), DONE(1, 1, 0.1),
                     DONE(3, 0, 0.9), DONE(4, 0, 0.8), DONE(5, 0, 0.25)};
  int t, r;
  /* rung 0: six completed, top two are 1 (promoted already) and 5 */
  cr_assert_eq(asha_next(&rf3, rows, 7, &t, &r), 1);
  cr_assert(t == 5 && r == 0);
  /* trial 1 is at the last promotable rung with one completion: floor(1/3) = 0 */
  cr_assert_eq(asha_promotable(&rf3, rows, 7, 1, 1), 0);
  /* with three done at rung 1, its best goes to rung 2 before anyone at rung 0 */
  asha_row more[] = {DONE(0, 0, 0.5), DONE(1, 0, 0.2), DONE(2, 0, 0.3), DONE(1, 1, 0.1),
                     DONE(3, 0, 0.9), DONE(4, 0, 0.8), DONE(5, 0, 0.25), DONE(5, 1, 0.4),
                     DONE(2, 1, 0.3), DONE(6, 0, 0.1), DONE(7, 0, 0.1), DONE(8, 0, 0.1)};
  cr_assert_eq(asha_next(&rf3, more, 12, &t, &r), 1);
  cr_assert(t == 1 && r == 1);
  /* the last rung never promotes */
  asha_row last[] = {DONE(0, 2, 0.1), DONE(1, 2, 0.2), DONE(2, 2, 0.3)};
  cr_assert_eq(asha_promotable(&rf3, last, 3, 0, 2), 0);
  cr_assert_eq(asha_next(&rf3, last, 3, &t, &r), 0);
}

Test(asha, ties_go_to_the_lower_trial_index_whatever_the_row_order) {
  asha_row rows[] = {DONE(4, 0, 0.5), DONE(2, 0, 0.5), DONE(3, 0, 0.5)};
  int t, r;
  cr_assert_eq(asha_next(&rf3, rows, 3, &t, &r), 1);
  cr_assert_eq(t, 2);
  cr_assert_eq(asha_promotable(&rf3, rows, 3, 2, 0), 1);
  cr_assert_eq(asha_promotable(&rf3, rows, 3, 3, 0), 0);
  cr_assert_eq(asha_promotable(&rf3, rows, 3, 4, 0), 0);
}

Test(asha, failed_trials_count_but_are_never_promoted) {
  /* three failed, three done: floor(6/3) = 2 promoted, both done ones */
  asha_row rows[] = {FAILED(0, 0), FAILED(1, 0), FAILED(2, 0),
                     DONE(3, 0, 0.7), DONE(4, 0, 0.6), DONE(5, 0, 0.9)};
  cr_assert_eq(asha_promotable(&rf3, rows, 6, 0, 0), 0);
  cr_assert_eq(asha_promotable(&rf3, rows, 6, 4, 0), 1);
  cr_assert_eq(asha_promotable(&rf3, rows, 6, 3, 0), 1);
  cr_assert_eq(asha_promotable(&rf3, rows, 6, 5, 0), 0);
  /* all failed: nobody */
  asha_row dead[] = {FAILED(0, 0), FAILED(1, 0), FAILED(2, 0)};
  int t, r;
  cr_assert_eq(asha_next(&rf3, dead, 3, &t, &r), 0);
  cr_assert_eq(asha_promotable(&rf3, dead, 3, 0, 0), 0);
}
