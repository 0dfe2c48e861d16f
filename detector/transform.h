// GeneralizedRCNNTransform of torchvision 0.14 models/detection/transform.py: normalize
// with ImageNet mean/std, resize by the min_size/max_size rule (bilinear,
// align_corners=False), batch with zero padding to a multiple of size_divisible, and map
// predicted boxes back to each original image.
#pragma once
#include <utility>
#include <vector>

#include "nn/context.h"
#include "nn/feature_maps.h"
#include "nn/tensor.h"

namespace dr {

// torchvision's ImageList: the padded batch and each image's size after resizing.
struct ImageList {
  Tensor tensors;                       // (N, C, H_pad, W_pad)
  std::vector<ImageSize> image_sizes;   // (h_i, w_i) after resize, before padding
};

struct GeneralizedRCNNTransform {
  // fasterrcnn_resnet50_fpn defaults; digit images want smaller values (configurable).
  // Training picks one of min_sizes at random per image; eval uses the last one.
  std::vector<int64_t> min_sizes = {800};
  int64_t max_size = 1333;
  std::vector<double> image_mean = {0.485, 0.456, 0.406};  // ImageNet
  std::vector<double> image_std = {0.229, 0.224, 0.225};
  int64_t size_divisible = 32;
  bool training = false;

  // The size _resize_image_and_masks produces for an (h, w) image at target min_size:
  // scale = min(min_size / min(h, w), max_size / max(h, w)) in f32 (torch computes
  // reciprocal(side) * size), then interpolate(recompute_scale_factor=True) takes
  // floor(side * scale) in double.
  ImageSize resized_size(int64_t h, int64_t w, int64_t min_size) const;
  // (C, H, W) float image in [0, 1] -> normalized image, same shape.
  Tensor normalize(Context& ctx, const Tensor& image) const;
  // Normalized (C, H, W) -> resized (C, h', w') (resize_bilinear with the output size, which
  // is what torch's kernel sees after recompute_scale_factor).
  Tensor resize(Context& ctx, const Tensor& image, int64_t min_size) const;
  // batch_images: zero-padded (N, C, H_pad, W_pad), H_pad/W_pad = ceil(max / d) * d.
  Tensor batch_images(Context& ctx, const std::vector<Tensor>& images) const;

  // forward: images (C, H_i, W_i) of possibly different sizes. When `boxes` is given
  // (training targets, (k_i, 4) per image) they are resized with the images in place.
  ImageList forward(Context& ctx, const std::vector<Tensor>& images,
                    std::vector<Tensor>* boxes = nullptr) const;

  // postprocess: boxes (k_i, 4) predicted on the resized images -> original image sizes.
  std::vector<Tensor> postprocess(Context& ctx, const std::vector<Tensor>& boxes,
                                  const std::vector<ImageSize>& image_sizes,
                                  const std::vector<ImageSize>& original_sizes) const;
};

}  // namespace dr
