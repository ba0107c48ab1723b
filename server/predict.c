/* predict.c — weights from the predict cache, applied to a request's rows. */
#include "predict.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "predict_cache.h"

/* A thread keeps buffers up to this size for its next request; larger ones
 * (a rare huge batch) go back to the allocator after the answer. */
#define KEEP_BYTES (1u << 20)

/* One HTTP thread's buffers, kept between requests. */
typedef struct {
  predict_input in; /* (rows, inputs) */
  float *y;         /* (rows, outputs) */
  size_t y_cap;     /* floats */
  void *work;       /* the network's scratch */
  size_t work_cap;  /* bytes */
} buffers;

static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;
static int buffers_key_ok;

static void buffers_free(void *p) {
  buffers *b = p;
  if (b == NULL) return;
  free(b->in.x);
  free(b->y);
  free(b->work);
  free(b);
}

static void buffers_key_create(void) {
  buffers_key_ok = pthread_key_create(&buffers_key, buffers_free) == 0;
}

/* The calling thread's buffers, or NULL when out of memory. */
static buffers *thread_buffers(void) {
  pthread_once(&buffers_once, buffers_key_create);
  if (!buffers_key_ok) return NULL;
  buffers *b = pthread_getspecific(buffers_key);
  if (b != NULL) return b;
  if ((b = calloc(1, sizeof *b)) == NULL) return NULL;
  if (pthread_setspecific(buffers_key, b) != 0) {
    free(b);
    return NULL;
  }
  return b;
}

/* Room for n bytes in *p, which has *cap. @return 0 or -1 */
static int ensure(void **p, size_t *cap, size_t n) {
  if (n <= *cap) return 0;
  void *grown = realloc(*p, n);
  if (grown == NULL) return -1;
  *p = grown;
  *cap = n;
  return 0;
}

int predict_input_reserve(predict_input *in, size_t floats) {
  size_t bytes = in->cap * sizeof(float);
  if (floats > SIZE_MAX / sizeof(float) || ensure((void **)&in->x, &bytes, floats * sizeof(float)))
    return -1;
  in->cap = bytes / sizeof(float);
  return 0;
}

int predict_unscale(const nn_encoder *e, float *y, size_t rows) {
  nn_target_kind kind;
  if (e == NULL || nn_encoder_target(e, &kind, NULL, NULL, NULL) == NULL ||
      kind != NN_TARGET_REGRESSION)
    return 0;
  double *v = malloc(rows * sizeof *v); /* (rows,) */
  if (v == NULL) return -1;
  nn_encoder_unscale(e, y, rows, v);
  for (size_t i = 0; i < rows; i++) y[i] = (float)v[i];
  free(v);
  return 0;
}

int predict_run(app *a, store *st, int64_t model_id, int64_t version, predict_fill fill,
                void *ctx, predict_result *out, api_error *err) {
  nn_weights *w = NULL;
  predict_encoding *enc = NULL;
  int64_t used = version;
  int rc;
  memset(out, 0, sizeof *out);
  buffers *b = thread_buffers();
  if (b == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  if (version == 0)
    rc = predict_cache_acquire(a->predict_cache, st, model_id, &w, &used, &out->classes, &enc,
                               err);
  else
    rc = predict_cache_acquire_version(a->predict_cache, st, model_id, version, &w, &out->classes,
                                       &enc, err);
  if (rc != 0) goto exit;
  const nn_spec *spec = nn_weights_spec(w);
  int outputs = nn_spec_outputs(spec);
  b->in.rows = 0;
  b->in.encoder = enc != NULL ? predict_encoding_encoder(enc) : NULL;
  if ((rc = fill(ctx, spec->inputs, &b->in, err)) != 0) goto exit;
  size_t rows = b->in.rows;
  if (rows > PREDICT_MAX_VALUES / (size_t)outputs) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "inputs",
                  "%zu rows of %d outputs each exceed the %d values one answer may hold; "
                  "send fewer rows", rows, outputs, PREDICT_MAX_VALUES);
    goto exit;
  }
  size_t y_bytes = b->y_cap * sizeof(float);
  if (ensure((void **)&b->y, &y_bytes, rows * (size_t)outputs * sizeof(float)) != 0 ||
      ensure(&b->work, &b->work_cap, nn_weights_scratch_bytes(w, rows)) != 0) {
    b->y_cap = y_bytes / sizeof(float);
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory for %zu rows", rows);
    goto exit;
  }
  b->y_cap = y_bytes / sizeof(float);
  int prc = nn_weights_predict(w, b->in.x, rows, b->y, b->work);
  if (prc == NN_EINVAL) { /* a graph model's embedding read a code out of its range */
    rc = api_fail(err, API_INVALID_ARGUMENT, "inputs",
                  "a feature an embedding reads is not a category code in its range "
                  "(an integer from 0)");
    goto exit;
  }
  if (prc != NN_OK) {
    rc = api_fail(err, API_INTERNAL, NULL, "prediction failed");
    goto exit;
  }
  if (outputs == 1 && predict_unscale(b->in.encoder, b->y, rows) != 0) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory for %zu rows", rows);
    goto exit;
  }
  out->version = used;
  out->rows = rows;
  out->outputs = outputs;
  out->y = b->y;
exit:
  b->in.encoder = NULL;
  predict_encoding_unref(enc);
  nn_weights_unref(w);
  if (rc != 0) predict_result_clear(out);
  return rc;
}

void predict_result_clear(predict_result *r) {
  free(r->classes);
  memset(r, 0, sizeof *r);
  pthread_once(&buffers_once, buffers_key_create);
  buffers *b = buffers_key_ok ? pthread_getspecific(buffers_key) : NULL;
  if (b == NULL) return;
  if (b->in.cap * sizeof(float) > KEEP_BYTES) {
    free(b->in.x);
    b->in = (predict_input){0};
  }
  if (b->y_cap * sizeof(float) > KEEP_BYTES) {
    free(b->y);
    b->y = NULL;
    b->y_cap = 0;
  }
  if (b->work_cap > KEEP_BYTES) {
    free(b->work);
    b->work = NULL;
    b->work_cap = 0;
  }
}
