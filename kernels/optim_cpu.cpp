#include <vector>

#include "kernels/optim.cuh"
#include "kernels/optim.h"

namespace dr::kern {

template <class T> void sgd_step_cpu(T* p, T* buf, const T* g, int64_t n, const SgdCoeffs<T>& c) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    T unused = 0;
    T& b = buf ? buf[i] : unused;
    p[i] = sgd_elem(p[i], b, g[i], c);
  }
}

template <class T>
void adam_step_cpu(T* p, T* m, T* v, const T* g, int64_t n, const AdamCoeffs<T>& c) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) p[i] = adam_elem(p[i], m[i], v[i], g[i], c);
}

template <class T> double sum_squares_cpu(const T* x, int64_t n) {
  const int64_t chunks = (n + kSumSqChunk - 1) / kSumSqChunk;
  std::vector<double> part(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for if (chunks > 1)
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t lo = k * kSumSqChunk, hi = lo + kSumSqChunk < n ? lo + kSumSqChunk : n;
    // Four interleaved accumulators (a fixed pattern, so still one order) break the
    // dependency chain of a single running sum.
    double s[4] = {0, 0, 0, 0};
    int64_t i = lo;
    for (; i + 4 <= hi; i += 4)
      for (int j = 0; j < 4; ++j) s[j] += double(x[i + j]) * double(x[i + j]);
    for (; i < hi; ++i) s[0] += double(x[i]) * double(x[i]);
    part[k] = (s[0] + s[1]) + (s[2] + s[3]);
  }
  double total = 0;
  for (double s : part) total += s;
  return total;
}

template <class T> void clip_scale_cpu(T* x, int64_t n, T coef) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) x[i] = clip_apply(x[i], coef);
}

#define DR_INST(T)                                                                         \
  template void sgd_step_cpu<T>(T*, T*, const T*, int64_t, const SgdCoeffs<T>&);           \
  template void adam_step_cpu<T>(T*, T*, T*, const T*, int64_t, const AdamCoeffs<T>&);     \
  template double sum_squares_cpu<T>(const T*, int64_t);                                   \
  template void clip_scale_cpu<T>(T*, int64_t, T);
DR_INST(float)
DR_INST(double)
#undef DR_INST

}  // namespace dr::kern
