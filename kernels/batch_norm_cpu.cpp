// CPU loops for batch norm; the arithmetic is in kernels/batch_norm.cuh.
#include "kernels/batch_norm.cuh"
#include "kernels/batch_norm.h"

namespace dr::kern {

// The per-channel sums accumulate in double; `omp simd reduction` lets them vectorize
// (several partial sums, added at the end), which changes their rounding only at double
// precision.
template <class T>
void bn_stats_cpu(T* mean, T* var, const T* x, int64_t N, int64_t C, int64_t HW) {
  const double count = double(N * HW);
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* p = x + (n * C + c) * HW;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < HW; ++i) sum += p[i];
    }
    const double m = sum / count;
    double sq = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* p = x + (n * C + c) * HW;
#pragma omp simd reduction(+ : sq)
      for (int64_t i = 0; i < HW; ++i) sq += (p[i] - m) * (p[i] - m);
    }
    mean[c] = T(m);
    var[c] = T(sq / count);
  }
}

template <class T>
void bn_coeffs_cpu(T* invstd, T* scale, T* shift, T* running_mean, T* running_var,
                   const T* mean, const T* var, const T* w, const T* b, double eps,
                   double momentum, int64_t count, int64_t C) {
  for (int64_t c = 0; c < C; ++c) {
    invstd[c] = bn_invstd<T>(var[c], T(eps));
    bn_coeffs<T>(&scale[c], &shift[c], mean[c], invstd[c], w, b, c);
    if (running_mean) {
      T unbiased = var[c] * T(count) / T(count - 1);
      running_mean[c] = bn_running<T>(running_mean[c], mean[c], T(momentum));
      running_var[c] = bn_running<T>(running_var[c], unbiased, T(momentum));
    }
  }
}

template <class T>
void bn_affine_cpu(T* y, const T* x, const T* scale, const T* shift, int64_t N, int64_t C,
                   int64_t HW) {
#pragma omp parallel for
  for (int64_t nc = 0; nc < N * C; ++nc) {
    const int64_t c = nc % C;
    for (int64_t i = 0; i < HW; ++i)
      y[nc * HW + i] = bn_apply<T>(x[nc * HW + i], scale[c], shift[c]);
  }
}

template <class T>
void bn_backward_reduce_cpu(T* sum_dy, T* sum_dy_xhat, const T* dy, const T* x, const T* mean,
                            const T* invstd, int64_t N, int64_t C, int64_t HW) {
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, sx = 0;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t base = (n * C + c) * HW;
#pragma omp simd reduction(+ : s, sx)
      for (int64_t i = 0; i < HW; ++i) {
        s += dy[base + i];
        sx += double(dy[base + i]) * ((x[base + i] - mean[c]) * invstd[c]);
      }
    }
    sum_dy[c] = T(s);
    sum_dy_xhat[c] = T(sx);
  }
}

template <class T>
void bn_backward_dx_train_cpu(T* dx, const T* dy, const T* x, const T* mean, const T* invstd,
                              const T* w, const T* sum_dy, const T* sum_dy_xhat, int64_t N,
                              int64_t C, int64_t HW) {
  const T count = T(N * HW);
#pragma omp parallel for
  for (int64_t nc = 0; nc < N * C; ++nc) {
    const int64_t c = nc % C;
    const T wc = w ? w[c] : T(1);
    const T m_dy = sum_dy[c] / count, m_dyx = sum_dy_xhat[c] / count;
    for (int64_t i = nc * HW; i < (nc + 1) * HW; ++i)
      dx[i] += bn_train_dx<T>(dy[i], x[i], mean[c], invstd[c], wc, m_dy, m_dyx);
  }
}

template <class T>
void bn_backward_dx_affine_cpu(T* dx, const T* dy, const T* scale, int64_t N, int64_t C,
                               int64_t HW) {
#pragma omp parallel for
  for (int64_t nc = 0; nc < N * C; ++nc) {
    const T s = scale[nc % C];
    for (int64_t i = nc * HW; i < (nc + 1) * HW; ++i) dx[i] += dy[i] * s;
  }
}

#define DR_INSTANTIATE_BN(T)                                                                  \
  template void bn_stats_cpu<T>(T*, T*, const T*, int64_t, int64_t, int64_t);                 \
  template void bn_coeffs_cpu<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, const T*,  \
                                 double, double, int64_t, int64_t);                           \
  template void bn_affine_cpu<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t); \
  template void bn_backward_reduce_cpu<T>(T*, T*, const T*, const T*, const T*, const T*,     \
                                          int64_t, int64_t, int64_t);                         \
  template void bn_backward_dx_train_cpu<T>(T*, const T*, const T*, const T*, const T*,       \
                                            const T*, const T*, const T*, int64_t, int64_t,   \
                                            int64_t);                                         \
  template void bn_backward_dx_affine_cpu<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);
DR_INSTANTIATE_BN(float)
DR_INSTANTIATE_BN(double)

}  // namespace dr::kern
