/* store_pool.c — a mutex-guarded stack of idle store handles. */
#include "store_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct store_pool {
  pthread_mutex_t lock;
  char *db_path;
  size_t max_idle;
  size_t n_idle;
  store *idle[]; /* (max_idle,) the most recently given back last */
};

int store_pool_new(const char *db_path, size_t max_idle, store_pool **out) {
  *out = NULL;
  store_pool *p = calloc(1, sizeof *p + max_idle * sizeof p->idle[0]);
  if (p == NULL) return STORE_ENOMEM;
  p->db_path = strdup(db_path);
  if (p->db_path == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
    free(p->db_path);
    free(p);
    return STORE_ENOMEM;
  }
  p->max_idle = max_idle;
  *out = p;
  return STORE_OK;
}

void store_pool_free(store_pool *p) {
  if (p == NULL) return;
  for (size_t i = 0; i < p->n_idle; i++) store_close(p->idle[i]);
  pthread_mutex_destroy(&p->lock);
  free(p->db_path);
  free(p);
}

int store_pool_take(store_pool *p, store **out) {
  pthread_mutex_lock(&p->lock);
  *out = p->n_idle > 0 ? p->idle[--p->n_idle] : NULL;
  pthread_mutex_unlock(&p->lock);
  return *out != NULL ? STORE_OK : store_open(p->db_path, out);
}

void store_pool_give(store_pool *p, store *st) {
  if (st == NULL) return;
  if (!store_idle(st)) {
    /* A transaction or a statement left open would leak into the next
     * request (a stale snapshot, a held lock): never reuse such a handle. */
    log_write(LOG_WARN, "store: a handle came back mid-transaction; closing it");
    store_close(st);
    return;
  }
  /* Each handle caches up to 2 MiB of pages, mostly stale by its next use
   * (every commit of a worker invalidates them): an idle one keeps none. */
  store_shrink(st);
  pthread_mutex_lock(&p->lock);
  bool kept = p->n_idle < p->max_idle;
  if (kept) p->idle[p->n_idle++] = st;
  pthread_mutex_unlock(&p->lock);
  if (!kept) store_close(st);
}

size_t store_pool_idle(store_pool *p) {
  pthread_mutex_lock(&p->lock);
  size_t n = p->n_idle;
  pthread_mutex_unlock(&p->lock);
  return n;
}
