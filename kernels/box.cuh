// Per-box math shared by the CPU loops and the CUDA kernels: area, IoU, clipping,
// size filter, BoxCoder encode/decode and grid anchors. Boxes are (x1, y1, x2, y2).
// Every formula keeps torchvision 0.14's operation order so f32 results match bitwise
// (up to the libm's exp/log rounding):
//   ops/boxes.py            box_area, _box_inter_union/box_iou, clip_boxes_to_image,
//                           remove_small_boxes, and csrc nms_kernel's IoU
//   models/detection/_utils.py   encode_boxes, BoxCoder.decode_single
//   models/detection/anchor_utils.py   AnchorGenerator.grid_anchors
#pragma once
#include <cmath>

#include "kernels/hd.cuh"

namespace dr::kern {

template <class T> HD T hd_max(T a, T b) { return a > b ? a : b; }
template <class T> HD T hd_min(T a, T b) { return a < b ? a : b; }
// Explicit f32/f64 overloads: host and device both call expf/logf for float (never the
// double version, which would round differently from torch's f32 kernels).
HD float hd_exp(float x) { return expf(x); }
HD double hd_exp(double x) { return exp(x); }
HD float hd_log(float x) { return logf(x); }
HD double hd_log(double x) { return log(x); }

// box_area: (x2 - x1) * (y2 - y1).
template <class T> HD T box_area(const T* b) { return (b[2] - b[0]) * (b[3] - b[1]); }

// box_iou for one pair: inter / (area_a + area_b - inter), intersection sides clamped at 0.
// The same expression as torchvision's nms kernel (inter / (iarea + areas[j] - inter)).
template <class T> HD T box_iou_areas(const T* a, const T* b, T area_a, T area_b) {
  T w = hd_max(hd_min(a[2], b[2]) - hd_max(a[0], b[0]), T(0));
  T h = hd_max(hd_min(a[3], b[3]) - hd_max(a[1], b[1]), T(0));
  T inter = w * h;
  return inter / (area_a + area_b - inter);
}
template <class T> HD T box_iou_pair(const T* a, const T* b) {
  return box_iou_areas(a, b, box_area(a), box_area(b));
}

// torch.clamp(x, lo, hi): NaN stays NaN.
template <class T> HD T hd_clamp(T x, T lo, T hi) { return x < lo ? lo : (x > hi ? hi : x); }

// clip_boxes_to_image: x to [0, width], y to [0, height].
template <class T> HD void clip_box(T* out, const T* b, T height, T width) {
  out[0] = hd_clamp(b[0], T(0), width);
  out[1] = hd_clamp(b[1], T(0), height);
  out[2] = hd_clamp(b[2], T(0), width);
  out[3] = hd_clamp(b[3], T(0), height);
}

// remove_small_boxes keeps a box when both sides are >= min_size.
template <class T> HD bool box_big_enough(const T* b, T min_size) {
  return (b[2] - b[0]) >= min_size && (b[3] - b[1]) >= min_size;
}

// BoxCoder weights (wx, wy, ww, wh) and the clamp on dw/dh before exp.
template <class T> struct CoderWeights {
  T wx, wy, ww, wh, clip;
};

// encode_boxes: the regression target of reference (ground-truth) box `ref` relative to
// `prop` (anchor/proposal), torchvision's +0 width convention (w = x2 - x1).
template <class T> HD void encode_box(T* out, const T* ref, const T* prop, CoderWeights<T> w) {
  T ex_w = prop[2] - prop[0], ex_h = prop[3] - prop[1];
  T ex_cx = prop[0] + T(0.5) * ex_w, ex_cy = prop[1] + T(0.5) * ex_h;
  T gt_w = ref[2] - ref[0], gt_h = ref[3] - ref[1];
  T gt_cx = ref[0] + T(0.5) * gt_w, gt_cy = ref[1] + T(0.5) * gt_h;
  out[0] = w.wx * (gt_cx - ex_cx) / ex_w;
  out[1] = w.wy * (gt_cy - ex_cy) / ex_h;
  out[2] = w.ww * hd_log(gt_w / ex_w);
  out[3] = w.wh * hd_log(gt_h / ex_h);
}

// BoxCoder.decode_single for one (box, code) pair; dw/dh clamped from above at w.clip
// (log(1000/16)) so exp cannot overflow. NaN codes stay NaN, as with torch.clamp.
template <class T> HD void decode_box(T* out, const T* code, const T* box, CoderWeights<T> w) {
  T width = box[2] - box[0], height = box[3] - box[1];
  T ctr_x = box[0] + T(0.5) * width, ctr_y = box[1] + T(0.5) * height;
  T dx = code[0] / w.wx, dy = code[1] / w.wy;
  T dw = code[2] / w.ww, dh = code[3] / w.wh;
  dw = w.clip < dw ? w.clip : dw;
  dh = w.clip < dh ? w.clip : dh;
  T pcx = dx * width + ctr_x, pcy = dy * height + ctr_y;
  T pw = hd_exp(dw) * width, ph = hd_exp(dh) * height;
  T half_w = T(0.5) * pw, half_h = T(0.5) * ph;
  out[0] = pcx - half_w;
  out[1] = pcy - half_h;
  out[2] = pcx + half_w;
  out[3] = pcy + half_h;
}

// grid_anchors: anchor k at feature cell (y, x) is the cell anchor shifted by the cell's
// integer offset (x*stride_w, y*stride_h); torchvision adds the integer shift to the
// float cell anchor, i.e. T(shift) + base.
template <class T>
HD void grid_anchor(T* out, const T* base, int64_t y, int64_t x, int64_t stride_h,
                    int64_t stride_w) {
  T sx = T(x * stride_w), sy = T(y * stride_h);
  out[0] = sx + base[0];
  out[1] = sy + base[1];
  out[2] = sx + base[2];
  out[3] = sy + base[3];
}

// resize_boxes: coordinates times the per-axis ratio new/original (f32 ratios in torch).
template <class T> HD void scale_box(T* out, const T* b, T ratio_h, T ratio_w) {
  out[0] = b[0] * ratio_w;
  out[1] = b[1] * ratio_h;
  out[2] = b[2] * ratio_w;
  out[3] = b[3] * ratio_h;
}

}  // namespace dr::kern
