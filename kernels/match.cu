// CUDA launches for kernels/match.h. The row maxima are one block per ground-truth row
// (cub::BlockReduce with max_nan, whose value does not depend on the reduction order:
// ties are equal values and every NaN compares unequal); everything else is one thread
// per prediction, reading q column-wise (coalesced across threads).
#include <cub/block/block_reduce.cuh>
#include <cuda/std/limits>

#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "kernels/match.h"

namespace dr::kern {

namespace {

constexpr int kRowThreads = 256;
using BlockMax = cub::BlockReduce<float, kRowThreads>;

struct MaxNan {
  __device__ float operator()(float a, float b) const { return max_nan(a, b); }
};

__global__ void __launch_bounds__(kRowThreads)
    match_row_max_kernel(float* best_per_gt, const float* q, int64_t g, int64_t p) {
  __shared__ typename BlockMax::TempStorage tmp;
  for (int64_t row = blockIdx.x; row < g; row += gridDim.x) {
    float m = -cuda::std::numeric_limits<float>::infinity();
    for (int64_t j = threadIdx.x; j < p; j += blockDim.x) m = max_nan(m, q[row * p + j]);
    const float r = BlockMax(tmp).Reduce(m, MaxNan());
    if (threadIdx.x == 0) best_per_gt[row] = r;
    __syncthreads();  // tmp is reused by the next row
  }
}

__global__ void match_predictions_kernel(int64_t* matches, const float* q,
                                         const float* best_per_gt, int64_t g, int64_t p,
                                         float high, float low) {
  DR_GRID_LOOP(j, p) matches[j] = match_prediction(q, g, p, j, best_per_gt, high, low);
}

__global__ void anchor_targets_kernel(float* labels, float* matched_boxes, const int64_t* matches,
                                      const float* gt, int64_t a) {
  DR_GRID_LOOP(i, a) anchor_target(labels + i, matched_boxes + 4 * i, matches[i], gt);
}

__global__ void proposal_targets_kernel(int64_t* clamped, int64_t* labels, const int64_t* matches,
                                        const int64_t* gt_labels, int64_t p) {
  DR_GRID_LOOP(i, p) proposal_target(clamped + i, labels + i, matches[i], gt_labels);
}

}  // namespace

void match_row_max_cuda(float* best_per_gt, const float* q, int64_t g, int64_t p, cudaStream_t s) {
  if (g == 0) return;
  const unsigned blocks = static_cast<unsigned>(g < 65535 ? g : 65535);
  match_row_max_kernel<<<blocks, kRowThreads, 0, s>>>(best_per_gt, q, g, p);
  CUDA_CHECK_LAUNCH(s);
}

void match_predictions_cuda(int64_t* matches, const float* q, const float* best_per_gt, int64_t g,
                            int64_t p, float high, float low, cudaStream_t s) {
  if (p == 0) return;
  match_predictions_kernel<<<blocks_for(p), kThreads, 0, s>>>(matches, q, best_per_gt, g, p, high,
                                                             low);
  CUDA_CHECK_LAUNCH(s);
}

void anchor_targets_cuda(float* labels, float* matched_boxes, const int64_t* matches,
                         const float* gt, int64_t a, cudaStream_t s) {
  if (a == 0) return;
  anchor_targets_kernel<<<blocks_for(a), kThreads, 0, s>>>(labels, matched_boxes, matches, gt, a);
  CUDA_CHECK_LAUNCH(s);
}

void proposal_targets_cuda(int64_t* clamped, int64_t* labels, const int64_t* matches,
                           const int64_t* gt_labels, int64_t p, cudaStream_t s) {
  if (p == 0) return;
  proposal_targets_kernel<<<blocks_for(p), kThreads, 0, s>>>(clamped, labels, matches, gt_labels,
                                                             p);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
