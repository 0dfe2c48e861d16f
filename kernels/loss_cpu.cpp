// CPU loops for the losses (kernels/loss.h). Sums run in index order in double, single
// threaded: the terms are few and the order must not depend on a thread count.
#include "kernels/loss.cuh"
#include "kernels/loss.h"

namespace dr::kern {

template <class T> void bce_logits_forward_cpu(T* out, const T* x, const T* t, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(bce_logits_term(x[i], t[i]));
  out[0] = T(s / double(n));
}

template <class T>
void bce_logits_backward_cpu(T* dx, const T* gout, const T* x, const T* t, int64_t n) {
  const T g = gout[0];
  for (int64_t i = 0; i < n; ++i) dx[i] += bce_logits_grad(x[i], t[i], g, T(n));
}

template <class T>
void smooth_l1_forward_cpu(T* out, const T* x, const T* y, int64_t n, T beta, double divisor) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(smooth_l1_term(x[i], y[i], beta));
  out[0] = T(s / divisor);
}

template <class T>
void smooth_l1_backward_cpu(T* dx, const T* gout, const T* x, const T* y, int64_t n, T beta,
                            T divisor) {
  const T g = gout[0] / divisor;
  for (int64_t i = 0; i < n; ++i) dx[i] += smooth_l1_grad(x[i], y[i], beta, g);
}

template <class T>
void cross_entropy_forward_cpu(T* out, const T* x, const int64_t* labels, int64_t k, int64_t c) {
  double s = 0;
  for (int64_t r = 0; r < k; ++r) s += double(cross_entropy_row(x + r * c, c, labels[r]));
  out[0] = T(s / double(k));
}

template <class T>
void cross_entropy_backward_cpu(T* dx, const T* gout, const T* x, const int64_t* labels,
                                int64_t k, int64_t c) {
  const T g = gout[0];
  for (int64_t r = 0; r < k; ++r)
    cross_entropy_row_grad(dx + r * c, x + r * c, c, labels[r], g, T(k));
}

template <class T>
void gather_class_boxes_cpu(T* out, const T* x, const int64_t* rows, const int64_t* classes,
                            int64_t p, int64_t k, int64_t c) {
  for (int64_t o = 0; o < p * 4; ++o) out[o] = x[class_box_src(o, rows, classes, k, c)];
}

template <class T>
void gather_class_boxes_backward_cpu(T* dx, const T* dy, const int64_t* rows,
                                     const int64_t* classes, int64_t p, int64_t k, int64_t c) {
  for (int64_t o = 0; o < p * 4; ++o) dx[class_box_src(o, rows, classes, k, c)] += dy[o];
}

#define DR_INST(T)                                                                          \
  template void bce_logits_forward_cpu<T>(T*, const T*, const T*, int64_t);                 \
  template void bce_logits_backward_cpu<T>(T*, const T*, const T*, const T*, int64_t);      \
  template void smooth_l1_forward_cpu<T>(T*, const T*, const T*, int64_t, T, double);       \
  template void smooth_l1_backward_cpu<T>(T*, const T*, const T*, const T*, int64_t, T, T); \
  template void cross_entropy_forward_cpu<T>(T*, const T*, const int64_t*, int64_t, int64_t); \
  template void cross_entropy_backward_cpu<T>(T*, const T*, const T*, const int64_t*,       \
                                              int64_t, int64_t);                            \
  template void gather_class_boxes_cpu<T>(T*, const T*, const int64_t*, const int64_t*,     \
                                          int64_t, int64_t, int64_t);                       \
  template void gather_class_boxes_backward_cpu<T>(T*, const T*, const int64_t*,            \
                                                   const int64_t*, int64_t, int64_t, int64_t);
DR_INST(float)
DR_INST(double)
#undef DR_INST

}  // namespace dr::kern
