// See detector/segments.h.
#include "detector/segments.h"

#include "kernels/box.h"
#include "kernels/box_segments.h"
#include "nn/dispatch.h"

namespace dr {

void check_segment_offsets(const char* op, const std::vector<int64_t>& offsets, int64_t rows) {
  DR_CHECK(offsets.size() >= 2 && offsets.front() == 0 && offsets.back() == rows,
           op << ": segment offsets must run from 0 to " << rows << " (" << offsets.size()
              << " entries, last " << (offsets.empty() ? -1 : offsets.back()) << ")");
  for (size_t i = 1; i < offsets.size(); ++i)
    DR_CHECK(offsets[i] >= offsets[i - 1], op << ": segment offsets must not decrease");
}

Tensor clip_boxes_segments(Context& ctx, const Tensor& boxes, const std::vector<int64_t>& offsets,
                           const std::vector<ImageSize>& sizes) {
  check_float("clip_boxes_segments", "boxes", boxes);
  DR_CHECK((boxes.dim() == 2 || boxes.dim() == 3) && boxes.size(-1) == 4,
           "clip_boxes_segments: boxes must be (R, 4) or (R, C, 4), got " << boxes.str());
  ctx.check_no_grad("clip_boxes_segments", {&boxes});
  const int64_t rows = boxes.size(0), per_row = boxes.dim() == 3 ? boxes.size(1) : 1;
  check_segment_offsets("clip_boxes_segments", offsets, rows);
  const int64_t segs = int64_t(offsets.size()) - 1;
  DR_CHECK(int64_t(sizes.size()) == segs,
           "clip_boxes_segments: " << sizes.size() << " image sizes for " << segs << " segments");
  Tensor out = ctx.empty_on(boxes.device(), boxes.shape(), boxes.dtype());
  Tensor off = Tensor::host_from<int64_t>({segs + 1}, offsets);
  if (boxes.is_cuda()) {
#if DR_CUDA
    DR_CHECK(boxes.dtype() == DType::F32, "clip_boxes_segments: CUDA boxes must be f32");
    std::vector<float> hw;
    for (auto& s : sizes) hw.insert(hw.end(), {float(s.first), float(s.second)});
    Tensor d_off = ctx.to(off, ctx.device());
    Tensor d_hw = ctx.to(Tensor::host_from<float>({segs, 2}, hw), ctx.device());
    kern::clip_boxes_segments_cuda(out.data<float>(), boxes.data<float>(), rows, per_row,
                                   d_off.data<int64_t>(), d_hw.data<float>(), segs, ctx.stream());
    return out;
#else
    DR_FAIL("clip_boxes_segments: CUDA tensor in a CPU-only build");
#endif
  }
  DR_DISPATCH_FLOAT(boxes.dtype(), T, {
    std::vector<T> hw;
    for (auto& s : sizes) hw.insert(hw.end(), {T(s.first), T(s.second)});
    kern::clip_boxes_segments_cpu<T>(out.data<T>(), boxes.data<T>(), rows, per_row,
                                     off.data<int64_t>(), hw.data(), segs);
  });
  return out;
}

SegmentedKeep filter_boxes_segments(Context& ctx, const Tensor& boxes, const Tensor& scores,
                                    const std::vector<int64_t>& offsets, double min_size,
                                    double thr, bool strict) {
  check_float("filter_boxes_segments", "boxes", boxes);
  DR_CHECK(boxes.dim() == 2 && boxes.size(1) == 4,
           "filter_boxes_segments: boxes must be (R, 4), got " << boxes.str());
  ctx.check_no_grad("filter_boxes_segments", {&boxes, &scores});
  const int64_t n = boxes.size(0);
  if (scores.defined()) {
    DR_CHECK(scores.dim() == 1 && scores.size(0) == n && scores.dtype() == boxes.dtype(),
             "filter_boxes_segments: scores must be (" << n << ") like boxes " << boxes.str()
                                                       << ", got " << scores.str());
    check_same_device("filter_boxes_segments", boxes, scores);
  }
  check_segment_offsets("filter_boxes_segments", offsets, n);
  const int64_t segs = int64_t(offsets.size()) - 1;
  SegmentedKeep out;
  if (boxes.is_cuda()) {
#if DR_CUDA
    DR_CHECK(boxes.dtype() == DType::F32, "filter_boxes_segments: CUDA boxes must be f32");
    Tensor flags = ctx.empty({n}, DType::U8);
    Tensor idx = ctx.empty({n}, DType::I64);
    Tensor counts = ctx.empty({segs + 1}, DType::I32);  // per segment, then the total
    kern::box_filter_cuda(flags.data<uint8_t>(), boxes.data<float>(),
                          scores.defined() ? scores.data<float>() : nullptr, n, float(min_size),
                          float(thr), strict, ctx.stream());
    Tensor tmp = ctx.empty({int64_t(kern::flagged_indices_temp_bytes(n)) + 1}, DType::U8);
    int* total = counts.data<int32_t>() + segs;
    kern::flagged_indices_cuda(idx.data<int64_t>(), total, flags.data<uint8_t>(), n, tmp.raw(),
                               tmp.nbytes(), ctx.stream());
    Tensor d_off = ctx.to(Tensor::host_from<int64_t>({segs + 1}, offsets), ctx.device());
    kern::segment_counts_cuda(counts.data<int32_t>(), idx.data<int64_t>(), total,
                              d_off.data<int64_t>(), segs, ctx.stream());
    Tensor h = ctx.to_host(counts);  // the one synchronization
    for (int64_t s = 0; s < segs; ++s) out.counts.push_back(h.data<int32_t>()[s]);
    out.indices = idx.narrow0(0, h.data<int32_t>()[segs]);
    return out;
#else
    DR_FAIL("filter_boxes_segments: CUDA tensor in a CPU-only build");
#endif
  }
  std::vector<uint8_t> keep(n);
  DR_DISPATCH_FLOAT(boxes.dtype(), T,
                    kern::box_filter_cpu<T>(keep.data(), boxes.data<T>(),
                                            scores.defined() ? scores.data<T>() : nullptr, n,
                                            T(min_size), T(thr), strict));
  std::vector<int64_t> idx;
  for (int64_t s = 0; s < segs; ++s) {
    int64_t c = 0;
    for (int64_t i = offsets[s]; i < offsets[s + 1]; ++i)
      if (keep[i]) {
        idx.push_back(i);
        ++c;
      }
    out.counts.push_back(c);
  }
  out.indices = Tensor::host_from<int64_t>({int64_t(idx.size())}, idx);
  return out;
}

}  // namespace dr
