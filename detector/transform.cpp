// See detector/transform.h.
#include "detector/transform.h"

#include <cmath>

#include "detector/boxes.h"
#include "kernels/image.h"
#include "nn/dispatch.h"
#include "nn/functional.h"

namespace dr {

ImageSize GeneralizedRCNNTransform::resized_size(int64_t h, int64_t w, int64_t min_size) const {
  DR_CHECK(h > 0 && w > 0, "GeneralizedRCNNTransform: empty image " << h << "x" << w);
  const float lo = float(std::min(h, w)), hi = float(std::max(h, w));
  // torch: self_min_size / tensor(lo) == reciprocal(lo) * self_min_size, all in f32.
  const float s_min = (1.0f / lo) * float(min_size), s_max = (1.0f / hi) * float(max_size);
  const double scale = double(std::min(s_min, s_max));
  const int64_t oh = int64_t(std::floor(double(h) * scale));
  const int64_t ow = int64_t(std::floor(double(w) * scale));
  DR_CHECK(oh > 0 && ow > 0, "GeneralizedRCNNTransform: image " << h << "x" << w
                                                                << " resizes to " << oh << "x" << ow);
  return {oh, ow};
}

Tensor GeneralizedRCNNTransform::normalize(Context& ctx, const Tensor& image) const {
  check_float("GeneralizedRCNNTransform", "image", image);
  DR_CHECK(image.dim() == 3, "GeneralizedRCNNTransform: images must be (C, H, W), got " << image.str());
  ctx.check_no_grad("GeneralizedRCNNTransform.normalize", {&image});  // inputs, not differentiated
  const int64_t c = image.size(0), hw = image.size(1) * image.size(2);
  DR_CHECK(c <= kern::kMaxImageChannels && size_t(c) == image_mean.size() &&
               image_mean.size() == image_std.size(),
           "GeneralizedRCNNTransform: " << c << " channels for " << image_mean.size()
                                        << " means and " << image_std.size() << " stds");
  Tensor out = ctx.empty_on(image.device(), image.shape(), image.dtype());
  if (image.is_cuda()) {
    DR_IF_CUDA({
      kern::ChannelStats<float> st;
      for (int64_t k = 0; k < c; ++k) {
        st.mean[k] = float(image_mean[k]);
        st.std[k] = float(image_std[k]);
      }
      kern::normalize_cuda(out.data<float>(), image.data<float>(), c, hw, st, ctx.stream());
    });
    return out;
  }
  DR_DISPATCH_FLOAT(image.dtype(), T, {
    kern::ChannelStats<T> st;
    for (int64_t k = 0; k < c; ++k) {
      st.mean[k] = T(image_mean[k]);
      st.std[k] = T(image_std[k]);
    }
    kern::normalize_cpu<T>(out.data<T>(), image.data<T>(), c, hw, st);
  });
  return out;
}

Tensor GeneralizedRCNNTransform::batch_images(Context& ctx, const std::vector<Tensor>& images) const {
  DR_CHECK(!images.empty(), "GeneralizedRCNNTransform: no images");
  ctx.check_no_grad("GeneralizedRCNNTransform.batch_images", images);
  int64_t c = images[0].size(0), h = 0, w = 0;
  for (const Tensor& im : images) {
    check_dim("GeneralizedRCNNTransform", "image", im, 3);
    DR_CHECK(im.size(0) == c && im.dtype() == images[0].dtype(),
             "GeneralizedRCNNTransform: images differ in channels/dtype: " << im.str() << " vs "
                                                                          << images[0].str());
    check_same_device("GeneralizedRCNNTransform", im, images[0]);
    h = std::max(h, im.size(1));
    w = std::max(w, im.size(2));
  }
  const double d = double(size_divisible);
  h = int64_t(std::ceil(double(h) / d) * d);
  w = int64_t(std::ceil(double(w) / d) * d);
  const int64_t n = int64_t(images.size());
  Tensor out = ctx.empty_on(images[0].device(), {n, c, h, w}, images[0].dtype());
  ctx.fill_zero(out);
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& im = images[i];
    if (out.is_cuda()) {
      DR_IF_CUDA(kern::paste_cuda(out.data<float>() + i * c * h * w, h, w, im.data<float>(), c,
                                  im.size(1), im.size(2), ctx.stream()));
    } else {
      DR_DISPATCH_FLOAT(out.dtype(), T,
                        kern::paste_cpu<T>(out.data<T>() + i * c * h * w, h, w, im.data<T>(), c,
                                           im.size(1), im.size(2)));
    }
  }
  return out;
}

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

std::vector<Tensor> GeneralizedRCNNTransform::postprocess(
    Context& ctx, const std::vector<Tensor>& boxes, const std::vector<ImageSize>& image_sizes,
    const std::vector<ImageSize>& original_sizes) const {
  DR_CHECK(boxes.size() == image_sizes.size() && boxes.size() == original_sizes.size(),
           "GeneralizedRCNNTransform.postprocess: " << boxes.size() << " box sets, "
                                                    << image_sizes.size() << " image sizes, "
                                                    << original_sizes.size() << " original sizes");
  std::vector<Tensor> out;
  if (training) return boxes;
  for (size_t i = 0; i < boxes.size(); ++i)
    out.push_back(resize_boxes(ctx, boxes[i], image_sizes[i].first, image_sizes[i].second,
                               original_sizes[i].first, original_sizes[i].second));
  return out;
}

}  // namespace dr
