/*
 * predict.c — inference: on a model directly, or on immutable reference-
 * counted snapshots that any number of threads share while a training
 * thread publishes newer ones through a slot.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "nn_internal.h"

#define PREDICT_CHUNK 256 /* rows per forward pass; bounds the scratch size */

struct nn_weights {
  atomic_int refs;
  nn_model *m; /* never modified after nn_weights_new */
  nn__gnet *gn; /* a graph model's inference graph over m, or NULL */
};

struct nn_slot {
  pthread_mutex_t lock; /* held only to swap or take a reference, never to predict */
  nn_weights *w;
};

static size_t scratch_floats(const nn_model *m, size_t n) {
  size_t rows = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
  return 2 * rows * (size_t)m->arch.max_width; /* two (rows, max_width) buffers */
}

static int predict(const nn_model *m, const float *x, size_t n, float *y, float *scratch) {
  if (n == 0) return NN_OK;
  float *buf = scratch;
  size_t floats = scratch_floats(m, n);
  if (buf == NULL && (buf = malloc(floats * sizeof(float))) == NULL) return NN_ENOMEM;
  nn__net_infer(&m->spec, &m->arch, m->params, m->mean, m->std, x, n, y,
                buf, buf + floats / 2, PREDICT_CHUNK);
  if (buf != scratch) free(buf);
  return NN_OK;
}

/* A graph model: its inference graph, and scratch unless given. */
static int predict_graph(const nn__gnet *gn, const nn_model *m, const float *x, size_t n,
                         float *y, float *scratch) {
  if (n == 0) return NN_OK;
  float *buf = scratch;
  if (buf == NULL && (buf = malloc(nn__gnet_scratch_floats(gn) * sizeof(float))) == NULL)
    return NN_ENOMEM;
  int rc = nn__gnet_predict(gn, m, x, n, y, buf);
  if (buf != scratch) free(buf);
  return rc;
}

int nn_model_predict(const nn_model *m, const float *x, size_t n, float *y) {
  if (m->graph == NULL) return predict(m, x, n, y, NULL);
  if (n == 0) return NN_OK;
  nn__gnet *gn;
  /* the graph only reads the model's buffers in evaluation mode */
  int rc = nn__gnet_new_predict((nn_model *)m, &gn);
  if (rc != NN_OK) return rc;
  rc = predict_graph(gn, m, x, n, y, NULL);
  nn__gnet_free(gn);
  return rc;
}

int nn_weights_new(const nn_model *m, nn_weights **out) {
  nn_weights *w = malloc(sizeof *w);
  if (w == NULL) return NN_ENOMEM;
  w->gn = NULL;
  int rc = nn_model_clone(m, &w->m);
  if (rc == NN_OK && m->graph != NULL && (rc = nn__gnet_new_predict(w->m, &w->gn)) != NN_OK)
    nn_model_free(w->m);
  if (rc != NN_OK) {
    free(w);
    return rc;
  }
  atomic_init(&w->refs, 1);
  *out = w;
  return NN_OK;
}

nn_weights *nn_weights_ref(nn_weights *w) {
  atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
  return w;
}

void nn_weights_unref(nn_weights *w) {
  if (w == NULL) return;
  /* acq_rel: the last owner must see every other owner's reads finished */
  if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) != 1) return;
  nn__gnet_free(w->gn);
  nn_model_free(w->m);
  free(w);
}

const nn_spec *nn_weights_spec(const nn_weights *w) { return &w->m->spec; }

size_t nn_weights_scratch_bytes(const nn_weights *w, size_t n) {
  if (w->gn != NULL) return nn__gnet_scratch_floats(w->gn) * sizeof(float);
  return scratch_floats(w->m, n) * sizeof(float);
}

int nn_weights_predict(const nn_weights *w, const float *x, size_t n, float *y, void *scratch) {
  if (w->gn != NULL) return predict_graph(w->gn, w->m, x, n, y, scratch);
  return predict(w->m, x, n, y, scratch);
}

int nn_slot_new(nn_slot **out) {
  nn_slot *s = calloc(1, sizeof *s);
  if (s == NULL) return NN_ENOMEM;
  if (pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s);
    return NN_ENOMEM;
  }
  *out = s;
  return NN_OK;
}

void nn_slot_free(nn_slot *s) {
  if (s == NULL) return;
  nn_weights_unref(s->w);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

void nn_slot_publish(nn_slot *s, nn_weights *w) {
  pthread_mutex_lock(&s->lock);
  nn_weights *old = s->w;
  s->w = w;
  pthread_mutex_unlock(&s->lock);
  nn_weights_unref(old);
}

nn_weights *nn_slot_acquire(nn_slot *s) {
  pthread_mutex_lock(&s->lock);
  nn_weights *w = s->w != NULL ? nn_weights_ref(s->w) : NULL;
  pthread_mutex_unlock(&s->lock);
  return w;
}
