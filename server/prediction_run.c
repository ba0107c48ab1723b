/* prediction_run.c — one batch prediction run on a worker thread
 * (prediction_run.h). */
#include "prediction_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "log.h"
#include "predict.h"
#include "store_predictions.h"

/* Everything a run holds; released by run_clear. */
typedef struct {
  fit_weights w;
  nn_weights *weights;
  fit_data data;
  size_t block;  /* rows of one block */
  float *y;      /* (block, outputs) */
  void *scratch; /* the network's, for a block */
  char error[512]; /* why it failed: a field and an api_error message */
} run;

static void run_clear(run *r) {
  free(r->scratch);
  free(r->y);
  fit_data_clear(&r->data);
  nn_weights_unref(r->weights);
  fit_weights_clear(&r->w);
}

/* Load p's weights and dataset, and room for one block. */
static int prepare(store *st, const store_prediction *p, run *r) {
  api_error err;
  if (fit_weights_load(st, p->model_id, p->version, &r->w, &err) != 0) goto failed;
  const nn_spec *spec = nn_model_spec(r->w.model);
  fit_table_how how = {.encoder = r->w.encoder}; /* a table: the weights' own encoding */
  if (fit_data_load(st, p->dataset_id, 0, spec, p->model_id, &how, &r->data, &err) != 0)
    goto failed;
  if ((int64_t)r->data.d.rows != p->rows) {
    snprintf(r->error, sizeof r->error, "dataset %lld has %zu rows to predict, not %lld",
             (long long)p->dataset_id, r->data.d.rows, (long long)p->rows);
    return -1;
  }
  size_t outputs = (size_t)nn_spec_outputs(spec);
  size_t block = PREDICTION_BLOCK_VALUES / outputs; /* outputs <= NN_MAX_WIDTH */
  r->block = block = block > PREDICTION_BLOCK_ROWS ? PREDICTION_BLOCK_ROWS : block > 0 ? block : 1;
  if (nn_weights_new(r->w.model, &r->weights) != NN_OK ||
      (r->y = malloc(block * outputs * sizeof *r->y)) == NULL ||
      (r->scratch = malloc(nn_weights_scratch_bytes(r->weights, block))) == NULL) {
    snprintf(r->error, sizeof r->error, "out of memory for a block of %zu rows", block);
    return -1;
  }
  return 0;
failed:
  snprintf(r->error, sizeof r->error, "%s%s%s", err.field, err.field[0] ? ": " : "",
           err.message);
  return -1;
}

/* Predict and store the blocks from p->rows_done on. @return the end */
static store_job_state predict_blocks(store *st, const store_prediction *p, run *r,
                                      const atomic_int *stopping) {
  const nn_data *d = &r->data.d;
  int outputs = nn_spec_outputs(nn_model_spec(r->w.model));
  for (size_t first = (size_t)p->rows_done; first < d->rows;) {
    if (atomic_load(stopping)) return STORE_JOB_RUNNING; /* resumed at the next start */
    size_t n = d->rows - first < r->block ? d->rows - first : r->block;
    const float *x = d->x + first * (size_t)d->features; /* (n, features) */
    if (nn_weights_predict(r->weights, x, n, r->y, r->scratch) != NN_OK ||
        (outputs == 1 && predict_unscale(r->w.encoder, r->y, n) != 0)) {
      snprintf(r->error, sizeof r->error, "out of memory predicting rows %zu..", first);
      return STORE_JOB_FAILED;
    }
    bool cancel = false;
    int rc = store_prediction_block(st, p->id, (int64_t)first, (int64_t)n, outputs, r->y,
                                    &cancel);
    if (rc == STORE_ENOTFOUND) return STORE_JOB_CANCELLED; /* gone with its model */
    if (rc != STORE_OK) {
      snprintf(r->error, sizeof r->error, "cannot store rows %zu..: %s", first,
               store_strerror(rc));
      return STORE_JOB_FAILED;
    }
    if (cancel) return STORE_JOB_CANCELLED;
    first += n;
  }
  return STORE_JOB_SUCCEEDED;
}

int prediction_run_next(store *st, const atomic_int *stopping) {
  store_prediction p;
  int rc = store_prediction_claim(st, &p);
  if (rc == STORE_ENOTFOUND) return 0;
  if (rc != STORE_OK) return rc;
  run r;
  memset(&r, 0, sizeof r);
  log_write(LOG_INFO, "prediction %lld running (model %lld version %lld, dataset %lld, from row "
            "%lld of %lld)", (long long)p.id, (long long)p.model_id, (long long)p.version,
            (long long)p.dataset_id, (long long)p.rows_done, (long long)p.rows);
  store_job_state end = STORE_JOB_CANCELLED;
  if (!p.cancel_requested)
    end = prepare(st, &p, &r) == 0 ? predict_blocks(st, &p, &r, stopping) : STORE_JOB_FAILED;
  if (end == STORE_JOB_RUNNING) {
    log_write(LOG_INFO, "prediction %lld paused at row %lld (resumed at the next start)",
              (long long)p.id, (long long)p.rows_done);
  } else {
    rc = store_prediction_finish(st, p.id, end, end == STORE_JOB_FAILED ? r.error : NULL);
    if (rc != STORE_OK && rc != STORE_ENOTFOUND)
      log_write(LOG_ERROR, "prediction %lld: cannot record its end: %s (queued again at the "
                "next start)", (long long)p.id, store_strerror(rc));
    else if (end == STORE_JOB_FAILED)
      log_write(LOG_WARN, "prediction %lld failed: %s", (long long)p.id, r.error);
    else
      log_write(LOG_INFO, "prediction %lld %s", (long long)p.id, store_job_state_name(end));
  }
  run_clear(&r);
  store_prediction_clear(&p);
  return 1;
}

int prediction_run_recover(store *st) {
  int requeued = 0;
  int rc = store_predictions_recover(st, &requeued);
  if (rc != STORE_OK)
    log_write(LOG_ERROR, "cannot recover interrupted predictions: %s", store_strerror(rc));
  else if (requeued > 0)
    log_write(LOG_INFO, "recovered interrupted predictions: %d queued to resume", requeued);
  return rc;
}
