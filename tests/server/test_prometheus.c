/* test_prometheus.c — counters and their Prometheus text exposition. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/prometheus.h"

static const route table[] = {
    {.method = "GET", .pattern = "/healthz"},
    {.method = "GET", .pattern = "/v1/models/{id}"},
    {.method = "POST", .pattern = "/v1/models/{id}/predict"},
};
#define N_TABLE (sizeof table / sizeof table[0])

static char *format(const prometheus_gauges *g) {
  char *text = NULL;
  size_t len = 0;
  cr_assert_eq(prometheus_format(table, N_TABLE, g, &text, &len), 0);
  cr_assert_not_null(text);
  cr_assert_eq(strlen(text), len);
  return text;
}

static void expect_line(const char *text, const char *line) {
  char *want = malloc(strlen(line) + 3);
  sprintf(want, "\n%s\n", line);
  /* Every line ends with "\n"; the first has no "\n" before it. */
  bool found = strstr(text, want) != NULL || strncmp(text, want + 1, strlen(want + 1)) == 0;
  cr_expect(found, "no line '%s' in:\n%s", line, text);
  free(want);
}

static void expect_no(const char *text, const char *part) {
  cr_expect(strstr(text, part) == NULL, "'%s' should not appear in:\n%s", part, text);
}

/* The format's rules: every line is a comment ("# HELP name text", "# TYPE
 * name type") or a sample "name{labels} value" / "name value"; each family
 * gets HELP then TYPE once, before its samples; histogram samples are
 * _bucket/_sum/_count of a histogram family. */
static void expect_well_formed(const char *text) {
  char families[64][96];
  char types[64][16];
  size_t n_families = 0;
  cr_assert(strlen(text) > 0 && text[strlen(text) - 1] == '\n', "must end with a newline");
  char *copy = strdup(text), *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char name[96], kind[16];
    if (strncmp(line, "# HELP ", 7) == 0) {
      cr_assert_eq(sscanf(line + 7, "%95s", name), 1, "%s", line);
      for (size_t i = 0; i < n_families; i++) cr_expect_str_neq(families[i], name, "twice");
      cr_assert_lt(n_families, 64);
      snprintf(families[n_families], sizeof families[0], "%s", name);
      types[n_families][0] = '\0';
      n_families++;
      continue;
    }
    if (strncmp(line, "# TYPE ", 7) == 0) {
      cr_assert_eq(sscanf(line + 7, "%95s %15s", name, kind), 2, "%s", line);
      cr_assert_gt(n_families, 0);
      cr_expect_str_eq(families[n_families - 1], name, "TYPE right after its HELP: %s", line);
      cr_expect(strcmp(kind, "counter") == 0 || strcmp(kind, "gauge") == 0 ||
                    strcmp(kind, "histogram") == 0, "%s", line);
      snprintf(types[n_families - 1], sizeof types[0], "%s", kind);
      continue;
    }
    cr_assert_neq(line[0], '#', "unknown comment: %s", line);
    size_t name_len = strcspn(line, "{ ");
    cr_assert(name_len > 0 && name_len < sizeof name, "%s", line);
    memcpy(name, line, name_len);
    name[name_len] = '\0';
    const char *rest = line + name_len;
    if (*rest == '{') {
      const char *close = strstr(rest, "} ");
      cr_assert_not_null(close, "labels not closed: %s", line);
      for (const char *p = rest + 1; p < close; p++) cr_assert_neq(*p, '\n');
      rest = close + 1;
    }
    cr_assert_eq(*rest, ' ', "%s", line);
    char *end;
    strtod(rest + 1, &end);
    cr_expect(end != rest + 1 && *end == '\0', "bad value in: %s", line);
    /* The sample's family: the latest one declared, by name or histogram suffix. */
    cr_assert_gt(n_families, 0, "sample before any TYPE: %s", line);
    const char *fam = families[n_families - 1];
    size_t flen = strlen(fam);
    bool same = strcmp(name, fam) == 0;
    bool suffixed = strncmp(name, fam, flen) == 0 &&
                    (strcmp(name + flen, "_bucket") == 0 || strcmp(name + flen, "_sum") == 0 ||
                     strcmp(name + flen, "_count") == 0);
    if (strcmp(types[n_families - 1], "histogram") == 0) {
      cr_expect(suffixed, "%s is not a sample of histogram %s", line, fam);
    } else {
      cr_expect(same, "%s is not a sample of %s", line, fam);
    }
  }
  free(copy);
}

