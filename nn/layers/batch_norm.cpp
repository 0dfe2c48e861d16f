#include "nn/layers/batch_norm.h"

#include "nn/init.h"

namespace dr {

// torch's reset_parameters / reset_running_stats: weight 1, bias 0, mean 0, var 1.
static void init_norm(Context& ctx, int64_t c, DType dtype, Tensor& weight, Tensor& bias,
                      Tensor& running_mean, Tensor& running_var) {
  weight = ctx.empty({c}, dtype);
  bias = ctx.empty({c}, dtype);
  running_mean = ctx.empty({c}, dtype);
  running_var = ctx.empty({c}, dtype);
  init::constant(ctx, weight, 1.0);
  init::constant(ctx, bias, 0.0);
  init::constant(ctx, running_mean, 0.0);
  init::constant(ctx, running_var, 1.0);
}

BatchNorm2d::BatchNorm2d(Context& ctx, int64_t c, double eps_, double momentum_, DType dtype)
    : eps(eps_), momentum(momentum_) {
  init_norm(ctx, c, dtype, weight, bias, running_mean, running_var);
  num_batches_tracked = Tensor::host_zeros({}, DType::I64);
  register_parameter("weight", weight, true, norm_tags(false));
  register_parameter("bias", bias, true, norm_tags(true));
  register_buffer("running_mean", running_mean);
  register_buffer("running_var", running_var);
  register_buffer("num_batches_tracked", num_batches_tracked);
}

Tensor BatchNorm2d::forward(Context& ctx, const Tensor& x) {
  Tensor y =
      batch_norm2d(ctx, x, weight, bias, running_mean, running_var, training_, momentum, eps);
  // Counted after the op so a rejected input does not count as a batch. The counter is a
  // host scalar (torch only reads it when momentum is None, a cumulative average); should a
  // loader have moved it to the device, it is counted through a host copy.
  if (training_) {
    if (num_batches_tracked.is_cuda()) {
      Tensor h = ctx.to_host(num_batches_tracked);
      (*h.data<int64_t>())++;
      ctx.copy(num_batches_tracked, h);
    } else {
      (*num_batches_tracked.data<int64_t>())++;
    }
  }
  return y;
}

FrozenBatchNorm2d::FrozenBatchNorm2d(Context& ctx, int64_t c, double eps_, DType dtype)
    : eps(eps_) {
  // torchvision registers all four as buffers: weight/bias are not parameters here.
  init_norm(ctx, c, dtype, weight, bias, running_mean, running_var);
  register_buffer("weight", weight);
  register_buffer("bias", bias);
  register_buffer("running_mean", running_mean);
  register_buffer("running_var", running_var);
}

Tensor FrozenBatchNorm2d::forward(Context& ctx, const Tensor& x) const {
  return frozen_batch_norm2d(ctx, x, weight, bias, running_mean, running_var, eps);
}

}  // namespace dr
