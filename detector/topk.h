// Proposal pre-selection of torchvision 0.14 rpn.py (_get_top_n_idx); see kernels/topk.h.
#pragma once
#include <vector>

#include "nn/context.h"
#include "nn/tensor.h"

namespace dr {

// objectness (N, A) with A = sum(num_anchors_per_level) -> int64 (N, sum_l min(top_n, A_l)):
// per image, each level's top indices (into A) in decreasing score, levels in order.
Tensor top_n_per_level(Context& ctx, const Tensor& objectness,
                       const std::vector<int64_t>& num_anchors_per_level, int64_t pre_nms_top_n);

}  // namespace dr
