// See detector/anchors.h; the per-anchor shift is kern::grid_anchor (kernels/box.cuh).
#include "detector/anchors.h"

#include <cmath>

#include "kernels/box.h"
#include "nn/dispatch.h"

namespace dr {

std::vector<int64_t> AnchorGenerator::num_anchors_per_location() const {
  DR_CHECK(sizes.size() == aspect_ratios.size(),
           "AnchorGenerator: " << sizes.size() << " size sets but " << aspect_ratios.size()
                               << " aspect-ratio sets");
  std::vector<int64_t> n;
  for (size_t l = 0; l < sizes.size(); ++l)
    n.push_back(int64_t(sizes[l].size() * aspect_ratios[l].size()));
  return n;
}

Tensor AnchorGenerator::cell_anchors(int level) const {
  DR_CHECK(level >= 0 && level < int(sizes.size()) && sizes.size() == aspect_ratios.size(),
           "AnchorGenerator: level " << level << " of " << sizes.size());
  const auto& sc = sizes[level];
  const auto& ar = aspect_ratios[level];
  Tensor base = Tensor::host({int64_t(ar.size() * sc.size()), 4}, DType::F32);
  float* p = base.data<float>();
  for (size_t r = 0; r < ar.size(); ++r) {
    const float h_ratio = std::sqrt(float(ar[r]));
    const float w_ratio = 1.0f / h_ratio;
    for (size_t s = 0; s < sc.size(); ++s) {
      const float ws = w_ratio * float(sc[s]), hs = h_ratio * float(sc[s]);
      float* row = p + 4 * (r * sc.size() + s);
      row[0] = std::nearbyint(-ws / 2.0f);
      row[1] = std::nearbyint(-hs / 2.0f);
      row[2] = std::nearbyint(ws / 2.0f);
      row[3] = std::nearbyint(hs / 2.0f);
    }
  }
  return base;
}

Tensor AnchorGenerator::grid_anchors(Context& ctx, int level, int64_t image_h, int64_t image_w,
                                     int64_t feat_h, int64_t feat_w, DType dtype) const {
  DR_CHECK(feat_h > 0 && feat_w > 0 && image_h >= feat_h && image_w >= feat_w,
           "AnchorGenerator: feature map " << feat_h << "x" << feat_w << " for image " << image_h
                                           << "x" << image_w);
  DR_CHECK(dtype == DType::F32 || (dtype == DType::F64 && !ctx.is_cuda()),
           "AnchorGenerator: anchors are f32 (or f64 on the CPU), asked for " << dtype_name(dtype));
  const int64_t sh = image_h / feat_h, sw = image_w / feat_w;
  Tensor base32 = cell_anchors(level);
  const int64_t a = base32.size(0);
  Tensor out = ctx.empty({feat_h * feat_w * a, 4}, dtype);
  if (ctx.is_cuda()) {
    DR_IF_CUDA({
      Tensor base = ctx.to(base32, ctx.device());
      kern::grid_anchors_cuda(out.data<float>(), base.data<float>(), a, feat_h, feat_w, sh, sw,
                              ctx.stream());
    });
    return out;
  }
  Tensor base = base32;
  if (dtype == DType::F64) {  // set_cell_anchors: the f32 cell anchors cast to the features' dtype
    base = Tensor::host(base32.shape(), DType::F64);
    for (int64_t i = 0; i < base32.numel(); ++i) base.data<double>()[i] = base32.data<float>()[i];
  }
  DR_DISPATCH_FLOAT(dtype, T,
                    kern::grid_anchors_cpu<T>(out.data<T>(), base.data<T>(), a, feat_h, feat_w,
                                              sh, sw));
  return out;
}

Tensor AnchorGenerator::forward(Context& ctx, int64_t image_h, int64_t image_w,
                                const std::vector<ImageSize>& feature_sizes,
                                DType dtype) const {
  DR_CHECK(feature_sizes.size() == sizes.size() && sizes.size() == aspect_ratios.size(),
           "AnchorGenerator: " << feature_sizes.size() << " feature maps for " << sizes.size()
                               << " size sets and " << aspect_ratios.size()
                               << " aspect-ratio sets (one each per feature map)");
  std::vector<Tensor> levels;
  int64_t total = 0;
  for (size_t l = 0; l < feature_sizes.size(); ++l) {
    levels.push_back(grid_anchors(ctx, int(l), image_h, image_w, feature_sizes[l].first,
                                  feature_sizes[l].second, dtype));
    total += levels.back().size(0);
  }
  Tensor out = ctx.empty({total, 4}, dtype);
  int64_t row = 0;
  for (const Tensor& t : levels) {
    ctx.copy(out.narrow0(row, t.size(0)), t);
    row += t.size(0);
  }
  return out;
}

}  // namespace dr
