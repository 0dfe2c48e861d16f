// See detector/nms.h.
#include "detector/nms.h"

#include "kernels/nms.h"
#include "nn/dispatch.h"

namespace dr {

SegmentedKeep batched_nms_segments(Context& ctx, const Tensor& boxes, const Tensor& scores,
                                   const Tensor& idxs, const std::vector<int64_t>& offsets,
                                   double iou_threshold) {
  check_float("nms", "boxes", boxes);
  DR_CHECK(boxes.dim() == 2 && boxes.size(1) == 4, "nms: boxes must be (K, 4), got " << boxes.str());
  const int64_t k = boxes.size(0);
  DR_CHECK(scores.dim() == 1 && scores.size(0) == k && scores.dtype() == boxes.dtype(),
           "nms: scores must be (" << k << ") like boxes " << boxes.str() << ", got " << scores.str());
  check_same_device("nms", boxes, scores);
  ctx.check_no_grad("nms", {&boxes, &scores});
  if (idxs.defined()) {
    DR_CHECK(idxs.dim() == 1 && idxs.size(0) == k && idxs.dtype() == DType::I64,
             "batched_nms: idxs must be int64 (" << k << "), got " << idxs.str());
    check_same_device("batched_nms", boxes, idxs);
  }
  check_segment_offsets("nms", offsets, k);
  const int64_t* cats = idxs.defined() ? idxs.data<int64_t>() : nullptr;
  SegmentedKeep out;
  if (boxes.is_cuda()) {
#if DR_CUDA
    DR_CHECK(boxes.dtype() == DType::F32, "nms: CUDA boxes must be f32, got " << boxes.str());
    Tensor idx = ctx.empty({k}, DType::I64);
    std::vector<Tensor> held;  // scratch lives until the counts have been read back
    kern::ScratchFn scratch = [&](size_t bytes) {
      held.push_back(ctx.empty({int64_t(bytes) + 1}, DType::U8));
      return held.back().raw();
    };
    out.counts = kern::nms_segments_cuda(idx.data<int64_t>(), boxes.data<float>(),
                                         scores.data<float>(), cats, offsets, iou_threshold,
                                         scratch, ctx.stream());
    int64_t total = 0;
    for (int64_t c : out.counts) total += c;
    out.indices = idx.narrow0(0, total);
    return out;
#else
    DR_FAIL("nms: CUDA tensor in a CPU-only build");
#endif
  }
  std::vector<int64_t> kept;
  DR_DISPATCH_FLOAT(boxes.dtype(), T,
                    kern::nms_segments_cpu<T>(kept, out.counts, boxes.data<T>(), scores.data<T>(),
                                              cats, offsets, iou_threshold));
  out.indices = Tensor::host_from<int64_t>({int64_t(kept.size())}, kept);
  return out;
}

Tensor nms(Context& ctx, const Tensor& boxes, const Tensor& scores, double iou_threshold) {
  DR_CHECK(boxes.dim() == 2, "nms: boxes must be (K, 4), got " << boxes.str());
  return batched_nms_segments(ctx, boxes, scores, Tensor(), {0, boxes.size(0)}, iou_threshold)
      .indices;
}

Tensor batched_nms(Context& ctx, const Tensor& boxes, const Tensor& scores, const Tensor& idxs,
                   double iou_threshold) {
  DR_CHECK(boxes.dim() == 2, "batched_nms: boxes must be (K, 4), got " << boxes.str());
  DR_CHECK(idxs.defined(), "batched_nms: idxs is undefined");
  return batched_nms_segments(ctx, boxes, scores, idxs, {0, boxes.size(0)}, iou_threshold).indices;
}

}  // namespace dr
