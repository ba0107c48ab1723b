/* datasets.c — trainctl datasets upload|ls|show|rm. */
#include <errno.h>
#include <string.h>

#include "tc.h"

static const char help[] =
    "usage: trainctl datasets upload FILE.csv --target COL[,COL] [--name N]\n"
    "       trainctl datasets ls\n"
    "       trainctl datasets show ID\n"
    "       trainctl datasets rm ID\n"
    "\n"
    "upload streams a CSV file with a header row; --target names the target\n"
    "column(s) (a non-numeric target makes a classification dataset); the name\n"
    "defaults to the file's name without its directory and extension.\n";

static const tc_column columns[] = {
    {"ID", "id"},           {"NAME", "name"}, {"ROWS", "rows"},          {"FEATURES", "features"},
    {"OUTPUTS", "outputs"}, {"TASK", "task"}, {"CREATED", "created_at"},
};

static const tc_resource datasets = {"datasets", "dataset", help, columns,
                                     sizeof columns / sizeof columns[0]};

/* "dir/iris.csv" -> "iris" */
static void default_name(const char *file, char *name, size_t size) {
  const char *base = strrchr(file, '/');
  snprintf(name, size, "%s", base != NULL ? base + 1 : file);
  char *dot = strrchr(name, '.');
  if (dot != NULL && dot != name) *dot = '\0';
}

static int upload(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv) {
  (void)sub;
  const char *target = NULL, *name = NULL, *file;
  const tc_option opts[] = {
      {"--target", &target, NULL}, {"--name", &name, NULL}, {NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, &file, 1, &n_pos, res->group);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  if (n_pos == 0) return tc_usage_error("datasets ", "upload needs a CSV file");
  if (target == NULL) return tc_usage_error("datasets ", "upload needs --target COL");

  char default_buf[256], path[1024] = "/v1/datasets";
  if (name == NULL) {
    default_name(file, default_buf, sizeof default_buf);
    name = default_buf;
  }
  if (tc_query_add(ctx, path, sizeof path, "name", name) != 0 ||
      tc_query_add(ctx, path, sizeof path, "target", target) != 0)
    return tc_usage_error("datasets ", "the name or target is too long");

  FILE *f = fopen(file, "rb");
  if (f == NULL) {
    fprintf(stderr, "trainctl: cannot open %s: %s\n", file, strerror(errno));
    return TC_FAIL;
  }
  tc_reply reply;
  rc = tc_upload(ctx, path, f, "text/csv", &reply);
  fclose(f);
  if (rc != TC_OK) return rc;
  tc_print_show(ctx, &reply);
  tc_reply_free(&reply);
  return TC_OK;
}

int tc_cmd_datasets(tc_ctx *ctx, int argc, char **argv) {
  static const tc_subcommand subs[] = {{"upload", upload},
                                       {"ls", tc_resource_common},
                                       {"show", tc_resource_common},
                                       {"rm", tc_resource_common},
                                       {NULL, NULL}};
  return tc_group(ctx, &datasets, subs, argc, argv);
}
