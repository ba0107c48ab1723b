/* test_notify.c — the event notifier: posts, waits, deadlines, closing, stream counts. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "../../server/notify.h"

static notifier *n;

static void setup(void) { cr_assert_eq(notify_new(&n), 0); }
static void teardown(void) { notify_free(n); }

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 30);

static double seconds_since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

Test(notify, posts_keep_the_newest_id) {
  cr_expect_eq(notify_latest(n), 0);
  notify_post(n, 5);
  notify_post(n, 3); /* a writer that committed earlier may post later */
  cr_expect_eq(notify_latest(n), 5);
  notify_store_hook(n, 9);
  cr_expect_eq(notify_latest(n), 9);
}

Test(notify, wait_returns_at_once_when_an_id_is_past_seen) {
  struct timespec deadline;
  notify_deadline(&deadline, 60000);
  notify_post(n, 7);
  cr_expect_eq(notify_wait(n, 6, &deadline), NOTIFY_NEW);
  cr_expect_eq(notify_wait(n, 0, &deadline), NOTIFY_NEW);
}

Test(notify, wait_times_out_at_the_deadline) {
  struct timespec t0, deadline;
  notify_post(n, 7);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  notify_deadline(&deadline, 200);
  cr_expect_eq(notify_wait(n, 7, &deadline), NOTIFY_TIMEOUT);
  cr_expect_geq(seconds_since(&t0), 0.2, "not before the deadline");
  /* a deadline already past does not sleep */
  cr_expect_eq(notify_wait(n, 7, &t0), NOTIFY_TIMEOUT);
}

Test(notify, deadlines_carry_into_seconds) {
  struct timespec a, b;
  notify_deadline(&a, 0);
  notify_deadline(&b, 2999);
  cr_expect_lt(b.tv_nsec, 1000000000L);
  double apart = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  cr_expect(apart >= 2.999 && apart < 3.5, "%f", apart);
}

typedef struct {
  int64_t seen;
  notify_wake wake;
  atomic_bool stop; /* the waiter's own stop flag (notify_wait_or) */
} waiter;

static void *wait_long(void *arg) {
  waiter *w = arg;
  struct timespec deadline;
  notify_deadline(&deadline, 20000);
  w->wake = notify_wait_or(n, w->seen, &deadline, &w->stop);
  return NULL;
}

Test(notify, a_post_wakes_every_waiter_past_it) {
  waiter w[3] = {{.seen = 10}, {.seen = 10}, {.seen = 11}};
  pthread_t t[3];
  notify_post(n, 10);
  for (int i = 0; i < 3; i++) cr_assert_eq(pthread_create(&t[i], NULL, wait_long, &w[i]), 0);
  usleep(50000);
  notify_post(n, 11); /* past 10, not past 11 */
  pthread_join(t[0], NULL);
  pthread_join(t[1], NULL);
  cr_expect_eq(w[0].wake, NOTIFY_NEW);
  cr_expect_eq(w[1].wake, NOTIFY_NEW);
  notify_post(n, 12);
  pthread_join(t[2], NULL);
  cr_expect_eq(w[2].wake, NOTIFY_NEW);
}

Test(notify, closing_wakes_waiters_and_wins_over_new_ids) {
  waiter w = {.seen = 0};
  pthread_t t;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cr_assert_eq(pthread_create(&t, NULL, wait_long, &w), 0);
  usleep(50000);
  notify_close(n);
  pthread_join(t, NULL);
  cr_expect_eq(w.wake, NOTIFY_CLOSED);
  cr_expect_lt(seconds_since(&t0), 15.0, "woken, not timed out");
  notify_post(n, 3); /* posts still count... */
  cr_expect_eq(notify_latest(n), 3);
  struct timespec deadline;
  notify_deadline(&deadline, 20000);
  cr_expect_eq(notify_wait(n, 0, &deadline), NOTIFY_CLOSED); /* ...but followers stop */
}

/* Writers post while followers hold no lock: many posts from several
 * threads against waiting followers all complete, and the newest wins. */
