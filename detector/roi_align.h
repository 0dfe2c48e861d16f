// RoIAlign (torchvision 0.14 ops/roi_align.py) and MultiScaleRoIAlign (ops/poolers.py),
// forward and backward (to the features; RoIs get no gradient, as in torchvision), on
// CPU (f32/f64) and CUDA (f32). Math: kernels/roi_align.cuh.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "nn/context.h"
#include "nn/feature_maps.h"
#include "nn/tensor.h"

namespace dr {

// torchvision.ops.roi_align: input (N, C, H, W), rois (K, 5) rows (batch index, x1, y1,
// x2, y2) in image coordinates -> (K, C, pooled_h, pooled_w). sampling_ratio <= 0 is
// adaptive (ceil(roi size / pooled size) samples per bin side).
Tensor roi_align(Context& ctx, const Tensor& input, const Tensor& rois, int pooled_h, int pooled_w,
                 double spatial_scale, int sampling_ratio = -1, bool aligned = false);

// poolers.py LevelMapper parameters (FPN paper eq. 1).
struct LevelMapperConfig {
  int k_min = 2, k_max = 5;
  double canonical_scale = 224, canonical_level = 4, eps = 1e-6;
};

// The multi-level core: each RoI pools from feature level mapper(box) (features[l] is
// (N, C, H_l, W_l), scale[l] its spatial scale); with one level, plain roi_align.
// Backward reaches every feature that requires grad.
Tensor roi_align_levels(Context& ctx, const std::vector<Tensor>& features,
                        const std::vector<double>& scales, const Tensor& rois, int pooled_h,
                        int pooled_w, int sampling_ratio, bool aligned,
                        const LevelMapperConfig& mapper);

// LevelMapper: rois (K, 5) -> int64 (K) level index in [0, k_max - k_min].
Tensor map_levels(Context& ctx, const Tensor& rois, const LevelMapperConfig& mapper);

// _convert_to_roi_format: per-image boxes (k_i, 4) -> rois (sum k_i, 5).
Tensor boxes_to_rois(Context& ctx, const std::vector<Tensor>& boxes);

// torchvision.ops.MultiScaleRoIAlign as Faster R-CNN builds it: featmap names "0".."3",
// 7x7 output, sampling_ratio 2, canonical scale 224 / level 4.
struct MultiScaleRoIAlign {
  std::vector<std::string> featmap_names = {"0", "1", "2", "3"};
  int output_size = 7;
  int sampling_ratio = 2;
  double canonical_scale = 224, canonical_level = 4;

  // torchvision infers the scales and the LevelMapper on the first forward and keeps
  // them for every later call (MultiScaleRoIAlign.scales / .map_levels); so do we unless
  // cache_scales is false. The inferred scale can differ for tiny images (feature / image
  // ratio rounds to 2^-1 instead of 2^-2), so this matters for torch-equal results.
  bool cache_scales = true;

  // features: (name, (N, C, H_l, W_l)) in the backbone's order (only featmap_names are
  // used, in feature order, as _filter_input); boxes: per image (k_i, 4) in image
  // coordinates; image_sizes: per image (h, w) after the transform's resize.
  // -> (sum k_i, C, output_size, output_size).
  Tensor forward(Context& ctx, const FeatureMaps& features,
                 const std::vector<Tensor>& boxes,
                 const std::vector<ImageSize>& image_sizes);
  void reset_scales() { scales_.clear(); }

  // _setup_scales: the spatial scale of each used level, 2^round(log2(feature_h / max_h)),
  // and the LevelMapper (k_min = -log2(scale[0]), k_max = -log2(scale[-1])).
  std::pair<std::vector<double>, LevelMapperConfig> setup_scales(
      const std::vector<Tensor>& features,
      const std::vector<ImageSize>& image_sizes) const;

 private:
  std::vector<double> scales_;  // cached by the first forward (empty: not yet)
  LevelMapperConfig mapper_;
};

// _infer_scale for one dimension: 2 ** round(log2(float32(feature / original))).
double infer_scale(int64_t feature_size, int64_t original_size);

}  // namespace dr
