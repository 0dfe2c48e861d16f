#include "kernels/finite.cuh"
#include "kernels/finite.h"

namespace dr::kern {

template <class T> int64_t count_nonfinite_cpu(const T* x, int64_t n) {
  int64_t count = 0;
#pragma omp parallel for reduction(+ : count) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) count += is_nonfinite(x[i]) ? 1 : 0;
  return count;
}

template int64_t count_nonfinite_cpu<float>(const float*, int64_t);
template int64_t count_nonfinite_cpu<double>(const double*, int64_t);

}  // namespace dr::kern
