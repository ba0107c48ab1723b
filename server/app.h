/*
 * app.h — the daemon's shared state, handed to every handler.
 *
 * Handlers run on many HTTP threads at once, so whatever they reach through
 * app must be safe to use concurrently. Each module adds its handle here
 * when it arrives (job queue, predict cache...); keep the struct to handles
 * and settings, with the logic in the modules.
 */
#ifndef TRAIND_APP_H
#define TRAIND_APP_H

#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "errors.h"
#include "tls.h"

typedef struct app app;
typedef struct store store;
typedef struct store_pool store_pool;
typedef struct jobs jobs;
typedef struct search_run search_run;
typedef struct predict_cache predict_cache;
typedef struct notifier notifier;
typedef struct hangups hangups;
typedef struct http_response http_response;

struct app {
  config cfg; /* the effective settings, read-only once the daemon runs */
  tls_pem tls; /* read by main from cfg.tls_cert and cfg.tls_key; empty: plain HTTP */

  /* What GET /healthz checks beyond "the process answers" (the database).
   * NULL: nothing more to check. Runs on HTTP threads.
   * @return 0, or a negative api code (API_UNAVAILABLE) with err filled */
  int (*health_check)(app *a, api_error *err);

  /* Set by main before serving; handlers use them without checks. */
  jobs *jobs;     /* the training queue, woken and cancelled by the job handlers */
  predict_cache *predict_cache;
  search_run *searches; /* the searches' scheduler, woken by the search handlers */
  notifier *events; /* told of each committed job event; event streams and
                     * long polls wait on it (notify.h) */
  hangups *hangups; /* watches the clients of event streams (hangup.h); NULL:
                     * a client's hangup is noticed at the next write only */

  /* Store handles (SQLite connections are not shared): a request takes one
   * from the pool on its first app_store, keeps it under store_key, and the
   * HTTP layer gives it back when the request ends (app_store_release). */
  store_pool *stores;
  pthread_key_t store_key;
  bool store_key_ready;
};

/* Idle store handles kept for the next requests (store_pool.h): about the
 * requests that run at once on a busy daemon. */
#define APP_STORE_IDLE_MAX 16

/**
 * Prepare a whose cfg is filled: the store pool and key, and health_check
 * set to a database check.
 * @return 0, or -1 (logged) when out of memory
 */
int app_init(app *a);

/** Close every store handle and delete the key (other threads have exited). */
void app_destroy(app *a);

/**
 * The store handle of the calling thread's request, taken from the pool (or
 * opened from a->cfg.db_path) on first use; the events its writes commit are
 * posted to a->events when that is set.
 * @return the handle, or NULL (logged) when the database cannot be opened
 */
store *app_store(app *a);

/**
 * The calling thread's request is over: give its store handle, if it took
 * one, back to the pool. A no-op before app_init.
 */
void app_store_release(app *a);

/** app_store for handlers: on failure answers 503 and returns NULL. */
store *app_store_or_answer(app *a, http_response *res);

#endif
