// Launchers for counting non-finite elements (NaN, +-inf; math in kernels/finite.cuh),
// used to stop training on a NaN/Inf loss or gradient. Integer counts: the result is exact
// and the same on every run whatever the order of the additions.
#pragma once
#include <cstdint>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

template <class T> int64_t count_nonfinite_cpu(const T* x, int64_t n);

#if DR_CUDA
// *count += number of non-finite x[i]; count is device memory (no host synchronization).
void count_nonfinite_cuda(unsigned long long* count, const float* x, int64_t n, cudaStream_t s);
#endif

}  // namespace dr::kern
