/*
 * gemm.c — the three matrix products of a dense layer. Large products go to
 * cblas_sgemm; tiny ones (a 2-16-1 net at batch 4) would spend most of their
 * time in BLAS call overhead, so they run as plain loops, written so the
 * compiler vectorizes the longest contiguous dimension. Every loop sums over
 * k in ascending order, and the choice depends only on the shape, so results
 * are deterministic for a given shape.
 *
 * A large product is cut into tiles of C's rows or columns, one cblas_sgemm
 * call each (single-threaded BLAS), which the trainer's pool spreads over
 * its threads, together with the tiles of any product independent of it
 * (a layer's dW and dX). The cut depends on the shape alone, so the bits do
 * not depend on how many threads there are, and no thread waits for BLAS's
 * own.
 */
#include <assert.h>
#include <cblas.h>

#include "nn_internal.h"

/* Below this many multiply-adds a product is cheaper as a plain loop. */
#define SMALL_GEMM_MACS 8192
/* Rows at least this long are worth a vectorized pass each. */
#define SMALL_GEMM_VECTOR 4
/* Products from this many multiply-adds may be cut into tiles: a tile then
 * still keeps a core busy for ~100 us, far above the pool's hand-off. */
#define TILE_MIN_MACS (1ll << 22)
/* Rows or columns of C per tile, about. Each tile's cblas_sgemm packs the
 * operand the tiles share once more: on (d)'s 256x1024x1024 products, 4
 * tiles of 256 cost 7-10 % more than one call, 2 tiles of 512 about 1 %. */
#define TILE_SPAN 512
/* Tiles are whole multiples of TILE_ALIGN rows or columns, the widest
 * sgemm kernel's, and at most MAX_TILES of them. */
#define TILE_ALIGN 16
#define MAX_TILES 64

static int is_small(int M, int N, int K) {
  return (long long)M * N * K <= SMALL_GEMM_MACS;
}

/* How a product is cut: by its shape alone, never by the thread count. A
 * cut along C's rows slices A and shares B; along its columns it shares A:
 * the shared operand is the one each tile packs again, so the cut takes the
 * longer side of C (rows on a tie: tiles of contiguous memory) and
 * shares the smaller operand. */
void nn__gemm_plan(nn__gemm *g) {
  assert(g->M > 0 && g->N > 0 && g->K > 0);
  g->by_rows = g->M >= g->N;
  int span = g->by_rows ? g->M : g->N;
  g->width = span;
  g->tiles = 1;
  if (is_small(g->M, g->N, g->K) || (long long)g->M * g->N * g->K < TILE_MIN_MACS) return;
  int tiles = (span + TILE_SPAN / 2) / TILE_SPAN;
  if (tiles <= 1) return;
  if (tiles > MAX_TILES) tiles = MAX_TILES;
  int width = (span + tiles - 1) / tiles;
  g->width = (width + TILE_ALIGN - 1) / TILE_ALIGN * TILE_ALIGN;
  g->tiles = (span + g->width - 1) / g->width;
  /* The tiles cover C's span exactly, each of them non-empty. */
  assert(g->width % TILE_ALIGN == 0 && g->tiles >= 2 && g->tiles <= MAX_TILES);
  assert((g->tiles - 1) * g->width < span && g->tiles * g->width >= span);
}

/* Rows or columns i0 .. i0 + width of C as one cblas_sgemm call: slices of
 * A (rows) or B (columns) and of C, with their full strides. */
