// CUDA NMS over segments (kernels/nms.h): sort -> IoU bitmask -> greedy reduction ->
// compaction, each one launch for the whole batch of segments.
#include <cub/device/device_segmented_radix_sort.cuh>
#include <cub/device/device_select.cuh>

#include "kernels/box.cuh"
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "kernels/nms.h"

namespace dr::kern {

namespace {

constexpr int kTile = 64;  // boxes per mask word

// Per segment: first row, length, first mask word, mask words per row.
struct SegInfo {
  int64_t start, len, mask_off, words;
};

__global__ void iota_kernel(int64_t* v, int64_t n) {
  DR_GRID_LOOP(i, n) v[i] = i;
}

// Block (col tile, row tile, segment), 64 threads: thread r sets bit c of its row's word
// when sorted box (row_tile*64 + r) suppresses sorted box (col_tile*64 + c): c after r in
// score order, same category, IoU > threshold. Tiles left of the diagonal are never read.
__global__ void nms_mask_kernel(uint64_t* mask, const float* boxes, const int64_t* cats,
                                const int64_t* order, const SegInfo* segs, double thr) {
  const SegInfo sg = segs[blockIdx.z];
  const int64_t row_tile = blockIdx.y, col_tile = blockIdx.x;
  if (row_tile >= sg.words || col_tile >= sg.words || col_tile < row_tile) return;
  __shared__ float cbox[kTile * 4];
  __shared__ int64_t ccat[kTile];
  const int64_t col0 = col_tile * kTile;
  const int64_t ncol = sg.len - col0 < kTile ? sg.len - col0 : kTile;
  if (threadIdx.x < ncol) {
    const int64_t j = order[sg.start + col0 + threadIdx.x];
    for (int k = 0; k < 4; ++k) cbox[threadIdx.x * 4 + k] = boxes[4 * j + k];
    ccat[threadIdx.x] = cats ? cats[j] : 0;
  }
  __syncthreads();
  const int64_t r = row_tile * kTile + threadIdx.x;
  if (r >= sg.len) return;
  const int64_t i = order[sg.start + r];
  float rbox[4];
  for (int k = 0; k < 4; ++k) rbox[k] = boxes[4 * i + k];
  const int64_t rcat = cats ? cats[i] : 0;
  uint64_t bits = 0;
  for (int c = 0; c < ncol; ++c) {
    if (col0 + c <= r || ccat[c] != rcat) continue;
    if (double(box_iou_pair(rbox, cbox + 4 * c)) > thr) bits |= 1ull << c;
  }
  mask[sg.mask_off + r * sg.words + col_tile] = bits;
}

// One warp per segment walks the rows in score order; `removed` (shared, one bit per
// box) collects the rows of every kept box. keep[start + r] = 1 for kept sorted row r.
__global__ void nms_reduce_kernel(uint8_t* keep, int* counts, const uint64_t* mask,
                                  const SegInfo* segs) {
  extern __shared__ uint64_t removed[];
  const SegInfo sg = segs[blockIdx.x];
  for (int64_t w = threadIdx.x; w < sg.words; w += blockDim.x) removed[w] = 0;
  __syncwarp();
  int count = 0;
  for (int64_t r = 0; r < sg.len; ++r) {
    const bool is_removed = (removed[r / kTile] >> (r % kTile)) & 1ull;
    __syncwarp();
    if (is_removed) continue;
    // Row r never sets its own bit, so every lane read the same `is_removed` above.
    const uint64_t* row = mask + sg.mask_off + r * sg.words;
    for (int64_t w = r / kTile + threadIdx.x; w < sg.words; w += blockDim.x) removed[w] |= row[w];
    if (threadIdx.x == 0) keep[sg.start + r] = 1;
    ++count;
    __syncwarp();
  }
  if (threadIdx.x == 0) counts[blockIdx.x] = count;
}

}  // namespace

std::vector<int64_t> nms_segments_cuda(int64_t* out_idx, const float* boxes, const float* scores,
                                       const int64_t* cats, const std::vector<int64_t>& offsets,
                                       double iou_threshold, const ScratchFn& scratch,
                                       cudaStream_t s) {
  DR_CHECK(!offsets.empty(), "nms: segment offsets must have at least one entry");
  const int nseg = static_cast<int>(offsets.size() - 1);
  const int64_t total = offsets.back() - offsets.front();
  std::vector<int64_t> counts(nseg, 0);
  if (nseg == 0 || total == 0) return counts;
  DR_CHECK(offsets.front() == 0, "nms: segment offsets must start at 0, got " << offsets.front());
  DR_CHECK(total < (int64_t(1) << 31), "nms: " << total << " boxes exceed CUB's int32 sizes");

  // Host-side layout of the per-segment masks (sizes are known on the host).
  std::vector<SegInfo> info(nseg);
  std::vector<int> seg_begin(nseg + 1);
  int64_t mask_words = 0, max_words = 0;
  for (int i = 0; i < nseg; ++i) {
    const int64_t len = offsets[i + 1] - offsets[i];
    DR_CHECK(len >= 0, "nms: segment offsets must not decrease");
    const int64_t words = (len + kTile - 1) / kTile;
    info[i] = {offsets[i], len, mask_words, words};
    mask_words += len * words;
    max_words = std::max(max_words, words);
    seg_begin[i] = static_cast<int>(offsets[i]);
  }
  seg_begin[nseg] = static_cast<int>(total);
  DR_CHECK(max_words * 8 <= 48 * 1024,
           "nms: a segment of " << max_words * kTile << " boxes exceeds the 48 KiB shared bitmap");
  DR_CHECK(max_words <= 65535 && nseg <= 65535,
           "nms: " << nseg << " segments of up to " << max_words * kTile
                   << " boxes exceed the mask grid (65535 tiles/segments)");

  auto* d_info = static_cast<SegInfo*>(scratch(sizeof(SegInfo) * nseg));
  auto* d_begin = static_cast<int*>(scratch(sizeof(int) * (nseg + 1)));
  CUDA_CHECK(cudaMemcpyAsync(d_info, info.data(), sizeof(SegInfo) * nseg, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(d_begin, seg_begin.data(), sizeof(int) * (nseg + 1),
                             cudaMemcpyHostToDevice, s));

  // 1. Stable descending sort of the scores within each segment; order = row indices.
  auto* idx_in = static_cast<int64_t*>(scratch(sizeof(int64_t) * total));
  auto* order = static_cast<int64_t*>(scratch(sizeof(int64_t) * total));
  auto* sorted_scores = static_cast<float*>(scratch(sizeof(float) * total));
  iota_kernel<<<blocks_for(total), kThreads, 0, s>>>(idx_in, total);
  CUDA_CHECK_LAUNCH(s);
  size_t sort_bytes = 0;
  CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      nullptr, sort_bytes, scores, sorted_scores, idx_in, order, (int)total, nseg, d_begin,
      d_begin + 1, 0, 32, s));
  void* sort_tmp = scratch(sort_bytes);
  CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      sort_tmp, sort_bytes, scores, sorted_scores, idx_in, order, (int)total, nseg, d_begin,
      d_begin + 1, 0, 32, s));
  CUDA_CHECK_LAUNCH(s);

  // 2. IoU bitmask for every segment in one launch.
  auto* mask = static_cast<uint64_t*>(scratch(sizeof(uint64_t) * std::max<int64_t>(mask_words, 1)));
  dim3 grid((unsigned)max_words, (unsigned)max_words, (unsigned)nseg);
  nms_mask_kernel<<<grid, kTile, 0, s>>>(mask, boxes, cats, order, d_info, iou_threshold);
  CUDA_CHECK_LAUNCH(s);

  // 3. Greedy reduction, a warp per segment.
  auto* keep = static_cast<uint8_t*>(scratch(total));
  auto* d_counts = static_cast<int*>(scratch(sizeof(int) * (nseg + 1)));
  CUDA_CHECK(cudaMemsetAsync(keep, 0, total, s));
  nms_reduce_kernel<<<nseg, 32, max_words * sizeof(uint64_t), s>>>(keep, d_counts, mask, d_info);
  CUDA_CHECK_LAUNCH(s);

  // 4. Compaction in sorted order keeps each segment's survivors in decreasing score.
  size_t sel_bytes = 0;
  CUDA_CHECK(cub::DeviceSelect::Flagged(nullptr, sel_bytes, order, keep, out_idx,
                                        d_counts + nseg, (int)total, s));
  void* sel_tmp = scratch(sel_bytes);
  CUDA_CHECK(cub::DeviceSelect::Flagged(sel_tmp, sel_bytes, order, keep, out_idx, d_counts + nseg,
                                        (int)total, s));
  CUDA_CHECK_LAUNCH(s);

  std::vector<int> host_counts(nseg);
  CUDA_CHECK(cudaMemcpyAsync(host_counts.data(), d_counts, sizeof(int) * nseg,
                             cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  for (int i = 0; i < nseg; ++i) counts[i] = host_counts[i];
  return counts;
}

}  // namespace dr::kern