Test(prometheus, empty_exposition_is_well_formed) {
  prometheus_gauges g = {.jobs_known = true, .jobs = {1, 2, 3, 4, 5}, .database_known = true,
                      .database_bytes = 40960};
  char *text = format(&g);
  expect_well_formed(text);
  expect_line(text, "# TYPE traind_http_requests_total counter");
  expect_line(text, "# TYPE traind_http_request_duration_seconds histogram");
  expect_no(text, "traind_http_requests_total{"); /* no series before the first request */
  expect_line(text, "traind_predictions_total 0");
  expect_line(text, "traind_predict_duration_seconds_bucket{le=\"+Inf\"} 0");
  expect_line(text, "traind_predict_duration_seconds_count 0");
  expect_line(text, "traind_epochs_completed_total 0");
  expect_line(text, "traind_samples_trained_total 0");
  expect_line(text, "# TYPE traind_jobs gauge");
  expect_line(text, "traind_jobs{state=\"queued\"} 1");
  expect_line(text, "traind_jobs{state=\"running\"} 2");
  expect_line(text, "traind_jobs{state=\"cancelled\"} 5");
  expect_line(text, "traind_database_bytes 40960");
  expect_line(text, "# TYPE traind_event_streams gauge");
  expect_line(text, "traind_event_streams 0");
  free(text);
}

Test(prometheus, open_event_streams) {
  prometheus_gauges g = {.event_streams = 3};
  char *text = format(&g);
  expect_well_formed(text);
  expect_line(text, "traind_event_streams 3");
  free(text);
}

Test(prometheus, unknown_gauges_are_left_out) {
  prometheus_gauges g = {0};
  char *text = format(&g);
  expect_well_formed(text);
  expect_no(text, "traind_jobs");
  expect_no(text, "traind_database_bytes");
  free(text);
}

Test(prometheus, requests_by_route_method_and_status) {
  prometheus_http_request(1, "GET", 200, 1500);
  prometheus_http_request(1, "GET", 200, 1500);
  prometheus_http_request(1, "GET", 404, 20);
  prometheus_http_request(-1, "DELETE", 405, 20);
  prometheus_http_request(-1, "BREW", 404, 20000000); /* 20 s: past every bound */
  prometheus_http_request(0, "GET", 299, 20);
  prometheus_http_request(PROMETHEUS_MAX_ROUTES, "GET", 200, 20); /* past the table */
  prometheus_gauges g = {0};
  char *text = format(&g);
  expect_well_formed(text);
  const char *c = "traind_http_requests_total";
  char line[256];
  snprintf(line, sizeof line, "%s{route=\"/v1/models/{id}\",method=\"GET\",status=\"200\"} 2", c);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s{route=\"/v1/models/{id}\",method=\"GET\",status=\"404\"} 1", c);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s{route=\"none\",method=\"DELETE\",status=\"405\"} 1", c);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s{route=\"none\",method=\"other\",status=\"404\"} 1", c);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s{route=\"none\",method=\"GET\",status=\"200\"} 1", c);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s{route=\"/healthz\",method=\"GET\",status=\"other\"} 1", c);
  expect_line(text, line);
  expect_no(text, "predict\",method=\"POST\",status"); /* nothing counted there */

  /* 2 x 1.5 ms and one 20 us: cumulative buckets, +Inf equal to _count. */
  const char *h = "traind_http_request_duration_seconds";
  const char *l = "route=\"/v1/models/{id}\",method=\"GET\"";
  snprintf(line, sizeof line, "%s_bucket{%s,le=\"0.001\"} 1", h, l);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s_bucket{%s,le=\"0.0025\"} 3", h, l);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s_bucket{%s,le=\"10\"} 3", h, l);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s_bucket{%s,le=\"+Inf\"} 3", h, l);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s_sum{%s} 0.003020", h, l);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s_count{%s} 3", h, l);
  expect_line(text, line);
  l = "route=\"none\",method=\"other\"";
  snprintf(line, sizeof line, "%s_bucket{%s,le=\"10\"} 0", h, l);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s_bucket{%s,le=\"+Inf\"} 1", h, l);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s_count{%s} 1", h, l);
  expect_line(text, line);
  free(text);
}

