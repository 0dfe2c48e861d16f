// The autograd tape as a training step uses it: no op drops a gradient silently, a
// failing backward leaves no half-accumulated gradient behind, backward does not record.
// (Per-op gradients are checked by finite differences beside each op's own tests.)
#include <algorithm>
#include <cmath>
#include <functional>
#include <new>
#include <string>

#include "detector/boxes.h"
#include "detector/faster_rcnn.h"
#include "detector/matcher.h"
#include "detector/select_ops.h"
#include "detector/nms.h"
#include "detector/roi_align.h"
#include "detector/segments.h"
#include "detector/topk.h"
#include "detector/transform.h"
#include "nn/functional.h"
#include "tests/testing.h"

using namespace dr;

namespace {

// A small v2 model (BatchNorm2d everywhere) that runs in well under a second on 64 px.
ModelConfig small_config(const std::string& arch = "v2") {
  ModelConfig c;
  c.arch = arch;
  c.backbone = "resnet18";
  c.num_classes = 11;
  c.min_size = 64;
  c.max_size = 64;
  c.rpn_pre_nms_top_n_test = 50;
  c.rpn_post_nms_top_n_test = 20;
  return c;
}

// Every batch norm of the model (BatchNorm2d modules and the BatchNorm2d inside a Norm2d).
std::vector<const Module*> batch_norms(FasterRCNN& m) {
  std::vector<const Module*> out;
  for (auto& nm : m.named_modules()) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(nm.second)) out.push_back(bn);
    if (auto* n = dynamic_cast<Norm2d*>(nm.second))
      if (n->batch()) out.push_back(n->batch());
  }
  return out;
}

}  // namespace

TEST_CASE("tape: every op without a backward refuses an input needing a gradient while recording") {
  Context ctx(Device::cpu(), 21);
  Tensor boxes = Tensor::host_from<float>({2, 4}, {0, 0, 10, 10, 2, 2, 8, 9});
  Tensor scores = Tensor::host_from<float>({2}, {0.9f, 0.4f});
  Tensor rois = Tensor::host_from<float>({1, 5}, {0, 1, 1, 6, 6});
  Tensor feat = test::random_tensor(ctx, {1, 2, 8, 8});
  Tensor image = test::random_tensor(ctx, {3, 5, 6}, 0, 1);
  Tensor c4 = Tensor::host_from<float>({4}, {1, 1, 1, 1});
  Tensor iou = Tensor::host_from<float>({1, 2}, {0.8f, 0.1f});
  BoxCoder coder;
  GeneralizedRCNNTransform tr;
  tr.min_sizes = {10};
  tr.max_size = 20;
  // Each entry: op name as the error names it, the call, the tensor to mark.
  struct Case {
    std::string op;
    Tensor* marked;
    std::function<void()> call;
  };
  std::vector<Case> cases = {
      {"box_area", &boxes, [&] { box_area(ctx, boxes); }},
      {"box_iou", &boxes, [&] { box_iou(ctx, boxes, boxes); }},
      {"clip_boxes_to_image", &boxes, [&] { clip_boxes_to_image(ctx, boxes, 5, 5); }},
      {"remove_small_boxes", &boxes, [&] { remove_small_boxes(ctx, boxes, 1.0); }},
      {"resize_boxes", &boxes, [&] { resize_boxes(ctx, boxes, 10, 10, 20, 20); }},
      {"BoxCoder.encode", &boxes, [&] { coder.encode(ctx, boxes, boxes); }},
      {"BoxCoder.decode", &boxes, [&] { coder.decode(ctx, boxes, boxes); }},
      {"clip_boxes_segments", &boxes, [&] { clip_boxes_segments(ctx, boxes, {0, 2}, {{5, 5}}); }},
      {"filter_boxes_segments", &scores,
       [&] { filter_boxes_segments(ctx, boxes, scores, {0, 2}, 0.1, 0.5, false); }},
      {"nms", &scores, [&] { nms(ctx, boxes, scores, 0.5); }},
      {"top_n_per_level", &scores,
       [&] { top_n_per_level(ctx, scores.reshape({1, 2}), {2}, 1); }},
      {"map_levels", &rois, [&] { map_levels(ctx, rois, LevelMapperConfig{}); }},
      {"roi_align (rois)", &rois, [&] { roi_align(ctx, feat, rois, 2, 2, 1.0, 2); }},
      {"boxes_to_rois", &boxes, [&] { boxes_to_rois(ctx, {boxes}); }},
      {"resize_bilinear", &feat, [&] { resize_bilinear(ctx, feat, 4, 4); }},
      {"accumulate", &c4, [&] { accumulate(ctx, Tensor::host_zeros({4}), c4); }},
      {"frozen_batch_norm2d (weight, bias, running_mean, running_var)", &c4,
       [&] {
         Tensor x = test::random_tensor(ctx, {1, 4, 2, 2});
         frozen_batch_norm2d(ctx, x, c4, c4, c4, c4);
       }},
      {"batch_norm2d (running statistics)", &c4,
       [&] {
         Tensor x = test::random_tensor(ctx, {2, 4, 2, 2});
         batch_norm2d(ctx, x, Tensor(), Tensor(), c4, c4, true);
       }},
      {"GeneralizedRCNNTransform.normalize", &image, [&] { tr.forward(ctx, {image}); }},
      {"Matcher", &iou, [&] { Matcher(0.7, 0.3, true)(ctx, iou); }},
  };
  for (Case& c : cases) {
    CAPTURE(c.op);
    c.marked->set_requires_grad(true);
    {
      GradModeGuard on(ctx, true);
      CHECK_THROWS_WITH_AS(c.call(), doctest::Contains((c.op + ": input").c_str()), Error);
    }
    CHECK_NOTHROW(c.call());  // not recording: nothing can be lost
    c.marked->set_requires_grad(false);
    GradModeGuard on(ctx, true);
    CHECK_NOTHROW(c.call());  // recording, but nothing needs a gradient
  }
  CHECK(ctx.tape().size() == 0);
}

