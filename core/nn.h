/*
 * nn.h — traind's learning library: feed-forward networks trained by
 * backpropagation and gradient descent.
 *
 * Re-entrant: no globals, no exit(); every fallible function returns NN_OK (0)
 * or a negative nn_status, and all randomness comes from generators owned by
 * a model (initialisation) or a trainer (shuffling, dropout).
 *
 * Buffers are float32, row-major. Shapes are noted as (rows, cols).
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#define NN_FORMAT_VERSION 4         /* of checkpoints written; versions 1 to 3 are still read */
#define NN_MAX_LAYERS 64            /* layers in one model */
#define NN_MAX_UNITS (1 << 20)      /* width of one layer, and of the input */
#define NN_MAX_PARAMS (1ull << 30)  /* floats in one model (4 GiB) */
#define NN_MAX_BATCH (1 << 20)      /* rows in one training batch */
#define NN_MAX_THREADS 256          /* compute threads of one trainer */
#define NN_DIAG_LANES 8             /* partial sums of a layer's squared gradient norms */
#define NN_DIAG_SLOTS 128           /* layers, or a graph's nodes, with diagnostics */
#define NN_MAX_RANKS 4096           /* replicas of one data-parallel training run */

/* ---- status codes and names --------------------------------------------- */

typedef enum {
  NN_OK = 0,
  NN_EINVAL = -1,   /* an argument or spec field is invalid */
  NN_ENOMEM = -2,   /* allocation failed */
  NN_ERANGE = -3,   /* a size overflows or exceeds a limit */
  NN_EFORMAT = -4,  /* serialized data is truncated or corrupt */
  NN_EVERSION = -5, /* serialized data has an unsupported format version */
  NN_ESHAPE = -6,   /* data does not fit the model */
  NN_ENUMERIC = -7, /* training diverged: a loss or weight became NaN/Inf */
  NN_ESTOPPED = -8, /* a callback asked the training loop to stop */
  NN_ESHARD = -9    /* a reduce across the ranks of a sharded trainer failed */
} nn_status;

/* Every enum that appears in JSON or logs has one name table (core/names.c). */
typedef enum {
  NN_NAMES_STATUS, /* nn_status, indexed by -status: "ok", "invalid_argument"... */
  NN_NAMES_LAYER,
  NN_NAMES_ACT,
  NN_NAMES_INIT,
  NN_NAMES_LOSS,
  NN_NAMES_OPT,
  NN_NAMES_SCHED,
  NN_NAMES_COLUMN_TYPE, /* nn_col_type (core/table.h): "number", "integer"... */
  NN_NAMES_IMPUTE       /* nn_impute (core/encode.h): "mean", "median", "constant" */
} nn_names_kind;

/**
 * Name of an enum value.
 * @param kind  which table
 * @param value the enum value (for NN_NAMES_STATUS, the status itself)
 * @return a static string, or NULL when value is out of range
 */
const char *nn_name(nn_names_kind kind, int value);

/**
 * Parse a name into its enum value.
 * @return NN_OK and *value set, or NN_EINVAL when s names nothing in the table
 */
int nn_parse_name(nn_names_kind kind, const char *s, int *value);

/** @return a static human-readable sentence for a status code. */
const char *nn_strerror(int status);

/* Detail of a failure: which input field, and why, in words a user can act on. */
typedef struct {
  char field[64];    /* e.g. "layers[1].units"; "" when not about one field */
  char message[192]; /* e.g. "layers[1].units must be a positive integer" */
} nn_error;

/* ---- model specification ------------------------------------------------ */

typedef enum { NN_LAYER_DENSE, NN_LAYER_DROPOUT } nn_layer_type;

typedef enum {
  NN_ACT_LINEAR,
  NN_ACT_RELU,
  NN_ACT_LEAKY_RELU,
  NN_ACT_SIGMOID,
  NN_ACT_TANH,
  NN_ACT_SOFTMAX
} nn_act;

/* NN_INIT_AUTO resolves to he for relu/leaky_relu and xavier otherwise. */
typedef enum { NN_INIT_AUTO, NN_INIT_XAVIER, NN_INIT_HE } nn_init;

