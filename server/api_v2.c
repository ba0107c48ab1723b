/* api_v2.c — Open Inference Protocol handlers: health, metadata, inference. */
#include "api_v2.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "parse_spec.h"
#include "infer_columns.h"
#include "json_buf.h"
#include "prometheus.h"
#include "predict_cache.h"
#include "parse_infer.h"
#include "predict.h"
#include "predict_records.h"
#include "store.h"

/* ---- the model a path names ----------------------------------------------- */

/* By name (the newest of that name), else by id when the segment is one. */
static int find_model(store *st, const char *name, store_model *m, api_error *err) {
  uint64_t id;
  int rc = store_model_find(st, name, m);
  if (rc == STORE_ENOTFOUND && route_parse_id(name, &id)) {
    store_model_clear(m);
    rc = store_model_get(st, (int64_t)id, m);
  }
  if (rc == STORE_OK) return 0;
  if (rc == STORE_ENOTFOUND)
    return api_fail(err, API_NOT_FOUND, "name", "unknown model '%.64s'", name);
  return api_store_fail(err, rc, NULL, NULL, 0);
}

/* A model never trained has no version to pin (0: none pinned). Whether a
 * trained one keeps the version is for whoever reads it to find out. */
static int check_version(const store_model *m, int64_t version, api_error *err) {
  if (version == 0 || m->trained) return 0;
  return api_fail(err, API_NOT_FOUND, "version",
                  "model '%s' has no version %" PRId64 ": it has not been trained yet", m->name,
                  version);
}

/* The model and pinned version of a request, with the thread's store. */
static int resolve(app *a, const http_request *req, store **st, store_model *m,
                   int64_t *version, api_error *err) {
  *version = req->n_ids > 0 ? (int64_t)req->ids[0] : 0;
  *st = app_store(a);
  if (*st == NULL) return api_fail(err, API_UNAVAILABLE, NULL, "the database cannot be opened");
  int rc = find_model(*st, req->name, m, err);
  if (rc == 0) rc = check_version(m, *version, err);
  return rc;
}

/* The model's input and output widths, from its stored spec; a model that
 * takes a table's columns has its encoded width once trained (its newest
 * weights', whose encoding goes to *enc), and -1 (any) before. */
static int widths(app *a, store *st, const store_model *m, int *inputs, int *outputs,
                  predict_encoding **enc, api_error *err) {
  nn_spec spec;
  int rc = fit_spec(m, &spec, err);
  if (rc != 0) return rc;
  *inputs = spec.inputs;
  *outputs = nn_spec_outputs(&spec);
  parse_spec_free(&spec);
  if (spec.inputs != 0) return 0;
  *inputs = -1;
  nn_weights *w = NULL;
  int64_t version;
  if (m->trained &&
      predict_cache_acquire(a->predict_cache, st, m->id, &w, &version, NULL, enc, err) == 0)
    *inputs = nn_weights_spec(w)->inputs;
  nn_weights_unref(w);
  return 0;
}

/* ---- JSON ------------------------------------------------------------------- */

static cJSON *object_with_bool(const char *key, bool value) {
  cJSON *o = cJSON_CreateObject();
  if (o != NULL && cJSON_AddBoolToObject(o, key, value) == NULL) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static cJSON *version_string(int64_t version) {
  char text[24];
  snprintf(text, sizeof text, "%" PRId64, version);
  return cJSON_CreateString(text);
}

/* [rows, width]; rows -1 for "any". */
static cJSON *shape(int64_t rows, int64_t width) {
  const double dims[2] = {(double)rows, (double)width};
  return cJSON_CreateDoubleArray(dims, 2);
}

/* {"name","datatype":"FP32","shape":[-1,width]} */
static cJSON *tensor_metadata(const char *name, int width) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && cJSON_AddStringToObject(o, "name", name) != NULL &&
            cJSON_AddStringToObject(o, "datatype", PARSE_INFER_DATATYPE) != NULL &&
            cJSON_AddItemToObject(o, "shape", shape(-1, width));
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}

static bool add_one(cJSON *o, const char *key, cJSON *item) {
  cJSON *arr = cJSON_AddArrayToObject(o, key);
  if (arr != NULL && cJSON_AddItemToArray(arr, item)) return true;
  cJSON_Delete(item);
  return false;
}

