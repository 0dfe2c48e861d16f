// Launchers for nearest upsampling and bilinear resizing (math in kernels/resample.cuh).
// x is (NC, H, W) contiguous, y (NC, OH, OW). The nearest backward ADDS (+=) into dx.
#pragma once
#include <cstdint>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

template <class T>
void upsample_nearest_forward_cpu(T* y, const T* x, int64_t NC, int64_t H, int64_t W,
                                  int64_t OH, int64_t OW);
template <class T>
void upsample_nearest_backward_cpu(T* dx, const T* dy, int64_t NC, int64_t H, int64_t W,
                                   int64_t OH, int64_t OW);
template <class T>
void resize_bilinear_cpu(T* y, const T* x, int64_t NC, int64_t H, int64_t W, int64_t OH,
                         int64_t OW);

#if DR_CUDA
void upsample_nearest_forward_cuda(float* y, const float* x, int64_t NC, int64_t H, int64_t W,
                                   int64_t OH, int64_t OW, cudaStream_t s);
void upsample_nearest_backward_cuda(float* dx, const float* dy, int64_t NC, int64_t H, int64_t W,
                                    int64_t OH, int64_t OW, cudaStream_t s);
void resize_bilinear_cuda(float* y, const float* x, int64_t NC, int64_t H, int64_t W, int64_t OH,
                          int64_t OW, cudaStream_t s);
#endif

}  // namespace dr::kern
