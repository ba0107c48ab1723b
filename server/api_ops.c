/* api_ops.c — operational endpoints. */
#include "api_ops.h"

void api_ops_healthz(app *a, const http_request *req, http_response *res) {
  (void)req;
  api_error err;
  if (a->health_check != NULL && a->health_check(a, &err) < 0) {
    http_error(res, &err);
    return;
  }
  cJSON *body = cJSON_CreateObject();
  if (body != NULL && cJSON_AddStringToObject(body, "status", "ok") == NULL) {
    cJSON_Delete(body);
    body = NULL;
  }
  http_json(res, 200, body);
}

void api_ops_info(app *a, const http_request *req, http_response *res) {
  (void)a;
  (void)req;
  cJSON *body = cJSON_CreateObject();
  if (body != NULL && (cJSON_AddStringToObject(body, "name", TRAIND_NAME) == NULL ||
                       cJSON_AddStringToObject(body, "version", TRAIND_VERSION) == NULL ||
                       cJSON_AddStringToObject(body, "api", "v1") == NULL)) {
    cJSON_Delete(body);
    body = NULL;
  }
  http_json(res, 200, body);
}