typedef enum {
  NN_LOSS_MSE,           /* mean over all elements of (y - t)^2 */
  NN_LOSS_CROSS_ENTROPY, /* fused with a softmax output layer */
  NN_LOSS_BCE            /* binary_cross_entropy, fused with a sigmoid output layer */
} nn_loss;

typedef struct {
  nn_layer_type type;
  int units;    /* dense: output width, 1..NN_MAX_UNITS */
  nn_act act;   /* dense: activation */
  float slope;  /* dense leaky_relu: negative slope, in [0, 1) */
  nn_init init; /* dense: weight initialisation */
  float rate;   /* dropout: probability of dropping a unit, in [0, 1) */
} nn_layer_spec;

struct nn_graph_spec; /* core/graph.h */

typedef struct {
  int inputs;   /* input width, 1..NN_MAX_UNITS; a graph's: set by validation */
  int n_layers; /* 1..NN_MAX_LAYERS; the last layer must be dense; 0 for a graph */
  nn_layer_spec layers[NN_MAX_LAYERS];
  nn_loss loss;
  uint64_t seed;  /* weight initialisation */
  int normalize;  /* standardize features with train-set mean/std */
  /* A graph model (core/graph.h, docs/graph.md) instead of the layer list,
   * or NULL. Its output feeds the loss: with cross_entropy it is a softmax
   * (a softmax node, or a dense or conv node with activation softmax) of
   * shape [k], k >= 2, with binary_cross_entropy a sigmoid, and the loss
   * fuses it as the layer list's. A data row of inputs columns feeds the
   * graph's inputs in order, each taking as many columns as its shape holds
   * (reshaped, row-major); an embedding reads its codes from a graph input,
   * whose columns standardization leaves as they are. The graph spec's own
   * seed is ignored:
   * seed initialises it. Borrowed: whoever made the spec owns it (a copy of
   * an nn_spec shares it); a model keeps its own copy. */
  const struct nn_graph_spec *graph;
  int graph_outputs;   /* a graph's output size, set by nn_spec_validate */
  size_t graph_params; /* a graph's parameters, set by nn_spec_validate */
} nn_spec;

/**
 * Fill a layer spec with defaults: dense, linear, slope 0.01, init auto, rate 0.
 */
void nn_layer_spec_defaults(nn_layer_spec *l);

/**
 * Validate a spec and fill the defaults it leaves open (NN_INIT_AUTO is
 * resolved). Rejects zero/negative/oversized widths, parameter counts that
 * overflow, rates outside [0,1), a non-dense last layer, and losses that do
 * not match the output activation (cross_entropy needs softmax, binary
 * cross-entropy needs sigmoid).
 * @param spec the spec, normalized in place on success
 * @param err  optional: which field and why, on failure
 * @return NN_OK, NN_EINVAL or NN_ERANGE
 */
int nn_spec_validate(nn_spec *spec, nn_error *err);

/** @return the output width of a valid spec (units of its last layer). */
int nn_spec_outputs(const nn_spec *spec);

/** @return the number of float parameters of a valid spec. */
size_t nn_spec_param_count(const nn_spec *spec);

/* ---- model ---------------------------------------------------------------- */

typedef struct nn_model nn_model;

/**
 * Create a model with freshly initialised weights (from spec->seed; biases 0).
 * @param spec validated here; the model keeps a normalized copy
 * @param out  the new model
 * @param err  optional failure detail
 * @return NN_OK, NN_EINVAL, NN_ERANGE or NN_ENOMEM
 */
int nn_model_new(const nn_spec *spec, nn_model **out, nn_error *err);

/** @return a deep copy of m in *out, or NN_ENOMEM. */
int nn_model_clone(const nn_model *m, nn_model **out);

void nn_model_free(nn_model *m);

const nn_spec *nn_model_spec(const nn_model *m);

/** @return the number of parameters (floats in nn_model_params). */
size_t nn_model_param_count(const nn_model *m);

