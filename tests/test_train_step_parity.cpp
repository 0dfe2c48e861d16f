// One training step against torchvision 0.14's model(images, targets) in training mode
// (tools/ref/train_step.py) for v1, v2, v2 + residual FPN and a resnet18 body, in f64 on
// both sides, on a batch of two images of different sizes (image 0 without boxes, image 1
// with boxes of several sizes, one touching the border). The samplers replay the indices
// torchvision drew (BalancedPositiveNegativeSampler::draw_hook), so every stage is
// deterministic and compared in order: the transform with its boxes, the RPN's outputs,
// anchor labels, regression targets and proposals, the RoI heads' sampled proposals,
// labels, targets and outputs, the four losses, the gradient of every trainable parameter,
// and the batch-norm running statistics after the step.
//
// Tolerance: both sides compute in f64, so differences come only from summation order
// (conv/GEMM blocking, reductions): 1e-9 of each tensor's scale (its largest magnitude)
// plus 1e-9 relative. Gradients use the model's largest gradient as the scale: some
// parameters' true gradient is zero (a conv bias feeding a training-mode BatchNorm), and
// both sides then hold rounding noise of ~1e-17.
#include <cmath>
#include <memory>

#include "detector/faster_rcnn.h"
#include "nn/weights.h"
#include "tests/testing.h"
#include "tests/train_helpers.h"

using namespace dr;

namespace {

constexpr double kTol = 1e-9;

double max_abs(Context& ctx, const Tensor& t) {
  double m = 0;
  for (double v : test::to_doubles(ctx, t))
    if (std::isfinite(v)) m = std::max(m, std::fabs(v));
  return m;
}

void check_f64(Context& ctx, const Tensor& actual, const Tensor& expected, const std::string& what,
               double scale = -1) {
  if (scale < 0) scale = max_abs(ctx, expected);
  DR_CHECK_CLOSE(ctx, actual, expected, kTol, kTol * std::max(scale, 1e-300), what);
}

std::vector<int64_t> ints(const Tensor& t) {
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.numel());
}

// Rows of a host (R, 4) tensor whose label (R) equals 1: the regression targets that
// the loss reads (the others may be -inf for an image without boxes).
Tensor positive_rows(Context& ctx, const Tensor& rows, const Tensor& labels) {
  Tensor r = ctx.to_host(rows), l = ctx.to_host(labels);
  std::vector<double> keep;
  for (int64_t i = 0; i < l.numel(); ++i) {
    const double v = l.dtype() == DType::I64 ? double(l.data<int64_t>()[i]) : l.data<double>()[i];
    if (v >= 1)
      for (int k = 0; k < 4; ++k) keep.push_back(r.data<double>()[4 * i + k]);
  }
  return Tensor::host_from<double>({int64_t(keep.size() / 4), 4}, keep);
}

