// Box heads applied to pooled RoI features (K, 256, 7, 7) -> (K, 1024):
//  - TwoMLPHead (v1): flatten, fc6 + ReLU, fc7 + ReLU  (torchvision faster_rcnn.TwoMLPHead)
//  - FastRCNNConvFCHead (v2): four Conv2dNormActivation(3x3, BatchNorm, ReLU) named
//    "0".."3", flatten ("4", no parameters), Linear "5" + ReLU
//    (torchvision faster_rcnn.FastRCNNConvFCHead with [256]*4 convs and [1024] fcs).
#pragma once
#include <memory>
#include <vector>

#include "nn/layers/conv_norm_act.h"
#include "nn/layers/linear.h"

namespace dr {

class BoxHead : public Module {
 public:
  virtual Tensor forward(Context& ctx, const Tensor& x) = 0;  // (K, C, P, P) -> (K, out)
  virtual int64_t out_channels() const = 0;
};

class TwoMLPHead : public BoxHead {
 public:
  TwoMLPHead(Context& ctx, int64_t in_channels, int64_t representation_size = 1024);
  Tensor forward(Context& ctx, const Tensor& x) override;
  int64_t out_channels() const override { return fc7->weight.size(0); }

  std::unique_ptr<Linear> fc6, fc7;
};

class FastRCNNConvFCHead : public BoxHead {
 public:
  // in: (channels, pool, pool) of the pooled features.
  FastRCNNConvFCHead(Context& ctx, int64_t channels, int pool, const std::vector<int64_t>& conv_layers,
                     const std::vector<int64_t>& fc_layers, NormKind norm = NormKind::BatchNorm);
  Tensor forward(Context& ctx, const Tensor& x) override;
  int64_t out_channels() const override { return out_channels_; }

 private:
  std::vector<std::unique_ptr<Conv2dNormActivation>> convs_;
  std::vector<std::unique_ptr<Linear>> fcs_;
  int64_t out_channels_;
};

}  // namespace dr