/**
 * The flat parameter buffer (P,). For each dense layer in order: W (out, in)
 * then b (out,), the same layout as PyTorch's nn.Linear.
 */
float *nn_model_params(nn_model *m);
const float *nn_model_params_const(const nn_model *m);

/**
 * Offsets of a dense layer's W and b inside the parameter buffer.
 * @return NN_OK, or NN_EINVAL when layer is not a dense layer index
 */
int nn_model_layer_offsets(const nn_model *m, int layer, size_t *w_off, size_t *b_off);

/**
 * Feature standardization: per-feature mean and std (each (inputs,)).
 * @return NN_OK with pointers set, or NN_EINVAL when the model has none yet
 */
int nn_model_norm(const nn_model *m, const float **mean, const float **std);

/** Set the standardization statistics (copied). std values must be > 0. The
 * columns of a graph model's embedding codes keep mean 0 and std 1. */
int nn_model_set_norm(nn_model *m, const float *mean, const float *std);

/* ---- data ----------------------------------------------------------------- */

/* A data set, borrowed (never copied) by the trainer. Exactly one of y and
 * labels is set. */
typedef struct {
  size_t rows;
  int features;
  const float *x;         /* (rows, features) */
  int outputs;            /* width of y */
  const float *y;         /* (rows, outputs): regression, one-hot or 0/1 targets */
  const int32_t *labels;  /* (rows,): class indices in [0, classes) */
  int classes;
} nn_data;

/**
 * Check that a data set can train a model with this spec: widths match,
 * targets are finite, labels in range, the loss can use these targets.
 * @return NN_OK, NN_EINVAL (malformed data) or NN_ESHAPE (does not fit)
 */
int nn_data_check(const nn_data *d, const nn_spec *spec, nn_error *err);

/* ---- training configuration ------------------------------------------------ */

typedef enum { NN_OPT_SGD, NN_OPT_ADAM, NN_OPT_ADAMW, NN_OPT_RMSPROP } nn_opt;

typedef enum {
  NN_SCHED_CONSTANT,    /* lr */
  NN_SCHED_STEP,        /* lr * gamma^floor(e / step_size) */
  NN_SCHED_EXPONENTIAL, /* lr * gamma^e */
  NN_SCHED_COSINE       /* min_lr + (lr - min_lr) * (1 + cos(pi e / epochs)) / 2 */
} nn_sched;

typedef struct {
  nn_opt type;
  float lr;
  float momentum;     /* sgd: 0 = none; rmsprop: heavy-ball momentum */
  int nesterov;       /* sgd with momentum */
  float beta1, beta2; /* adam, adamw */
  float eps;          /* adam, adamw, rmsprop */
  float alpha;        /* rmsprop smoothing */
  float weight_decay; /* L2 (added to the gradient), decoupled for adamw */
} nn_optim_spec;

typedef struct {
  nn_sched type;
  int step_size; /* step: epochs between decays */
  float gamma;   /* step, exponential: decay factor */
  float min_lr;  /* cosine: floor */
} nn_sched_spec;

typedef struct {
  int epochs;             /* >= 1 */
  int batch_size;         /* 1..NN_MAX_BATCH; the last batch may be smaller */
  int shuffle;            /* reshuffle the training rows every epoch */
  float validation_split; /* fraction of rows held out, in [0, 1) */
  uint64_t seed;          /* shuffling, validation split, dropout */
  nn_optim_spec optim;
  nn_sched_spec sched;
  float clip_norm;        /* clip gradients to this global L2 norm; 0 = off */
  int patience;           /* early stopping: epochs without improvement; 0 = off */
  float min_delta;        /* early stopping: improvement that counts */
  int restore_best;       /* end on the weights of the best monitored epoch */
  int diagnostics;        /* gather per-layer diagnostics (nn_trainer_diagnostics) */
} nn_train_config;

/** PyTorch's defaults for an optimizer: lr, betas, eps, alpha; no decay. */
void nn_optim_defaults(nn_opt type, nn_optim_spec *o);

