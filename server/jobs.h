/*
 * jobs.h — the training queue. Dedicated worker threads (libuv threads, not
 * libuv's shared threadpool, which long jobs would starve) sleep on a
 * condition variable, claim queued jobs from the store, train them epoch by
 * epoch with core/, commit each epoch's metrics (and checkpoint) in one
 * transaction, and publish new weights to the predict cache.
 *
 * A job resumes from its newest checkpoint when one exists (after a crash or
 * a graceful stop), which gives bit-identical weights to an uninterrupted run
 * for the same seed; otherwise it starts from the model's published weights
 * (fine-tuning) or, with "reset", from a fresh initialisation.
 */
#ifndef TRAIND_JOBS_H
#define TRAIND_JOBS_H

#include <stdint.h>

#include "mpi_job.h"
#include "predict_cache.h"
#include "notify.h"

typedef struct jobs jobs;

typedef struct {
  const char *db_path; /* the database file */
  int workers;         /* worker threads, >= 1: jobs trained at once */
  int threads;         /* compute threads the running jobs share, 1..NN_MAX_THREADS:
                        * each of R running jobs uses threads / R (at least 1) */
  int versions_kept;   /* newest weights versions kept per model besides each
                        * job's last (store_epoch.versions_kept), >= 1 */
  size_t memory_budget; /* bytes the running jobs may take together (budget.h) */
  int64_t events_kept;  /* newest events kept in the log (store_keep_events) */
  const mpi_launch *mpi; /* how jobs with "ranks" > 1 run (copied, its strings
                          * borrowed); NULL: they fail */
} jobs_config;

/**
 * Settle the jobs a crash left running (store_jobs_recover), then start the
 * workers; each opens its own store handle.
 * @param c       copied
 * @param cache   receives the weights each checkpoint publishes
 * @param events  told of the events the workers commit; outlives the jobs
 * @return 0, or -1 (logged) when the store cannot be opened or threads fail
 */
int jobs_start(const jobs_config *c, predict_cache *cache, notifier *events, jobs **out);

/** A job was queued: wake an idle worker. Thread-safe. */
void jobs_notify(jobs *j);

/**
 * Stop a running job within one batch; it ends cancelled. Call after
 * store_job_request_cancel (which already cancels a queued job). Thread-safe.
 */
void jobs_cancel(jobs *j, int64_t job_id);

/**
 * Graceful stop: running jobs stop within one batch and go back to the queue
 * (they resume from their last checkpoint at the next start), the workers
 * exit and everything is freed. NULL is a no-op.
 */
void jobs_stop(jobs *j);

#endif
