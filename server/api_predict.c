/* api_predict.c — predictions from the published weights. */
#include "api_predict.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

#include "json_out.h"
#include "metrics.h"
#include "parse_json.h"
#include "predict.h"
#include "store.h"

/* The "inputs" member: a non-empty array of at most PREDICT_MAX_ROWS rows. */
static int check_inputs(const cJSON *root, const cJSON **inputs, size_t *rows, api_error *err) {
  static const char *const keys[] = {"inputs", NULL};
  int rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, keys, err);
  if (rc != 0) return rc;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "inputs");
  if (v == NULL) return api_fail(err, API_INVALID_ARGUMENT, "inputs", "inputs is required");
  size_t n = 0;
  for (const cJSON *r = cJSON_IsArray(v) ? v->child : NULL; r != NULL; r = r->next) n++;
  if (n == 0 || n > PREDICT_MAX_ROWS)
    return api_fail(err, API_INVALID_ARGUMENT, "inputs",
                    "inputs must be an array of 1 to %d rows", PREDICT_MAX_ROWS);
  *inputs = v;
  *rows = n;
  return 0;
}

/* Copy the rows into x (rows, width), naming the first row that does not fit
 * (a predict_fill; ctx is the "inputs" array). */
static int read_rows(void *ctx, int width, float *x, api_error *err) {
  const cJSON *inputs = ctx;
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

/* The class names the model's published weights predict (recorded with
 * them from their dataset), or NULL for regression. */
static cJSON *trained_classes(store *st, int64_t model_id) {
  store_model m;
  cJSON *classes = NULL;
  if (store_model_get(st, model_id, &m) == STORE_OK && m.classes != NULL)
    classes = cJSON_Parse(m.classes);
  store_model_clear(&m);
  return classes;
}

/* Each row's class name: argmax over one unit per class, or a single
 * sigmoid unit for two classes. @return 0, or -1 when out of memory */
static int add_labels(cJSON *root, const cJSON *classes, const float *y, size_t rows,
                      int outputs) {
  int n_classes = cJSON_GetArraySize(classes);
  if (!(n_classes == outputs || (outputs == 1 && n_classes == 2))) return 0;
  cJSON *labels = cJSON_AddArrayToObject(root, "labels");
  if (labels == NULL) return -1;
  for (size_t i = 0; i < rows; i++) {
    const float *row = y + i * (size_t)outputs; /* (outputs,) */
    int best = 0;
    if (outputs == 1 && n_classes == 2) {
      best = row[0] >= 0.5f;
    } else {
      for (int k = 1; k < outputs; k++)
        if (row[k] > row[best]) best = k;
    }
    const cJSON *name = cJSON_GetArrayItem(classes, best);
    if (!cJSON_AddItemToArray(labels, cJSON_CreateString(cJSON_GetStringValue(name))))
      return -1;
  }
  return 0;
}

static cJSON *answer(int64_t model_id, int64_t version, const float *y, size_t rows,
                     int outputs, const cJSON *classes) {
  cJSON *root = cJSON_CreateObject();
  cJSON *arr = NULL;
  int ok = root != NULL && cJSON_AddNumberToObject(root, "model", (double)model_id) != NULL &&
           cJSON_AddNumberToObject(root, "version", (double)version) != NULL &&
           (arr = cJSON_AddArrayToObject(root, "outputs")) != NULL;
  for (size_t i = 0; ok && i < rows; i++) {
    cJSON *row = cJSON_CreateArray();
    ok = cJSON_AddItemToArray(arr, row);
    for (int k = 0; ok && k < outputs; k++)
      ok = cJSON_AddItemToArray(row, json_out_float(y[i * (size_t)outputs + (size_t)k]));
  }
  if (ok && classes != NULL) ok = add_labels(root, classes, y, rows, outputs) == 0;
  if (ok) return root;
  cJSON_Delete(root);
  return NULL;
}

void api_predict(app *a, const http_request *req, http_response *res) {
  uint64_t start_us = metrics_clock_us();
  int64_t id = (int64_t)req->ids[0];
  cJSON *root = NULL, *classes = NULL;
  const cJSON *inputs = NULL;
  predict_result out = {0};
  size_t rows = 0;
  api_error err;
  if (parse_json_body(req->body, req->body_len, &root, &err) != 0 ||
      check_inputs(root, &inputs, &rows, &err) != 0) {
    http_error(res, &err);
    goto exit;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) goto exit;
  if (predict_run(a, st, id, 0, rows, read_rows, (void *)inputs, &out, &err) != 0) {
    http_error(res, &err);
    goto exit;
  }
  cJSON_Delete(root); /* the numbers are in out now */
  root = NULL;
  classes = trained_classes(st, id);
  http_json(res, 200, answer(id, out.version, out.y, rows, out.outputs, classes));
  if (res->status == 200) metrics_prediction(rows, metrics_clock_us() - start_us);
exit:
  cJSON_Delete(classes);
  predict_result_clear(&out);
  cJSON_Delete(root);
}
