// Checked wrappers for CUDA runtime, cuDNN and cuBLAS calls: every failure throws
// dr::Error naming the call site (file:line), the expression and the library's message.
// Only meaningful in a CUDA build (DR_CUDA=1); empty otherwise.
#pragma once
#include "kernels/error.h"
#if DR_CUDA
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <cudnn.h>

namespace dr {
const char* cublas_status_name(cublasStatus_t s);
}

#define CUDA_CHECK(expr)                                                                  \
  do {                                                                                    \
    cudaError_t dr_err_ = (expr);                                                         \
    if (dr_err_ != cudaSuccess)                                                           \
      ::dr::throw_error(__FILE__, __LINE__, std::string("CUDA error in ") + #expr + ": " + \
                                                cudaGetErrorString(dr_err_));             \
  } while (0)

#define CUDNN_CHECK(expr)                                                                  \
  do {                                                                                     \
    cudnnStatus_t dr_st_ = (expr);                                                         \
    if (dr_st_ != CUDNN_STATUS_SUCCESS)                                                    \
      ::dr::throw_error(__FILE__, __LINE__, std::string("cuDNN error in ") + #expr + ": " + \
                                                cudnnGetErrorString(dr_st_));              \
  } while (0)

#define CUBLAS_CHECK(expr)                                                                  \
  do {                                                                                      \
    cublasStatus_t dr_st_ = (expr);                                                         \
    if (dr_st_ != CUBLAS_STATUS_SUCCESS)                                                    \
      ::dr::throw_error(__FILE__, __LINE__, std::string("cuBLAS error in ") + #expr + ": " + \
                                                ::dr::cublas_status_name(dr_st_));          \
  } while (0)

// After every kernel launch: a bad launch configuration is reported where it happened;
// with DEBUG_SYNC=1 (make DEBUG_SYNC=1) the stream is also synchronized so that an
// illegal address is reported by the kernel that caused it.
#define CUDA_CHECK_LAUNCH(stream)                                 \
  do {                                                            \
    CUDA_CHECK(cudaGetLastError());                               \
    if (DR_DEBUG_SYNC) CUDA_CHECK(cudaStreamSynchronize(stream)); \
  } while (0)
#endif
