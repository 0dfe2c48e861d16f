// Matcher, assign_targets_to_anchors and assign_targets_to_proposals: torchvision parity
// (tools/ref/matcher.py), hand-checked rules and errors, and CUDA against the CPU ("gpu: ").
//
// Tolerances: matches, labels and indices are compared exactly (they come from comparisons
// only). Matched boxes are copies of ground-truth rows: exact. box_iou follows torch's
// operation order and is compared exactly too. Regression targets use BoxCoder.encode:
// f32 logf may differ from torch's vectorized log by an ulp or two (rtol 1e-5, as in
// test_boxes.cpp), f64 to 1e-12; infinities (zero matched boxes of an image without
// boxes) must be equal.
#include <cmath>
#include <limits>

#include "detector/boxes.h"
#include "detector/matcher.h"
#include "detector/select_ops.h"
#include "detector/target_assign.h"
#include "tests/testing.h"

using namespace dr;

namespace {

std::vector<int64_t> to_i64(Context& ctx, const Tensor& t) {
  Tensor h = ctx.to_host(t);
  return std::vector<int64_t>(h.data<int64_t>(), h.data<int64_t>() + h.numel());
}

// Like DR_CHECK_CLOSE, but an infinite expected value must be matched exactly.
void check_targets(Context& ctx, const Tensor& got, const Tensor& want, double rtol, double atol,
                   const std::string& what) {
  REQUIRE_MESSAGE(got.shape() == want.shape(), what << ": shape " << shape_str(got.shape())
                                                    << " vs " << shape_str(want.shape()));
  std::vector<double> a = test::to_doubles(ctx, got), b = test::to_doubles(ctx, want);
  int64_t bad = 0, first = -1, inf = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool ok = std::isfinite(b[i]) ? std::fabs(a[i] - b[i]) <= atol + rtol * std::fabs(b[i])
                                        : a[i] == b[i];
    inf += !std::isfinite(b[i]);
    if (!ok && first < 0) first = int64_t(i);
    bad += !ok;
  }
  INFO(what << ": " << bad << " bad of " << a.size() << " (" << inf << " infinite)");
  if (first >= 0) INFO("first bad " << first << ": got " << a[first] << ", want " << b[first]);
  CHECK(bad == 0);
}

const char* const kConfigs[] = {"rpn", "roi", "strict"};
Matcher matcher_named(const std::string& cfg) {
  if (cfg == "rpn") return Matcher::rpn();
  if (cfg == "roi") return Matcher::roi_heads();
  return Matcher(Matcher::kRpnFgIouThresh, Matcher::kRpnBgIouThresh, false);
}

}  // namespace

TEST_CASE("matcher: crafted quality matrices equal torchvision (thresholds, ties, NaN)") {
  Context ctx;
  const TensorFile& ref = test::reference("matcher");
  for (const auto& name : ref.meta["mq_cases"]) {
    for (const char* dt : {"f32", "f64"}) {
      const std::string p = "mq." + name.get<std::string>() + "." + dt + ".";
      for (const char* cfg : kConfigs)
        DR_CHECK_CLOSE(ctx, matcher_named(cfg)(ctx, ref.get(p + "q")), ref.get(p + cfg), 0, 0,
                       p + cfg);
    }
  }
}

TEST_CASE("matcher: hand-checked rules") {
  Context ctx;
  // One gt: 0.7 is a match in f32 (0.7f >= 0.7f) although 0.7f < 0.7 in double.
  Tensor q = Tensor::host_from<float>({1, 4}, {0.7f, 0.69f, 0.3f, 0.1f});
  CHECK(to_i64(ctx, Matcher(0.7, 0.3, false)(ctx, q)) == std::vector<int64_t>{0, -2, -2, -1});
  // Ties over gts: the first index; low-quality matches return the argmax, not the gt
  // whose best quality triggered them (column 2: best of gt 2, argmax gt 0).
  Tensor t = Tensor::host_from<float>({3, 3}, {0.2f, 0.6f, 0.6f,  //
                                               0.6f, 0.6f, 0.1f,  //
                                               0.1f, 0.1f, 0.6f});
  CHECK(to_i64(ctx, Matcher(0.7, 0.3, false)(ctx, t)) == std::vector<int64_t>{-2, -2, -2});
  CHECK(to_i64(ctx, Matcher(0.7, 0.3, true)(ctx, t)) == std::vector<int64_t>{1, 0, 0});
  CHECK(to_i64(ctx, Matcher(0.6, 0.6, false)(ctx, t)) == std::vector<int64_t>{1, 0, 0});
  // NaN is the maximum (first NaN wins) and never equals a gt's best quality.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor n = Tensor::host_from<float>({2, 2}, {0.1f, nan, nan, 0.9f});
  CHECK(to_i64(ctx, Matcher::rpn()(ctx, n)) == std::vector<int64_t>{1, 0});
}

