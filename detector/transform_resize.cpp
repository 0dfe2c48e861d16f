// GeneralizedRCNNTransform::resize and ::forward (detector/transform.h): the part of the
// transform that resamples pixels, through nn/functional.h resize_bilinear.
#include "detector/boxes.h"
#include "detector/transform.h"
#include "nn/functional.h"

namespace dr {

Tensor GeneralizedRCNNTransform::resize(Context& ctx, const Tensor& image, int64_t min_size) const {
  check_dim("GeneralizedRCNNTransform", "image", image, 3);
  ImageSize s = resized_size(image.size(1), image.size(2), min_size);
  return resize_bilinear(ctx, image, s.first, s.second);
}

ImageList GeneralizedRCNNTransform::forward(Context& ctx, const std::vector<Tensor>& images,
                                            std::vector<Tensor>* boxes) const {
  DR_CHECK(!min_sizes.empty(), "GeneralizedRCNNTransform: min_sizes is empty");
  DR_CHECK(!boxes || boxes->size() == images.size(),
           "GeneralizedRCNNTransform: " << images.size() << " images but "
                                        << (boxes ? boxes->size() : 0) << " box sets");
  std::vector<Tensor> resized;
  ImageList out;
  for (size_t i = 0; i < images.size(); ++i) {
    // torch_choice in training (one draw per image), the last size in eval.
    const int64_t min_size = training
                                 ? min_sizes[size_t(ctx.rng().randint(int64_t(min_sizes.size())))]
                                 : min_sizes.back();
    Tensor im = resize(ctx, normalize(ctx, images[i]), min_size);
    if (boxes && (*boxes)[i].defined())
      (*boxes)[i] = resize_boxes(ctx, (*boxes)[i], images[i].size(1), images[i].size(2),
                                 im.size(1), im.size(2));
    out.image_sizes.push_back({im.size(1), im.size(2)});
    resized.push_back(im);
  }
  out.tensors = batch_images(ctx, resized);
  return out;
}

}  // namespace dr
