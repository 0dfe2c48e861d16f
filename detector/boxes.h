// Box utilities of torchvision 0.14 ops/boxes.py and models/detection/_utils.py (BoxCoder),
// on CPU (f32/f64) and CUDA (f32). Boxes are (x1, y1, x2, y2) rows. No autograd: box
// targets and decoded proposals are not differentiated in Faster R-CNN, so every function
// here throws when it meets a tensor requiring a gradient while recording.
#pragma once
#include <cmath>

#include "nn/context.h"
#include "nn/tensor.h"

namespace dr {

// torchvision.ops.box_area: (N, 4) -> (N).
Tensor box_area(Context& ctx, const Tensor& boxes);
// torchvision.ops.box_iou: (N, 4), (M, 4) -> (N, M).
Tensor box_iou(Context& ctx, const Tensor& boxes1, const Tensor& boxes2);
// torchvision.ops.clip_boxes_to_image: (..., 4) -> same shape; x in [0, width], y in [0, height].
Tensor clip_boxes_to_image(Context& ctx, const Tensor& boxes, int64_t height, int64_t width);
// torchvision.ops.remove_small_boxes: (N, 4) -> int64 (K) indices, ascending, of the boxes
// whose both sides are >= min_size. On CUDA the count is read back (one host sync).
Tensor remove_small_boxes(Context& ctx, const Tensor& boxes, double min_size);
// models/detection/transform.py resize_boxes: (N, 4) boxes of an image of size
// (from_h, from_w) mapped to size (to_h, to_w); the ratios are f32 to/from as in torch.
Tensor resize_boxes(Context& ctx, const Tensor& boxes, int64_t from_h, int64_t from_w,
                    int64_t to_h, int64_t to_w);

// models/detection/_utils.py BoxCoder.
struct BoxCoder {
  // log(1000/16): the largest dw/dh fed to exp (BoxCoder's bbox_xform_clip default).
  static constexpr double kDefaultClip = 4.135166556742356;
  double wx = 1, wy = 1, ww = 1, wh = 1;
  double bbox_xform_clip = kDefaultClip;

  BoxCoder() = default;
  BoxCoder(double wx_, double wy_, double ww_, double wh_, double clip = kDefaultClip)
      : wx(wx_), wy(wy_), ww(ww_), wh(wh_), bbox_xform_clip(clip) {}
  static BoxCoder rpn() { return {1, 1, 1, 1}; }          // RegionProposalNetwork
  static BoxCoder roi_heads() { return {10, 10, 5, 5}; }  // RoIHeads

  // encode_single: regression targets (N, 4) of reference boxes (N, 4) (matched ground
  // truth) relative to proposals (N, 4) (anchors or proposals).
  Tensor encode(Context& ctx, const Tensor& reference_boxes, const Tensor& proposals) const;
  // decode: rel_codes (N, 4*C) (or (N, 4)) relative to boxes (N, 4) -> (N, C, 4): each of
  // the C class codes of row i is applied to box i (torchvision's decode reshapes so).
  Tensor decode(Context& ctx, const Tensor& rel_codes, const Tensor& boxes) const;
};

}  // namespace dr
