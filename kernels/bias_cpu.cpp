#include "kernels/bias.cuh"
#include "kernels/bias.h"

namespace dr::kern {

template <class T> void bias_add_cpu(T* y, const T* b, int64_t outer, int64_t C, int64_t inner) {
  // Row-wise (one (outer, c) row of `inner` elements at a time): no division per element.
#pragma omp parallel for if (outer * C * inner > (1 << 16))
  for (int64_t row = 0; row < outer * C; ++row) {
    const T v = b[row % C];
    T* p = y + row * inner;
    for (int64_t j = 0; j < inner; ++j) p[j] += v;
  }
}

template <class T> void bias_grad_cpu(T* db, const T* dy, int64_t outer, int64_t C, int64_t inner) {
  // Summed in double per channel: the f32 result is then the correctly rounded sum.
#pragma omp parallel for if (outer * C * inner > (1 << 16))
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t n = 0; n < outer; ++n) {
      const T* p = dy + bias_element(c, n * inner, C, inner);
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < inner; ++j) s += p[j];
    }
    db[c] += static_cast<T>(s);
  }
}

#define DR_INST(T)                                                        \
  template void bias_add_cpu<T>(T*, const T*, int64_t, int64_t, int64_t); \
  template void bias_grad_cpu<T>(T*, const T*, int64_t, int64_t, int64_t);
DR_INST(float)
DR_INST(double)
#undef DR_INST

}  // namespace dr::kern