TEST_CASE("matcher: errors name the op and shapes") {
  Context ctx;
  CHECK_THROWS_AS(Matcher(0.3, 0.7), Error);  // low > high
  CHECK_THROWS_WITH_AS(Matcher::rpn()(ctx, ctx.empty({0, 5})), doctest::Contains("ground-truth"),
                       Error);
  CHECK_THROWS_WITH_AS(Matcher::rpn()(ctx, ctx.empty({3, 0})), doctest::Contains("proposal"),
                       Error);
  CHECK_THROWS_AS(Matcher::rpn()(ctx, ctx.empty({3}, DType::F32)), Error);
  CHECK_THROWS_AS(Matcher::rpn()(ctx, ctx.empty({3, 2}, DType::I64)), Error);
  Tensor b = ctx.zeros({3, 4});
  CHECK_THROWS_AS(assign_targets_to_anchors(ctx, Matcher::rpn(), ctx.empty({3, 5}), b), Error);
  CHECK_THROWS_AS(assign_targets_to_anchors(ctx, Matcher::rpn(), b, ctx.zeros({2, 4}, DType::F64)),
                  Error);
  CHECK_THROWS_AS(assign_targets_to_proposals(ctx, Matcher::roi_heads(), b, b,
                                              ctx.zeros({2}, DType::I64)),
                  Error);  // 2 labels for 3 boxes
  CHECK_THROWS_AS(assign_targets_to_proposals(ctx, Matcher::roi_heads(), b, b, ctx.zeros({3})),
                  Error);  // f32 labels
  // Boxes but no anchors: the Matcher's error, as torchvision.
  CHECK_THROWS_AS(assign_targets_to_anchors(ctx, Matcher::rpn(), ctx.empty({0, 4}), b), Error);
}

TEST_CASE("matcher: assign_targets_to_anchors/proposals and encode equal torchvision per image") {
  const TensorFile& ref = test::reference("matcher");
  const int64_t images = ref.meta["images"].get<int64_t>();
  REQUIRE(images >= 4);
  for (DType dt : {DType::F32, DType::F64}) {
    Context ctx;
    const bool f32 = dt == DType::F32;
    const double rtol = f32 ? 1e-5 : 1e-12, atol = f32 ? 1e-6 : 1e-12;
    for (int64_t i = 0; i < images; ++i) {
      const std::string p = "img" + std::to_string(i) + "." + dtype_name(dt) + ".";
      const Tensor& anchors = ref.get(p + "anchors");
      const Tensor& gt = ref.get(p + "gt_boxes");
      const Tensor& props = ref.get(p + "proposals");
      REQUIRE(anchors.dtype() == dt);
      if (gt.size(0) > 0) {
        DR_CHECK_CLOSE(ctx, box_iou(ctx, gt, anchors), ref.get(p + "iou"), 0, 0, p + "iou");
        // The Matcher on torch's own IoU matrix, then on ours via the assign functions.
        DR_CHECK_CLOSE(ctx, Matcher::rpn()(ctx, ref.get(p + "iou")), ref.get(p + "rpn.matches"), 0,
                       0, p + "rpn.matches");
        DR_CHECK_CLOSE(ctx, Matcher::roi_heads()(ctx, box_iou(ctx, gt, props)),
                       ref.get(p + "roi.matches"), 0, 0, p + "roi.matches");
      }
      AnchorTargets at = assign_targets_to_anchors(ctx, Matcher::rpn(), anchors, gt);
      CHECK(at.labels.dtype() == dt);
      DR_CHECK_CLOSE(ctx, at.labels, ref.get(p + "rpn.labels"), 0, 0, p + "rpn.labels");
      DR_CHECK_CLOSE(ctx, at.matched_gt_boxes, ref.get(p + "rpn.matched"), 0, 0, p + "rpn.matched");
      check_targets(ctx, BoxCoder::rpn().encode(ctx, at.matched_gt_boxes, anchors),
                    ref.get(p + "rpn.targets"), rtol, atol, p + "rpn.targets");

      ProposalTargets pt =
          assign_targets_to_proposals(ctx, Matcher::roi_heads(), props, gt, ref.get(p + "gt_labels"));
      DR_CHECK_CLOSE(ctx, pt.matched_idxs, ref.get(p + "roi.clamped"), 0, 0, p + "roi.clamped");
      DR_CHECK_CLOSE(ctx, pt.labels, ref.get(p + "roi.labels"), 0, 0, p + "roi.labels");
      // select_training_samples: gt[clamped], a zero box for an image without boxes.
      Tensor src = gt.size(0) > 0 ? gt : ctx.zeros({1, 4}, dt);
      Tensor matched = gather_rows(ctx, src, pt.matched_idxs);
      DR_CHECK_CLOSE(ctx, matched, ref.get(p + "roi.matched"), 0, 0, p + "roi.matched");
      check_targets(ctx, BoxCoder::roi_heads().encode(ctx, matched, props),
                    ref.get(p + "roi.targets"), rtol, atol, p + "roi.targets");
    }
  }
}

