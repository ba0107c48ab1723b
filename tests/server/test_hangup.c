/* test_hangup.c — the hangup watch: a peer that hangs up sets its watcher's
 * flag at once; bytes sent do not; unwatched and reused slots stay quiet. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../server/hangup.h"

/* What on_hangup saw: calls counted, and a condition to wait on them. */
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t called = PTHREAD_COND_INITIALIZER;
static int calls;

static void on_hangup(void *ud) {
  cr_assert_eq(ud, &calls);
  pthread_mutex_lock(&mutex);
  calls++;
  pthread_mutex_unlock(&mutex);
  pthread_cond_broadcast(&called);
}

/* Wait up to ms for on_hangup to have run `want` times. @return the calls */
static int wait_calls(int want, unsigned ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += ms / 1000;
  deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&mutex);
  while (calls < want && pthread_cond_timedwait(&called, &mutex, &deadline) == 0) {
  }
  int seen = calls;
  pthread_mutex_unlock(&mutex);
  return seen;
}

static hangups *h;

static void setup(void) {
  calls = 0;
  cr_assert_eq(hangups_start(2, on_hangup, &calls, &h), 0);
}
static void teardown(void) { hangups_stop(h); }

TestSuite(hangup, .init = setup, .fini = teardown, .timeout = 30);

/* A connected socket pair: fd[0] is watched, fd[1] plays the client. */
typedef struct {
  int fd[2];
  atomic_bool gone;
} conn;

static void connect_pair(conn *c) {
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, c->fd), 0);
  atomic_init(&c->gone, false);
}

Test(hangup, a_peer_that_hangs_up_sets_the_flag_of_its_watch_alone) {
  conn ca, cb;
  connect_pair(&ca);
  connect_pair(&cb);
  int *a = ca.fd, *b = cb.fd;
  atomic_bool *gone_a = &ca.gone, *gone_b = &cb.gone;
  hangup_watch_id wa, wb;
  cr_assert_eq(hangup_watch(h, a[0], gone_a, &wa), 0);
  cr_assert_eq(hangup_watch(h, b[0], gone_b, &wb), 0);

  cr_assert_eq(write(b[1], "GET / HTTP/1.1\r\n", 16), 16); /* bytes are no hangup */
  close(a[1]);
  cr_expect_eq(wait_calls(1, 5000), 1, "on_hangup once, at once");
  cr_expect(atomic_load(gone_a));
  cr_expect_not(atomic_load(gone_b));
  cr_expect_eq(wait_calls(2, 200), 1, "the open socket and its bytes call nothing");

  /* the watched descriptor is still its owner's, open and usable */
  char buf[16];
  cr_expect_eq(read(b[0], buf, sizeof buf), 16);
  hangup_unwatch(h, wa);
  hangup_unwatch(h, wb);
  close(a[0]);
  close(b[0]);
  close(b[1]);
}

Test(hangup, an_unwatched_socket_is_forgotten_and_its_slot_reused) {
  conn ca, cb;
  connect_pair(&ca);
  connect_pair(&cb);
  int *a = ca.fd, *b = cb.fd;
  atomic_bool *gone_a = &ca.gone, *gone_b = &cb.gone;
  hangup_watch_id wa, wb, extra;
  cr_assert_eq(hangup_watch(h, a[0], gone_a, &wa), 0);
  cr_assert_eq(hangup_watch(h, a[0], gone_a, &extra), 0);
  cr_expect_eq(hangup_watch(h, b[0], gone_b, &wb), -1, "two slots, both taken");
  hangup_unwatch(h, extra);
  hangup_unwatch(h, wa);
  hangup_unwatch(h, wa); /* twice: nothing more */
  close(a[1]);
  cr_expect_eq(wait_calls(1, 300), 0, "an unwatched hangup calls nothing");
  cr_expect_not(atomic_load(gone_a));

  /* the freed slot serves the next watch; the old watch's id no longer frees it */
  cr_assert_eq(hangup_watch(h, b[0], gone_b, &wb), 0);
  cr_expect_eq(wb.slot, wa.slot);
  cr_expect_neq(wb.gen, wa.gen);
  hangup_unwatch(h, wa);
  shutdown(b[1], SHUT_RDWR);
  cr_expect_eq(wait_calls(1, 5000), 1);
  cr_expect(atomic_load(gone_b));
  hangup_unwatch(h, wb);
  close(a[0]);
  close(b[0]);
  close(b[1]);
}

Test(hangup, a_socket_that_failed_already_is_reported) {
  conn c;
  connect_pair(&c);
  close(c.fd[1]);
  hangup_watch_id w;
  cr_assert_eq(hangup_watch(h, c.fd[0], &c.gone, &w), 0);
  cr_expect_eq(wait_calls(1, 5000), 1);
  cr_expect(atomic_load(&c.gone));
  hangup_unwatch(h, w);
  close(c.fd[0]);
}

Test(hangup, a_descriptor_that_is_not_open_cannot_be_watched) {
  atomic_bool gone;
  atomic_init(&gone, false);
  hangup_watch_id w;
  cr_expect_eq(hangup_watch(h, -1, &gone, &w), -1);
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  close(fds[1]);
  close(fds[0]);
  cr_expect_eq(hangup_watch(h, fds[0], &gone, &w), -1);
}
