/* batch.c — trainctl predict MODEL --dataset D -o FILE: a batch prediction
 * over a stored dataset (POST /v1/predictions), followed about four times a
 * second until it ends — with a progress bar on a terminal (stderr) — then
 * its output downloaded to FILE. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tc.h"

#define POLL_NS 250000000L
#define BAR 30

static double number(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *string(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : "?";
}

/* The terminal's progress line, redrawn over itself. */
static void draw(const cJSON *p) {
  double done = number(p, "rows_done"), rows = number(p, "rows");
  int filled = rows > 0 ? (int)(BAR * done / rows) : 0;
  char bar[BAR + 1];
  for (int i = 0; i < BAR; i++) bar[i] = i < filled ? '#' : '.';
  bar[BAR] = '\0';
  fprintf(stderr, "\rprediction %.0f %s [%s] %.0f/%.0f rows\033[K", number(p, "id"),
          string(p, "state"), bar, done, rows);
  fflush(stderr);
}

int tc_batch_predict(tc_ctx *ctx, long long model, long long version, const char *dataset,
                     const char *out, const char *format) {
  long long ds;
  int rc = tc_parse_count("predict ", "--dataset", dataset, &ds);
  if (rc != TC_OK) return rc;
  if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0)
    return tc_usage_error("predict ", "--format must be csv or jsonl");
  char body[128], path[96];
  if (version != 0)
    snprintf(body, sizeof body, "{\"model\":%lld,\"version\":%lld,\"dataset\":%lld}", model,
             version, ds);
  else
    snprintf(body, sizeof body, "{\"model\":%lld,\"dataset\":%lld}", model, ds);
  tc_reply p;
  if ((rc = tc_request(ctx, "POST", "/v1/predictions", body, &p)) != TC_OK) return rc;
  long long id = (long long)number(p.json, "id");
  tc_reply_free(&p);
  bool tty = isatty(STDERR_FILENO) && !ctx->json;
  snprintf(path, sizeof path, "/v1/predictions/%lld", id);
  for (;;) {
    if ((rc = tc_request(ctx, "GET", path, NULL, &p)) != TC_OK) return rc;
    const char *state = string(p.json, "state");
    bool ended = strcmp(state, "queued") != 0 && strcmp(state, "running") != 0;
    if (tty) draw(p.json);
    if (ended) break;
    tc_reply_free(&p);
    nanosleep(&(struct timespec){0, POLL_NS}, NULL);
  }
  if (tty) fputc('\n', stderr);
  const char *state = string(p.json, "state");
  if (strcmp(state, "succeeded") != 0) {
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(p.json, "error");
    fprintf(stderr, "trainctl: prediction %lld %s%s%s\n", id, state,
            cJSON_IsString(error) ? ": " : "", cJSON_IsString(error) ? error->valuestring : "");
    tc_reply_free(&p);
    return TC_FAIL;
  }
  snprintf(path, sizeof path, "/v1/predictions/%lld/output?format=%s", id, format);
  rc = tc_download_to(ctx, path, out);
  if (rc == TC_OK && ctx->json) tc_print_raw(&p);
  else if (rc == TC_OK)
    fprintf(stderr, "prediction %lld: %.0f rows written to %s\n", id, number(p.json, "rows"),
            out);
  tc_reply_free(&p);
  return rc;
}