TEST_CASE("gpu: Matcher and target assignment match the CPU (ties, NaN, odd sizes, no boxes)") {
  Context cpu(Device::cpu(), 5), gpu(Device::cuda(0), 5);
  auto up = [&](const Tensor& t) { return gpu.to(t, gpu.device()); };
  // Quality matrices on a coarse grid (many exact ties), some NaN; G > 65535 exercises
  // the row reduction's grid-stride loop.
  const int64_t shapes[][2] = {{1, 1}, {1, 257}, {7, 255}, {5, 10007}, {66000, 3}, {3, 70001}};
  for (const auto& s : shapes) {
    const int64_t g = s[0], p = s[1];
    Tensor q = test::random_tensor(cpu, {g, p}, 0, 11);
    float* qp = q.data<float>();
    for (int64_t k = 0; k < g * p; ++k) qp[k] = std::floor(qp[k]) / 10;
    if (g * p > 10) qp[(g * p) / 3] = std::numeric_limits<float>::quiet_NaN();
    const std::string tag = " (" + std::to_string(g) + ", " + std::to_string(p) + ")";
    for (const char* cfg : kConfigs)
      DR_CHECK_CLOSE(gpu, matcher_named(cfg)(gpu, up(q)), matcher_named(cfg)(cpu, q), 0, 0,
                     std::string("Matcher ") + cfg + tag);
  }
  // Integer boxes (exact IoU ties, no rounding question) against random anchors.
  for (int64_t a : {1, 333, 4099}) {
    for (int64_t g : {0, 1, 6}) {
      const std::string tag = " A=" + std::to_string(a) + " G=" + std::to_string(g);
      Tensor anchors = test::random_tensor(cpu, {a, 4}, 0, 40);
      Tensor gt = test::random_tensor(cpu, {g, 4}, 0, 40);
      for (Tensor* b : {&anchors, &gt}) {
        float* bp = b->data<float>();
        for (int64_t k = 0; k < b->size(0); ++k) {
          bp[4 * k] = std::floor(bp[4 * k]);
          bp[4 * k + 1] = std::floor(bp[4 * k + 1]);
          bp[4 * k + 2] = bp[4 * k] + 1 + std::floor(bp[4 * k + 2] / 2);
          bp[4 * k + 3] = bp[4 * k + 1] + 1 + std::floor(bp[4 * k + 3] / 2);
        }
      }
      Tensor gl = Tensor::host_zeros({g}, DType::I64);
      for (int64_t k = 0; k < g; ++k) gl.data<int64_t>()[k] = 1 + (k * 7) % 10;
      AnchorTargets ac = assign_targets_to_anchors(cpu, Matcher::rpn(), anchors, gt);
      AnchorTargets ag = assign_targets_to_anchors(gpu, Matcher::rpn(), up(anchors), up(gt));
      DR_CHECK_CLOSE(gpu, ag.labels, ac.labels, 0, 0, "anchor labels" + tag);
      DR_CHECK_CLOSE(gpu, ag.matched_gt_boxes, ac.matched_gt_boxes, 0, 0, "anchor boxes" + tag);
      ProposalTargets pc = assign_targets_to_proposals(cpu, Matcher::roi_heads(), anchors, gt, gl);
      ProposalTargets pg =
          assign_targets_to_proposals(gpu, Matcher::roi_heads(), up(anchors), up(gt), up(gl));
      DR_CHECK_CLOSE(gpu, pg.matched_idxs, pc.matched_idxs, 0, 0, "proposal idxs" + tag);
      DR_CHECK_CLOSE(gpu, pg.labels, pc.labels, 0, 0, "proposal labels" + tag);
    }
  }
}
