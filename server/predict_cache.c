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
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "keyed_hash.h"

struct predict_encoding {
  atomic_int refs;
  nn_encoder *e;
};

/* Take e (NULL: none) into a new reference; NULL when e is or out of memory. */
static predict_encoding *encoding_wrap(nn_encoder *e) {
  predict_encoding *p = e != NULL ? malloc(sizeof *p) : NULL;
  if (p == NULL) {
    nn_encoder_free(e);
    return NULL;
  }
  atomic_init(&p->refs, 1);
  p->e = e;
  return p;
}

static predict_encoding *encoding_ref(predict_encoding *p) {
  if (p != NULL) atomic_fetch_add(&p->refs, 1);
  return p;
}

const nn_encoder *predict_encoding_encoder(const predict_encoding *p) { return p->e; }

void predict_encoding_unref(predict_encoding *p) {
  if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1) return;
  nn_encoder_free(p->e);
  free(p);
}

typedef struct {
  int64_t id;
  int64_t version;
  nn_weights *w;
  char *classes; /* the class names the weights predict (JSON array text), or NULL */
  predict_encoding *enc; /* their table encoding, or NULL */
} entry;

static void entry_clear(entry *e) {
  nn_weights_unref(e->w);
  free(e->classes);
  predict_encoding_unref(e->enc);
}

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
  for (size_t i = 0; i < c->n; i++) entry_clear(&c->entries[i]);
  free(c->entries);
  for (int i = 0; i < PINNED; i++) entry_clear(&c->old[i].e);
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

/* An encoding's bytes read into a new reference; *ok 0 when they do not
 * read (out of memory: the stored bytes were checked when published). */
static predict_encoding *encoding_load(const uint8_t *buf, size_t len, int *ok) {
  keyed_hash_key key;
  nn_encoder *e = NULL;
  nn_error ne;
  *ok = 1;
  if (buf == NULL) return NULL;
  predict_encoding *p = NULL;
  if (keyed_hash_key_new(&key) == 0 && nn_encoder_load(buf, len, key.bytes, &e, &ne) == NN_OK)
    p = encoding_wrap(e);
  *ok = p != NULL;
  return p;
}

/* Publish w with its class names and encoding (the cache takes the
 * references). */
static void publish(predict_cache *c, int64_t model_id, int64_t version, nn_weights *w,
                    const char *classes, predict_encoding *enc) {
  char *text = classes != NULL ? strdup(classes) : NULL;
  if (classes != NULL && text == NULL) { /* out of memory: stay uncached, reload later */
    predict_cache_forget(c, model_id);
    nn_weights_unref(w);
    predict_encoding_unref(enc);
    return;
  }
  /* whichever snapshot loses, released after the unlock */
  entry drop = {.w = w, .classes = text, .enc = enc};
  pthread_mutex_lock(&c->lock);
  size_t i = position(c, model_id);
  if (i < c->n && c->entries[i].id == model_id) {
    if (version > c->entries[i].version) {
      drop = c->entries[i];
      c->entries[i] = (entry){model_id, version, w, text, enc};
    }
  } else if (reserve(c) == 0) { /* out of memory: stay uncached, reload later */
    memmove(&c->entries[i + 1], &c->entries[i], (c->n - i) * sizeof *c->entries);
    c->entries[i] = (entry){model_id, version, w, text, enc};
    c->n++;
    drop = (entry){0};
  }
  pthread_mutex_unlock(&c->lock);
  entry_clear(&drop);
}

void predict_cache_publish(predict_cache *c, int64_t model_id, int64_t version, nn_weights *w,
                    const char *classes, const uint8_t *encoding, size_t encoding_len) {
  int ok;
  predict_encoding *enc = encoding_load(encoding, encoding_len, &ok);
  if (!ok) { /* out of memory: stay uncached, reload later */
    predict_cache_forget(c, model_id);
    nn_weights_unref(w);
    return;
  }
  publish(c, model_id, version, w, classes, enc);
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
  for (int k = 0; k < PINNED; k++) entry_clear(&old[k]);
  entry_clear(&drop);
}

/* The cached snapshot, referenced, and a copy of its class names (when
 * classes != NULL); NULL on a miss. *classes stays NULL when out of memory:
 * the answer then lacks labels rather than failing. */
static nn_weights *lookup(predict_cache *c, int64_t model_id, int64_t *version, char **classes,
                          predict_encoding **enc) {
  nn_weights *w = NULL;
  pthread_mutex_lock(&c->lock);
  size_t i = position(c, model_id);
  if (i < c->n && c->entries[i].id == model_id) {
    w = nn_weights_ref(c->entries[i].w);
    *version = c->entries[i].version;
    if (classes != NULL && c->entries[i].classes != NULL)
      *classes = strdup(c->entries[i].classes);
    if (enc != NULL) *enc = encoding_ref(c->entries[i].enc);
  }
  pthread_mutex_unlock(&c->lock);
  return w;
}

