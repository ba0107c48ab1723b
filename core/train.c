/*
 * train.c — the training loop: mini-batches over a seeded permutation, one
 * forward/backward pass and one optimizer step per batch, validation and
 * early stopping per epoch. Everything a step needs is allocated by
 * nn_trainer_new, so the loop itself allocates nothing.
 *
 * A sharded trainer (nn_trainer_new_shard) is one rank of a data-parallel
 * run: it goes through the same permutation as every other rank and takes
 * its contiguous share of each batch, so the workspace holds a share, not a
 * batch. Two reduces per batch tie the ranks together: the loss sums (two
 * doubles, so that every rank decides alike whether training diverged) and
 * the gradient (P floats, the cost that matters: docs/distributed.md). The
 * plain trainer takes none of these paths.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"

#define SPLIT_STREAM 0x73706c6974ull /* generator stream for the validation split */
#define TRAIN_STREAM 0x747261696eull /* generator stream for shuffling and dropout */

struct nn_trainer {
  nn_model *m;
  const nn_data *d;
  const nn_data *v;  /* validation rows apart from d (nn_trainer_set_validation), or NULL */
  uint32_t *v_rows;  /* (v->rows,) 0, 1, 2...: v's rows in order */
  nn_train_config c;
  nn_shard shard;    /* ranks 1 and no reduces when not sharded */
  size_t bs;         /* rows of a batch (the last one may have fewer) */
  nn__ws ws;         /* activations for the largest batch, or a rank's share of it */
  float *grad;       /* (P,) */
  float *state;      /* (n_state,) optimizer moments */
  size_t n_state;
  uint32_t *split;   /* (rows,) training rows first, then validation rows */
  uint32_t *order;   /* (n_train,) this epoch's order of the training rows */
  float *t;          /* (batch, outputs) targets of a batch, when d->y */
  int32_t *labels;   /* (batch,) labels of a batch, when d->labels */
  size_t n_train, n_val;
  int has_accuracy;
  nn__rng rng;       /* shuffling and dropout */
  nn__rng rng_epoch; /* rng at the start of the current epoch, before its shuffle */
  int epoch;         /* epochs completed */
  size_t batch;      /* batches completed of the current epoch */
  nn__loss_sum part; /* the current epoch's training sums so far */
  uint64_t step;     /* optimizer steps taken */
  double best;       /* early stopping: best monitored loss */
  float *best_params; /* (P,) weights of that epoch, when restore_best */
  int bad_epochs;
  int stopped;
  nn__diag *diag;    /* per-layer diagnostics, NULL when off */
  nn__gnet *gn;      /* a graph model's graph for the largest batch, or NULL */
  const float *out, *logits; /* a graph's output and logits of the last forward pass */
};

size_t nn__trainer_size(void) { return sizeof(nn_trainer); }

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Fisher-Yates shuffle of idx (n,) */
static void shuffle(uint32_t *idx, size_t n, nn__rng *r) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)nn__rng_below(r, i);
    uint32_t tmp = idx[i - 1];
    idx[i - 1] = idx[j];
    idx[j] = tmp;
  }
}

/* Split the rows: a seeded permutation, the last fraction held out. */
size_t nn_train_split(size_t rows, const nn_train_config *c, uint32_t *split) {
  for (size_t i = 0; i < rows; i++) split[i] = (uint32_t)i;
  size_t n_val = (size_t)((double)rows * c->validation_split);
  if (n_val >= rows) n_val = rows - 1;
  if (n_val > 0) {
    nn__rng r;
    nn__rng_seed(&r, c->seed, SPLIT_STREAM);
    shuffle(split, rows, &r);
  }
  return rows - n_val;
}

static void make_split(nn_trainer *t) {
  t->n_train = nn_train_split(t->d->rows, &t->c, t->split);
  t->n_val = t->d->rows - t->n_train;
}

