/* app.c — the shared state's store handles, per request, and the health check. */
#include "app.h"

#include "http.h"
#include "log.h"
#include "notify.h"
#include "store.h"
#include "store_pool.h"

/* A thread that ends still holding a handle (outside any request). */
static void close_store(void *st) { store_close(st); }

store *app_store(app *a) {
  if (!a->store_key_ready) {
    log_write(LOG_ERROR, "app_store called before app_init");
    return NULL;
  }
  store *st = pthread_getspecific(a->store_key);
  if (st != NULL) return st;
  int rc = store_pool_take(a->stores, &st);
  if (rc != STORE_OK) {
    log_write(LOG_ERROR, "cannot open the database %s: %s", a->cfg.db_path, store_strerror(rc));
    return NULL;
  }
  if (a->events != NULL) store_on_event(st, notify_store_hook, a->events);
  store_keep_events(st, a->cfg.events_kept);
  if (pthread_setspecific(a->store_key, st) != 0) {
    log_write(LOG_ERROR, "cannot keep a database handle for this thread");
    store_pool_give(a->stores, st);
    return NULL;
  }
  return st;
}

void app_store_release(app *a) {
  if (!a->store_key_ready) return;
  store *st = pthread_getspecific(a->store_key);
  if (st == NULL) return;
  pthread_setspecific(a->store_key, NULL);
  store_pool_give(a->stores, st);
}

store *app_store_or_answer(app *a, http_response *res) {
  store *st = app_store(a);
  if (st == NULL) http_fail(res, API_UNAVAILABLE, NULL, "the database cannot be opened");
  return st;
}

static int check_database(app *a, api_error *err) {
  store *st = app_store(a);
  if (st == NULL) return api_fail(err, API_UNAVAILABLE, NULL, "the database cannot be opened");
  int rc = store_healthz(st);
  if (rc != STORE_OK)
    return api_fail(err, API_UNAVAILABLE, NULL, "the database does not answer: %s",
                    store_strerror(rc));
  return 0;
}

int app_init(app *a) {
  if (store_pool_new(a->cfg.db_path, APP_STORE_IDLE_MAX, &a->stores) != STORE_OK) {
    log_write(LOG_ERROR, "out of memory creating the database handle pool");
    return -1;
  }
  if (pthread_key_create(&a->store_key, close_store) != 0) {
    log_write(LOG_ERROR, "cannot create the per-thread database key");
    store_pool_free(a->stores);
    a->stores = NULL;
    return -1;
  }
  a->store_key_ready = true;
  a->health_check = check_database;
  return 0;
}

void app_destroy(app *a) {
  if (!a->store_key_ready) return;
  store_close(pthread_getspecific(a->store_key));
  pthread_setspecific(a->store_key, NULL);
  pthread_key_delete(a->store_key);
  a->store_key_ready = false;
  store_pool_free(a->stores);
  a->stores = NULL;
}
