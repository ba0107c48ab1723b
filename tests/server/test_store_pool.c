/* test_store_pool.c — store handles reused between requests, at most
 * max_idle kept, never one left mid-transaction, none holding its cache. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../server/store_internal.h"
#include "../../server/store_pool.h"
#include "tmp_db.h"

static tmp_db db;
static store_pool *pool;

static void setup(void) {
  tmp_db_make(&db, "pool");
  cr_assert_eq(store_pool_new(db.path, 2, &pool), STORE_OK);
}

static void teardown(void) {
  store_pool_free(pool);
  tmp_db_remove(&db);
}

TestSuite(store_pool, .init = setup, .fini = teardown);

Test(store_pool, a_handle_given_back_is_taken_again) {
  store *a, *b;
  cr_assert_eq(store_pool_take(pool, &a), STORE_OK);
  cr_assert_eq(store_healthz(a), STORE_OK, "a newly opened handle works");
  store_pool_give(pool, a);
  cr_expect_eq(store_pool_idle(pool), 1);
  cr_assert_eq(store_pool_take(pool, &b), STORE_OK);
  cr_expect_eq(b, a, "the idle handle was not reused");
  cr_expect_eq(store_pool_idle(pool), 0);
  cr_expect_eq(store_healthz(b), STORE_OK);
  store_pool_give(pool, b);
}

Test(store_pool, concurrent_takers_get_distinct_handles_and_at_most_max_idle_stay) {
  store *h[3];
  for (int i = 0; i < 3; i++) cr_assert_eq(store_pool_take(pool, &h[i]), STORE_OK);
  cr_expect_neq(h[0], h[1]);
  cr_expect_neq(h[1], h[2]);
  for (int i = 0; i < 3; i++) store_pool_give(pool, h[i]);
  cr_expect_eq(store_pool_idle(pool), 2, "the third handle was kept past max_idle");
  store_pool_give(pool, NULL);
  cr_expect_eq(store_pool_idle(pool), 2);
}

Test(store_pool, a_handle_mid_transaction_is_closed_not_kept) {
  store *st;
  cr_assert_eq(store_pool_take(pool, &st), STORE_OK);
  cr_assert(store_idle(st));
  cr_assert_eq(sqlite3_exec(st->db, "BEGIN; SELECT 1;", NULL, NULL, NULL), SQLITE_OK);
  cr_expect_not(store_idle(st), "an open transaction went unnoticed");
  store_pool_give(pool, st); /* closed: the next taker gets a clean handle */
  cr_expect_eq(store_pool_idle(pool), 0);

  cr_assert_eq(store_pool_take(pool, &st), STORE_OK);
  sqlite3_stmt *s;
  cr_assert_eq(sqlite3_prepare_v2(st->db, "SELECT 1 UNION ALL SELECT 2", -1, &s, NULL),
               SQLITE_OK);
  cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
  cr_expect_not(store_idle(st), "a statement mid-way went unnoticed");
  sqlite3_finalize(s);
  cr_expect(store_idle(st));
  store_pool_give(pool, st);
  cr_expect_eq(store_pool_idle(pool), 1);
}

static int cache_used(store *st) {
  int used = 0, high = 0;
  sqlite3_db_status(st->db, SQLITE_DBSTATUS_CACHE_USED, &used, &high, 0);
  return used;
}

Test(store_pool, an_idle_handle_keeps_no_page_cache) {
  store *st;
  cr_assert_eq(store_pool_take(pool, &st), STORE_OK);
  const char *fill = "CREATE TABLE big (b BLOB); INSERT INTO big VALUES (zeroblob(1000000));"
                     "SELECT length(b) FROM big;";
  cr_assert_eq(sqlite3_exec(st->db, fill, NULL, NULL, NULL), SQLITE_OK);
  int before = cache_used(st);
  cr_assert_gt(before, 500000, "the pages were not cached: %d bytes", before);
  store_pool_give(pool, st);
  store *again;
  cr_assert_eq(store_pool_take(pool, &again), STORE_OK);
  cr_assert_eq(again, st);
  cr_expect_lt(cache_used(again), before / 10, "%d bytes still cached", cache_used(again));
  store_pool_give(pool, again);
}
