/* models.c — trainctl models create|ls|show|rm. */
#include <stdlib.h>

#include "tc.h"

static const char help[] =
    "usage: trainctl models create SPEC.json\n"
    "       trainctl models ls\n"
    "       trainctl models show ID\n"
    "       trainctl models rm ID\n"
    "\n"
    "SPEC.json is a model spec: {\"name\",\"inputs\",\"layers\":[...],\"loss\",\"seed\",\n"
    "\"normalize\"}; the server answers with it normalized, defaults filled in.\n";

static const tc_column columns[] = {
    {"ID", "id"},           {"NAME", "name"},         {"PARAMETERS", "parameters"},
    {"VERSION", "version"}, {"TRAINED", "trained"},   {"LAST_JOB", "last_job"},
    {"CREATED", "created_at"},
};

static const tc_resource models = {"models", "model", help, columns,
                                   sizeof columns / sizeof columns[0]};

static int create(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv) {
  (void)sub;
  const char *file;
  const tc_option opts[] = {{NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, &file, 1, &n_pos, res->group);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  if (n_pos == 0) return tc_usage_error("models ", "create needs a SPEC.json file");

  /* Sent as written: the server checks it and names the faulty field. */
  char *body = tc_read_file(file);
  if (body == NULL) return TC_FAIL;
  tc_reply reply;
  rc = tc_request(ctx, "POST", "/v1/models", body, &reply);
  free(body);
  if (rc != TC_OK) return rc;
  tc_print_show(ctx, &reply);
  tc_reply_free(&reply);
  return TC_OK;
}

int tc_cmd_models(tc_ctx *ctx, int argc, char **argv) {
  static const tc_subcommand subs[] = {{"create", create},
                                       {"ls", tc_resource_common},
                                       {"show", tc_resource_common},
                                       {"rm", tc_resource_common},
                                       {NULL, NULL}};
  return tc_group(ctx, &models, subs, argc, argv);
}
