// Batched box ops over images laid out as segments of one tensor: rows
// [offsets[s], offsets[s+1]) belong to image s (offsets on the host, offsets[0] = 0,
// offsets.back() = rows). Each runs one pass over the whole batch; where a result's size
// depends on the data, one host synchronization reads all the per-image counts at once.
#pragma once
#include <utility>
#include <vector>

#include "nn/context.h"
#include "nn/feature_maps.h"
#include "nn/tensor.h"

namespace dr {

// Row indices selected per segment: indices ascend within a segment for filters, and
// follow decreasing score for NMS; segments appear in order.
struct SegmentedKeep {
  Tensor indices;               // int64 (sum(counts)), on the boxes' device
  std::vector<int64_t> counts;  // (S), host
};

// clip_boxes_to_image per image: boxes (R, 4) or (R, C, 4), sizes (S) of (height, width).
Tensor clip_boxes_segments(Context& ctx, const Tensor& boxes, const std::vector<int64_t>& offsets,
                           const std::vector<ImageSize>& sizes);

// remove_small_boxes(min_size) and a score threshold in one filter: keeps rows of boxes
// (R, 4) with both sides >= min_size and, when scores (R) is defined, score >= thr
// (strict = false: rpn.filter_proposals) or score > thr (strict = true:
// roi_heads.postprocess_detections). Kept indices ascend within each segment.
SegmentedKeep filter_boxes_segments(Context& ctx, const Tensor& boxes, const Tensor& scores,
                                    const std::vector<int64_t>& offsets, double min_size,
                                    double thr, bool strict);

// Checks offsets (S + 1 entries, from 0 to rows, non-decreasing); `op` names the caller.
void check_segment_offsets(const char* op, const std::vector<int64_t>& offsets, int64_t rows);

}  // namespace dr
