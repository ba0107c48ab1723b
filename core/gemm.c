/*
 * gemm.c — the three matrix products of a dense layer. Large products go to
 * cblas_sgemm; tiny ones (a 2-16-1 net at batch 4) would spend most of their
 * time in BLAS call overhead, so they run as plain loops, written so the
 * compiler vectorizes the longest contiguous dimension. Every loop sums over
 * k in ascending order, and the choice depends only on the shape, so results
 * are deterministic for a given shape.
 *
 * A large product is cut into tiles of C's columns, one cblas_sgemm call
 * each (single-threaded BLAS), which the trainer's pool spreads over its
 * threads. The cut depends on the shape alone, so the bits do not depend on
 * how many threads there are, and no thread waits for BLAS's own.
 */
#include <cblas.h>

#include "nn_internal.h"

/* Below this many multiply-adds a product is cheaper as a plain loop. */
#define SMALL_GEMM_MACS 8192
/* Rows at least this long are worth a vectorized pass each. */
#define SMALL_GEMM_VECTOR 4
/* Products from this many multiply-adds are cut into tiles: a tile then
 * still keeps a core busy for ~100 us, far above the pool's hand-off. */
#define TILE_MIN_MACS (1ll << 22)
/* Columns per tile, about; tiles are whole multiples of TILE_ALIGN columns,
 * the widest sgemm kernel's, and at most MAX_TILES of them. */
#define TILE_COLS 256
#define TILE_ALIGN 16
#define MAX_TILES 64

static int is_small(int M, int N, int K) {
  return (long long)M * N * K <= SMALL_GEMM_MACS;
}

typedef enum { NT, TN, NN } op;

typedef struct {
  op o;
  int M, N, K, width; /* C (M, N) in tiles of width columns */
  const float *A, *B;
  float *C;
} product;

/* Columns j0 .. j0 + n of C: slices of B and C with their full strides. */
static void tile(void *ctx, int i) {
  const product *p = ctx;
  int j0 = i * p->width;
  int n = p->N - j0 < p->width ? p->N - j0 : p->width;
  float *C = p->C + j0;
  switch (p->o) {
  case NT: /* C[:, j] = A B[j, :]^T; B (N, K) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->M, n, p->K, 1.0f, p->A, p->K,
                p->B + (size_t)j0 * p->K, p->K, 0.0f, C, p->N);
    break;
  case TN: /* C[:, j] = A^T B[:, j]; A (K, M), B (K, N) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p->M, n, p->K, 1.0f, p->A, p->M,
                p->B + j0, p->N, 0.0f, C, p->N);
    break;
  case NN: /* C[:, j] = A B[:, j]; B (K, N) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->M, n, p->K, 1.0f, p->A, p->K,
                p->B + j0, p->N, 0.0f, C, p->N);
    break;
  }
}

/* A product too large for the loops: tiles by shape, on the pool. */
static void large(nn__pool *pool, op o, int M, int N, int K, const float *A, const float *B,
                  float *C) {
  int tiles = 1;
  if ((long long)M * N * K >= TILE_MIN_MACS) {
    tiles = (N + TILE_COLS - 1) / TILE_COLS;
    if (tiles > MAX_TILES) tiles = MAX_TILES;
  }
  int width = (N + tiles - 1) / tiles;
  width = (width + TILE_ALIGN - 1) / TILE_ALIGN * TILE_ALIGN;
  tiles = (N + width - 1) / width;
  product p = {o, M, N, K, width, A, B, C};
  nn__pool_run(pool, tiles, tile, &p);
}

NN__VECTORIZE
void nn__gemm_nt(nn__pool *pool, int M, int N, int K, const float *A, const float *B, float *C) {
  if (!is_small(M, N, K)) {
    large(pool, NT, M, N, K, A, B, C);
    return;
  }
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

NN__VECTORIZE
void nn__gemm_tn(nn__pool *pool, int M, int N, int K, const float *A, const float *B, float *C) {
  if (!is_small(M, N, K)) {
    large(pool, TN, M, N, K, A, B, C);
    return;
  }
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

NN__VECTORIZE
void nn__gemm_nn(nn__pool *pool, int M, int N, int K, const float *A, const float *B, float *C) {
  if (!is_small(M, N, K)) {
    large(pool, NN, M, N, K, A, B, C);
    return;
  }
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
