// Checked row-major GEMM wrappers shared by conv2d and linear:
//   C (M, N) = alpha * op(A) * op(B) + beta * C,   op(X) = X or X^T,
// with A (M, K) or (K, M) when trans_a, B (K, N) or (N, K) when trans_b, leading
// dimensions in elements (row strides). CPU: OpenBLAS cblas_?gemm; CUDA: cuBLAS sgemm
// (column-major, so the wrapper computes C^T = op(B)^T op(A)^T). K == 0 is handled here
// (C = beta * C) because BLAS libraries differ on it; M == 0 or N == 0 does nothing.
#pragma once
#include <cstdint>
#if DR_CUDA
#include <cublas_v2.h>
#endif

namespace dr::kern {

template <class T>
void gemm_cpu(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
              int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

#if DR_DNNL
// oneDNN's sgemm (dnnl_sgemm), same contract as gemm_cpu<float>: it runs on our OpenMP
// threads, where OpenBLAS's pthreads build keeps a second pool that competes with them.
void gemm_dnnl(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
               int64_t ldc);
#endif

#if DR_CUDA
// Runs on the handle's stream; fp32 only (the handle's math mode decides TF32: the
// Context keeps CUBLAS_DEFAULT_MATH, i.e. plain fp32).
void gemm_cuda(cublasHandle_t handle, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
               float* C, int64_t ldc);
#endif

}  // namespace dr::kern
