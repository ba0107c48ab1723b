/* test_store_predictions.c — batch predictions in the store: a run's life
 * (queued, claimed, blocks in order, one end), cancel of a queued and of a
 * running run, the output blocks read back, recovery after a crash, and the
 * events each change logs with it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/store_predictions.h"
#include "tmp_db.h"

static tmp_db db;
static store *st;
static int64_t model;

static void setup(void) {
  tmp_db_make(&db, "predictions");
  cr_assert_eq(store_open(db.path, &st), STORE_OK);
  store_model m;
  cr_assert_eq(store_model_insert(st, "net", "{\"inputs\":2}", 9, &m), STORE_OK);
  model = m.id;
  store_model_clear(&m);
}

static void teardown(void) {
  store_close(st);
  tmp_db_remove(&db);
}

TestSuite(store_predictions, .init = setup, .fini = teardown);

static int64_t queue(int64_t rows) {
  store_prediction p = {.model_id = model, .version = 3, .dataset_id = 7, .rows = rows}, row;
  cr_assert_eq(store_prediction_insert(st, &p, &row), STORE_OK);
  cr_assert_eq(row.state, STORE_JOB_QUEUED);
  cr_assert_eq(row.rows, rows);
  cr_assert_eq(row.rows_done, 0);
  cr_assert_str_eq(row.started_at, "");
  int64_t id = row.id;
  store_prediction_clear(&row);
  return id;
}

/* The newest event's state and detail. */
static void last_event(store_job_state state, const char *detail) {
  store_event *list;
  size_t n;
  cr_assert_eq(store_events_after(st, 0, 0, 1000, &list, &n), STORE_OK);
  cr_assert_gt(n, 0);
  cr_assert_eq(list[n - 1].kind, STORE_EVENT_PREDICTION);
  cr_assert_eq(list[n - 1].state, state);
  cr_assert_str_eq(list[n - 1].detail, detail);
  store_event_list_free(list, n);
}

