/* prometheus.c — lock-free counters and their Prometheus text exposition. */
#include "prometheus.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Requests a route's own method does not label keep their method when it is
 * one of these, else "other". */
static const char *const methods[] = {"GET",  "HEAD",    "POST",  "PUT",
                                      "DELETE", "PATCH", "OPTIONS", "other"};
#define N_METHODS (sizeof methods / sizeof methods[0])

/* A slot is one (route, method) series. First each route, with its own method;
 * then route="none" per method; then, per route and method, the requests
 * whose path matched the route's pattern but whose method none of the
 * pattern's routes takes (405), labelled with the pattern. */
#define NONE_SLOTS PROMETHEUS_MAX_ROUTES
#define WRONG_METHOD_SLOTS (NONE_SLOTS + N_METHODS)
#define N_SLOTS (WRONG_METHOD_SLOTS + PROMETHEUS_MAX_ROUTES * N_METHODS)

/* Every status the API answers; anything else is counted as "other". */
static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404,
                               405, 409, 413, 415, 422, 500, 503, 507};
#define N_STATUSES (sizeof statuses / sizeof statuses[0])

/* Latency bucket upper bounds, in microseconds: 1 ms to 10 s. */
static const uint64_t bounds_us[] = {1000,   2500,   5000,    10000,   25000,   50000,  100000,
                                     250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define N_BOUNDS (sizeof bounds_us / sizeof bounds_us[0])

/* Per-bucket counts, not cumulative: the last one is above every bound.
 * The count is their sum at scrape time, so +Inf always equals _count. */
typedef struct {
  atomic_uint_fast64_t bucket[N_BOUNDS + 1];
  atomic_uint_fast64_t sum_us;
} histogram;

/* Static atomics start at zero, a valid state (C11 7.17.2.1). */
static struct {
  atomic_uint_fast64_t requests[N_SLOTS][N_STATUSES + 1]; /* the last: "other" */
  histogram request_latency[N_SLOTS];
  atomic_uint_fast64_t predictions;
  histogram predict_latency;
  atomic_uint_fast64_t epochs;
  atomic_uint_fast64_t samples;
} counters;

uint64_t prometheus_clock_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void observe(histogram *h, uint64_t micros) {
  size_t b = 0;
  while (b < N_BOUNDS && micros > bounds_us[b]) b++;
  atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->sum_us, micros, memory_order_relaxed);
}

static size_t slot_of(long route_index, const char *method, int status) {
  bool routed = route_index >= 0 && route_index < PROMETHEUS_MAX_ROUTES;
  if (routed && status != 405) return (size_t)route_index;
  size_t m = 0;
  while (m + 1 < N_METHODS && strcmp(methods[m], method) != 0) m++;
  if (!routed) return NONE_SLOTS + m;
  return WRONG_METHOD_SLOTS + (size_t)route_index * N_METHODS + m;
}

void prometheus_http_request(long route_index, const char *method, int status, uint64_t micros) {
  size_t slot = slot_of(route_index, method, status);
  assert(slot < N_SLOTS);
  size_t s = 0;
  while (s < N_STATUSES && statuses[s] != status) s++;
  atomic_fetch_add_explicit(&counters.requests[slot][s], 1, memory_order_relaxed);
  observe(&counters.request_latency[slot], micros);
}

void prometheus_prediction(size_t rows, uint64_t micros) {
  atomic_fetch_add_explicit(&counters.predictions, rows, memory_order_relaxed);
  observe(&counters.predict_latency, micros);
}

void prometheus_epoch(uint64_t samples) {
  atomic_fetch_add_explicit(&counters.epochs, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&counters.samples, samples, memory_order_relaxed);
}

/* ---- exposition ------------------------------------------------------------ */

static uint64_t load(atomic_uint_fast64_t *v) {
  return atomic_load_explicit(v, memory_order_relaxed);
}

static void header(FILE *f, const char *name, const char *type, const char *help) {
  fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Append a label value to out (size bytes, NUL-terminated), escaping
 * backslash, double quote and newline; a value too long is cut. */
static void label_value(char *out, size_t size, const char *s) {
  size_t n = strlen(out);
  for (; *s != '\0' && n + 3 < size; s++) {
    if (*s == '\\' || *s == '"' || *s == '\n') out[n++] = '\\';
    out[n++] = *s == '\n' ? 'n' : *s;
  }
  out[n] = '\0';
}

/* A slot's labels, without braces: route="/v1/models/{id}",method="GET". */
static void slot_labels(char *out, size_t size, const route *routes, size_t slot) {
  const char *pattern = "none", *method;
  if (slot < NONE_SLOTS) {
    pattern = routes[slot].pattern;
    method = routes[slot].method;
  } else if (slot < WRONG_METHOD_SLOTS) {
    method = methods[slot - NONE_SLOTS];
  } else {
    pattern = routes[(slot - WRONG_METHOD_SLOTS) / N_METHODS].pattern;
    method = methods[(slot - WRONG_METHOD_SLOTS) % N_METHODS];
  }
  snprintf(out, size, "route=\"");
  label_value(out, size, pattern);
  strncat(out, "\",method=\"", size - strlen(out) - 1);
  label_value(out, size, method);
  strncat(out, "\"", size - strlen(out) - 1);
}

/* Buckets (cumulative), _sum and _count of one histogram; labels may be "". */
static void histogram_lines(FILE *f, const char *name, const char *labels, histogram *h) {
  const char *sep = labels[0] != '\0' ? "," : "";
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= N_BOUNDS; b++) {
    cumulative += load(&h->bucket[b]);
    if (b < N_BOUNDS) {
      fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds_us[b] / 1e6,
              (unsigned long long)cumulative);
    } else {
      fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
              (unsigned long long)cumulative);
    }
  }
  const char *open = labels[0] != '\0' ? "{" : "", *close = labels[0] != '\0' ? "}" : "";
  fprintf(f, "%s_sum%s%s%s %.6f\n", name, open, labels, close, load(&h->sum_us) / 1e6);
  fprintf(f, "%s_count%s%s%s %llu\n", name, open, labels, close, (unsigned long long)cumulative);
}

