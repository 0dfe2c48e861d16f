// CPU loops for kernels/box_segments.h.
#include "kernels/box_segments.h"

namespace dr::kern {

template <class T>
void clip_boxes_segments_cpu(T* out, const T* boxes, int64_t rows, int64_t per_row,
                             const int64_t* offsets, const T* sizes, int64_t segs) {
  for (int64_t s = 0; s < segs; ++s)
    for (int64_t r = offsets[s]; r < offsets[s + 1] && r < rows; ++r)
      for (int64_t k = 0; k < per_row; ++k)
        clip_box(out + (r * per_row + k) * 4, boxes + (r * per_row + k) * 4, sizes[2 * s],
                 sizes[2 * s + 1]);
}

template <class T>
void box_filter_cpu(uint8_t* keep, const T* boxes, const T* scores, int64_t n, T min_size, T thr,
                    bool strict) {
  for (int64_t i = 0; i < n; ++i)
    keep[i] = box_passes(boxes + 4 * i, scores ? scores + i : nullptr, min_size, thr, strict) ? 1 : 0;
}

template void clip_boxes_segments_cpu<float>(float*, const float*, int64_t, int64_t, const int64_t*,
                                             const float*, int64_t);
template void clip_boxes_segments_cpu<double>(double*, const double*, int64_t, int64_t,
                                              const int64_t*, const double*, int64_t);
template void box_filter_cpu<float>(uint8_t*, const float*, const float*, int64_t, float, float, bool);
template void box_filter_cpu<double>(uint8_t*, const double*, const double*, int64_t, double, double,
                                     bool);

}  // namespace dr::kern
