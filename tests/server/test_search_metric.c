/* test_search_metric.c — a search's metric: the names it takes, each one's
 * direction and task, the mode a request may give with it, and the
 * validation_dataset an evaluation's metric needs (search_config_parse
 * without a store: the request alone), and a rung measured from a stored
 * evaluation (search_metric_measure on a real store). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../server/search_config.h"
#include "../../server/search_metric.h"
#include "tmp_db.h"

/* A search request around metric and mode (NULL: left out) and a job with
 * a validation_dataset or a validation_split. */
static int parse(const char *metric, const char *mode, int validation_dataset,
                 search_config *c, api_error *err) {
  char text[1024], extra[160] = "";
  int n = 0;
  if (metric) n += snprintf(extra + n, sizeof extra - (size_t)n, ", \"metric\": \"%s\"", metric);
  if (mode) snprintf(extra + n, sizeof extra - (size_t)n, ", \"mode\": \"%s\"", mode);
  snprintf(text, sizeof text,
           "{\"model\": {\"name\": \"m\", \"inputs\": 2, \"loss\": \"cross_entropy\", "
           "\"layers\": [{\"type\": \"dense\", \"units\": 3, \"activation\": \"softmax\"}]}, "
           "\"dataset\": 1, \"job\": {\"epochs\": 3, %s}, "
           "\"space\": {\"job.optimizer.lr\": {\"uniform\": [0.01, 0.1]}}%s}",
           validation_dataset ? "\"validation_dataset\": 2" : "\"validation_split\": 0.2", extra);
  cJSON *root = cJSON_Parse(text);
  cr_assert_not_null(root, "%s", text);
  int rc = search_config_parse(NULL, 0, root, c, err);
  cJSON_Delete(root);
  return rc;
}

static void refused(const char *metric, const char *mode, int validation_dataset,
                    const char *field, const char *words) {
  search_config c;
  api_error err = {0};
  cr_assert_eq(parse(metric, mode, validation_dataset, &c, &err), -API_INVALID_ARGUMENT,
               "%s %s accepted", metric, mode ? mode : "");
  cr_expect_str_eq(err.field, field, "%s: %s", metric, err.message);
  cr_expect(strstr(err.message, words) != NULL, "%s: %s", metric, err.message);
}

Test(search_metric, each_metric_has_its_natural_direction_and_task) {
  static const struct {
    const char *name;
    int maximize, task, evaluated;
  } want[] = {
      {"val_loss", 0, SEARCH_METRIC_ANY_TASK, 0},
      {"val_accuracy", 1, STORE_TASK_CLASSIFICATION, 0},
      {"evaluation.accuracy", 1, STORE_TASK_CLASSIFICATION, 1},
      {"evaluation.balanced_accuracy", 1, STORE_TASK_CLASSIFICATION, 1},
      {"evaluation.f1_macro", 1, STORE_TASK_CLASSIFICATION, 1},
      {"evaluation.f1_weighted", 1, STORE_TASK_CLASSIFICATION, 1},
      {"evaluation.roc_auc", 1, STORE_TASK_CLASSIFICATION, 1},
      {"evaluation.average_precision", 1, STORE_TASK_CLASSIFICATION, 1},
      {"evaluation.log_loss", 0, STORE_TASK_CLASSIFICATION, 1},
      {"evaluation.r2", 1, STORE_TASK_REGRESSION, 1},
      {"evaluation.mse", 0, STORE_TASK_REGRESSION, 1},
      {"evaluation.rmse", 0, STORE_TASK_REGRESSION, 1},
      {"evaluation.mae", 0, STORE_TASK_REGRESSION, 1},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const search_metric *m = search_metric_find(want[i].name);
    cr_assert_not_null(m, "%s", want[i].name);
    cr_expect_str_eq(m->name, want[i].name);
    cr_expect_eq(m->maximize, want[i].maximize, "%s", want[i].name);
    cr_expect_eq(m->task, want[i].task, "%s", want[i].name);
    cr_expect_eq(search_metric_evaluated(m), want[i].evaluated, "%s", want[i].name);
    /* the message of an unknown name lists it */
    const char *bare = strncmp(m->name, "evaluation.", 11) == 0 ? m->name + 11 : m->name;
    cr_expect(strstr(search_metric_names(), bare) != NULL, "%s", m->name);
  }
  cr_expect_null(search_metric_find("evaluation."));
  cr_expect_null(search_metric_find("balanced_accuracy")); /* an evaluation's, prefixed */
  cr_expect_null(search_metric_find("evaluation.macro_avg"));
  cr_expect_null(search_metric_find("Val_loss"));
}