static int fit_norm(nn_trainer *t) {
  nn_model *m = t->m;
  double *acc = malloc(2 * (size_t)m->spec.inputs * sizeof(double));
  if (acc == NULL) return NN_ENOMEM;
  nn__data_norm(t->d, t->split, t->n_train, m->mean, m->std, acc);
  if (m->graph != NULL) nn__graph_keep_codes(m->graph, m->mean, m->std);
  m->has_norm = 1;
  free(acc);
  return NN_OK;
}

static int resume_from(nn_trainer *t, const nn_train_state *s, nn_error *err) {
  if (s->opt != t->c.optim.type || s->n_state != t->n_state)
    return nn__fail(err, NN_EINVAL, "optimizer.type",
                    "the checkpoint's optimizer state does not match optimizer %s",
                    nn_name(NN_NAMES_OPT, t->c.optim.type));
  if (s->epoch < 0 || s->batch < 0)
    return nn__fail(err, NN_EINVAL, "epoch", "the checkpoint's epoch is negative");
  memcpy(t->state, s->state, t->n_state * sizeof(float));
  t->rng.state = s->rng[0];
  t->rng.inc = s->rng[1] | 1u;
  t->rng_epoch.state = s->epoch_rng[0];
  t->rng_epoch.inc = s->epoch_rng[1] | 1u;
  t->epoch = s->epoch;
  t->batch = (size_t)s->batch;
  t->part.loss = s->partial_loss;
  t->part.correct = s->partial_correct;
  t->step = s->step;
  t->best = s->best;
  if (t->best_params != NULL && s->n_best != 0) {
    if (s->n_best != nn__model_kept(t->m))
      return nn__fail(err, NN_EINVAL, "early_stopping.restore_best",
                      "the checkpoint's best weights do not match the model");
    memcpy(t->best_params, s->best_params, s->n_best * sizeof(float));
  }
  t->bad_epochs = s->bad_epochs;
  t->stopped = s->stopped;
  /* without the checkpoint's sums (version 1, or saved without diagnostics)
   * a resumed epoch's diagnostics cover the batches after the resume */
  if (t->diag != NULL && nn__diag_resume(t->diag, s) != NN_OK)
    return nn__fail(err, NN_EINVAL, "diagnostics",
                    "the checkpoint's diagnostics do not match the model");
  return NN_OK;
}

static int check_shard(const nn_shard *s, const nn_train_config *c, nn_error *err) {
  if (s->ranks < 1 || s->ranks > NN_MAX_RANKS)
    return nn__fail(err, NN_EINVAL, "ranks", "ranks must be in 1..%d", NN_MAX_RANKS);
  if (s->rank < 0 || s->rank >= s->ranks)
    return nn__fail(err, NN_EINVAL, "rank", "rank must be in 0..%d", s->ranks - 1);
  if (s->reduce_floats == NULL || s->reduce_doubles == NULL)
    return nn__fail(err, NN_EINVAL, "reduce", "a shard needs both reduce callbacks");
  /* the relu units' liveness would need a reduce of its own */
  if (c->diagnostics && s->ranks > 1)
    return nn__fail(err, NN_EINVAL, "diagnostics",
                    "diagnostics are not gathered across several ranks");
  return NN_OK;
}

int nn_trainer_new(nn_model *m, const nn_data *d, const nn_train_config *c,
                   const nn_train_state *resume, nn_trainer **out, nn_error *err) {
  return nn_trainer_new_shard(m, d, c, resume, NULL, out, err);
}