/** epochs 10, batch 32, shuffle on, no split, adam defaults, constant lr,
 * no diagnostics. */
void nn_train_config_defaults(nn_train_config *c);

/** @return NN_OK, or NN_EINVAL naming the field that is out of range. */
int nn_train_config_validate(const nn_train_config *c, nn_error *err);

/**
 * The trainer's split of rows (>= 1) under c (validation_split, seed): split
 * (rows,) receives the training rows first, then the held-out ones — what a
 * preprocessing fitted on the training rows only needs to know.
 * @return the number of training rows
 */
size_t nn_train_split(size_t rows, const nn_train_config *c, uint32_t *split);

/**
 * Learning rate of an epoch under a schedule.
 * @param epoch 0-based epoch index
 * @param epochs total epochs of the run (the cosine period)
 */
float nn_sched_lr(const nn_sched_spec *s, float lr, int epoch, int epochs);

/* ---- training --------------------------------------------------------------- */

typedef struct {
  int epoch;           /* 1-based, counting from the start of the run */
  double loss;         /* mean training loss over the epoch's batches */
  double val_loss;     /* NAN without a validation split */
  double accuracy;     /* NAN for regression */
  double val_accuracy; /* NAN for regression or without a validation split */
  float lr;            /* learning rate used in this epoch */
  double seconds;      /* wall time of the epoch */
  size_t samples;      /* training rows seen in the epoch */
} nn_epoch_metrics;

/* Called after each batch; a nonzero return stops training (cancellation). */
typedef int (*nn_batch_fn)(void *ud, int epoch, size_t batch, size_t n_batches);

/* Everything besides the model that a resumed run needs; filled by
 * nn_checkpoint_load, consumed by nn_trainer_new. */
typedef struct {
  int epoch;         /* epochs completed */
  int batch;         /* batches completed of the next epoch (stopped mid-epoch) */
  uint64_t epoch_rng[2]; /* generator at that epoch's start: regenerates its order */
  double partial_loss;   /* that epoch's loss and correct sums so far */
  double partial_correct;
  uint64_t step;     /* optimizer steps taken */
  nn_opt opt;        /* optimizer the state belongs to */
  size_t n_state;    /* floats in state */
  float *state;      /* optimizer moments, (k * P,) */
  uint64_t rng[2];   /* trainer generator */
  double best;       /* early stopping: best monitored loss so far */
  int bad_epochs;    /* early stopping: epochs since the best */
  int stopped;       /* early stopping triggered */
  /* that epoch's diagnostics so far (nn_train_config.diagnostics), so a
   * resumed epoch reports what an uninterrupted one would */
  int has_diag;      /* the three fields below are set */
  int diag_batches;  /* batches the sums cover */
  /* per layer: the sum over them of ||dW||^2, as the trainer's partial
   * sums, so a resumed epoch goes on adding in the same order */
  double grad_sq[NN_DIAG_SLOTS][NN_DIAG_LANES]; /* per layer, or graph node */
  size_t n_units;    /* relu units of the model, over all its relu layers (nodes) */
  uint8_t *alive;    /* (n_units,) 1 when the unit output > 0 for one of their rows */
  /* restore_best: the weights of the best epoch so far (format version 3) */
  size_t n_best;     /* P, or 0 when not kept */
  float *best_params; /* (n_best,) */
} nn_train_state;

void nn_train_state_free(nn_train_state *s);

typedef struct nn_trainer nn_trainer;

/**
 * Prepare to train m on d: allocates gradients, optimizer state and the
 * activations for the largest batch, so nn_trainer_epoch allocates nothing.
 * When m->normalize is set and m has no statistics yet, they are computed
 * here from the training rows. A graph model (nn_spec.graph) trains its
 * graph: batchnorm updates its running statistics in training mode and
 * uses them in evaluation (validation, predict), dropout draws from the
 * trainer's generator; its embeddings' codes in d must be integers in
 * range (NN_EINVAL naming the row and column); diagnostics are per node.
 * @param m      trained in place; must outlive the trainer
 * @param d      borrowed; must outlive the trainer
 * @param c      copied
 * @param resume optional state from a checkpoint (same config) to continue from
 * @return NN_OK, NN_EINVAL, NN_ESHAPE, NN_ERANGE or NN_ENOMEM
 */