TEST_CASE("tape: backward closures run with recording off") {
  Context ctx;
  Tensor x = Tensor::host_from<double>({2}, {1, 2});
  x.set_requires_grad(true);
  GradModeGuard on(ctx, true);
  Tensor y = relu(ctx, x);
  bool seen = true;
  Tensor z = add(ctx, y, y);
  // An identity op by hand: w = z, whose backward notes the mode and passes dw on to z.
  Tensor w = ctx.clone(z);
  w.set_requires_grad(true);
  ctx.tape().push("probe", {w}, [&] {
    seen = ctx.grad_enabled();
    accumulate(ctx, ctx.grad_buffer(z), w.grad());
  });
  ctx.backward(w, Tensor::host_from<double>({2}, {1, 1}));
  CHECK_FALSE(seen);
  CHECK(ctx.grad_enabled());  // restored after backward
  CHECK(test::to_doubles(ctx, x.grad()) == std::vector<double>{2, 2});
}

TEST_CASE("tape: a backward that throws midway leaves no gradient it created or wrote") {
  Context ctx;
  // a, b, c, d are leaves. Forward (recording): s = a + b; t = "explode"(s); out = t + c.
  // d had a gradient from an earlier step and is not on this tape.
  auto leaf = [](std::vector<double> v) {
    Tensor t = Tensor::host_from<double>({int64_t(v.size())}, v);
    t.set_requires_grad(true);
    return t;
  };
  Tensor a = leaf({1, 2}), b = leaf({3, 4}), c = leaf({5, 6}), d = leaf({7, 8});
  ctx.grad_buffer(d).data<double>()[0] = 42;
  Tensor cprev = ctx.grad_buffer(c);  // c too had a gradient from an earlier step
  cprev.data<double>()[1] = 1;
  Tensor out;
  {
    GradModeGuard on(ctx, true);
    Tensor s = add(ctx, a, b);
    Tensor t = ctx.empty_like(s);
    t.set_requires_grad(true);
    // Writes part of a's gradient, then fails: the half-done state must not survive.
    ctx.tape().push("explode", {t}, [&ctx, a]() {
      ctx.grad_buffer(a).data<double>()[0] += 1;
      DR_FAIL("boom");
    });
    out = add(ctx, t, c);
    REQUIRE(ctx.tape().size() == 3);
  }
  try {
    ctx.backward(out, Tensor::host_from<double>({2}, {1, 1}));
    FAIL("backward should have thrown");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("in backward of explode") != std::string::npos);
    CHECK(msg.find("boom") != std::string::npos);
    CHECK(msg.find("tape was cleared") != std::string::npos);
    CHECK(msg.find("dropped") != std::string::npos);
  }
  CHECK(ctx.tape().size() == 0);
  CHECK_FALSE(a.has_grad());    // created and half written by the failing closure
  CHECK_FALSE(c.has_grad());    // written (+=) by "add" before the failure
  CHECK_FALSE(out.has_grad());  // the seed
  CHECK_FALSE(b.has_grad());    // never reached
  REQUIRE(d.has_grad());        // untouched by this backward: kept
  CHECK(d.grad().data<double>()[0] == 42);
  // The context is usable again: a new forward and backward work.
  GradModeGuard on(ctx, true);
  Tensor y = add(ctx, a, b);
  ctx.backward(y, Tensor::host_from<double>({2}, {1, 1}));
  CHECK(test::to_doubles(ctx, a.grad()) == std::vector<double>{1, 1});
}

