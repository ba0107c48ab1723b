/* jobs.c — trainctl jobs ls|show|cancel|metrics. */
#include <string.h>

#include "tc.h"

static const char help[] =
    "usage: trainctl jobs ls [--state S] [--model ID]\n"
    "       trainctl jobs show ID\n"
    "       trainctl jobs cancel ID\n"
    "       trainctl jobs metrics ID\n"
    "\n"
    "States: queued, running, succeeded, failed, cancelled. cancel stops a running\n"
    "job within one batch; metrics lists the job's per-epoch metrics.\n";

static const tc_column columns[] = {
    {"ID", "id"},       {"MODEL", "model"},       {"DATASET", "dataset"},
    {"STATE", "state"}, {"EPOCH", "epoch"},       {"EPOCHS", "epochs"},
    {"LOSS", "loss"},   {"VAL_LOSS", "val_loss"}, {"ACCURACY", "accuracy"},
    {"CREATED", "created_at"},
};

static const tc_column metric_columns[] = {
    {"EPOCH", "epoch"},       {"LOSS", "loss"},
    {"VAL_LOSS", "val_loss"}, {"ACCURACY", "accuracy"},
    {"VAL_ACCURACY", "val_accuracy"}, {"LR", "lr"},
    {"SECONDS", "seconds"},
};

static const tc_resource jobs = {"jobs", "job", help, columns, sizeof columns / sizeof columns[0]};

static int list(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv) {
  (void)sub;
  const char *state = NULL, *model = NULL;
  const tc_option opts[] = {
      {"--state", &state, NULL}, {"--model", &model, NULL}, {NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, NULL, 0, &n_pos, res->group);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  long long model_id;
  if (model != NULL && (rc = tc_parse_count("jobs ", "--model", model, &model_id)) != TC_OK)
    return rc;

  char path[512] = "/v1/jobs";
  if ((state != NULL && tc_query_add(ctx, path, sizeof path, "state", state) != 0) ||
      (model != NULL && tc_query_add(ctx, path, sizeof path, "model", model) != 0))
    return tc_usage_error("jobs ", "--state is too long");
  return tc_list(ctx, res, path);
}

/* cancel ID (POST) and metrics ID (a table of epochs). */
static int act(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv) {
  long long id;
  int rc = tc_resource_id(res, sub, argc, argv, &id);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;

  bool cancel = strcmp(sub, "cancel") == 0;
  char path[128];
  snprintf(path, sizeof path, "/v1/jobs/%lld%s", id, cancel ? "/cancel" : "/metrics");
  tc_reply reply;
  if ((rc = tc_request(ctx, cancel ? "POST" : "GET", path, NULL, &reply)) != TC_OK) return rc;
  if (ctx->json)
    tc_print_raw(&reply);
  else if (cancel)
    tc_print_object(reply.json);
  else
    rc = tc_print_table(cJSON_GetObjectItemCaseSensitive(reply.json, "metrics"), metric_columns,
                        sizeof metric_columns / sizeof metric_columns[0]);
  tc_reply_free(&reply);
  return rc;
}

int tc_cmd_jobs(tc_ctx *ctx, int argc, char **argv) {
  static const tc_subcommand subs[] = {{"ls", list},
                                       {"show", tc_resource_common},
                                       {"cancel", act},
                                       {"metrics", act},
                                       {NULL, NULL}};
  return tc_group(ctx, &jobs, subs, argc, argv);
}
