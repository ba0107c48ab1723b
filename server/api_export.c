/*
 * api_export.c — model files and ONNX out, model files in (api_export.h).
 *
 * An import is read whole into memory as it streams in (the file is checked
 * at its end: the CRC covers every byte), bounded by the route's limit; the
 * checks themselves are model_file.c's. Exports build the whole file in
 * memory too: a model's weights and, for ONNX, one copy of them in the
 * protobuf.
 */
#include "api_export.h"

#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "fit.h"
#include "model_file.h"
#include "onnx_export.h"
#include "parse_spec.h"
#include "predict_cache.h"
#include "reply.h"
#include "store.h"

/* A file answer: the body is handed over (http_text frees it). */
static void answer_file(http_response *res, uint8_t *buf, size_t len) {
  http_add_header(res, "Content-Disposition", "attachment");
  http_text(res, 200, (char *)buf, len, "application/octet-stream");
}

void api_export_weights(app *a, const http_request *req, http_response *res) {
  int64_t id = (int64_t)req->ids[0], version = (int64_t)req->ids[1];
  store_model m = {0};
  store_weights w = {0};
  uint8_t *buf = NULL;
  size_t len = 0;
  api_error err;
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int rc = store_model_get(st, id, &m);
  if (rc == STORE_OK) rc = store_model_weights(st, id, version, &w);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "model", id);
  } else if (w.buf == NULL) {
    http_fail(res, API_NOT_FOUND, "version",
              "model %lld has no version %lld (see GET /v1/models/%lld/versions for the "
              "versions kept)", (long long)id, (long long)version, (long long)id);
  } else if (model_file_write(m.name, version, w.classes, w.buf, w.len, w.encoding,
                              w.encoding_len, &buf, &len, &err) != 0) {
    http_error(res, &err);
  } else {
    answer_file(res, buf, len);
  }
  store_weights_clear(&w);
  store_model_clear(&m);
}

/* ---- import, streamed into one buffer ----------------------------------------- */

typedef struct {
  uint8_t *buf;
  size_t len, cap;
} upload;

static int import_begin(app *a, const http_request *req, void **ctx, api_error *err) {
  (void)a;
  (void)req;
  upload *u = calloc(1, sizeof *u);
  if (u == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  *ctx = u;
  return 0;
}

/* The route's limit bounds len; the buffer doubles, so the copies cost O(len). */
static int import_chunk(void *ctx, const char *data, size_t len, api_error *err) {
  upload *u = ctx;
  if (len > SIZE_MAX / 2 - u->len) return api_fail(err, API_PAYLOAD_TOO_LARGE, NULL, "too large");
  if (u->len + len > u->cap) {
    size_t cap = u->cap > 0 ? u->cap : 4096;
    while (cap < u->len + len) cap *= 2;
    uint8_t *p = realloc(u->buf, cap);
    if (p == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
    u->buf = p;
    u->cap = cap;
  }
  memcpy(u->buf + u->len, data, len);
  u->len += len;
  return 0;
}

static void import_end(app *a, const http_request *req, void *ctx, http_response *res) {
  (void)req;
  upload *u = ctx;
  model_file f;
  api_error err;
  store_model row = {0};
  cJSON *spec = NULL;
  char *spec_text = NULL;
  if (model_file_read(u->buf, u->len, &f, &err) != 0) {
    http_error(res, &err);
    return;
  }
  /* the upload is no longer needed: do not hold two copies while storing */
  free(u->buf);
  u->buf = NULL;
  const nn_spec *s = nn_model_spec(f.model);
  spec = parse_spec_to_json(s, f.name);
  spec_text = spec != NULL ? cJSON_PrintUnformatted(spec) : NULL;
  if (spec_text == NULL) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    goto out;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) goto out;
  int rc = store_model_import(st, f.name, spec_text, (int64_t)nn_spec_param_count(s), f.version,
                              f.ckpt, f.ckpt_len, f.classes, f.encoding, f.encoding_len,
                              &row);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    goto out;
  }
  /* SQLite may give the new model a deleted one's id: a prediction that
   * raced that delete must not leave its weights cached under the id */
  predict_cache_forget(a->predict_cache, row.id);
  http_json(res, 201, json_out_model(&row));
out:
  store_model_clear(&row);
  free(spec_text);
  cJSON_Delete(spec);
  model_file_clear(&f);
}

static void import_done(void *ctx) {
  upload *u = ctx;
  free(u->buf);
  free(u);
}

const http_stream_ops api_export_import = {
    .begin = import_begin, .chunk = import_chunk, .end = import_end, .done = import_done};

/* ---- ONNX ------------------------------------------------------------------------ */

void api_export_onnx(app *a, const http_request *req, http_response *res) {
  int64_t id = (int64_t)req->ids[0], version = 0;
  store_model m = {0};
  fit_weights w = {0};
  uint8_t *buf = NULL;
  size_t len = 0;
  api_error err;
  if (route_query_int(&req->query, "version", 1, PARSE_MAX_SAFE_INT, &version, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int rc = store_model_get(st, id, &m);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "model", id);
    goto out;
  }
  onnx_export_in in = {.name = m.name, .model_id = id};
  if (fit_weights_load(st, id, version, &w, &err) != 0 ||
      (in.model = w.model, in.version = w.version, in.classes = w.classes,
       in.encoder = w.encoder,
       onnx_export(&in, &buf, &len, &err)) != 0) {
    http_error(res, &err);
    goto out;
  }
  answer_file(res, buf, len);
out:
  fit_weights_clear(&w);
  store_model_clear(&m);
}
