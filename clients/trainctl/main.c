/* main.c — trainctl: global options, then one subcommand group. */
#include <stdlib.h>
#include <string.h>

#include "tc.h"

#define DEFAULT_SERVER "http://127.0.0.1:8080"

static const char usage[] =
    "usage: trainctl [--server URL] [--token T] [--cacert FILE] [--json] COMMAND ...\n"
    "\n"
    "A command line client for the traind training server.\n"
    "\n"
    "commands:\n"
    "  datasets upload|ls|show|rm   datasets (CSV upload)\n"
    "  models create|ls|show|rm|... model specs (also versions, gradcheck, evaluate, export, import)\n"
    "  train                        start a training job (--follow to watch it)\n"
    "  jobs ls|show|cancel|metrics  training jobs\n"
    "  searches create|ls|show|cancel|watch  hyperparameter searches (show: a leaderboard)\n"
    "  watch JOB                    follow a job until it ends\n"
    "  predict MODEL                outputs (and labels) for some inputs, or a stored dataset\n"
    "\n"
    "options:\n"
    "  --server URL   the server (TRAIND_URL; default " DEFAULT_SERVER ")\n"
    "  --token T      sent as \"Authorization: Bearer T\" (TRAIND_TOKEN)\n"
    "  --cacert FILE  trust the CA certificates in FILE (PEM) for an https\n"
    "                 server, instead of the system's (TRAIND_CACERT)\n"
    "  --json         print the server's JSON answers as they are\n"
    "  --help         this help; 'trainctl COMMAND --help' for a command's\n"
    "\n"
    "exit codes: 0 success, 1 server or job error, 2 usage error\n";

static const struct {
  const char *name;
  int (*run)(tc_ctx *ctx, int argc, char **argv);
} commands[] = {
    {"datasets", tc_cmd_datasets}, {"models", tc_cmd_models}, {"jobs", tc_cmd_jobs},
    {"searches", tc_cmd_searches},
    {"train", tc_cmd_train},       {"watch", tc_cmd_watch},   {"predict", tc_cmd_predict},
};

/* An environment variable, with an empty one counting as unset. */
static const char *env(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Where the global option arg ("--name" or "--name=value") that takes a
 * value goes, or NULL when arg is not one; *inline_value gets the text after
 * '=', or NULL. */
static const char **option_value(tc_ctx *ctx, const char *arg, const char **inline_value) {
  const struct {
    const char *name;
    const char **value;
  } options[] = {{"--server", &ctx->server}, {"--token", &ctx->token}, {"--cacert", &ctx->cacert}};
  for (size_t o = 0; o < sizeof options / sizeof options[0]; o++) {
    size_t len = strlen(options[o].name);
    if (strncmp(arg, options[o].name, len) == 0 && (arg[len] == '\0' || arg[len] == '=')) {
      *inline_value = arg[len] == '=' ? arg + len + 1 : NULL;
      return options[o].value;
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  tc_ctx ctx = {.server = env("TRAIND_URL"), .token = env("TRAIND_TOKEN"),
                .cacert = env("TRAIND_CACERT")};
  char *server = NULL;
  const char **value, *inline_value;
  int i = 1, rc;

  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(usage, stdout);
      return TC_OK;
    } else if (strcmp(arg, "--json") == 0) {
      ctx.json = true;
    } else if ((value = option_value(&ctx, arg, &inline_value)) != NULL) {
      if (inline_value == NULL && i + 1 == argc)
        return tc_usage_error("", "%s needs a value", arg);
      *value = inline_value != NULL ? inline_value : argv[++i];
    } else {
      return tc_usage_error("", "unknown option '%s'", arg);
    }
  }
  if (i == argc) return tc_usage_error("", "no command given");

  int cmd = -1;
  for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
    if (strcmp(argv[i], commands[c].name) == 0) cmd = (int)c;
  if (cmd < 0) return tc_usage_error("", "unknown command '%s'", argv[i]);

  /* The paths the commands append start with '/': drop the URL's trailing ones. */
  server = strdup(ctx.server != NULL ? ctx.server : DEFAULT_SERVER);
  if (server == NULL) return TC_FAIL;
  for (size_t len = strlen(server); len > 0 && server[len - 1] == '/'; len--)
    server[len - 1] = '\0';
  ctx.server = server;

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (ctx.curl = curl_easy_init()) == NULL) {
    fprintf(stderr, "trainctl: cannot initialise libcurl\n");
    free(server);
    return TC_FAIL;
  }
  rc = commands[cmd].run(&ctx, argc - i - 1, argv + i + 1);
  curl_easy_cleanup(ctx.curl);
  curl_global_cleanup();
  free(server);
  return rc;
}
