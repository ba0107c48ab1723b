/* api_searches.c — search endpoints: check a request whole and store it (the
 * scheduler runs it), and report a search from its rows and its jobs. */
#include "api_searches.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "reply.h"
#include "search_config.h"
#include "search_end.h"
#include "search_run.h"
#include "store_searches.h"

void api_searches_create(app *a, const http_request *req, http_response *res) {
  cJSON *root = NULL, *normalized = NULL;
  char *text = NULL;
  search_config c = {0};
  api_error err;
  store_search row = {0};
  if (parse_json_body(req->body, req->body_len, &root, &err) != 0) {
    http_error(res, &err);
    goto out;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) goto out;
  if (search_config_parse(st, a->cfg.memory_budget, root, &c, &err) != 0) {
    http_error(res, &err);
    goto out;
  }
  normalized = search_config_to_json(&c);
  text = normalized ? cJSON_PrintUnformatted(normalized) : NULL;
  if (text == NULL) {
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    goto out;
  }
  int rc = store_search_insert(st, text, &row);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    goto out;
  }
  search_run_notify(a->searches);
  cJSON *o = cJSON_CreateObject();
  if (o && parse_json_add_int(o, "id", row.id) == 0 &&
      cJSON_AddStringToObject(o, "state", store_search_state_name(row.state)) &&
      cJSON_AddItemToObject(o, "config", normalized))
    normalized = NULL;
  else {
    cJSON_Delete(o);
    o = NULL;
  }
  http_json(res, 202, o);
out:
  store_search_clear(&row);
  search_config_clear(&c);
  free(text);
  cJSON_Delete(normalized);
  cJSON_Delete(root);
}

/* ---- reports ------------------------------------------------------------------- */

