/*
 * models.c — the predict cache: a sorted array of (model id, version,
 * snapshot, class names) under one mutex. The mutex is held only to find an entry and take
 * a reference, never while predicting or reading the store, so predictions
 * run in parallel and a publishing worker waits for nobody.
 */
#include "models.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int64_t id;
  int64_t version;
  nn_weights *w;
  char *classes; /* the class names the weights predict (JSON array text), or NULL */
} entry;

struct models {
  pthread_mutex_t lock;
  entry *entries; /* (n,) sorted by id */
  size_t n, cap;
};

int models_new(models **out) {
  models *c = calloc(1, sizeof *c);
  if (c == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
    free(c);
    return -API_INTERNAL;
  }
  *out = c;
  return 0;
}

void models_free(models *c) {
  if (c == NULL) return;
  for (size_t i = 0; i < c->n; i++) {
    nn_weights_unref(c->entries[i].w);
    free(c->entries[i].classes);
  }
  free(c->entries);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* index of id, or of where it would go; caller holds the lock */
static size_t position(const models *c, int64_t id) {
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
static int reserve(models *c) {
  if (c->n < c->cap) return 0;
  size_t cap = c->cap * 2 + 8;
  entry *e = realloc(c->entries, cap * sizeof *e);
  if (e == NULL) return -1;
  c->entries = e;
  c->cap = cap;
  return 0;
}

void models_publish(models *c, int64_t model_id, int64_t version, nn_weights *w,
                    const char *classes) {
  char *text = classes != NULL ? strdup(classes) : NULL;
  if (classes != NULL && text == NULL) { /* out of memory: stay uncached, reload later */
    models_forget(c, model_id);
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

void models_forget(models *c, int64_t model_id) {
  entry drop = {0};
  pthread_mutex_lock(&c->lock);
  size_t i = position(c, model_id);
  if (i < c->n && c->entries[i].id == model_id) {
    drop = c->entries[i];
    memmove(&c->entries[i], &c->entries[i + 1], (c->n - i - 1) * sizeof *c->entries);
    c->n--;
  }
  pthread_mutex_unlock(&c->lock);
  nn_weights_unref(drop.w);
  free(drop.classes);
}

/* The cached snapshot, referenced, and a copy of its class names (when
 * classes != NULL); NULL on a miss. *classes stays NULL when out of memory:
 * the answer then lacks labels rather than failing. */
static nn_weights *lookup(models *c, int64_t model_id, int64_t *version, char **classes) {
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

/* Read the published weights and their class names from the store into a
 * new snapshot; want, when not 0, is the only version accepted (checked
 * before decoding). */
static int load(store *st, int64_t model_id, int64_t want, nn_weights **w, int64_t *version,
                char **classes, api_error *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  nn_model *m = NULL;
  store_model meta = {0};
  int rc = store_model_weights(st, model_id, &buf, &len, version);
  if (rc == STORE_OK && buf != NULL) rc = store_model_get(st, model_id, &meta);
  if (rc != STORE_OK) {
    rc = api_fail(err, store_api_code(rc), rc == STORE_ENOTFOUND ? "id" : NULL,
                  rc == STORE_ENOTFOUND ? "no model with id %lld" : "cannot read model %lld",
                  (long long)model_id);
    goto out;
  }
  if (want != 0 && (buf == NULL || *version != want)) {
    rc = api_fail(err, API_NOT_FOUND, "version",
                  "version %lld of model %lld is not available (only the newest weights are "
                  "kept)", (long long)want, (long long)model_id);
    goto out;
  }
  if (buf == NULL) {
    rc = api_fail(err, API_CONFLICT, NULL, "model %lld has not been trained yet",
                  (long long)model_id);
    goto out;
  }
  nn_error ne;
  if (nn_checkpoint_load(buf, len, &m, NULL, &ne) != NN_OK || nn_weights_new(m, w) != NN_OK) {
    rc = api_fail(err, API_INTERNAL, NULL, "the stored weights of model %lld are unreadable",
                  (long long)model_id);
    goto out;
  }
  *classes = meta.classes;
  meta.classes = NULL;
  rc = 0;
out:
  store_model_clear(&meta);
  nn_model_free(m);
  free(buf);
  return rc;
}

/* The store's weights of want (0: any version), cached on the way; their
 * class names go to classes (when not NULL). */
static int load_and_publish(models *c, store *st, int64_t model_id, int64_t want,
                            nn_weights **w, int64_t *version, char **classes, api_error *err) {
  char *loaded = NULL;
  int rc = load(st, model_id, want, w, version, &loaded, err);
  if (rc != 0) return rc;
  models_publish(c, model_id, *version, nn_weights_ref(*w), loaded);
  if (classes != NULL)
    *classes = loaded;
  else
    free(loaded);
  return 0;
}

int models_acquire(models *c, store *st, int64_t model_id, nn_weights **w, int64_t *version,
                   char **classes, api_error *err) {
  if (classes != NULL) *classes = NULL;
  if ((*w = lookup(c, model_id, version, classes)) != NULL) return 0;
  return load_and_publish(c, st, model_id, 0, w, version, classes, err);
}

int models_acquire_version(models *c, store *st, int64_t model_id, int64_t version,
                           nn_weights **w, api_error *err) {
  int64_t cached = 0, loaded = 0;
  if ((*w = lookup(c, model_id, &cached, NULL)) != NULL) {
    if (cached == version) return 0;
    nn_weights_unref(*w);
    *w = NULL;
  }
  /* The cache can trail the store for a moment after a worker commits, so a
   * version newer than the cached one is looked for in the store, which never
   * holds an older one. */
  if (cached > version) {
    return api_fail(err, API_NOT_FOUND, "version",
                    "version %lld of model %lld is not available (only the newest weights are "
                    "kept)", (long long)version, (long long)model_id);
  }
  return load_and_publish(c, st, model_id, version, w, &loaded, NULL, err);
}
