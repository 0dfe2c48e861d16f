// CPU NMS: torchvision's nms_kernel.cpp loop (stable sort by score, suppressed flags),
// applied per segment; see kernels/nms.h for the contract.
#include <algorithm>
#include <numeric>

#include "kernels/box.cuh"
#include "kernels/error.h"
#include "kernels/nms.h"

namespace dr::kern {

template <class T>
void nms_segments_cpu(std::vector<int64_t>& kept, std::vector<int64_t>& counts, const T* boxes,
                      const T* scores, const int64_t* cats, const std::vector<int64_t>& offsets,
                      double iou_threshold) {
  DR_CHECK(!offsets.empty(), "nms: segment offsets must have at least one entry");
  const size_t segs = offsets.size() - 1;
  kept.clear();
  counts.assign(segs, 0);
  std::vector<int64_t> order;
  std::vector<uint8_t> suppressed;
  std::vector<T> sorted, area;  // boxes and areas in score order: contiguous for the inner loop
  for (size_t s = 0; s < segs; ++s) {
    const int64_t lo = offsets[s], n = offsets[s + 1] - offsets[s];
    order.resize(n);
    std::iota(order.begin(), order.end(), lo);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
    sorted.resize(4 * n);
    area.resize(n);
    for (int64_t a = 0; a < n; ++a) {
      for (int k = 0; k < 4; ++k) sorted[4 * a + k] = boxes[4 * order[a] + k];
      area[a] = box_area(&sorted[4 * a]);
    }
    suppressed.assign(n, 0);
    for (int64_t a = 0; a < n; ++a) {
      if (suppressed[a]) continue;
      const int64_t i = order[a];
      kept.push_back(i);
      counts[s]++;
      const T* bi = &sorted[4 * a];
      for (int64_t b = a + 1; b < n; ++b) {
        if (suppressed[b] || (cats && cats[i] != cats[order[b]])) continue;
        if (double(box_iou_areas(bi, &sorted[4 * b], area[a], area[b])) > iou_threshold)
          suppressed[b] = 1;
      }
    }
  }
}

template void nms_segments_cpu<float>(std::vector<int64_t>&, std::vector<int64_t>&, const float*,
                                      const float*, const int64_t*, const std::vector<int64_t>&,
                                      double);
template void nms_segments_cpu<double>(std::vector<int64_t>&, std::vector<int64_t>&,
                                       const double*, const double*, const int64_t*,
                                       const std::vector<int64_t>&, double);

}  // namespace dr::kern