TEST_CASE("tape: a non-dr exception in a closure is reported and cleaned up the same way") {
  Context ctx;
  Tensor x = Tensor::host_from<double>({1}, {1});
  x.set_requires_grad(true);
  Tensor y;
  {
    GradModeGuard on(ctx, true);
    y = relu(ctx, x);
    ctx.tape().push("bad_alloc", {y}, [] { throw std::bad_alloc(); });
  }
  CHECK_THROWS_WITH_AS(ctx.backward(y), doctest::Contains("in backward of bad_alloc"), Error);
  CHECK(ctx.tape().size() == 0);
  CHECK_FALSE(y.has_grad());
  CHECK_FALSE(x.has_grad());
}

TEST_CASE("train: FasterRCNN::train is the one switch (batch norms, RPN, transform)") {
  Context ctx(Device::cpu(), 31);
  FasterRCNN m(ctx, small_config());
  auto bns = batch_norms(m);
  REQUIRE(bns.size() > 20);  // body, FPN and box head norms of a v2 model
  for (bool on : {true, false, true}) {
    m.train(on);
    CHECK(m.is_training() == on);
    CHECK(m.transform.training == on);
    CHECK(m.rpn.is_training() == on);
    CHECK(m.roi_heads.is_training() == on);
    int wrong = 0;
    for (const Module* bn : bns) wrong += bn->is_training() != on;
    CHECK(wrong == 0);
  }
}

TEST_CASE("train: eval forwards never record and refuse a model in training mode") {
  Context ctx(Device::cpu(), 32);
  FasterRCNN m(ctx, small_config());
  Tensor image = test::random_tensor(ctx, {3, 48, 64}, 0, 1);
  m.train(false);
  ctx.set_grad_enabled(true);  // even with recording on, detect records nothing
  auto t = m.forward_trace(ctx, {image});
  CHECK(ctx.tape().size() == 0);
  CHECK(ctx.grad_enabled());  // the caller's mode is restored
  CHECK_FALSE(t.rpn.objectness.requires_grad());
  CHECK_FALSE(t.roi.class_logits.requires_grad());
  ctx.set_grad_enabled(false);
  m.train(true);
  CHECK_THROWS_WITH_AS(m.detect(ctx, {image}), doctest::Contains("call train(false) first"), Error);
}

