// CPU loops for kernels/box.h; the math is in kernels/box.cuh.
#include "kernels/box.h"

namespace dr::kern {

template <class T> void box_area_cpu(T* out, const T* boxes, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = box_area(boxes + 4 * i);
}

template <class T> void box_iou_cpu(T* out, const T* a, int64_t n, const T* b, int64_t m) {
#pragma omp parallel for if (n * m > (1 << 16))
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) out[i * m + j] = box_iou_pair(a + 4 * i, b + 4 * j);
}

template <class T> void clip_boxes_cpu(T* out, const T* boxes, int64_t n, T height, T width) {
  for (int64_t i = 0; i < n; ++i) clip_box(out + 4 * i, boxes + 4 * i, height, width);
}

template <class T> void box_big_enough_cpu(uint8_t* keep, const T* boxes, int64_t n, T min_size) {
  for (int64_t i = 0; i < n; ++i) keep[i] = box_big_enough(boxes + 4 * i, min_size) ? 1 : 0;
}

template <class T>
void encode_boxes_cpu(T* out, const T* ref, const T* prop, int64_t n, CoderWeights<T> w) {
  for (int64_t i = 0; i < n; ++i) encode_box(out + 4 * i, ref + 4 * i, prop + 4 * i, w);
}

template <class T>
void decode_boxes_cpu(T* out, const T* codes, const T* boxes, int64_t n, int64_t c,
                      CoderWeights<T> w) {
#pragma omp parallel for if (n * c > (1 << 14))
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < c; ++k)
      decode_box(out + (i * c + k) * 4, codes + (i * c + k) * 4, boxes + 4 * i, w);
}

template <class T>
void grid_anchors_cpu(T* out, const T* base, int64_t a, int64_t h, int64_t w, int64_t stride_h,
                      int64_t stride_w) {
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < a; ++k)
        grid_anchor(out + ((y * w + x) * a + k) * 4, base + 4 * k, y, x, stride_h, stride_w);
}

template <class T> void scale_boxes_cpu(T* out, const T* boxes, int64_t n, T ratio_h, T ratio_w) {
  for (int64_t i = 0; i < n; ++i) scale_box(out + 4 * i, boxes + 4 * i, ratio_h, ratio_w);
}

#define DR_BOX_INSTANTIATE(T)                                                                 \
  template void box_area_cpu<T>(T*, const T*, int64_t);                                       \
  template void box_iou_cpu<T>(T*, const T*, int64_t, const T*, int64_t);                     \
  template void clip_boxes_cpu<T>(T*, const T*, int64_t, T, T);                               \
  template void box_big_enough_cpu<T>(uint8_t*, const T*, int64_t, T);                        \
  template void encode_boxes_cpu<T>(T*, const T*, const T*, int64_t, CoderWeights<T>);        \
  template void decode_boxes_cpu<T>(T*, const T*, const T*, int64_t, int64_t, CoderWeights<T>); \
  template void grid_anchors_cpu<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t); \
  template void scale_boxes_cpu<T>(T*, const T*, int64_t, T, T);
DR_BOX_INSTANTIATE(float)
DR_BOX_INSTANTIATE(double)

}  // namespace dr::kern
