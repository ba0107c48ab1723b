/* models.c — trainctl models create|ls|show|rm|versions|gradcheck|evaluate|export|import. */
#include <stdlib.h>
#include <string.h>

#include "tc.h"

static const char help[] =
    "usage: trainctl models create SPEC.json\n"
    "       trainctl models ls\n"
    "       trainctl models show ID\n"
    "       trainctl models rm ID\n"
    "       trainctl models versions ID\n"
    "       trainctl models gradcheck ID --dataset ID [--samples N]\n"
    "       trainctl models evaluate ID --dataset ID [--version N]\n"
    "       trainctl models export ID --format onnx|traind -o FILE [--version N]\n"
    "       trainctl models import FILE\n"
    "\n"
    "SPEC.json is a model spec: {\"name\",\"inputs\",\"layers\":[...],\"loss\",\"seed\",\n"
    "\"normalize\"}; the server answers with it normalized, defaults filled in.\n"
    "versions lists the weights versions the server keeps, newest first; predict\n"
    "--version N answers with one of them.\n"
    "gradcheck compares backprop with finite differences of the loss on N rows\n"
    "(1..64, default 8) of the dataset, at the model's newest weights, and prints\n"
    "each layer's largest relative error; it exits 1 when the check fails.\n"
    "evaluate scores the newest weights (or version N) on every row of the dataset\n"
    "and keeps the evaluation on the server: the per-class table and accuracy, log\n"
    "loss and ROC AUC of a classifier, or RMSE, MAE and R2 of a regressor (--json:\n"
    "every metric and curve).\n"
    "export writes the newest weights (or version N) to FILE: --format traind is\n"
    "the model file (spec, weights, standardization, class names) that import\n"
    "recreates as a new model; --format onnx is an ONNX model for ONNX Runtime.\n";

static const tc_column columns[] = {
    {"ID", "id"},           {"NAME", "name"},         {"PARAMETERS", "parameters"},
    {"VERSION", "version"}, {"TRAINED", "trained"},   {"LAST_JOB", "last_job"},
    {"CREATED", "created_at"},
};

static const tc_resource models = {"models", "model", help, columns,
                                   sizeof columns / sizeof columns[0]};

static int create(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv) {
  (void)sub;
  tc_reply reply;
  int rc = tc_create_from_file(ctx, res, argc, argv, "/v1/models", "SPEC.json", &reply);
  if (rc != TC_OK) return rc == TC_HELP ? TC_OK : rc;
  tc_print_show(ctx, &reply);
  tc_reply_free(&reply);
  return TC_OK;
}

static const tc_column version_columns[] = {
    {"VERSION", "version"}, {"JOB", "job"},           {"EPOCH", "epoch"},
    {"BYTES", "bytes"},     {"PUBLISHED", "published_at"},
};

static int versions(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc,
                    char **argv) {
  const char *id_text = NULL;
  const tc_option opts[] = {{NULL, NULL, NULL}};
  long long id;
  int n_pos, rc = tc_parse(argc, argv, opts, &id_text, 1, &n_pos, res->group);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  if (n_pos == 0) return tc_usage_error("models ", "%s needs a model ID", sub);
  if ((rc = tc_parse_count("models ", "the model ID", id_text, &id)) != TC_OK) return rc;
  char path[64];
  snprintf(path, sizeof path, "/v1/models/%lld/versions", id);
  tc_reply reply;
  if ((rc = tc_request(ctx, "GET", path, NULL, &reply)) != TC_OK) return rc;
  if (ctx->json)
    tc_print_raw(&reply);
  else
    rc = tc_print_table(cJSON_GetObjectItemCaseSensitive(reply.json, "versions"),
                        version_columns, sizeof version_columns / sizeof version_columns[0]);
  tc_reply_free(&reply);
  return rc;
}

static const tc_column gradcheck_columns[] = {
    {"LAYER", "layer"},
    {"TYPE", "type"},
    {"ACTIVATION", "activation"},
    {"WEIGHT_ERROR", "weight_error"},
    {"BIAS_ERROR", "bias_error"},
    {"WEIGHTS", "weights_checked"},
    {"BIASES", "biases_checked"},
    {"SKIPPED", "skipped"},
};

/* A graph model's check: one row per parameter node. */
static const tc_column gradcheck_node_columns[] = {
    {"NODE", "name"},
    {"OP", "op"},
    {"ERROR", "error"},
    {"CHECKED", "checked"},
    {"SKIPPED", "skipped"},
};

