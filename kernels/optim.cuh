// Per-element math of the optimizers (torch.optim SGD, Adam, AdamW: the single-tensor
// paths _single_tensor_sgd / _single_tensor_adam / _single_tensor_adamw of torch 1.13)
// and of gradient clipping (torch.nn.utils.clip_grad_norm_), shared by the CPU loops and
// the CUDA kernels.
//
// The operations and their rounding follow torch's CPU kernels: every `x.add_(y, alpha=a)`
// is a fused multiply-add fma(y, a, x) (ATen's vectorized add is vec::fmadd), every
// `x.addcmul_(y, z, value=a)` is fma(a * y, z, x), `x.addcdiv_(y, z, value=a)` is
// x + (a * y) / z and `x.mul_(a)` a single product. Python floats become the tensor's
// dtype when the op runs, so the coefficients below are computed in double on the host
// and rounded to T once, as torch does. With IEEE division and square root on both
// backends (nvcc's default, no fast math) the CPU and CUDA results are bit-identical.
#pragma once
#include <cmath>

#include "kernels/hd.cuh"

namespace dr::kern {

// fma / sqrt in the argument's own precision on host and device.
HD float fma_same(float a, float b, float c) { return fmaf(a, b, c); }
HD double fma_same(double a, double b, double c) { return fma(a, b, c); }
HD float sqrt_same(float x) { return sqrtf(x); }
HD double sqrt_same(double x) { return sqrt(x); }

// ---- SGD ------------------------------------------------------------------------------
// One group's step coefficients (torch.optim.SGD hyper-parameters, cast to T).
template <class T> struct SgdCoeffs {
  T neg_lr = 0;               // -lr: param.add_(d_p, alpha=-lr)
  T weight_decay = 0;         // d_p = grad.add(param, alpha=weight_decay)
  T momentum = 0;             // buf.mul_(momentum)
  T one_minus_dampening = 1;  // buf.add_(d_p, alpha=1 - dampening)
  bool has_weight_decay = false;  // torch tests weight_decay != 0 on the Python float
  bool has_momentum = false;      // momentum != 0: a momentum buffer exists
  bool nesterov = false;
  bool first = false;  // the buffer does not exist yet: buf = clone(d_p)
};

// Returns the new parameter; updates buf when c.has_momentum (else buf is untouched).
template <class T> HD T sgd_elem(T p, T& buf, T g, const SgdCoeffs<T>& c) {
  T d = c.has_weight_decay ? fma_same(p, c.weight_decay, g) : g;
  if (c.has_momentum) {
    buf = c.first ? d : fma_same(d, c.one_minus_dampening, buf * c.momentum);
    d = c.nesterov ? fma_same(buf, c.momentum, d) : buf;
  }
  return fma_same(d, c.neg_lr, p);
}

// ---- Adam / AdamW -----------------------------------------------------------------------
// One parameter's step coefficients (they depend on its own step count through the bias
// corrections).
template <class T> struct AdamCoeffs {
  T beta1 = 0, one_minus_beta1 = 0;  // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
  T beta2 = 0, one_minus_beta2 = 0;  // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
  T weight_decay = 0;                // Adam (L2): grad = grad.add(param, alpha=weight_decay)
  T decay_factor = 1;                // AdamW (decoupled): param.mul_(1 - lr * weight_decay)
  T bias_correction2_sqrt = 1;       // sqrt(1 - beta2 ** step)
  T eps = 0;
  T neg_step_size = 0;               // -lr / (1 - beta1 ** step)
  bool l2_decay = false;             // Adam with weight_decay != 0
  bool decoupled = false;            // AdamW (always multiplies, as torch)
};

// Returns the new parameter; updates the moments m (exp_avg) and v (exp_avg_sq).
template <class T> HD T adam_elem(T p, T& m, T& v, T g, const AdamCoeffs<T>& c) {
  if (c.decoupled) p = p * c.decay_factor;
  if (c.l2_decay) g = fma_same(p, c.weight_decay, g);
  m = fma_same(g, c.one_minus_beta1, m * c.beta1);
  v = fma_same(c.one_minus_beta2 * g, g, v * c.beta2);
  const T denom = sqrt_same(v) / c.bias_correction2_sqrt + c.eps;
  return p + (c.neg_step_size * m) / denom;
}

// ---- clip_grad_norm_ (norm type 2) ------------------------------------------------------
// torch: norms = [norm(g) for g] (each in the gradients' dtype), total = norm(stack(norms)).
// Sums of squares are accumulated in double on both backends, in a fixed order.
template <class T> HD T norm_from_sumsq(double sumsq) { return T(sqrt(sumsq)); }
// clip_coef = max_norm / (total + 1e-6), clamped to at most 1 (NaN stays NaN, as torch.clamp).
template <class T> HD T clip_coef(T total, T max_norm) {
  const T c = max_norm / (total + T(1e-6));
  return c > T(1) ? T(1) : c;
}
// g.mul_(clip_coef_clamped): a coefficient of 1 leaves g as it is, so it is skipped.
template <class T> HD T clip_apply(T g, T coef) { return coef >= T(1) ? g : g * coef; }

}  // namespace dr::kern
