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
