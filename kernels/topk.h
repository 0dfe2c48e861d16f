// Top-n per feature level, the proposal pre-selection of torchvision 0.14
// models/detection/rpn.py RegionProposalNetwork._get_top_n_idx: for every image and
// level, the indices of the min(top_n, A_l) highest scores, in decreasing score.
// Tie rule (both backends): equal scores keep ascending index order (torch.topk leaves
// ties unspecified; tests use tie-free scores).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

// out (N, sum_l k_l) <- scores (N, A), level_sizes A_l (sum = A), k_l = min(top_n, A_l).
// out[n, koff_l + j] is an index into the A scores of image n (the level offset included).
template <class T>
void top_n_per_level_cpu(int64_t* out, const T* scores, int64_t n,
                         const std::vector<int64_t>& level_sizes, int64_t top_n);

#if DR_CUDA
using TopkScratchFn = std::function<void*(size_t bytes)>;
// One segmented radix sort over all (image, level) segments, then one gather.
void top_n_per_level_cuda(int64_t* out, const float* scores, int64_t n,
                          const std::vector<int64_t>& level_sizes, int64_t top_n,
                          const TopkScratchFn& scratch, cudaStream_t s);
#endif

}  // namespace dr::kern
