// CPU loops for kernels/roi_align.h. Forward: parallel over RoIs (disjoint outputs);
// backward: RoIs in order, channels in parallel (RoIs overlap, channels do not).
#include "kernels/roi_align.h"

namespace dr::kern {

namespace {
struct PlainAdd {
  template <class T> void operator()(T* p, T v) const { *p += v; }
};
}  // namespace

template <class T>
void roi_align_forward_cpu(T* out, const RoiLevels<T>& L, const T* rois, const RoiAlignArgs& a) {
  const int64_t C = a.channels, bins = int64_t(a.pooled_h) * a.pooled_w;
#pragma omp parallel for if (a.num_rois * C * bins > (1 << 15))
  for (int64_t k = 0; k < a.num_rois; ++k) {
    const T* roi = rois + 5 * k;
    const int l = roi_level(roi + 1, L);
    const int64_t H = L.height[l], W = L.width[l], b = static_cast<int64_t>(roi[0]);
    const RoiGeom<T> g = roi_geometry(roi + 1, L.scale[l], a.pooled_h, a.pooled_w,
                                      a.sampling_ratio, a.aligned);
    for (int64_t c = 0; c < C; ++c) {
      const T* plane = L.data[l] + (b * C + c) * H * W;
      T* o = out + (k * C + c) * bins;
      for (int ph = 0; ph < a.pooled_h; ++ph)
        for (int pw = 0; pw < a.pooled_w; ++pw)
          o[ph * a.pooled_w + pw] = roi_align_bin(plane, H, W, g, ph, pw);
    }
  }
}

template <class T>
void roi_align_backward_cpu(const RoiLevels<T>& L, const T* grad_out, const T* rois,
                            const RoiAlignArgs& a) {
  const int64_t C = a.channels, bins = int64_t(a.pooled_h) * a.pooled_w;
  for (int64_t k = 0; k < a.num_rois; ++k) {
    const T* roi = rois + 5 * k;
    const int l = roi_level(roi + 1, L);
    const int64_t H = L.height[l], W = L.width[l], b = static_cast<int64_t>(roi[0]);
    const RoiGeom<T> g = roi_geometry(roi + 1, L.scale[l], a.pooled_h, a.pooled_w,
                                      a.sampling_ratio, a.aligned);
#pragma omp parallel for if (C * bins > (1 << 14))
    for (int64_t c = 0; c < C; ++c) {
      T* plane = L.data[l] + (b * C + c) * H * W;
      const T* dy = grad_out + (k * C + c) * bins;
      for (int ph = 0; ph < a.pooled_h; ++ph)
        for (int pw = 0; pw < a.pooled_w; ++pw)
          roi_align_bin_backward(plane, H, W, g, ph, pw, dy[ph * a.pooled_w + pw], PlainAdd{});
    }
  }
}

template <class T>
void roi_levels_cpu(int64_t* level, const RoiLevels<T>& L, const T* rois, int64_t k) {
  for (int64_t i = 0; i < k; ++i) level[i] = roi_level(rois + 5 * i + 1, L);
}

template <class T> void make_rois_cpu(T* rois, const T* boxes, int64_t n, T batch_index) {
  for (int64_t i = 0; i < n; ++i) {
    rois[5 * i] = batch_index;
    for (int k = 0; k < 4; ++k) rois[5 * i + 1 + k] = boxes[4 * i + k];
  }
}

#define DR_ROI_INSTANTIATE(T)                                                                \
  template void roi_align_forward_cpu<T>(T*, const RoiLevels<T>&, const T*, const RoiAlignArgs&); \
  template void roi_align_backward_cpu<T>(const RoiLevels<T>&, const T*, const T*,           \
                                          const RoiAlignArgs&);                              \
  template void roi_levels_cpu<T>(int64_t*, const RoiLevels<T>&, const T*, int64_t);        \
  template void make_rois_cpu<T>(T*, const T*, int64_t, T);
DR_ROI_INSTANTIATE(float)
DR_ROI_INSTANTIATE(double)

}  // namespace dr::kern
