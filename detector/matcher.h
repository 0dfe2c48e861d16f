// Matcher of torchvision 0.14 models/detection/_utils.py: assigns to every prediction
// (anchor or proposal) the ground-truth box it matches best, or a negative code. CPU
// (f32/f64) and CUDA (f32); the per-prediction math is kernels/match.cuh.
//
// Tie rule (both backends, as torch.max(dim=0) on the CPU): among ground truths of equal
// quality the smallest index wins; NaN counts as the largest value (the first NaN wins).
#pragma once
#include "kernels/match.cuh"
#include "nn/context.h"

namespace dr {

struct Matcher {
  static constexpr int64_t BELOW_LOW_THRESHOLD = kern::kBelowLowThreshold;  // -1
  static constexpr int64_t BETWEEN_THRESHOLDS = kern::kBetweenThresholds;    // -2
  // faster_rcnn.py FasterRCNN defaults: rpn_fg_iou_thresh 0.7, rpn_bg_iou_thresh 0.3
  // (rpn.py builds Matcher(fg, bg, allow_low_quality_matches=True)) and box_fg_iou_thresh
  // 0.5, box_bg_iou_thresh 0.5 (roi_heads.py: allow_low_quality_matches=False).
  static constexpr double kRpnFgIouThresh = 0.7, kRpnBgIouThresh = 0.3;
  static constexpr double kBoxFgIouThresh = 0.5, kBoxBgIouThresh = 0.5;

  double high_threshold = 0, low_threshold = 0;
  bool allow_low_quality_matches = false;

  // low_threshold <= high_threshold, as torchvision asserts.
  Matcher(double high, double low, bool allow_low_quality = false);
  static Matcher rpn() { return {kRpnFgIouThresh, kRpnBgIouThresh, true}; }
  static Matcher roi_heads() { return {kBoxFgIouThresh, kBoxBgIouThresh, false}; }

  // match_quality_matrix (G, P) (quality of gt g against prediction p, e.g. box_iou(gt,
  // anchors)) -> int64 (P): the matched gt index in [0, G), BELOW_LOW_THRESHOLD (quality
  // < low) or BETWEEN_THRESHOLDS (low <= quality < high). Thresholds compare in the
  // matrix's dtype, as torch does. With allow_low_quality_matches, every prediction whose
  // quality equals some gt's best quality (ties included) keeps its best match.
  // G = 0 or P = 0 is an error, as in torchvision (callers handle images without boxes).
  Tensor operator()(Context& ctx, const Tensor& match_quality_matrix) const;
};

}  // namespace dr
