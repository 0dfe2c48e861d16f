// See detector/roi_align.h.
#include "detector/roi_align.h"

#include <cmath>
#include <tuple>

#include "kernels/roi_align.h"
#include "nn/dispatch.h"

namespace dr {

namespace {

// planes[l] undefined -> a null data pointer (backward: level l needs no gradient).
template <class T>
kern::RoiLevels<T> make_levels(const std::vector<Tensor>& planes, const std::vector<Tensor>& shapes,
                               const std::vector<double>& scales, const LevelMapperConfig& m) {
  kern::RoiLevels<T> L;
  L.n = static_cast<int>(shapes.size());
  for (int l = 0; l < L.n; ++l) {
    L.data[l] = planes[l].defined() ? planes[l].data<T>() : nullptr;
    L.height[l] = shapes[l].size(2);
    L.width[l] = shapes[l].size(3);
    L.scale[l] = T(scales[l]);
  }
  L.k_min = m.k_min;
  L.k_max = m.k_max;
  L.canonical_scale = T(m.canonical_scale);
  L.canonical_level = T(m.canonical_level);
  L.eps = T(m.eps);
  return L;
}

void run_forward(Context& ctx, const Tensor& out, const std::vector<Tensor>& features,
                 const std::vector<double>& scales, const Tensor& rois,
                 const kern::RoiAlignArgs& a, const LevelMapperConfig& m) {
  if (out.is_cuda()) {
    DR_IF_CUDA(kern::roi_align_forward_cuda(out.data<float>(),
                                            make_levels<float>(features, features, scales, m),
                                            rois.data<float>(), a, ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(out.dtype(), T,
                    kern::roi_align_forward_cpu<T>(out.data<T>(),
                                                   make_levels<T>(features, features, scales, m),
                                                   rois.data<T>(), a));
}

void run_backward(Context& ctx, const std::vector<Tensor>& grads, const std::vector<Tensor>& features,
                  const std::vector<double>& scales, const Tensor& dy, const Tensor& rois,
                  const kern::RoiAlignArgs& a, const LevelMapperConfig& m) {
  if (dy.is_cuda()) {
    DR_IF_CUDA(kern::roi_align_backward_cuda(make_levels<float>(grads, features, scales, m),
                                             dy.data<float>(), rois.data<float>(), a,
                                             ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(dy.dtype(), T,
                    kern::roi_align_backward_cpu<T>(make_levels<T>(grads, features, scales, m),
                                                    dy.data<T>(), rois.data<T>(), a));
}

}  // namespace

Tensor roi_align_levels(Context& ctx, const std::vector<Tensor>& features,
                        const std::vector<double>& scales, const Tensor& rois, int pooled_h,
                        int pooled_w, int sampling_ratio, bool aligned,
                        const LevelMapperConfig& mapper) {
  DR_CHECK(!features.empty() && features.size() <= size_t(kern::kMaxRoiLevels),
           "roi_align: 1.." << kern::kMaxRoiLevels << " feature levels, got " << features.size());
  DR_CHECK(scales.size() == features.size(),
           "roi_align: " << scales.size() << " scales for " << features.size() << " levels");
  const Tensor& f0 = features[0];
  check_float("roi_align", "input", f0);
  check_dim("roi_align", "input", f0, 4);
  for (const Tensor& f : features) {
    check_dim("roi_align", "input", f, 4);
    DR_CHECK(f.size(0) == f0.size(0) && f.size(1) == f0.size(1) && f.dtype() == f0.dtype(),
             "roi_align: feature levels differ in batch/channels/dtype: " << f.str() << " vs "
                                                                          << f0.str());
    check_same_device("roi_align", f, f0);
  }
  DR_CHECK(rois.dim() == 2 && rois.size(1) == 5 && rois.dtype() == f0.dtype(),
           "roi_align: rois must be (K, 5) " << dtype_name(f0.dtype()) << ", got " << rois.str());
  check_same_device("roi_align", rois, f0);
  // RoIs get no gradient (torchvision's roi_align backward returns none for them).
  ctx.check_no_grad("roi_align (rois)", {&rois});
  DR_CHECK(!f0.is_cuda() || f0.dtype() == DType::F32, "roi_align: CUDA input must be f32");
  DR_CHECK(pooled_h > 0 && pooled_w > 0, "roi_align: output size " << pooled_h << "x" << pooled_w);
  if (features.size() > 1)
    DR_CHECK(mapper.k_max - mapper.k_min + 1 == int(features.size()),
             "roi_align: LevelMapper k_min " << mapper.k_min << ", k_max " << mapper.k_max
                                             << " for " << features.size() << " levels");
  // Batch indices are checked on the CPU; on the GPU reading them back would cost a sync.
  if (!rois.is_cuda()) {
    DR_DISPATCH_FLOAT(rois.dtype(), T, {
      const T* r = rois.data<T>();
      for (int64_t k = 0; k < rois.size(0); ++k)
        DR_CHECK(r[5 * k] >= 0 && r[5 * k] < T(f0.size(0)),
                 "roi_align: RoI " << k << " has batch index " << r[5 * k] << " for input "
                                   << f0.str());
    });
  }
  kern::RoiAlignArgs a;
  a.num_rois = rois.size(0);
  a.channels = f0.size(1);
  a.pooled_h = pooled_h;
  a.pooled_w = pooled_w;
  a.sampling_ratio = sampling_ratio;
  a.aligned = aligned;
  Tensor out = ctx.empty_on(f0.device(), {a.num_rois, a.channels, pooled_h, pooled_w}, f0.dtype());
  run_forward(ctx, out, features, scales, rois, a, mapper);

  std::vector<const Tensor*> inputs;
  for (const Tensor& f : features) inputs.push_back(&f);
  bool record = false;
  for (const Tensor* f : inputs) record = record || ctx.recording({f});
  if (record) {
    out.set_requires_grad(true);
    ctx.tape().push("roi_align", {out}, [&ctx, features, scales, rois, a, mapper, out]() {
      std::vector<Tensor> grads;
      for (const Tensor& f : features)
        grads.push_back(f.requires_grad() ? ctx.grad_buffer(f) : Tensor());
      run_backward(ctx, grads, features, scales, out.grad(), rois, a, mapper);
    });
  }
  return out;
}

Tensor roi_align(Context& ctx, const Tensor& input, const Tensor& rois, int pooled_h, int pooled_w,
                 double spatial_scale, int sampling_ratio, bool aligned) {
  return roi_align_levels(ctx, {input}, {spatial_scale}, rois, pooled_h, pooled_w, sampling_ratio,
                          aligned, LevelMapperConfig{});
}

Tensor map_levels(Context& ctx, const Tensor& rois, const LevelMapperConfig& mapper) {
  check_float("map_levels", "rois", rois);
  DR_CHECK(rois.dim() == 2 && rois.size(1) == 5, "map_levels: rois must be (K, 5), got " << rois.str());
  ctx.check_no_grad("map_levels", {&rois});
  const int nlev = mapper.k_max - mapper.k_min + 1;
  DR_CHECK(nlev >= 2 && nlev <= kern::kMaxRoiLevels,
           "map_levels: k_min " << mapper.k_min << ", k_max " << mapper.k_max);
  // Only the mapper fields of RoiLevels are read; the level shapes are placeholders.
  std::vector<Tensor> shapes(nlev, Tensor::host({1, 1, 1, 1}, rois.dtype()));
  std::vector<double> scales(nlev, 1.0);
  Tensor out = ctx.empty_on(rois.device(), {rois.size(0)}, DType::I64);
  if (rois.is_cuda()) {
    DR_CHECK(rois.dtype() == DType::F32, "map_levels: CUDA rois must be f32");
    std::vector<Tensor> none(nlev, Tensor::host({1, 1, 1, 1}, DType::F32));
    DR_IF_CUDA(kern::roi_levels_cuda(out.data<int64_t>(),
                                     make_levels<float>(none, shapes, scales, mapper),
                                     rois.data<float>(), rois.size(0), ctx.stream()));
    return out;
  }
  DR_DISPATCH_FLOAT(rois.dtype(), T,
                    kern::roi_levels_cpu<T>(out.data<int64_t>(),
                                            make_levels<T>(shapes, shapes, scales, mapper),
                                            rois.data<T>(), rois.size(0)));
  return out;
}

Tensor boxes_to_rois(Context& ctx, const std::vector<Tensor>& boxes) {
  DR_CHECK(!boxes.empty(), "boxes_to_rois: no images");
  ctx.check_no_grad("boxes_to_rois", boxes);
  int64_t total = 0;
  for (const Tensor& b : boxes) {
    check_float("boxes_to_rois", "boxes", b);
    DR_CHECK(b.dim() == 2 && b.size(1) == 4 && b.dtype() == boxes[0].dtype(),
             "boxes_to_rois: boxes must be (k, 4) " << dtype_name(boxes[0].dtype()) << ", got "
                                                    << b.str());
    check_same_device("boxes_to_rois", b, boxes[0]);
    total += b.size(0);
  }
  Tensor rois = ctx.empty_on(boxes[0].device(), {total, 5}, boxes[0].dtype());
  int64_t row = 0;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const int64_t n = boxes[i].size(0);
    if (rois.is_cuda()) {
      DR_IF_CUDA(kern::make_rois_cuda(rois.data<float>() + 5 * row, boxes[i].data<float>(), n,
                                      float(i), ctx.stream()));
    } else {
      DR_DISPATCH_FLOAT(rois.dtype(), T,
                        kern::make_rois_cpu<T>(rois.data<T>() + 5 * row, boxes[i].data<T>(), n, T(i)));
    }
    row += n;
  }
  return rois;
}

double infer_scale(int64_t feature_size, int64_t original_size) {
  DR_CHECK(feature_size > 0 && original_size > 0,
           "MultiScaleRoIAlign: feature size " << feature_size << ", image size " << original_size);
  const float approx = float(double(feature_size) / double(original_size));
  return std::pow(2.0, double(std::nearbyint(std::log2(approx))));  // torch.round: half to even
}

std::pair<std::vector<double>, LevelMapperConfig> MultiScaleRoIAlign::setup_scales(
    const std::vector<Tensor>& features,
    const std::vector<ImageSize>& image_sizes) const {
  DR_CHECK(!image_sizes.empty(), "MultiScaleRoIAlign: images list should not be empty");
  int64_t max_h = 0, max_w = 0;
  for (auto& s : image_sizes) {
    max_h = std::max(max_h, s.first);
    max_w = std::max(max_w, s.second);
  }
  std::vector<double> scales;
  for (const Tensor& f : features) scales.push_back(infer_scale(f.size(2), max_h));
  LevelMapperConfig m;
  // int(-log2(float32(scale))): truncation toward zero like Python's int().
  m.k_min = static_cast<int>(-std::log2(float(scales.front())));
  m.k_max = static_cast<int>(-std::log2(float(scales.back())));
  m.canonical_scale = canonical_scale;
  m.canonical_level = canonical_level;
  return {scales, m};
}

Tensor MultiScaleRoIAlign::forward(Context& ctx,
                                   const FeatureMaps& features,
                                   const std::vector<Tensor>& boxes,
                                   const std::vector<ImageSize>& image_sizes) {
  std::vector<Tensor> used;
  for (auto& nf : features)
    for (auto& name : featmap_names)
      if (nf.first == name) used.push_back(nf.second);
  DR_CHECK(!used.empty(), "MultiScaleRoIAlign: none of the feature maps is named in featmap_names");
  if (scales_.empty() || !cache_scales) std::tie(scales_, mapper_) = setup_scales(used, image_sizes);
  DR_CHECK(scales_.size() == used.size(),
           "MultiScaleRoIAlign: " << used.size() << " feature maps but " << scales_.size()
                                  << " cached scales (call reset_scales() after changing them)");
  Tensor rois = boxes_to_rois(ctx, boxes);
  return roi_align_levels(ctx, used, scales_, rois, output_size, output_size, sampling_ratio,
                          /*aligned=*/false, mapper_);
}

}  // namespace dr
