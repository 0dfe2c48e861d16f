// RPNHead: torchvision.models.detection.rpn.RPNHead. conv_depth 1 (v1) or 2 (v2)
// Conv2dNormActivation(3x3, no norm, ReLU) blocks named conv.0, conv.1, then 1x1
// cls_logits (A channels) and bbox_pred (4A channels). Init as torchvision: weights
// N(0, 0.01), biases 0. Shared over all FPN levels.
#pragma once
#include <vector>

#include "nn/layers/conv_norm_act.h"

namespace dr {

class RPNHead : public Module {
 public:
  RPNHead(Context& ctx, int64_t in_channels, int64_t num_anchors, int conv_depth = 1);

  struct Output {
    std::vector<Tensor> objectness;  // per level (N, A, H, W)
    std::vector<Tensor> deltas;      // per level (N, 4A, H, W)
  };
  Output forward(Context& ctx, const std::vector<Tensor>& features);  // each (N, C, H, W)

  ModuleList conv;
  std::unique_ptr<Conv2d> cls_logits, bbox_pred;
};

}  // namespace dr
