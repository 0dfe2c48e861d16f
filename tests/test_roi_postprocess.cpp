// RoIHeads::postprocess_detections runs every image of a batch as a segment of one
// tensor (one filter read-back, one NMS). A batch must give each image exactly what that
// image gives alone, including images without proposals (empty segments), and labels
// must come from the class column; on CUDA it must match the CPU.
#include <memory>

#include "detector/roi_heads.h"
#include "tests/detections_match.h"
#include "tests/testing.h"

using namespace dr;

namespace {

constexpr int64_t kClasses = 5;

std::unique_ptr<RoIHeads> make_heads(Context& ctx) {
  return std::make_unique<RoIHeads>(ctx, std::make_unique<TwoMLPHead>(ctx, 4 * 49, 8), kClasses,
                                    RoIHeadsConfig{});
}

// k proposals inside a (h, w) image, with positive size.
Tensor proposals(Context& ctx, int64_t k, double h, double w) {
  std::vector<double> u = test::to_doubles(ctx, test::random_tensor(ctx, {k, 4}, 0, 1));
  std::vector<float> b;
  for (int64_t i = 0; i < k; ++i) {
    double x1 = u[4 * i] * w * 0.7, y1 = u[4 * i + 1] * h * 0.7;
    b.insert(b.end(), {float(x1), float(y1), float(x1 + 2 + u[4 * i + 2] * w * 0.3),
                       float(y1 + 2 + u[4 * i + 3] * h * 0.3)});
  }
  return Tensor::host_from<float>({k, 4}, b);
}

struct Problem {
  std::vector<Tensor> props;
  std::vector<ImageSize> sizes;
  Tensor logits, regression;  // (sum k, C), (sum k, 4 C)
};

Problem make_problem(Context& ctx) {
  Problem p;
  p.sizes = {{40, 90}, {30, 30}, {64, 50}, {20, 70}};
  const std::vector<int64_t> ks = {37, 0, 61, 5};
  int64_t total = 0;
  for (size_t i = 0; i < ks.size(); ++i) {
    p.props.push_back(proposals(ctx, ks[i], double(p.sizes[i].first), double(p.sizes[i].second)));
    total += ks[i];
  }
  // Logits over a few units: many (row, class) pairs above 0.05, some below.
  p.logits = test::random_tensor(ctx, {total, kClasses}, -4, 4);
  p.regression = test::random_tensor(ctx, {total, 4 * kClasses}, -0.5, 0.5);
  return p;
}

}  // namespace

TEST_CASE("roi_heads: postprocess of a batch equals each image alone, empty images included") {
  Context ctx(Device::cpu(), 3);
  auto heads = make_heads(ctx);
  heads->cfg.nms_thresh = 0.4;
  heads->cfg.detections_per_img = 20;  // some images hit the cap
  Problem p = make_problem(ctx);
  std::vector<Detections> all =
      heads->postprocess_detections(ctx, p.logits, p.regression, p.props, p.sizes);
  REQUIRE(all.size() == p.props.size());
  int64_t row = 0, total = 0;
  for (size_t i = 0; i < p.props.size(); ++i) {
    const int64_t k = p.props[i].size(0);
    std::vector<Detections> one = heads->postprocess_detections(
        ctx, p.logits.narrow0(row, k), p.regression.narrow0(row, k), {p.props[i]}, {p.sizes[i]});
    row += k;
    const std::string s = std::to_string(i);
    DR_CHECK_CLOSE(ctx, all[i].boxes, one[0].boxes, 0, 0, "boxes of image " + s);
    DR_CHECK_CLOSE(ctx, all[i].scores, one[0].scores, 0, 0, "scores of image " + s);
    DR_CHECK_CLOSE(ctx, all[i].labels, one[0].labels, 0, 0, "labels of image " + s);
    for (double l : test::to_doubles(ctx, all[i].labels)) CHECK((l >= 1 && l < kClasses));
    for (double v : test::to_doubles(ctx, all[i].scores)) CHECK(v > 0.05);
    CHECK(all[i].scores.numel() <= 20);
    total += all[i].scores.numel();
  }
  CHECK(all[1].scores.numel() == 0);
  CHECK(all[0].scores.numel() == 20);  // the cap is reached: the test exercises it
  CHECK(total > 20);
}

TEST_CASE("gpu: RoIHeads postprocess_detections matches the CPU (random batch, empty image)") {
  Context cpu(Device::cpu(), 3), gpu(Device::cuda(0), 3);
  auto hc = make_heads(cpu);
  auto hg = make_heads(gpu);
  Problem p = make_problem(cpu);
  std::vector<Tensor> props_g;
  for (const Tensor& t : p.props) props_g.push_back(gpu.to(t, gpu.device()));
  auto dc = hc->postprocess_detections(cpu, p.logits, p.regression, p.props, p.sizes);
  auto dg = hg->postprocess_detections(gpu, gpu.to(p.logits, gpu.device()),
                                       gpu.to(p.regression, gpu.device()), props_g, p.sizes);
  for (size_t i = 0; i < dc.size(); ++i) {
    // Same inputs, per-element math only: device expf / FMA contraction differences.
    std::string err = test::match_detections(gpu, {dg[i].boxes, dg[i].scores, dg[i].labels},
                                             {dc[i].boxes, dc[i].scores, dc[i].labels}, 1e-4, 1e-6);
    CHECK_MESSAGE(err.empty(), "image " << i << ": " << err);
  }
}
