/* api_models.c — model endpoints: validate specs, store, answer. */
#include "api_models.h"

#include <stdlib.h>

#include "budget.h"
#include "json_out.h"
#include "predict_cache.h"
#include "parse_spec.h"
#include "store.h"

void api_models_create(app *a, const http_request *req, http_response *res) {
  cJSON *root = NULL, *normalized = NULL;
  char *spec_text = NULL;
  nn_spec spec;
  char name[PARSE_NAME_MAX + 1];
  api_error err;
  store_model row = {0};
  if (parse_json_body(req->body, req->body_len, &root, &err) != 0 ||
      parse_spec(root, &spec, name, &err) != 0 ||
      budget_check_model(a->cfg.memory_budget, &spec, &err) != 0) {
    http_error(res, &err);
    goto out;
  }
  /* Stored with its name, as parse_spec reads it back when a job trains it. */
  normalized = parse_spec_to_json(&spec, name);
  spec_text = normalized != NULL ? cJSON_PrintUnformatted(normalized) : NULL;
  if (spec_text == NULL) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    goto out;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) goto out;
  int rc = store_model_insert(st, name, spec_text, (int64_t)nn_spec_param_count(&spec), &row);
  if (rc != STORE_OK) {
    app_answer_store_error(res, rc);
    goto out;
  }
  http_json(res, 201, json_out_model(&row));
out:
  store_model_clear(&row);
  free(spec_text);
  cJSON_Delete(normalized);
  cJSON_Delete(root);
}

void api_models_list(app *a, const http_request *req, http_response *res) {
  (void)req;
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  store_model *list;
  size_t n;
  int rc = store_model_list(st, &list, &n);
  if (rc != STORE_OK) {
    app_answer_store_error(res, rc);
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(root, "models");
  int ok = arr != NULL;
  for (size_t i = 0; ok && i < n; i++)
    ok = cJSON_AddItemToArray(arr, json_out_model_summary(&list[i]));
  store_model_list_free(list, n);
  if (!ok) {
    cJSON_Delete(root);
    root = NULL;
  }
  http_json(res, 200, root);
}

/* Answer a failed store call about model id. */
static void model_store_error(http_response *res, int rc, int64_t id) {
  if (rc == STORE_ENOTFOUND)
    http_fail(res, API_NOT_FOUND, "id", "no model with id %lld", (long long)id);
  else
    app_answer_store_error(res, rc);
}

void api_models_get(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_model m;
  int rc = store_model_get(st, id, &m);
  if (rc != STORE_OK)
    model_store_error(res, rc, id);
  else
    http_json(res, 200, json_out_model(&m));
  store_model_clear(&m);
}

void api_models_delete(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  int rc = store_model_delete(st, id);
  if (rc == STORE_ECONFLICT) {
    http_fail(res, API_CONFLICT, "id",
              "model %lld has a queued or running job; cancel it first", (long long)id);
  } else if (rc != STORE_OK) {
    model_store_error(res, rc, id);
  } else {
    predict_cache_forget(a->predict_cache, id);
    res->status = 204;
  }
}

void api_models_versions(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_model_version *list;
  size_t n;
  int rc = store_model_versions(st, id, &list, &n);
  if (rc != STORE_OK) {
    model_store_error(res, rc, id);
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(root, "versions");
  int ok = arr != NULL;
  for (size_t i = 0; ok && i < n; i++)
    ok = cJSON_AddItemToArray(arr, json_out_model_version(&list[i]));
  free(list);
  if (!ok) {
    cJSON_Delete(root);
    root = NULL;
  }
  http_json(res, 200, root);
}
