// Anchor suggestion from box sizes: k-means over (w, h) with distance 1 - IoU of
// centre-aligned boxes (darknet's calc_anchors idea), turned into the RPN's settings
// (torchvision AnchorGenerator: one size per FPN level, aspect ratios h/w shared by levels).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dr::data {

struct AnchorSuggestion {
  std::vector<std::pair<float, float>> clusters;  // (w, h), sorted by area
  float mean_iou = 0;                             // mean best IoU of a box with a cluster
  std::vector<int> sizes;                         // sqrt(w h) per cluster, rounded
  std::vector<float> aspect_ratios;               // h / w at the 10/50/90 % quantiles
  std::string torchvision() const;  // "sizes=((16,), (32,), ...), aspect_ratios=((1.2, 1.6, 2.2),) * 5"
  std::string flags() const;        // "--anchor-sizes 16,32,... --aspect-ratios 1.2,1.6,2.2"
};

// wh: box sizes (already in the model's input scale). Deterministic for a seed.
AnchorSuggestion suggest_anchors(const std::vector<std::pair<float, float>>& wh, int k,
                                 uint64_t seed = 0, int iterations = 100);

// torchvision GeneralizedRCNNTransform's resize factor for an image (min_size/max_size).
float transform_scale(int h, int w, float min_size, float max_size);

}  // namespace dr::data
