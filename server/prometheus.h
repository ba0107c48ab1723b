/*
 * prometheus.h — the daemon's counters, and their Prometheus text exposition
 * (format 0.0.4) for GET /metrics.
 *
 * The counters are process-wide C11 atomics, bumped from any thread without
 * locks or allocation: the HTTP layer counts each answered request and its
 * latency, the predict handler each prediction, the job workers each
 * committed epoch. Gauges that live elsewhere (jobs by state, database size)
 * are read by the caller at scrape time and handed to prometheus_format.
 *
 * HTTP series are labelled by route pattern ("/v1/models/{id}"), never the
 * raw path, so their number is bounded by the route table; requests that
 * matched no route share route="none", with their method folded to a fixed
 * set. A request whose path matched a pattern but whose method none of its
 * routes takes (405) is counted under the pattern, with its folded method.
 */
#ifndef TRAIND_PROMETHEUS_H
#define TRAIND_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router.h"
#include "store.h"

#define PROMETHEUS_MAX_ROUTES 64 /* routes past this index count as route="none" */

/** @return a monotonic clock reading in microseconds, for the durations below. */
uint64_t prometheus_clock_us(void);

/**
 * Count one answered HTTP request.
 * @param route_index the matched route's index in the table given to
 *                    prometheus_format; on a 405, the index of a route whose
 *                    pattern the path matched; -1 when no pattern matched
 * @param method      the request method (labels only routes' own methods and
 *                    a few standard ones; any other is "other")
 * @param status      the HTTP status sent
 * @param micros      from the request's first byte to its answer
 */
void prometheus_http_request(long route_index, const char *method, int status, uint64_t micros);

/** Count one successful predict request of `rows` rows, answered in micros. */
void prometheus_prediction(size_t rows, uint64_t micros);

/** Count one committed training epoch over `samples` training rows. */
void prometheus_epoch(uint64_t samples);

/* What the caller reads at scrape time. */
typedef struct {
  bool jobs_known;                        /* false: the store could not be read */
  uint64_t jobs[STORE_JOB_STATE_COUNT];   /* jobs in each state */
  bool database_known;                    /* false: the file could not be stat'ed */
  uint64_t database_bytes;                /* the database file plus its WAL */
  uint64_t event_streams;                 /* event streams open now */
} prometheus_gauges;

/**
 * Write every metric, with HELP and TYPE lines, in text format 0.0.4.
 * @param routes the table the route indices refer to (labels)
 * @param out    receives a malloc'd NUL-terminated text; *len its length
 * @return 0, or -1 when out of memory
 */
int prometheus_format(const route *routes, size_t n_routes, const prometheus_gauges *g, char **out,
                   size_t *len);

#endif