/* ["12","11",...]: the versions kept, newest first. */
static cJSON *version_list(const store_model_version *v, size_t n) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; arr != NULL && i < n; i++) {
    if (!cJSON_AddItemToArray(arr, version_string(v[i].version))) {
      cJSON_Delete(arr);
      arr = NULL;
    }
  }
  return arr;
}

/* Add arr (taken; NULL when out of memory) as o's member key. */
static bool add_array(cJSON *o, const char *key, cJSON *arr) {
  if (arr != NULL && cJSON_AddItemToObject(o, key, arr)) return true;
  cJSON_Delete(arr);
  return false;
}

/* A table model's inputs are its columns (infer_columns.h). */
static cJSON *model_metadata(const store_model *m, cJSON *versions, int inputs, int outputs,
                             const predict_encoding *enc) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && cJSON_AddStringToObject(o, "name", m->name) != NULL;
  if (ok) ok = cJSON_AddItemToObject(o, "versions", versions);
  else cJSON_Delete(versions);
  ok = ok && cJSON_AddStringToObject(o, "platform", API_V2_PLATFORM) != NULL &&
       (enc != NULL ? add_array(o, "inputs", infer_columns_metadata(predict_encoding_encoder(enc)))
                    : add_one(o, "inputs", tensor_metadata(PARSE_INFER_INPUT, inputs))) &&
       add_one(o, "outputs", tensor_metadata(PARSE_INFER_OUTPUT, outputs));
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}

/* The answer, written as text like v1's predict (api_predict.c): floats as
 * %.9g, so both protocols print the same numbers for the same weights. */
static void infer_answer(http_response *res, const char *model_name, const char *id,
                         const predict_result *r) {
  json_buf out;
  json_buf_init(&out, 160 + r->rows * (size_t)r->outputs * 16);
  json_buf_lit(&out, "{\"model_name\":");
  json_buf_string(&out, model_name);
  json_buf_lit(&out, ",\"model_version\":\"");
  json_buf_int(&out, r->version);
  json_buf_raw(&out, "\"", 1);
  if (id != NULL) {
    json_buf_lit(&out, ",\"id\":");
    json_buf_string(&out, id);
  }
  json_buf_lit(&out, ",\"outputs\":[{\"name\":\"" PARSE_INFER_OUTPUT "\",\"shape\":[");
  json_buf_int(&out, (int64_t)r->rows);
  json_buf_raw(&out, ",", 1);
  json_buf_int(&out, r->outputs);
  json_buf_lit(&out, "],\"datatype\":\"" PARSE_INFER_DATATYPE "\",\"data\":[");
  size_t n = r->rows * (size_t)r->outputs;
  for (size_t i = 0; i < n; i++) {
    if (i > 0) json_buf_raw(&out, ",", 1);
    json_buf_float(&out, r->y[i]);
  }
  json_buf_lit(&out, "]}]}");
  size_t len = 0;
  char *text = json_buf_take(&out, &len);
  http_text(res, 200, text, len, NULL);
}

/* ---- handlers ------------------------------------------------------------------ */

void api_v2_live(app *a, const http_request *req, http_response *res) {
  (void)a;
  (void)req;
  http_json(res, 200, object_with_bool("live", true));
}

void api_v2_ready(app *a, const http_request *req, http_response *res) {
  (void)req;
  api_error err;
  if (a->health_check == NULL || a->health_check(a, &err) == 0) {
    http_json(res, 200, object_with_bool("ready", true));
    return;
  }
  cJSON *o = object_with_bool("ready", false);
  if (o != NULL && cJSON_AddStringToObject(o, "error", err.message) == NULL) {
    cJSON_Delete(o);
    o = NULL;
  }
  http_json(res, 400, o);
}

void api_v2_server(app *a, const http_request *req, http_response *res) {
  (void)a;
  (void)req;
  cJSON *o = cJSON_CreateObject();
  if (o != NULL && (cJSON_AddStringToObject(o, "name", TRAIND_NAME) == NULL ||
                    cJSON_AddStringToObject(o, "version", TRAIND_VERSION) == NULL ||
                    cJSON_AddArrayToObject(o, "extensions") == NULL)) {
    cJSON_Delete(o);
    o = NULL;
  }
  http_json(res, 200, o);
}

