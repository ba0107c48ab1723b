/* api_events.c — event streams: replay from the store, then follow the notifier. */
#include "api_events.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "hangup.h"
#include "json_out.h"
#include "log.h"
#include "notify.h"
#include "reply.h"
#include "sse.h"
#include "store.h"
#include "store_searches.h"

/* One open stream; lives on its connection's thread until stream_free. */
typedef struct {
  app *a;
  int64_t job_id;   /* the job followed, 0 for every job */
  int64_t search_id; /* or the search followed (then job_id is 0) */
  int64_t after;    /* the newest event id queued for the client */
  int64_t seen;     /* posted ids up to this one have been read from the store */
  bool caught_up;   /* false: events up to `seen` may still wait in the store */
  bool job_ended;   /* the job (search) had ended when the stream opened: nothing new will come */
  bool done;        /* the job's final state (search's end) is queued: end once it is sent */
  bool watched;     /* the client's hangup is watched for (hangup.h) under `watch` */
  hangup_watch_id watch;
  atomic_bool gone; /* the client hung up: end now */
  struct timespec keepalive_at;
  sse_buffer out;
} stream;

static bool finished(store_job_state state) {
  return state == STORE_JOB_SUCCEEDED || state == STORE_JOB_FAILED ||
         state == STORE_JOB_CANCELLED;
}

/* Frame event e for the client. @return 0, or -1 when out of memory */
static int queue_event(stream *s, const store_event *e) {
  cJSON *data = json_out_event(e);
  char *text = data != NULL ? cJSON_PrintUnformatted(data) : NULL;
  cJSON_Delete(data);
  int rc = text != NULL ? sse_event(&s->out, e->id, store_event_kind_name(e->kind), text) : -1;
  free(text);
  if (rc < 0) return -1;
  s->after = e->id;
  if (s->job_id != 0 && e->kind == STORE_EVENT_STATE && finished(e->state)) s->done = true;
  if (s->search_id != 0 && e->kind == STORE_EVENT_SEARCH && e->type == STORE_SEARCH_FINISHED)
    s->done = true;
  return 0;
}

/* Queue what the store holds past s->after, when anything new may be there.
 * @return events queued, or -1 (logged) when the store cannot be read */
static int fill(stream *s) {
  int64_t latest = notify_latest(s->a->events);
  if (s->caught_up && latest <= s->seen) return 0;
  store *st = app_store(s->a);
  if (st == NULL) return -1;
  store_event *list;
  size_t n;
  int rc = s->search_id != 0
               ? store_search_events_after(st, s->search_id, s->after, API_EVENTS_BATCH, &list, &n)
               : store_events_after(st, s->job_id, s->after, API_EVENTS_BATCH, &list, &n);
  if (rc != STORE_OK) {
    log_write(LOG_WARN, "event stream: cannot read the events: %s", store_strerror(rc));
    return -1;
  }
  int queued = 0;
  for (size_t i = 0; i < n && !s->done && queued >= 0; i++)
    queued = queue_event(s, &list[i]) == 0 ? queued + 1 : -1;
  /* A short batch holds everything committed up to `latest`. */
  s->caught_up = n < API_EVENTS_BATCH;
  if (s->caught_up && latest > s->seen) s->seen = latest;
  store_event_list_free(list, n);
  if (queued < 0) log_write(LOG_WARN, "event stream: out of memory");
  return queued;
}

/* http_body_reader: hand out what is queued; else read the store; else sleep
 * until an event is committed, the keepalive is due, the client hangs up or
 * the daemon stops. */
static ssize_t stream_read(void *ctx, uint64_t pos, char *buf, size_t max) {
  stream *s = ctx;
  notifier *n = s->a->events;
  (void)pos;
  for (;;) {
    if (sse_pending(&s->out) > 0) {
      notify_deadline(&s->keepalive_at, (uint64_t)s->a->cfg.keepalive * 1000u);
      return (ssize_t)sse_take(&s->out, buf, max);
    }
    if (s->done) return HTTP_BODY_END;
    int queued = fill(s);
    if (queued < 0) return HTTP_BODY_ERROR;
    if (queued > 0 || !s->caught_up) continue;
    if (s->job_ended) return HTTP_BODY_END;
    switch (notify_wait_or(n, s->seen, &s->keepalive_at, &s->gone)) {
      case NOTIFY_CLOSED:
        return HTTP_BODY_END;
      case NOTIFY_STOPPED: /* nobody to write to */
        return HTTP_BODY_ERROR;
      case NOTIFY_TIMEOUT:
        if (sse_comment(&s->out, "keepalive") < 0) return HTTP_BODY_ERROR;
        break;
      case NOTIFY_NEW:
        break;
    }
  }
}

/* http_body_free: the client is gone, the stream ended or the daemon stops. */
static void stream_free(void *ctx) {
  stream *s = ctx;
  if (s->watched) hangup_unwatch(s->a->hangups, s->watch);
  notify_stream_close(s->a->events);
  sse_buffer_free(&s->out);
  free(s);
}

/* Where to resume: the Last-Event-ID header, else ?after=, else nowhere.
 * @return 0 (*given says whether there was one), or -API_INVALID_ARGUMENT */
