/* test_json_out.c — resources as JSON: stored JSON text is embedded exactly. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/json_out.h"

static store_model model_with_spec(char *spec) {
  store_model m = {.id = 3, .name = "m", .spec = spec, .parameters = 2};
  return m;
}

/* Printing a parsed copy of the stored spec would round this seed to
 * 9.00719925474099e+15 (see parse_spec.seeds_of_sixteen_digits_print_exactly). */
Test(json_out, stored_spec_is_embedded_digit_for_digit) {
  store_model m = model_with_spec("{\"name\":\"m\",\"seed\":9007199254740991,\"rate\":0.1}");
  cJSON *o = json_out_model(&m);
  cr_assert_not_null(o);
  char *text = cJSON_PrintUnformatted(o);
  cr_assert(strstr(text, "\"spec\":{\"name\":\"m\",\"seed\":9007199254740991,\"rate\":0.1},") !=
                NULL,
            "%s", text);
  cJSON *back = cJSON_Parse(text);
  cr_assert_not_null(back, "the answer is JSON: %s", text);
  cJSON_Delete(back);
  free(text);
  cJSON_Delete(o);
}

Test(json_out, stored_text_that_is_not_one_json_value_is_refused) {
  char *bad[] = {"{\"seed\":", "{} {}", "{}x", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    store_model m = model_with_spec(bad[i]);
    cr_expect_null(json_out_model(&m), "%s was embedded", bad[i]);
  }
}

/* A list's summary carries class_count, not the names; a count of -1 (the
 * store found the names damaged) makes it a damaged row, as damaged names
 * do in the full answer. */
Test(json_out, summaries_carry_the_class_count_and_tell_damage) {
  store_dataset d = {.id = 1, .name = "d", .rows = 2, .features = 1, .outputs = 2,
                     .task = STORE_TASK_CLASSIFICATION, .n_classes = 2,
                     .created_at = "2026-01-01T00:00:00Z"};
  cJSON *o = json_out_dataset_summary(&d);
  cr_assert_not_null(o);
  cr_assert_eq(cJSON_GetObjectItem(o, "class_count")->valuedouble, 2);
  cr_assert_null(cJSON_GetObjectItem(o, "classes"));
  cJSON_Delete(o);
  cr_assert_not(json_out_dataset_damaged(&d));
  d.n_classes = -1;
  cr_assert_null(json_out_dataset_summary(&d));
  cr_assert(json_out_dataset_damaged(&d));

  store_model m = model_with_spec("{}");
  cr_assert_not(json_out_model_damaged(&m));
  o = json_out_model_summary(&m);
  cr_assert_not_null(o);
  cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "class_count")), "not trained on labels");
  cJSON_Delete(o);
  m.n_classes = -1;
  cr_assert_null(json_out_model_summary(&m));
  cr_assert(json_out_model_damaged(&m));
}

/* A search event: its search and type first, then the stored detail's
 * members; a detail that is not a JSON object makes no event. */
Test(json_out, search_events_are_their_search_type_and_detail) {
  store_event e = {.id = 9, .kind = STORE_EVENT_SEARCH, .search_id = 4,
                   .type = STORE_SEARCH_TRIAL_PAUSED,
                   .detail = "{\"trial\":2,\"rung\":1,\"job\":7,\"metric\":0.25}"};
  cJSON *o = json_out_event(&e);
  cr_assert_not_null(o);
  char *text = cJSON_PrintUnformatted(o);
  cr_expect_str_eq(text,
                   "{\"search\":4,\"type\":\"trial_paused\",\"trial\":2,\"rung\":1,\"job\":7,"
                   "\"metric\":0.25}");
  free(text);
  cJSON_Delete(o);
  char *bad[] = {"[1]", "3", "{", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    e.detail = bad[i];
    cr_expect_null(json_out_event(&e), "%s", bad[i]);
  }
  e.detail = NULL;
  cr_expect_null(json_out_event(&e));
}