/* The versions the metadata lists: those kept, or the one pinned (404 when
 * it is not kept). */
static int versions_of(store *st, const store_model *m, int64_t version, cJSON **out,
                       api_error *err) {
  store_model_version *v = NULL;
  size_t n = 0, i = 0;
  int rc = store_model_versions(st, m->id, &v, &n);
  if (rc != STORE_OK) {
    rc = api_store_fail(err, rc, NULL, NULL, 0);
    goto out;
  }
  while (version != 0 && i < n && v[i].version != version) i++;
  if (version != 0 && i == n) {
    rc = api_fail(err, API_NOT_FOUND, "version",
                  "model '%s' has no version %" PRId64 "; it keeps %zu, the newest %" PRId64,
                  m->name, version, n, m->version);
    goto out;
  }
  *out = version != 0 ? version_list(&v[i], 1) : version_list(v, n);
out:
  free(v);
  return rc;
}

void api_v2_model(app *a, const http_request *req, http_response *res) {
  store *st;
  store_model m = {0};
  int64_t version;
  int inputs = 0, outputs = 0;
  cJSON *versions = NULL;
  predict_encoding *enc = NULL;
  api_error err;
  if (resolve(a, req, &st, &m, &version, &err) != 0 ||
      versions_of(st, &m, version, &versions, &err) != 0 ||
      widths(a, st, &m, &inputs, &outputs, &enc, &err) != 0) {
    cJSON_Delete(versions);
    http_error(res, &err);
  } else {
    http_json(res, 200, model_metadata(&m, versions, inputs, outputs, enc));
  }
  predict_encoding_unref(enc);
  store_model_clear(&m);
}

/* Load the weights the request names into the predict cache: what readiness
 * means, so a model whose stored weights cannot be read is an error, not ready. */
static int load_weights(app *a, store *st, const store_model *m, int64_t version,
                        api_error *err) {
  nn_weights *w = NULL;
  int64_t loaded;
  int rc = version != 0 ? predict_cache_acquire_version(a->predict_cache, st, m->id, version, &w, NULL, NULL, err)
                        : predict_cache_acquire(a->predict_cache, st, m->id, &w, &loaded, NULL, NULL, err);
  nn_weights_unref(w);
  return rc;
}

void api_v2_model_ready(app *a, const http_request *req, http_response *res) {
  store *st;
  store_model m = {0};
  int64_t version;
  api_error err;
  if (resolve(a, req, &st, &m, &version, &err) != 0 ||
      (m.trained && load_weights(a, st, &m, version, &err) != 0)) {
    http_error(res, &err);
    goto exit;
  }
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && cJSON_AddStringToObject(o, "name", m.name) != NULL &&
            cJSON_AddBoolToObject(o, "ready", m.trained) != NULL;
  if (ok && !m.trained) {
    char why[PARSE_NAME_MAX + 64];
    snprintf(why, sizeof why, "model '%s' is not ready: it has not been trained yet", m.name);
    ok = cJSON_AddStringToObject(o, "error", why) != NULL;
  }
  if (!ok) {
    cJSON_Delete(o);
    o = NULL;
  }
  http_json(res, m.trained ? 200 : 400, o);
exit:
  store_model_clear(&m);
}

/* A predict_fill: the request's tensor, once its width is the model's. */
typedef struct {
  const parse_infer *req;
  const char *model_name;
} infer_fill_ctx;

static int infer_fill(void *ctx, int width, predict_input *in, api_error *err) {
  const infer_fill_ctx *c = ctx;
  if (c->req->features != (size_t)width)
    return api_fail(err, API_INVALID_ARGUMENT, "inputs[0].shape[1]",
                    "inputs[0].shape[1] is %zu; model '%s' takes %d features", c->req->features,
                    c->model_name, width);
  if (predict_input_reserve(in, c->req->rows * (size_t)width) != 0)
    return api_fail(err, API_INTERNAL, NULL, "out of memory for %zu rows", c->req->rows);
  parse_infer_copy(c->req, in->x);
  in->rows = c->req->rows;
  return 0;
}

