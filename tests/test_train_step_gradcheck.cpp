// Finite differences of the whole Faster R-CNN training loss (the sum of the four
// losses) with respect to single parameters of a tiny model (v2 layout on a resnet18 body,
// 64 px images, few RoIs), in f64 on the CPU. This checks the composition of every
// backward on the training path (backbone, FPN, RPN head, the per-anchor gathers, RoIAlign,
// the box head, the predictor, the four losses) in one number per parameter.
//
// The loss is a function of the parameters only where the discrete choices are held
// fixed: the sampled anchors/RoIs (replayed from the first run through draw_hook) and the
// proposals, which torchvision detaches (their gradient is defined as zero, so the
// function differentiated is the loss with the proposals of the unperturbed run). The
// step below is FasterRCNN::forward_train spelled out with the proposals as an input.
#include <cmath>

#include "detector/faster_rcnn.h"
#include "nn/functional.h"
#include "nn/init.h"
#include "nn/weights.h"
#include "tests/testing.h"
#include "tests/train_helpers.h"

using namespace dr;
using namespace dr::test;

namespace {

// The network has ~1e5 ReLU and max-pool decision points; a perturbation moves some
// across their kink, which bends the finite difference. Measured on this model: the
// numeric derivative of a stem weight moves by ~1e-3 relative between eps 1e-5, 1e-6
// and 1e-7 around the analytic value, layer2..4 and head weights by < 1e-4. A lost or
// doubled gradient path is an O(1) error (a missing RPN path measured 15-100%), so
// 5e-3 is a gross-error check; the exact check is the f64 torchvision parity test
// (tests/test_train_step_parity.cpp, 1e-9 of the scale).
constexpr double kRtol = 5e-3;

}  // namespace

TEST_CASE("train step: finite differences of the whole loss w.r.t. parameters of a tiny model (f64)") {
  Context ctx(Device::cpu(), 5);
  FasterRCNN m(ctx, tiny_config());
  cast_floating(ctx, m, DType::F64);
  m.train(true);
  Rng draw_rng(11);
  FixedDraws fixed;
  m.rpn.fg_bg_sampler.draw_hook = record_or_replay(fixed.rpn, draw_rng, 32, 0.5);
  m.roi_heads.fg_bg_sampler.draw_hook = record_or_replay(fixed.roi, draw_rng, 16, 0.25);

  std::vector<Tensor> images = {test::random_tensor(ctx, {3, 64, 64}, 0, 1, DType::F64),
                                test::random_tensor(ctx, {3, 56, 72}, 0, 1, DType::F64)};
  std::vector<Target> targets = {
      {Tensor::host_from<double>({0, 4}, {}), Tensor::host_from<int64_t>({0}, {})},
      {Tensor::host_from<double>({3, 4}, {4, 6, 20, 40, 22, 8, 36, 44, 40, 0, 72, 30}),
       Tensor::host_from<int64_t>({3}, {1, 2, 3})}};

  Tensor loss;
  {
    GradModeGuard rec(ctx, true);
    loss = fixed_proposal_loss(ctx, m, images, targets, fixed).total;
  }
  ctx.backward(loss);
  const double l0 = loss.item<double>();
  REQUIRE(std::isfinite(l0));

  // One entry in each part of the path, in data-flow order.
  const char* names[] = {"backbone.body.conv1.weight", "backbone.body.layer2.0.bn1.weight",
                         "backbone.body.layer4.1.conv2.weight", "backbone.fpn.layer_blocks.2.0.weight",
                         "rpn.head.conv.0.0.weight", "rpn.head.cls_logits.bias", "rpn.head.bbox_pred.weight",
                         "roi_heads.box_head.0.0.weight", "roi_heads.box_head.5.weight",
                         "roi_heads.box_predictor.cls_score.weight", "roi_heads.box_predictor.bbox_pred.bias"};
  Rng pick(3);
  int checked = 0;
  for (const NamedTensor& nt : m.named_parameters()) {
    bool wanted = false;
    for (const char* n : names) wanted = wanted || nt.name == n;
    if (!wanted) continue;
    ++checked;
    REQUIRE_MESSAGE(nt.tensor->has_grad(), nt.name << " got no gradient");
    Tensor g = nt.tensor->grad();
    // A few entries of each tensor; for bbox_pred.bias the ones of a present class.
    for (int rep = 0; rep < 2; ++rep) {
      const int64_t i = pick.randint(nt.tensor->numel());
      double* x = nt.tensor->data<double>() + i;
      const double keep = *x, eps = 1e-7;
      auto eval = [&]() {
        GradModeGuard off(ctx, false);
        return fixed_proposal_loss(ctx, m, images, targets, fixed).total.item<double>();
      };
      *x = keep + eps;
      const double lp = eval();
      *x = keep - eps;
      const double lm = eval();
      *x = keep;
      const double numeric = (lp - lm) / (2 * eps), analytic = g.data<double>()[i];
      INFO(nt.name << "[" << i << "]: analytic " << analytic << ", numeric " << numeric);
      CHECK(std::fabs(analytic - numeric) <= kRtol * std::fabs(numeric) + 1e-7);
    }
  }
  CHECK(checked == int(sizeof(names) / sizeof(names[0])));
}
