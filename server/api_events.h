/*
 * api_events.h — event streams (text/event-stream): jobs' state changes,
 * committed epochs and checkpoints, and searches' progress, from the event
 * log in the store.
 *
 * Each event is "id: N", "event: state|epoch|checkpoint|search" and one "data:"
 * line of JSON (json_out_event). A stream first replays the events after the
 * client's Last-Event-ID header (or ?after=ID, for clients that cannot set
 * headers; the header wins), then sends new ones as they are committed, in
 * id order, with a ": keepalive" comment after config keepalive idle
 * seconds. A search's events (event: search) carry {"search", "type", ...}.
 * A stream holds its connection's thread, sleeping on the notifier
 * (notify.h) while there is nothing to send; at most config max_streams are
 * open at once (503 unavailable beyond), and all end when the daemon stops.
 */
#ifndef TRAIND_API_EVENTS_H
#define TRAIND_API_EVENTS_H

#include "http.h"

#define API_EVENTS_BATCH 64 /* events read from the store at a time */

/**
 * GET /v1/jobs/{id}/events → 200 the job's events: without a resume point
 * every one from its creation. The stream ends after the job's final state
 * (succeeded, failed or cancelled) has been sent, at once when the client
 * has had it; resumed after that, it answers 204 with no body, which tells an
 * EventSource to stop reconnecting. 404 when there is no such job.
 */
void api_events_job(app *a, const http_request *req, http_response *res);

/**
 * GET /v1/searches/{id}/events → 200 the search's events (created, its
 * trials' started, paused, promoted, done, stopped, failed, and finished with
 * the best trial), as a job's stream: it ends after 'finished', and resumed
 * after that answers 204. 404 when there is no such search.
 */
void api_events_search(app *a, const http_request *req, http_response *res);

/**
 * GET /v1/events → 200 every job's and every search's events. Without a resume point it begins
 * with the current state of each queued or running job (as state events
 * carrying the id of the job's newest event), then streams what comes.
 */
void api_events_all(app *a, const http_request *req, http_response *res);

#endif