static void *post_many(void *arg) {
  int64_t base = *(int64_t *)arg;
  for (int64_t i = 1; i <= 10000; i++) notify_post(n, base + i);
  return NULL;
}

static void *follow(void *arg) {
  (void)arg;
  int64_t seen = 0;
  while (seen < 40000) {
    struct timespec deadline;
    notify_deadline(&deadline, 20000);
    if (notify_wait(n, seen, &deadline) != NOTIFY_NEW) break;
    seen = notify_latest(n);
  }
  return NULL;
}

Test(notify, concurrent_posts_and_followers) {
  pthread_t writers[4], followers[2];
  int64_t bases[4] = {0, 10000, 20000, 30000};
  for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&followers[i], NULL, follow, NULL), 0);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(pthread_create(&writers[i], NULL, post_many, &bases[i]), 0);
  for (int i = 0; i < 4; i++) pthread_join(writers[i], NULL);
  cr_expect_eq(notify_latest(n), 40000);
  for (int i = 0; i < 2; i++) pthread_join(followers[i], NULL);
}

Test(notify, streams_are_counted_up_to_the_limit) {
  cr_expect_eq(notify_streams(n), 0);
  cr_expect_eq(notify_stream_open(n, 2), 0);
  cr_expect_eq(notify_stream_open(n, 2), 0);
  cr_expect_eq(notify_stream_open(n, 2), -1);
  cr_expect_eq(notify_streams(n), 2);
  notify_stream_close(n);
  cr_expect_eq(notify_streams(n), 1);
  cr_expect_eq(notify_stream_open(n, 2), 0);
  notify_close(n);
  notify_stream_close(n);
  cr_expect_eq(notify_stream_open(n, 2), -1, "no new stream while closing");
  notify_stream_close(n);
  cr_expect_eq(notify_streams(n), 0);
}

static void *close_stream_later(void *arg) {
  (void)arg;
  usleep(100000);
  notify_stream_close(n);
  return NULL;
}

Test(notify, draining_waits_for_the_last_stream_or_the_deadline) {
  struct timespec deadline;
  cr_assert_eq(notify_stream_open(n, 4), 0);
  cr_assert_eq(notify_stream_open(n, 4), 0);
  notify_close(n);
  notify_deadline(&deadline, 100);
  cr_expect_eq(notify_drain(n, &deadline), 2, "nothing closed: the deadline ends it");
  notify_stream_close(n);
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, close_stream_later, NULL), 0);
  notify_deadline(&deadline, 20000);
  cr_expect_eq(notify_drain(n, &deadline), 0, "woken by the last close");
  pthread_join(t, NULL);
}

Test(notify, a_stop_flag_ends_its_own_wait_alone) {
  waiter w[2];
  pthread_t t[2];
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < 2; i++) {
    w[i].seen = 0;
    w[i].wake = NOTIFY_NEW;
    atomic_init(&w[i].stop, false);
    cr_assert_eq(pthread_create(&t[i], NULL, wait_long, &w[i]), 0);
  }
  usleep(50000);
  atomic_store(&w[0].stop, true);
  notify_wake_hook(n);
  pthread_join(t[0], NULL);
  cr_expect_eq(w[0].wake, NOTIFY_STOPPED);
  cr_expect_lt(seconds_since(&t0), 15.0, "woken, not timed out");
  notify_post(n, 1); /* the other one sleeps on until its own reason */
  pthread_join(t[1], NULL);
  cr_expect_eq(w[1].wake, NOTIFY_NEW);

  /* a flag set before the wait returns at once; closing wins over it */
  struct timespec deadline;
  notify_deadline(&deadline, 20000);
  cr_expect_eq(notify_wait_or(n, 1, &deadline, &w[0].stop), NOTIFY_STOPPED);
  cr_expect_eq(notify_wait_or(n, 0, &deadline, NULL), NOTIFY_NEW);
  notify_close(n);
  cr_expect_eq(notify_wait_or(n, 1, &deadline, &w[0].stop), NOTIFY_CLOSED);
}
