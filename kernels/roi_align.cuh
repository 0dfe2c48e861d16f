// RoIAlign per-sample math shared by CPU and CUDA, mirroring torchvision 0.14's
// csrc/ops/cpu/roi_align_kernel.cpp and cuda/roi_align_kernel.cu (bilinear_interpolate,
// the bin/grid geometry, the aligned offset, count = max(grid_h*grid_w, 1)), plus
// ops/poolers.py's LevelMapper so one kernel pools every FPN level (MultiScaleRoIAlign)
// and the single-level roi_align is the one-level case.
#pragma once
#include <cmath>

#include "kernels/box.cuh"
#include "kernels/hd.cuh"

namespace dr::kern {

constexpr int kMaxRoiLevels = 8;

HD float hd_sqrt(float x) { return sqrtf(x); }
HD double hd_sqrt(double x) { return sqrt(x); }
HD float hd_log2(float x) { return log2f(x); }
HD double hd_log2(double x) { return log2(x); }
HD float hd_floor(float x) { return floorf(x); }
HD double hd_floor(double x) { return floor(x); }
HD float hd_ceil(float x) { return ceilf(x); }
HD double hd_ceil(double x) { return ceil(x); }

// The pooled feature maps, all (N, C, height[l], width[l]), and how RoIs pick one.
// For the backward pass `data` points at the gradient buffers instead.
template <class T> struct RoiLevels {
  T* data[kMaxRoiLevels];
  int64_t height[kMaxRoiLevels], width[kMaxRoiLevels];
  T scale[kMaxRoiLevels];  // spatial_scale per level
  int n = 1;               // levels; 1 = plain roi_align, no level mapping
  // LevelMapper(k_min, k_max, canonical_scale, canonical_level, eps)
  int k_min = 2, k_max = 5;
  T canonical_scale = T(224), canonical_level = T(4), eps = T(1e-6);
};

// LevelMapper for one box (x1, y1, x2, y2) in image coordinates:
// floor(lvl0 + log2(sqrt(area) / s0) + eps), clamped to [k_min, k_max], minus k_min.
template <class T> HD int roi_level(const T* box, const RoiLevels<T>& L) {
  if (L.n == 1) return 0;
  T s = hd_sqrt(box_area(box));
  T lvl = hd_floor(L.canonical_level + hd_log2(s / L.canonical_scale) + L.eps);
  lvl = hd_min(hd_max(lvl, T(L.k_min)), T(L.k_max));
  return static_cast<int>(lvl) - L.k_min;
}

// Where the samples of one RoI lie on its level's feature map.
template <class T> struct RoiGeom {
  T start_h, start_w, bin_h, bin_w;
  int grid_h, grid_w;
  T count;  // samples per bin, at least 1
};

// roi: (x1, y1, x2, y2) in image coordinates. sampling_ratio <= 0: adaptive grid
// ceil(roi size / pooled size). aligned=False (torchvision's default for Faster R-CNN)
// forces the RoI to at least 1x1 feature cells.
template <class T>
HD RoiGeom<T> roi_geometry(const T* roi, T scale, int ph_out, int pw_out, int sampling_ratio,
                           bool aligned) {
  RoiGeom<T> g;
  const T offset = aligned ? T(0.5) : T(0);
  g.start_w = roi[0] * scale - offset;
  g.start_h = roi[1] * scale - offset;
  T end_w = roi[2] * scale - offset, end_h = roi[3] * scale - offset;
  T roi_w = end_w - g.start_w, roi_h = end_h - g.start_h;
  if (!aligned) {
    roi_w = hd_max(roi_w, T(1));
    roi_h = hd_max(roi_h, T(1));
  }
  g.bin_h = roi_h / T(ph_out);
  g.bin_w = roi_w / T(pw_out);
  g.grid_h = sampling_ratio > 0 ? sampling_ratio : static_cast<int>(hd_ceil(roi_h / T(ph_out)));
  g.grid_w = sampling_ratio > 0 ? sampling_ratio : static_cast<int>(hd_ceil(roi_w / T(pw_out)));
  int c = g.grid_h * g.grid_w;
  g.count = T(c > 1 ? c : 1);
  return g;
}

// Sample positions inside bin (ph, pw): torchvision's exact expression order.
template <class T> HD T sample_y(const RoiGeom<T>& g, int ph, int iy) {
  return g.start_h + T(ph) * g.bin_h + T(iy + .5f) * g.bin_h / T(g.grid_h);
}
template <class T> HD T sample_x(const RoiGeom<T>& g, int pw, int ix) {
  return g.start_w + T(pw) * g.bin_w + T(ix + .5f) * g.bin_w / T(g.grid_w);
}

// Bilinear weights of one sample: four plane offsets and weights; valid = false outside
// [-1, H] x [-1, W] (the sample then contributes 0 and gets no gradient).
template <class T> struct Bilinear {
  int64_t o1, o2, o3, o4;
  T w1, w2, w3, w4;
  bool valid;
};

template <class T> HD Bilinear<T> bilinear_at(int64_t height, int64_t width, T y, T x) {
  Bilinear<T> b{};
  if (y < T(-1) || y > T(height) || x < T(-1) || x > T(width)) {
    b.valid = false;
    return b;
  }
  b.valid = true;
  if (y <= T(0)) y = T(0);
  if (x <= T(0)) x = T(0);
  int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x), y_high, x_high;
  if (y_low >= height - 1) {
    y_high = y_low = height - 1;
    y = T(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= width - 1) {
    x_high = x_low = width - 1;
    x = T(x_low);
  } else {
    x_high = x_low + 1;
  }
  T ly = y - T(y_low), lx = x - T(x_low);
  T hy = T(1) - ly, hx = T(1) - lx;
  b.w1 = hy * hx;
  b.w2 = hy * lx;
  b.w3 = ly * hx;
  b.w4 = ly * lx;
  b.o1 = y_low * width + x_low;
  b.o2 = y_low * width + x_high;
  b.o3 = y_high * width + x_low;
  b.o4 = y_high * width + x_high;
  return b;
}

// The interpolated value of one valid sample.
template <class T> HD T bilinear_value(const T* plane, const Bilinear<T>& b) {
  return b.w1 * plane[b.o1] + b.w2 * plane[b.o2] + b.w3 * plane[b.o3] + b.w4 * plane[b.o4];
}

// One output value: the average of the bin's grid_h x grid_w bilinear samples.
// plane: (H, W) feature plane of the RoI's image and channel.
template <class T>
HD T roi_align_bin(const T* plane, int64_t height, int64_t width, const RoiGeom<T>& g, int ph,
                   int pw) {
  T acc = T(0);
  for (int iy = 0; iy < g.grid_h; ++iy) {
    const T y = sample_y(g, ph, iy);
    for (int ix = 0; ix < g.grid_w; ++ix) {
      Bilinear<T> b = bilinear_at(height, width, y, sample_x(g, pw, ix));
      if (!b.valid) continue;
      acc += bilinear_value(plane, b);
    }
  }
  return acc / g.count;
}

// Backward of roi_align_bin: scatters dy * w / count into the plane's gradient through
// add(ptr, value) (a plain += on the CPU, atomicAdd on the GPU). Accumulates.
template <class T, class Add>
HD void roi_align_bin_backward(T* grad_plane, int64_t height, int64_t width, const RoiGeom<T>& g,
                               int ph, int pw, T dy, Add add) {
  for (int iy = 0; iy < g.grid_h; ++iy) {
    const T y = sample_y(g, ph, iy);
    for (int ix = 0; ix < g.grid_w; ++ix) {
      Bilinear<T> b = bilinear_at(height, width, y, sample_x(g, pw, ix));
      if (!b.valid) continue;
      add(grad_plane + b.o1, dy * b.w1 / g.count);
      add(grad_plane + b.o2, dy * b.w2 / g.count);
      add(grad_plane + b.o3, dy * b.w3 / g.count);
      add(grad_plane + b.o4, dy * b.w4 / g.count);
    }
  }
}

}  // namespace dr::kern
