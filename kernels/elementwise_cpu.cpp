#include "kernels/elementwise.cuh"
#include "kernels/elementwise.h"

namespace dr::kern {

template <class T> void relu_forward_cpu(T* y, const T* x, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) y[i] = relu_fwd(x[i]);
}

template <class T> void relu_backward_cpu(T* dx, const T* dy, const T* y, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dx[i] += relu_bwd(dy[i], y[i]);
}

template <class T> void add_cpu(T* out, const T* a, const T* b, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

template <class T> void accumulate_cpu(T* dst, const T* src, T alpha, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dst[i] += alpha * src[i];
}

#define DR_INST(T)                                                        \
  template void relu_forward_cpu<T>(T*, const T*, int64_t);               \
  template void relu_backward_cpu<T>(T*, const T*, const T*, int64_t);    \
  template void add_cpu<T>(T*, const T*, const T*, int64_t);              \
  template void accumulate_cpu<T>(T*, const T*, T, int64_t);
DR_INST(float)
DR_INST(double)
#undef DR_INST

}  // namespace dr::kern
