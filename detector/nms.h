// Non-maximum suppression: torchvision 0.14 ops/boxes.py nms / batched_nms, and a
// segmented form that runs every image of a batch in one pass (kernels/nms.h has the
// algorithm, the tie rule and the one host synchronization on CUDA).
#pragma once
#include <vector>

#include "detector/segments.h"
#include "nn/context.h"
#include "nn/tensor.h"

namespace dr {

// torchvision.ops.nms: boxes (K, 4), scores (K) -> int64 indices (k) of the kept boxes in
// decreasing score. A box is suppressed by a kept, higher-scored box with IoU > threshold.
Tensor nms(Context& ctx, const Tensor& boxes, const Tensor& scores, double iou_threshold);

// torchvision.ops.batched_nms: as nms, but boxes only suppress boxes of the same category
// idxs (K, int64). Implemented by comparing categories inside NMS instead of
// torchvision's coordinate-offset trick: the same kept set (without the offsets' float
// rounding), still sorted by decreasing score over all categories.
Tensor batched_nms(Context& ctx, const Tensor& boxes, const Tensor& scores, const Tensor& idxs,
                   double iou_threshold);

// Several independent NMS problems at once, e.g. one per image of a batch. Segment s is
// rows [offsets[s], offsets[s+1]) of boxes/scores/idxs; idxs may be undefined (plain nms
// per segment). Result: kept row indices segment by segment, each segment in decreasing
// score, and the number kept per segment (SegmentedKeep: detector/segments.h).
SegmentedKeep batched_nms_segments(Context& ctx, const Tensor& boxes, const Tensor& scores,
                                   const Tensor& idxs, const std::vector<int64_t>& offsets,
                                   double iou_threshold);

}  // namespace dr
