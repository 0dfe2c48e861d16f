// Conv2dNormActivation: torchvision.ops.misc.Conv2dNormActivation, a Sequential of
// conv ("0"), optional norm ("1") and optional ReLU. As in torchvision the conv has a
// bias exactly when there is no norm layer, and padding defaults to (k - 1) / 2 * dilation.
// Used by the v2 FPN (norm, no activation), RPNHead (no norm, ReLU) and the v2 box
// head (BatchNorm + ReLU).
#pragma once
#include <memory>
#include <tuple>

#include "nn/layers/batch_norm.h"
#include "nn/layers/conv2d.h"

namespace dr {

enum class NormKind { None, BatchNorm, FrozenBatchNorm };

struct ConvNormActOptions {
  int64_t in_channels = 0, out_channels = 0;
  int kernel = 3, stride = 1;
  int padding = -1;  // -1: (kernel - 1) / 2 * dilation
  int dilation = 1, groups = 1;
  NormKind norm = NormKind::BatchNorm;
  bool relu = true;
  DType dtype = DType::F32;
};

// relu?(norm(conv(x)) + residual), residual (N, O, OH, OW) or undefined, norm null for none:
// one conv2d_fused (the norm folded into the conv, the add and ReLU its epilogue) when the
// norm is foldable (frozen, or a batch norm in eval mode), else conv, norm (training
// statistics), add and an in-place ReLU in turn. Norm: BatchNorm2d, FrozenBatchNorm2d or
// Norm2d.
template <class Norm>
Tensor conv_norm_act(Context& ctx, const Conv2d& conv, Norm* norm, const Tensor& x, bool relu,
                     const Tensor& residual = Tensor()) {
  if (!norm || norm->foldable(ctx)) {
    ConvEpilogue e;
    if (norm) std::tie(e.scale, e.shift) = norm->affine(ctx);
    e.residual = residual;
    e.relu = relu;
    return conv2d_fused(ctx, x, conv.weight, conv.bias, conv.args(), e);
  }
  Tensor y = norm->forward(ctx, conv.forward(ctx, x));
  if (residual.defined()) y = add(ctx, y, residual);
  // Neither the norm nor add saves its output for backward, so the ReLU may overwrite it.
  return relu ? dr::relu(ctx, y, /*inplace=*/true) : y;
}

class Conv2dNormActivation : public Module {
 public:
  Conv2dNormActivation(Context& ctx, const ConvNormActOptions& o);
  Tensor forward(Context& ctx, const Tensor& x);  // (N, C, H, W) -> (N, O, H', W')

  std::unique_ptr<Conv2d> conv;                  // "0"
  std::unique_ptr<BatchNorm2d> bn;               // "1" when norm == BatchNorm
  std::unique_ptr<FrozenBatchNorm2d> frozen_bn;  // "1" when norm == FrozenBatchNorm
  bool relu;
};

}  // namespace dr
