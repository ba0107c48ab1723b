/*
 * http_deadline.h — close connections that take too long to send a request's
 * head (request line and headers): the HTTP layer's defence against slow
 * headers ("slowloris").
 *
 * libmicrohttpd's connection timeout counts silence only: a client sending
 * one header byte a second is never silent, and would hold its connection,
 * and the thread serving it, for as long as it liked. Here a connection
 * waiting for a request head — from its opening, or from the end of its
 * previous request — has a deadline, and one thread shuts down (shutdown(2))
 * the connections that pass theirs. The libmicrohttpd thread serving such a
 * connection then sees it end and cleans up as after a client abort.
 *
 * Every deadline lies the same timeout after its arming, so the armed
 * connections form a queue in deadline order: arming appends, and the thread
 * only ever looks at the head.
 */
#ifndef TRAIND_HTTP_DEADLINE_H
#define TRAIND_HTTP_DEADLINE_H

#include <sys/socket.h>

typedef struct http_deadlines http_deadlines;
typedef struct http_deadline http_deadline; /* one connection's */

/**
 * Start the thread that enforces the deadlines.
 * @param timeout_s seconds a connection may wait for a request head, >= 1
 * @return 0, or -1 (logged) when memory or the thread is lacking
 */
int http_deadlines_start(unsigned timeout_s, http_deadlines **out);

/** Stop the thread and free d, once every connection is removed. NULL is a no-op. */
void http_deadlines_stop(http_deadlines *d);

/**
 * Watch a new connection, armed: it waits for its first request head.
 * @param fd   its socket, which stays open until http_deadline_remove
 * @param peer its address, for the log line when it is closed
 * @return the connection's deadline, or NULL when out of memory (it is then
 *         not watched: libmicrohttpd's own timeout still applies)
 */
http_deadline *http_deadline_add(http_deadlines *d, int fd, const struct sockaddr *peer);

/** The connection waits for a request head again (its previous request ended).
 *  NULL (an unwatched connection) is a no-op. */
void http_deadline_arm(http_deadlines *d, http_deadline *c);

/** The connection's request head is in: it has no deadline while that request
 *  lasts. NULL is a no-op. */
void http_deadline_disarm(http_deadlines *d, http_deadline *c);

/** Forget and free c, before its socket is closed. NULL is a no-op. */
void http_deadline_remove(http_deadlines *d, http_deadline *c);

#endif
