/*
 * api_predict.c — predictions from the published weights.
 *
 * The hot path allocates nothing in steady state: the body is read straight
 * into floats (predict_body.c), inputs, outputs and the network's scratch
 * live in buffers each HTTP thread keeps between requests, and the answer is
 * written as text (json_buf.c) rather than built as a cJSON tree. Only an
 * unusual or invalid body takes the generic parser, which names the field.
 */
#include "api_predict.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "json_buf.h"
#include "metrics.h"
#include "models.h"
#include "parse_json.h"
#include "predict_body.h"
#include "store.h"

/* A thread keeps buffers up to this size for its next request; larger ones
 * (a rare huge batch) go back to the allocator after the answer. */
#define KEEP_BYTES (1u << 20)

/* One HTTP thread's buffers, kept between requests (thread-per-connection:
 * a keep-alive client's requests all land on the same thread). */
typedef struct {
  float *x; /* (rows, inputs) */
  size_t x_cap;
  float *y; /* (rows, outputs) */
  size_t y_cap;
  void *work; /* the network's scratch */
  size_t work_cap;
} buffers;

static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;
static int buffers_key_ok;

static void buffers_free(void *p) {
  buffers *b = p;
  if (b == NULL) return;
  free(b->x);
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

/* Free what is too large to keep. */
static void trim(buffers *b) {
  if (b->x_cap * sizeof(float) > KEEP_BYTES) {
    free(b->x);
    b->x = NULL;
    b->x_cap = 0;
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

/* Room for n bytes in *p of *cap units of unit bytes. @return 0 or -1 */
static int ensure(void **p, size_t *cap, size_t n, size_t unit) {
  if (n <= *cap) return 0;
  void *grown = realloc(*p, n * unit);
  if (grown == NULL) return -1;
  *p = grown;
  *cap = n;
  return 0;
}

/* ---- the generic path: any body, errors named ------------------------------ */

/* The "inputs" member: a non-empty array of at most API_PREDICT_MAX_ROWS rows. */
static int check_inputs(const cJSON *root, const cJSON **inputs, size_t *rows, api_error *err) {
  static const char *const keys[] = {"inputs", NULL};
  int rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, keys, err);
  if (rc != 0) return rc;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "inputs");
  if (v == NULL) return api_fail(err, API_INVALID_ARGUMENT, "inputs", "inputs is required");
  size_t n = 0;
  for (const cJSON *r = cJSON_IsArray(v) ? v->child : NULL; r != NULL; r = r->next) n++;
  if (n == 0 || n > API_PREDICT_MAX_ROWS)
    return api_fail(err, API_INVALID_ARGUMENT, "inputs",
                    "inputs must be an array of 1 to %d rows", API_PREDICT_MAX_ROWS);
  *inputs = v;
  *rows = n;
  return 0;
}

/* Copy the rows into x (rows, width), naming the first row that does not fit. */
static int read_rows(const cJSON *inputs, int width, float *x, api_error *err) {
  char field[PARSE_PATH_MAX];
  size_t i = 0;
  for (const cJSON *r = inputs->child; r != NULL; r = r->next, i++) {
    int j = 0;
    const cJSON *c = cJSON_IsArray(r) ? r->child : NULL;
    for (; c != NULL && j < width; c = c->next, j++) {
      double d = cJSON_IsNumber(c) ? c->valuedouble : NAN;
      if (!isfinite(d) || fabs(d) > FLT_MAX) {
        snprintf(field, sizeof field, "inputs[%zu][%d]", i, j);
        return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be a finite number", field);
      }
      x[i * (size_t)width + (size_t)j] = (float)d; /* (rows, width) */
    }
    if (!cJSON_IsArray(r) || j != width || c != NULL) {
      snprintf(field, sizeof field, "inputs[%zu]", i);
      return api_fail(err, API_INVALID_ARGUMENT, field,
                      "%s must be an array of %d numbers, the model's input width", field,
                      width);
    }
  }
  return 0;
}

/* Parse and check a body the fast reader declined. width < 0: the model is
 * unknown, check the body alone. @return 0 with b->x filled, or an api code */
static int read_generic(const http_request *req, int width, buffers *b, size_t *rows,
                        api_error *err) {
  cJSON *root = NULL;
  const cJSON *inputs = NULL;
  int rc = parse_json_body(req->body, req->body_len, &root, err);
  if (rc == 0) rc = check_inputs(root, &inputs, rows, err);
  if (rc == 0 && width > 0) {
    if (ensure((void **)&b->x, &b->x_cap, *rows * (size_t)width, sizeof(float)) != 0)
      rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
    else
      rc = read_rows(inputs, width, b->x, err);
  }
  cJSON_Delete(root);
  return rc;
}

/* ---- the answer ----------------------------------------------------------------- */

/* Each row's class name: argmax over one unit per class, or a single
 * sigmoid unit for two classes. Skipped when the names do not fit. */
static void write_labels(json_buf *out, const char *classes_text, const float *y, size_t rows,
                         int outputs) {
  cJSON *classes = classes_text != NULL ? cJSON_Parse(classes_text) : NULL;
  int n_classes = cJSON_GetArraySize(classes);
  if (classes == NULL || !(n_classes == outputs || (outputs == 1 && n_classes == 2))) {
    cJSON_Delete(classes);
    return;
  }
  json_buf_lit(out, ",\"labels\":[");
  for (size_t i = 0; i < rows; i++) {
    const float *row = y + i * (size_t)outputs; /* (outputs,) */
    int best = 0;
    if (outputs == 1 && n_classes == 2) {
      best = row[0] >= 0.5f;
    } else {
      for (int k = 1; k < outputs; k++)
        if (row[k] > row[best]) best = k;
    }
    const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(classes, best));
    if (i > 0) json_buf_raw(out, ",", 1);
    json_buf_string(out, name != NULL ? name : "");
  }
  json_buf_raw(out, "]", 1);
  cJSON_Delete(classes);
}

