/*
 * pool.c — the compute threads of one trainer: a fork-join pool that runs
 * the tiles of a large matrix product (gemm.c) on up to `budget` threads,
 * the caller being one of them.
 *
 * Which thread computes a tile never changes the tile's bits, so the budget
 * may change between runs (a job's share of the machine shrinks when a
 * second job starts) without changing what the job learns.
 *
 * Runs come every few hundred microseconds during training, so a worker that
 * just finished spins briefly for the next one before it sleeps: a condition
 * variable wake-up costs tens of microseconds, a spin a few.
 */
#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "nn_internal.h"

/* How long a worker polls for the next run before it sleeps, and the
 * caller for the last worker of a run: waking a sleeping thread costs tens
 * of microseconds, more on a virtual CPU. */
#ifndef SPIN_NS
#define SPIN_NS 100000
#endif
/* Polls between two looks at the clock. */
#define SPIN_POLLS 64
/* The run word before the first run: generation 1, nobody invited. */
#define FIRST_RUN ((uint_fast64_t)1 << 16)

struct nn__pool {
  pthread_mutex_t mu;
  pthread_cond_t wake;     /* workers: a new run or stop */
  pthread_cond_t done;     /* the caller: the last worker left the run */
  pthread_t *threads;      /* (capacity - 1,) workers */
  int capacity;            /* threads including the caller */
  atomic_int budget;       /* threads a run may use, 1..capacity */
  /* The current run's generation << 16 | the workers it invites, in one
   * word so that a worker reads both at once: a worker left out of run g
   * must not mistake run g + 1's invitation for g's. Written under mu. */
  atomic_uint_fast64_t run;
  int sleepers;            /* workers in cond_wait, under mu */
  int stop;                /* under mu */
  /* the current run, written by the caller before it publishes the run word */
  nn__task_fn fn;
  void *ctx;
  int tasks;
  atomic_int next;         /* next task to take */
  atomic_int active;       /* invited workers not yet finished */
};

typedef struct {
  nn__pool *p;
  int index; /* 0-based among the workers */
} worker_arg;

