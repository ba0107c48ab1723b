/*
 * budget.h — admission by memory: what a model or a job takes to train, held
 * against --memory-budget, and the share of it the running jobs hold.
 *
 * A model is refused at creation when training it cannot fit even at its
 * cheapest (batch 1, sgd, one row); a job at submission when it cannot fit
 * with its own batch size, optimizer and dataset. A queued job that fits the
 * budget but not what the running jobs leave of it waits in the queue: a
 * worker claims it only once it fits (budget_claim), so jobs that each fit
 * never run out of memory together.
 */
#ifndef TRAIND_BUDGET_H
#define TRAIND_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "../core/nn.h"
#include "errors.h"
#include "store.h"

/**
 * The default budget: half the memory of the machine or, when smaller, of
 * the cgroup the daemon runs in (memory.max, or v1's limit_in_bytes).
 * @return bytes, at least 1
 */
size_t budget_default(void);

/**
 * What a job takes while it trains: what core allocates for the model and
 * the trainer (nn_memory_estimate), the dataset's numbers as the worker reads
 * them, and the copies a commit makes: the checkpoint with the optimizer
 * state, the weights alone, the weights snapshot for predictions, and the
 * optimizer state of the checkpoint a resumed job starts from.
 * @param c    the job's config (batch_size, optimizer, validation_split)
 * @param meta the dataset's shape: rows, features, outputs, task
 * @return 0, or -API_UNPROCESSABLE when core refuses the arguments
 */
int budget_job_bytes(const nn_spec *spec, const nn_train_config *c, const store_dataset *meta,
                     size_t *out, api_error *err);

/**
 * Refuse a model that cannot train within limit bytes even at batch 1
 * with sgd on a one-row dataset.
 * @return 0, or -API_TOO_LARGE naming the estimate (field "layers")
 */
int budget_check_model(size_t limit, const nn_spec *spec, api_error *err);

/**
 * Refuse a job that cannot train within limit bytes.
 * @param bytes receives the job's estimate (budget_job_bytes)
 * @return 0, or -API_TOO_LARGE naming the estimate (field "batch_size"
 *         when a batch of 1 would fit, else "dataset")
 */
int budget_check_job(size_t limit, const nn_spec *spec, const nn_train_config *c,
                     const store_dataset *meta, size_t *bytes, api_error *err);

/* The share of the budget the running jobs hold; shared by the workers. */
typedef struct {
  uv_mutex_t lock;
  int64_t total; /* the budget */
  int64_t used;  /* the estimates of the jobs claimed and not yet released */
} budget;

int budget_init(budget *b, size_t total);
void budget_destroy(budget *b);

/**
 * Claim the oldest queued job that may run now (store_job_claim) with the
 * room the running jobs leave, and hold its estimate until budget_release.
 * A job over the whole budget is returned without being held: the caller
 * fails it (budget_refuses).
 */
int budget_claim(budget *b, store *st, store_job *out);

/** The claimed job job has freed what it held. */
void budget_release(budget *b, const store_job *job);

/**
 * @return true, with why in msg, when job can never fit the budget (it was
 *         queued under a larger one)
 */
bool budget_refuses(const budget *b, const store_job *job, char *msg, size_t size);

#endif
