/*
 * store_searches.h — hyperparameter searches in the store: the search row
 * (its normalized request and state), one row per trial (the values it drew
 * and its model) and one per rung a trial entered (the job that trains it
 * there and the metric it reached). Conventions as store.h.
 */
#ifndef TRAIND_STORE_SEARCHES_H
#define TRAIND_STORE_SEARCHES_H

#include "store.h"

typedef enum { STORE_SEARCH_RUNNING, STORE_SEARCH_SUCCEEDED, STORE_SEARCH_CANCELLED } store_search_state;

/** @return "running", "succeeded" or "cancelled" (NULL when out of range). */
const char *store_search_state_name(store_search_state s);

typedef struct {
  int64_t id;
  store_search_state state;
  char *config; /* the normalized request, JSON */
  char created_at[STORE_TIME_LEN];
  char finished_at[STORE_TIME_LEN]; /* "" while running */
} store_search;

typedef struct {
  int64_t trial;    /* 0-based index */
  char *params;     /* JSON object {path: value} */
  int64_t model_id;
} store_search_trial;

typedef enum { STORE_RUNG_RUNNING, STORE_RUNG_DONE, STORE_RUNG_FAILED } store_rung_state;

typedef struct {
  int64_t trial;
  int64_t rung;
  int64_t job_id;
  store_rung_state state;
  double metric; /* when done; NAN otherwise */
} store_search_rung;

/** Insert a running search and log its 'created' event. @param out receives the row; may be NULL */
int store_search_insert(store *st, const char *config, store_search *out);

int store_search_get(store *st, int64_t id, store_search *out);

/** All searches, oldest first; release with store_search_list_free. */
int store_search_list(store *st, store_search **out, size_t *n);

/** The searches still to drive: running, or cancelled with a running rung. */
int store_search_list_active(store *st, store_search **out, size_t *n);

/**
 * End a running search, logging with it a trial_stopped event for each trial
 * in stopped (detail {"trial": k}) and then its 'finished' event.
 * @param detail the finished event's detail, a JSON object's text (NULL: {})
 * @return STORE_OK, STORE_ENOTFOUND, or STORE_ECONFLICT when it is not running
 */
int store_search_finish(store *st, int64_t id, store_search_state state, const int64_t *stopped,
                        size_t n_stopped, const char *detail);

/** Record a trial. @return STORE_OK, or STORE_ECONFLICT when it exists */
int store_search_trial_insert(store *st, int64_t search_id, const store_search_trial *t);

/** A search's trials by index; release with store_search_trials_free. */
int store_search_trials(store *st, int64_t search_id, store_search_trial **out, size_t *n);

/**
 * Insert or replace the row of (trial, rung), logging with it the search's
 * event of type (detail: the trial, rung, job and a done rung's metric);
 * STORE_SEARCH_EVENT_COUNT logs none.
 */
int store_search_rung_put(store *st, int64_t search_id, const store_search_rung *r,
                          store_search_event type);

/** A search's rung rows by trial then rung; free the array. */
int store_search_rungs(store *st, int64_t search_id, store_search_rung **out, size_t *n);

void store_search_clear(store_search *s);
void store_search_list_free(store_search *list, size_t n);
void store_search_trials_free(store_search_trial *list, size_t n);

#endif