/* {"model":1,"version":12,"outputs":[[...],...],"labels":[...]} */
static void answer(http_response *res, int64_t model_id, int64_t version, const float *y,
                   size_t rows, int outputs, const char *classes) {
  json_buf out;
  json_buf_init(&out, 64 + rows * (size_t)outputs * 16);
  json_buf_lit(&out, "{\"model\":");
  json_buf_int(&out, model_id);
  json_buf_lit(&out, ",\"version\":");
  json_buf_int(&out, version);
  json_buf_lit(&out, ",\"outputs\":[");
  for (size_t i = 0; i < rows; i++) {
    json_buf_raw(&out, i > 0 ? ",[" : "[", i > 0 ? 2 : 1);
    for (int k = 0; k < outputs; k++) {
      if (k > 0) json_buf_raw(&out, ",", 1);
      json_buf_float(&out, y[i * (size_t)outputs + (size_t)k]);
    }
    json_buf_raw(&out, "]", 1);
  }
  json_buf_raw(&out, "]", 1);
  write_labels(&out, classes, y, rows, outputs);
  json_buf_raw(&out, "}", 1);
  size_t len = 0;
  char *text = json_buf_take(&out, &len);
  if (text == NULL) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    return;
  }
  http_text(res, 200, text, len, NULL);
}

void api_predict(app *a, const http_request *req, http_response *res) {
  uint64_t start_us = metrics_clock_us();
  int64_t id = (int64_t)req->ids[0];
  nn_weights *w = NULL;
  char *classes = NULL;
  size_t rows = 0;
  int64_t version;
  api_error err;
  buffers *b = thread_buffers();
  if (b == NULL) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) goto out;
  if (models_acquire(a->models, st, id, &w, &version, &classes, &err) != 0) {
    /* a bad body is reported before an unknown or untrained model */
    api_error body_err;
    http_error(res, read_generic(req, -1, b, &rows, &body_err) != 0 ? &body_err : &err);
    goto out;
  }
  const nn_spec *spec = nn_weights_spec(w);
  int width = spec->inputs, outputs = nn_spec_outputs(spec);
  predict_body_status fast = predict_body_read(req->body, req->body_len, width,
                                               API_PREDICT_MAX_ROWS, &b->x, &b->x_cap, &rows);
  if (fast == PREDICT_BODY_NOMEM) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    goto out;
  }
  if (fast == PREDICT_BODY_OTHER && read_generic(req, width, b, &rows, &err) != 0) {
    http_error(res, &err);
    goto out;
  }
  if (rows * (size_t)outputs > API_PREDICT_MAX_VALUES) {
    http_fail(res, API_INVALID_ARGUMENT, "inputs",
              "%zu rows of %d outputs each exceed the %d values one answer may hold; "
              "send fewer rows", rows, outputs, API_PREDICT_MAX_VALUES);
    goto out;
  }
  size_t work = nn_weights_scratch_bytes(w, rows);
  if (ensure((void **)&b->y, &b->y_cap, rows * (size_t)outputs, sizeof(float)) != 0 ||
      ensure(&b->work, &b->work_cap, work, 1) != 0) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    goto out;
  }
  if (nn_weights_predict(w, b->x, rows, b->y, b->work) != NN_OK) {
    http_fail(res, API_INTERNAL, NULL, "prediction failed");
    goto out;
  }
  answer(res, id, version, b->y, rows, outputs, classes);
  if (res->status == 200) metrics_prediction(rows, metrics_clock_us() - start_us);
out:
  trim(b);
  free(classes);
  nn_weights_unref(w);
}
