/*
 * gemm.c — the three matrix products of a dense layer. Large products go to
 * cblas_sgemm; tiny ones (a 2-16-1 net at batch 4) would spend most of their
 * time in BLAS call overhead, so they run as plain loops, written so the
 * compiler vectorizes the longest contiguous dimension. Every loop sums over
 * k in ascending order, and the choice depends only on the shape, so results
 * are deterministic for a given shape.
 */
#include <cblas.h>

#include "nn_internal.h"

/* Below this many multiply-adds a product is cheaper as a plain loop. */
#define SMALL_GEMM_MACS 8192
/* Rows at least this long are worth a vectorized pass each. */
#define SMALL_GEMM_VECTOR 4

static int is_small(int M, int N, int K) {
  return (long long)M * N * K <= SMALL_GEMM_MACS;
}

NN__VECTORIZE
void nn__gemm_nt(int M, int N, int K, const float *A, const float *B, float *C) {
  if (!is_small(M, N, K)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
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
void nn__gemm_tn(int M, int N, int K, const float *A, const float *B, float *C) {
  if (!is_small(M, N, K)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M, B, N, 0.0f, C, N);
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
void nn__gemm_nn(int M, int N, int K, const float *A, const float *B, float *C) {
  if (!is_small(M, N, K)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
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
