// Channel bias launchers. Argument order: outputs, inputs, sizes. y is (outer, C, inner),
// b and db are (C). bias_add adds in place; bias_grad ACCUMULATES (+=) into db.
#pragma once
#include <cstdint>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

template <class T> void bias_add_cpu(T* y, const T* b, int64_t outer, int64_t C, int64_t inner);
template <class T> void bias_grad_cpu(T* db, const T* dy, int64_t outer, int64_t C, int64_t inner);

#if DR_CUDA
void bias_add_cuda(float* y, const float* b, int64_t outer, int64_t C, int64_t inner,
                   cudaStream_t s);
void bias_grad_cuda(float* db, const float* dy, int64_t outer, int64_t C, int64_t inner,
                    cudaStream_t s);
#endif

}  // namespace dr::kern
