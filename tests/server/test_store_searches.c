/* test_store_searches.c — searches in the store: a search's life (insert,
 * finish once), its trials in index order, its rungs replaced in place, and
 * the events each change logs with it. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "../../server/store_searches.h"
#include "tmp_db.h"

static tmp_db db;
static store *st;

static void setup(void) {
  tmp_db_make(&db, "searches");
  cr_assert_eq(store_open(db.path, &st), STORE_OK);
}

static void teardown(void) {
  store_close(st);
  tmp_db_remove(&db);
}

TestSuite(store_searches, .init = setup, .fini = teardown);

Test(store_searches, a_search_runs_then_ends_once) {
  store_search s;
  cr_assert_eq(store_search_insert(st, "{\"method\":\"grid\"}", &s), STORE_OK);
  cr_assert_eq(s.state, STORE_SEARCH_RUNNING);
  cr_assert_str_eq(s.config, "{\"method\":\"grid\"}");
  cr_assert_str_eq(s.finished_at, "");
  int64_t id = s.id;
  store_search_clear(&s);
  cr_assert_eq(store_search_insert(st, NULL, NULL), STORE_EINVAL);
  cr_assert_eq(store_search_finish(st, id, STORE_SEARCH_RUNNING, NULL, 0, NULL), STORE_EINVAL);
  cr_assert_eq(store_search_finish(st, id, STORE_SEARCH_CANCELLED, NULL, 0, NULL), STORE_OK);
  cr_assert_eq(store_search_finish(st, id, STORE_SEARCH_SUCCEEDED, NULL, 0, NULL), STORE_ECONFLICT);
  cr_assert_eq(store_search_finish(st, id + 1, STORE_SEARCH_SUCCEEDED, NULL, 0, NULL), STORE_ENOTFOUND);
  cr_assert_eq(store_search_get(st, id, &s), STORE_OK);
  cr_assert_eq(s.state, STORE_SEARCH_CANCELLED); /* the first end stays */
  cr_assert_neq(s.finished_at[0], '\0');
  store_search_clear(&s);
  store_search *list;
  size_t n;
  cr_assert_eq(store_search_insert(st, "{}", NULL), STORE_OK);
  cr_assert_eq(store_search_list(st, &list, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert(list[0].id == id && list[1].id > id);
  store_search_list_free(list, n);
  cr_assert_eq(store_search_get(st, 99, &s), STORE_ENOTFOUND);
  /* to drive: the running one, and a cancelled one while a rung runs */
  cr_assert_eq(store_search_list_active(st, &list, &n), STORE_OK);
  cr_assert(n == 1 && list[0].id > id);
  store_search_list_free(list, n);
  store_search_rung r = {.trial = 0, .rung = 0, .job_id = 1, .state = STORE_RUNG_RUNNING};
  cr_assert_eq(store_search_rung_put(st, id, &r, STORE_SEARCH_EVENT_COUNT), STORE_OK);
  cr_assert_eq(store_search_list_active(st, &list, &n), STORE_OK);
  cr_assert(n == 2 && list[0].id == id);
  store_search_list_free(list, n);
}

Test(store_searches, trials_and_rungs_come_back_in_order) {
  store_search s;
  cr_assert_eq(store_search_insert(st, "{}", &s), STORE_OK);
  store_search_trial t1 = {.trial = 1, .params = "{\"job.batch_size\":2}", .model_id = 8};
  store_search_trial t0 = {.trial = 0, .params = "{\"job.batch_size\":1}", .model_id = 7};
  cr_assert_eq(store_search_trial_insert(st, s.id, &t1), STORE_OK);
  cr_assert_eq(store_search_trial_insert(st, s.id, &t0), STORE_OK);
  cr_assert_neq(store_search_trial_insert(st, s.id, &t0), STORE_OK); /* one row per index */
  store_search_trial *trials;
  size_t n;
  cr_assert_eq(store_search_trials(st, s.id, &trials, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert(trials[0].trial == 0 && trials[0].model_id == 7);
  cr_assert_str_eq(trials[1].params, "{\"job.batch_size\":2}");
  store_search_trials_free(trials, n);

  store_search_rung r = {.trial = 0, .rung = 0, .job_id = 3, .state = STORE_RUNG_RUNNING,
                         .metric = 0.5};
  cr_assert_eq(store_search_rung_put(st, s.id, &r, STORE_SEARCH_EVENT_COUNT), STORE_OK);
  r.state = STORE_RUNG_DONE;
  cr_assert_eq(store_search_rung_put(st, s.id, &r, STORE_SEARCH_EVENT_COUNT), STORE_OK); /* replaced in place */
  store_search_rung f = {.trial = 1, .rung = 0, .job_id = 4, .state = STORE_RUNG_FAILED,
                         .metric = 9};
  cr_assert_eq(store_search_rung_put(st, s.id, &f, STORE_SEARCH_EVENT_COUNT), STORE_OK);
  f.state = (store_rung_state)7;
  cr_assert_eq(store_search_rung_put(st, s.id, &f, STORE_SEARCH_EVENT_COUNT), STORE_EINVAL);
  store_search_rung *rungs;
  cr_assert_eq(store_search_rungs(st, s.id, &rungs, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert(rungs[0].state == STORE_RUNG_DONE && rungs[0].metric == 0.5 && rungs[0].job_id == 3);
  cr_assert(rungs[1].state == STORE_RUNG_FAILED && isnan(rungs[1].metric)); /* no metric */
  free(rungs);
  /* another search's rows are its own */
  store_search other;
  cr_assert_eq(store_search_insert(st, "{}", &other), STORE_OK);
  cr_assert_eq(store_search_rungs(st, other.id, &rungs, &n), STORE_OK);
  cr_assert_eq(n, 0);
  free(rungs);
  store_search_clear(&other);
  store_search_clear(&s);
}

/* Each change logs its event in its transaction, on the search's stream
 * and the stream of everything, and never on a job's. */
Test(store_searches, changes_log_their_events) {
  store_search s;
  cr_assert_eq(store_search_insert(st, "{}", &s), STORE_OK);
  store_search_rung r = {.trial = 2, .rung = 1, .job_id = 7, .state = STORE_RUNG_DONE,
                         .metric = 0.25};
  cr_assert_eq(store_search_rung_put(st, s.id, &r, STORE_SEARCH_TRIAL_PAUSED), STORE_OK);
  cr_assert_eq(store_search_rung_put(st, s.id, &r, STORE_SEARCH_EVENT_COUNT), STORE_OK);
  r.state = STORE_RUNG_FAILED;
  cr_assert_eq(store_search_rung_put(st, s.id, &r, STORE_SEARCH_TRIAL_FAILED), STORE_OK);
  int64_t stopped[] = {4, 5};
  cr_assert_eq(store_search_finish(st, s.id, STORE_SEARCH_SUCCEEDED, stopped, 2, "{\"best\":null}"),
               STORE_OK);
  /* a second end logs nothing */
  cr_assert_eq(store_search_finish(st, s.id, STORE_SEARCH_CANCELLED, stopped, 2, NULL),
               STORE_ECONFLICT);
  store_event *ev;
  size_t n;
  cr_assert_eq(store_search_events_after(st, s.id, 0, 100, &ev, &n), STORE_OK);
  cr_assert_eq(n, 6);
  store_search_event want[] = {STORE_SEARCH_CREATED, STORE_SEARCH_TRIAL_PAUSED,
                               STORE_SEARCH_TRIAL_FAILED, STORE_SEARCH_TRIAL_STOPPED,
                               STORE_SEARCH_TRIAL_STOPPED, STORE_SEARCH_FINISHED};
  for (size_t i = 0; i < n; i++) {
    cr_expect_eq(ev[i].kind, STORE_EVENT_SEARCH);
    cr_expect_eq(ev[i].search_id, s.id);
    cr_expect_eq(ev[i].type, want[i], "event %zu", i);
    cr_expect(i == 0 || ev[i].id > ev[i - 1].id);
  }
  cr_expect_str_eq(ev[0].detail, "{}");
  cr_expect_str_eq(ev[1].detail, "{\"trial\":2,\"rung\":1,\"job\":7,\"metric\":0.25}");
  cr_expect_str_eq(ev[2].detail, "{\"trial\":2,\"rung\":1,\"job\":7}"); /* no metric */
  cr_expect_str_eq(ev[3].detail, "{\"trial\":4}");
  cr_expect_str_eq(ev[5].detail, "{\"best\":null}");
  cr_expect_str_eq(store_search_event_name(STORE_SEARCH_TRIAL_PROMOTED), "trial_promoted");
  cr_expect_null(store_search_event_name(STORE_SEARCH_EVENT_COUNT));
  int64_t last = ev[n - 1].id;
  store_event_list_free(ev, n);
  /* the stream of everything has them; a job's has none */
  cr_assert_eq(store_events_after(st, 0, 0, 100, &ev, &n), STORE_OK);
  cr_expect_eq(n, 6);
  store_event_list_free(ev, n);
  cr_assert_eq(store_events_after(st, 7, 0, 100, &ev, &n), STORE_OK);
  cr_expect_eq(n, 0);
  store_event_list_free(ev, n);
  /* another search's stream is its own */
  store_search other;
  cr_assert_eq(store_search_insert(st, "{}", &other), STORE_OK);
  cr_assert_eq(store_search_events_after(st, other.id, 0, 100, &ev, &n), STORE_OK);
  cr_expect(n == 1 && ev[0].id > last && ev[0].type == STORE_SEARCH_CREATED);
  store_event_list_free(ev, n);
  cr_expect_eq(store_search_events_after(st, 0, 0, 100, &ev, &n), STORE_EINVAL);
  store_search_clear(&other);
  store_search_clear(&s);
}
