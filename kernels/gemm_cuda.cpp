// cuBLAS host calls: plain C++ (g++), compiled only in CUDA builds.
#if DR_CUDA
#include <climits>

#include "kernels/cuda_check.h"
#include "kernels/gemm.h"

namespace dr::kern {

void gemm_cuda(cublasHandle_t handle, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
               float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  for (int64_t v : {M, N, K, lda, ldb, ldc})
    DR_CHECK(v >= 0 && v <= INT_MAX, "gemm_cuda: size " << v << " does not fit cuBLAS int (M " << M
                                                        << ", N " << N << ", K " << K << ")");
  if (K == 0) {  // C = beta * C; cuBLAS's K == 0 behaviour is not relied on
    DR_CHECK(beta == 0.0f || beta == 1.0f, "gemm_cuda: K == 0 supports beta 0 or 1, got " << beta);
    if (beta == 1.0f) return;
    cudaStream_t s = nullptr;
    CUBLAS_CHECK(cublasGetStream(handle, &s));
    CUDA_CHECK(cudaMemset2DAsync(C, size_t(ldc) * sizeof(float), 0, size_t(N) * sizeof(float),
                                 size_t(M), s));
    return;
  }
  // Row-major C (M, N) is column-major C^T (N, M): C^T = op(B)^T * op(A)^T, and a
  // row-major operand read column-major is already its transpose.
  CUBLAS_CHECK(cublasSgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                           trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, int(N), int(M), int(K), &alpha, B,
                           int(ldb), A, int(lda), &beta, C, int(ldc)));
}

}  // namespace dr::kern
#endif
