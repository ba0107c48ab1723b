/*
 * predict_cache.c — the predict cache: a sorted array of (model id, version,
 * snapshot, class names) for each model's newest weights, and a few older
 * versions that requests pin, least recently used out first, all under one
 * mutex. The mutex is held only to find an entry and take a reference,
 * never while predicting or reading the store, so predictions run in
 * parallel and a publishing worker waits for nobody.
 */
#include "predict_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

typedef struct {
  int64_t id;
  int64_t version;
  nn_weights *w;
  char *classes; /* the class names the weights predict (JSON array text), or NULL */
} entry;

#define PINNED 8 /* older versions cached at once */

/* An older version a request pinned; e.w is NULL in a free slot. */
typedef struct {
  entry e;
  uint64_t used; /* the tick of its last use */
} pinned;

struct predict_cache {
  pthread_mutex_t lock;
  entry *entries; /* (n,) sorted by id */
  size_t n, cap;
  pinned old[PINNED];
  uint64_t tick;
};

int predict_cache_new(predict_cache **out) {
  predict_cache *c = calloc(1, sizeof *c);
  if (c == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
    free(c);
    return -API_INTERNAL;
  }
  *out = c;
  return 0;
}

void predict_cache_free(predict_cache *c) {
  if (c == NULL) return;
  for (size_t i = 0; i < c->n; i++) {
    nn_weights_unref(c->entries[i].w);
    free(c->entries[i].classes);
  }
  free(c->entries);
  for (int i = 0; i < PINNED; i++) {
    nn_weights_unref(c->old[i].e.w);
    free(c->old[i].e.classes);
  }
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* index of id, or of where it would go; caller holds the lock */
static size_t position(const predict_cache *c, int64_t id) {
  size_t lo = 0, hi = c->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->entries[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* room for one more entry; caller holds the lock. @return 0 or -1 */
static int reserve(predict_cache *c) {
  if (c->n < c->cap) return 0;
  size_t cap = c->cap * 2 + 8;
  entry *e = realloc(c->entries, cap * sizeof *e);
  if (e == NULL) return -1;
  c->entries = e;
  c->cap = cap;
  return 0;
}

void predict_cache_publish(predict_cache *c, int64_t model_id, int64_t version, nn_weights *w,
                    const char *classes) {
  char *text = classes != NULL ? strdup(classes) : NULL;
  if (classes != NULL && text == NULL) { /* out of memory: stay uncached, reload later */
    predict_cache_forget(c, model_id);
    nn_weights_unref(w);
    return;
  }
  /* whichever snapshot loses, released after the unlock */
  entry drop = {.w = w, .classes = text};
  pthread_mutex_lock(&c->lock);
  size_t i = position(c, model_id);
  if (i < c->n && c->entries[i].id == model_id) {
    if (version > c->entries[i].version) {
      drop = c->entries[i];
      c->entries[i] = (entry){model_id, version, w, text};
    }
  } else if (reserve(c) == 0) { /* out of memory: stay uncached, reload later */
    memmove(&c->entries[i + 1], &c->entries[i], (c->n - i) * sizeof *c->entries);
    c->entries[i] = (entry){model_id, version, w, text};
    c->n++;
    drop = (entry){0};
  }
  pthread_mutex_unlock(&c->lock);
  nn_weights_unref(drop.w);
  free(drop.classes);
}

void predict_cache_forget(predict_cache *c, int64_t model_id) {
  entry drop = {0}, old[PINNED] = {{0}};
  pthread_mutex_lock(&c->lock);
  size_t i = position(c, model_id);
  if (i < c->n && c->entries[i].id == model_id) {
    drop = c->entries[i];
    memmove(&c->entries[i], &c->entries[i + 1], (c->n - i - 1) * sizeof *c->entries);
    c->n--;
  }
  for (int k = 0; k < PINNED; k++)
    if (c->old[k].e.w != NULL && c->old[k].e.id == model_id) {
      old[k] = c->old[k].e;
      c->old[k] = (pinned){{0}, 0};
    }
  pthread_mutex_unlock(&c->lock);
  for (int k = 0; k < PINNED; k++) {
    nn_weights_unref(old[k].w);
    free(old[k].classes);
  }
  nn_weights_unref(drop.w);
  free(drop.classes);
}

/* The cached snapshot, referenced, and a copy of its class names (when
 * classes != NULL); NULL on a miss. *classes stays NULL when out of memory:
 * the answer then lacks labels rather than failing. */
static nn_weights *lookup(predict_cache *c, int64_t model_id, int64_t *version, char **classes) {
  nn_weights *w = NULL;
  pthread_mutex_lock(&c->lock);
  size_t i = position(c, model_id);
  if (i < c->n && c->entries[i].id == model_id) {
    w = nn_weights_ref(c->entries[i].w);
    *version = c->entries[i].version;
    if (classes != NULL && c->entries[i].classes != NULL)
      *classes = strdup(c->entries[i].classes);
  }
  pthread_mutex_unlock(&c->lock);
  return w;
}

/* A pinned older version, referenced, with a copy of its class names (when
 * classes != NULL; left NULL when out of memory, as in lookup); NULL on a miss. */
static nn_weights *lookup_pinned(predict_cache *c, int64_t model_id, int64_t version, char **classes) {
  nn_weights *w = NULL;
  pthread_mutex_lock(&c->lock);
  for (int k = 0; k < PINNED && w == NULL; k++) {
    entry *e = &c->old[k].e;
    if (e->w != NULL && e->id == model_id && e->version == version) {
      w = nn_weights_ref(e->w);
      if (classes != NULL && e->classes != NULL) *classes = strdup(e->classes);
      c->old[k].used = ++c->tick;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return w;
}

/* Cache an older version in place of the least recently used; the cache
 * takes the reference w and a copy of classes. A version already cached
 * stays as it is. */
static void keep_pinned(predict_cache *c, int64_t model_id, int64_t version, nn_weights *w,
                        const char *classes) {
  char *text = classes != NULL ? strdup(classes) : NULL;
  entry drop = {.w = w, .classes = text};
  if (classes != NULL && text == NULL) goto exit; /* out of memory: stay uncached */
  pthread_mutex_lock(&c->lock);
  int victim = 0;
  for (int k = 0; k < PINNED; k++) {
    const entry *e = &c->old[k].e;
    if (e->w != NULL && e->id == model_id && e->version == version) {
      victim = -1;
      break;
    }
    if (e->w == NULL || c->old[k].used < c->old[victim].used) victim = k;
    if (c->old[victim].e.w == NULL) break;
  }
  if (victim >= 0) {
    drop = c->old[victim].e;
    c->old[victim] = (pinned){{model_id, version, w, text}, ++c->tick};
  }
  pthread_mutex_unlock(&c->lock);
exit:
  nn_weights_unref(drop.w);
  free(drop.classes);
}

/* Read a version of a model's weights (0: the newest) and their class names
 * from the store into a new snapshot. */
static int load(store *st, int64_t model_id, int64_t want, nn_weights **w, int64_t *newest,
                char **classes, api_error *err) {
  fit_weights fw;
  int rc = fit_weights_load(st, model_id, want, &fw, err);
  if (rc == 0 && nn_weights_new(fw.model, w) != NN_OK)
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
  if (rc == 0) {
    *newest = fw.newest;
    *classes = fw.classes;
    fw.classes = NULL;
  }
  fit_weights_clear(&fw);
  return rc;
}

/* The store's newest weights, cached on the way; their class names go to
 * classes (when not NULL). */
static int load_and_publish(predict_cache *c, store *st, int64_t model_id, nn_weights **w,
                            int64_t *version, char **classes, api_error *err) {
  char *loaded = NULL;
  int rc = load(st, model_id, 0, w, version, &loaded, err); /* newest is its version */
  if (rc != 0) return rc;
  predict_cache_publish(c, model_id, *version, nn_weights_ref(*w), loaded);
  if (classes != NULL)
    *classes = loaded;
  else
    free(loaded);
  return 0;
}

int predict_cache_acquire(predict_cache *c, store *st, int64_t model_id, nn_weights **w, int64_t *version,
                   char **classes, api_error *err) {
  if (classes != NULL) *classes = NULL;
  if ((*w = lookup(c, model_id, version, classes)) != NULL) return 0;
  return load_and_publish(c, st, model_id, w, version, classes, err);
}

int predict_cache_acquire_version(predict_cache *c, store *st, int64_t model_id, int64_t version,
                           nn_weights **w, char **classes, api_error *err) {
  int64_t cached = 0, newest = 0;
  if (classes != NULL) *classes = NULL;
  if ((*w = lookup(c, model_id, &cached, classes)) != NULL) {
    if (cached == version) return 0;
    nn_weights_unref(*w);
    if (classes != NULL) {
      free(*classes);
      *classes = NULL;
    }
  }
  if ((*w = lookup_pinned(c, model_id, version, classes)) != NULL) return 0;
  char *names = NULL;
  int rc = load(st, model_id, version, w, &newest, &names, err);
  if (rc != 0) return rc;
  /* The cache can trail the store for a moment after a worker commits, or
   * hold nothing yet: the store tells whether this is the newest version. */
  if (version == newest)
    predict_cache_publish(c, model_id, version, nn_weights_ref(*w), names);
  else
    keep_pinned(c, model_id, version, nn_weights_ref(*w), names);
  if (classes != NULL)
    *classes = names;
  else
    free(names);
  return 0;
}
