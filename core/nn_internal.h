/*
 * nn_internal.h — what core's files share with each other; not public API.
 * Internal names carry the nn__ prefix.
 */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include <string.h>

#include "nn.h"

/* Hot elementwise loops are compiled for AVX-512, AVX2 and the baseline
 * and the loader picks the best for the CPU. Without FMA contraction
 * (ISO C mode) and without reassociation, every version computes the same
 * bits, so results do not depend on which one runs. GCC only: clang 14
 * names the dispatcher of a clone so that other files cannot link to it
 * (the fuzzing build uses clang). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define NN__VECTORIZE __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN__VECTORIZE
#endif
/* A helper of an NN__VECTORIZE function: inlined, so it is compiled for each
 * of its caller's targets instead of the baseline alone. */
#define NN__INLINE static inline __attribute__((always_inline))

/* ---- errors ---------------------------------------------------------------- */

/* Fill err (if any) with a field and a printf-style message; return status. */
int nn__fail(nn_error *err, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- little-endian bytes: the serialized formats (checkpoint.c, encode_codec.c)
 * write every field byte by byte, so they mean the same on every host ----- */

static inline uint8_t *nn__put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
  return p + 4;
}

static inline uint8_t *nn__put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
  return p + 8;
}

/* A double as its IEEE-754 bits, through a pointer (bit-exact, NaNs too). */
static inline uint8_t *nn__put_f64(uint8_t *p, const double *d) {
  uint64_t bits;
  memcpy(&bits, d, sizeof bits);
  return nn__put_u64(p, bits);
}

