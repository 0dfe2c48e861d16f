// Launchers for training-target assignment (kernels/match.cuh). Argument order: outputs,
// inputs, sizes. All outputs are overwritten. The quality matrix q is (G, P): one row per
// ground-truth box, one column per prediction (anchor or proposal), G >= 1.
#pragma once
#include <cstdint>

#include "kernels/match.cuh"
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

// best_per_gt (G) <- q (G, P): each row's torch.max value (NaN-propagating, max_nan).
template <class T> void match_row_max_cpu(T* best_per_gt, const T* q, int64_t g, int64_t p);
// matches (P) <- q (G, P), best_per_gt (G) or null (no low-quality matches).
template <class T>
void match_predictions_cpu(int64_t* matches, const T* q, const T* best_per_gt, int64_t g,
                           int64_t p, T high, T low);
// labels (A), matched_boxes (A, 4) <- matches (A), gt (G, 4)
template <class T>
void anchor_targets_cpu(T* labels, T* matched_boxes, const int64_t* matches, const T* gt,
                        int64_t a);
// clamped (P), labels (P) <- matches (P), gt_labels (G)
void proposal_targets_cpu(int64_t* clamped, int64_t* labels, const int64_t* matches,
                          const int64_t* gt_labels, int64_t p);

#if DR_CUDA
void match_row_max_cuda(float* best_per_gt, const float* q, int64_t g, int64_t p, cudaStream_t s);
void match_predictions_cuda(int64_t* matches, const float* q, const float* best_per_gt, int64_t g,
                            int64_t p, float high, float low, cudaStream_t s);
void anchor_targets_cuda(float* labels, float* matched_boxes, const int64_t* matches,
                         const float* gt, int64_t a, cudaStream_t s);
void proposal_targets_cuda(int64_t* clamped, int64_t* labels, const int64_t* matches,
                           const int64_t* gt_labels, int64_t p, cudaStream_t s);
#endif

}  // namespace dr::kern
