// FastRCNNPredictor (torchvision faster_rcnn.FastRCNNPredictor): cls_score (K, classes)
// and bbox_pred (K, 4 * classes) from box-head features (K, C). The only class-dependent
// module: fine-tuning from COCO (91) to digits (11) re-initializes exactly this.
#pragma once
#include <memory>
#include <utility>

#include "nn/layers/linear.h"

namespace dr {

class FastRCNNPredictor : public Module {
 public:
  FastRCNNPredictor(Context& ctx, int64_t in_channels, int64_t num_classes);
  // x (K, C) or (K, C, 1, 1) -> {scores (K, classes), deltas (K, 4*classes)}
  std::pair<Tensor, Tensor> forward(Context& ctx, const Tensor& x);
  int64_t num_classes() const { return cls_score->weight.size(0); }

  std::unique_ptr<Linear> cls_score, bbox_pred;
};

}  // namespace dr