int nn_trainer_new(nn_model *m, const nn_data *d, const nn_train_config *c,
                   const nn_train_state *resume, nn_trainer **out, nn_error *err);

/* ---- data-parallel training (docs/distributed.md) ---------------------------- */

/* Sum buf (n,) element by element over every rank, in place: each rank
 * passes its own values and receives the total (MPI_Allreduce with MPI_SUM).
 * Every rank must receive the same bits, so the order of the additions may
 * not depend on the rank (it may on the number of ranks).
 * @return 0, or nonzero when the reduce failed */
typedef int (*nn_reduce_floats_fn)(void *ud, float *buf, size_t n);
typedef int (*nn_reduce_doubles_fn)(void *ud, double *buf, size_t n);

/* One replica of a data-parallel run: every rank holds the whole model and
 * data set, shuffles with the shared seed and trains on rows
 * [n r / R, n (r + 1) / R) of each batch of n rows. */
typedef struct {
  int rank;  /* this replica, 0..ranks-1 */
  int ranks; /* replicas training together, 1..NN_MAX_RANKS */
  nn_reduce_floats_fn reduce_floats;   /* the gradient (P,), once per batch */
  nn_reduce_doubles_fn reduce_doubles; /* the epoch's loss and correct sums (2,),
                                        * once per batch */
  void *ud;                            /* passed to both */
} nn_shard;

/**
 * nn_trainer_new for one rank of a data-parallel run. Each batch, the rank
 * runs the forward and backward passes over its share of the rows with the
 * loss scaled by the whole batch's size, and the gradients are summed over
 * the ranks right after the backward pass, before clipping, weight decay and
 * the optimizer step; dropout draws each row's mask from the generator
 * position it has in one process. The ranks' parameters then stay identical
 * bit for bit, and equal one process's up to the order of float additions;
 * with one rank, bit for bit. A checkpoint of any rank resumes the run.
 * Per-layer diagnostics need ranks == 1. Graph models are not sharded yet
 * (NN_EINVAL naming "ranks").
 * @param shard NULL: nn_trainer_new; copied
 * @return as nn_trainer_new; nn_trainer_epoch may also return NN_ESHARD
 */
int nn_trainer_new_shard(nn_model *m, const nn_data *d, const nn_train_config *c,
                         const nn_train_state *resume, const nn_shard *shard, nn_trainer **out,
                         nn_error *err);

/* The ranks of a run as threads of one process (core/replicas.c): each
 * thread trains its own model and trainer, made with the shard of its rank.
 * A reduce returns once every rank has called it, with the sums in the order
 * b[0] + (b[1] + (... + b[ranks-1])), that of Open MPI's basic linear reduce. */
typedef struct nn_replicas nn_replicas;

/**
 * @param max_n elements of the largest reduce: the models' parameter count
 * @return NN_OK, NN_ERANGE or NN_ENOMEM
 */
int nn_replicas_new(int ranks, size_t max_n, nn_replicas **out);
void nn_replicas_free(nn_replicas *g);

/** The shard of rank (0..ranks-1), its callbacks bound to g. */
void nn_replicas_shard(nn_replicas *g, int rank, nn_shard *out);

/**
 * Train one epoch, or the rest of one that a callback stopped.
 * @param fn  optional per-batch callback; a nonzero return stops mid-epoch,
 *            after that batch: the trainer pauses there, and its state (and so a
 *            checkpoint) resumes exactly where it stopped
 * @param out the epoch's metrics
 * @return NN_OK, NN_ESTOPPED (paused mid-epoch), NN_ENUMERIC or (sharded)
 *         NN_ESHARD
 */
int nn_trainer_epoch(nn_trainer *t, nn_batch_fn fn, void *ud, nn_epoch_metrics *out);