/* Found by outside testing: a 405 had matched a route's pattern but was
 * counted under route="none", and a 304 under status="other". A 405 is
 * counted under the pattern with the request's method; 304 has its label. */
Test(prometheus, wrong_methods_count_under_their_pattern_and_304_has_a_label) {
  prometheus_http_request(1, "DELETE", 405, 20);
  prometheus_http_request(1, "DELETE", 405, 20);
  prometheus_http_request(1, "BREW", 405, 20);
  prometheus_http_request(2, "GET", 405, 3000);
  prometheus_http_request(0, "GET", 304, 20);
  prometheus_gauges g = {0};
  char *text = format(&g);
  expect_well_formed(text);
  const char *c = "traind_http_requests_total";
  char line[256];
  snprintf(line, sizeof line, "%s{route=\"/v1/models/{id}\",method=\"DELETE\",status=\"405\"} 2",
           c);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s{route=\"/v1/models/{id}\",method=\"other\",status=\"405\"} 1", c);
  expect_line(text, line);
  snprintf(line, sizeof line,
           "%s{route=\"/v1/models/{id}/predict\",method=\"GET\",status=\"405\"} 1", c);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s{route=\"/healthz\",method=\"GET\",status=\"304\"} 1", c);
  expect_line(text, line);
  expect_no(text, "route=\"none\"");
  expect_no(text, "status=\"other\"");
  /* The route's own method saw none of them. */
  expect_no(text, "route=\"/v1/models/{id}\",method=\"GET\"");
  const char *h = "traind_http_request_duration_seconds";
  snprintf(line, sizeof line, "%s_count{route=\"/v1/models/{id}\",method=\"DELETE\"} 2", h);
  expect_line(text, line);
  snprintf(line, sizeof line,
           "%s_bucket{route=\"/v1/models/{id}/predict\",method=\"GET\",le=\"0.001\"} 0", h);
  expect_line(text, line);
  snprintf(line, sizeof line, "%s_count{route=\"/v1/models/{id}/predict\",method=\"GET\"} 1", h);
  expect_line(text, line);
  free(text);
}

Test(prometheus, predictions_and_epochs) {
  prometheus_prediction(4, 300);
  prometheus_prediction(1, 3000000);
  prometheus_epoch(150);
  prometheus_epoch(150);
  prometheus_gauges g = {0};
  char *text = format(&g);
  expect_well_formed(text);
  expect_line(text, "traind_predictions_total 5");
  expect_line(text, "traind_predict_duration_seconds_bucket{le=\"0.001\"} 1");
  expect_line(text, "traind_predict_duration_seconds_bucket{le=\"2.5\"} 1");
  expect_line(text, "traind_predict_duration_seconds_bucket{le=\"5\"} 2");
  expect_line(text, "traind_predict_duration_seconds_bucket{le=\"+Inf\"} 2");
  expect_line(text, "traind_predict_duration_seconds_sum 3.000300");
  expect_line(text, "traind_predict_duration_seconds_count 2");
  expect_line(text, "traind_epochs_completed_total 2");
  expect_line(text, "traind_samples_trained_total 300");
  free(text);
}

Test(prometheus, clock_is_monotonic) {
  uint64_t a = prometheus_clock_us();
  uint64_t b = prometheus_clock_us();
  cr_expect_geq(b, a);
}
