/* hangup.c — one epoll thread that notices clients hanging up (hangup.h). */
#include "hangup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

#define STOP_KEY UINT64_MAX /* the epoll key of the stop eventfd */
#define BATCH 32            /* events taken per epoll_wait */

typedef struct {
  int fd;            /* our duplicate; -1 when the slot is free */
  uint32_t gen;      /* bumped at each unwatch */
  atomic_bool *gone; /* the watcher's flag */
} slot;

struct hangups {
  pthread_mutex_t mutex; /* the table; held while an event is matched to its slot */
  pthread_t thread;
  int epoll_fd;
  int stop_fd;
  void (*on_hangup)(void *ud);
  void *ud;
  unsigned max;
  slot *slots; /* (max,) */
};

static uint64_t key_of(uint32_t index, uint32_t gen) { return (uint64_t)gen << 32 | index; }

/* Set the flag of the watch an event names, unless it is gone already.
 * @return whether a flag was set */
static bool mark(hangups *h, uint64_t key) {
  uint32_t index = (uint32_t)key, gen = (uint32_t)(key >> 32);
  bool marked = false;
  pthread_mutex_lock(&h->mutex);
  slot *s = index < h->max ? &h->slots[index] : NULL;
  if (s != NULL && s->fd >= 0 && s->gen == gen) {
    atomic_store(s->gone, true);
    marked = true;
  }
  pthread_mutex_unlock(&h->mutex);
  return marked;
}

static void *watch_loop(void *arg) {
  hangups *h = arg;
  struct epoll_event events[BATCH];
  for (;;) {
    int n = epoll_wait(h->epoll_fd, events, BATCH, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      log_write(LOG_ERROR, "hangup watch: epoll_wait: %s", strerror(errno));
      return NULL;
    }
    bool marked = false;
    for (int i = 0; i < n; i++) {
      if (events[i].data.u64 == STOP_KEY) return NULL;
      marked |= mark(h, events[i].data.u64);
    }
    if (marked) h->on_hangup(h->ud);
  }
}

int hangups_start(unsigned max, void (*on_hangup)(void *ud), void *ud, hangups **out) {
  *out = NULL;
  hangups *h = calloc(1, sizeof *h);
  slot *slots = calloc(max, sizeof *slots);
  if (h == NULL || slots == NULL) {
    log_write(LOG_ERROR, "hangup watch: out of memory");
    goto fail;
  }
  for (unsigned i = 0; i < max; i++) slots[i].fd = -1;
  *h = (hangups){.epoll_fd = -1, .stop_fd = -1, .on_hangup = on_hangup, .ud = ud, .max = max,
                 .slots = slots};
  h->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event stop = {.events = EPOLLIN, .data.u64 = STOP_KEY};
  if (h->epoll_fd < 0 || h->stop_fd < 0 ||
      epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, h->stop_fd, &stop) < 0) {
    log_write(LOG_ERROR, "hangup watch: %s", strerror(errno));
    goto fail;
  }
  pthread_mutex_init(&h->mutex, NULL);
  int rc = pthread_create(&h->thread, NULL, watch_loop, h);
  if (rc != 0) {
    log_write(LOG_ERROR, "hangup watch: cannot start its thread: %s", strerror(rc));
    goto fail_thread;
  }
  *out = h;
  return 0;

fail_thread:
  pthread_mutex_destroy(&h->mutex);
fail:
  if (h != NULL) {
    if (h->epoll_fd >= 0) close(h->epoll_fd);
    if (h->stop_fd >= 0) close(h->stop_fd);
  }
  free(slots);
  free(h);
  return -1;
}

void hangups_stop(hangups *h) {
  if (h == NULL) return;
  uint64_t one = 1;
  if (write(h->stop_fd, &one, sizeof one) != (ssize_t)sizeof one)
    log_write(LOG_ERROR, "hangup watch: cannot stop its thread: %s", strerror(errno));
  pthread_join(h->thread, NULL);
  for (unsigned i = 0; i < h->max; i++)
    if (h->slots[i].fd >= 0) close(h->slots[i].fd);
  close(h->epoll_fd);
  close(h->stop_fd);
  pthread_mutex_destroy(&h->mutex);
  free(h->slots);
  free(h);
}

int hangup_watch(hangups *h, int fd, atomic_bool *gone, hangup_watch_id *out) {
  int rc = -1;
  pthread_mutex_lock(&h->mutex);
  unsigned i = 0;
  while (i < h->max && h->slots[i].fd >= 0) i++;
  if (i == h->max) goto out;
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) goto out;
  slot *s = &h->slots[i];
  /* One shot: a hung-up socket stays readable; one report is all it takes. */
  struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT, .data.u64 = key_of(i, s->gen)};
  if (epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, dup_fd, &ev) < 0) {
    close(dup_fd);
    goto out;
  }
  s->fd = dup_fd;
  s->gone = gone;
  *out = (hangup_watch_id){.slot = i, .gen = s->gen};
  rc = 0;
out:
  pthread_mutex_unlock(&h->mutex);
  return rc;
}

void hangup_unwatch(hangups *h, hangup_watch_id id) {
  pthread_mutex_lock(&h->mutex);
  slot *s = &h->slots[id.slot];
  if (s->fd >= 0 && s->gen == id.gen) {
    epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
    s->gone = NULL;
    s->gen++; /* an event already taken for this watch now matches nothing */
  }
  pthread_mutex_unlock(&h->mutex);
}
