// The two types that travel along the detection path, defined once below all their users
// (backbone, FPN, transform, RPN, anchors, RoI pooling, box post-processing, training).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nn/tensor.h"

namespace dr {

// Named feature maps in torchvision's OrderedDict order, highest resolution first: the
// FPN's {"0": P2, .., "3": P5, "pool": P6}, each (N, C, H_l, W_l). torchvision passes them
// as Dict[str, Tensor] from the backbone to the RPN and MultiScaleRoIAlign.
using FeatureMaps = std::vector<std::pair<std::string, Tensor>>;

// (height, width) in pixels of an image (or of a feature map's grid), as torchvision's
// ImageList.image_sizes and original_image_sizes hold them.
using ImageSize = std::pair<int64_t, int64_t>;

// The maps' tensors in order (torchvision's list(features.values())).
inline std::vector<Tensor> map_tensors(const FeatureMaps& maps) {
  std::vector<Tensor> out;
  out.reserve(maps.size());
  for (const auto& m : maps) out.push_back(m.second);
  return out;
}

}  // namespace dr
