// BatchNorm2d (torch.nn.BatchNorm2d) and FrozenBatchNorm2d (torchvision.ops.misc), with
// torch's member names: weight, bias, running_mean, running_var (+ num_batches_tracked
// for BatchNorm2d, an i64 scalar as in torch's state_dict).
#pragma once
#include "nn/functional.h"
#include "nn/module.h"

namespace dr {

class BatchNorm2d : public Module {
 public:
  BatchNorm2d(Context& ctx, int64_t channels, double eps = 1e-5, double momentum = 0.1,
              DType dtype = DType::F32);
  // Training mode: batch statistics, updates running stats and num_batches_tracked.
  Tensor forward(Context& ctx, const Tensor& x);
  // In eval mode, with weight and bias not being recorded, this norm is a fixed per-channel
  // affine that the conv before it can absorb (conv_norm_act); affine() is its (scale, shift).
  bool foldable(Context& ctx) const { return !training_ && !ctx.recording({&weight, &bias}); }
  std::pair<Tensor, Tensor> affine(Context& ctx) const {
    return batch_norm_affine(ctx, weight, bias, running_mean, running_var, eps);
  }

  Tensor weight, bias;               // (C), init 1 and 0
  Tensor running_mean, running_var;  // (C), init 0 and 1
  Tensor num_batches_tracked;        // i64 scalar (shape ()), host-side counter mirrored
  double eps, momentum;
};

class FrozenBatchNorm2d : public Module {
 public:
  // torchvision's FrozenBatchNorm2d default eps is 1e-5; detection models built with
  // torchvision >= 0.8 use 1e-5 too (older checkpoints used 0: configurable).
  FrozenBatchNorm2d(Context& ctx, int64_t channels, double eps = 1e-5, DType dtype = DType::F32);
  Tensor forward(Context& ctx, const Tensor& x) const;
  bool foldable(Context&) const { return true; }  // always a fixed affine (see BatchNorm2d)
  std::pair<Tensor, Tensor> affine(Context& ctx) const {
    return batch_norm_affine(ctx, weight, bias, running_mean, running_var, eps);
  }

  Tensor weight, bias, running_mean, running_var;  // (C) buffers, never trained
  double eps;
};

}  // namespace dr
