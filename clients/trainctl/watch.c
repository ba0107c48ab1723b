/* watch.c — trainctl watch JOB (and train --follow): polls the job and its
 * new metrics about four times a second until the job ends. On a terminal one
 * progress line is redrawn in place; otherwise one plain line per epoch. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tc.h"

static const char help[] =
    "usage: trainctl watch JOB\n"
    "\n"
    "Follows a training job until it ends: on a terminal a progress line (epoch,\n"
    "loss, val_loss, accuracy, samples/s, ETA) redrawn in place, otherwise one\n"
    "line per epoch; then the final state. Exits 0 only if the job succeeded.\n"
    "With --json, prints only the finished job's JSON.\n";

#define POLL_NS 250000000L
#define BAR 20

static double number(const cJSON *obj, const char *key, double fallback) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

static const char *string(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool final_state(const char *state) {
  return state != NULL && (strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
                           strcmp(state, "cancelled") == 0);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* " name value" for a number, nothing for null. */
static void field(const char *name, const cJSON *obj, const char *key) {
  char value[64];
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v)) return;
  tc_format(v, value, sizeof value);
  printf(" %s %s", name, value);
}

/* The non-terminal line of one metrics row. */
static void print_epoch(const cJSON *m, double epochs) {
  printf("epoch %.0f/%.0f", number(m, "epoch", 0), epochs);
  field("loss", m, "loss");
  field("val_loss", m, "val_loss");
  field("accuracy", m, "accuracy");
  field("val_accuracy", m, "val_accuracy");
  field("lr", m, "lr");
  putchar('\n');
}

/* Progress since the first epoch seen, for the ETA. */
typedef struct pace {
  double first_epoch, first_time;
} pace;

/* The terminal's progress line, redrawn over itself. */
static void draw(const cJSON *job, const pace *p) {
  double epoch = number(job, "epoch", 0), epochs = number(job, "epochs", 0);
  int filled = epochs > 0 ? (int)(BAR * epoch / epochs) : 0;
  char bar[BAR + 1];
  for (int i = 0; i < BAR; i++) bar[i] = i < filled ? '#' : '.';
  bar[BAR] = '\0';
  printf("\r%s epoch %.0f/%.0f [%s]", string(job, "state") ? string(job, "state") : "?", epoch,
         epochs, bar);
  field("loss", job, "loss");
  field("val_loss", job, "val_loss");
  field("accuracy", job, "accuracy");
  double sps = number(job, "samples_per_second", -1);
  if (sps >= 0) printf(" %.0f samples/s", sps);
  double elapsed = now() - p->first_time, done = epoch - p->first_epoch;
  if (p->first_epoch >= 0 && done > 0 && elapsed > 0 && !final_state(string(job, "state"))) {
    long eta = (long)((epochs - epoch) * elapsed / done + 0.5);
    printf(" ETA %ld:%02ld:%02ld", eta / 3600, eta / 60 % 60, eta % 60);
  } else if (!final_state(string(job, "state"))) {
    printf(" ETA --");
  }
  fputs("\033[K", stdout); /* clear what a longer previous line left */
  fflush(stdout);
}

static void print_final(long long id, const cJSON *job) {
  const char *state = string(job, "state"), *error = string(job, "error");
  printf("job %lld %s at epoch %.0f/%.0f", id, state, number(job, "epoch", 0),
         number(job, "epochs", 0));
  field("loss", job, "loss");
  field("val_loss", job, "val_loss");
  field("accuracy", job, "accuracy");
  field("val_accuracy", job, "val_accuracy");
  if (error != NULL) printf(": %s", error);
  putchar('\n');
}

int tc_follow(tc_ctx *ctx, long long id) {
  bool tty = isatty(STDOUT_FILENO) && !ctx->json;
  double after = 0;
  pace p = {-1, 0};
  char job_path[64], metrics_path[128];
  snprintf(job_path, sizeof job_path, "/v1/jobs/%lld", id);
  for (;;) {
    tc_reply job, metrics;
    int rc = tc_request(ctx, "GET", job_path, NULL, &job);
    if (rc != TC_OK) return rc;
    const char *state = string(job.json, "state");
    bool done = final_state(state);
    /* Metrics are fetched after the job: once it is final, all its epochs are in. */
    if (!ctx->json && !tty) {
      snprintf(metrics_path, sizeof metrics_path, "/v1/jobs/%lld/metrics?after=%.0f", id, after);
      if ((rc = tc_request(ctx, "GET", metrics_path, NULL, &metrics)) != TC_OK) {
        tc_reply_free(&job);
        return rc;
      }
      const cJSON *m;
      cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(metrics.json, "metrics")) {
        print_epoch(m, number(job.json, "epochs", 0));
        after = number(m, "epoch", after);
      }
      fflush(stdout);
      tc_reply_free(&metrics);
    }
    if (tty) {
      if (p.first_epoch < 0 && state != NULL && strcmp(state, "running") == 0)
        p = (pace){number(job.json, "epoch", 0), now()};
      draw(job.json, &p);
      if (done) putchar('\n');
    }
    if (done) {
      if (ctx->json)
        tc_print_raw(&job);
      else
        print_final(id, job.json);
      rc = strcmp(state, "succeeded") == 0 ? TC_OK : TC_FAIL;
      tc_reply_free(&job);
      return rc;
    }
    tc_reply_free(&job);
    nanosleep(&(struct timespec){0, POLL_NS}, NULL);
  }
}

int tc_cmd_watch(tc_ctx *ctx, int argc, char **argv) {
  const char *id_text = NULL;
  const tc_option opts[] = {{NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, &id_text, 1, &n_pos, "watch");
  if (rc == TC_HELP) return fputs(help, stdout), TC_OK;
  if (rc != TC_OK) return rc;
  if (n_pos == 0) return tc_usage_error("watch ", "watch needs a job ID");
  long long id;
  if ((rc = tc_parse_count("watch ", "the job ID", id_text, &id)) != TC_OK) return rc;
  return tc_follow(ctx, id);
}
