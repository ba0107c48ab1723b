/*
 * replicas.c — the reduces of a data-parallel run whose ranks are threads of
 * one process: what the sharded trainer's tests and `traind-rank --local`
 * use where a cluster run uses MPI_Allreduce (server/rank/).
 *
 * A reduce is two barriers. At the first, every rank has published its
 * buffer; each then sums its own slice of the elements over all the ranks
 * into a shared scratch buffer; after the second, each copies the totals
 * back into its buffer. No rank writes the scratch again before every rank
 * has copied out of it, because the next reduce's first barrier waits for
 * them all.
 *
 * The additions run from the last rank down to the first,
 * b[0] + (b[1] + (... + b[R-1])): the order of Open MPI's basic linear
 * reduce (coll_tuned_allreduce_algorithm 1), so a run with MPI pinned to
 * that algorithm gives the same bits. Each element is summed once, so
 * every rank receives the same bits whatever thread summed it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

struct nn_replicas {
  int ranks;
  size_t max_n;              /* elements of the largest reduce */
  pthread_barrier_t barrier;
  void **bufs;               /* (ranks,) each rank's buffer during a reduce */
  void *scratch;             /* max_n doubles: the totals */
  struct nn_replica {
    nn_replicas *g;
    int rank;
  } *members;                /* (ranks,) the ud of each rank's callbacks */
};

int nn_replicas_new(int ranks, size_t max_n, nn_replicas **out) {
  if (ranks < 1 || ranks > NN_MAX_RANKS || max_n > NN_MAX_PARAMS) return NN_ERANGE;
  nn_replicas *g = calloc(1, sizeof *g);
  if (g == NULL) return NN_ENOMEM;
  g->ranks = ranks;
  g->max_n = max_n;
  g->bufs = calloc((size_t)ranks, sizeof *g->bufs);
  g->members = calloc((size_t)ranks, sizeof *g->members);
  g->scratch = nn__alloc_big((max_n > 0 ? max_n : 1) * sizeof(double));
  if (g->bufs == NULL || g->members == NULL || g->scratch == NULL ||
      pthread_barrier_init(&g->barrier, NULL, (unsigned)ranks) != 0) {
    free(g->bufs);
    free(g->members);
    free(g->scratch);
    free(g);
    return NN_ENOMEM;
  }
  for (int r = 0; r < ranks; r++) g->members[r] = (struct nn_replica){g, r};
  *out = g;
  return NN_OK;
}

void nn_replicas_free(nn_replicas *g) {
  if (g == NULL) return;
  pthread_barrier_destroy(&g->barrier);
  free(g->bufs);
  free(g->members);
  free(g->scratch);
  free(g);
}

/* This rank's slice [*lo, *hi) of n elements. */
static void slice(const struct nn_replica *me, size_t n, size_t *lo, size_t *hi) {
  size_t R = (size_t)me->g->ranks, r = (size_t)me->rank;
  *lo = n * r / R;
  *hi = n * (r + 1) / R;
}

/* sum[i] = b[0][i] + (b[1][i] + (... + b[R-1][i])) for i in [lo, hi) */
static void sum_floats(void *const *bufs, int R, void *scratch, size_t lo, size_t hi) {
  float *const *b = (float *const *)bufs;
  float *sum = scratch;
  for (size_t i = lo; i < hi; i++) {
    float acc = b[R - 1][i];
    for (int k = R - 2; k >= 0; k--) acc = b[k][i] + acc;
    sum[i] = acc;
  }
}

static void sum_doubles(void *const *bufs, int R, void *scratch, size_t lo, size_t hi) {
  double *const *b = (double *const *)bufs;
  double *sum = scratch;
  for (size_t i = lo; i < hi; i++) {
    double acc = b[R - 1][i];
    for (int k = R - 2; k >= 0; k--) acc = b[k][i] + acc;
    sum[i] = acc;
  }
}

/* The reduce of n elements of size bytes each, in place on buf. */
static int reduce(struct nn_replica *me, void *buf, size_t n, size_t size,
                  void (*sum)(void *const *, int, void *, size_t, size_t)) {
  nn_replicas *g = me->g;
  if (n > g->max_n) return NN_ERANGE; /* every rank asks for the same n */
  g->bufs[me->rank] = buf;
  pthread_barrier_wait(&g->barrier);
  size_t lo, hi;
  slice(me, n, &lo, &hi);
  sum(g->bufs, g->ranks, g->scratch, lo, hi);
  pthread_barrier_wait(&g->barrier);
  memcpy(buf, g->scratch, n * size);
  return 0;
}

static int reduce_floats(void *ud, float *buf, size_t n) {
  return reduce(ud, buf, n, sizeof *buf, sum_floats);
}

static int reduce_doubles(void *ud, double *buf, size_t n) {
  return reduce(ud, buf, n, sizeof *buf, sum_doubles);
}

void nn_replicas_shard(nn_replicas *g, int rank, nn_shard *out) {
  *out = (nn_shard){.rank = rank,
                    .ranks = g->ranks,
                    .reduce_floats = reduce_floats,
                    .reduce_doubles = reduce_doubles,
                    .ud = &g->members[rank]};
}
