/* test_json_eval.c — evaluations as JSON: undefined numbers are null with a
 * note, never NaN; class labels fall back to indices; stored text is
 * embedded as it is and refused when it no longer parses. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/json_eval.h"

static char *print(cJSON *o) {
  cr_assert_not_null(o);
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  cr_assert_not_null(text);
  return text;
}

Test(json_eval, one_class_only_is_null_with_a_note_and_no_nan) {
  const float s[] = {0.2f, 0.7f, 0.4f};
  const int32_t y[] = {1, 1, 1};
  nn_eval_class e;
  cr_assert_eq(nn_eval_classification(s, 3, 1, y, 2, &e, NULL), NN_OK);
  char *text = print(json_eval_classification(&e, "[\"no\",\"yes\"]"));
  nn_eval_class_clear(&e);
  cr_expect(strstr(text, "\"roc_auc\":null,\"roc_auc_note\":\"the targets hold one class") !=
                NULL, "%s", text);
  cr_expect(strstr(text, "\"labels\":[\"no\",\"yes\"]") != NULL, "%s", text);
  cr_expect(strstr(text, "\"fpr\":[]") != NULL, "%s", text);
  cr_expect_null(strstr(text, "nan"), "%s", text);
  cr_expect_null(strstr(text, "NaN"), "%s", text);
  free(text);
}

Test(json_eval, labels_are_indices_without_fitting_names) {
  const float s[] = {0.2f, 0.7f};
  const int32_t y[] = {0, 1};
  nn_eval_class e;
  cr_assert_eq(nn_eval_classification(s, 2, 1, y, 2, &e, NULL), NN_OK);
  const char *names[] = {NULL, "[\"a\"]", "[1,2]", "not json"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char *text = print(json_eval_classification(&e, names[i]));
    cr_expect(strstr(text, "\"labels\":[0,1]") != NULL, "%s", text);
    free(text);
  }
  nn_eval_class_clear(&e);
}

Test(json_eval, one_row_leaves_r2_null_and_samples_floats_exactly) {
  const float p[] = {0.1f}, t[] = {0.3f};
  nn_eval_regress e;
  size_t rows[1];
  cr_assert_eq(nn_eval_regression(p, t, 1, 1, &e, NULL), NN_OK);
  cr_assert_eq(nn_eval_sample_rows(1, 1, rows), 1);
  char *text = print(json_eval_regression(&e, p, t, rows, 1));
  nn_eval_regress_clear(&e);
  cr_expect(strstr(text, "\"r2\":null") != NULL, "%s", text);
  cr_expect(strstr(text, "\"r2_note\":\"R2 is not defined for fewer than 2 rows\"") != NULL,
            "%s", text);
  cr_expect(strstr(text, "\"sample\":{\"rows\":[0],\"actual\":[[0.3]],\"predicted\":[[0.1]]}") !=
                NULL, "%s", text);
  free(text);
}

Test(json_eval, summary_and_resource) {
  cJSON *m = cJSON_Parse("{\"rmse\":1.5,\"mae\":1,\"r2\":null,\"mse\":2.25}");
  char *summary = print(json_eval_summary(STORE_TASK_REGRESSION, m));
  cr_expect_str_eq(summary, "{\"rmse\":1.5,\"mae\":1,\"r2\":null}");
  cr_expect_null(json_eval_summary(STORE_TASK_CLASSIFICATION, m)); /* not its keys */
  cJSON_Delete(m);
  store_evaluation e = {.id = 4, .model_id = 2, .version = 7, .dataset_id = 9,
                        .task = STORE_TASK_REGRESSION, .rows = 10, .summary = summary,
                        .result = "{\"mse\":2.25}", .created_at = "2026-12-07T18:00:00Z"};
  char *whole = print(json_eval_evaluation(&e, true));
  cr_expect_str_eq(whole, "{\"id\":4,\"model\":2,\"version\":7,\"dataset\":9,\"job\":null,"
                          "\"task\":\"regression\",\"rows\":10,"
                          "\"created_at\":\"2026-12-07T18:00:00Z\",\"metrics\":{\"mse\":2.25}}");
  char *listed = print(json_eval_evaluation(&e, false));
  cr_expect(strstr(listed, "\"summary\":{\"rmse\":1.5,\"mae\":1,\"r2\":null}}") != NULL, "%s",
            listed);
  e.job_id = 12; /* a job's test_dataset */
  char *of_job = print(json_eval_evaluation(&e, false));
  cr_expect(strstr(of_job, "\"dataset\":9,\"job\":12,") != NULL, "%s", of_job);
  free(of_job);
  e.result = "{\"mse\":"; /* damaged */
  cr_expect_null(json_eval_evaluation(&e, true));
  free(whole);
  free(listed);
  free(summary);
}