static void take_tasks(nn__pool *p) {
  for (int i; (i = atomic_fetch_add(&p->next, 1)) < p->tasks;) p->fn(p->ctx, i);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A hint to the core that this thread spins (x86: pause). */
static void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* The run word once it moves away from seen within SPIN_NS, or 0. */
static uint_fast64_t spin_run(nn__pool *p, uint_fast64_t seen) {
  int64_t start = now_ns();
  do {
    for (int i = 0; i < SPIN_POLLS; i++) {
      uint_fast64_t g = atomic_load_explicit(&p->run, memory_order_acquire);
      if (g != seen) return g;
      relax();
    }
  } while (now_ns() - start < SPIN_NS);
  return 0;
}

/* Whether the run's workers all finish within SPIN_NS. */
static int spin_done(nn__pool *p) {
  int64_t start = now_ns();
  do {
    for (int i = 0; i < SPIN_POLLS; i++) {
      if (atomic_load_explicit(&p->active, memory_order_acquire) == 0) return 1;
      relax();
    }
  } while (now_ns() - start < SPIN_NS);
  return 0;
}

/* Wait for a run word other than seen; @return it, or 0 when stopping. */
static uint_fast64_t await_run(nn__pool *p, uint_fast64_t seen) {
  uint_fast64_t g = spin_run(p, seen);
  if (g != 0) return g;
  pthread_mutex_lock(&p->mu);
  while (!p->stop && (g = atomic_load(&p->run)) == seen) {
    p->sleepers++;
    pthread_cond_wait(&p->wake, &p->mu);
    p->sleepers--;
  }
  int stop = p->stop;
  pthread_mutex_unlock(&p->mu);
  return stop ? 0 : g;
}

static void *worker_main(void *arg) {
  worker_arg *w = arg;
  nn__pool *p = w->p;
  int index = w->index;
  free(w);
  uint_fast64_t seen = FIRST_RUN;
  while ((seen = await_run(p, seen)) != 0) {
    if (index >= (int)(seen & 0xffff)) continue;
    take_tasks(p);
    if (atomic_fetch_sub(&p->active, 1) == 1) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
  return NULL;
}

int nn__pool_new(int threads, nn__pool **out) {
  *out = NULL;
  if (threads < 1 || threads > NN_MAX_THREADS) return NN_ERANGE;
  nn__pool *p = calloc(1, sizeof *p);
  if (p == NULL) return NN_ENOMEM;
  p->threads = calloc((size_t)threads, sizeof *p->threads);
  if (p->threads == NULL) {
    free(p);
    return NN_ENOMEM;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  atomic_init(&p->budget, threads);
  atomic_init(&p->run, FIRST_RUN);
  atomic_init(&p->next, 0);
  atomic_init(&p->active, 0);
  p->capacity = 1;
  for (int i = 0; i + 1 < threads; i++) {
    worker_arg *w = malloc(sizeof *w);
    if (w == NULL) goto fail;
    *w = (worker_arg){p, i};
    if (pthread_create(&p->threads[i], NULL, worker_main, w) != 0) {
      free(w);
      goto fail;
    }
    p->capacity++;
  }
  *out = p;
  return NN_OK;
fail:
  nn__pool_free(p);
  return NN_ENOMEM;
}

void nn__pool_free(nn__pool *p) {
  if (p == NULL) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i + 1 < p->capacity; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->mu);
  free(p->threads);
  free(p);
}

int nn__pool_capacity(const nn__pool *p) { return p != NULL ? p->capacity : 1; }

void nn__pool_set_budget(nn__pool *p, int threads) {
  if (threads < 1) threads = 1;
  if (threads > p->capacity) threads = p->capacity;
  atomic_store(&p->budget, threads);
}

void nn__pool_run(nn__pool *p, int tasks, nn__task_fn fn, void *ctx) {
  assert(tasks >= 0);
  int k = p != NULL ? atomic_load(&p->budget) : 1;
  if (k > tasks) k = tasks;
  if (k <= 1) {
    for (int i = 0; i < tasks; i++) fn(ctx, i);
    return;
  }
  /* Invited workers are counted in the run word's low 16 bits. */
  assert(k <= p->capacity && k - 1 < (1 << 16));
  pthread_mutex_lock(&p->mu);
  assert(atomic_load(&p->active) == 0); /* the last run is over */
  p->fn = fn;
  p->ctx = ctx;
  p->tasks = tasks;
  atomic_store(&p->next, 0);
  atomic_store(&p->active, k - 1);
  uint_fast64_t gen = (atomic_load(&p->run) >> 16) + 1;
  atomic_store_explicit(&p->run, gen << 16 | (uint_fast64_t)(k - 1), memory_order_release);
  if (p->sleepers > 0) pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  take_tasks(p);
  if (spin_done(p)) return;
  pthread_mutex_lock(&p->mu);
  while (atomic_load(&p->active) > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

/* A run of nn__pool_for: task i is the range [i chunk, (i + 1) chunk). */
typedef struct {
  nn__range_fn fn;
  void *ctx;
  size_t n, chunk;
} ranges;

static void range_task(void *ctx, int i) {
  const ranges *r = ctx;
  size_t begin = (size_t)i * r->chunk;
  assert(i >= 0 && begin < r->n); /* the ranges tile [0, n), none empty */
  size_t end = r->n - begin < r->chunk ? r->n : begin + r->chunk;
  r->fn(r->ctx, begin, end);
}

void nn__pool_for(nn__pool *p, size_t n, size_t chunk, nn__range_fn fn, void *ctx) {
  if (n <= chunk) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  ranges r = {fn, ctx, n, chunk};
  assert(chunk > 0 && (n + chunk - 1) / chunk <= INT_MAX);
  nn__pool_run(p, (int)((n + chunk - 1) / chunk), range_task, &r);
}
