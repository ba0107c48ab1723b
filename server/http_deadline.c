/* http_deadline.c — a queue of request-head deadlines and the thread that enforces it. */
#include "http_deadline.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct http_deadline {
  int fd;
  bool armed;              /* in the queue */
  bool fired;              /* shut down: never armed again */
  struct timespec due;     /* CLOCK_MONOTONIC, while armed */
  http_deadline *prev, *next;
  char peer[INET6_ADDRSTRLEN];
};

struct http_deadlines {
  pthread_mutex_t lock;
  pthread_cond_t wake;     /* on CLOCK_MONOTONIC */
  pthread_t thread;
  unsigned timeout_s;
  bool stopping;
  http_deadline *head, *tail; /* the armed connections, earliest deadline first */
};

static bool passed(const struct timespec *due, const struct timespec *now) {
  return now->tv_sec > due->tv_sec || (now->tv_sec == due->tv_sec && now->tv_nsec >= due->tv_nsec);
}

static void unlink_armed(http_deadlines *d, http_deadline *c) {
  if (c->prev != NULL) c->prev->next = c->next;
  else d->head = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  else d->tail = c->prev;
  c->prev = c->next = NULL;
  c->armed = false;
}

/* Sleep until the head's deadline (or, with none, until one is armed);
 * shut the head down when its deadline has passed. */
static void *enforce(void *arg) {
  http_deadlines *d = arg;
  pthread_mutex_lock(&d->lock);
  while (!d->stopping) {
    http_deadline *c = d->head;
    if (c == NULL) {
      pthread_cond_wait(&d->wake, &d->lock);
      continue;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!passed(&c->due, &now)) {
      pthread_cond_timedwait(&d->wake, &d->lock, &c->due);
      continue;
    }
    unlink_armed(d, c);
    c->fired = true;
    /* Wakes the connection's thread with an end of stream; the descriptor
     * itself stays the connection's until http_deadline_remove. */
    shutdown(c->fd, SHUT_RDWR);
    char peer[sizeof c->peer];
    memcpy(peer, c->peer, sizeof peer);
    pthread_mutex_unlock(&d->lock);
    log_write(LOG_WARN, "http: closed the connection from %s: no complete request head in %u s",
              peer, d->timeout_s);
    pthread_mutex_lock(&d->lock);
  }
  pthread_mutex_unlock(&d->lock);
  return NULL;
}

int http_deadlines_start(unsigned timeout_s, http_deadlines **out) {
  *out = NULL;
  http_deadlines *d = calloc(1, sizeof *d);
  pthread_condattr_t attr;
  bool attr_ready = false, lock_ready = false, wake_ready = false;
  if (d == NULL) goto fail;
  d->timeout_s = timeout_s;
  if (pthread_mutex_init(&d->lock, NULL) != 0) goto fail;
  lock_ready = true;
  if (pthread_condattr_init(&attr) != 0) goto fail;
  attr_ready = true;
  if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
      pthread_cond_init(&d->wake, &attr) != 0) {
    goto fail;
  }
  wake_ready = true;
  if (pthread_create(&d->thread, NULL, enforce, d) != 0) goto fail;
  pthread_condattr_destroy(&attr);
  *out = d;
  return 0;

fail:
  log_write(LOG_ERROR, "http: cannot start the request-head deadline thread");
  if (attr_ready) pthread_condattr_destroy(&attr);
  if (wake_ready) pthread_cond_destroy(&d->wake);
  if (lock_ready) pthread_mutex_destroy(&d->lock);
  free(d);
  return -1;
}

void http_deadlines_stop(http_deadlines *d) {
  if (d == NULL) return;
  pthread_mutex_lock(&d->lock);
  d->stopping = true;
  pthread_cond_signal(&d->wake);
  pthread_mutex_unlock(&d->lock);
  pthread_join(d->thread, NULL);
  pthread_cond_destroy(&d->wake);
  pthread_mutex_destroy(&d->lock);
  free(d);
}

static void arm_locked(http_deadlines *d, http_deadline *c) {
  if (c->armed || c->fired) return;
  clock_gettime(CLOCK_MONOTONIC, &c->due);
  c->due.tv_sec += (time_t)d->timeout_s;
  c->armed = true;
  c->prev = d->tail;
  if (d->tail != NULL) {
    d->tail->next = c; /* a later deadline than any queued: the thread's plan stands */
  } else {
    d->head = c;
    pthread_cond_signal(&d->wake); /* the thread waits for a first deadline */
  }
  d->tail = c;
}

http_deadline *http_deadline_add(http_deadlines *d, int fd, const struct sockaddr *peer) {
  http_deadline *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->fd = fd;
  const void *addr = NULL;
  if (peer != NULL && peer->sa_family == AF_INET)
    addr = &((const struct sockaddr_in *)(const void *)peer)->sin_addr;
  else if (peer != NULL && peer->sa_family == AF_INET6)
    addr = &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr;
  if (addr == NULL || inet_ntop(peer->sa_family, addr, c->peer, sizeof c->peer) == NULL)
    strcpy(c->peer, "?");
  pthread_mutex_lock(&d->lock);
  arm_locked(d, c);
  pthread_mutex_unlock(&d->lock);
  return c;
}

void http_deadline_arm(http_deadlines *d, http_deadline *c) {
  if (c == NULL) return;
  pthread_mutex_lock(&d->lock);
  arm_locked(d, c);
  pthread_mutex_unlock(&d->lock);
}

void http_deadline_disarm(http_deadlines *d, http_deadline *c) {
  if (c == NULL) return;
  pthread_mutex_lock(&d->lock);
  if (c->armed) unlink_armed(d, c);
  pthread_mutex_unlock(&d->lock);
}

void http_deadline_remove(http_deadlines *d, http_deadline *c) {
  http_deadline_disarm(d, c);
  free(c);
}
