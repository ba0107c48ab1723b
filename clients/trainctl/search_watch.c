/* search_watch.c — trainctl searches watch ID: follows the search's event
 * stream (GET /v1/searches/{id}/events, which the server ends after the
 * search's 'finished' event). On a terminal each event redraws the
 * leaderboard, read again with GET /v1/searches/{id}; otherwise each event
 * is one line, and the leaderboard is printed once at the end. */
#include <string.h>
#include <unistd.h>

#include "tc.h"

typedef struct {
  tc_ctx *fetch; /* a second handle: the stream holds the first */
  long long id;
  bool tty;
  bool ended; /* 'finished' came: the board is printed once more, at the end */
} watch;

/* "trial 2 paused at rung 1: metric 0.41": one event, for a log. */
static void print_event(const cJSON *d) {
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
  if (!cJSON_IsString(type)) return;
  const char *t = type->valuestring;
  char trial[32], rung[32], job[32], metric[32];
  tc_format(cJSON_GetObjectItemCaseSensitive(d, "trial"), trial, sizeof trial);
  tc_format(cJSON_GetObjectItemCaseSensitive(d, "rung"), rung, sizeof rung);
  tc_format(cJSON_GetObjectItemCaseSensitive(d, "job"), job, sizeof job);
  tc_format(cJSON_GetObjectItemCaseSensitive(d, "metric"), metric, sizeof metric);
  if (strcmp(t, "created") == 0 || strcmp(t, "finished") == 0) return; /* the header, the end */
  if (strncmp(t, "trial_", 6) != 0) return;
  t += 6;
  if (strcmp(t, "started") == 0)
    printf("trial %s started (job %s)\n", trial, job);
  else if (strcmp(t, "paused") == 0 || strcmp(t, "done") == 0)
    printf("trial %s %s at rung %s: metric %s\n", trial, t, rung, metric);
  else if (strcmp(t, "promoted") == 0)
    printf("trial %s promoted to rung %s\n", trial, rung);
  else if (strcmp(t, "failed") == 0)
    printf("trial %s failed at rung %s\n", trial, rung);
  else
    printf("trial %s %s\n", trial, t);
}

/* Redraw the leaderboard from the top of the screen. */
static int redraw(watch *w) {
  char path[64];
  tc_reply reply;
  snprintf(path, sizeof path, "/v1/searches/%lld", w->id);
  if (tc_request(w->fetch, "GET", path, NULL, &reply) != TC_OK) return -1;
  fputs("\033[H\033[J", stdout);
  tc_print_search(w->id, reply.json);
  fflush(stdout);
  tc_reply_free(&reply);
  return 0;
}

static int on_event(void *ud, long long id, const char *event, const char *data) {
  watch *w = ud;
  (void)id;
  if (strcmp(event, "search") != 0) return 0;
  cJSON *d = cJSON_Parse(data);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
  if (cJSON_IsString(type) && strcmp(type->valuestring, "finished") == 0) w->ended = true;
  int rc = 0;
  if (w->tty)
    rc = w->ended ? 0 : redraw(w); /* the end prints the final board */
  else if (!w->fetch->json)
    print_event(d);
  fflush(stdout);
  cJSON_Delete(d);
  return rc;
}

int tc_search_watch(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc,
                    char **argv) {
  long long id;
  int rc = tc_resource_id(res, sub, argc, argv, &id);
  if (rc == TC_HELP) return tc_help(res);
  if (rc != TC_OK) return rc;
  tc_ctx fetch = *ctx;
  fetch.curl = curl_easy_init();
  if (fetch.curl == NULL) {
    fprintf(stderr, "trainctl: cannot start libcurl\n");
    return TC_FAIL;
  }
  watch w = {.fetch = &fetch, .id = id, .tty = isatty(STDOUT_FILENO) && !ctx->json};
  char path[96];
  snprintf(path, sizeof path, "/v1/searches/%lld/events", id);
  rc = tc_stream(ctx, path, on_event, &w);
  /* The search as it ended: a search that ended before its events were
   * logged (an older daemon's) has a stream without 'finished'. */
  tc_reply reply;
  snprintf(path, sizeof path, "/v1/searches/%lld", id);
  if (rc == TC_OK && (rc = tc_request(&fetch, "GET", path, NULL, &reply)) == TC_OK) {
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(reply.json, "state");
    bool running = !cJSON_IsString(state) || strcmp(state->valuestring, "running") == 0;
    if (running) {
      fprintf(stderr, "trainctl: the stream of search %lld ended before the search\n", id);
      rc = TC_FAIL;
    } else if (ctx->json) {
      tc_print_raw(&reply);
    } else {
      rc = tc_print_search(id, reply.json);
    }
    if (rc == TC_OK && strcmp(state->valuestring, "succeeded") != 0) rc = TC_FAIL;
    tc_reply_free(&reply);
  }
  curl_easy_cleanup(fetch.curl);
  return rc;
}
