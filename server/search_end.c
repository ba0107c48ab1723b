/* search_end.c — a search's last events: its stopped trials and its best
 * trial, from its rung rows (search_end.h). Reads the config and the rung
 * rows once; O(rows). */
#include "search_end.h"

#include <math.h>
#include <stdlib.h>

#include "parse_json.h"

int search_end_better(const search_config *c, int64_t ra, double ma, int64_t rb, double mb) {
  if (ma != mb) return c->asha.maximize ? ma > mb : ma < mb;
  return ra > rb;
}

/* The detail of 'finished': {"state": .., "best": {trial, rung, job, metric} or null}. */
static cJSON *summary(const search_config *c, store_search_state state,
                      const store_search_rung *rungs, size_t n) {
  const store_search_rung *best = NULL;
  for (size_t i = 0; i < n; i++) {
    const store_search_rung *g = &rungs[i];
    /* a trial's rows come in rung order: its last done row is its result */
    if (g->state != STORE_RUNG_DONE) continue;
    if (i + 1 < n && rungs[i + 1].trial == g->trial && rungs[i + 1].state == STORE_RUNG_DONE)
      continue;
    if (!best || search_end_better(c, g->rung, g->metric, best->rung, best->metric)) best = g;
  }
  cJSON *o = cJSON_CreateObject(), *b = best ? cJSON_CreateObject() : cJSON_CreateNull();
  if (!o || !b || !cJSON_AddStringToObject(o, "state", store_search_state_name(state)) ||
      !cJSON_AddItemToObject(o, "best", b)) {
    cJSON_Delete(o);
    cJSON_Delete(b);
    return NULL;
  }
  if (best && (parse_json_add_int(b, "trial", best->trial) < 0 ||
               parse_json_add_int(b, "rung", best->rung) < 0 ||
               parse_json_add_int(b, "job", best->job_id) < 0 ||
               !cJSON_AddNumberToObject(b, "metric", best->metric))) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

int search_end(store *st, const store_search *s, store_search_state state) {
  search_config c = {0};
  api_error err;
  store_search_rung *rungs = NULL;
  size_t n = 0, n_stopped = 0;
  int64_t *stopped = NULL;
  char *text = NULL;
  cJSON *root = cJSON_Parse(s->config), *detail = NULL;
  int rc = root && search_config_parse(NULL, 0, root, &c, &err) == 0 ? STORE_OK : STORE_EIO;
  int rung_epochs[ASHA_MAX_RUNGS];
  int last = rc == STORE_OK && c.method == SEARCH_ASHA ? asha_rungs(&c.asha, rung_epochs) - 1 : 0;
  if (rc == STORE_OK) rc = store_search_rungs(st, s->id, &rungs, &n);
  if (rc == STORE_OK && n > 0 && !(stopped = calloc(n, sizeof *stopped))) rc = STORE_ENOMEM;
  /* paused: the trial's last row is done below the last rung */
  for (size_t i = 0; rc == STORE_OK && i < n; i++)
    if ((i + 1 == n || rungs[i + 1].trial != rungs[i].trial) &&
        rungs[i].state == STORE_RUNG_DONE && rungs[i].rung < last)
      stopped[n_stopped++] = rungs[i].trial;
  if (rc == STORE_OK) {
    detail = summary(&c, state, rungs, n);
    text = detail ? cJSON_PrintUnformatted(detail) : NULL;
    if (!text) rc = STORE_ENOMEM;
  }
  if (rc == STORE_OK) rc = store_search_finish(st, s->id, state, stopped, n_stopped, text);
  free(text);
  cJSON_Delete(detail);
  cJSON_Delete(root);
  free(stopped);
  free(rungs);
  search_config_clear(&c);
  return rc;
}
