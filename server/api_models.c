/* api_models.c — model endpoints: validate specs, store, answer. */
#include "api_models.h"

#include <stdlib.h>

#include "budget.h"
#include "json_out.h"
#include "json_table.h"
#include "parse_spec.h"
#include "predict_cache.h"
#include "reply.h"
#include "store.h"

void api_models_create(app *a, const http_request *req, http_response *res) {
  cJSON *root = NULL, *normalized = NULL;
  char *spec_text = NULL;
  nn_spec spec = {0};
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
  cJSON *pre = cJSON_DetachItemFromObjectCaseSensitive(root, "preprocess");
  if (normalized != NULL && pre != NULL) cJSON_AddItemToObject(normalized, "preprocess", pre);
  else cJSON_Delete(pre);
  spec_text = normalized != NULL ? cJSON_PrintUnformatted(normalized) : NULL;
  if (spec_text == NULL) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    goto out;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) goto out;
  int rc = store_model_insert(st, name, spec_text, (int64_t)nn_spec_param_count(&spec), &row);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    goto out;
  }
  http_json(res, 201, json_out_model(&row));
out:
  store_model_clear(&row);
  free(spec_text);
  cJSON_Delete(normalized);
  cJSON_Delete(root);
  parse_spec_free(&spec);
}

void api_models_list(app *a, const http_request *req, http_response *res) {
  (void)req;
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  store_model *list;
  size_t n;
  int rc = store_model_list(st, &list, &n);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    return;
  }
  reply_list l;
  reply_list_start(&l, "models");
  for (size_t i = 0; i < n; i++) {
    /* NULL: damaged (its JSON parsed again only then), or out of memory */
    cJSON *item = json_out_model_summary(&list[i]);
    reply_list_add_row(&l, item, item == NULL && json_out_model_damaged(&list[i]), "model",
                       list[i].id);
  }
  store_model_list_free(list, n);
  reply_list_end(&l, res);
}

/* A model trained on a table shows the encoding of its newest weights
 * (through the predict cache, which holds it with them), and their
 * parameters. @return 0 or -1 */
static int add_encoding(app *a, store *st, cJSON *item, int64_t id) {
  nn_weights *w = NULL;
  predict_encoding *enc = NULL;
  int64_t version;
  api_error err;
  int rc = 0;
  if (predict_cache_acquire(a->predict_cache, st, id, &w, &version, NULL, &enc, &err) != 0)
    return 0; /* deleted or untrained meanwhile: the row as read */
  if (enc != NULL) {
    cJSON *e = json_table_encoding(predict_encoding_encoder(enc));
    rc = e != NULL && cJSON_AddItemToObject(item, "encoding", e) ? 0 : -1;
    if (rc != 0) cJSON_Delete(e);
    /* created without inputs, it counted none of its first layer's weights */
    cJSON *n = cJSON_CreateNumber((double)nn_spec_param_count(nn_weights_spec(w)));
    if (rc == 0 && (n == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(item, "parameters", n))) {
      cJSON_Delete(n);
      rc = -1;
    }
  }
  predict_encoding_unref(enc);
  nn_weights_unref(w);
  return rc;
}

void api_models_get(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_model m;
  int rc = store_model_get(st, id, &m);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "model", id);
  } else {
    cJSON *item = json_out_model(&m);
    if (item != NULL && m.trained && add_encoding(a, st, item, id) != 0) {
      cJSON_Delete(item);
      http_fail(res, API_INTERNAL, NULL, "out of memory");
    } else {
      reply_row(res, item, item == NULL && json_out_model_damaged(&m), "model", id);
    }
  }
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
    reply_store_error(res, rc, "model", id);
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
    reply_store_error(res, rc, "model", id);
    return;
  }
  reply_list l;
  reply_list_start(&l, "versions");
  for (size_t i = 0; i < n; i++) reply_list_add(&l, json_out_model_version(&list[i]));
  free(list);
  reply_list_end(&l, res);
}
