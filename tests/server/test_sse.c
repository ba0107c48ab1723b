/* test_sse.c — text/event-stream framing and draining the buffer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/sse.h"

/* Take everything pending, in pieces of `step` bytes, as a string. */
static char *drain(sse_buffer *b, size_t step) {
  size_t n = sse_pending(b), got = 0;
  char *out = calloc(n + 1, 1);
  cr_assert_not_null(out);
  while (sse_pending(b) > 0) {
    size_t k = sse_take(b, out + got, step);
    cr_assert(k > 0 && k <= step);
    got += k;
  }
  cr_assert_eq(got, n);
  return out;
}

static void expect_drained(sse_buffer *b, const char *want) {
  char *got = drain(b, 4096);
  cr_expect_str_eq(got, want);
  free(got);
}

Test(sse, event_is_id_type_data_and_a_blank_line) {
  sse_buffer b = {0};
  cr_assert_eq(sse_event(&b, 42, "epoch", "{\"job\":1,\"epoch\":3}"), 0);
  expect_drained(&b, "id: 42\nevent: epoch\ndata: {\"job\":1,\"epoch\":3}\n\n");
  cr_expect_eq(sse_pending(&b), 0);
  sse_buffer_free(&b);
}

Test(sse, every_line_of_data_gets_its_own_data_field) {
  sse_buffer b = {0};
  cr_assert_eq(sse_event(&b, 1, "state", "a\nb\r\nc\rd"), 0);
  expect_drained(&b, "id: 1\nevent: state\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
  cr_assert_eq(sse_event(&b, 2, "state", ""), 0);
  expect_drained(&b, "id: 2\nevent: state\ndata: \n\n");
  cr_assert_eq(sse_event(&b, 3, "state", "x\n"), 0); /* a trailing break: an empty last line */
  expect_drained(&b, "id: 3\nevent: state\ndata: x\ndata: \n\n");
  sse_buffer_free(&b);
}

Test(sse, event_types_are_one_short_word) {
  sse_buffer b = {0};
  cr_expect_eq(sse_event(&b, 1, "ep\noch", "{}"), -1);
  cr_expect_eq(sse_event(&b, 1, "ep\roch", "{}"), -1);
  char longer[128];
  memset(longer, 'x', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  cr_expect_eq(sse_event(&b, 1, longer, "{}"), -1);
  cr_expect_eq(sse_pending(&b), 0, "a refused event appends nothing");
  sse_buffer_free(&b);
}

Test(sse, comments_are_one_line) {
  sse_buffer b = {0};
  cr_assert_eq(sse_comment(&b, "keepalive"), 0);
  cr_assert_eq(sse_comment(&b, "cut\nhere"), 0);
  expect_drained(&b, ": keepalive\n\n: cut\n\n");
  sse_buffer_free(&b);
}

Test(sse, taking_in_small_pieces_keeps_order_across_appends) {
  sse_buffer b = {0};
  char want[8192] = "";
  for (int i = 1; i <= 60; i++) {
    char data[64], framed[128];
    snprintf(data, sizeof data, "{\"n\":%d}", i);
    snprintf(framed, sizeof framed, "id: %d\nevent: epoch\ndata: %s\n\n", i, data);
    strcat(want, framed);
    cr_assert_eq(sse_event(&b, i, "epoch", data), 0);
  }
  char *got = drain(&b, 7);
  cr_expect_str_eq(got, want);
  free(got);
  /* emptied, the buffer starts over and keeps its memory */
  cr_expect_neq(b.cap, 0);
  cr_assert_eq(sse_comment(&b, "k"), 0);
  char piece[3];
  cr_expect_eq(sse_take(&b, piece, 3), 3);
  cr_expect_eq(memcmp(piece, ": k", 3), 0);
  cr_expect_eq(sse_pending(&b), 2);
  sse_buffer_free(&b);
  cr_expect_eq(sse_pending(&b), 0);
  cr_expect_null(b.data);
}

Test(sse, a_buffer_refuses_to_grow_past_its_limit) {
  sse_buffer b = {0};
  size_t len = SSE_BUFFER_MAX / 2;
  char *data = malloc(len + 1);
  cr_assert_not_null(data);
  memset(data, 'x', len);
  data[len] = '\0';
  cr_assert_eq(sse_event(&b, 1, "epoch", data), 0);
  size_t before = sse_pending(&b);
  cr_expect_eq(sse_event(&b, 2, "epoch", data), -1);
  cr_expect_eq(sse_pending(&b), before, "nothing of the refused event is kept");
  free(data);
  sse_buffer_free(&b);
}
