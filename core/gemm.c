/*
 * gemm.c — the three matrix products of a dense layer. Large products go to
 * cblas_sgemm; tiny ones (a 2-16-1 net at batch 4) would spend most of their
 * time in BLAS call overhead, so they run as plain loops. The choice depends
 * only on the shape, so results stay deterministic for a given shape.
 */
#include <cblas.h>

#include "nn_internal.h"

/* Below this many multiply-adds a product is cheaper as a plain loop. */
#define SMALL_GEMM_MACS 8192

static int is_small(int M, int N, int K) {
  return (long long)M * N * K <= SMALL_GEMM_MACS;
}

NN__VECTORIZE
void nn__gemm_nt(int M, int N, int K, const float *A, const float *B, float *C) {
  if (!is_small(M, N, K)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
    return;
  }
  /* C[i][j] = sum_k A[i][k] B[j][k] */
  for (int i = 0; i < M; i++) {
    const float *a = A + (size_t)i * K;
    for (int j = 0; j < N; j++) {
      const float *b = B + (size_t)j * K;
      float s = 0.0f;
      for (int k = 0; k < K; k++) s += a[k] * b[k];
      C[(size_t)i * N + j] = s;
    }
  }
}

NN__VECTORIZE
void nn__gemm_tn(int M, int N, int K, const float *A, const float *B, float *C) {
  if (!is_small(M, N, K)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M, B, N, 0.0f, C, N);
    return;
  }
  /* C[i][j] = sum_k A[k][i] B[k][j], accumulated in a register: tiny rows
   * would otherwise round-trip C through memory on every k */
  for (int i = 0; i < M; i++) {
    for (int j = 0; j < N; j++) {
      float s = 0.0f;
      for (int k = 0; k < K; k++) s += A[(size_t)k * M + i] * B[(size_t)k * N + j];
      C[(size_t)i * N + j] = s;
    }
  }
}

NN__VECTORIZE
void nn__gemm_nn(int M, int N, int K, const float *A, const float *B, float *C) {
  if (!is_small(M, N, K)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    return;
  }
  /* C[i][j] = sum_k A[i][k] B[k][j] */
  for (int i = 0; i < M; i++) {
    const float *a = A + (size_t)i * K;
    for (int j = 0; j < N; j++) {
      float s = 0.0f;
      for (int k = 0; k < K; k++) s += a[k] * B[(size_t)k * N + j];
      C[(size_t)i * N + j] = s;
    }
  }
}
