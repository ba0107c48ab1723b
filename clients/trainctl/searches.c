/* searches.c — trainctl searches create|ls|show|cancel|watch: hyperparameter
 * searches, show printing each trial as a row of a leaderboard (watch is in
 * search_watch.c). */
#include <stdlib.h>
#include <string.h>

#include "tc.h"

static const char help[] =
    "usage: trainctl searches create SEARCH.json\n"
    "       trainctl searches ls\n"
    "       trainctl searches show ID\n"
    "       trainctl searches cancel ID\n"
    "       trainctl searches watch ID\n"
    "\n"
    "create sends a search request (docs/api.md, POST /v1/searches) as written;\n"
    "show prints the search's state and best trial, then a row per trial: its\n"
    "state, rung, epochs trained, metric and drawn values; cancel stops the\n"
    "search and its running trials; watch follows the search's event stream\n"
    "until it ends: on a terminal the leaderboard redrawn at each change,\n"
    "otherwise a line per change (a trial started, paused at a rung with its\n"
    "metric, promoted, done, stopped, failed), then the final leaderboard and\n"
    "best trial (with --json, only the final search's JSON). watch exits 0\n"
    "only if the search succeeded.\n";

static const tc_column columns[] = {
    {"ID", "id"}, {"STATE", "state"}, {"CREATED", "created_at"}, {"FINISHED", "finished_at"},
};

static const tc_column trial_columns[] = {
    {"TRIAL", "trial"}, {"STATE", "state"},   {"RUNG", "rung"},     {"EPOCHS", "epochs"},
    {"METRIC", "metric"}, {"MODEL", "model"}, {"JOB", "job"},       {"PARAMS", "params"},
};

static const tc_resource searches = {"searches", "search", help, columns,
                                     sizeof columns / sizeof columns[0]};

static int create(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv) {
  (void)sub;
  tc_reply reply;
  int rc = tc_create_from_file(ctx, res, argc, argv, "/v1/searches", "SEARCH.json", &reply);
  if (rc != TC_OK) return rc == TC_HELP ? TC_OK : rc;
  if (ctx->json) {
    tc_print_raw(&reply);
  } else {
    char id[32];
    tc_format(cJSON_GetObjectItemCaseSensitive(reply.json, "id"), id, sizeof id);
    printf("search %s started\n", id);
  }
  tc_reply_free(&reply);
  return TC_OK;
}

/* show ID (the leaderboard) and cancel ID */
static int act(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv) {
  long long id;
  int rc = tc_resource_id(res, sub, argc, argv, &id);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  bool cancel = strcmp(sub, "cancel") == 0;
  char path[128];
  snprintf(path, sizeof path, "/v1/searches/%lld%s", id, cancel ? "/cancel" : "");
  tc_reply reply;
  if ((rc = tc_request(ctx, cancel ? "POST" : "GET", path, NULL, &reply)) != TC_OK) return rc;
  if (ctx->json)
    tc_print_raw(&reply);
  else
    rc = tc_print_search(id, reply.json);
  tc_reply_free(&reply);
  return rc;
}

int tc_print_search(long long id, const cJSON *search) {
  char state[32], best[32] = "none", metric[32] = "";
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(search, "best");
  tc_format(cJSON_GetObjectItemCaseSensitive(search, "state"), state, sizeof state);
  if (cJSON_IsObject(b)) {
    tc_format(cJSON_GetObjectItemCaseSensitive(b, "trial"), best, sizeof best);
    tc_format(cJSON_GetObjectItemCaseSensitive(b, "metric"), metric, sizeof metric);
  }
  printf("search %lld: %s, best trial %s%s%s\n", id, state, best, metric[0] ? " metric " : "",
         metric);
  return tc_print_table(cJSON_GetObjectItemCaseSensitive(search, "trials"), trial_columns,
                        sizeof trial_columns / sizeof trial_columns[0]);
}

int tc_cmd_searches(tc_ctx *ctx, int argc, char **argv) {
  static const tc_subcommand subs[] = {{"create", create},
                                       {"ls", tc_resource_common},
                                       {"show", act},
                                       {"cancel", act},
                                       {"watch", tc_search_watch},
                                       {NULL, NULL}};
  return tc_group(ctx, &searches, subs, argc, argv);
}