static int resume_point(const http_request *req, int64_t *after, bool *given, api_error *err) {
  *after = -1;
  if (route_query_int(&req->query, "after", 0, ROUTE_MAX_ID, after, err) != 0) return -1;
  /* Browsers send the id of the last event they had; an empty one is none. */
  const char *id = http_header(req, "Last-Event-ID");
  if (id != NULL && id[0] != '\0' && route_parse_int(id, 0, ROUTE_MAX_ID, after) < 0)
    return api_fail(err, API_INVALID_ARGUMENT, "Last-Event-ID",
                    "Last-Event-ID must be an event id, an integer from 0 to %llu",
                    (unsigned long long)ROUTE_MAX_ID);
  *given = *after >= 0;
  if (!*given) *after = 0;
  return 0;
}

/* Start the stream of every job with the current state of the unfinished
 * ones; it follows on from the newest event of that snapshot. */
static int queue_snapshot(stream *s, store *st) {
  store_event *list;
  size_t n;
  int64_t latest;
  int rc = store_events_active(st, &list, &n, &latest);
  for (size_t i = 0; rc == STORE_OK && i < n; i++)
    if (queue_event(s, &list[i]) < 0) rc = STORE_ENOMEM;
  store_event_list_free(list, n);
  if (rc == STORE_OK) s->after = latest;
  return rc;
}

/* Whether a finished job's (search's) stream resumed after `after` has
 * events left to send. @return STORE_OK (*more set) or a store error */
static int has_more(store *st, int64_t job_id, int64_t search_id, int64_t after, bool *more) {
  store_event *list;
  size_t n;
  int rc = search_id != 0 ? store_search_events_after(st, search_id, after, 1, &list, &n)
                          : store_events_after(st, job_id, after, 1, &list, &n);
  store_event_list_free(list, n);
  *more = n > 0;
  return rc;
}

/* Open a stream of job_id's events, or search_id's, or (both 0) every one. */
static void open_stream(app *a, const http_request *req, http_response *res, int64_t job_id,
                        int64_t search_id) {
  api_error err;
  int64_t after;
  bool given = false;
  if (resume_point(req, &after, &given, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  bool ended = false, more = true;
  if (job_id != 0) {
    store_job j;
    int rc = store_job_get(st, job_id, &j);
    ended = rc == STORE_OK && finished(j.state);
    store_job_clear(&j);
    if (rc == STORE_OK && ended && given) rc = has_more(st, job_id, 0, after, &more);
    if (rc != STORE_OK) {
      reply_store_error(res, rc, "job", job_id);
      return;
    }
  }
  if (search_id != 0) {
    store_search row;
    int rc = store_search_get(st, search_id, &row);
    ended = rc == STORE_OK && row.state != STORE_SEARCH_RUNNING;
    store_search_clear(&row);
    if (rc == STORE_OK && ended && given) rc = has_more(st, 0, search_id, after, &more);
    if (rc != STORE_OK) {
      reply_store_error(res, rc, "search", search_id);
      return;
    }
  }
  /* Resumed after its final state, a job's stream has nothing more, ever:
   * 204 No Content is the answer that makes an EventSource stop
   * reconnecting (after an empty 200 it would retry every few seconds). */
  if (!more) {
    res->status = 204;
    return;
  }
  if (notify_stream_open(a->events, a->cfg.max_streams) < 0) {
    http_fail(res, API_UNAVAILABLE, NULL,
              "%u event streams are open, the most this server allows (--max-streams), or it "
              "is stopping; retry later",
              a->cfg.max_streams);
    return;
  }
  stream *s = calloc(1, sizeof *s);
  if (s == NULL) {
    notify_stream_close(a->events);
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    return;
  }
  s->a = a;
  s->job_id = job_id;
  s->search_id = search_id;
  s->after = after;
  s->job_ended = ended;
  s->seen = notify_latest(a->events); /* before any read: later commits wake it */
  notify_deadline(&s->keepalive_at, (uint64_t)a->cfg.keepalive * 1000u);
  atomic_init(&s->gone, false);
  /* Unwatched (out of descriptors), a hangup is noticed at the next write. */
  int fd = http_socket(req);
  if (fd >= 0 && a->hangups != NULL) {
    s->watched = hangup_watch(a->hangups, fd, &s->gone, &s->watch) == 0;
    if (!s->watched) log_write(LOG_WARN, "event stream: cannot watch its client for a hangup");
  }
  /* From here on stream_free releases s, also when the answer is an error. */
  http_stream(res, 200, "text/event-stream", stream_read, stream_free, s);
  if (job_id == 0 && search_id == 0 && !given) {
    int rc = queue_snapshot(s, st);
    if (rc != STORE_OK) reply_store_error(res, rc, NULL, 0);
  }
}

void api_events_job(app *a, const http_request *req, http_response *res) {
  open_stream(a, req, res, (int64_t)req->ids[0], 0);
}

void api_events_search(app *a, const http_request *req, http_response *res) {
  open_stream(a, req, res, 0, (int64_t)req->ids[0]);
}

void api_events_all(app *a, const http_request *req, http_response *res) {
  open_stream(a, req, res, 0, 0);
}
