// CPU loops for kernels/roi_align.h. Forward: parallel over RoIs (disjoint outputs);
// backward: channels in parallel, RoIs in order inside (RoIs overlap, channels do not).
// Like torchvision's CPU kernel, the bilinear weights of a RoI's samples are computed
// once and reused for every channel; the arithmetic per sample is the GPU's
// (bilinear_at / bilinear_value, summed in the same order, divided by count).
#include <vector>

#include "kernels/roi_align.h"

namespace dr::kern {

namespace {

// Samples of every bin of one RoI, bin-major then (iy, ix), as roi_align_bin visits them.
template <class T>
void precompute_samples(std::vector<Bilinear<T>>& out, const RoiGeom<T>& g, int64_t H, int64_t W,
                        const RoiAlignArgs& a) {
  out.clear();
  for (int ph = 0; ph < a.pooled_h; ++ph)
    for (int pw = 0; pw < a.pooled_w; ++pw)
      for (int iy = 0; iy < g.grid_h; ++iy) {
        const T y = sample_y(g, ph, iy);
        for (int ix = 0; ix < g.grid_w; ++ix) out.push_back(bilinear_at(H, W, y, sample_x(g, pw, ix)));
      }
}

}  // namespace

template <class T>
void roi_align_forward_cpu(T* out, const RoiLevels<T>& L, const T* rois, const RoiAlignArgs& a) {
  const int64_t C = a.channels, bins = int64_t(a.pooled_h) * a.pooled_w;
#pragma omp parallel if (a.num_rois * C * bins > (1 << 15))
  {
    std::vector<Bilinear<T>> samples;
#pragma omp for
    for (int64_t k = 0; k < a.num_rois; ++k) {
      const T* roi = rois + 5 * k;
      const int l = roi_level(roi + 1, L);
      const int64_t H = L.height[l], W = L.width[l], b = static_cast<int64_t>(roi[0]);
      const RoiGeom<T> g = roi_geometry(roi + 1, L.scale[l], a.pooled_h, a.pooled_w,
                                        a.sampling_ratio, a.aligned);
      precompute_samples(samples, g, H, W, a);
      const int64_t per_bin = int64_t(g.grid_h) * g.grid_w;
      for (int64_t c = 0; c < C; ++c) {
        const T* plane = L.data[l] + (b * C + c) * H * W;
        T* o = out + (k * C + c) * bins;
        for (int64_t bin = 0; bin < bins; ++bin) {
          T acc = T(0);
          for (int64_t j = bin * per_bin; j < (bin + 1) * per_bin; ++j)
            if (samples[j].valid) acc += bilinear_value(plane, samples[j]);
          o[bin] = acc / g.count;
        }
      }
    }
  }
}

// Parallel over channels, with every RoI (in order) inside: each thread owns whole
// gradient planes, so nothing races, and each element sums its contributions in the same
// order as a serial loop over RoIs (the results do not depend on the thread count). The
// samples of all RoIs are computed first: a parallel region per RoI (256 channels x 49
// bins) was under the threshold and ran on one thread.
template <class T>
void roi_align_backward_cpu(const RoiLevels<T>& L, const T* grad_out, const T* rois,
                            const RoiAlignArgs& a) {
  const int64_t C = a.channels, bins = int64_t(a.pooled_h) * a.pooled_w;
  struct Roi {
    int level;
    int64_t batch, first;  // first: its samples' start in `samples`
    RoiGeom<T> g;
  };
  std::vector<Roi> todo;
  std::vector<Bilinear<T>> samples, one;
  for (int64_t k = 0; k < a.num_rois; ++k) {
    const T* roi = rois + 5 * k;
    const int l = roi_level(roi + 1, L);
    Roi r{l, static_cast<int64_t>(roi[0]), int64_t(samples.size()),
          roi_geometry(roi + 1, L.scale[l], a.pooled_h, a.pooled_w, a.sampling_ratio,
                       a.aligned)};
    if (!L.data[l]) r.level = -1;  // that level needs no gradient
    precompute_samples(one, r.g, L.height[l], L.width[l], a);
    samples.insert(samples.end(), one.begin(), one.end());
    todo.push_back(r);
  }
#pragma omp parallel for if (a.num_rois * C * bins > (1 << 14))
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t k = 0; k < a.num_rois; ++k) {
      const Roi& r = todo[k];
      if (r.level < 0) continue;
      const int64_t H = L.height[r.level], W = L.width[r.level];
      const int64_t per_bin = int64_t(r.g.grid_h) * r.g.grid_w;
      T* plane = L.data[r.level] + (r.batch * C + c) * H * W;
      const T* dy = grad_out + (k * C + c) * bins;
      const Bilinear<T>* smp = samples.data() + r.first;
      for (int64_t bin = 0; bin < bins; ++bin)
        for (int64_t j = bin * per_bin; j < (bin + 1) * per_bin; ++j) {
          const Bilinear<T>& s = smp[j];
          if (!s.valid) continue;
          // Same expressions as roi_align_bin_backward (dy * w / count).
          plane[s.o1] += dy[bin] * s.w1 / r.g.count;
          plane[s.o2] += dy[bin] * s.w2 / r.g.count;
          plane[s.o3] += dy[bin] * s.w3 / r.g.count;
          plane[s.o4] += dy[bin] * s.w4 / r.g.count;
        }
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
