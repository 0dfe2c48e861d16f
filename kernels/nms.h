// Greedy non-maximum suppression over segments (one segment per image), mirroring
// torchvision.ops.nms: within a segment, boxes are visited in decreasing score, a box is
// kept unless an already kept box of the same segment (and same category, when
// categories are given: batched_nms) has IoU > iou_threshold with it.
//
// Tie rule (both backends): equal scores keep their input order (a stable descending
// sort), so the lower index is visited first. torchvision's CPU kernel sorts stably too;
// its CUDA kernel does not promise an order, so tests compare on tie-free scores.
// Scores must not be NaN; -0.0 and +0.0 count as equal on the CPU but the GPU's radix
// sort puts +0.0 first (irrelevant for real detector scores).
//
// IoU is kern::box_iou_pair (kernels/box.cuh), compared in double as torchvision's CPU
// kernel does (float IoU > double threshold).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

// boxes (K, 4), scores (K), cats (K) or null, offsets (S+1): segment s is rows
// [offsets[s], offsets[s+1]). kept gets the kept row indices segment by segment, each
// segment in decreasing score; counts (S) the number kept per segment.
template <class T>
void nms_segments_cpu(std::vector<int64_t>& kept, std::vector<int64_t>& counts, const T* boxes,
                      const T* scores, const int64_t* cats, const std::vector<int64_t>& offsets,
                      double iou_threshold);

#if DR_CUDA
// Device scratch memory for the duration of one call (the caller owns and frees it).
using ScratchFn = std::function<void*(size_t bytes)>;

// The same on the GPU, for all segments at once: one segmented sort, one IoU-bitmask
// launch over every segment (64x64 box tiles, one 64-bit word per row and column tile),
// one reduction launch (a warp per segment walks its rows in score order), one stream
// compaction. out_idx (device, capacity K) receives the kept indices in the same layout
// as the CPU's `kept`. Returns the per-segment counts: the one host synchronization,
// needed because the caller must know how many boxes survived.
std::vector<int64_t> nms_segments_cuda(int64_t* out_idx, const float* boxes, const float* scores,
                                       const int64_t* cats, const std::vector<int64_t>& offsets,
                                       double iou_threshold, const ScratchFn& scratch,
                                       cudaStream_t s);
#endif

}  // namespace dr::kern
