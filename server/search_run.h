/*
 * search_run.h — the searches' scheduler: one thread that drives every
 * running search from its rows in the store, so a search goes on after a
 * restart from where its rows say it was.
 *
 * A pass over a search: settle the rungs whose job ended (the metric it
 * reached, or failed), then, while fewer than max_concurrent of its jobs are
 * queued or running, start the next step — with ASHA the next step of the
 * schedule one job at a time would follow (asha_next over the steps before
 * it), so promotions do not depend on the concurrency, else the next new
 * trial's first rung — and finish the search when nothing runs
 * and nothing is left to start. Each trial is an ordinary model (named
 * search-<id>-trial-<k>) trained by one ordinary job; a promotion queues
 * that job again for the next rung's epochs (store_job_extend), and it
 * resumes from its checkpoint exactly as if it had never stopped. Passes run every 250 ms and on search_run_notify.
 */
#ifndef TRAIND_SEARCH_RUN_H
#define TRAIND_SEARCH_RUN_H

#include <stddef.h>

#include "jobs.h"
#include "notify.h"

typedef struct search_run search_run;

/**
 * Start the scheduler thread (it opens its own store handle).
 * @param memory_budget the bytes each trial's job is estimated against (budget.h)
 * @param events told of each search event committed (may be NULL)
 * @param events_kept the event log's retention (store_keep_events)
 * @return 0 or -1 (logged)
 */
int search_run_start(const char *db_path, size_t memory_budget, jobs *j, notifier *events,
                     int64_t events_kept, search_run **out);

/** Something changed (a search created or cancelled): run a pass now. Thread-safe. */
void search_run_notify(search_run *r);

/** Stop the thread and free r. NULL is a no-op. */
void search_run_stop(search_run *r);

#endif
