// batch_norm2d and frozen_batch_norm2d (see nn/functional.h). Mirrors
// torch.nn.functional.batch_norm (torch/nn/modules/batchnorm.py calls it with
// momentum 0.1, eps 1e-5) and torchvision/ops/misc.py FrozenBatchNorm2d.forward:
//   scale = w * rsqrt(rv + eps), shift = b - rm * scale, y = x * scale + shift.
// All three modes reduce to that per-channel affine (kernels/batch_norm.cuh); training
// mode takes (mean, var) from the batch (biased var) and updates the running buffers in
// place with the unbiased var, as torch does.
#include "kernels/batch_norm.h"
#include "nn/dispatch.h"
#include "nn/functional.h"

namespace dr {
namespace {

struct Dims {
  int64_t N, C, HW;
};

template <class T> T* ptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

void check_channel_param(const char* op, const char* name, const Tensor& p, const Tensor& x) {
  if (!p.defined()) return;
  DR_CHECK(p.dim() == 1 && p.size(0) == x.size(1),
           op << ": " << name << " must have shape (" << x.size(1) << ") for input " << x.str()
              << ", got " << p.str());
  DR_CHECK(p.dtype() == x.dtype(), op << ": " << name << " " << p.str() << " and input "
                                      << x.str() << " have different dtypes");
  check_same_device(op, x, p);
}

Dims check_input(const char* op, const Tensor& x) {
  check_float(op, "x", x);
  DR_CHECK(x.dim() == 4, op << ": input must be 4-D (N, C, H, W), got " << x.str());
  DR_CHECK(!x.is_cuda() || x.dtype() == DType::F32, op << ": CUDA supports f32 only, got "
                                                       << x.str());
  return {x.size(0), x.size(1), x.size(2) * x.size(3)};
}

// scale/shift/invstd (C) from (mean, var); updates running stats when given (training).
void coeffs(Context& ctx, const Tensor& invstd, const Tensor& scale, const Tensor& shift,
            const Tensor& running_mean, const Tensor& running_var, const Tensor& mean,
            const Tensor& var, const Tensor& w, const Tensor& b, double eps, double momentum,
            int64_t count) {
  const int64_t C = mean.numel();
  if (mean.is_cuda()) {
    DR_IF_CUDA(kern::bn_coeffs_cuda(invstd.data<float>(), scale.data<float>(),
                                    shift.data<float>(), ptr<float>(running_mean),
                                    ptr<float>(running_var), mean.data<float>(),
                                    var.data<float>(), ptr<float>(w), ptr<float>(b), eps,
                                    momentum, count, C, ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(mean.dtype(), T,
                    kern::bn_coeffs_cpu<T>(invstd.data<T>(), scale.data<T>(), shift.data<T>(),
                                           ptr<T>(running_mean), ptr<T>(running_var),
                                           mean.data<T>(), var.data<T>(), ptr<T>(w), ptr<T>(b),
                                           eps, momentum, count, C));
}

void affine(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& scale,
            const Tensor& shift, Dims d) {
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::bn_affine_cuda(y.data<float>(), x.data<float>(), scale.data<float>(),
                                    shift.data<float>(), d.N, d.C, d.HW, ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(x.dtype(), T,
                    kern::bn_affine_cpu<T>(y.data<T>(), x.data<T>(), scale.data<T>(),
                                           shift.data<T>(), d.N, d.C, d.HW));
}

// sum_dy, sum_dy_xhat (C) with xhat = (x - mean) * invstd.
void backward_reduce(Context& ctx, const Tensor& sum_dy, const Tensor& sum_dy_xhat,
                     const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                     Dims d) {
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::bn_backward_reduce_cuda(sum_dy.data<float>(), sum_dy_xhat.data<float>(),
                                             dy.data<float>(), x.data<float>(),
                                             mean.data<float>(), invstd.data<float>(), d.N, d.C,
                                             d.HW, ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(x.dtype(), T,
                    kern::bn_backward_reduce_cpu<T>(sum_dy.data<T>(), sum_dy_xhat.data<T>(),
                                                    dy.data<T>(), x.data<T>(), mean.data<T>(),
                                                    invstd.data<T>(), d.N, d.C, d.HW));
}

// dx += dy * scale[c] (statistics fixed: eval and frozen).
void backward_dx_affine(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& scale,
                        Dims d) {
  if (dy.is_cuda()) {
    DR_IF_CUDA(kern::bn_backward_dx_affine_cuda(dx.data<float>(), dy.data<float>(),
                                                scale.data<float>(), d.N, d.C, d.HW,
                                                ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(dy.dtype(), T,
                    kern::bn_backward_dx_affine_cpu<T>(dx.data<T>(), dy.data<T>(),
                                                       scale.data<T>(), d.N, d.C, d.HW));
}

// Training mode: the batch statistics depend on x.
void backward_dx_train(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& x,
                       const Tensor& mean, const Tensor& invstd, const Tensor& w,
                       const Tensor& sum_dy, const Tensor& sum_dy_xhat, Dims d) {
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::bn_backward_dx_train_cuda(
        dx.data<float>(), dy.data<float>(), x.data<float>(), mean.data<float>(),
        invstd.data<float>(), ptr<float>(w), sum_dy.data<float>(), sum_dy_xhat.data<float>(),
        d.N, d.C, d.HW, ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(x.dtype(), T,
                    kern::bn_backward_dx_train_cpu<T>(dx.data<T>(), dy.data<T>(), x.data<T>(),
                                                      mean.data<T>(), invstd.data<T>(), ptr<T>(w),
                                                      sum_dy.data<T>(), sum_dy_xhat.data<T>(),
                                                      d.N, d.C, d.HW));
}

}  // namespace

Tensor batch_norm2d(Context& ctx, const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    double momentum, double eps) {
  const char* op = "batch_norm2d";
  const Dims d = check_input(op, x);
  check_channel_param(op, "weight", weight, x);
  check_channel_param(op, "bias", bias, x);
  check_channel_param(op, "running_mean", running_mean, x);
  check_channel_param(op, "running_var", running_var, x);
  DR_CHECK(running_mean.defined() == running_var.defined(),
           op << ": running_mean and running_var must be given together");
  DR_CHECK(training || running_mean.defined(),
           op << ": eval mode needs running_mean and running_var");
  ctx.check_no_grad("batch_norm2d (running statistics)", {&running_mean, &running_var});
  const int64_t count = d.N * d.HW;
  // torch.nn.functional._verify_batch_size: the unbiased variance needs two values.
  DR_CHECK(!training || count > 1, op << ": expected more than 1 value per channel when "
                                         "training, got input "
                                      << x.str());

  const Shape cs{d.C};
  Tensor invstd = ctx.empty_on(x.device(), cs, x.dtype());
  Tensor scale = ctx.empty_on(x.device(), cs, x.dtype());
  Tensor shift = ctx.empty_on(x.device(), cs, x.dtype());
  Tensor mean;  // the statistics actually used (batch or a copy of the running ones)
  if (training) {
    mean = ctx.empty_on(x.device(), cs, x.dtype());
    Tensor var = ctx.empty_on(x.device(), cs, x.dtype());
    if (x.is_cuda()) {
      DR_IF_CUDA(kern::bn_stats_cuda(mean.data<float>(), var.data<float>(), x.data<float>(), d.N,
                                     d.C, d.HW, ctx.stream()));
    } else {
      DR_DISPATCH_FLOAT(x.dtype(), T,
                        kern::bn_stats_cpu<T>(mean.data<T>(), var.data<T>(), x.data<T>(), d.N,
                                              d.C, d.HW));
    }
    coeffs(ctx, invstd, scale, shift, running_mean, running_var, mean, var, weight, bias, eps,
           momentum, count);
  } else {
    // A copy, so backward sees the statistics of this forward even if a later training
    // step updates the buffers first.
    mean = ctx.clone(running_mean);
    coeffs(ctx, invstd, scale, shift, Tensor(), Tensor(), mean, running_var, weight, bias, eps,
           momentum, count);
  }
  Tensor y = ctx.empty_like(x);
  affine(ctx, y, x, scale, shift, d);

  if (ctx.recording({&x, &weight, &bias})) {
    y.set_requires_grad(true);
    ctx.tape().push("batch_norm2d", {y},
                    [&ctx, x, weight, bias, mean, invstd, scale, training, d, cs, y]() {
      Tensor dy = y.grad();
      const bool want_params = weight.requires_grad() || bias.requires_grad();
      Tensor sum_dy, sum_dy_xhat;
      if (training || want_params) {
        sum_dy = ctx.empty_on(x.device(), cs, x.dtype());
        sum_dy_xhat = ctx.empty_on(x.device(), cs, x.dtype());
        backward_reduce(ctx, sum_dy, sum_dy_xhat, dy, x, mean, invstd, d);
      }
      if (weight.requires_grad()) accumulate(ctx, ctx.grad_buffer(weight), sum_dy_xhat);
      if (bias.requires_grad()) accumulate(ctx, ctx.grad_buffer(bias), sum_dy);
      if (!x.requires_grad()) return;
      if (training)
        backward_dx_train(ctx, ctx.grad_buffer(x), dy, x, mean, invstd, weight, sum_dy,
                          sum_dy_xhat, d);
      else
        backward_dx_affine(ctx, ctx.grad_buffer(x), dy, scale, d);
    });
  }
  return y;
}

Tensor frozen_batch_norm2d(Context& ctx, const Tensor& x, const Tensor& weight, const Tensor& bias,
                           const Tensor& running_mean, const Tensor& running_var, double eps) {
  const char* op = "frozen_batch_norm2d";
  const Dims d = check_input(op, x);
  const Tensor* params[] = {&weight, &bias, &running_mean, &running_var};
  const char* names[] = {"weight", "bias", "running_mean", "running_var"};
  for (int i = 0; i < 4; ++i) {
    DR_CHECK(params[i]->defined(), op << ": " << names[i] << " is undefined");
    check_channel_param(op, names[i], *params[i], x);
  }
  const Shape cs{d.C};
  Tensor invstd = ctx.empty_on(x.device(), cs, x.dtype());
  Tensor scale = ctx.empty_on(x.device(), cs, x.dtype());
  Tensor shift = ctx.empty_on(x.device(), cs, x.dtype());
  coeffs(ctx, invstd, scale, shift, Tensor(), Tensor(), running_mean, running_var, weight, bias,
         eps, 0.0, 0);
  Tensor y = ctx.empty_like(x);
  affine(ctx, y, x, scale, shift, d);
  // The four tensors are buffers in torchvision: only x gets a gradient.
  ctx.check_no_grad("frozen_batch_norm2d (weight, bias, running_mean, running_var)",
                    {&weight, &bias, &running_mean, &running_var});
  if (ctx.recording({&x})) {
    y.set_requires_grad(true);
    ctx.tape().push("frozen_batch_norm2d", {y}, [&ctx, x, scale, d, y]() {
      backward_dx_affine(ctx, ctx.grad_buffer(x), y.grad(), scale, d);
    });
  }
  return y;
}

std::pair<Tensor, Tensor> batch_norm_affine(Context& ctx, const Tensor& weight, const Tensor& bias,
                                            const Tensor& running_mean,
                                            const Tensor& running_var, double eps) {
  const char* op = "batch_norm_affine";
  DR_CHECK(running_mean.defined() && running_var.defined(),
           op << ": needs running_mean and running_var");
  check_float(op, "running_mean", running_mean);
  DR_CHECK(running_mean.dim() == 1, op << ": running_mean must be 1-D (C), got "
                                       << running_mean.str());
  const Tensor* params[] = {&weight, &bias, &running_var};
  const char* names[] = {"weight", "bias", "running_var"};
  for (int i = 0; i < 3; ++i) {
    if (!params[i]->defined()) continue;
    DR_CHECK(params[i]->dim() == 1 && params[i]->size(0) == running_mean.size(0) &&
                 params[i]->dtype() == running_mean.dtype(),
             op << ": " << names[i] << " " << params[i]->str() << " does not match running_mean "
                << running_mean.str());
    check_same_device(op, running_mean, *params[i]);
  }
  ctx.check_no_grad("batch_norm_affine (weight, bias, running_mean, running_var)",
                    {&weight, &bias, &running_mean, &running_var});
  const Shape cs{running_mean.size(0)};
  const Device dev = running_mean.device();
  Tensor invstd = ctx.empty_on(dev, cs, running_mean.dtype());
  Tensor scale = ctx.empty_on(dev, cs, running_mean.dtype());
  Tensor shift = ctx.empty_on(dev, cs, running_mean.dtype());
  coeffs(ctx, invstd, scale, shift, Tensor(), Tensor(), running_mean, running_var, weight, bias,
         eps, 0.0, 0);
  return {scale, shift};
}

}  // namespace dr
