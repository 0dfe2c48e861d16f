// Launchers for batch norm (math in kernels/batch_norm.cuh). Layout: x is (N, C, HW)
// contiguous (NCHW with the spatial dims flattened). Argument order: outputs, saved,
// inputs, parameters, sizes. *_backward_* functions ADD (+=) into their outputs; the
// rest overwrite. Pointers to w/b may be null (no affine). Reductions are two-pass
// (mean first, then the sum of squared deviations) with double accumulators on both
// backends, so var is not the difference of two large sums.
#pragma once
#include <cstdint>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

// Batch statistics per channel: mean (C), biased var (C). Needs N*HW >= 1.
template <class T>
void bn_stats_cpu(T* mean, T* var, const T* x, int64_t N, int64_t C, int64_t HW);
// invstd (C) from var; scale/shift (C) from mean, invstd, w, b. When running_mean is not
// null, also updates running_mean/var (C) in place from the batch stats of `count` values.
template <class T>
void bn_coeffs_cpu(T* invstd, T* scale, T* shift, T* running_mean, T* running_var,
                   const T* mean, const T* var, const T* w, const T* b, double eps,
                   double momentum, int64_t count, int64_t C);
// y = x * scale[c] + shift[c]
template <class T>
void bn_affine_cpu(T* y, const T* x, const T* scale, const T* shift, int64_t N, int64_t C,
                   int64_t HW);
// sum_dy[c] = sum dy, sum_dy_xhat[c] = sum dy * (x - mean) * invstd   (overwrite, (C))
template <class T>
void bn_backward_reduce_cpu(T* sum_dy, T* sum_dy_xhat, const T* dy, const T* x, const T* mean,
                            const T* invstd, int64_t N, int64_t C, int64_t HW);
// Training mode: dx += w * invstd * (dy - sum_dy/n - xhat * sum_dy_xhat/n), n = N*HW.
template <class T>
void bn_backward_dx_train_cpu(T* dx, const T* dy, const T* x, const T* mean, const T* invstd,
                              const T* w, const T* sum_dy, const T* sum_dy_xhat, int64_t N,
                              int64_t C, int64_t HW);
// Fixed statistics (eval, frozen): dx += dy * scale[c].
template <class T>
void bn_backward_dx_affine_cpu(T* dx, const T* dy, const T* scale, int64_t N, int64_t C,
                               int64_t HW);

#if DR_CUDA
void bn_stats_cuda(float* mean, float* var, const float* x, int64_t N, int64_t C, int64_t HW,
                   cudaStream_t s);
void bn_coeffs_cuda(float* invstd, float* scale, float* shift, float* running_mean,
                    float* running_var, const float* mean, const float* var, const float* w,
                    const float* b, double eps, double momentum, int64_t count, int64_t C,
                    cudaStream_t s);
void bn_affine_cuda(float* y, const float* x, const float* scale, const float* shift, int64_t N,
                    int64_t C, int64_t HW, cudaStream_t s);
void bn_backward_reduce_cuda(float* sum_dy, float* sum_dy_xhat, const float* dy, const float* x,
                             const float* mean, const float* invstd, int64_t N, int64_t C,
                             int64_t HW, cudaStream_t s);
void bn_backward_dx_train_cuda(float* dx, const float* dy, const float* x, const float* mean,
                               const float* invstd, const float* w, const float* sum_dy,
                               const float* sum_dy_xhat, int64_t N, int64_t C, int64_t HW,
                               cudaStream_t s);
void bn_backward_dx_affine_cuda(float* dx, const float* dy, const float* scale, int64_t N,
                                int64_t C, int64_t HW, cudaStream_t s);
#endif

}  // namespace dr::kern
