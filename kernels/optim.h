// Launchers for the optimizer updates and gradient clipping of kernels/optim.cuh.
// Parameters and optimizer state are updated in place; gradients are read only, except by
// clipping, which scales them in place.
#pragma once
#include <cstdint>

#include "kernels/optim.cuh"
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

// p, buf, g: (n). buf may be null when !c.has_momentum.
template <class T> void sgd_step_cpu(T* p, T* buf, const T* g, int64_t n, const SgdCoeffs<T>& c);
// p, m (exp_avg), v (exp_avg_sq), g: (n)
template <class T>
void adam_step_cpu(T* p, T* m, T* v, const T* g, int64_t n, const AdamCoeffs<T>& c);

// Gradient norm: the sum of squares of x (n) in double, in a fixed order that does not
// depend on the thread count (kSumSqChunk-element chunks, summed in chunk order).
constexpr int64_t kSumSqChunk = 1 << 15;
template <class T> double sum_squares_cpu(const T* x, int64_t n);
// x (n) <- clip_apply(x, coef)
template <class T> void clip_scale_cpu(T* x, int64_t n, T coef);

#if DR_CUDA
void sgd_step_cuda(float* p, float* buf, const float* g, int64_t n, const SgdCoeffs<float>& c,
                   cudaStream_t s);
void adam_step_cuda(float* p, float* m, float* v, const float* g, int64_t n,
                    const AdamCoeffs<float>& c, cudaStream_t s);

// Multi-tensor gradient norm over `num` tensors given by a device table: ptrs (num)
// (device addresses of the f32 gradients) and sizes (num). Two launches, no host sync:
//   out[0] = total norm, out[1] = clip_coef(total, max_norm)   (out: device (2))
// partials: device scratch of num * kNormBlocks doubles. The reduction order is fixed
// (kNormBlocks blocks per tensor, tree within a block, sequential across blocks and
// tensors), so the result is the same on every run.
constexpr int kNormBlocks = 64;
void grad_norm_cuda(float* out, double* partials, const float* const* ptrs,
                    const int64_t* sizes, int64_t num, float max_norm, cudaStream_t s);
// Every tensor of the table <- clip_apply(x, *coef), coef a device scalar (out + 1 above).
void clip_scale_cuda(float* const* ptrs, const int64_t* sizes, int64_t num, const float* coef,
                     cudaStream_t s);
#endif

}  // namespace dr::kern