int nn_trainer_new_shard(nn_model *m, const nn_data *d, const nn_train_config *c,
                         const nn_train_state *resume, const nn_shard *shard, nn_trainer **out,
                         nn_error *err) {
  int rc = nn_train_config_validate(c, err);
  if (rc != NN_OK) return rc;
  if (shard != NULL && (rc = check_shard(shard, c, err)) != NN_OK) return rc;
  rc = nn_data_check(d, &m->spec, err);
  if (rc != NN_OK) return rc;
  if (m->graph != NULL && shard != NULL)
    return nn__fail(err, NN_EINVAL, "ranks",
                    "data-parallel training of graph models is not supported yet");
  if (d->rows > UINT32_MAX)
    return nn__fail(err, NN_ERANGE, "rows", "a data set may hold at most %u rows", UINT32_MAX);
  nn_trainer *t = calloc(1, sizeof *t);
  if (t == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
  t->m = m;
  t->d = d;
  t->c = *c;
  t->shard = shard != NULL ? *shard : (nn_shard){.rank = 0, .ranks = 1};
  t->best = INFINITY;
  t->has_accuracy = d->labels != NULL || m->spec.loss != NN_LOSS_MSE;
  nn__rng_seed(&t->rng, c->seed, TRAIN_STREAM);
  size_t P = m->arch.n_params;
  int outputs = nn_spec_outputs(&m->spec);
  t->n_state = nn__optim_state_floats(c->optim.type, P);
  if (m->graph == NULL) t->grad = nn__alloc_big(P * sizeof(float));
  t->state = nn__alloc_big(t->n_state * sizeof(float));
  t->split = malloc(d->rows * sizeof(uint32_t));
  t->order = malloc(d->rows * sizeof(uint32_t));
  if (c->restore_best) t->best_params = nn__alloc_big(nn__model_kept(m) * sizeof(float));
  rc = NN_ENOMEM;
  if ((m->graph == NULL && t->grad == NULL) || t->state == NULL || t->split == NULL || t->order == NULL ||
      (c->restore_best && t->best_params == NULL))
    goto fail;
  if (c->diagnostics && m->graph == NULL && nn__diag_new(&m->spec, &m->arch, &t->diag) != NN_OK)
    goto fail;
  make_split(t);
  t->bs = (size_t)c->batch_size < t->n_train ? (size_t)c->batch_size : t->n_train;
  /* the largest share of a batch: ceil(bs / ranks) rows */
  size_t ranks = (size_t)t->shard.ranks;
  size_t batch = (t->bs + ranks - 1) / ranks;
  if (d->y != NULL)
    t->t = malloc(batch * (size_t)outputs * sizeof(float));
  else
    t->labels = malloc(batch * sizeof(int32_t));
  if (t->t == NULL && t->labels == NULL) goto fail;
  if (m->graph != NULL) { /* the graph's buffers; the workspace holds the inputs */
    if ((rc = nn__gnet_new(m, batch, 0, &t->gn, err)) != NN_OK ||
        (rc = nn__gnet_check_codes(t->gn, d, "x", err)) != NN_OK)
      goto out;
    t->grad = nn__gnet_grads(t->gn);
    if (c->diagnostics && (rc = nn__diag_new_graph(nn__gnet_graph(t->gn), &t->diag)) != NN_OK)
      goto fail;
    t->ws.max_rows = batch;
    t->ws.mem = t->ws.x = nn__alloc_big(batch * (size_t)m->spec.inputs * sizeof(float));
    rc = t->ws.mem == NULL ? NN_ENOMEM : NN_OK;
  } else {
    rc = nn__ws_init(&t->ws, &m->spec, &m->arch, batch, 1);
  }
  if (rc != NN_OK) goto fail;
  if (resume != NULL && resume->state != NULL) {
    rc = resume_from(t, resume, err);
    if (rc != NN_OK) goto out;
    if (t->batch > (t->n_train + t->bs - 1) / t->bs) {
      rc = nn__fail(err, NN_EINVAL, "batch_size",
                    "the checkpoint stopped at batch %zu, past the end of an epoch", t->batch);
      goto out;
    }
  }
  if (m->spec.normalize && !m->has_norm && (rc = fit_norm(t)) != NN_OK) goto fail;
  *out = t;
  return NN_OK;
fail:
  nn__fail(err, rc, "", "cannot allocate the training buffers: %s", nn_strerror(rc));
out:
  nn_trainer_free(t);
  return rc;
}

int nn_trainer_set_threads(nn_trainer *t, int threads) {
  if (threads < 1 || threads > NN_MAX_THREADS) return NN_ERANGE;
  if (threads <= nn__pool_capacity(t->ws.pool)) {
    if (t->ws.pool != NULL) nn__pool_set_budget(t->ws.pool, threads);
    return NN_OK;
  }
  nn__pool *p;
  int rc = nn__pool_new(threads, &p);
  if (rc != NN_OK) return rc;
  nn__pool_free(t->ws.pool);
  t->ws.pool = p;
  return NN_OK;
}

void nn_trainer_free(nn_trainer *t) {
  if (t == NULL) return;
  nn__pool_free(t->ws.pool);
  nn__ws_free(&t->ws);
  nn__diag_free(t->diag);
  if (t->gn == NULL) free(t->grad);
  nn__gnet_free(t->gn);
  free(t->state);
  free(t->best_params);
  free(t->v_rows);
  free(t->split);
  free(t->order);
  free(t->t);
  free(t->labels);
  free(t);
}

/* Copy rows idx (n,) of d into the workspace: standardized features, targets. */
static void gather_from(nn_trainer *t, const nn_data *d, const uint32_t *idx, size_t n) {
  const nn_model *m = t->m;
  int f = d->features, k = d->outputs;
  nn__standardize(t->ws.pool, d->x, idx, n, f, m->mean, m->std, t->ws.x);
  if (d->labels != NULL) {
    for (size_t i = 0; i < n; i++) t->labels[i] = d->labels[idx[i]];
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const float *y = d->y + (size_t)idx[i] * k; /* (k,) */
    for (int j = 0; j < k; j++) t->t[i * k + j] = y[j];
  }
}

/* Copy training rows idx (n,) into the workspace. */
static void gather(nn_trainer *t, const uint32_t *idx, size_t n) { gather_from(t, t->d, idx, n); }

/* Loss of n rows already in the workspace; the gradient too when train, of
 * the mean over mean_rows rows. */
static void batch_loss(nn_trainer *t, size_t n, size_t mean_rows, int train, nn__loss_sum *s) {
  const nn__arch *a = &t->m->arch;
  if (t->gn != NULL) {
    nn__loss(t->m->spec.loss, t->out, t->logits, t->d->y != NULL ? t->t : NULL,
             t->d->y != NULL ? NULL : t->labels, n, mean_rows, t->m->spec.graph_outputs,
             train ? nn__gnet_dout(t->gn) : NULL, s);
    return;
  }
  nn__loss(t->m->spec.loss, t->ws.acts[a->n_layers - 1], t->ws.logits,
           t->d->y != NULL ? t->t : NULL, t->d->y != NULL ? NULL : t->labels, n, mean_rows,
           a->out[a->n_layers - 1], train ? t->ws.g0 : NULL, s);
}

/* A graph model's forward pass over the n rows in the workspace. */
static int graph_forward(nn_trainer *t, size_t n, int train) {
  return nn__gnet_forward(t->gn, t->ws.x, n, train, train ? &t->rng : NULL, t->ws.pool, &t->out,
                          &t->logits);
}

/* train_batch of a graph model: the same step over its graph. */
static int train_graph(nn_trainer *t, const uint32_t *idx, size_t n, float lr, nn__loss_sum *s) {
  nn_model *m = t->m;
  double before = s->loss;
  gather(t, idx, n);
  int rc = graph_forward(t, n, 1);
  if (rc != NN_OK) return rc;
  batch_loss(t, n, n, 1, s);
  if (!isfinite(s->loss - before)) return NN_ENUMERIC;
  if ((rc = nn__gnet_backward(t->gn)) != NN_OK) return rc;
  if (t->diag != NULL) nn__diag_batch(t->diag, t->grad, NULL, n);
  if (t->c.clip_norm > 0.0f) nn__clip_grad(t->grad, m->arch.n_params, t->c.clip_norm);
  t->step++;
  nn__optim_step(t->ws.pool, &t->c.optim, lr, t->step, m->params, t->grad, t->state, m->arch.n_params);
  return NN_OK;
}

/* One optimizer step on the rows idx (n,). */
static int train_batch(nn_trainer *t, const uint32_t *idx, size_t n, float lr, nn__loss_sum *s) {
  nn_model *m = t->m;
  double before = s->loss;
  if (t->gn != NULL) return train_graph(t, idx, n, lr, s);
  gather(t, idx, n);
  nn__net_forward(&m->spec, &m->arch, m->params, &t->ws, n, &t->rng);
  batch_loss(t, n, n, 1, s);
  if (!isfinite(s->loss - before)) return NN_ENUMERIC;
  nn__net_backward(&m->spec, &m->arch, m->params, &t->ws, n, t->grad, NULL,
                   t->diag != NULL ? t->diag->grad_sq : NULL);
  if (t->diag != NULL) nn__diag_batch(t->diag, t->grad, &t->ws, n);
  if (t->c.clip_norm > 0.0f) nn__clip_grad(t->grad, m->arch.n_params, t->c.clip_norm);
  t->step++;
  nn__optim_step(t->ws.pool, &t->c.optim, lr, t->step, m->params, t->grad, t->state, m->arch.n_params);
  return NN_OK;
}

/* One optimizer step of a sharded trainer on its share of the rows idx (n,)
 * of a batch. */
static int train_shard(nn_trainer *t, const uint32_t *idx, size_t n, float lr) {
  nn_model *m = t->m;
  const nn_shard *sh = &t->shard;
  size_t first = n * (size_t)sh->rank / (size_t)sh->ranks;
  size_t rows = n * (size_t)(sh->rank + 1) / (size_t)sh->ranks - first; /* may be 0 */
  assert(rows <= t->ws.max_rows); /* a share is at most ceil(n / ranks) rows */
  t->ws.row0 = first;
  t->ws.batch_rows = n;
  /* rank 0 adds its rows to the epoch's sums so far, the others to zero:
   * the reduce leaves the same total on every rank, and with one rank the
   * plain trainer's sums, bit for bit */
  nn__loss_sum s = sh->rank == 0 ? t->part : (nn__loss_sum){0, 0};
  double before = t->part.loss;
  gather(t, idx + first, rows);
  nn__net_forward(&m->spec, &m->arch, m->params, &t->ws, rows, &t->rng);
  if (rows > 0) batch_loss(t, rows, n, 1, &s);
  double sums[2] = {s.loss, s.correct};
  if (sh->reduce_doubles(sh->ud, sums, 2) != 0) return NN_ESHARD;
  t->part = (nn__loss_sum){sums[0], sums[1]};
  if (!isfinite(t->part.loss - before)) return NN_ENUMERIC;
  size_t P = m->arch.n_params;
  if (rows > 0)
    nn__net_backward(&m->spec, &m->arch, m->params, &t->ws, rows, t->grad, NULL,
                     t->diag != NULL ? t->diag->grad_sq : NULL);
  else
    memset(t->grad, 0, P * sizeof(float));
  /* grad = sum over ranks of each share's gradient of the batch mean */
  if (sh->reduce_floats(sh->ud, t->grad, P) != 0) return NN_ESHARD;
  if (t->diag != NULL) nn__diag_batch(t->diag, t->grad, &t->ws, rows);
  if (t->c.clip_norm > 0.0f) nn__clip_grad(t->grad, P, t->c.clip_norm);
  t->step++;
  nn__optim_step(t->ws.pool, &t->c.optim, lr, t->step, m->params, t->grad, t->state, P);
  return NN_OK;
}

/* Loss and correct count over the validation rows, in evaluation mode. */
static int validate(nn_trainer *t, nn__loss_sum *s) {
  nn_model *m = t->m;
  const nn_data *d = t->v != NULL ? t->v : t->d;
  const uint32_t *val = t->v != NULL ? t->v_rows : t->split + t->n_train;
  for (size_t i = 0; i < t->n_val; i += t->ws.max_rows) {
    size_t n = t->n_val - i < t->ws.max_rows ? t->n_val - i : t->ws.max_rows;
    gather_from(t, d, val + i, n);
    if (t->gn != NULL) {
      int rc = graph_forward(t, n, 0);
      if (rc != NN_OK) return rc;
    } else {
      nn__net_forward(&m->spec, &m->arch, m->params, &t->ws, n, NULL);
    }
    batch_loss(t, n, n, 0, s);
  }
  return NN_OK;
}

static void early_stopping(nn_trainer *t, double monitored) {
  if (monitored < t->best - t->c.min_delta) {
    t->best = monitored;
    t->bad_epochs = 0;
    if (t->best_params != NULL)
      memcpy(t->best_params, t->m->params, nn__model_kept(t->m) * sizeof(float));
  } else {
    t->bad_epochs++;
  }
  if (t->c.patience > 0 && t->bad_epochs >= t->c.patience) t->stopped = 1;
}

int nn_trainer_epoch(nn_trainer *t, nn_batch_fn fn, void *ud, nn_epoch_metrics *out) {
  double t0 = now_seconds();
  float lr = nn_sched_lr(&t->c.sched, t->c.optim.lr, t->epoch, t->c.epochs);
  /* every epoch starts from the split's order, so the generator state alone
   * determines it: a resumed run shuffles exactly as an uninterrupted one. A
   * paused epoch regenerates its order from the generator of its start. */
  memcpy(t->order, t->split, t->n_train * sizeof(uint32_t));
  if (t->batch == 0) {
    t->rng_epoch = t->rng;
    t->part = (nn__loss_sum){0, 0};
    if (t->diag != NULL) nn__diag_start(t->diag);
    if (t->c.shuffle) shuffle(t->order, t->n_train, &t->rng);
  } else if (t->c.shuffle) {
    nn__rng r = t->rng_epoch;
    shuffle(t->order, t->n_train, &r);
  }
  size_t bs = t->bs;
  size_t n_batches = (t->n_train + bs - 1) / bs;
  while (t->batch < n_batches) {
    size_t b = t->batch, start = b * bs;
    size_t n = t->n_train - start < bs ? t->n_train - start : bs;
    int rc = t->shard.reduce_floats == NULL ? train_batch(t, t->order + start, n, lr, &t->part)
                                            : train_shard(t, t->order + start, n, lr);
    if (rc != NN_OK) return rc;
    t->batch++;
    if (fn != NULL && fn(ud, t->epoch + 1, b, n_batches) != 0) return NN_ESTOPPED;
  }
  nn__loss_sum train = t->part;
  t->batch = 0;
  if (t->diag != NULL) {
    nn__diag_finish(t->diag, t->m->params);
    nn__diag_start(t->diag); /* a checkpoint between epochs holds no sums */
  }
  nn__loss_sum val = {0, 0};
  int vrc = validate(t, &val);
  if (vrc != NN_OK) return vrc;
  t->epoch++;
  out->epoch = t->epoch;
  out->loss = train.loss / (double)t->n_train;
  out->accuracy = t->has_accuracy ? train.correct / (double)t->n_train : NAN;
  out->val_loss = t->n_val > 0 ? val.loss / (double)t->n_val : NAN;
  out->val_accuracy = t->n_val > 0 && t->has_accuracy ? val.correct / (double)t->n_val : NAN;
  out->lr = lr;
  out->samples = t->n_train;
  if (t->n_val > 0 && !isfinite(out->val_loss)) return NN_ENUMERIC;
  early_stopping(t, t->n_val > 0 ? out->val_loss : out->loss);
  /* Keras' restore_best_weights: the run ends on its best epoch's weights
   * (best is finite once an epoch was monitored, as this one just was) */
  if (t->best_params != NULL && nn_trainer_done(t))
    memcpy(t->m->params, t->best_params, nn__model_kept(t->m) * sizeof(float));
  out->seconds = now_seconds() - t0;
  return NN_OK;
}

int nn_trainer_set_validation(nn_trainer *t, const nn_data *v, nn_error *err) {
  if (t->v != NULL)
    return nn__fail(err, NN_EINVAL, "validation", "the validation rows are set once");
  if (t->n_val != 0)
    return nn__fail(err, NN_EINVAL, "validation_split",
                    "validation rows apart from the training data replace a validation_split");
  int rc = nn_data_check(v, &t->m->spec, err);
  if (rc == NN_OK && t->gn != NULL) rc = nn__gnet_check_codes(t->gn, v, "validation", err);
  if (rc != NN_OK) return rc;
  if ((v->labels != NULL) != (t->d->labels != NULL) || v->features != t->d->features ||
      v->outputs != t->d->outputs)
    return nn__fail(err, NN_ESHAPE, "validation",
                    "the validation rows are not of the training data's kind and width");
  if (v->rows > UINT32_MAX)
    return nn__fail(err, NN_ERANGE, "validation", "a data set may hold at most %u rows",
                    UINT32_MAX);
  t->v_rows = malloc((v->rows ? v->rows : 1) * sizeof(uint32_t));
  if (t->v_rows == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
  for (size_t i = 0; i < v->rows; i++) t->v_rows[i] = (uint32_t)i;
  t->v = v;
  t->n_val = v->rows;
  return NN_OK;
}

int nn_trainer_done(const nn_trainer *t) { return t->stopped || t->epoch >= t->c.epochs; }
int nn_trainer_epochs_done(const nn_trainer *t) { return t->epoch; }
int nn_trainer_stopped_early(const nn_trainer *t) { return t->stopped; }

int nn_trainer_state(const nn_trainer *t, nn_train_state *s) {
  memset(s, 0, sizeof *s);
  s->state = malloc((t->n_state ? t->n_state : 1) * sizeof(float));
  if (s->state == NULL) return NN_ENOMEM;
  memcpy(s->state, t->state, t->n_state * sizeof(float));
  s->n_state = t->n_state;
  s->opt = t->c.optim.type;
  s->epoch = t->epoch;
  s->batch = (int)t->batch;
  s->epoch_rng[0] = t->rng_epoch.state;
  s->epoch_rng[1] = t->rng_epoch.inc;
  s->partial_loss = t->part.loss;
  s->partial_correct = t->part.correct;
  s->step = t->step;
  s->rng[0] = t->rng.state;
  s->rng[1] = t->rng.inc;
  s->best = t->best;
  s->bad_epochs = t->bad_epochs;
  s->stopped = t->stopped;
  if (t->best_params != NULL) {
    size_t P = nn__model_kept(t->m);
    if ((s->best_params = malloc((P ? P : 1) * sizeof(float))) == NULL) {
      nn_train_state_free(s);
      return NN_ENOMEM;
    }
    memcpy(s->best_params, t->best_params, P * sizeof(float));
    s->n_best = P;
  }
  if (t->diag != NULL && nn__diag_save(t->diag, s) != NN_OK) {
    nn_train_state_free(s);
    return NN_ENOMEM;
  }
  return NN_OK;
}

int nn_trainer_diagnostics(const nn_trainer *t, nn_layer_diag *out) {
  if (t->diag == NULL || !t->diag->has_last) return NN_EINVAL;
  memcpy(out, t->diag->last, (size_t)t->diag->n_slots * sizeof *out);
  return NN_OK;
}

int nn_train(nn_model *m, const nn_data *d, const nn_train_config *c, nn_batch_fn bfn,
             nn_epoch_fn efn, void *ud, nn_error *err) {
  nn_trainer *t;
  int rc = nn_trainer_new(m, d, c, NULL, &t, err);
  if (rc != NN_OK) return rc;
  while (!nn_trainer_done(t)) {
    nn_epoch_metrics em;
    rc = nn_trainer_epoch(t, bfn, ud, &em);
    if (rc == NN_OK && efn != NULL && efn(ud, &em) != 0) rc = NN_ESTOPPED;
    if (rc != NN_OK) break;
  }
  if (rc == NN_ENUMERIC) nn__fail(err, rc, "", "training diverged: the loss is not finite");
  nn_trainer_free(t);
  return rc;
}