TEST_CASE("train: TrainingScope checks the mode and the tape, records for its lifetime") {
  Context ctx(Device::cpu(), 33);
  FasterRCNN m(ctx, small_config("v1"));
  m.train(false);
  CHECK_THROWS_WITH_AS(TrainingScope(ctx, m), doctest::Contains("call train(true)"), Error);
  m.train(true);
  CHECK_FALSE(ctx.grad_enabled());
  {
    TrainingScope scope(ctx, m);
    CHECK(ctx.grad_enabled());
    // A forward that is never backpropagated leaves its tape behind...
    Tensor x = test::random_tensor(ctx, {1, 256, 4, 4});
    m.rpn.head.cls_logits->forward(ctx, x);
    CHECK(ctx.tape().size() == 1);
  }
  CHECK_FALSE(ctx.grad_enabled());
  // ...and the next training forward refuses to start on it.
  CHECK_THROWS_WITH_AS(TrainingScope(ctx, m),
                       doctest::Contains("a training forward must start on an empty tape"), Error);
  ctx.tape().clear();
  // A scope left by an exception clears what it recorded.
  try {
    TrainingScope scope(ctx, m);
    Tensor x = test::random_tensor(ctx, {1, 256, 4, 4});
    m.rpn.head.cls_logits->forward(ctx, x);
    DR_FAIL("forward failed");
  } catch (const Error&) {
  }
  CHECK(ctx.tape().size() == 0);
  CHECK_FALSE(ctx.grad_enabled());
  CHECK_NOTHROW(TrainingScope(ctx, m));
}

namespace {

// (all, trainable) counts of a model's parameters matching a predicate.
struct Count {
  int all = 0, trainable = 0;
  bool operator==(const Count& o) const { return all == o.all && trainable == o.trainable; }
};
doctest::String toString(const Count& c) {
  return ("(" + std::to_string(c.all) + ", " + std::to_string(c.trainable) + ")").c_str();
}
Count count(const std::vector<NamedTensor>& ps, const std::function<bool(const NamedTensor&)>& f) {
  Count c;
  for (const NamedTensor& p : ps)
    if (f(p)) {
      c.all++;
      c.trainable += p.tensor->requires_grad();
    }
  return c;
}

}  // namespace

TEST_CASE("params: tags of v1/v2 models equal torchvision's groups, frozen parts are not trainable") {
  // Expected counts come from tools/tv_models.py build_model(config) in torch: parameters
  // of nn.BatchNorm2d modules, names ending in "bias", the backbone.body / backbone.fpn /
  // rpn / roi_heads prefixes, and the body's stem and layer1..4, each as (all, requires_grad)
  // with trainable_layers = 3 (stem and layer1 frozen).
  struct Want {
    std::string arch, backbone;
    Count all, norm, bias, body, fpn, rpn, roi, stem;
    Count layers[4];
  };
  const Want wants[] = {
      {"v2", "resnet50", {209, 176}, {130, 108}, {72, 61}, {159, 126}, {24, 24}, {8, 8}, {18, 18},
       {3, 0}, {{30, 0}, {39, 39}, {57, 57}, {30, 30}}},
      {"v1", "resnet50", {83, 72}, {0, 0}, {15, 15}, {53, 42}, {16, 16}, {6, 6}, {8, 8},
       {1, 0}, {{10, 0}, {13, 13}, {19, 19}, {10, 10}}},
      {"v2", "resnet18", {110, 95}, {64, 54}, {39, 34}, {60, 45}, {24, 24}, {8, 8}, {18, 18},
       {3, 0}, {{12, 0}, {15, 15}, {15, 15}, {15, 15}}},
  };
  for (const Want& w : wants) {
    CAPTURE(w.arch);
    CAPTURE(w.backbone);
    Context ctx(Device::cpu(), 41);
    ModelConfig cfg = small_config(w.arch);
    cfg.backbone = w.backbone;
    FasterRCNN m(ctx, cfg);
    auto ps = m.named_parameters();
    auto stage = [](const char* s) { return [s](const NamedTensor& p) { return p.tags.stage == s; }; };
    CHECK(count(ps, [](const NamedTensor&) { return true; }) == w.all);
    CHECK(count(ps, [](const NamedTensor& p) { return p.tags.norm; }) == w.norm);
    CHECK(count(ps, [](const NamedTensor& p) { return p.tags.bias; }) == w.bias);
    CHECK(count(ps, stage("backbone.body")) == w.body);
    CHECK(count(ps, stage("backbone.fpn")) == w.fpn);
    CHECK(count(ps, stage("rpn")) == w.rpn);
    CHECK(count(ps, stage("roi_heads")) == w.roi);
    CHECK(count(ps, [](const NamedTensor& p) { return p.tags.body_layer == 0; }) == w.stem);
    for (int l = 1; l <= 4; ++l)
      CHECK(count(ps, [l](const NamedTensor& p) { return p.tags.body_layer == l; }) == w.layers[l - 1]);
    // Every parameter has a stage; body_layer only inside the body; names agree with tags.
    for (const NamedTensor& p : ps) {
      CAPTURE(p.name);
      CHECK_FALSE(p.tags.stage.empty());
      CHECK(p.name.rfind(p.tags.stage + ".", 0) == 0);
      CHECK((p.tags.body_layer >= 0) == (p.tags.stage == "backbone.body"));
      CHECK(p.tags.bias == (p.name.size() > 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0));
    }
    // trainable_parameters is exactly the requires_grad subset, frozen stages excluded.
    auto tr = m.trainable_parameters();
    CHECK(int(tr.size()) == w.all.trainable);
    for (const NamedTensor& p : tr) CHECK(p.tags.body_layer != 0);
    for (const NamedTensor& p : tr) CHECK(p.tags.body_layer != 1);
    // FrozenBatchNorm2d's weight and bias are buffers (never parameters, never trainable).
    if (w.arch == "v1") {
      bool seen = false;
      for (const NamedTensor& t : m.named_tensors())
        if (t.name == "backbone.body.layer2.0.bn1.weight") seen = !t.is_parameter;
      CHECK(seen);
    }
  }
}