/**
 * Spread the large matrix products of later batches over threads threads,
 * the caller included (1 by default). The weights do not depend on it, so it
 * may change between any two batches, e.g. from an nn_batch_fn.
 * @param threads 1..NN_MAX_THREADS
 * @return NN_OK, NN_ERANGE or NN_ENOMEM (the trainer then keeps its threads)
 */
int nn_trainer_set_threads(nn_trainer *t, int threads);

/** @return nonzero once all epochs ran or early stopping triggered. */
int nn_trainer_done(const nn_trainer *t);

/** @return the number of completed epochs. */
int nn_trainer_epochs_done(const nn_trainer *t);

/** @return nonzero when early stopping ended the run. */
int nn_trainer_stopped_early(const nn_trainer *t);

/* One layer's training diagnostics for an epoch (see core/diag.c for how
 * they are gathered). A number that does not apply is NAN. A graph model's
 * are per node: grad_norm and weight_norm over all of a node's parameters
 * (dense and conv weight and bias, an embedding's table, a norm's gain and
 * bias), dead_fraction of a relu node (a relu op, or a dense or conv node
 * with activation relu) over the entries of one row of its output. */
typedef struct {
  double grad_norm;     /* dense: root mean square over the epoch's batches of
                         * ||dW||_2, the weight gradient as backprop computed it
                         * (before clipping and weight decay) */
  double weight_norm;   /* dense: ||W||_2 (Frobenius) at the end of the epoch */
  double dead_fraction; /* relu: share of units whose output was 0 for every
                         * training row of the epoch */
} nn_layer_diag;

/**
 * Diagnostics of the last completed epoch, one per layer of the spec (per
 * node of a graph model's, in its order).
 * Needs nn_train_config.diagnostics; the cost is one pass over each batch's
 * weight gradient (already in cache) and a scan of relu outputs until every
 * unit has fired once in the epoch.
 * @param out (n_layers,) or (n_nodes,): NN_DIAG_SLOTS always suffice
 * @return NN_OK, or NN_EINVAL when diagnostics are off or no epoch completed yet
 */
int nn_trainer_diagnostics(const nn_trainer *t, nn_layer_diag *out);

/**
 * Validate on the rows of v instead of a split of the training data: every
 * epoch's val_loss and val_accuracy (and early stopping) come from all of
 * v's rows, evaluated as a split's rows are. Call once, before the first
 * epoch (of this trainer: a resumed one takes the same rows again).
 * @param v borrowed, must outlive the trainer; the same kind (labels or
 *          targets) and width as the training data
 * @return NN_OK, NN_EINVAL (a validation_split is set too, or v is of
 *         another kind), NN_ESHAPE, NN_ERANGE or NN_ENOMEM
 */
int nn_trainer_set_validation(nn_trainer *t, const nn_data *v, nn_error *err);

/** Copy the trainer's resumable state (allocates s->state, s->alive and
 * s->best_params). */
int nn_trainer_state(const nn_trainer *t, nn_train_state *s);

void nn_trainer_free(nn_trainer *t);

/* Called after each epoch; a nonzero return stops training. */
typedef int (*nn_epoch_fn)(void *ud, const nn_epoch_metrics *m);

/**
 * Train until done: nn_trainer_new + nn_trainer_epoch until nn_trainer_done.
 * @return NN_OK, NN_ESTOPPED, or any error of the functions above
 */
int nn_train(nn_model *m, const nn_data *d, const nn_train_config *c,
             nn_batch_fn bfn, nn_epoch_fn efn, void *ud, nn_error *err);

/* ---- memory ------------------------------------------------------------------ */

/* What nn_model_new and nn_trainer_new allocate to train a model, in bytes,
 * as they allocate it (core/estimate.c). The compute threads' stacks
 * (nn_trainer_set_threads) and the caller's data set are not included. */
