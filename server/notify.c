/* notify.c — a mutex, a condition variable on the monotonic clock, the newest event id. */
#include "notify.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct notifier {
  pthread_mutex_t mutex;
  pthread_cond_t changed; /* latest grew, closed was set, or a stream closed after */
  int64_t latest;
  bool closed;
  unsigned streams;
};

int notify_new(notifier **out) {
  *out = NULL;
  notifier *n = calloc(1, sizeof *n);
  if (n == NULL) return -1;
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0) goto fail_attr;
  /* Deadlines must not move when the wall clock is set. */
  if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
      pthread_cond_init(&n->changed, &attr) != 0)
    goto fail_cond;
  if (pthread_mutex_init(&n->mutex, NULL) != 0) goto fail_mutex;
  pthread_condattr_destroy(&attr);
  *out = n;
  return 0;

fail_mutex:
  pthread_cond_destroy(&n->changed);
fail_cond:
  pthread_condattr_destroy(&attr);
fail_attr:
  free(n);
  return -1;
}

void notify_free(notifier *n) {
  if (n == NULL) return;
  pthread_cond_destroy(&n->changed);
  pthread_mutex_destroy(&n->mutex);
  free(n);
}

void notify_post(notifier *n, int64_t id) {
  pthread_mutex_lock(&n->mutex);
  /* Writers may post out of commit order; keep the newest. */
  bool newer = id > n->latest;
  if (newer) n->latest = id;
  pthread_mutex_unlock(&n->mutex);
  if (newer) pthread_cond_broadcast(&n->changed);
}

void notify_store_hook(void *ud, int64_t id) { notify_post(ud, id); }

int64_t notify_latest(notifier *n) {
  pthread_mutex_lock(&n->mutex);
  int64_t latest = n->latest;
  pthread_mutex_unlock(&n->mutex);
  return latest;
}

notify_wake notify_wait(notifier *n, int64_t seen, const struct timespec *deadline) {
  return notify_wait_or(n, seen, deadline, NULL);
}

notify_wake notify_wait_or(notifier *n, int64_t seen, const struct timespec *deadline,
                           const atomic_bool *stop) {
  notify_wake wake = NOTIFY_NEW;
  pthread_mutex_lock(&n->mutex);
  for (;;) {
    /* The flag is set before notify_wake_all takes the mutex: read under
     * it, it cannot be missed. */
    bool stopped = stop != NULL && atomic_load(stop);
    if (n->closed || stopped) {
      wake = n->closed ? NOTIFY_CLOSED : NOTIFY_STOPPED;
      break;
    }
    if (n->latest > seen) break;
    if (pthread_cond_timedwait(&n->changed, &n->mutex, deadline) != 0) {
      /* Timed out (the only error with valid arguments): one last look. */
      stopped = stop != NULL && atomic_load(stop);
      wake = n->closed    ? NOTIFY_CLOSED
             : stopped    ? NOTIFY_STOPPED
             : n->latest > seen ? NOTIFY_NEW
                                : NOTIFY_TIMEOUT;
      break;
    }
  }
  pthread_mutex_unlock(&n->mutex);
  return wake;
}

void notify_wake_all(notifier *n) {
  pthread_mutex_lock(&n->mutex);
  pthread_mutex_unlock(&n->mutex);
  pthread_cond_broadcast(&n->changed);
}

void notify_wake_hook(void *ud) { notify_wake_all(ud); }

void notify_deadline(struct timespec *deadline, uint64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, deadline);
  deadline->tv_sec += (time_t)(ms / 1000);
  deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (deadline->tv_nsec >= 1000000000L) {
    deadline->tv_sec++;
    deadline->tv_nsec -= 1000000000L;
  }
}

void notify_close(notifier *n) {
  pthread_mutex_lock(&n->mutex);
  n->closed = true;
  pthread_mutex_unlock(&n->mutex);
  pthread_cond_broadcast(&n->changed);
}

int notify_stream_open(notifier *n, unsigned max) {
  pthread_mutex_lock(&n->mutex);
  bool ok = !n->closed && n->streams < max;
  if (ok) n->streams++;
  pthread_mutex_unlock(&n->mutex);
  return ok ? 0 : -1;
}

void notify_stream_close(notifier *n) {
  pthread_mutex_lock(&n->mutex);
  n->streams--;
  bool drained = n->closed && n->streams == 0;
  pthread_mutex_unlock(&n->mutex);
  if (drained) pthread_cond_broadcast(&n->changed);
}

unsigned notify_streams(notifier *n) {
  pthread_mutex_lock(&n->mutex);
  unsigned streams = n->streams;
  pthread_mutex_unlock(&n->mutex);
  return streams;
}

unsigned notify_drain(notifier *n, const struct timespec *deadline) {
  int rc = 0;
  pthread_mutex_lock(&n->mutex);
  while (n->streams > 0 && rc == 0) rc = pthread_cond_timedwait(&n->changed, &n->mutex, deadline);
  unsigned streams = n->streams;
  pthread_mutex_unlock(&n->mutex);
  return streams;
}
