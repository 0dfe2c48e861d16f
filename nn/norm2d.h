// Norm2d: torchvision's `norm_layer` argument made concrete. A ResNet or FPN built
// with norm_layer=FrozenBatchNorm2d (v1) or nn.BatchNorm2d (v2) has the same module
// tree except for this layer, so blocks hold a Norm2d that is one or the other. It
// registers the wrapped layer's tensors as its own, so the state_dict names are those
// of the layer itself ("bn1.weight", not "bn1.impl.weight").
#pragma once
#include <memory>

#include "nn/layers/batch_norm.h"
#include "nn/layers/conv_norm_act.h"  // NormKind

namespace dr {

class Norm2d : public Module {
 public:
  // kind: BatchNorm or FrozenBatchNorm (None is an error). frozen_eps applies to
  // FrozenBatchNorm2d; BatchNorm2d keeps torch's eps 1e-5 and momentum 0.1.
  Norm2d(Context& ctx, NormKind kind, int64_t channels, double frozen_eps = 1e-5);
  Tensor forward(Context& ctx, const Tensor& x);  // (N, C, H, W) -> (N, C, H, W)
  // Frozen, or a batch norm that is foldable (eval mode, not recorded): see BatchNorm2d.
  bool foldable(Context& ctx) const { return frozen_ || batch_->foldable(ctx); }
  std::pair<Tensor, Tensor> affine(Context& ctx) const {
    return frozen_ ? frozen_->affine(ctx) : batch_->affine(ctx);
  }
  void train(bool on = true) override;

  NormKind kind() const { return kind_; }
  BatchNorm2d* batch() { return batch_.get(); }            // null when frozen
  FrozenBatchNorm2d* frozen() { return frozen_.get(); }    // null when batch

 private:
  NormKind kind_;
  std::unique_ptr<BatchNorm2d> batch_;
  std::unique_ptr<FrozenBatchNorm2d> frozen_;
};

}  // namespace dr
