// Per-element math of training-target assignment (torchvision 0.14
// models/detection/_utils.py Matcher, rpn.py assign_targets_to_anchors, roi_heads.py
// assign_targets_to_proposals), shared by the CPU loops (match_cpu.cpp) and the CUDA
// kernels (match.cu). No arithmetic happens here, only comparisons and copies, so the two
// backends agree exactly on the same quality matrix.
//
// Ties and NaN, as torch.max(dim) on the CPU (torch 1.13) picks them:
//  - the maximum's index is the FIRST (smallest) index holding the maximum value;
//  - NaN counts as larger than every number, so the first NaN wins.
// (IoU is NaN only for a zero-area box against a zero-area box that it does not touch,
// which GeneralizedRCNN's target checks rule out for ground truth.)
#pragma once
#include <cstdint>

#include "kernels/hd.cuh"

namespace dr::kern {

// Matcher.BELOW_LOW_THRESHOLD / BETWEEN_THRESHOLDS.
constexpr int64_t kBelowLowThreshold = -1;
constexpr int64_t kBetweenThresholds = -2;

// True when v replaces best as the running maximum of torch.max: v > best, or v is the
// first NaN. Equal values never replace, so the first index among ties is kept.
template <class T> HD bool max_beats(T v, T best) { return v > best || (v != v && best == best); }
// NaN-propagating max (torch.max's value): the reduction identity is -inf.
template <class T> HD T max_nan(T a, T b) { return max_beats(b, a) ? b : a; }

// Matcher.__call__ for prediction p of q (G, P) (G >= 1): the best gt index by the tie
// rule above, then BELOW_LOW_THRESHOLD (best < low) or BETWEEN_THRESHOLDS (low <= best <
// high). When best_per_gt (G) is given (allow_low_quality_matches: each gt's maximum over
// all predictions, max_nan), prediction p gets its argmax back if its quality equals some
// gt's maximum (set_low_quality_matches_: every prediction in `torch.where(q ==
// highest_quality_foreach_gt[:, None])`, ties included). Thresholds are compared in T as
// torch compares a tensor with a Python scalar (0.7f, not 0.7, for f32).
template <class T>
HD int64_t match_prediction(const T* q, int64_t g_count, int64_t p_count, int64_t p,
                            const T* best_per_gt, T high, T low) {
  T best = q[p];
  int64_t arg = 0;
  for (int64_t g = 1; g < g_count; ++g) {
    const T v = q[g * p_count + p];
    if (max_beats(v, best)) {
      best = v;
      arg = g;
    }
  }
  int64_t m = arg;
  if (best < low)
    m = kBelowLowThreshold;
  else if (best < high)  // best >= low here unless NaN, and NaN < high is false
    m = kBetweenThresholds;
  if (best_per_gt && m < 0)
    for (int64_t g = 0; g < g_count; ++g)
      if (q[g * p_count + p] == best_per_gt[g]) return arg;
  return m;
}

// rpn.assign_targets_to_anchors for one anchor with matched index m (G >= 1): label 1
// (m >= 0), 0 (BELOW_LOW_THRESHOLD), -1 (BETWEEN_THRESHOLDS); the matched box is
// gt[max(m, 0)] (torchvision clamps before indexing, so unmatched anchors carry gt 0).
template <class T> HD T anchor_label(int64_t m) {
  return m >= 0 ? T(1) : (m == kBelowLowThreshold ? T(0) : T(-1));
}
template <class T> HD void anchor_target(T* label, T* matched_box, int64_t m, const T* gt) {
  *label = anchor_label<T>(m);
  const T* b = gt + 4 * (m > 0 ? m : 0);
  matched_box[0] = b[0];
  matched_box[1] = b[1];
  matched_box[2] = b[2];
  matched_box[3] = b[3];
}

// roi_heads.assign_targets_to_proposals for one proposal with matched index m (G >= 1):
// the clamped index max(m, 0) and the label gt_labels[clamped], 0 for
// BELOW_LOW_THRESHOLD, -1 for BETWEEN_THRESHOLDS.
HD void proposal_target(int64_t* clamped, int64_t* label, int64_t m, const int64_t* gt_labels) {
  const int64_t c = m > 0 ? m : 0;
  *clamped = c;
  *label = m == kBelowLowThreshold ? 0 : (m == kBetweenThresholds ? -1 : gt_labels[c]);
}

}  // namespace dr::kern