static void tile(const nn__gemm *g, int i) {
  assert(i >= 0 && i < g->tiles);
  int i0 = i * g->width;
  int span = g->by_rows ? g->M : g->N;
  int w = span - i0 < g->width ? span - i0 : g->width;
  assert(w > 0 && i0 + w <= span);
  int m = g->by_rows ? w : g->M, n = g->by_rows ? g->N : w;
  size_t r0 = g->by_rows ? (size_t)i0 : 0, c0 = g->by_rows ? 0 : (size_t)i0;
  float *C = g->C + r0 * g->N + c0;
  switch (g->op) {
  case NN__GEMM_NT: /* C[r, c] = A[r, :] B[c, :]^T; A (M, K), B (N, K) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, g->K, 1.0f, g->A + r0 * g->K,
                g->K, g->B + c0 * g->K, g->K, 0.0f, C, g->N);
    break;
  case NN__GEMM_TN: /* C[r, c] = A[:, r]^T B[:, c]; A (K, M), B (K, N) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, g->K, 1.0f, g->A + r0, g->M,
                g->B + c0, g->N, 0.0f, C, g->N);
    break;
  case NN__GEMM_NN: /* C[r, c] = A[r, :] B[:, c]; A (M, K), B (K, N) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, g->K, 1.0f, g->A + r0 * g->K,
                g->K, g->B + c0, g->N, 0.0f, C, g->N);
    break;
  }
}

/* The plain loops of a small product. */
NN__INLINE void small_nt(int M, int N, int K, const float *A, const float *B, float *C) {
  for (int i = 0; i < M; i++) {
    const float *a = A + (size_t)i * K;
    float *c = C + (size_t)i * N;
    if (K >= N) {
      /* C[i][j] = sum_k A[i][k] B[j][k]: dots along the long k */
      for (int j = 0; j < N; j++) {
        const float *b = B + (size_t)j * K;
        float s = 0.0f;
        for (int k = 0; k < K; k++) s += a[k] * b[k];
        c[j] = s;
      }
    } else {
      /* C[i][:] = sum_k A[i][k] B[:][k]: passes along the long j */
      for (int j = 0; j < N; j++) c[j] = a[0] * B[(size_t)j * K];
      for (int k = 1; k < K; k++)
        for (int j = 0; j < N; j++) c[j] += a[k] * B[(size_t)j * K + k];
    }
  }
}

NN__INLINE void small_tn(int M, int N, int K, const float *A, const float *B, float *C) {
  if (N >= SMALL_GEMM_VECTOR) {
    /* C[i][:] = sum_k A[k][i] B[k][:]: passes along the long j */
    for (int i = 0; i < M; i++) {
      float *c = C + (size_t)i * N;
      for (int j = 0; j < N; j++) c[j] = A[i] * B[j];
      for (int k = 1; k < K; k++) {
        float a = A[(size_t)k * M + i];
        const float *b = B + (size_t)k * N;
        for (int j = 0; j < N; j++) c[j] += a * b[j];
      }
    }
    return;
  }
  /* a narrow C (dW of a first layer with few inputs):
   * C[:][j] = sum_k A[k][:] B[k][j], passes along the long i */
  for (int j = 0; j < N; j++) {
    for (int i = 0; i < M; i++) C[(size_t)i * N + j] = A[i] * B[j];
    for (int k = 1; k < K; k++) {
      const float *a = A + (size_t)k * M;
      float b = B[(size_t)k * N + j];
      for (int i = 0; i < M; i++) C[(size_t)i * N + j] += a[i] * b;
    }
  }
}

NN__INLINE void small_nn(int M, int N, int K, const float *A, const float *B, float *C) {
  for (int i = 0; i < M; i++) {
    const float *a = A + (size_t)i * K;
    float *c = C + (size_t)i * N;
    if (N >= SMALL_GEMM_VECTOR) {
      /* C[i][:] = sum_k A[i][k] B[k][:] */
      for (int j = 0; j < N; j++) c[j] = a[0] * B[j];
      for (int k = 1; k < K; k++) {
        const float *b = B + (size_t)k * N;
        for (int j = 0; j < N; j++) c[j] += a[k] * b[j];
      }
    } else {
      /* C[i][j] = sum_k A[i][k] B[k][j], in a register */
      for (int j = 0; j < N; j++) {
        float s = 0.0f;
        for (int k = 0; k < K; k++) s += a[k] * B[(size_t)k * N + j];
        c[j] = s;
      }
    }
  }
}

/* A product for the loops. */
NN__VECTORIZE
static void small(const nn__gemm *g) {
  switch (g->op) {
  case NN__GEMM_NT:
    small_nt(g->M, g->N, g->K, g->A, g->B, g->C);
    break;
  case NN__GEMM_TN:
    small_tn(g->M, g->N, g->K, g->A, g->B, g->C);
    break;
  case NN__GEMM_NN:
    small_nn(g->M, g->N, g->K, g->A, g->B, g->C);
    break;
  }
}

/* Task i of a run over the products ctx: one tile of one of them. */
static void run_task(void *ctx, int i) {
  const nn__gemm *g = ctx;
  while (i >= g->tiles) i -= g++->tiles;
  if (is_small(g->M, g->N, g->K))
    small(g);
  else
    tile(g, i);
}

void nn__gemm_run(nn__pool *pool, nn__gemm *g, int count) {
  int blas = 0;
  for (int i = 0; i < count; i++) blas |= !is_small(g[i].M, g[i].N, g[i].K);
  if (!blas) { /* loops of at most SMALL_GEMM_MACS: never worth a hand-off */
    for (int i = 0; i < count; i++) small(&g[i]);
    return;
  }
  int tasks = 0;
  for (int i = 0; i < count; i++) {
    nn__gemm_plan(&g[i]);
    tasks += g[i].tiles;
  }
  assert(tasks >= count && tasks <= count * MAX_TILES); /* run_task maps each to a tile */
  if (tasks == 1) {
    run_task(g, 0);
    return;
  }
  nn__pool_run(pool, tasks, run_task, g);
}

/* A single product: small ones straight to the loops, inlined here. */
static void one(nn__pool *pool, nn__gemm_op op, int M, int N, int K, const float *A,
                const float *B, float *C) {
  nn__gemm g = {.op = op, .M = M, .N = N, .K = K, .A = A, .B = B, .C = C};
  nn__gemm_run(pool, &g, 1);
}

NN__VECTORIZE
void nn__gemm_nt(nn__pool *pool, int M, int N, int K, const float *A, const float *B, float *C) {
  if (is_small(M, N, K))
    small_nt(M, N, K, A, B, C);
  else
    one(pool, NN__GEMM_NT, M, N, K, A, B, C);
}

NN__VECTORIZE
void nn__gemm_tn(nn__pool *pool, int M, int N, int K, const float *A, const float *B, float *C) {
  if (is_small(M, N, K))
    small_tn(M, N, K, A, B, C);
  else
    one(pool, NN__GEMM_TN, M, N, K, A, B, C);
}

NN__VECTORIZE
void nn__gemm_nn(nn__pool *pool, int M, int N, int K, const float *A, const float *B, float *C) {
  if (is_small(M, N, K))
    small_nn(M, N, K, A, B, C);
  else
    one(pool, NN__GEMM_NN, M, N, K, A, B, C);
}
