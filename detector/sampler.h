// BalancedPositiveNegativeSampler of torchvision 0.14 models/detection/_utils.py: per
// image, a fixed-size batch of positive and negative training examples (anchors in the
// RPN, proposals in the RoI heads) drawn uniformly at random without replacement.
//
// The draw is on the host, from the Context's seeded Rng (reproducible for a seed); for
// CUDA labels, all images' labels are read back in one copy and the sampled indices go up
// in one copy (Context::copy synchronizes the stream for both: the step's one wait here). torchvision returns masks that its callers turn into
// ascending indices with torch.where; here the indices are returned directly, ascending.
#pragma once
#include <functional>
#include <vector>

#include "nn/context.h"

namespace dr {

struct SampledIndices {
  Tensor pos;   // int64 (num_pos) ascending: the sampled positives (label >= 1)
  Tensor neg;   // int64 (num_neg) ascending: the sampled negatives (label == 0)
  Tensor both;  // int64 (num_pos + num_neg) ascending: RoIHeads.subsample's where(pos | neg)
};

struct BalancedPositiveNegativeSampler {
  // rpn.py / faster_rcnn.py defaults: rpn_batch_size_per_image 256, rpn_positive_fraction
  // 0.5; box_batch_size_per_image 512, box_positive_fraction 0.25.
  static constexpr int64_t kRpnBatchSizePerImage = 256;
  static constexpr double kRpnPositiveFraction = 0.5;
  static constexpr int64_t kBoxBatchSizePerImage = 512;
  static constexpr double kBoxPositiveFraction = 0.25;

  // The indices chosen for one image, in any order (for a draw injected by a test).
  struct Draw {
    std::vector<int64_t> pos, neg;
  };
  // Replaces the random draw when set (parity tests replay the indices torchvision drew):
  // called with the image's index in the batch and its labels (a CPU tensor). What it
  // returns is checked: num_pos positives and num_neg negatives (the counts below), each
  // index once, in range and of the right kind; the Rng is not advanced.
  using DrawHook = std::function<Draw(int64_t image, const Tensor& labels)>;

  int64_t batch_size_per_image = 0;
  double positive_fraction = 0;
  DrawHook draw_hook;

  BalancedPositiveNegativeSampler(int64_t batch_size_per_image, double positive_fraction);
  static BalancedPositiveNegativeSampler rpn() {
    return {kRpnBatchSizePerImage, kRpnPositiveFraction};
  }
  static BalancedPositiveNegativeSampler roi_heads() {
    return {kBoxBatchSizePerImage, kBoxPositiveFraction};
  }

  // labels: one (N_i) tensor per image (f32/f64/int64; CUDA f32/int64), positives >= 1,
  // negatives == 0, anything else (-1) ignored. Per image, num_pos = min(int(B *
  // positive_fraction), #positives) and num_neg = min(B - num_pos, #negatives), chosen
  // as a prefix of a uniformly random permutation (positives first, then negatives,
  // image by image, from ctx.rng()). Results live on the labels' device.
  std::vector<SampledIndices> operator()(Context& ctx, const std::vector<Tensor>& labels) const;
};

}  // namespace dr
