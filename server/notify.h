/*
 * notify.h — wake-ups for the followers of the event log (event streams and
 * long polls), and the count of open streams.
 *
 * Writers post the id of the newest event they committed; followers sleep on
 * a condition variable until the newest posted id passes the one they have
 * read up to, a deadline passes, or the notifier closes. A post holds the
 * mutex for a few instructions and never waits for a follower, so a follower
 * stuck on a slow client cannot hold up a writer. Followers hold no lock
 * while they read the store or write to their client.
 *
 * Ids are posted after their commit, and commits are serialized, so every
 * event with an id <= notify_latest() is readable from the store.
 */
#ifndef TRAIND_NOTIFY_H
#define TRAIND_NOTIFY_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

typedef struct notifier notifier;

typedef enum {
  NOTIFY_NEW,     /* an id past `seen` was posted */
  NOTIFY_TIMEOUT, /* the deadline passed first */
  NOTIFY_CLOSED,  /* the notifier is closing: stop following */
  NOTIFY_STOPPED  /* the waiter's own stop flag was set (notify_wait_or) */
} notify_wake;

/** @return 0, or -1 when out of memory (or the clock or mutex cannot be set up) */
int notify_new(notifier **out);

/** Free a notifier nobody waits on any more. NULL is a no-op. */
void notify_free(notifier *n);

/** An event up to id is committed: wake the followers. Thread-safe. */
void notify_post(notifier *n, int64_t id);

/** notify_post for store_on_event (store.h): ud is the notifier. */
void notify_store_hook(void *ud, int64_t id);

/** @return the newest id posted so far, 0 before the first. */
int64_t notify_latest(notifier *n);

/**
 * Sleep until an id > seen is posted, the deadline passes or the notifier
 * closes; returns at once when one already holds.
 * @param deadline CLOCK_MONOTONIC time (see notify_deadline)
 * @return NOTIFY_NEW, NOTIFY_TIMEOUT or NOTIFY_CLOSED (closing wins over new ids)
 */
notify_wake notify_wait(notifier *n, int64_t seen, const struct timespec *deadline);

/**
 * notify_wait that also returns NOTIFY_STOPPED once *stop is set (checked
 * before the others but closing, and at each wake-up): whoever sets it calls
 * notify_wake_all after.
 * @param stop NULL: notify_wait
 */
notify_wake notify_wait_or(notifier *n, int64_t seen, const struct timespec *deadline,
                           const atomic_bool *stop);

/** Wake every waiter to look at its stop flag again. Thread-safe. */
void notify_wake_all(notifier *n);

/** notify_wake_all for hangups_start (hangup.h): ud is the notifier. */
void notify_wake_hook(void *ud);

/** Set *deadline to ms milliseconds from now on CLOCK_MONOTONIC. */
void notify_deadline(struct timespec *deadline, uint64_t ms);

/**
 * The daemon is stopping: wake every follower with NOTIFY_CLOSED, and refuse
 * new streams. Later waits return NOTIFY_CLOSED at once; posts still count.
 */
void notify_close(notifier *n);

/**
 * Count a stream opening, unless max are open already or the notifier closed.
 * @return 0, or -1 when refused
 */
int notify_stream_open(notifier *n, unsigned max);

/** Count a stream closing (one notify_stream_open succeeded for it). */
void notify_stream_close(notifier *n);

/** @return the streams open now. */
unsigned notify_streams(notifier *n);

/**
 * After notify_close: wait until every stream has closed, or the deadline.
 * @return the streams still open
 */
unsigned notify_drain(notifier *n, const struct timespec *deadline);

#endif