static uint64_t histogram_count(histogram *h) {
  uint64_t n = 0;
  for (size_t b = 0; b <= N_BOUNDS; b++) n += load(&h->bucket[b]);
  return n;
}

static bool slot_in_table(size_t slot, size_t n_routes) {
  if (slot < NONE_SLOTS) return slot < n_routes;
  if (slot < WRONG_METHOD_SLOTS) return true;
  return (slot - WRONG_METHOD_SLOTS) / N_METHODS < n_routes;
}

/* Series appear once they have something to count, as client libraries do. */
static void http_metrics(FILE *f, const route *routes, size_t n_routes) {
  char labels[2 * ROUTE_MAX_SEGMENT];
  header(f, "traind_http_requests_total", "counter",
         "HTTP requests answered, by route pattern, method and status.");
  for (size_t slot = 0; slot < N_SLOTS; slot++) {
    if (!slot_in_table(slot, n_routes)) continue;
    for (size_t s = 0; s <= N_STATUSES; s++) {
      uint64_t n = load(&counters.requests[slot][s]);
      if (n == 0) continue;
      slot_labels(labels, sizeof labels, routes, slot);
      if (s < N_STATUSES) {
        fprintf(f, "traind_http_requests_total{%s,status=\"%d\"} %llu\n", labels, statuses[s],
                (unsigned long long)n);
      } else {
        fprintf(f, "traind_http_requests_total{%s,status=\"other\"} %llu\n", labels,
                (unsigned long long)n);
      }
    }
  }
  header(f, "traind_http_request_duration_seconds", "histogram",
         "HTTP request latency, from the first byte to the answer, by route and method.");
  for (size_t slot = 0; slot < N_SLOTS; slot++) {
    if (!slot_in_table(slot, n_routes) || histogram_count(&counters.request_latency[slot]) == 0)
      continue;
    slot_labels(labels, sizeof labels, routes, slot);
    histogram_lines(f, "traind_http_request_duration_seconds", labels,
                    &counters.request_latency[slot]);
  }
}

static void counter(FILE *f, const char *name, const char *help, uint64_t value) {
  header(f, name, "counter", help);
  fprintf(f, "%s %llu\n", name, (unsigned long long)value);
}

int prometheus_format(const route *routes, size_t n_routes, const prometheus_gauges *g, char **out,
                   size_t *len) {
  *out = NULL;
  *len = 0;
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&buf, &size);
  if (f == NULL) return -1;

  http_metrics(f, routes, n_routes);
  counter(f, "traind_predictions_total", "Rows predicted by successful predict requests.",
          load(&counters.predictions));
  header(f, "traind_predict_duration_seconds", "histogram",
         "Latency of successful predict requests, parsing included.");
  histogram_lines(f, "traind_predict_duration_seconds", "", &counters.predict_latency);
  counter(f, "traind_epochs_completed_total", "Training epochs committed to the database.",
          load(&counters.epochs));
  counter(f, "traind_samples_trained_total", "Training rows seen in committed epochs.",
          load(&counters.samples));
  if (g->jobs_known) {
    header(f, "traind_jobs", "gauge", "Jobs in the database, by state.");
    for (int s = 0; s < STORE_JOB_STATE_COUNT; s++) {
      fprintf(f, "traind_jobs{state=\"%s\"} %llu\n", store_job_state_name((store_job_state)s),
              (unsigned long long)g->jobs[s]);
    }
  }
  header(f, "traind_event_streams", "gauge", "Event streams open now.");
  fprintf(f, "traind_event_streams %llu\n", (unsigned long long)g->event_streams);
  if (g->database_known) {
    header(f, "traind_database_bytes", "gauge", "Size of the database file and its WAL.");
    fprintf(f, "traind_database_bytes %llu\n", (unsigned long long)g->database_bytes);
  }
  int failed = ferror(f);
  if (fclose(f) != 0 || failed) {
    free(buf);
    return -1;
  }
  *out = buf;
  *len = size;
  return 0;
}
