// Per-element math of the Faster R-CNN losses, shared by the CUDA kernels (kernels/loss.cu)
// and the CPU loops (kernels/loss_cpu.cpp). Each term is computed in the tensor's own
// precision with torch 1.13's formula and operation order (aten/src/ATen/native/Loss.cpp,
// LossNLL.cpp, SoftMax.cpp), so f32 results follow torch's f32 rounding; the callers add the
// terms in double in a fixed order (see kernels/loss.h).
#pragma once
#include <cmath>

#include "kernels/hd.cuh"
#include "kernels/select.cuh"  // exp_same, sigmoid_elem (torch's 1 / (1 + exp(-x)))

namespace dr::kern {

// log in the argument's own precision (see exp_same in kernels/select.cuh).
HD float log_same(float x) { return logf(x); }
HD double log_same(double x) { return log(x); }

// ---- binary_cross_entropy_with_logits (RPN objectness) ----
// torch's stable form for logit x and target t, with m = max(-x, 0):
//   (1 - t) x + m + log(exp(-m) + exp(-x - m))
// (equal to max(x, 0) - x t + log1p(exp(-|x|)); no exp overflows for |x| large).
template <class T> HD T bce_logits_term(T x, T t) {
  const T m = -x > T(0) ? -x : T(0);
  return (T(1) - t) * x + m + log_same(exp_same(-m) + exp_same(-x - m));
}
// d(mean loss)/dx for upstream gradient g over n terms: (sigmoid(x) - t) g / n, as torch's
// binary_cross_entropy_with_logits_backward with reduction="mean".
template <class T> HD T bce_logits_grad(T x, T t, T g, T n) {
  return (sigmoid_elem(x) - t) * g / n;
}

// ---- smooth_l1_loss (RPN and RoI box regression) ----
// torch's smooth_l1 for d = x - y and beta > 0: 0.5 d^2 / beta where |d| < beta, else
// |d| - 0.5 beta.
template <class T> HD T smooth_l1_term(T x, T y, T beta) {
  const T d = x - y;
  const T z = d < T(0) ? -d : d;
  return z < beta ? T(0.5) * z * z / beta : z - T(0.5) * beta;
}
// d term / dx times g (torch's smooth_l1_backward with reduction="sum"; g already carries
// the caller's 1 / divisor): -g for d <= -beta, g for d >= beta, d g / beta between.
template <class T> HD T smooth_l1_grad(T x, T y, T beta, T g) {
  const T d = x - y;
  if (d <= -beta) return -g;
  if (d >= beta) return g;
  return d * g / beta;
}

// ---- cross_entropy (RoI classifier) ----
// One row x (C) of logits: its maximum and log(sum exp(x - max)), as torch's log_softmax
// over the last dim. A NaN or +inf logit makes lse NaN (exp(NaN) or inf - inf).
template <class T> struct RowLse {
  T max, lse;
};
template <class T> HD RowLse<T> row_logsumexp(const T* x, int64_t c) {
  T m = x[0];
  for (int64_t j = 1; j < c; ++j) m = x[j] > m ? x[j] : m;
  T s = T(0);
  for (int64_t j = 0; j < c; ++j) s += exp_same(x[j] - m);
  return {m, log_same(s)};
}
// -log_softmax(x)[label] = -((x[label] - max) - lse).
template <class T> HD T cross_entropy_row(const T* x, int64_t c, int64_t label) {
  const RowLse<T> r = row_logsumexp(x, c);
  return -((x[label] - r.max) - r.lse);
}
// dx[j] += (onehot(label)[j] - softmax(x)[j]) * a with a = -(g / n): torch's nll_loss
// backward puts a at the label, log_softmax backward turns it into a - softmax * a.
template <class T>
HD void cross_entropy_row_grad(T* dx, const T* x, int64_t c, int64_t label, T g, T n) {
  const RowLse<T> r = row_logsumexp(x, c);
  const T a = -(g / n);
  for (int64_t j = 0; j < c; ++j) {
    const T p = exp_same((x[j] - r.max) - r.lse);
    dx[j] += (j == label ? a : T(0)) - p * a;
  }
}

// ---- gather_class_boxes (torchvision fastrcnn_loss's box_regression[pos, labels_pos]) ----
// Output element o of (P, 4) reads x (K, C*4) at row rows[o / 4], column
// 4 * classes[o / 4] + o % 4. Returns that flat index, or -1 for an index out of range
// (the CPU checks indices up front; the CUDA kernels cannot throw, see kernels/loss.h).
HD int64_t class_box_src(int64_t o, const int64_t* rows, const int64_t* classes, int64_t k,
                         int64_t c) {
  const int64_t p = o / 4, r = rows[p], cl = classes[p];
  if (r < 0 || r >= k || cl < 0 || cl >= c) return -1;
  return (r * c + cl) * 4 + o % 4;
}

}  // namespace dr::kern
