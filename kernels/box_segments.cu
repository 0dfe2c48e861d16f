// CUDA launches for kernels/box_segments.h.
#include "kernels/box_segments.h"
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"

namespace dr::kern {

namespace {

__global__ void clip_segments_kernel(float* out, const float* boxes, int64_t rows, int64_t per_row,
                                     const int64_t* offsets, const float* sizes, int64_t segs) {
  DR_GRID_LOOP(i, rows * per_row) {
    const int64_t s = segment_of(offsets, segs, i / per_row);
    clip_box(out + 4 * i, boxes + 4 * i, sizes[2 * s], sizes[2 * s + 1]);
  }
}

__global__ void box_filter_kernel(uint8_t* keep, const float* boxes, const float* scores, int64_t n,
                                  float min_size, float thr, bool strict) {
  DR_GRID_LOOP(i, n)
  keep[i] = box_passes(boxes + 4 * i, scores ? scores + i : nullptr, min_size, thr, strict) ? 1 : 0;
}

// First position in sel[0, n) whose value is >= v (sel ascending).
__device__ int64_t lower_bound_dev(const int64_t* sel, int64_t n, int64_t v) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (sel[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

__global__ void segment_counts_kernel(int* counts, const int64_t* sel, const int* total,
                                      const int64_t* offsets, int64_t segs) {
  DR_GRID_LOOP(s, segs) {
    const int64_t n = *total;
    counts[s] = static_cast<int>(lower_bound_dev(sel, n, offsets[s + 1]) -
                                 lower_bound_dev(sel, n, offsets[s]));
  }
}

}  // namespace

void clip_boxes_segments_cuda(float* out, const float* boxes, int64_t rows, int64_t per_row,
                              const int64_t* offsets, const float* sizes, int64_t segs,
                              cudaStream_t s) {
  if (rows * per_row == 0 || segs == 0) return;
  clip_segments_kernel<<<blocks_for(rows * per_row), kThreads, 0, s>>>(out, boxes, rows, per_row,
                                                                       offsets, sizes, segs);
  CUDA_CHECK_LAUNCH(s);
}

void box_filter_cuda(uint8_t* keep, const float* boxes, const float* scores, int64_t n,
                     float min_size, float thr, bool strict, cudaStream_t s) {
  if (n == 0) return;
  box_filter_kernel<<<blocks_for(n), kThreads, 0, s>>>(keep, boxes, scores, n, min_size, thr, strict);
  CUDA_CHECK_LAUNCH(s);
}

void segment_counts_cuda(int* counts, const int64_t* sel, const int* total, const int64_t* offsets,
                         int64_t segs, cudaStream_t s) {
  if (segs == 0) return;
  segment_counts_kernel<<<blocks_for(segs), kThreads, 0, s>>>(counts, sel, total, offsets, segs);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
