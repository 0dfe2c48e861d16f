// See detector/boxes.h; the per-box math is kernels/box.cuh.
#include "detector/boxes.h"

#include "kernels/box.h"
#include "nn/dispatch.h"

namespace dr {

namespace {

void check_boxes(const char* op, const char* name, const Tensor& b) {
  check_float(op, name, b);
  DR_CHECK(b.dim() == 2 && b.size(1) == 4, op << ": " << name << " must be (N, 4), got " << b.str());
  DR_CHECK(!b.is_cuda() || b.dtype() == DType::F32,
           op << ": CUDA boxes must be f32, got " << b.str());
}

template <class T> kern::CoderWeights<T> weights_of(const BoxCoder& c) {
  return {T(c.wx), T(c.wy), T(c.ww), T(c.wh), T(c.bbox_xform_clip)};
}

}  // namespace

Tensor box_area(Context& ctx, const Tensor& boxes) {
  check_boxes("box_area", "boxes", boxes);
  ctx.check_no_grad("box_area", {&boxes});
  const int64_t n = boxes.size(0);
  Tensor out = ctx.empty_on(boxes.device(), {n}, boxes.dtype());
  if (boxes.is_cuda()) {
    DR_IF_CUDA(kern::box_area_cuda(out.data<float>(), boxes.data<float>(), n, ctx.stream()));
    return out;
  }
  DR_DISPATCH_FLOAT(boxes.dtype(), T, kern::box_area_cpu<T>(out.data<T>(), boxes.data<T>(), n));
  return out;
}

Tensor box_iou(Context& ctx, const Tensor& boxes1, const Tensor& boxes2) {
  check_boxes("box_iou", "boxes1", boxes1);
  check_boxes("box_iou", "boxes2", boxes2);
  check_same_device("box_iou", boxes1, boxes2);
  ctx.check_no_grad("box_iou", {&boxes1, &boxes2});
  DR_CHECK(boxes1.dtype() == boxes2.dtype(),
           "box_iou: dtypes differ: " << boxes1.str() << " vs " << boxes2.str());
  const int64_t n = boxes1.size(0), m = boxes2.size(0);
  Tensor out = ctx.empty_on(boxes1.device(), {n, m}, boxes1.dtype());
  if (boxes1.is_cuda()) {
    DR_IF_CUDA(kern::box_iou_cuda(out.data<float>(), boxes1.data<float>(), n,
                                  boxes2.data<float>(), m, ctx.stream()));
    return out;
  }
  DR_DISPATCH_FLOAT(boxes1.dtype(), T,
                    kern::box_iou_cpu<T>(out.data<T>(), boxes1.data<T>(), n, boxes2.data<T>(), m));
  return out;
}

Tensor clip_boxes_to_image(Context& ctx, const Tensor& boxes, int64_t height, int64_t width) {
  check_float("clip_boxes_to_image", "boxes", boxes);
  DR_CHECK(boxes.dim() >= 1 && boxes.size(-1) == 4,
           "clip_boxes_to_image: boxes must be (..., 4), got " << boxes.str());
  ctx.check_no_grad("clip_boxes_to_image", {&boxes});
  const int64_t n = boxes.numel() / 4;
  Tensor out = ctx.empty_on(boxes.device(), boxes.shape(), boxes.dtype());
  if (boxes.is_cuda()) {
    DR_IF_CUDA(kern::clip_boxes_cuda(out.data<float>(), boxes.data<float>(), n, float(height),
                                     float(width), ctx.stream()));
    return out;
  }
  DR_DISPATCH_FLOAT(boxes.dtype(), T,
                    kern::clip_boxes_cpu<T>(out.data<T>(), boxes.data<T>(), n, T(height), T(width)));
  return out;
}

Tensor remove_small_boxes(Context& ctx, const Tensor& boxes, double min_size) {
  check_boxes("remove_small_boxes", "boxes", boxes);
  ctx.check_no_grad("remove_small_boxes", {&boxes});
  const int64_t n = boxes.size(0);
  if (boxes.is_cuda()) {
#if DR_CUDA
    Tensor flags = ctx.empty({n}, DType::U8);
    Tensor idx = ctx.empty({n}, DType::I64);
    Tensor count = ctx.empty({1}, DType::I32);
    kern::box_big_enough_cuda(flags.data<uint8_t>(), boxes.data<float>(), n, float(min_size),
                              ctx.stream());
    Tensor tmp = ctx.empty({int64_t(kern::flagged_indices_temp_bytes(n)) + 1}, DType::U8);
    kern::flagged_indices_cuda(idx.data<int64_t>(), count.data<int32_t>(), flags.data<uint8_t>(), n,
                               tmp.raw(), tmp.nbytes(), ctx.stream());
    const int64_t k = ctx.to_host(count).item<int32_t>();
    return idx.narrow0(0, k);
#else
    DR_FAIL("remove_small_boxes: CUDA tensor in a CPU-only build");
#endif
  }
  std::vector<uint8_t> keep(n);
  DR_DISPATCH_FLOAT(boxes.dtype(), T,
                    kern::box_big_enough_cpu<T>(keep.data(), boxes.data<T>(), n, T(min_size)));
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < n; ++i)
    if (keep[i]) idx.push_back(i);
  return Tensor::host_from<int64_t>({int64_t(idx.size())}, idx);
}