static cJSON *number_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* One trial: its newest rung row says where it is. */
static cJSON *report_trial(store *st, const store_search *s,
                           const store_search_trial *t, const store_search_rung *rungs,
                           size_t n, const int *rung_epochs, int n_rungs, double *best_metric,
                           int64_t *best_rung) {
  const store_search_rung *last = NULL, *done = NULL;
  for (size_t i = 0; i < n; i++) {
    if (rungs[i].trial != t->trial) continue;
    if (!last || rungs[i].rung > last->rung) last = &rungs[i];
    if (rungs[i].state == STORE_RUNG_DONE && (!done || rungs[i].rung > done->rung))
      done = &rungs[i];
  }
  int64_t epochs = done ? rung_epochs[done->rung] : 0;
  const char *state = "pending";
  if (last && last->state == STORE_RUNG_RUNNING) { /* its one job counts every epoch */
    store_job j = {0};
    if (store_job_get(st, last->job_id, &j) == STORE_OK) epochs = j.epoch;
    store_job_clear(&j);
    state = "running";
  } else if (last && last->state == STORE_RUNG_FAILED) {
    state = "failed";
  } else if (last) {
    state = last->rung == n_rungs - 1       ? "done"
            : s->state == STORE_SEARCH_RUNNING ? "paused"
                                               : "stopped";
  }
  *best_metric = done ? done->metric : NAN;
  *best_rung = done ? done->rung : -1;
  cJSON *o = cJSON_CreateObject();
  if (!o || parse_json_add_int(o, "trial", t->trial) < 0 ||
      !cJSON_AddItemToObject(o, "params", cJSON_Parse(t->params)) ||
      parse_json_add_int(o, "model", t->model_id) < 0 ||
      !cJSON_AddItemToObject(o, "job", last && last->job_id
                                           ? cJSON_CreateNumber((double)last->job_id)
                                           : cJSON_CreateNull()) ||
      !cJSON_AddStringToObject(o, "state", state) ||
      !cJSON_AddNumberToObject(o, "rung", last ? (double)last->rung : 0) ||
      parse_json_add_int(o, "epochs", epochs) < 0 ||
      !cJSON_AddItemToObject(o, "metric", number_or_null(*best_metric))) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static cJSON *report(store *st, const store_search *s) {
  search_config c;
  api_error err;
  cJSON *root = cJSON_Parse(s->config), *o = NULL, *trials = NULL, *best = NULL;
  store_search_trial *tl = NULL;
  store_search_rung *rl = NULL;
  size_t nt = 0, nr = 0;
  int rung_epochs[ASHA_MAX_RUNGS];
  if (!root || search_config_parse(NULL, 0, root, &c, &err) != 0) {
    cJSON_Delete(root);
    return NULL;
  }
  int n_rungs = 1;
  if (c.method == SEARCH_ASHA)
    n_rungs = asha_rungs(&c.asha, rung_epochs);
  else
    rung_epochs[0] = c.asha.max_epochs;
  if (store_search_trials(st, s->id, &tl, &nt) != STORE_OK ||
      store_search_rungs(st, s->id, &rl, &nr) != STORE_OK)
    goto fail;
  o = cJSON_CreateObject();
  trials = cJSON_CreateArray();
  if (!o || !trials || parse_json_add_int(o, "id", s->id) < 0 ||
      !cJSON_AddStringToObject(o, "state", store_search_state_name(s->state)) ||
      !cJSON_AddItemToObject(o, "config", root))
    goto fail;
  root = NULL;
  double best_m = NAN;
  int64_t best_r = -1;
  for (size_t i = 0; i < nt; i++) {
    double m;
    int64_t r;
    cJSON *t = report_trial(st, s, &tl[i], rl, nr, rung_epochs, n_rungs, &m, &r);
    if (!t) goto fail;
    cJSON_AddItemToArray(trials, t);
    if (r >= 0 && (best_r < 0 || search_end_better(&c, r, m, best_r, best_m))) {
      best = t;
      best_m = m;
      best_r = r;
    }
  }
  cJSON *best_copy = best ? cJSON_Duplicate(best, 1) : cJSON_CreateNull();
  if (!cJSON_AddItemToObject(o, "trials", trials)) goto fail;
  trials = NULL;
  if (!best_copy || !cJSON_AddItemToObject(o, "best", best_copy) ||
      !cJSON_AddStringToObject(o, "created_at", s->created_at) ||
      !cJSON_AddItemToObject(o, "finished_at", s->finished_at[0]
                                                   ? cJSON_CreateString(s->finished_at)
                                                   : cJSON_CreateNull()))
    goto fail;
  goto out;
fail:
  cJSON_Delete(o);
  o = NULL;
out:
  cJSON_Delete(root);
  cJSON_Delete(trials);
  store_search_trials_free(tl, nt);
  free(rl);
  search_config_clear(&c);
  return o;
}

void api_searches_list(app *a, const http_request *req, http_response *res) {
  (void)req;
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  store_search *list;
  size_t n;
  int rc = store_search_list(st, &list, &n);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    return;
  }
  reply_list l;
  reply_list_start(&l, "searches");
  for (size_t i = 0; i < n; i++) reply_list_add(&l, report(st, &list[i]));
  store_search_list_free(list, n);
  reply_list_end(&l, res);
}

void api_searches_get(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_search s;
  int rc = store_search_get(st, id, &s);
  if (rc != STORE_OK)
    reply_store_error(res, rc, "search", id);
  else
    reply_row(res, report(st, &s), true, "search", id);
  store_search_clear(&s);
}

void api_searches_cancel(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_search s;
  int rc = store_search_get(st, id, &s);
  if (rc == STORE_OK) rc = s.state == STORE_SEARCH_RUNNING ? search_end(st, &s, STORE_SEARCH_CANCELLED)
                                                           : STORE_ECONFLICT;
  store_search_clear(&s);
  if (rc == STORE_ECONFLICT) {
    http_fail(res, API_CONFLICT, "id", "search %lld has ended", (long long)id);
    return;
  }
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "search", id);
    return;
  }
  search_run_notify(a->searches); /* its next pass cancels the trials' jobs */
  api_searches_get(a, req, res);
}
