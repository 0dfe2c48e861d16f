// Training targets of one image: rpn.py RegionProposalNetwork.assign_targets_to_anchors
// and roi_heads.py RoIHeads.assign_targets_to_proposals of torchvision 0.14, per image
// (torchvision loops over images the same way; the RPN and RoI heads call these once per
// image). CPU (f32/f64) and CUDA (f32); the per-element math is kernels/match.cuh.
#pragma once
#include "detector/matcher.h"
#include "nn/context.h"

namespace dr {

struct AnchorTargets {
  Tensor labels;            // (A) in the anchors' dtype: 1 foreground, 0 background, -1 ignore
  Tensor matched_gt_boxes;  // (A, 4) gt[max(match, 0)]; all zeros when the image has no boxes
};

// anchors (A, 4), gt_boxes (G, 4) of one image -> labels and matched boxes, using
// box_iou(gt_boxes, anchors) as the quality and `matcher` (Matcher::rpn() in Faster
// R-CNN). G = 0 (a background image): labels and boxes all zeros, as torchvision.
// torchvision's labels are always float32; here they take the anchors' dtype (same
// values) so an f64 pipeline stays f64. A = 0 with G > 0 is the Matcher's error.
AnchorTargets assign_targets_to_anchors(Context& ctx, const Matcher& matcher, const Tensor& anchors,
                                        const Tensor& gt_boxes);

struct ProposalTargets {
  Tensor matched_idxs;  // int64 (P): matched gt index clamped at 0 (0 for unmatched)
  Tensor labels;        // int64 (P): gt_labels[matched], 0 background, -1 ignore
};

// proposals (P, 4), gt_boxes (G, 4), gt_labels int64 (G) of one image -> clamped matched
// indices and labels, using box_iou(gt_boxes, proposals) and `matcher`
// (Matcher::roi_heads() in Faster R-CNN). G = 0: both all zeros, as torchvision.
ProposalTargets assign_targets_to_proposals(Context& ctx, const Matcher& matcher,
                                            const Tensor& proposals, const Tensor& gt_boxes,
                                            const Tensor& gt_labels);

}  // namespace dr
