/*
 * api_predictions.c — /v1/predictions: a batch prediction is checked and
 * queued within the request (202), then run by the workers; its output is
 * streamed block by block from the store, so neither end holds it whole.
 */
#include "api_predictions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "jobs.h"
#include "json_buf.h"
#include "parse_json.h"
#include "predict_cache.h"
#include "prediction_output.h"
#include "reply.h"
#include "store_predictions.h"

typedef struct {
  int64_t model;
  int64_t version; /* 0: the newest */
  int64_t dataset;
} request;

static int parse_request(const http_request *req, request *r, api_error *err) {
  static const char *const keys[] = {"model", "version", "dataset", NULL};
  cJSON *root = NULL;
  r->version = 0;
  int rc = parse_json_body(req->body, req->body_len, &root, err);
  if (rc == 0) rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, keys, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "model", PARSE_REQUIRED, 1, PARSE_MAX_SAFE_INT, &r->model,
                        err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "version", PARSE_OPTIONAL, 1, PARSE_MAX_SAFE_INT,
                        &r->version, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "dataset", PARSE_REQUIRED, 1, PARSE_MAX_SAFE_INT,
                        &r->dataset, err);
  cJSON_Delete(root);
  return rc;
}

static cJSON *prediction_json(const store_prediction *p) {
  cJSON *o = cJSON_CreateObject();
  char output[64];
  snprintf(output, sizeof output, "/v1/predictions/%lld/output", (long long)p->id);
  bool ok = o != NULL && cJSON_AddNumberToObject(o, "id", (double)p->id) &&
            cJSON_AddNumberToObject(o, "model", (double)p->model_id) &&
            cJSON_AddNumberToObject(o, "version", (double)p->version) &&
            cJSON_AddNumberToObject(o, "dataset", (double)p->dataset_id) &&
            cJSON_AddStringToObject(o, "state", store_job_state_name(p->state)) &&
            cJSON_AddNumberToObject(o, "rows", (double)p->rows) &&
            cJSON_AddNumberToObject(o, "rows_done", (double)p->rows_done) &&
            cJSON_AddNumberToObject(o, "progress",
                                    p->rows > 0 ? (double)p->rows_done / (double)p->rows : 0) &&
            cJSON_AddStringToObject(o, "created_at", p->created_at) &&
            (p->started_at[0] == '\0' ? cJSON_AddNullToObject(o, "started_at")
                                      : cJSON_AddStringToObject(o, "started_at", p->started_at)) &&
            (p->finished_at[0] == '\0'
                 ? cJSON_AddNullToObject(o, "finished_at")
                 : cJSON_AddStringToObject(o, "finished_at", p->finished_at)) &&
            (p->error == NULL ? cJSON_AddNullToObject(o, "error")
                              : cJSON_AddStringToObject(o, "error", p->error)) &&
            cJSON_AddBoolToObject(o, "cancel_requested", p->cancel_requested) &&
            (p->state != STORE_JOB_SUCCEEDED ? cJSON_AddNullToObject(o, "output")
                                             : cJSON_AddStringToObject(o, "output", output));
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* A failure naming the path's model or version names the request's field. */
static void rename_field(api_error *err, const char *from, const char *to) {
  if (strcmp(err->field, from) == 0) snprintf(err->field, sizeof err->field, "%s", to);
}

/* The rows a prediction of dataset meta covers: a table's with a target. */
static int64_t rows_of(const store_dataset *meta) {
  return meta->table ? meta->rows - meta->rows_without_target : meta->rows;
}

void api_predictions_create(app *a, const http_request *req, http_response *res) {
  request r;
  api_error err;
  fit_weights w = {0};
  store_dataset meta = {0};
  store_prediction row = {0};
  if (parse_request(req, &r, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int rc = fit_weights_load(st, r.model, r.version, &w, &err);
  if (rc != 0) rename_field(&err, "id", "model");
  if (rc == 0 && (rc = store_dataset_get(st, r.dataset, &meta)) != STORE_OK)
    rc = api_store_fail(&err, rc, "dataset", "dataset", r.dataset);
  if (rc == 0) rc = fit_check(&meta, nn_model_spec(w.model), r.model, &err);
  if (rc == 0 && rows_of(&meta) <= 0)
    rc = api_fail(&err, API_UNPROCESSABLE, "dataset", "dataset %lld has no row with a target "
                  "to predict", (long long)r.dataset);
  if (rc == 0) {
    store_prediction p = {.model_id = r.model, .version = w.version, .dataset_id = r.dataset,
                          .rows = rows_of(&meta)};
    if ((rc = store_prediction_insert(st, &p, &row)) != STORE_OK)
      rc = api_store_fail(&err, rc, "model", "model", r.model);
  }
  if (rc != 0) {
    http_error(res, &err);
  } else {
    jobs_notify(a->jobs);
    http_json(res, 202, prediction_json(&row));
  }
  store_prediction_clear(&row);
  store_dataset_clear(&meta);
  fit_weights_clear(&w);
}

void api_predictions_list(app *a, const http_request *req, http_response *res) {
  (void)req;
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  store_prediction *list = NULL;
  size_t n = 0;
  int rc = store_prediction_list(st, &list, &n);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    return;
  }
  reply_list l;
  reply_list_start(&l, "predictions");
  for (size_t i = 0; i < n; i++) reply_list_add(&l, prediction_json(&list[i]));
  store_prediction_list_free(list, n);
  reply_list_end(&l, res);
}

void api_predictions_get(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_prediction p;
  int rc = store_prediction_get(st, id, &p);
  if (rc != STORE_OK) reply_store_error(res, rc, "prediction", id);
  else http_json(res, 200, prediction_json(&p));
  store_prediction_clear(&p);
}

void api_predictions_cancel(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_prediction p = {0};
  int rc = store_prediction_cancel(st, id, &p);
  if (rc == STORE_ECONFLICT)
    http_fail(res, API_CONFLICT, "id", "prediction %lld has ended", (long long)id);
  else if (rc != STORE_OK)
    reply_store_error(res, rc, "prediction", id);
  else
    http_json(res, 200, prediction_json(&p));
  store_prediction_clear(&p);
}

/* ---- the output stream --------------------------------------------------------- */

/* One output download; lives on its connection's thread until output_free. */
typedef struct {
  app *a;
  int64_t id;
  int64_t next;  /* the next row to write */
  int64_t rows;  /* the prediction's */
  prediction_output fmt;
  char *text;    /* the formatted block being handed out */
  size_t len, at;
} output;

/* http_body_reader: hand out the formatted block; else format the next. */
static ssize_t output_read(void *ctx, uint64_t pos, char *buf, size_t max) {
  output *o = ctx;
  (void)pos;
  while (o->at == o->len) {
    if (o->next >= o->rows) return HTTP_BODY_END;
    store *st = app_store(o->a);
    int64_t first, rows;
    int outputs;
    float *y = NULL;
    if (st == NULL ||
        store_prediction_block_read(st, o->id, o->next, &first, &rows, &outputs, &y) !=
            STORE_OK ||
        first != o->next || outputs != o->fmt.outputs) {
      free(y);
      return HTTP_BODY_ERROR; /* the client sees the body cut short */
    }
    json_buf b;
    json_buf_init(&b, (size_t)rows * (size_t)outputs * 16 + 64);
    prediction_output_rows(&o->fmt, &b, first, (size_t)rows, y);
    free(y);
    free(o->text);
    o->at = 0;
    if ((o->text = json_buf_take(&b, &o->len)) == NULL) return HTTP_BODY_ERROR;
    o->next = first + rows;
  }
  size_t n = o->len - o->at < max ? o->len - o->at : max;
  memcpy(buf, o->text + o->at, n);
  o->at += n;
  return (ssize_t)n;
}

static void output_free(void *ctx) {
  output *o = ctx;
  prediction_output_clear(&o->fmt);
  free(o->text);
  free(o);
}

void api_predictions_output(app *a, const http_request *req, http_response *res) {
  int64_t id = (int64_t)req->ids[0];
  const char *format = route_query_get(&req->query, "format");
  prediction_format f = PREDICTION_CSV;
  if (format != NULL && strcmp(format, "jsonl") == 0) f = PREDICTION_JSONL;
  else if (format != NULL && strcmp(format, "csv") != 0) {
    http_fail(res, API_INVALID_ARGUMENT, "format", "format must be csv or jsonl");
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  store_prediction p;
  api_error err;
  nn_weights *w = NULL;
  char *classes = NULL;
  predict_encoding *enc = NULL;
  output *o = NULL;
  int rc = store_prediction_get(st, id, &p);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "prediction", id);
    goto out;
  }
  if (p.state != STORE_JOB_SUCCEEDED) {
    http_fail(res, API_CONFLICT, "id", "prediction %lld is %s: its output is there once it "
              "has succeeded", (long long)id, store_job_state_name(p.state));
    goto out;
  }
  /* the class names its labels come from: its weights' */
  if (predict_cache_acquire_version(a->predict_cache, st, p.model_id, p.version, &w, &classes,
                                    &enc, &err) != 0) {
    http_error(res, &err);
    goto out;
  }
  json_buf head;
  if ((o = calloc(1, sizeof *o)) == NULL ||
      prediction_output_init(&o->fmt, f, nn_spec_outputs(nn_weights_spec(w)), classes) != 0) {
    free(o);
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    goto out;
  }
  o->a = a;
  o->id = id;
  o->rows = p.rows;
  json_buf_init(&head, 256);
  prediction_output_header(&o->fmt, &head);
  o->text = json_buf_take(&head, &o->len);
  http_stream(res, 200, f == PREDICTION_CSV ? "text/csv" : "application/x-ndjson", output_read,
              output_free, o);
  if (o->text == NULL) http_fail(res, API_INTERNAL, NULL, "out of memory");
out:
  predict_encoding_unref(enc);
  free(classes);
  nn_weights_unref(w);
  store_prediction_clear(&p);
}
