// The RoI heads' training half: torchvision 0.14 roi_heads.py RoIHeads
// .select_training_samples (add_gt_proposals -> assign_targets_to_proposals -> subsample
// -> box_coder.encode) and fastrcnn_loss.
//   per image: proposals + the image's ground-truth boxes -> match (0.5 / 0.5) -> labels
//   (gt class, 0 background, -1 ignore) -> sample 512 RoIs, a quarter positive at most ->
//   the sampled proposals in ascending index order and their regression targets
//   (BoxCoder 10, 10, 5, 5)
//   loss_classifier = cross-entropy over the sampled RoIs (mean)
//   loss_box_reg = smooth-L1 (beta 1/9) of each positive's own-class box regression
//                  / #sampled RoIs
#pragma once
#include <vector>

#include "detector/boxes.h"
#include "detector/matcher.h"
#include "detector/sampler.h"

namespace dr {

// One image's training target, in the coordinates of the image the model sees.
struct Target {
  Tensor boxes;   // (G, 4) x1, y1, x2, y2 (G may be 0: an image without objects)
  Tensor labels;  // (G) int64 class ids 1..num_classes-1
};

struct TrainingSamples {
  std::vector<Tensor> proposals;  // per image (S_i, 4): the sampled proposals (no grad)
  std::vector<Tensor> with_gt;    // per image (P_i + G_i, 4): proposals + gt boxes
  std::vector<SampledIndices> sampled;  // per image, indices into with_gt
  Tensor labels;                  // (sum S_i) int64, image-major
  Tensor regression_targets;      // (sum S_i, 4)
};

// proposals: per image (P_i, 4), detached; targets: per image.
TrainingSamples select_training_samples(Context& ctx, const std::vector<Tensor>& proposals,
                                        const std::vector<Target>& targets, const Matcher& matcher,
                                        const BalancedPositiveNegativeSampler& sampler,
                                        const BoxCoder& box_coder);

struct FastRCNNLoss {
  Tensor loss_classifier;  // () scalar
  Tensor loss_box_reg;     // () scalar
};

// class_logits (K, C) and box_regression (K, 4 C) of the sampled RoIs (recording when
// they require grad); labels int64 (K); regression_targets (K, 4).
FastRCNNLoss fastrcnn_loss(Context& ctx, const Tensor& class_logits, const Tensor& box_regression,
                           const Tensor& labels, const Tensor& regression_targets);

}  // namespace dr
