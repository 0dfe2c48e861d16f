// Launchers for max pooling (math in kernels/pool.cuh). x is (NC, H, W) contiguous, y and
// argmax are (NC, OH, OW); argmax holds plane indices ih * W + iw (as torch's
// return_indices) and may be null in forward. Backward ADDS (+=) into dx.
#pragma once
#include <cstdint>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

template <class T>
void maxpool2d_forward_cpu(T* y, int64_t* argmax, const T* x, int64_t NC, int64_t H, int64_t W,
                           int64_t OH, int64_t OW, int kernel, int stride, int pad);
template <class T>
void maxpool2d_backward_cpu(T* dx, const T* dy, const int64_t* argmax, int64_t NC, int64_t H,
                            int64_t W, int64_t OH, int64_t OW, int kernel, int stride, int pad);

#if DR_CUDA
void maxpool2d_forward_cuda(float* y, int64_t* argmax, const float* x, int64_t NC, int64_t H,
                            int64_t W, int64_t OH, int64_t OW, int kernel, int stride, int pad,
                            cudaStream_t s);
void maxpool2d_backward_cuda(float* dx, const float* dy, const int64_t* argmax, int64_t NC,
                             int64_t H, int64_t W, int64_t OH, int64_t OW, int kernel, int stride,
                             int pad, cudaStream_t s);
#endif

}  // namespace dr::kern