namespace {

// L = sum_l sum(out_l * r_l) over every FPN level, r random: one backward reaches every
// level (a plain sum would give exactly zero gradients through training-mode batch norms).
void backward_through_levels(Context& ctx, const FeatureMaps& maps) {
  std::vector<Tensor> flat;
  for (const auto& level : maps) flat.push_back(level.second.reshape({level.second.numel()}));
  Tensor all = cat0(ctx, flat);
  ctx.backward(all, test::random_tensor(ctx, all.shape(), -1, 1));
}

bool all_zero(Context& ctx, const Tensor& t) {
  for (double v : test::to_doubles(ctx, t))
    if (v != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("graph: an op without a backward on a training path fails with its name") {
  Context ctx(Device::cpu(), 51);
  BackboneOptions o;
  o.resnet = "resnet18";
  BackboneWithFPN bb(ctx, o);
  bb.train(true);
  Tensor images = test::random_tensor(ctx, {2, 3, 64, 64});
  try {
    TrainingScope scope(ctx, bb);
    FeatureMaps maps = bb.forward(ctx, images);
    sigmoid(ctx, maps[0].second);  // e.g. a loss written with the inference-only sigmoid
    FAIL("sigmoid of a tensor requiring a gradient should throw while recording");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("sigmoid: input 0") != std::string::npos);
  }
  CHECK(ctx.tape().size() == 0);  // the scope dropped the half-recorded forward
}

TEST_CASE("graph: after a training step every trainable parameter has a gradient, no frozen one") {
  // resnet18-FPN backbones on two 64 px images: v1-like (FrozenBatchNorm2d body, stem and
  // layer1 frozen) and v2-like with the residual FPN (BatchNorm2d everywhere, layer4 and
  // layer3 trainable only).
  for (bool v2 : {false, true}) {
    CAPTURE(v2);
    Context ctx(Device::cpu(), 52);
    BackboneOptions o;
    o.resnet = "resnet18";
    if (v2) {
      o.body_norm = NormKind::BatchNorm;
      o.fpn_norm = true;
      o.res_fpn = true;
      o.trainable_layers = 2;
    }
    BackboneWithFPN bb(ctx, o);
    bb.train(true);
    Tensor images = test::random_tensor(ctx, {2, 3, 64, 64});
    {
      TrainingScope scope(ctx, bb);
      FeatureMaps maps = bb.forward(ctx, images);
      REQUIRE(maps.size() == 5);
      backward_through_levels(ctx, maps);
    }
    CHECK(ctx.tape().size() == 0);
    int trainable = 0, frozen = 0;
    for (const NamedTensor& p : bb.named_parameters()) {
      CAPTURE(p.name);
      if (p.tensor->requires_grad()) {
        ++trainable;
        REQUIRE(p.tensor->has_grad());
        CHECK_FALSE(all_zero(ctx, p.tensor->grad()));
      } else {
        ++frozen;
        CHECK_FALSE(p.tensor->has_grad());
      }
    }
    CHECK(trainable > 0);
    CHECK(frozen > 0);
    // Buffers (FrozenBatchNorm2d's weight/bias, running statistics) never get one.
    for (const NamedTensor& t : bb.named_tensors())
      if (!t.is_parameter) CHECK_FALSE(t.tensor->has_grad());
  }
}

TEST_CASE("gpu: a training backward through the tape on CUDA matches the CPU (views, cat0, gather)") {
  // The same resnet18-FPN (FrozenBatchNorm2d body, stem and layer1 frozen) on both devices;
  // the loss takes the RPN's path: permute_flatten per level, per-image narrow0 slices of a
  // reshape, cat0, then a gather of some rows (a sampler's pick), L = sum(rows * r).
  Context cpu(Device::cpu(), 61), gpu(Device::cuda(0), 61);
  BackboneOptions o;
  o.resnet = "resnet18";
  BackboneWithFPN bc(cpu, o), bg(gpu, o);
  auto tc = bc.named_tensors(), tg = bg.named_tensors();
  REQUIRE(tc.size() == tg.size());
  for (size_t i = 0; i < tc.size(); ++i) gpu.copy(*tg[i].tensor, *tc[i].tensor);
  bc.train(true);
  bg.train(true);
  Tensor images = test::random_tensor(cpu, {2, 3, 64, 64});
  // Rows per image: 64 anchors-worth of channels over 16x16, 8x8, 4x4, 2x2, 1x1 = 21824;
  // the picks touch every level of image 0, two of image 1, and row 0 twice.
  Tensor pick = Tensor::host_from<int64_t>({8}, {0, 17000, 20500, 21600, 21800, 21829, 38308, 0});
  auto loss_rows = [&](Context& ctx, BackboneWithFPN& bb, const Tensor& im, const Tensor& idx) {
    FeatureMaps maps = bb.forward(ctx, im);
    std::vector<Tensor> flat, parts;
    for (const auto& m : maps) flat.push_back(permute_flatten(ctx, m.second, 4));  // (N, HW*64, 4)
    for (int64_t i = 0; i < 2; ++i)
      for (const Tensor& f : flat)
        parts.push_back(f.reshape({2 * f.size(1), 4}).narrow0(i * f.size(1), f.size(1)));
    return gather_rows(ctx, cat0(ctx, parts), idx);  // (8, 4)
  };
  Tensor r = test::random_tensor(cpu, {8, 4});
  {
    TrainingScope sc(cpu, bc);
    cpu.backward(loss_rows(cpu, bc, images, pick), r);
  }
  {
    TrainingScope sg(gpu, bg);
    gpu.backward(loss_rows(gpu, bg, gpu.to(images, gpu.device()), gpu.to(pick, gpu.device())),
                 gpu.to(r, gpu.device()));
  }
  // cuDNN and im2col sum in different orders through ~20 layers: compare each gradient
  // relative to its own scale (1e-3 of max |g|), which a wrong index or a lost slice fails.
  auto pc = bc.named_parameters(), pg = bg.named_parameters();
  int compared = 0;
  for (size_t i = 0; i < pc.size(); ++i) {
    CAPTURE(pc[i].name);
    REQUIRE(pc[i].tensor->has_grad() == pg[i].tensor->has_grad());
    if (!pc[i].tensor->has_grad()) continue;
    double scale = 0;
    for (double v : test::to_doubles(cpu, pc[i].tensor->grad())) scale = std::max(scale, std::fabs(v));
    DR_CHECK_CLOSE(gpu, pg[i].tensor->grad(), pc[i].tensor->grad(), 1e-3, 1e-3 * scale + 1e-12,
                   pc[i].name + " gradient");
    ++compared;
  }
  CHECK(compared > 40);
}
