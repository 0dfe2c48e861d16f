// torch.optim.SGD's update of one parameter (_single_tensor_sgd):
//   d_p = grad (+ weight_decay * p)
//   momentum: buf = d_p on the first step, else buf = momentum * buf + (1 - dampening) * d_p;
//             d_p = d_p + momentum * buf (nesterov) or buf
//   p = p - lr * d_p
// The element math is kern::sgd_elem (kernels/optim.cuh).
#include "kernels/optim.h"
#include "nn/dispatch.h"
#include "train/optimizer.h"

namespace dr::train {

namespace {

template <class T> kern::SgdCoeffs<T> sgd_coeffs(const ParamGroup& g, bool first) {
  kern::SgdCoeffs<T> c;
  c.neg_lr = T(-g.lr);
  c.weight_decay = T(g.weight_decay);
  c.momentum = T(g.momentum);
  c.one_minus_dampening = T(1 - g.dampening);  // computed in double, as Python does
  c.has_weight_decay = g.weight_decay != 0;
  c.has_momentum = g.momentum != 0;
  c.nesterov = g.nesterov;
  c.first = first;
  return c;
}

}  // namespace

void Optimizer::sgd_update(const ParamGroup& g, const std::string& name, Tensor& p,
                           const Tensor& grad) {
  ParamState& st = state_[name];
  bool first = false;
  if (g.momentum != 0 && !st.momentum_buffer.defined()) {
    st.momentum_buffer = ctx_.empty_like(p);  // filled with d_p by the first update
    first = true;
  }
  const Tensor buf = g.momentum != 0 ? st.momentum_buffer : Tensor();
  if (p.is_cuda()) {
    DR_IF_CUDA(kern::sgd_step_cuda(p.data<float>(), buf.defined() ? buf.data<float>() : nullptr,
                                   grad.data<float>(), p.numel(), sgd_coeffs<float>(g, first),
                                   ctx_.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(p.dtype(), T,
                    kern::sgd_step_cpu<T>(p.data<T>(), buf.defined() ? buf.data<T>() : nullptr,
                                          grad.data<T>(), p.numel(), sgd_coeffs<T>(g, first)));
}

}  // namespace dr::train