Tensor resize_boxes(Context& ctx, const Tensor& boxes, int64_t from_h, int64_t from_w,
                    int64_t to_h, int64_t to_w) {
  check_boxes("resize_boxes", "boxes", boxes);
  ctx.check_no_grad("resize_boxes", {&boxes});
  DR_CHECK(from_h > 0 && from_w > 0, "resize_boxes: source size " << from_h << "x" << from_w);
  // torch.tensor(s, float32) / torch.tensor(s_orig, float32): f32 ratios whatever the box dtype.
  const float rh = float(to_h) / float(from_h), rw = float(to_w) / float(from_w);
  const int64_t n = boxes.size(0);
  Tensor out = ctx.empty_on(boxes.device(), boxes.shape(), boxes.dtype());
  if (boxes.is_cuda()) {
    DR_IF_CUDA(kern::scale_boxes_cuda(out.data<float>(), boxes.data<float>(), n, rh, rw,
                                      ctx.stream()));
    return out;
  }
  DR_DISPATCH_FLOAT(boxes.dtype(), T,
                    kern::scale_boxes_cpu<T>(out.data<T>(), boxes.data<T>(), n, T(rh), T(rw)));
  return out;
}

Tensor BoxCoder::encode(Context& ctx, const Tensor& reference_boxes, const Tensor& proposals) const {
  check_boxes("BoxCoder.encode", "reference_boxes", reference_boxes);
  check_boxes("BoxCoder.encode", "proposals", proposals);
  check_same_device("BoxCoder.encode", reference_boxes, proposals);
  ctx.check_no_grad("BoxCoder.encode", {&reference_boxes, &proposals});
  DR_CHECK(reference_boxes.shape() == proposals.shape() &&
               reference_boxes.dtype() == proposals.dtype(),
           "BoxCoder.encode: reference_boxes " << reference_boxes.str() << " and proposals "
                                               << proposals.str() << " differ");
  const int64_t n = proposals.size(0);
  Tensor out = ctx.empty_on(proposals.device(), {n, 4}, proposals.dtype());
  if (proposals.is_cuda()) {
    DR_IF_CUDA(kern::encode_boxes_cuda(out.data<float>(), reference_boxes.data<float>(),
                                       proposals.data<float>(), n, weights_of<float>(*this),
                                       ctx.stream()));
    return out;
  }
  DR_DISPATCH_FLOAT(proposals.dtype(), T,
                    kern::encode_boxes_cpu<T>(out.data<T>(), reference_boxes.data<T>(),
                                              proposals.data<T>(), n, weights_of<T>(*this)));
  return out;
}

Tensor BoxCoder::decode(Context& ctx, const Tensor& rel_codes, const Tensor& boxes) const {
  check_boxes("BoxCoder.decode", "boxes", boxes);
  check_float("BoxCoder.decode", "rel_codes", rel_codes);
  check_same_device("BoxCoder.decode", rel_codes, boxes);
  // torchvision decodes pred_bbox_deltas.detach() (proposals carry no gradient).
  ctx.check_no_grad("BoxCoder.decode", {&rel_codes, &boxes});
  const int64_t n = boxes.size(0);
  DR_CHECK(rel_codes.dim() == 2 && rel_codes.size(0) == n && rel_codes.size(1) % 4 == 0 &&
               rel_codes.dtype() == boxes.dtype(),
           "BoxCoder.decode: rel_codes must be (" << n << ", 4*C) like boxes " << boxes.str()
                                                  << ", got " << rel_codes.str());
  const int64_t c = rel_codes.size(1) / 4;
  Tensor out = ctx.empty_on(boxes.device(), {n, c, 4}, boxes.dtype());
  if (boxes.is_cuda()) {
    DR_IF_CUDA(kern::decode_boxes_cuda(out.data<float>(), rel_codes.data<float>(),
                                       boxes.data<float>(), n, c, weights_of<float>(*this),
                                       ctx.stream()));
    return out;
  }
  DR_DISPATCH_FLOAT(boxes.dtype(), T,
                    kern::decode_boxes_cpu<T>(out.data<T>(), rel_codes.data<T>(), boxes.data<T>(),
                                              n, c, weights_of<T>(*this)));
  return out;
}

}  // namespace dr