Test(store_predictions, a_run_stores_its_blocks_in_order_then_ends_once) {
  cr_assert_eq(store_prediction_insert(st, &(store_prediction){.model_id = model, .version = 1},
                                       NULL), STORE_EINVAL);
  int64_t id = queue(5);
  last_event(STORE_JOB_QUEUED, "{\"rows\":5,\"rows_done\":0}");
  store_prediction p;
  cr_assert_eq(store_prediction_claim(st, &p), STORE_OK);
  cr_assert_eq(p.id, id);
  cr_assert_eq(p.state, STORE_JOB_RUNNING);
  cr_assert_neq(p.started_at[0], '\0');
  store_prediction_clear(&p);
  cr_assert_eq(store_prediction_claim(st, &p), STORE_ENOTFOUND);
  last_event(STORE_JOB_RUNNING, "{\"rows\":5,\"rows_done\":0}");

  float a[] = {1, 2, 3, 4, 5, 6}, b[] = {7, 8, 9, 10};
  bool cancel = true;
  cr_assert_eq(store_prediction_block(st, id, 0, 3, 2, a, &cancel), STORE_OK);
  cr_assert(!cancel);
  last_event(STORE_JOB_RUNNING, "{\"rows\":5,\"rows_done\":3}");
  /* out of order, past the end, or of another run: refused, nothing stored */
  cr_assert_eq(store_prediction_block(st, id, 0, 2, 2, b, &cancel), STORE_ENOTFOUND);
  cr_assert_eq(store_prediction_block(st, id, 3, 3, 2, a, &cancel), STORE_ENOTFOUND);
  cr_assert_eq(store_prediction_block(st, id + 1, 0, 2, 2, b, &cancel), STORE_ENOTFOUND);
  cr_assert_eq(store_prediction_block(st, id, 3, 0, 2, b, &cancel), STORE_EINVAL);
  cr_assert_eq(store_prediction_block(st, id, 3, 2, 2, b, &cancel), STORE_OK);

  int64_t first, rows;
  int outputs;
  float *y;
  cr_assert_eq(store_prediction_block_read(st, id, 1, &first, &rows, &outputs, &y), STORE_OK);
  cr_assert_eq(first, 3);
  cr_assert_eq(rows, 2);
  cr_assert_eq(outputs, 2);
  cr_assert_arr_eq(y, b, sizeof b);
  free(y);
  cr_assert_eq(store_prediction_block_read(st, id, 0, &first, &rows, &outputs, &y), STORE_OK);
  cr_assert_eq(first, 0);
  cr_assert_arr_eq(y, a, sizeof a);
  free(y);
  cr_assert_eq(store_prediction_block_read(st, id, 4, &first, &rows, &outputs, &y),
               STORE_ENOTFOUND);
  cr_assert_null(y);

  cr_assert_eq(store_prediction_finish(st, id, STORE_JOB_RUNNING, NULL), STORE_EINVAL);
  cr_assert_eq(store_prediction_finish(st, id, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  cr_assert_eq(store_prediction_finish(st, id, STORE_JOB_FAILED, "x"), STORE_ENOTFOUND);
  last_event(STORE_JOB_SUCCEEDED, "{\"rows\":5,\"rows_done\":5}");
  cr_assert_eq(store_prediction_cancel(st, id, NULL), STORE_ECONFLICT);
  cr_assert_eq(store_prediction_cancel(st, id + 1, NULL), STORE_ENOTFOUND);
  cr_assert_eq(store_prediction_get(st, id, &p), STORE_OK);
  cr_assert_eq(p.state, STORE_JOB_SUCCEEDED);
  cr_assert_neq(p.finished_at[0], '\0');
  cr_assert_null(p.error);
  store_prediction_clear(&p);
  /* the output stays */
  cr_assert_eq(store_prediction_block_read(st, id, 0, &first, &rows, &outputs, &y), STORE_OK);
  free(y);
}

Test(store_predictions, cancel_ends_a_queued_run_and_flags_a_running_one) {
  int64_t running = queue(4), queued = queue(4);
  store_prediction p;
  cr_assert_eq(store_prediction_claim(st, &p), STORE_OK);
  cr_assert_eq(p.id, running);
  store_prediction_clear(&p);
  cr_assert_eq(store_prediction_cancel(st, queued, &p), STORE_OK);
  cr_assert_eq(p.state, STORE_JOB_CANCELLED);
  store_prediction_clear(&p);
  cr_assert_eq(store_prediction_claim(st, &p), STORE_ENOTFOUND);

  cr_assert_eq(store_prediction_cancel(st, running, &p), STORE_OK);
  cr_assert_eq(p.state, STORE_JOB_RUNNING);
  cr_assert(p.cancel_requested);
  store_prediction_clear(&p);
  float y[] = {1, 2};
  bool cancel = false;
  cr_assert_eq(store_prediction_block(st, running, 0, 2, 1, y, &cancel), STORE_OK);
  cr_assert(cancel);
  cr_assert_eq(store_prediction_finish(st, running, STORE_JOB_CANCELLED, NULL), STORE_OK);
  last_event(STORE_JOB_CANCELLED, "{\"rows\":4,\"rows_done\":2}");
  /* a cancelled run's output is deleted */
  int64_t first, rows;
  int outputs;
  float *out;
  cr_assert_eq(store_prediction_block_read(st, running, 0, &first, &rows, &outputs, &out),
               STORE_ENOTFOUND);
}

Test(store_predictions, recovery_queues_running_runs_to_go_on_after_their_blocks) {
  int64_t id = queue(4);
  store_prediction p;
  cr_assert_eq(store_prediction_claim(st, &p), STORE_OK);
  store_prediction_clear(&p);
  float y[] = {1, 2};
  bool cancel;
  cr_assert_eq(store_prediction_block(st, id, 0, 2, 1, y, &cancel), STORE_OK);
  int requeued = -1;
  cr_assert_eq(store_predictions_recover(st, &requeued), STORE_OK);
  cr_assert_eq(requeued, 1);
  last_event(STORE_JOB_QUEUED, "{\"rows\":4,\"rows_done\":2}");
  cr_assert_eq(store_prediction_claim(st, &p), STORE_OK);
  cr_assert_eq(p.rows_done, 2);
  store_prediction_clear(&p);
  cr_assert_eq(store_prediction_block(st, id, 2, 2, 1, y, &cancel), STORE_OK);
  cr_assert_eq(store_predictions_recover(st, &requeued), STORE_OK);
  cr_assert_eq(requeued, 1);
  cr_assert_eq(store_prediction_claim(st, &p), STORE_OK);
  cr_assert_eq(p.rows_done, 4);
  store_prediction_clear(&p);
  cr_assert_eq(store_prediction_finish(st, id, STORE_JOB_FAILED, "disk"), STORE_OK);
  cr_assert_eq(store_predictions_recover(st, &requeued), STORE_OK);
  cr_assert_eq(requeued, 0);
  cr_assert_eq(store_prediction_get(st, id, &p), STORE_OK);
  cr_assert_str_eq(p.error, "disk");
  store_prediction_clear(&p);
}

Test(store_predictions, a_run_goes_with_its_model) {
  int64_t id = queue(2);
  store_prediction *list;
  size_t n;
  cr_assert_eq(store_prediction_list(st, &list, &n), STORE_OK);
  cr_assert_eq(n, 1);
  store_prediction_list_free(list, n);
  cr_assert_eq(store_model_delete(st, model), STORE_OK);
  store_prediction p;
  cr_assert_eq(store_prediction_get(st, id, &p), STORE_ENOTFOUND);
}
