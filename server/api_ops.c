/* api_ops.c — operational endpoints. */
#include "api_ops.h"

#include <stdio.h>
#include <sys/stat.h>

#include "log.h"
#include "prometheus.h"
#include "notify.h"
#include "store.h"

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

/* Jobs by state, counted by the store now. @return 0, or -1 (logged) */
static int count_jobs(app *a, uint64_t by_state[STORE_JOB_STATE_COUNT]) {
  store *st = app_store(a);
  int64_t counts[STORE_JOB_STATE_COUNT];
  int rc = st != NULL ? store_job_count(st, counts) : STORE_EIO;
  if (rc != STORE_OK) {
    log_write(LOG_WARN, "metrics: cannot count the jobs: %s", store_strerror(rc));
    return -1;
  }
  for (int i = 0; i < STORE_JOB_STATE_COUNT; i++) by_state[i] = (uint64_t)counts[i];
  return 0;
}

/* The database file plus its write-ahead log (absent between checkpoints).
 * @return 0, or -1 when the database file cannot be stat'ed */
static int database_bytes(const char *db_path, uint64_t *bytes) {
  char wal[CONFIG_PATH_MAX + 8];
  struct stat st;
  if (stat(db_path, &st) != 0) return -1;
  *bytes = (uint64_t)st.st_size;
  snprintf(wal, sizeof wal, "%s-wal", db_path);
  if (stat(wal, &st) == 0) *bytes += (uint64_t)st.st_size;
  return 0;
}

void api_ops_metrics(app *a, const http_request *req, http_response *res) {
  (void)req;
  prometheus_gauges g = {0};
  g.jobs_known = count_jobs(a, g.jobs) == 0;
  g.database_known = database_bytes(a->cfg.db_path, &g.database_bytes) == 0;
  g.event_streams = notify_streams(a->events);
  size_t n_routes;
  const route *routes = router_table(&n_routes);
  char *text = NULL;
  size_t len = 0;
  if (prometheus_format(routes, n_routes, &g, &text, &len) < 0) {
    http_fail(res, API_INTERNAL, NULL, "out of memory formatting the metrics");
    return;
  }
  http_text(res, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}
