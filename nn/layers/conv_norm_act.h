// Conv2dNormActivation: torchvision.ops.misc.Conv2dNormActivation, a Sequential of
// conv ("0"), optional norm ("1") and optional ReLU. As in torchvision the conv has a
// bias exactly when there is no norm layer, and padding defaults to (k - 1) / 2 * dilation.
// Used by the v2 FPN (norm, no activation), RPNHead (no norm, ReLU) and the v2 box
// head (BatchNorm + ReLU).
#pragma once
#include <memory>

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
