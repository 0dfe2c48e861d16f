// torch.optim.Adam / AdamW's update of one parameter (_single_tensor_adam(w)):
//   step += 1
//   AdamW: p = p * (1 - lr * weight_decay)          Adam: grad = grad + weight_decay * p
//   m = beta1 * m + (1 - beta1) * grad;  v = beta2 * v + (1 - beta2) * grad^2
//   p = p - lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
// The bias corrections are computed per parameter in double (its own step count), the
// element math is kern::adam_elem (kernels/optim.cuh).
#include <cmath>

#include "kernels/optim.h"
#include "nn/dispatch.h"
#include "train/optimizer.h"

namespace dr::train {

namespace {

template <class T>
kern::AdamCoeffs<T> adam_coeffs(const ParamGroup& g, bool decoupled, int64_t step) {
  const double bias_correction1 = 1 - std::pow(g.beta1, double(step));
  const double bias_correction2 = 1 - std::pow(g.beta2, double(step));
  kern::AdamCoeffs<T> c;
  c.beta1 = T(g.beta1);
  c.one_minus_beta1 = T(1 - g.beta1);
  c.beta2 = T(g.beta2);
  c.one_minus_beta2 = T(1 - g.beta2);
  c.weight_decay = T(g.weight_decay);
  c.decay_factor = T(1 - g.lr * g.weight_decay);
  c.bias_correction2_sqrt = T(std::sqrt(bias_correction2));
  c.eps = T(g.eps);
  c.neg_step_size = T(-(g.lr / bias_correction1));
  c.l2_decay = !decoupled && g.weight_decay != 0;
  c.decoupled = decoupled;
  return c;
}

}  // namespace

void Optimizer::adam_update(const ParamGroup& g, const std::string& name, Tensor& p,
                            const Tensor& grad) {
  ParamState& st = state_[name];
  if (!st.exp_avg.defined()) {
    st.exp_avg = ctx_.zeros_like(p);
    st.exp_avg_sq = ctx_.zeros_like(p);
    st.step = 0;
  }
  st.step += 1;
  const bool decoupled = kind_ == OptimizerKind::AdamW;
  if (p.is_cuda()) {
    DR_IF_CUDA(kern::adam_step_cuda(p.data<float>(), st.exp_avg.data<float>(),
                                    st.exp_avg_sq.data<float>(), grad.data<float>(), p.numel(),
                                    adam_coeffs<float>(g, decoupled, st.step), ctx_.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(p.dtype(), T,
                    kern::adam_step_cpu<T>(p.data<T>(), st.exp_avg.data<T>(),
                                           st.exp_avg_sq.data<T>(), grad.data<T>(), p.numel(),
                                           adam_coeffs<T>(g, decoupled, st.step)));
}

}  // namespace dr::train
