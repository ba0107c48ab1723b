/* train.c — trainctl train: a job config from a file and flags, then POST. */
#include <stdlib.h>

#include "tc.h"

static const char help[] =
    "usage: trainctl train --model ID --dataset ID [--epochs N] [--batch-size N]\n"
    "                      [--optimizer NAME] [--lr X] [--config JOB.json] [--follow]\n"
    "\n"
    "Starts a training job. JOB.json holds any job config fields (epochs,\n"
    "batch_size, optimizer, validation_split, seed, early_stopping, ...); the\n"
    "flags override its fields. --follow watches the job like 'trainctl watch'\n"
    "and exits 0 only if it succeeds.\n";

/* Sets obj[key] to item, replacing what was there. @return 0, or -1 (no memory) */
static int set(cJSON *obj, const char *key, cJSON *item) {
  if (item == NULL) return -1;
  if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
    return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item) ? 0 : -1;
  return cJSON_AddItemToObject(obj, key, item) ? 0 : -1;
}

/* The flags, already checked, as numbers (0 / NULL: not given). */
typedef struct overrides {
  long long model, dataset, epochs, batch_size;
  const char *optimizer;
  const char *lr;
  double lr_value;
} overrides;

static int apply(cJSON *job, const overrides *o) {
  if ((o->model && set(job, "model", cJSON_CreateNumber((double)o->model)) != 0) ||
      (o->dataset && set(job, "dataset", cJSON_CreateNumber((double)o->dataset)) != 0) ||
      (o->epochs && set(job, "epochs", cJSON_CreateNumber((double)o->epochs)) != 0) ||
      (o->batch_size && set(job, "batch_size", cJSON_CreateNumber((double)o->batch_size)) != 0))
    return -1;
  if (o->optimizer == NULL && o->lr == NULL) return 0;
  /* The optimizer's other fields from the config stay; the server checks they fit. */
  cJSON *opt = cJSON_GetObjectItemCaseSensitive(job, "optimizer");
  if (!cJSON_IsObject(opt)) {
    if (set(job, "optimizer", cJSON_CreateObject()) != 0) return -1;
    opt = cJSON_GetObjectItemCaseSensitive(job, "optimizer");
  }
  if (o->optimizer && set(opt, "type", cJSON_CreateString(o->optimizer)) != 0) return -1;
  if (o->lr && set(opt, "lr", cJSON_CreateNumber(o->lr_value)) != 0) return -1;
  return 0;
}

int tc_cmd_train(tc_ctx *ctx, int argc, char **argv) {
  const char *model = NULL, *dataset = NULL, *epochs = NULL, *batch = NULL, *config = NULL;
  overrides o = {0};
  bool follow = false;
  const tc_option opts[] = {
      {"--model", &model, NULL},         {"--dataset", &dataset, NULL},
      {"--epochs", &epochs, NULL},       {"--batch-size", &batch, NULL},
      {"--optimizer", &o.optimizer, NULL}, {"--lr", &o.lr, NULL},
      {"--config", &config, NULL},       {"--follow", NULL, &follow},
      {NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, NULL, 0, &n_pos, "train");
  if (rc == TC_HELP) return fputs(help, stdout), TC_OK;
  if (rc != TC_OK) return rc;
  if ((model && (rc = tc_parse_count("train ", "--model", model, &o.model)) != TC_OK) ||
      (dataset && (rc = tc_parse_count("train ", "--dataset", dataset, &o.dataset)) != TC_OK) ||
      (epochs && (rc = tc_parse_count("train ", "--epochs", epochs, &o.epochs)) != TC_OK) ||
      (batch && (rc = tc_parse_count("train ", "--batch-size", batch, &o.batch_size)) != TC_OK) ||
      (o.lr && (rc = tc_parse_number("train ", "--lr", o.lr, &o.lr_value)) != TC_OK))
    return rc;

  cJSON *job = config != NULL ? tc_read_json_file(config) : cJSON_CreateObject();
  if (job == NULL) return TC_FAIL;
  char *body = NULL;
  tc_reply reply = {0};
  if (!cJSON_IsObject(job)) {
    fprintf(stderr, "trainctl: %s must hold a JSON object\n", config);
    rc = TC_FAIL;
    goto exit;
  }
  if (!cJSON_GetObjectItemCaseSensitive(job, "model") && !o.model) {
    rc = tc_usage_error("train ", "train needs --model ID");
    goto exit;
  }
  if (!cJSON_GetObjectItemCaseSensitive(job, "dataset") && !o.dataset) {
    rc = tc_usage_error("train ", "train needs --dataset ID");
    goto exit;
  }
  if (apply(job, &o) != 0 || (body = cJSON_PrintUnformatted(job)) == NULL) {
    fprintf(stderr, "trainctl: out of memory\n");
    rc = TC_FAIL;
    goto exit;
  }
  if ((rc = tc_request(ctx, "POST", "/v1/jobs", body, &reply)) != TC_OK) goto exit;

  const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply.json, "id");
  if (!cJSON_IsNumber(id)) {
    fprintf(stderr, "trainctl: the server's answer names no job id\n");
    rc = TC_FAIL;
    goto exit;
  }
  if (ctx->json && !follow)
    tc_print_raw(&reply);
  else if (!ctx->json)
    printf("job %.0f queued\n", id->valuedouble);
  fflush(stdout);
  if (follow) rc = tc_follow(ctx, (long long)id->valuedouble);

exit:
  tc_reply_free(&reply);
  free(body);
  cJSON_Delete(job);
  return rc;
}