/* A pinned older version, referenced, with a copy of its class names (when
 * classes != NULL; left NULL when out of memory, as in lookup); NULL on a miss. */
static nn_weights *lookup_pinned(predict_cache *c, int64_t model_id, int64_t version,
                                 char **classes, predict_encoding **enc) {
  nn_weights *w = NULL;
  pthread_mutex_lock(&c->lock);
  for (int k = 0; k < PINNED && w == NULL; k++) {
    entry *e = &c->old[k].e;
    if (e->w != NULL && e->id == model_id && e->version == version) {
      w = nn_weights_ref(e->w);
      if (classes != NULL && e->classes != NULL) *classes = strdup(e->classes);
      if (enc != NULL) *enc = encoding_ref(e->enc);
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
                        const char *classes, predict_encoding *enc) {
  char *text = classes != NULL ? strdup(classes) : NULL;
  entry drop = {.w = w, .classes = text, .enc = enc};
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
    c->old[victim] = (pinned){{model_id, version, w, text, enc}, ++c->tick};
  }
  pthread_mutex_unlock(&c->lock);
exit:
  entry_clear(&drop);
}

/* Read a version of a model's weights (0: the newest) and their class names
 * from the store into a new snapshot. */
static int load(store *st, int64_t model_id, int64_t want, nn_weights **w, int64_t *newest,
                char **classes, predict_encoding **enc, api_error *err) {
  fit_weights fw;
  *enc = NULL;
  int rc = fit_weights_load(st, model_id, want, &fw, err);
  if (rc == 0 && fw.encoder != NULL && (*enc = encoding_wrap(fw.encoder)) == NULL)
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
  fw.encoder = NULL; /* *enc owns it now (or it was freed) */
  if (rc == 0 && nn_weights_new(fw.model, w) != NN_OK)
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
  if (rc != 0) {
    predict_encoding_unref(*enc);
    *enc = NULL;
  } else {
    *newest = fw.newest;
    *classes = fw.classes;
    fw.classes = NULL;
  }
  fit_weights_clear(&fw);
  return rc;
}

/* The store's newest weights, cached on the way; their class names go to
 * classes (when not NULL). */
/* Hand classes and encoding to the caller where asked for, else release them. */
static void hand(char *names, predict_encoding *e, char **classes, predict_encoding **enc) {
  if (classes != NULL)
    *classes = names;
  else
    free(names);
  if (enc != NULL)
    *enc = e;
  else
    predict_encoding_unref(e);
}

static int load_and_publish(predict_cache *c, store *st, int64_t model_id, nn_weights **w,
                            int64_t *version, char **classes, predict_encoding **enc,
                            api_error *err) {
  char *loaded = NULL;
  predict_encoding *e;
  int rc = load(st, model_id, 0, w, version, &loaded, &e, err); /* newest is its version */
  if (rc != 0) return rc;
  publish(c, model_id, *version, nn_weights_ref(*w), loaded, encoding_ref(e));
  hand(loaded, e, classes, enc);
  return 0;
}

int predict_cache_acquire(predict_cache *c, store *st, int64_t model_id, nn_weights **w, int64_t *version,
                   char **classes, predict_encoding **enc, api_error *err) {
  if (classes != NULL) *classes = NULL;
  if (enc != NULL) *enc = NULL;
  if ((*w = lookup(c, model_id, version, classes, enc)) != NULL) return 0;
  return load_and_publish(c, st, model_id, w, version, classes, enc, err);
}

int predict_cache_acquire_version(predict_cache *c, store *st, int64_t model_id, int64_t version,
                           nn_weights **w, char **classes, predict_encoding **enc,
                           api_error *err) {
  int64_t cached = 0, newest = 0;
  if (classes != NULL) *classes = NULL;
  if (enc != NULL) *enc = NULL;
  if ((*w = lookup(c, model_id, &cached, classes, enc)) != NULL) {
    if (cached == version) return 0;
    nn_weights_unref(*w);
    if (classes != NULL) {
      free(*classes);
      *classes = NULL;
    }
    if (enc != NULL) {
      predict_encoding_unref(*enc);
      *enc = NULL;
    }
  }
  if ((*w = lookup_pinned(c, model_id, version, classes, enc)) != NULL) return 0;
  char *names = NULL;
  predict_encoding *e;
  int rc = load(st, model_id, version, w, &newest, &names, &e, err);
  if (rc != 0) return rc;
  /* The cache can trail the store for a moment after a worker commits, or
   * hold nothing yet: the store tells whether this is the newest version. */
  if (version == newest)
    publish(c, model_id, version, nn_weights_ref(*w), names, encoding_ref(e));
  else
    keep_pinned(c, model_id, version, nn_weights_ref(*w), names, encoding_ref(e));
  hand(names, e, classes, enc);
  return 0;
}
