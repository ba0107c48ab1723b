/* test_reply.c — the reply helpers: a list answer, whole or a 500 (never a
 * shorter list), and a store failure answered as api_store_fail maps it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../server/reply.h"
#include "../../server/store.h"

static void expect_body(http_response *res, int status, const char *body) {
  cr_expect_eq(res->status, status);
  cr_assert_not_null(res->body);
  cr_expect_str_eq(res->body, body);
  free(res->body);
  res->body = NULL;
}

Test(reply, a_list_answers_every_item_in_order) {
  http_response res = {0};
  reply_list l;
  reply_list_start(&l, "models");
  for (int i = 1; i <= 3; i++) reply_list_add(&l, cJSON_CreateNumber(i));
  reply_list_end(&l, &res);
  expect_body(&res, 200, "{\"models\":[1,2,3]}");
}

Test(reply, an_empty_list_is_an_empty_array) {
  http_response res = {0};
  reply_list l;
  reply_list_start(&l, "jobs");
  reply_list_end(&l, &res);
  expect_body(&res, 200, "{\"jobs\":[]}");
}

/* A writer out of memory (NULL) fails the whole answer, also when items follow. */
Test(reply, an_item_that_could_not_be_written_answers_500_not_a_shorter_list) {
  http_response res = {0};
  reply_list l;
  reply_list_start(&l, "jobs");
  reply_list_add(&l, cJSON_CreateNumber(1));
  reply_list_add(&l, NULL);
  reply_list_add(&l, cJSON_CreateNumber(3)); /* freed, not leaked (ASan) */
  reply_list_end(&l, &res);
  cr_expect_eq(res.status, 500);
  cr_expect_null(res.body);
}

Test(reply, a_missing_row_is_404_naming_the_path_id) {
  http_response res = {0};
  reply_store_error(&res, STORE_ENOTFOUND, "job", 7);
  expect_body(&res, 404,
              "{\"error\":{\"code\":\"not_found\",\"message\":\"no job with id 7\",\"field\":\"id\"}}");
}

Test(reply, other_store_failures_answer_their_code_and_the_store_sentence) {
  http_response res = {0};
  char want[256];
  snprintf(want, sizeof want,
           "{\"error\":{\"code\":\"storage_full\",\"message\":\"database error: %s\",\"field\":\"\"}}",
           store_strerror(STORE_EFULL));
  reply_store_error(&res, STORE_EFULL, "job", 7);
  expect_body(&res, 507, want);
  snprintf(want, sizeof want,
           "{\"error\":{\"code\":\"unavailable\",\"message\":\"database error: %s\",\"field\":\"\"}}",
           store_strerror(STORE_EBUSY));
  reply_store_error(&res, STORE_EBUSY, NULL, 0);
  expect_body(&res, 503, want);
}
