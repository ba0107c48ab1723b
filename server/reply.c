/* reply.c — list answers and store failures (reply.h). */
#include "reply.h"

#include "log.h"

void reply_list_start(reply_list *l, const char *key) {
  l->root = cJSON_CreateObject();
  l->arr = cJSON_AddArrayToObject(l->root, key);
  if (l->arr == NULL) {
    cJSON_Delete(l->root);
    l->root = NULL;
  }
}

void reply_list_add(reply_list *l, cJSON *item) {
  if (l->root != NULL && cJSON_AddItemToArray(l->arr, item)) return;
  cJSON_Delete(item);
  cJSON_Delete(l->root);
  l->root = l->arr = NULL;
}

void reply_list_add_row(reply_list *l, cJSON *item, bool damaged, const char *what, int64_t id) {
  if (item == NULL && damaged) {
    log_write(LOG_ERROR, "%s %lld is damaged in the database (its stored JSON does not parse); "
              "left out of the list", what, (long long)id);
    return;
  }
  reply_list_add(l, item);
}

void reply_row(http_response *res, cJSON *item, bool damaged, const char *what, int64_t id) {
  if (item == NULL && damaged)
    http_fail(res, API_INTERNAL, NULL, "%s %lld is damaged in the database", what, (long long)id);
  else
    http_json(res, 200, item); /* NULL: out of memory, 500 */
}

void reply_list_end(reply_list *l, http_response *res) {
  http_json(res, 200, l->root); /* NULL answers 500 */
  l->root = l->arr = NULL;
}

void reply_store_error(http_response *res, int status, const char *what, int64_t id) {
  api_error err;
  api_store_fail(&err, status, what, "id", id);
  http_error(res, &err);
}