/* The per-layer (or per-node) table, then the verdict. @return TC_OK when
 * the check passed */
static int print_gradcheck(const cJSON *g) {
  char max_error[32], threshold[32], checked[32], samples[32];
  const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(g, "nodes");
  int rc = nodes != NULL
               ? tc_print_table(nodes, gradcheck_node_columns,
                                sizeof gradcheck_node_columns / sizeof gradcheck_node_columns[0])
               : tc_print_table(cJSON_GetObjectItemCaseSensitive(g, "layers"), gradcheck_columns,
                                sizeof gradcheck_columns / sizeof gradcheck_columns[0]);
  if (rc != TC_OK) return rc;
  tc_format(cJSON_GetObjectItemCaseSensitive(g, "max_error"), max_error, sizeof max_error);
  tc_format(cJSON_GetObjectItemCaseSensitive(g, "threshold"), threshold, sizeof threshold);
  tc_format(cJSON_GetObjectItemCaseSensitive(g, "checked"), checked, sizeof checked);
  tc_format(cJSON_GetObjectItemCaseSensitive(g, "samples"), samples, sizeof samples);
  int pass = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "pass"));
  printf("%s: largest relative error %s (threshold %s), %s parameters checked on %s rows\n",
         pass ? "pass" : "FAIL", max_error, threshold, checked, samples);
  return pass ? TC_OK : TC_FAIL;
}

/* Parse "ID --dataset ID [FLAG N]" (gradcheck, evaluate); *n keeps its
 * default without FLAG. @return TC_OK, or what to exit with (help, usage) */
static int model_on_dataset(const tc_resource *res, const char *sub, int argc, char **argv,
                            const char *flag, long long *id, long long *dataset_id,
                            long long *n) {
  const char *id_text = NULL, *dataset = NULL, *value = NULL;
  const tc_option opts[] = {
      {"--dataset", &dataset, NULL}, {flag, &value, NULL}, {NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, &id_text, 1, &n_pos, res->group);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  if (n_pos == 0) return tc_usage_error("models ", "%s needs a model ID", sub);
  if (dataset == NULL) return tc_usage_error("models ", "%s needs --dataset ID", sub);
  if ((rc = tc_parse_count("models ", "the model ID", id_text, id)) != TC_OK ||
      (rc = tc_parse_count("models ", "--dataset", dataset, dataset_id)) != TC_OK ||
      (value != NULL && (rc = tc_parse_count("models ", flag, value, n)) != TC_OK))
    return rc;
  return TC_OK;
}

static int gradcheck(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc,
                     char **argv) {
  long long id, dataset_id, n = 8;
  int rc = model_on_dataset(res, sub, argc, argv, "--samples", &id, &dataset_id, &n);
  if (rc != TC_OK) return rc;

  /* The range of --samples is the server's to check and name. */
  char path[128], body[96];
  snprintf(path, sizeof path, "/v1/models/%lld/gradcheck", id);
  snprintf(body, sizeof body, "{\"dataset\":%lld,\"samples\":%lld}", dataset_id, n);
  tc_reply reply;
  if ((rc = tc_request(ctx, "POST", path, body, &reply)) != TC_OK) return rc;
  if (ctx->json) {
    tc_print_raw(&reply);
    rc = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply.json, "pass")) ? TC_OK : TC_FAIL;
  } else {
    rc = print_gradcheck(reply.json);
  }
  tc_reply_free(&reply);
  return rc;
}

static const tc_column class_columns[] = {
    {"CLASS", "label"}, {"PRECISION", "precision"}, {"RECALL", "recall"},
    {"F1", "f1"},       {"SUPPORT", "support"},     {"ROC_AUC", "roc_auc"},
};

/* A classifier's per-class table, or nothing for a regressor; then the
 * summary's numbers on one line. */
static int print_evaluation(const cJSON *e) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "metrics");
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(m, "per_class");
  static const char *const classification[] = {"accuracy", "log_loss", "roc_auc", NULL};
  static const char *const regression[] = {"rmse", "mae", "r2", NULL};
  const char *const *keys = rows != NULL ? classification : regression;
  if (rows != NULL) {
    int rc = tc_print_table(rows, class_columns, sizeof class_columns / sizeof class_columns[0]);
    if (rc != TC_OK) return rc;
  }
  char id[32], rows_text[32], value[32];
  tc_format(cJSON_GetObjectItemCaseSensitive(e, "id"), id, sizeof id);
  tc_format(cJSON_GetObjectItemCaseSensitive(e, "rows"), rows_text, sizeof rows_text);
  printf("evaluation %s on %s rows:", id, rows_text);
  for (int i = 0; keys[i] != NULL; i++) {
    tc_format(cJSON_GetObjectItemCaseSensitive(m, keys[i]), value, sizeof value);
    printf(" %s %s%s", keys[i], value, keys[i + 1] != NULL ? "," : "\n");
  }
  return TC_OK;
}

