/* api_evaluate.c — evaluations of a model's weights on a stored dataset:
 * computed within the request (evaluation.h), stored, listed and read. */
#include "api_evaluate.h"

#include <stdlib.h>

#include "evaluation.h"
#include "json_eval.h"
#include "fit.h"
#include "parse_json.h"
#include "reply.h"

typedef struct {
  int64_t dataset;
  int64_t version; /* 0: the newest */
} request;

static int parse_request(const http_request *req, request *r, api_error *err) {
  static const char *const keys[] = {"dataset", "version", NULL};
  cJSON *root = NULL;
  r->version = 0;
  int rc = parse_json_body(req->body, req->body_len, &root, err);
  if (rc == 0) rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, keys, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "dataset", PARSE_REQUIRED, 1, PARSE_MAX_SAFE_INT,
                        &r->dataset, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "version", PARSE_OPTIONAL, 1, PARSE_MAX_SAFE_INT,
                        &r->version, err);
  cJSON_Delete(root);
  return rc;
}

void api_evaluate(app *a, const http_request *req, http_response *res) {
  int64_t id = (int64_t)req->ids[0];
  request r;
  api_error err;
  fit_weights w = {0};
  store_evaluation row = {0};
  if (parse_request(req, &r, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  if (fit_weights_load(st, id, r.version, &w, &err) != 0 ||
      evaluation_run(st, id, r.dataset, &w, 0, "dataset", &row, &err) != 0) {
    http_error(res, &err);
  } else {
    http_json(res, 201, json_eval_evaluation(&row, true));
  }
  store_evaluation_clear(&row);
  fit_weights_clear(&w);
}

void api_evaluations_list(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_model model;
  store_evaluation *list = NULL;
  size_t n = 0;
  int rc = store_model_get(st, id, &model);
  store_model_clear(&model);
  if (rc == STORE_OK) rc = store_evaluation_list(st, id, &list, &n);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "model", id);
    return;
  }
  reply_list l;
  reply_list_start(&l, "evaluations");
  for (size_t i = 0; i < n; i++) {
    /* NULL: damaged (its JSON parsed again only then), or out of memory */
    cJSON *item = json_eval_evaluation(&list[i], false);
    reply_list_add_row(&l, item, item == NULL && json_eval_damaged(&list[i], false),
                       "evaluation", list[i].id);
  }
  store_evaluation_list_free(list, n);
  reply_list_end(&l, res);
}

void api_evaluations_get(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0], eid = (int64_t)req->ids[1];
  store_model model;
  store_evaluation e;
  api_error err;
  int rc = store_model_get(st, id, &model);
  store_model_clear(&model);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "model", id);
    return;
  }
  rc = store_evaluation_get(st, id, eid, &e);
  if (rc != STORE_OK) {
    if (rc == STORE_ENOTFOUND)
      api_fail(&err, API_NOT_FOUND, "eid", "model %lld has no evaluation %lld", (long long)id,
               (long long)eid);
    else
      api_store_fail(&err, rc, NULL, "eid", eid);
    http_error(res, &err);
    return;
  }
  cJSON *item = json_eval_evaluation(&e, true);
  reply_row(res, item, item == NULL && json_eval_damaged(&e, true), "evaluation", eid);
  store_evaluation_clear(&e);
}
