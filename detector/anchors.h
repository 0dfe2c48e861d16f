// AnchorGenerator of torchvision 0.14 models/detection/anchor_utils.py. One set of
// sizes and aspect ratios (height / width) per feature level; anchors are laid out
// level by level, then feature row y, column x, then cell anchor (ratio-major, then
// size) exactly as torchvision, so RPN head outputs line up row for row.
#pragma once
#include <utility>
#include <vector>

#include "nn/context.h"
#include "nn/feature_maps.h"
#include "nn/tensor.h"

namespace dr {

struct AnchorGenerator {
  // fasterrcnn_resnet50_fpn(_v2)'s _default_anchorgen(): one size per FPN level.
  std::vector<std::vector<double>> sizes = {{32}, {64}, {128}, {256}, {512}};
  std::vector<std::vector<double>> aspect_ratios = {
      {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}};

  // len(sizes[l]) * len(aspect_ratios[l]) per level.
  std::vector<int64_t> num_anchors_per_location() const;
  // generate_anchors: (A_l, 4) f32 host tensor, round(+-(w, h) / 2) computed in f32 with
  // torch.round's half-to-even.
  Tensor cell_anchors(int level) const;
  // Anchors of one level: (fh * fw * A_l, 4) for a feature map (fh, fw) of a padded
  // batch (image_h, image_w); strides are image // feature per axis.
  Tensor grid_anchors(Context& ctx, int level, int64_t image_h, int64_t image_w, int64_t feat_h,
                      int64_t feat_w, DType dtype = DType::F32) const;
  // forward: all levels concatenated, (sum_l fh_l * fw_l * A_l, 4) on ctx's device. The
  // same for every image of the batch (torchvision returns one copy per image).
  Tensor forward(Context& ctx, int64_t image_h, int64_t image_w,
                 const std::vector<ImageSize>& feature_sizes,
                 DType dtype = DType::F32) const;
};

}  // namespace dr