typedef struct {
  size_t model;       /* the model: parameters (P,), standardization (2, inputs) */
  size_t gradients;   /* (P,); and restore_best's (P,) best weights */
  size_t optimizer;   /* moments: (P,) for sgd, (2, P) for adam, adamw, rmsprop */
  size_t activations; /* for the largest batch: its standardized inputs, every
                       * layer's outputs, dropout masks, a fused output's logits,
                       * and two (batch, widest layer) buffers for their gradients */
  size_t rows;        /* the validation split and an epoch's order: 8 bytes a row */
  size_t other;       /* the trainer and model structs, a batch's targets,
                       * diagnostics, the standardization's scratch */
  size_t total;       /* the sum */
} nn_memory;

/**
 * Estimate the memory of training: the bytes that nn_model_new (or a
 * checkpoint's model) and nn_trainer_new allocate for this spec and config
 * on rows rows, counted buffer by buffer as core allocates them (a large
 * buffer in whole 2 MiB pages). Pure: allocates nothing.
 * @param spec   validated here (on a copy)
 * @param c      batch_size, validation_split, optim.type, diagnostics and
 *               restore_best are read
 * @param rows   rows of the data set, >= 1
 * @param labels the data set has class labels (else float targets)
 * @return NN_OK, or NN_EINVAL naming the field at fault
 */
int nn_memory_estimate(const nn_spec *spec, const nn_train_config *c, size_t rows, int labels,
                       nn_memory *out, nn_error *err);

/* ---- gradients (used by tests and gradient checks) ------------------------- */

/**
 * Loss and parameter gradient of m on n rows, in evaluation mode (dropout
 * off, standardization applied). Exactly one of y, labels is set.
 * @param x      (n, inputs)
 * @param y      (n, outputs) or NULL
 * @param labels (n,) or NULL
 * @param grad   (P,) receives dLoss/dParams; may be NULL
 * @param dx     (n, inputs) receives dLoss/dx (standardized input); may be NULL
 * @param loss   receives the mean loss
 * @return NN_OK, NN_ENOMEM, or NN_EINVAL (also for a graph model, whose
 *         gradients nn_graph_check checks on the engine itself)
 */
int nn_model_loss_grad(const nn_model *m, const float *x, const float *y,
                       const int32_t *labels, size_t n, float *grad, float *dx,
                       double *loss);

/* ---- gradient check ------------------------------------------------------------ */

#define NN_GRADCHECK_EPSILON 1e-6      /* default relative step */
#define NN_GRADCHECK_PER_TENSOR 64     /* K: parameters checked per W and per b */
#define NN_GRADCHECK_BUDGET (1u << 28) /* multiply-adds the differences may spend */
#define NN_GRADCHECK_THRESHOLD 1e-2    /* largest relative error that passes */

typedef struct {
  double epsilon; /* each parameter p moves by +-epsilon * max(1, |p|); in (0, 0.1] */
  uint64_t seed;  /* picks the parameters checked in tensors of more than K */
} nn_gradcheck_config;

/* What was found in one layer; NAN errors where nothing was checked. */
typedef struct {
  double weight_error;    /* largest relative error over the checked weights */
  double bias_error;      /* ... and biases */
  size_t weights_checked; /* at most NN_GRADCHECK_PER_TENSOR each, fewer */
  size_t biases_checked;  /* when the budget runs short */
  size_t skipped;         /* picked but not checked: the step crossed a relu kink */
} nn_gradcheck_layer;

typedef struct {
  nn_gradcheck_layer layers[NN_MAX_LAYERS]; /* one per layer of the spec */
  double loss;      /* mean loss of the rows, in double precision */
  double max_error; /* over every checked parameter */
  double threshold; /* NN_GRADCHECK_THRESHOLD */
  size_t checked;   /* parameters checked in all */
  int pass;         /* something was checked and max_error < threshold */
} nn_gradcheck_result;

/** epsilon NN_GRADCHECK_EPSILON, seed 0. */
void nn_gradcheck_defaults(nn_gradcheck_config *c);

