/*
 * api_predict.c — predictions from the published weights.
 *
 * The hot path: the body is read straight into floats (predict_body.c) and
 * the answer written as text (json_buf.c), instead of a cJSON tree with a
 * node and an allocation per number and a print-and-reparse per float. Only
 * an unusual or invalid body takes the generic parser, which names the
 * offending field.
 */
#include "api_predict.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "json_buf.h"
#include "prometheus.h"
#include "parse_json.h"
#include "predict.h"
#include "predict_body.h"
#include "predict_records.h"

/* ---- the generic path: any body, errors named ------------------------------ */

/* The "inputs" member: a non-empty array of at most PREDICT_MAX_ROWS rows;
 * or "records" (raw records for a model trained on a table). */
static int check_inputs(const cJSON *root, const cJSON **inputs, const cJSON **records,
                        size_t *rows, api_error *err) {
  static const char *const keys[] = {"inputs", "records", NULL};
  int rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, keys, err);
  if (rc != 0) return rc;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "inputs");
  *records = cJSON_GetObjectItemCaseSensitive(root, "records");
  if (v != NULL && *records != NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "records", "send inputs or records, not both");
  if (*records != NULL) return predict_records_check(*records, PREDICT_MAX_ROWS, rows, err);
  if (v == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "inputs",
                    "inputs is required (or records, for a model trained on a table)");
  size_t n = 0;
  for (const cJSON *r = cJSON_IsArray(v) ? v->child : NULL; r != NULL; r = r->next) n++;
  if (n == 0 || n > PREDICT_MAX_ROWS)
    return api_fail(err, API_INVALID_ARGUMENT, "inputs",
                    "inputs must be an array of 1 to %d rows", PREDICT_MAX_ROWS);
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

/* Parse and check a body the fast reader declined; in == NULL checks the
 * body alone (the model is unknown). @return 0, or an api code */
static int read_generic(const http_request *req, int width, predict_input *in, api_error *err) {
  cJSON *root = NULL;
  const cJSON *inputs = NULL, *records = NULL;
  size_t rows = 0;
  int rc = parse_json_body(req->body, req->body_len, &root, err);
  if (rc == 0) rc = check_inputs(root, &inputs, &records, &rows, err);
  if (rc == 0 && in != NULL && records != NULL && in->encoder == NULL)
    rc = api_fail(err, API_INVALID_ARGUMENT, "records",
                  "this model was trained on numbers: send inputs, arrays of %d numbers", width);
  if (rc == 0 && in != NULL) {
    if (predict_input_reserve(in, rows * (size_t)width) != 0) {
      rc = api_fail(err, API_INTERNAL, NULL, "out of memory for %zu rows", rows);
    } else if ((rc = records != NULL ? predict_records_read(records, in->encoder, in->x, err)
                                     : read_rows(inputs, width, in->x, err)) == 0) {
      in->rows = rows;
    }
  }
  cJSON_Delete(root);
  return rc;
}

typedef struct {
  const http_request *req;
  int filled; /* the model was found: the fill ran */
} fill_ctx;

/* A predict_fill: the fast reader, else the generic path. */
static int fill(void *ctx, int width, predict_input *in, api_error *err) {
  fill_ctx *c = ctx;
  c->filled = 1;
  switch (predict_body_read(c->req->body, c->req->body_len, width, PREDICT_MAX_ROWS, &in->x,
                            &in->cap, &in->rows)) {
  case PREDICT_BODY_OK:
    return 0;
  case PREDICT_BODY_NOMEM:
    return api_fail(err, API_INTERNAL, NULL, "out of memory");
  case PREDICT_BODY_OTHER:
    break;
  }
  return read_generic(c->req, width, in, err);
}

/* ---- the answer ----------------------------------------------------------------- */

/* Each row's class name: argmax over one unit per class, or a single
 * sigmoid unit for two classes. Skipped when the names do not fit. */
static void write_labels(json_buf *out, const char *classes_text, const float *y, size_t rows,
                         int outputs) {
  cJSON *classes = classes_text != NULL ? cJSON_Parse(classes_text) : NULL;
  int n_classes = cJSON_GetArraySize(classes);
  if (classes == NULL || !(n_classes == outputs || (outputs == 1 && n_classes == 2))) goto done;
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
done:
  cJSON_Delete(classes);
}

/* {"model":1,"version":12,"outputs":[[...],...],"labels":[...]} */
static void answer(http_response *res, int64_t model_id, const predict_result *r) {
  json_buf out;
  json_buf_init(&out, 64 + r->rows * (size_t)r->outputs * 16);
  json_buf_lit(&out, "{\"model\":");
  json_buf_int(&out, model_id);
  json_buf_lit(&out, ",\"version\":");
  json_buf_int(&out, r->version);
  json_buf_lit(&out, ",\"outputs\":[");
  for (size_t i = 0; i < r->rows; i++) {
    json_buf_raw(&out, i > 0 ? ",[" : "[", i > 0 ? 2 : 1);
    for (int k = 0; k < r->outputs; k++) {
      if (k > 0) json_buf_raw(&out, ",", 1);
      json_buf_float(&out, r->y[i * (size_t)r->outputs + (size_t)k]);
    }
    json_buf_raw(&out, "]", 1);
  }
  json_buf_raw(&out, "]", 1);
  write_labels(&out, r->classes, r->y, r->rows, r->outputs);
  json_buf_raw(&out, "}", 1);
  size_t len = 0;
  char *text = json_buf_take(&out, &len);
  http_text(res, 200, text, len, NULL);
}

void api_predict(app *a, const http_request *req, http_response *res) {
  uint64_t start_us = prometheus_clock_us();
  int64_t id = (int64_t)req->ids[0];
  int64_t version = 0;
  predict_result out = {0};
  fill_ctx ctx = {req, 0};
  api_error err, body_err;
  if (route_query_int(&req->query, "version", 1, PARSE_MAX_SAFE_INT, &version, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  if (predict_run(a, st, id, version, fill, &ctx, &out, &err) != 0) {
    /* a bad body is reported before an unknown or untrained model */
    int bad_body = !ctx.filled && read_generic(req, 0, NULL, &body_err) != 0;
    http_error(res, bad_body ? &body_err : &err);
    goto exit;
  }
  answer(res, id, &out);
  if (res->status == 200) prometheus_prediction(out.rows, prometheus_clock_us() - start_us);
exit:
  predict_result_clear(&out);
}