void check_variant(const std::string& v) {
  INFO("variant " << v);
  const TensorFile& ref = test::reference("train_step");
  const std::string p = v + ".";
  const TensorFile weights = read_tensor_file(test::ref_dir() + "/train_step_" + v + ".weights.bin");
  const TensorFile grads = read_tensor_file(test::ref_dir() + "/train_step_" + v + ".grads.bin");
  Context ctx;
  // The dump's training settings (it samples 64 RoIs an image, not 512) join the config;
  // from_json ignores the keys that are not model settings.
  nlohmann::json cfg = weights.meta.at("config");
  for (auto& kv : ref.meta.at("train").items()) cfg[kv.key()] = kv.value();
  FasterRCNN model(ctx, ModelConfig::from_json(cfg));
  CHECK(model.roi_heads.fg_bg_sampler.batch_size_per_image == cfg.at("box_batch_size_per_image"));
  load_weights(ctx, model, weights);
  cast_floating(ctx, model, DType::F64);
  model.train(true);
  // Replay torchvision's draws.
  auto replay = [&ref, p](const std::string& stage) {
    return [&ref, p, stage](int64_t image, const Tensor&) {
      const std::string s = std::to_string(image);
      return BalancedPositiveNegativeSampler::Draw{ints(ref.get(p + stage + ".sampled_pos." + s)),
                                                   ints(ref.get(p + stage + ".sampled_neg." + s))};
    };
  };
  model.rpn.fg_bg_sampler.draw_hook = replay("rpn");
  model.roi_heads.fg_bg_sampler.draw_hook = replay("roi");

  std::vector<Tensor> images;
  std::vector<Target> targets;
  for (int i = 0; i < 2; ++i) {
    const std::string s = std::to_string(i);
    images.push_back(ref.get(p + "input.image." + s));
    targets.push_back({ref.get(p + "input.boxes." + s), ref.get(p + "input.labels." + s)});
  }
  CHECK(targets[0].boxes.size(0) == 0);  // the dump keeps an image without boxes
  FasterRCNN::TrainOutput t = model.forward_train(ctx, images, targets);

  check_f64(ctx, t.images.tensors, ref.get(p + "transform.tensors"), "transform");
  for (int i = 0; i < 2; ++i) {
    const std::string s = std::to_string(i);
    CHECK(t.images.image_sizes[i].first == ref.get(p + "transform.sizes").data<int64_t>()[2 * i]);
    CHECK(t.images.image_sizes[i].second == ref.get(p + "transform.sizes").data<int64_t>()[2 * i + 1]);
    check_f64(ctx, t.targets[i].boxes, ref.get(p + "transform.boxes." + s), "resized boxes " + s);
  }
  // RPN.
  DR_CHECK_CLOSE(ctx, t.rpn.anchors, ref.get(p + "rpn.anchors"), 0, 0, "anchors");
  check_f64(ctx, t.rpn.objectness, ref.get(p + "rpn.objectness"), "rpn objectness");
  check_f64(ctx, t.rpn.deltas, ref.get(p + "rpn.pred_bbox_deltas"), "rpn deltas");
  for (int i = 0; i < 2; ++i) {
    const std::string s = std::to_string(i);
    check_f64(ctx, t.rpn.boxes[i], ref.get(p + "rpn.proposals." + s), "proposals " + s);
    DR_CHECK_CLOSE(ctx, t.rpn_loss.targets[i].labels, ref.get(p + "rpn.labels." + s), 0, 0,
                   "anchor labels " + s);
    DR_CHECK_CLOSE(ctx, t.rpn_loss.targets[i].matched_gt_boxes,
                   ref.get(p + "rpn.matched_gt_boxes." + s), 0, 0, "matched gt boxes " + s);
    const int64_t a = t.rpn.anchors.size(0);
    check_f64(ctx, positive_rows(ctx, t.rpn_loss.regression_targets.narrow0(i * a, a),
                                 t.rpn_loss.targets[i].labels),
              positive_rows(ctx, ref.get(p + "rpn.regression_targets." + s), ref.get(p + "rpn.labels." + s)),
              "rpn regression targets of positives " + s);
  }
  // RoI heads.
  for (int i = 0; i < 2; ++i) {
    const std::string s = std::to_string(i);
    DR_CHECK_CLOSE(ctx, t.samples.sampled[i].both, ref.get(p + "roi.sampled_inds." + s), 0, 0,
                   "roi sampled indices " + s);
    check_f64(ctx, t.samples.proposals[i], ref.get(p + "roi.proposals." + s), "roi proposals " + s);
  }
  std::vector<Tensor> labels, regression;
  for (int i = 0; i < 2; ++i) {
    labels.push_back(ref.get(p + "roi.labels." + std::to_string(i)));
    regression.push_back(ref.get(p + "roi.regression_targets." + std::to_string(i)));
  }
  Tensor ref_labels = Tensor::host({labels[0].numel() + labels[1].numel()}, DType::I64);
  std::copy(labels[0].data<int64_t>(), labels[0].data<int64_t>() + labels[0].numel(), ref_labels.data<int64_t>());
  std::copy(labels[1].data<int64_t>(), labels[1].data<int64_t>() + labels[1].numel(),
            ref_labels.data<int64_t>() + labels[0].numel());
  DR_CHECK_CLOSE(ctx, t.samples.labels, ref_labels, 0, 0, "roi labels");
  const int64_t r0 = labels[0].numel();
  check_f64(ctx, positive_rows(ctx, t.samples.regression_targets.narrow0(r0, labels[1].numel()), labels[1]),
            positive_rows(ctx, regression[1], labels[1]), "roi regression targets of positives");
  check_f64(ctx, t.class_logits, ref.get(p + "roi.class_logits"), "class logits");
  check_f64(ctx, t.box_regression, ref.get(p + "roi.box_regression"), "box regression");

  // The four losses, by name and order, and their sum.
  const char* names[] = {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"};
  REQUIRE(t.losses.size() == 4);
  for (int k = 0; k < 4; ++k) {
    CHECK(t.losses[k].first == names[k]);
    check_f64(ctx, t.losses[k].second, ref.get(p + names[k]), names[k]);
  }
  check_f64(ctx, t.total, ref.get(p + "loss"), "loss");

  // Backward: every trainable parameter's gradient; frozen ones get none.
  ctx.backward(t.total);
  double scale = 0;
  for (const auto& kv : grads.tensors) scale = std::max(scale, max_abs(ctx, kv.second));
  REQUIRE(scale > 0);
  size_t trainable = 0, frozen = 0;
  double worst = 0;
  for (const NamedTensor& nt : model.named_parameters()) {
    const Tensor* g = grads.find("grad." + nt.name);
    if (g) {
      ++trainable;
      CHECK_MESSAGE(nt.tensor->requires_grad(), nt.name << " is frozen here but trained in torch");
      CHECK_MESSAGE(nt.tensor->has_grad(), nt.name << " got no gradient");
      if (nt.tensor->has_grad()) {
        check_f64(ctx, nt.tensor->grad(), *g, "grad " + nt.name, scale);
        worst = std::max(worst, test::compare(ctx, nt.tensor->grad(), *g, 0, 0, nt.name).max_abs / scale);
      }
    } else {
      ++frozen;
      CHECK_MESSAGE(!nt.tensor->requires_grad(), nt.name << " is trainable here but frozen in torch");
      CHECK_MESSAGE(!nt.tensor->has_grad(), nt.name << " is frozen but got a gradient");
    }
  }
  CHECK(trainable > 0);
  MESSAGE(v << ": " << trainable << " trainable parameters checked (max gradient error / scale "
            << worst << "), " << frozen << " frozen; total loss "
            << test::to_doubles(ctx, t.total)[0]);
  // Batch-norm running statistics after the step (v2's BatchNorm2d in training mode).
  size_t stats = 0;
  for (const NamedTensor& nt : model.named_tensors()) {
    const Tensor* s = ref.find(p + "state." + nt.name);
    if (!s) continue;
    ++stats;
    if (s->dtype() == DType::I64)
      DR_CHECK_CLOSE(ctx, *nt.tensor, *s, 0, 0, nt.name);
    else
      check_f64(ctx, *nt.tensor, *s, nt.name);
  }
  if (v != "v1") CHECK(stats > 0);
}

// f32: our step in single precision against torchvision's f64 truth. The RPN draws replay
// as in f64, but f32 cannot reproduce the proposal order (neighbouring proposal scores
// differ by ~1e-8 here, below f32 resolution), so the RoI heads run on torchvision's own
// proposals with its recorded RoI draws (the proposals are detached: a fixed input).
// Tolerances, measured: the losses agree to ~3e-6 relative (1e-4 allowed). v1's gradients
// (frozen batch norm) are within 1.5e-4 of the model's largest gradient (2e-3 allowed).
// v2's pass training-mode batch norms over as few as 12 values a channel, whose f32
// statistics lose digits: 1.6e-2 measured (the backbone's own f32 test saw 5-7% on single
// tensors), so there the bound is a gross-error check at 0.1 (a lost or doubled gradient
// path is O(1)); the exact check is the f64 parity above.
void check_variant_f32(const std::string& v, double grad_bound) {
  INFO("variant " << v << " (f32)");
  const TensorFile& ref = test::reference("train_step");
  const std::string p = v + ".";
  const TensorFile weights = read_tensor_file(test::ref_dir() + "/train_step_" + v + ".weights.bin");
  const TensorFile grads = read_tensor_file(test::ref_dir() + "/train_step_" + v + ".grads.bin");
  Context ctx;
  nlohmann::json cfg = weights.meta.at("config");
  for (auto& kv : ref.meta.at("train").items()) cfg[kv.key()] = kv.value();
  FasterRCNN model(ctx, ModelConfig::from_json(cfg));
  load_weights(ctx, model, weights);
  model.train(true);
  auto replay = [&ref, p](const std::string& stage) {
    return [&ref, p, stage](int64_t image, const Tensor&) {
      const std::string s = std::to_string(image);
      return BalancedPositiveNegativeSampler::Draw{ints(ref.get(p + stage + ".sampled_pos." + s)),
                                                   ints(ref.get(p + stage + ".sampled_neg." + s))};
    };
  };
  model.rpn.fg_bg_sampler.draw_hook = replay("rpn");
  model.roi_heads.fg_bg_sampler.draw_hook = replay("roi");
  auto f32 = [&ctx](const Tensor& t) {
    Tensor h = Tensor::host(t.shape(), DType::F32);
    std::vector<double> d = test::to_doubles(ctx, t);
    for (size_t i = 0; i < d.size(); ++i) h.data<float>()[i] = float(d[i]);
    return h;
  };
  std::vector<Tensor> images;
  std::vector<Target> targets;
  test::FixedDraws fixed;
  for (int i = 0; i < 2; ++i) {
    const std::string s = std::to_string(i);
    images.push_back(f32(ref.get(p + "input.image." + s)));
    targets.push_back({f32(ref.get(p + "input.boxes." + s)), ref.get(p + "input.labels." + s)});
    fixed.proposals.push_back(f32(ref.get(p + "rpn.proposals." + s)));
  }
  test::FixedLoss loss;
  {
    TrainingScope scope(ctx, model);
    loss = test::fixed_proposal_loss(ctx, model, images, targets, fixed);
    ctx.backward(loss.total);
  }
  for (auto& kv : loss.parts) DR_CHECK_CLOSE(ctx, kv.second, ref.get(p + kv.first), 1e-4, 0, kv.first);
  double scale = 0, worst = 0;
  for (const auto& kv : grads.tensors) scale = std::max(scale, max_abs(ctx, kv.second));
  for (const NamedTensor& nt : model.trainable_parameters()) {
    const Tensor* g = grads.find("grad." + nt.name);
    REQUIRE_MESSAGE(g, nt.name);
    REQUIRE_MESSAGE(nt.tensor->has_grad(), nt.name << " got no gradient");
    worst = std::max(worst, test::compare(ctx, nt.tensor->grad(), *g, 0, 0, nt.name).max_abs / scale);
  }
  MESSAGE(v << " f32: losses " << test::to_doubles(ctx, loss.total)[0] << " vs f64 "
            << test::to_doubles(ctx, ref.get(p + "loss"))[0] << "; worst gradient error / scale " << worst);
  CHECK(worst < grad_bound);
}

}  // namespace

TEST_CASE("train step in f32 against torchvision's f64 (v1, v2): losses, gradients as a sanity bound") {
  check_variant_f32("v1", 2e-3);
  check_variant_f32("v2", 0.1);
}

TEST_CASE("train step parity with torchvision (f64): v1") { check_variant("v1"); }
TEST_CASE("train step parity with torchvision (f64): v2") { check_variant("v2"); }
TEST_CASE("train step parity with torchvision (f64): v2 + residual FPN") { check_variant("v2res"); }
TEST_CASE("train step parity with torchvision (f64): resnet18 body") { check_variant("r18"); }
