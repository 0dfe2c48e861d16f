// Box ops over a batch of images laid out as segments: rows [offsets[s], offsets[s+1])
// of a box tensor belong to image s. One launch covers every image (no per-image host
// round trip). Per-box math is kernels/box.cuh.
#pragma once
#include <cstdint>

#include "kernels/box.cuh"
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

// The segment s with offsets[s] <= row < offsets[s+1] (offsets ascending, segs + 1 entries;
// empty segments are skipped).
HD int64_t segment_of(const int64_t* offsets, int64_t segs, int64_t row) {
  int64_t lo = 0, hi = segs;  // answer in [lo, hi)
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    if (offsets[mid] <= row) lo = mid;
    else hi = mid;
  }
  return lo;
}

// remove_small_boxes and the score threshold in one test: both sides >= min_size and
// score >= thr (RPN's filter_proposals) or score > thr when strict (RoIHeads'
// postprocess_detections). scores may be null (no score test).
template <class T>
HD bool box_passes(const T* box, const T* score, T min_size, T thr, bool strict) {
  if (!box_big_enough(box, min_size)) return false;
  if (!score) return true;
  return strict ? *score > thr : *score >= thr;
}

// out (rows, per_row, 4) <- boxes (rows, per_row, 4) clipped to the (height, width) of the
// row's segment; sizes (segs, 2).
template <class T>
void clip_boxes_segments_cpu(T* out, const T* boxes, int64_t rows, int64_t per_row,
                             const int64_t* offsets, const T* sizes, int64_t segs);
template <class T>
void box_filter_cpu(uint8_t* keep, const T* boxes, const T* scores, int64_t n, T min_size, T thr,
                    bool strict);

#if DR_CUDA
// offsets (segs + 1) and sizes (segs, 2) are device arrays.
void clip_boxes_segments_cuda(float* out, const float* boxes, int64_t rows, int64_t per_row,
                              const int64_t* offsets, const float* sizes, int64_t segs,
                              cudaStream_t s);
void box_filter_cuda(uint8_t* keep, const float* boxes, const float* scores, int64_t n,
                     float min_size, float thr, bool strict, cudaStream_t s);
// counts[s] = how many of the ascending row indices sel[0 .. *total) fall in segment s
// (device arrays; one thread per segment, two binary searches).
void segment_counts_cuda(int* counts, const int64_t* sel, const int* total, const int64_t* offsets,
                         int64_t segs, cudaStream_t s);
#endif

}  // namespace dr::kern