static inline uint32_t nn__le32(const uint8_t *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t nn__le64(const uint8_t *b) {
  return nn__le32(b) | (uint64_t)nn__le32(b + 4) << 32;
}

/* ---- memory (mem.c) ---------------------------------------------------------- */

/* bytes of zeroed memory, released by free(); a large buffer is aligned to
 * and advised as huge pages. @return NULL when out of memory */
void *nn__alloc_big(size_t bytes);
/* The bytes nn__alloc_big(bytes) takes: bytes, or whole huge pages. */
size_t nn__alloc_big_size(size_t bytes);

/* ---- random numbers: PCG32 (O'Neill), 64-bit state, 64-bit stream ---------- */

typedef struct {
  uint64_t state;
  uint64_t inc; /* odd: selects the stream */
} nn__rng;

void nn__rng_seed(nn__rng *r, uint64_t seed, uint64_t stream);
uint32_t nn__rng_u32(nn__rng *r);
/* the state delta draws of nn__rng_u32 later, in O(log delta) */
void nn__rng_advance(nn__rng *r, uint64_t delta);
/* uniform in [0, 1), 24 random bits */
float nn__rng_uniform(nn__rng *r);
/* standard normal (Box-Muller; draws two uniforms per call) */
float nn__rng_normal(nn__rng *r);
/* uniform integer in [0, n), unbiased; n >= 1 */
uint64_t nn__rng_below(nn__rng *r, uint64_t n);

/* count weights of a layer with fan_in inputs and fan_out outputs: He
 * (N(0, 2 / fan_in)) or Xavier (U(-a, a), a = sqrt(6 / (fan_in + fan_out)));
 * init resolved (not NN_INIT_AUTO). The layer list and graph ops share it. */
void nn__init_weights(float *w, size_t count, int fan_in, int fan_out, nn_init init,
                      nn__rng *r);

/* ---- architecture: widths and parameter offsets derived from a spec --------- */

typedef struct {
  int n_layers;
  int in[NN_MAX_LAYERS];       /* input width of each layer */
  int out[NN_MAX_LAYERS];      /* output width of each layer */
  size_t w_off[NN_MAX_LAYERS]; /* dense: offset of W (out, in) in params */
  size_t b_off[NN_MAX_LAYERS]; /* dense: offset of b (out,) in params */
  size_t n_params;
  int max_width;   /* widest of the input and every layer output */
  int first_dense; /* layers below it need no input gradient */
  int fused;       /* loss is fused with the output activation (softmax/sigmoid) */
} nn__arch;

/* Derive the architecture of a validated spec. */
void nn__arch_init(const nn_spec *spec, nn__arch *a);

struct nn_model {
  nn_spec spec;
  nn__arch arch;  /* a graph's: n_params alone */
  float *params; /* (P,) */
  float *mean;   /* (inputs,), 0 until statistics are fitted */
  float *std;    /* (inputs,), 1 until statistics are fitted */
  int has_norm;  /* mean and std hold fitted statistics */
  struct nn_graph_spec *graph; /* a graph model's spec, owned; spec.graph is it */
  float *gstate;  /* (n_gstate,) a graph's running statistics, right after params */
  size_t n_gstate;
};

/* Floats a graph model keeps besides its parameters: the running
 * statistics (0 for a layer list). Params and they are one run of
 * P + n_gstate floats, which restore_best keeps. */
static inline size_t nn__model_kept(const nn_model *m) { return m->arch.n_params + m->n_gstate; }

/* ---- compute threads (pool.c) ------------------------------------------------ */

typedef struct nn__pool nn__pool;
typedef void (*nn__task_fn)(void *ctx, int task);

/* A pool of threads threads (1..NN_MAX_THREADS), the caller of a run being
 * one of them; its budget starts at threads. */
int nn__pool_new(int threads, nn__pool **out);
void nn__pool_free(nn__pool *p);
/* Threads the pool has, the caller included; 1 for NULL. */
int nn__pool_capacity(const nn__pool *p);
/* Use at most threads (clamped to 1..capacity) in later runs. */
void nn__pool_set_budget(nn__pool *p, int threads);
/* fn(ctx, i) for every i < tasks, spread over the budget's threads; returns
 * when all are done. p == NULL runs them in order on the caller. */
void nn__pool_run(nn__pool *p, int tasks, nn__task_fn fn, void *ctx);

typedef void (*nn__range_fn)(void *ctx, size_t begin, size_t end);
/* fn(ctx, begin, end) over [0, n) cut into ranges of chunk (the last one
 * shorter), one task each: how n is cut depends on n and chunk alone. */
void nn__pool_for(nn__pool *p, size_t n, size_t chunk, nn__range_fn fn, void *ctx);

/* ---- GEMM: cblas_sgemm for large products, plain loops for tiny ones ------- */

/* A large product is cut into tiles of C's rows or columns by its shape
 * alone, and the tiles run on pool (NULL: the caller): the bits never
 * depend on the pool. */

typedef enum {
  NN__GEMM_NT, /* C (M, N) = A (M, K) * B^T, with B (N, K) */
  NN__GEMM_TN, /* C (M, N) = A^T * B, with A (K, M), B (K, N) */
  NN__GEMM_NN  /* C (M, N) = A (M, K) * B (K, N) */
} nn__gemm_op;

typedef struct {
  nn__gemm_op op;
  int M, N, K;
  const float *A, *B;
  float *C;
  /* the cut, set by nn__gemm_plan from the shape */
  int by_rows; /* tiles are rows of C (1) or columns (0) */
  int width;   /* rows or columns per tile, the last one's at most */
  int tiles;   /* 1 for a product that is not cut */
} nn__gemm;

/* Set g's cut from its op and shape. */
void nn__gemm_plan(nn__gemm *g);
/* Compute the independent products g (count,) in one run of the pool: the
 * tiles of all of them are its tasks, so a product too small to cut still
 * runs beside another. */
void nn__gemm_run(nn__pool *pool, nn__gemm *g, int count);

/* C (M, N) = A (M, K) * B^T, with B (N, K)                                  */
void nn__gemm_nt(nn__pool *pool, int M, int N, int K, const float *A, const float *B, float *C);
/* C (M, N) = A^T * B, with A (K, M), B (K, N)                               */
void nn__gemm_tn(nn__pool *pool, int M, int N, int K, const float *A, const float *B, float *C);
/* C (M, N) = A (M, K) * B (K, N)                                            */
void nn__gemm_nn(nn__pool *pool, int M, int N, int K, const float *A, const float *B, float *C);

/* ---- activations ------------------------------------------------------------ */

/* Y = act(Z + b) row by row, in place on y (rows, cols); z may equal y.
 * Ranges of whole rows run on pool (NULL: the caller). */
void nn__act_forward(nn__pool *pool, nn_act act, float slope, const float *z, const float *b,
                     float *y, size_t rows, int cols);

/* dZ = dY * act'(Z), from the outputs Y, in place on dy (rows, cols);
 * db (cols,) = column sums of dZ. Ranges of whole columns (softmax: all of
 * them) run on pool (NULL: the caller). */
void nn__act_backward(nn__pool *pool, nn_act act, float slope, const float *y, float *dy,
                      float *db, size_t rows, int cols);

/* ---- layers: each forward next to its backward (dense.c, dropout.c) ------- */

/* Y (n, out) = act(X (n, in) W^T + b). When logits != NULL (an output layer
 * fused with its loss) the pre-activation Z + b is kept there, (n, out). */
void nn__dense_forward(nn__pool *pool, const nn_layer_spec *l, const float *W, const float *b,
                       const float *X, float *Y, float *logits, size_t n, int in, int out);

/* From dY (n, out), in place turned into dZ: dW (out, in), db (out,), and,
 * when dX != NULL, dX (n, in). fused: dY already is dLoss/dZ. */
void nn__dense_backward(nn__pool *pool, const nn_layer_spec *l, const float *W, const float *X,
                        const float *Y, float *dY, float *dW, float *db, float *dX, size_t n,
                        int in, int out, int fused);

/* Training: Y = X * mask, mask drawn from rng (0 or 1/(1-rate)); rng == NULL
 * copies X. */
void nn__dropout_forward(float rate, const float *X, float *Y, float *mask, size_t n, int width,
                         nn__rng *rng);

/* dX = dY * mask, in place. */
void nn__dropout_backward(float *dY, const float *mask, size_t n, int width);

/* ---- network pass over the layer graph -------------------------------------- */

/* Buffers for a forward/backward pass over at most max_rows rows. */
typedef struct {
  size_t max_rows;
  float *x;                     /* (max_rows, inputs) standardized input */
  float *acts[NN_MAX_LAYERS];   /* (max_rows, out[l]) layer outputs */
  float *masks[NN_MAX_LAYERS];  /* dropout: (max_rows, out[l]) of 0 or 1/(1-rate) */
  float *logits;                /* (max_rows, outputs): pre-activation when fused */
  float *g0, *g1;               /* (max_rows, max_width) gradient ping-pong */
  float *mem;                   /* the one allocation behind all of the above */
  int dropout_on;               /* the last forward pass drew dropout masks */
  /* a shard's pass (core/train.c): its rows are rows row0.. of a batch of
   * batch_rows, and dropout draws their masks from the batch's generator
   * positions; batch_rows 0: the pass is the whole batch */
  size_t row0, batch_rows;
  nn__pool *pool;               /* threads for the large products; NULL: none */
} nn__ws;

/* Floats of a workspace for max_rows (<= NN_MAX_BATCH) rows; train adds
 * dropout masks and gradient buffers. */
size_t nn__ws_floats(const nn_spec *spec, const nn__arch *a, size_t max_rows, int train);
/* Allocate a workspace; train adds dropout masks and gradient buffers. */
int nn__ws_init(nn__ws *ws, const nn_spec *spec, const nn__arch *a, size_t max_rows, int train);
void nn__ws_free(nn__ws *ws);

/* Standardize n rows of raw features src (rows idx[r], or r when idx is
 * NULL) into dst (n, inputs); ranges of rows run on pool (NULL: the caller). */
void nn__standardize(nn__pool *pool, const float *src, const uint32_t *idx, size_t n,
                     int inputs, const float *mean, const float *std, float *dst);

/* Forward pass of n rows from ws->x; output in ws->acts[n_layers - 1], logits
 * of a fused output layer in ws->logits. rng == NULL is evaluation mode
 * (dropout off); otherwise dropout masks are drawn from rng, and for a shard
 * (ws->batch_rows > 0) rng ends past the whole batch's draws. n may be 0
 * for a shard: only rng moves. */
void nn__net_forward(const nn_spec *spec, const nn__arch *a, const float *params,
                     nn__ws *ws, size_t n, nn__rng *rng);

/* Backward pass. On entry ws->g0 (n, outputs) holds dLoss/dOutput, or
 * dLoss/dLogits when a->fused. Writes grad (P,) and, if dx != NULL,
 * dLoss/dx (n, inputs). When sq != NULL, the squares of the weight gradient
 * of each dense layer l with at least NN__HOT_SQUARES weights are added to
 * sq[l] (nn__add_squares) as soon as it is computed, while it is still in
 * cache; smaller layers are left to nn__diag_batch. */
void nn__net_backward(const nn_spec *spec, const nn__arch *a, const float *params,
                      nn__ws *ws, size_t n, float *grad, float *dx,
                      double (*sq)[NN_DIAG_LANES]);

/* Inference over n rows with two ping-pong buffers of (rows, max_width)
 * each, processing at most chunk rows at a time. */
void nn__net_infer(const nn_spec *spec, const nn__arch *a, const float *params,
                   const float *mean, const float *std, const float *x, size_t n,
                   float *y, float *buf0, float *buf1, size_t chunk);

/* ---- losses ----------------------------------------------------------------- */

typedef struct {
  double loss;    /* summed over rows (divide by rows for the mean) */
  double correct; /* rows classified correctly (or matching elements / outputs) */
} nn__loss_sum;

/* Loss of n rows and, if dout != NULL, dLoss/dOutput (or dLoss/dLogits when
 * fused) of the mean over mean_rows rows, (n, outputs): n itself, or the
 * whole batch when these rows are a shard of it. t (n, outputs) or
 * labels (n,). */
void nn__loss(nn_loss loss, const float *out, const float *logits, const float *t,
              const int32_t *labels, size_t n, size_t mean_rows, int outputs, float *dout,
              nn__loss_sum *s);

/* ---- data ------------------------------------------------------------------- */

/* Per-feature mean and std (each (features,)) over the rows idx (n,);
 * acc is (2, features) scratch. */
void nn__data_norm(const nn_data *d, const uint32_t *idx, size_t n, float *mean, float *std,
                   double *acc);

/* ---- training (train.c) ------------------------------------------------------- */

/* @return sizeof (struct nn_trainer), for the memory estimate (estimate.c). */
size_t nn__trainer_size(void);

/* ---- optimizers ---------------------------------------------------------------- */

/* Floats of optimizer state for P parameters. */
size_t nn__optim_state_floats(nn_opt type, size_t n_params);

/* One update of params (P,) from grad (P,). step is 1-based (Adam's bias
 * correction); state (nn__optim_state_floats,) starts zeroed. grad may be
 * modified (weight decay is added to it). Fixed ranges of the parameters
 * run on pool (NULL: the caller). */
void nn__optim_step(nn__pool *pool, const nn_optim_spec *o, float lr, uint64_t step,
                    float *params, float *grad, float *state, size_t n_params);

/* Scale grad so its global L2 norm is at most max_norm (as PyTorch's
 * clip_grad_norm_). @return the norm before clipping. */
double nn__clip_grad(float *grad, size_t n_params, float max_norm);

/* ---- the loss in double precision (exact.c) ---------------------------------- */

typedef struct {
  const nn_model *m;
  size_t n;                         /* rows */
  const float *y;                   /* (n, outputs) targets, or NULL */
  const int32_t *labels;            /* (n,) labels, or NULL */
  double *x;                        /* (n, inputs) standardized features */
  double *z[NN_MAX_LAYERS];         /* dense: (n, out[l]) pre-activations at the weights */
  const double *a[NN_MAX_LAYERS];   /* (n, out[l]) outputs; dropout: its input's */
  double *buf[4];                   /* (n, max_width) each: a moved pass's layers */
  double *col;                      /* (n,) the moved column */
  double *mem;                      /* the one allocation behind the above */
  int last;                         /* the output layer */
  double loss;                      /* mean loss of the rows at the model's weights */
} nn__exact;

/* Evaluate m on the rows of d (checked by the caller) in double precision.
 * @return NN_OK or NN_ENOMEM */
int nn__exact_init(nn__exact *e, const nn_model *m, const nn_data *d);
void nn__exact_free(nn__exact *e);

/* Mean loss with one parameter of dense layer l moved by h: W[j][i], or b[j]
 * when i < 0. *kink is set when a relu or leaky_relu pre-activation changed
 * side of 0, where the loss has no derivative. */
double nn__exact_moved(nn__exact *e, int l, int j, int i, double h, int *kink);

/* @return the multiply-adds of one nn__exact_moved in layer l (about) */
double nn__exact_cost(const nn__exact *e, int l);

/* ---- gradient check (gradcheck.c) -------------------------------------------- */

/* nn_gradcheck against the analytic gradient grad (P,) instead of backprop's
 * (so tests can show a wrong gradient is caught). */
int nn__gradcheck_with(const nn_model *m, const nn_data *d, const float *grad,
                       const nn_gradcheck_config *c, nn_gradcheck_result *out, nn_error *err);

/* ---- training diagnostics (diag.c) ------------------------------------------- */

/* Sum of squares of v (n,), in double, in a fixed order whatever the CPU. */
double nn__sumsq(const float *v, size_t n);

/* Add the squares of v (n,) to the partial sums lanes (NN_DIAG_LANES,), in
 * a fixed order whatever the CPU. */
void nn__add_squares(const float *v, size_t n, double *lanes);

/* Weight gradients this large are squared by the backward pass, right after
 * it computes them (they may not stay in cache until the batch ends);
 * smaller ones at the end of the batch, all in one call (a small net's batch
 * takes a microsecond, and a call per layer would show). */
#define NN__HOT_SQUARES 4096

/* What the trainer gathers for nn_trainer_diagnostics. */
typedef struct {
  /* this epoch's sum over batches of ||dW||^2, in NN_DIAG_LANES partial
   * sums: a batch adds into them without reducing them to one (a chain of
   * dependent additions that costs a small net more than the squares) */
  double grad_sq[NN_DIAG_SLOTS][NN_DIAG_LANES];
  int batches;                    /* batches in those sums */
  int n_slots;                    /* the model's layers, or its graph's nodes */
  int hot;                        /* backward squares the tensors of NN__HOT_SQUARES
                                   * and more itself (the layer list) */
  uint8_t *alive;                 /* (n_units,) relu units: output > 0 for a row this epoch */
  size_t n_units;                 /* relu units of the model */
  size_t unit_off[NN_DIAG_SLOTS]; /* relu layer l's units: alive + unit_off[l] */
  int n_alive[NN_DIAG_SLOTS];     /* units of relu layer l marked alive */
  int pending;                    /* relu layers with units not marked alive yet */
  /* the layers, looked up once rather than at every batch */
  int n_dense, n_relu;
  int dense[NN_DIAG_SLOTS];       /* the dense layers' (parameter nodes') indices */
  int relu[NN_DIAG_SLOTS];        /* the relu layers' (nodes') indices */
  size_t w_off[NN_DIAG_SLOTS];    /* dense[k]'s W (a node's parameters) in the parameters, */
  size_t w_size[NN_DIAG_SLOTS];   /* and its size */
  int units[NN_DIAG_SLOTS];       /* outputs of layer l; a relu node's entries per row */
  const float *act[NN_DIAG_SLOTS]; /* a graph's relu node l's value (max_rows, units[l]) */
  nn_layer_diag last[NN_DIAG_SLOTS]; /* the last completed epoch */
  int has_last;
} nn__diag;

/* @return the number of units in the relu layers of a validated spec. */
size_t nn__relu_units(const nn_spec *spec);

/* The diagnostics' slots of a validated spec: its layers, or its graph's
 * nodes; units (NN_DIAG_SLOTS,) gets each slot's relu units (a relu
 * layer's width, a relu node's entries per row; 0 for the others).
 * @return the number of slots, or NN_ENOMEM */
int nn__diag_slots(const nn_spec *spec, int *units);

/* Allocate for a model; the sums start at zero. @return NN_OK or NN_ENOMEM */
int nn__diag_new(const nn_spec *spec, const nn__arch *a, nn__diag **out);
/* NULL is a no-op. */
void nn__diag_free(nn__diag *g);

/* Zero the sums: a new epoch begins. */
void nn__diag_start(nn__diag *g);

/* Continue from a checkpoint's sums (s->has_diag), or from zero without them.
 * @return NN_OK, or NN_EINVAL when they belong to another model */
int nn__diag_resume(nn__diag *g, const nn_train_state *s);

/* Copy the sums into s (allocates s->alive). @return NN_OK or NN_ENOMEM */
int nn__diag_save(const nn__diag *g, nn_train_state *s);

/* Add a trained batch of n rows: the weight gradients in grad (P,) of fewer
 * than NN__HOT_SQUARES weights (the backward pass added the others; a
 * graph's: all), and the relu outputs the forward pass left in ws (a
 * graph's: in its values; ws NULL). */
void nn__diag_batch(nn__diag *g, const float *grad, const nn__ws *ws, size_t n);

/* The epoch is over: fill g->last (n_slots,) from the sums and the
 * weights params (P,). */
void nn__diag_finish(nn__diag *g, const float *params);

/* ---- graph models (model_graph.c) ---------------------------------------------- */

/* nn_spec_validate of a graph spec (spec->graph != NULL). */
int nn__spec_validate_graph(nn_spec *spec, nn_error *err);
/* The running statistics a validated graph spec's model keeps. @return
 * NN_OK or NN_ENOMEM */
int nn__graph_state_count(const nn_spec *spec, size_t *n_state);

/* The graph a graph model compiles: its spec with the output activation the
 * loss fuses taken off (*head: softmax, sigmoid or linear). */
int nn__graph_train_spec(const nn_spec *spec, struct nn_graph_spec *out, nn_act *head,
                         nn_error *err);

typedef struct nn__gnet nn__gnet;
/* A graph model's compiled graph for batches of max_rows rows, bound to its
 * parameters and statistics; infer: evaluation passes only. */
int nn__gnet_new(nn_model *m, size_t max_rows, int infer, nn__gnet **out, nn_error *err);
void nn__gnet_free(nn__gnet *r);
/* Forward n standardized rows x (n, inputs). *out is the model's output
 * (the head applied), *logits the graph's (the same when no head). */
int nn__gnet_forward(nn__gnet *r, const float *x, size_t n, int train, nn__rng *rng,
                     nn__pool *pool, const float **out, const float **logits);
/* Backward from dLoss/dlogits in nn__gnet_dout (n, outputs); the gradient
 * (P,) is nn__gnet_grads. */
float *nn__gnet_dout(nn__gnet *r);
int nn__gnet_backward(nn__gnet *r);
float *nn__gnet_grads(nn__gnet *r);
/* Every code an embedding reads from d's rows is an integer in range, or
 * NN_EINVAL naming field. */
int nn__gnet_check_codes(const nn__gnet *r, const nn_data *d, const char *field, nn_error *err);
/* The column ranges [begin[i], end[i]) of a row that hold the codes of the
 * graph inputs an embedding reads (NN_GRAPH_MAX_INPUTS at most). @return
 * how many */
int nn__graph_codes(const struct nn_graph_spec *g, size_t *begin, size_t *end);
/* Leave those columns unstandardized: mean 0, std 1 over theirs. */
void nn__graph_keep_codes(const struct nn_graph_spec *g, float *mean, float *std);
/* Inference: n raw rows x (n, inputs) into y (n, outputs); scratch is
 * nn__gnet_scratch_floats floats; r only read (any threads). */
size_t nn__gnet_scratch_floats(const nn__gnet *r);
/* What nn__model_alloc and a trainer's graph allocate for a validated graph
 * spec and batches of batch rows: model, gradients, activations and other
 * (the structs) of out. @return NN_OK or NN_ENOMEM */
int nn__gnet_memory(const nn_spec *spec, size_t batch, nn_memory *out);
/* An inference graph for predict, of as many rows as fit a few MiB. */
int nn__gnet_new_predict(nn_model *m, nn__gnet **out);
int nn__gnet_predict(const nn__gnet *r, const nn_model *m, const float *x, size_t n, float *y,
                     float *scratch);

/* Allocate a model for a validated spec; parameters zeroed, no init. */
int nn__model_alloc(const nn_spec *spec, nn_model **out);

#endif /* NN_INTERNAL_H */