/**
 * Check backprop (nn_model_loss_grad, float32) against central finite
 * differences of the loss (in double precision) on every row of d, in
 * evaluation mode, parameter by parameter: all of a layer's W or b when it
 * has at most NN_GRADCHECK_PER_TENSOR entries, else that many picked at
 * random from c->seed. The differences spend at most about
 * NN_GRADCHECK_BUDGET multiply-adds, shared among the tensors; a tensor
 * whose single check would cost more than its share is checked less, or not
 * at all (see core/gradcheck.c for the error measure and the costs). Besides
 * that, two forward and backward passes over d's rows in float32 and one
 * forward pass in double.
 * @param d   the rows (checked with nn_data_check)
 * @param out filled on NN_OK; a graph model is refused (NN_EINVAL, "model")
 * @return NN_OK, NN_EINVAL, NN_ESHAPE, NN_ERANGE or NN_ENOMEM
 */
int nn_gradcheck(const nn_model *m, const nn_data *d, const nn_gradcheck_config *c,
                 nn_gradcheck_result *out, nn_error *err);

/* ---- inference ----------------------------------------------------------------- */

/**
 * Predict n rows with a model (not thread-safe against training of m;
 * use nn_weights for that).
 * @param x (n, inputs) raw features; standardization is applied here
 * @param y (n, outputs)
 */
int nn_model_predict(const nn_model *m, const float *x, size_t n, float *y);

/* An immutable, reference-counted snapshot of a model's weights. Any number
 * of threads may predict with one concurrently. */
typedef struct nn_weights nn_weights;

/** Snapshot m's spec, parameters and statistics (refcount 1). */
int nn_weights_new(const nn_model *m, nn_weights **out);
nn_weights *nn_weights_ref(nn_weights *w);
void nn_weights_unref(nn_weights *w);
const nn_spec *nn_weights_spec(const nn_weights *w);

/** @return bytes of scratch nn_weights_predict needs for n rows (0 on overflow). */
size_t nn_weights_scratch_bytes(const nn_weights *w, size_t n);

/**
 * Predict n rows. Thread-safe.
 * @param scratch nn_weights_scratch_bytes(w, n) bytes, or NULL to allocate
 */
int nn_weights_predict(const nn_weights *w, const float *x, size_t n, float *y,
                       void *scratch);

/* A slot that always holds a complete snapshot: a training thread publishes
 * new weights while predicting threads acquire the current ones. */
typedef struct nn_slot nn_slot;

int nn_slot_new(nn_slot **out);
void nn_slot_free(nn_slot *s);

/** Publish w (the slot takes the caller's reference); the old one is released. */
void nn_slot_publish(nn_slot *s, nn_weights *w);

/** @return a new reference to the current snapshot, or NULL if none; unref it. */
nn_weights *nn_slot_acquire(nn_slot *s);

/* ---- checkpoints ----------------------------------------------------------- */

/**
 * Serialize a model and, optionally, a trainer's resumable state into the
 * versioned little-endian checkpoint format (docs/checkpoint-format.md).
 * @param t   optional: NULL saves weights only
 * @param buf receives a malloc'd buffer (free it)
 */
int nn_checkpoint_save(const nn_model *m, const nn_trainer *t, uint8_t **buf, size_t *len);

/**
 * Parse a checkpoint. Truncated, corrupted (CRC mismatch) or wrong-version
 * data is rejected with an error, never a crash.
 * @param m  receives the model
 * @param st optional: receives the trainer state (st->state NULL when the
 *           checkpoint has none); free with nn_train_state_free
 * @return NN_OK, NN_EFORMAT, NN_EVERSION, NN_EINVAL or NN_ENOMEM
 */
int nn_checkpoint_load(const uint8_t *buf, size_t len, nn_model **m, nn_train_state *st,
                       nn_error *err);

/** CRC-32 (IEEE 802.3, as zlib) of len bytes, continuing from crc (start at 0). */
uint32_t nn_crc32(uint32_t crc, const void *buf, size_t len);

/**
 * SipHash-2-4 (Aumasson and Bernstein) of len bytes under a 16-byte key: a
 * keyed hash for tables of strings a client chooses, whose collisions cannot
 * be found without the key (core/siphash.c).
 */
uint64_t nn_siphash24(const uint8_t key[16], const void *buf, size_t len);

#endif /* NN_H */
