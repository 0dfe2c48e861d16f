// CPU NMS: torchvision's nms_kernel.cpp loop (stable sort by score, suppressed flags),
// applied per segment and category; see kernels/nms.h for the contract.
#include <algorithm>
#include <numeric>

#include "kernels/box.cuh"
#include "kernels/error.h"
#include "kernels/nms.h"

namespace dr::kern {

// Boxes of different categories never suppress each other, so each (segment, category)
// group is an NMS of its own: the groups run in parallel (the RPN's five levels of two to
// four images), and the inner loop meets only boxes of its group (the old loop skipped the
// other levels' boxes one by one: most of its iterations). A group's boxes stay in the
// segment's score order, so the kept set and its order equal the single greedy loop's.
template <class T>
void nms_segments_cpu(std::vector<int64_t>& kept, std::vector<int64_t>& counts, const T* boxes,
                      const T* scores, const int64_t* cats, const std::vector<int64_t>& offsets,
                      double iou_threshold) {
  DR_CHECK(!offsets.empty(), "nms: segment offsets must have at least one entry");
  const size_t segs = offsets.size() - 1;
  const int64_t total = offsets.back() - offsets.front();
  // rank: rows of each segment in decreasing score (stable), at the segment's place.
  std::vector<int64_t> rank(total);
  // grouped: the same positions (into rank) ordered by (segment, category, score rank).
  std::vector<int64_t> grouped(total);
  std::vector<int64_t> group_start;  // positions in `grouped`, plus the end
  for (size_t s = 0; s < segs; ++s) {
    const int64_t lo = offsets[s] - offsets.front(), n = offsets[s + 1] - offsets[s];
    int64_t* r = rank.data() + lo;
    std::iota(r, r + n, offsets[s]);
    std::stable_sort(r, r + n, [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
    int64_t* g = grouped.data() + lo;
    std::iota(g, g + n, lo);
    if (cats)
      std::stable_sort(g, g + n, [&](int64_t a, int64_t b) { return cats[rank[a]] < cats[rank[b]]; });
    for (int64_t a = 0; a < n; ++a)
      if (a == 0 || (cats && cats[rank[g[a]]] != cats[rank[g[a - 1]]]))
        group_start.push_back(lo + a);
  }
  group_start.push_back(total);
  std::vector<uint8_t> keep(total, 0);
  const int64_t groups = int64_t(group_start.size()) - 1;
#pragma omp parallel if (total > 512)
  {
    std::vector<T> box, area;  // the group's boxes in score order: contiguous inner loop
    std::vector<uint8_t> suppressed;
#pragma omp for schedule(dynamic)
    for (int64_t q = 0; q < groups; ++q) {
      const int64_t* g = grouped.data() + group_start[q];
      const int64_t n = group_start[q + 1] - group_start[q];
      box.resize(4 * n);
      area.resize(n);
      for (int64_t a = 0; a < n; ++a) {
        for (int k = 0; k < 4; ++k) box[4 * a + k] = boxes[4 * rank[g[a]] + k];
        area[a] = box_area(&box[4 * a]);
      }
      suppressed.assign(n, 0);
      for (int64_t a = 0; a < n; ++a) {
        if (suppressed[a]) continue;
        keep[g[a]] = 1;
        const T* bi = &box[4 * a];
        for (int64_t b = a + 1; b < n; ++b) {
          if (suppressed[b]) continue;
          if (double(box_iou_areas(bi, &box[4 * b], area[a], area[b])) > iou_threshold)
            suppressed[b] = 1;
        }
      }
    }
  }
  kept.clear();
  counts.assign(segs, 0);
  for (size_t s = 0; s < segs; ++s)
    for (int64_t p = offsets[s] - offsets.front(); p < offsets[s + 1] - offsets.front(); ++p)
      if (keep[p]) {
        kept.push_back(rank[p]);
        counts[s]++;
      }
}

template void nms_segments_cpu<float>(std::vector<int64_t>&, std::vector<int64_t>&, const float*,
                                      const float*, const int64_t*, const std::vector<int64_t>&,
                                      double);
template void nms_segments_cpu<double>(std::vector<int64_t>&, std::vector<int64_t>&,
                                       const double*, const double*, const int64_t*,
                                       const std::vector<int64_t>&, double);

}  // namespace dr::kern
