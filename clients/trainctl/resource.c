/* resource.c — the subcommands every group shares: ls, show ID, rm ID. */
#include <stdlib.h>
#include <string.h>

#include "tc.h"

int tc_help(const tc_resource *res) {
  fputs(res->help, stdout);
  return TC_OK;
}

int tc_list(tc_ctx *ctx, const tc_resource *res, const char *path) {
  tc_reply reply;
  int rc = tc_request(ctx, "GET", path, NULL, &reply);
  if (rc != TC_OK) return rc;
  if (ctx->json)
    tc_print_raw(&reply);
  else
    rc = tc_print_table(cJSON_GetObjectItemCaseSensitive(reply.json, res->group), res->columns,
                        res->n_columns);
  tc_reply_free(&reply);
  return rc;
}

int tc_resource_id(const tc_resource *res, const char *sub, int argc, char **argv,
                   long long *id) {
  const char *id_text = NULL;
  const tc_option opts[] = {{NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, &id_text, 1, &n_pos, res->group);
  if (rc != TC_OK) return rc;
  char hint[64];
  snprintf(hint, sizeof hint, "%s ", res->group);
  if (n_pos == 0) return tc_usage_error(hint, "%s needs a %s ID", sub, res->noun);
  char what[64];
  snprintf(what, sizeof what, "the %s ID", res->noun);
  return tc_parse_count(hint, what, id_text, id);
}

int tc_create_from_file(tc_ctx *ctx, const tc_resource *res, int argc, char **argv,
                        const char *path, const char *what, tc_reply *reply) {
  const char *file;
  const tc_option opts[] = {{NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, &file, 1, &n_pos, res->group);
  if (rc == TC_HELP) tc_help(res);
  if (rc != TC_OK) return rc;
  char hint[64];
  snprintf(hint, sizeof hint, "%s ", res->group);
  if (n_pos == 0) return tc_usage_error(hint, "create needs a %s file", what);
  char *body = tc_read_file(file);
  if (body == NULL) return TC_FAIL;
  rc = tc_request(ctx, "POST", path, body, reply);
  free(body);
  return rc;
}

int tc_resource_common(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc,
                       char **argv) {
  char path[128];
  int rc;
  snprintf(path, sizeof path, "/v1/%s", res->group);
  if (strcmp(sub, "ls") == 0) {
    const tc_option opts[] = {{NULL, NULL, NULL}};
    int n_pos;
    rc = tc_parse(argc, argv, opts, NULL, 0, &n_pos, res->group);
    if (rc == TC_HELP) return tc_help(res);
    return rc != TC_OK ? rc : tc_list(ctx, res, path);
  }
  long long id;
  rc = tc_resource_id(res, sub, argc, argv, &id);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  snprintf(path, sizeof path, "/v1/%s/%lld", res->group, id);

  bool rm = strcmp(sub, "rm") == 0;
  tc_reply reply;
  if ((rc = tc_request(ctx, rm ? "DELETE" : "GET", path, NULL, &reply)) != TC_OK) return rc;
  if (!rm)
    tc_print_show(ctx, &reply);
  else if (!ctx->json)
    printf("deleted %s %lld\n", res->noun, id);
  tc_reply_free(&reply);
  return TC_OK;
}

int tc_group(tc_ctx *ctx, const tc_resource *res, const tc_subcommand *subs, int argc,
             char **argv) {
  char hint[64];
  snprintf(hint, sizeof hint, "%s ", res->group);
  if (argc == 0) return tc_usage_error(hint, "%s needs a subcommand", res->group);
  const char *sub = argv[0];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) return tc_help(res);
  for (const tc_subcommand *s = subs; s->name != NULL; s++)
    if (strcmp(sub, s->name) == 0) return s->run(ctx, res, sub, argc - 1, argv + 1);
  return tc_usage_error(hint, "unknown %s subcommand '%s'", res->group, sub);
}