Test(search_metric, a_job_metric_reads_the_jobs_number_an_evaluation_none) {
  store_job j = {.val_loss = 0.25, .val_accuracy = 0.75};
  cr_expect_eq(search_metric_of_job(search_metric_find("val_loss"), &j), 0.25);
  cr_expect_eq(search_metric_of_job(search_metric_find("val_accuracy"), &j), 0.75);
  cr_expect(isnan(search_metric_of_job(search_metric_find("evaluation.accuracy"), &j)));
}

Test(search_metric, the_mode_defaults_to_the_metrics_and_is_written_out) {
  static const struct {
    const char *metric, *mode;
    int validation_dataset;
  } cases[] = {
      {NULL, "min", 0},
      {"val_accuracy", "max", 0},
      {"evaluation.balanced_accuracy", "max", 1},
      {"evaluation.log_loss", "min", 1},
      {"evaluation.r2", "max", 1},
      {"evaluation.rmse", "min", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (int given = 0; given < 2; given++) { /* left out, then given as the default */
      search_config c;
      api_error err = {0};
      cr_assert_eq(parse(cases[i].metric, given ? cases[i].mode : NULL,
                         cases[i].validation_dataset, &c, &err), 0, "%s: %s",
                   cases[i].metric, err.message);
      cr_expect_eq(c.asha.maximize, strcmp(cases[i].mode, "max") == 0);
      cr_expect_eq(c.validation_dataset, cases[i].validation_dataset ? 2 : 0);
      cJSON *o = search_config_to_json(&c);
      cr_assert_not_null(o);
      cr_expect_str_eq(cJSON_GetObjectItem(o, "metric")->valuestring,
                       cases[i].metric ? cases[i].metric : "val_loss");
      cr_expect_str_eq(cJSON_GetObjectItem(o, "mode")->valuestring, cases[i].mode);
      /* the stored form parses back to the same metric */
      search_config again;
      cr_assert_eq(search_config_parse(NULL, 0, o, &again, &err), 0, "%s", err.message);
      cr_expect_eq(again.metric, c.metric);
      cr_expect_eq(again.asha.maximize, c.asha.maximize);
      search_config_clear(&again);
      cJSON_Delete(o);
      search_config_clear(&c);
    }
  }
}

Test(search_metric, unknown_metrics_and_modes_against_the_metric_are_refused) {
  refused("evaluation.nope", NULL, 1, "metric", "evaluation.NAME");
  refused("accuracy", NULL, 1, "metric", "val_loss, val_accuracy");
  refused("", NULL, 1, "metric", "characters");
  refused("val_loss", "max", 0, "metric", "val_loss is minimized: mode must be min");
  refused("val_accuracy", "min", 0, "metric", "mode must be max");
  refused("evaluation.balanced_accuracy", "min", 1, "metric", "maximized: mode must be max");
  refused("evaluation.roc_auc", "min", 1, "metric", "mode must be max");
  refused("evaluation.log_loss", "max", 1, "metric", "minimized: mode must be min");
  refused("evaluation.rmse", "max", 1, "metric", "mode must be min");
  refused("evaluation.r2", "min", 1, "metric", "mode must be max");
  refused("val_loss", "sideways", 0, "mode", "min, max");
}

Test(search_metric, an_evaluation_metric_needs_a_validation_dataset) {
  refused("evaluation.balanced_accuracy", NULL, 0, "job.validation_dataset", "required");
  refused("evaluation.r2", "max", 0, "job.validation_dataset", "required");
  search_config c;
  api_error err = {0};
  cr_assert_eq(parse("val_loss", NULL, 1, &c, &err), 0, "%s", err.message); /* val_* need none */
  search_config_clear(&c);
}

/* A rung's metric is read from the stored evaluation of its job's weights
 * version on the validation dataset when there is one — after a crash
 * between the evaluation and the rung row, nothing is evaluated twice. The
 * weights here are not a checkpoint: evaluating them could only fail. */
Test(search_metric, a_stored_evaluation_of_the_version_is_read_not_made_again) {
  tmp_db db;
  tmp_db_make(&db, "search-metric");
  store *st = NULL;
  cr_assert_eq(store_open(db.path, &st), STORE_OK);
  static const uint8_t junk[] = "not a checkpoint";
  store_model m;
  /* an imported version: published by no job (job 0) */
  cr_assert_eq(store_model_import(st, "m", "{}", 1, 3, junk, sizeof junk, NULL, NULL, 0, &m), STORE_OK);
  store_evaluation e = {.model_id = m.id, .version = 3, .dataset_id = 7,
                        .task = STORE_TASK_CLASSIFICATION, .rows = 4, .summary = "{}",
                        .result = "{\"balanced_accuracy\": 0.625, \"macro_avg\": {\"f1\": 0.5},"
                                  " \"roc_auc\": null}"};
  cr_assert_eq(store_evaluation_insert(st, &e, NULL), STORE_OK);
  double v = 0;
  api_error err = {0};
  cr_expect_eq(search_metric_measure(st, search_metric_find("evaluation.balanced_accuracy"), 7,
                                     m.id, 0, &v, &err), 0, "%s", err.message);
  cr_expect_eq(v, 0.625);
  cr_expect_eq(search_metric_measure(st, search_metric_find("evaluation.f1_macro"), 7, m.id, 0,
                                     &v, &err), 0, "%s", err.message);
  cr_expect_eq(v, 0.5);
  /* undefined in the evaluation: NAN, which fails the rung */
  cr_expect_eq(search_metric_measure(st, search_metric_find("evaluation.roc_auc"), 7, m.id, 0,
                                     &v, &err), 0, "%s", err.message);
  cr_expect(isnan(v));
  /* absent from it: refused, not read as a number */
  cr_expect_eq(search_metric_measure(st, search_metric_find("evaluation.r2"), 7, m.id, 0, &v,
                                     &err), -API_UNPROCESSABLE);
  /* another dataset's evaluation is not this one: the weights are evaluated,
   * and these cannot be */
  cr_expect_neq(search_metric_measure(st, search_metric_find("evaluation.balanced_accuracy"), 8,
                                      m.id, 0, &v, &err), 0);
  cr_expect(isnan(v));
  /* a job that published no version of the model, a model that is not */
  cr_expect_eq(search_metric_measure(st, search_metric_find("evaluation.balanced_accuracy"), 7,
                                     m.id, 99, &v, &err), -API_CONFLICT);
  cr_expect_eq(search_metric_measure(st, search_metric_find("evaluation.balanced_accuracy"), 7,
                                     m.id + 1, 0, &v, &err), -API_NOT_FOUND);
  store_evaluation *list = NULL;
  size_t n = 0;
  cr_assert_eq(store_evaluation_list(st, m.id, &list, &n), STORE_OK);
  cr_expect_eq(n, 1, "no evaluation was added");
  store_evaluation_list_free(list, n);
  store_model_clear(&m);
  store_close(st);
  tmp_db_remove(&db);
}
