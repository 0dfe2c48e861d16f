// The RPN's training losses: torchvision 0.14 rpn.py RegionProposalNetwork
// .assign_targets_to_anchors + box_coder.encode + .compute_loss.
//   per image: match anchors to ground truth (Matcher 0.7 / 0.3, low-quality matches
//   allowed) -> labels 1 / 0 / -1 and regression targets (BoxCoder 1, 1, 1, 1)
//   -> sample 256 anchors an image, half positive at most
//   loss_objectness = BCE-with-logits over the sampled anchors (mean)
//   loss_rpn_box_reg = smooth-L1 (beta 1/9) over the sampled positives / #sampled
// Gradients reach the head's objectness and deltas through the gathers.
#pragma once
#include <vector>

#include "detector/boxes.h"
#include "detector/matcher.h"
#include "detector/sampler.h"
#include "detector/target_assign.h"

namespace dr {

// rpn.py: smooth_l1_loss(..., beta=1 / 9) in compute_loss and fastrcnn_loss.
constexpr double kSmoothL1Beta = 1.0 / 9.0;

struct RPNLoss {
  Tensor loss_objectness;   // () scalar
  Tensor loss_rpn_box_reg;  // () scalar
  // What the losses were computed from (parity tests, debugging):
  std::vector<AnchorTargets> targets;        // per image: labels (A), matched gt boxes (A, 4)
  Tensor regression_targets;                 // (N * A, 4), image-major
  std::vector<SampledIndices> sampled;       // per image, indices into that image's anchors
};

// objectness (N, A) logits and deltas (N, A, 4) in anchor order (recording when they
// require grad); anchors (A, 4), the same for every image; gt_boxes: per image (G_i, 4)
// in the resized image's coordinates (G_i may be 0).
RPNLoss rpn_loss(Context& ctx, const Tensor& objectness, const Tensor& deltas,
                 const Tensor& anchors, const std::vector<Tensor>& gt_boxes,
                 const Matcher& matcher, const BalancedPositiveNegativeSampler& sampler,
                 const BoxCoder& box_coder);

// Per-image index lists (host int64 each) offset by image * rows_per_image and
// concatenated: torch.where(torch.cat(masks)) over images laid out image-major.
Tensor batch_indices(Context& ctx, const std::vector<Tensor>& per_image,
                     const std::vector<int64_t>& offsets, Device device);

}  // namespace dr
