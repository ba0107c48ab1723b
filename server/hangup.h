/*
 * hangup.h — notice at once that the client of a waiting answer went away.
 *
 * An event stream between events sleeps on the notifier (notify.h), and
 * libmicrohttpd reads nothing from its socket meanwhile, so a client that
 * hangs up would only be noticed at the next write: the next event or
 * keepalive, seconds away. One thread watches the sockets of such answers
 * (epoll, for the peer's hangup or an error only: bytes the client sends do
 * not wake it), sets the watcher's flag and calls on_hangup, which wakes the
 * sleepers (notify_wake_all); the one whose flag is set ends its answer.
 * Idle, it costs no CPU.
 *
 * A watched socket is duplicated, so the number watched stays this module's
 * until hangup_unwatch, whatever libmicrohttpd does with its own descriptor.
 * Watches live in a fixed table; a slot's generation tells a stale event
 * from one for the watch that took the slot since.
 */
#ifndef TRAIND_HANGUP_H
#define TRAIND_HANGUP_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct hangups hangups;

/* One watch: where it sits in the table, and which use of that slot. */
typedef struct {
  uint32_t slot;
  uint32_t gen;
} hangup_watch_id;

/**
 * Start the watching thread.
 * @param max       sockets watched at once at most, >= 1
 * @param on_hangup called on the watching thread after a watcher's flag is set
 * @return 0, or -1 (logged) when out of memory or descriptors, or the thread cannot start
 */
int hangups_start(unsigned max, void (*on_hangup)(void *ud), void *ud, hangups **out);

/** Stop the thread and free h; every watch must be gone. NULL is a no-op. */
void hangups_stop(hangups *h);

/**
 * Watch fd until hangup_unwatch: when its peer hangs up or the socket
 * fails, set *gone and call on_hangup (once).
 * @param gone lives until hangup_unwatch returns
 * @return 0, or -1 when max sockets are watched, or fd cannot be duplicated or watched
 */
int hangup_watch(hangups *h, int fd, atomic_bool *gone, hangup_watch_id *out);

/** Stop watching; once it returns, the watch's flag is not touched any more. */
void hangup_unwatch(hangups *h, hangup_watch_id id);

#endif