static int evaluate(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc,
                    char **argv) {
  long long id, dataset_id, v = 0;
  int rc = model_on_dataset(res, sub, argc, argv, "--version", &id, &dataset_id, &v);
  if (rc != TC_OK) return rc;
  char path[128], body[96];
  snprintf(path, sizeof path, "/v1/models/%lld/evaluate", id);
  if (v > 0)
    snprintf(body, sizeof body, "{\"dataset\":%lld,\"version\":%lld}", dataset_id, v);
  else
    snprintf(body, sizeof body, "{\"dataset\":%lld}", dataset_id);
  tc_reply reply;
  if ((rc = tc_request(ctx, "POST", path, body, &reply)) != TC_OK) return rc;
  if (ctx->json)
    tc_print_raw(&reply);
  else
    rc = print_evaluation(reply.json);
  tc_reply_free(&reply);
  return rc;
}

/* The model's newest weights version, 0 when it was never trained. */
static int newest_version(tc_ctx *ctx, long long id, long long *version) {
  char path[64];
  tc_reply reply;
  snprintf(path, sizeof path, "/v1/models/%lld", id);
  int rc = tc_request(ctx, "GET", path, NULL, &reply);
  if (rc != TC_OK) return rc;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply.json, "version");
  *version = cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
  tc_reply_free(&reply);
  return TC_OK;
}

static int export(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv) {
  const char *id_text = NULL, *format = NULL, *out = NULL, *version_text = NULL;
  const tc_option opts[] = {{"--format", &format, NULL}, {"-o", &out, NULL},
                            {"--output", &out, NULL},    {"--version", &version_text, NULL},
                            {NULL, NULL, NULL}};
  long long id, version = 0;
  int n_pos, rc = tc_parse(argc, argv, opts, &id_text, 1, &n_pos, res->group);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  if (n_pos == 0) return tc_usage_error("models ", "%s needs a model ID", sub);
  if (format == NULL || (strcmp(format, "onnx") != 0 && strcmp(format, "traind") != 0))
    return tc_usage_error("models ", "%s needs --format onnx or --format traind", sub);
  if (out == NULL) return tc_usage_error("models ", "%s needs -o FILE", sub);
  if ((rc = tc_parse_count("models ", "the model ID", id_text, &id)) != TC_OK ||
      (version_text != NULL &&
       (rc = tc_parse_count("models ", "--version", version_text, &version)) != TC_OK))
    return rc;
  char path[128];
  if (strcmp(format, "onnx") == 0) {
    snprintf(path, sizeof path, "/v1/models/%lld/onnx", id);
    if (version_text != NULL) snprintf(path, sizeof path, "/v1/models/%lld/onnx?version=%lld",
                                       id, version);
  } else {
    if (version == 0 && (rc = newest_version(ctx, id, &version)) != TC_OK) return rc;
    if (version == 0) {
      fprintf(stderr, "trainctl: model %lld has not been trained yet\n", id);
      return TC_FAIL;
    }
    snprintf(path, sizeof path, "/v1/models/%lld/versions/%lld/weights", id, version);
  }
  return tc_download(ctx, path, out);
}

static int import(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv) {
  const char *file = NULL;
  const tc_option opts[] = {{NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, &file, 1, &n_pos, res->group);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  if (n_pos == 0) return tc_usage_error("models ", "%s needs a model FILE", sub);
  FILE *f = fopen(file, "rb");
  if (f == NULL) {
    fprintf(stderr, "trainctl: cannot open %s\n", file);
    return TC_FAIL;
  }
  tc_reply reply;
  rc = tc_upload(ctx, "/v1/models/import", f, "application/octet-stream", &reply);
  fclose(f);
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
                                       {"versions", versions},
                                       {"gradcheck", gradcheck},
                                       {"evaluate", evaluate},
                                       {"export", export},
                                       {"import", import},
                                       {NULL, NULL}};
  return tc_group(ctx, &models, subs, argc, argv);
}
