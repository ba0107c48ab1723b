/*
 * mpi_job.h — a training worker running a job data-parallel on Open MPI
 * ("ranks" > 1, issue #19, docs/distributed.md): it launches mpirun with
 * traind-rank, sends the job to rank 0 over a unix socket and commits what
 * comes back through the store like a job trained in the worker. The daemon
 * links no MPI: the ranks are other processes.
 */
#ifndef TRAIND_MPI_JOB_H
#define TRAIND_MPI_JOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fit.h"
#include "parse_job.h"
#include "predict_cache.h"
#include "store.h"

/* How to launch the ranks (from the daemon's --mpi* flags, config.h). */
typedef struct {
  const char *rank_bin;   /* traind-rank */
  const char *hostfile;   /* "" : this machine */
  const char *interfaces; /* btl/oob_tcp_if_include, "" : Open MPI's choice */
  int allreduce;          /* coll_tuned_allreduce_algorithm */
  int heartbeat_timeout;  /* seconds */
} mpi_launch;

/* One job's run, borrowed from the worker. */
typedef struct {
  store *st;
  const store_job *job;
  const parse_job *cfg;
  const fit_data *data;
  const uint8_t *start; /* the checkpoint it starts from */
  size_t start_len;
  predict_cache *cache;
  int versions_kept;
  atomic_int *cancel;   /* the job was cancelled */
  atomic_int *stopping; /* the daemon stops: pause the job */
  /* the disk is full: wait before writing again (jobs.c's wait_for_space);
   * @return 0 to try again, -1 to give up */
  int (*wait_for_space)(void *ud, unsigned *delay_ms);
  void *ud;
} mpi_job;

typedef enum {
  MPI_JOB_SUCCEEDED,
  MPI_JOB_CANCELLED, /* stopped after a batch on the worker's CANCEL */
  MPI_JOB_PAUSED,    /* stopped on PAUSE; queued with its checkpoint (recorded) */
  MPI_JOB_REQUEUED,  /* the ranks died or went silent: queued from its last
                      * checkpoint (recorded) */
  MPI_JOB_FAILED,    /* error says why */
  MPI_JOB_UNRECORDED /* stopped with an epoch waiting for disk space, or before
                      * the ranks started: the caller queues it from its last
                      * checkpoint */
} mpi_job_end;

/**
 * Run the job on mpirun to its end; blocks the worker thread meanwhile.
 * @return how it ended; error receives why it failed
 */
mpi_job_end mpi_job_run(const mpi_launch *l, const mpi_job *j, char *error, size_t error_len);

#endif
