// CUDA top-n per level (kernels/topk.h).
#include <cub/device/device_segmented_radix_sort.cuh>

#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "kernels/topk.h"

namespace dr::kern {

namespace {

// Values for the sort: the index of each score within its image (0..A-1).
__global__ void image_iota_kernel(int64_t* v, int64_t total, int64_t a) {
  DR_GRID_LOOP(i, total) v[i] = i % a;
}

// out[img, koff_l + j] = sorted[img*A + off_l + j] for j < k_l; the level tables are small
// device arrays (L entries).
__global__ void gather_top_kernel(int64_t* out, const int64_t* sorted, int64_t n, int64_t a,
                                  int64_t ktot, const int64_t* level_off, const int64_t* level_koff,
                                  int levels) {
  DR_GRID_LOOP(i, n * ktot) {
    const int64_t img = i / ktot, j = i % ktot;
    int l = 0;
    while (l + 1 < levels && level_koff[l + 1] <= j) ++l;
    out[i] = sorted[img * a + level_off[l] + (j - level_koff[l])];
  }
}

}  // namespace

void top_n_per_level_cuda(int64_t* out, const float* scores, int64_t n,
                          const std::vector<int64_t>& level_sizes, int64_t top_n,
                          const TopkScratchFn& scratch, cudaStream_t s) {
  const int levels = static_cast<int>(level_sizes.size());
  int64_t a = 0, ktot = 0;
  std::vector<int64_t> tables(2 * levels);  // level offsets, then output offsets
  for (int l = 0; l < levels; ++l) {
    tables[l] = a;
    tables[levels + l] = ktot;
    a += level_sizes[l];
    ktot += std::min(top_n, level_sizes[l]);
  }
  const int64_t total = n * a;
  if (total == 0 || ktot == 0) return;
  DR_CHECK(total < (int64_t(1) << 31), "top_n_per_level: " << total << " scores exceed int32");
  const int segs = static_cast<int>(n * levels);
  std::vector<int> begin(segs), end(segs);
  for (int64_t img = 0; img < n; ++img)
    for (int l = 0; l < levels; ++l) {
      begin[img * levels + l] = static_cast<int>(img * a + tables[l]);
      end[img * levels + l] = static_cast<int>(img * a + tables[l] + level_sizes[l]);
    }
  auto* d_tables = static_cast<int64_t*>(scratch(sizeof(int64_t) * tables.size()));
  auto* d_begin = static_cast<int*>(scratch(sizeof(int) * segs));
  auto* d_end = static_cast<int*>(scratch(sizeof(int) * segs));
  CUDA_CHECK(cudaMemcpyAsync(d_tables, tables.data(), sizeof(int64_t) * tables.size(),
                             cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(d_begin, begin.data(), sizeof(int) * segs, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(d_end, end.data(), sizeof(int) * segs, cudaMemcpyHostToDevice, s));

  auto* vals_in = static_cast<int64_t*>(scratch(sizeof(int64_t) * total));
  auto* vals_out = static_cast<int64_t*>(scratch(sizeof(int64_t) * total));
  auto* keys_out = static_cast<float*>(scratch(sizeof(float) * total));
  image_iota_kernel<<<blocks_for(total), kThreads, 0, s>>>(vals_in, total, a);
  CUDA_CHECK_LAUNCH(s);
  size_t bytes = 0;
  CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      nullptr, bytes, scores, keys_out, vals_in, vals_out, (int)total, segs, d_begin, d_end, 0, 32, s));
  void* tmp = scratch(bytes);
  CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      tmp, bytes, scores, keys_out, vals_in, vals_out, (int)total, segs, d_begin, d_end, 0, 32, s));
  CUDA_CHECK_LAUNCH(s);
  // Segments are sorted in place, so level l of image img starts at img*A + off_l.
  gather_top_kernel<<<blocks_for(n * ktot), kThreads, 0, s>>>(out, vals_out, n, a, ktot, d_tables,
                                                              d_tables + levels, levels);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
