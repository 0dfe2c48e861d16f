// Launchers for pointwise ops. Argument order: outputs, saved, inputs, sizes.
// Functions named *_backward and accumulate ADD into their output (+=).
#pragma once
#include <cstdint>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

template <class T> void relu_forward_cpu(T* y, const T* x, int64_t n);
template <class T> void relu_backward_cpu(T* dx, const T* dy, const T* y, int64_t n);
template <class T> void add_cpu(T* out, const T* a, const T* b, int64_t n);
template <class T> void accumulate_cpu(T* dst, const T* src, T alpha, int64_t n);  // dst += alpha*src

#if DR_CUDA
void relu_forward_cuda(float* y, const float* x, int64_t n, cudaStream_t s);
void relu_backward_cuda(float* dx, const float* dy, const float* y, int64_t n, cudaStream_t s);
void add_cuda(float* out, const float* a, const float* b, int64_t n, cudaStream_t s);
void accumulate_cuda(float* dst, const float* src, float alpha, int64_t n, cudaStream_t s);
#endif

}  // namespace dr::kern