/* Triton's binary tensor extension sends the JSON header's length in
 * Inference-Header-Content-Length and the tensors' bytes after it: say so,
 * rather than that the JSON is malformed where the bytes begin. */
static int check_json_only(const http_request *req, api_error *err) {
  if (http_header(req, API_V2_BINARY_HEADER) == NULL) return 0;
  return api_fail(err, API_INVALID_ARGUMENT, NULL,
                  "binary tensor data (the " API_V2_BINARY_HEADER " header) is not supported: "
                  "send the tensors as JSON, in each input's \"data\"");
}

/* "model_name" in the body, when given, names the model of the path: by
 * its name, or by the path's own segment (an id). */
static int check_model_name(const http_request *req, const parse_infer *in,
                            const store_model *m, api_error *err) {
  if (in->model_name == NULL || strcmp(in->model_name, m->name) == 0 ||
      strcmp(in->model_name, req->name) == 0)
    return 0;
  return api_fail(err, API_INVALID_ARGUMENT, "model_name",
                  "model_name is '%s' but the path names model '%s'", in->model_name, m->name);
}

/* A predict_fill for a model trained on a table: one named input per
 * column (infer_columns.h); a body that is neither that nor the one tensor
 * keeps the tensor's refusal. */
typedef struct {
  const cJSON *root;
  const api_error *tensor_err; /* why the body is not the one tensor */
} columns_fill_ctx;

static int columns_fill(void *ctx, int width, predict_input *in, api_error *err) {
  const columns_fill_ctx *c = ctx;
  cJSON *records = NULL;
  if (in->encoder == NULL) {
    *err = *c->tensor_err;
    return -(int)err->code;
  }
  int rc = infer_columns_records(c->root, in->encoder, PREDICT_MAX_ROWS, &records, err);
  size_t rows = rc == 0 ? (size_t)cJSON_GetArraySize(records) : 0;
  if (rc == 0 && predict_input_reserve(in, rows * (size_t)width) != 0)
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory for %zu rows", rows);
  if (rc == 0 && (rc = predict_records_read(records, in->encoder, in->x, err)) == 0)
    in->rows = rows;
  cJSON_Delete(records);
  return rc;
}

void api_v2_infer(app *a, const http_request *req, http_response *res) {
  uint64_t start_us = prometheus_clock_us();
  cJSON *root = NULL;
  store *st;
  store_model m = {0};
  int64_t version;
  parse_infer in = {0};
  predict_result out = {0};
  api_error err, tensor_err;
  if (check_json_only(req, &err) != 0 ||
      parse_json_body(req->body, req->body_len, &root, &err) != 0) {
    http_error(res, &err);
    goto exit;
  }
  /* not the one tensor: perhaps a table model's named columns, else refused as it was */
  int tensor = parse_infer_request(root, PREDICT_MAX_ROWS, &in, &tensor_err);
  if (resolve(a, req, &st, &m, &version, &err) != 0 || (tensor != 0 && !m.trained) ||
      (tensor == 0 && check_model_name(req, &in, &m, &err) != 0)) {
    http_error(res, tensor != 0 ? &tensor_err : &err);
    goto exit;
  }
  if (!m.trained) {
    http_fail(res, API_CONFLICT, NULL, "model '%s' is not ready: it has not been trained yet",
              m.name);
    goto exit;
  }
  if (tensor != 0) in.id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "id"));
  infer_fill_ctx ctx = {&in, m.name};
  columns_fill_ctx columns = {root, &tensor_err};
  if (predict_run(a, st, m.id, version, tensor == 0 ? infer_fill : columns_fill,
                  tensor == 0 ? (void *)&ctx : (void *)&columns, &out, &err) != 0) {
    http_error(res, &err);
    goto exit;
  }
  infer_answer(res, m.name, in.id, &out);
  if (res->status == 200) prometheus_prediction(in.rows, prometheus_clock_us() - start_us);
exit:
  predict_result_clear(&out);
  store_model_clear(&m);
  cJSON_Delete(root);
}
