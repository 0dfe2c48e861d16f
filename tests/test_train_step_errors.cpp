// The training step's bad situations: degenerate target boxes (an error naming the image
// and the box, as torchvision raises), malformed targets, the wrong mode, and a NaN loss
// (train/step.h reports the iteration and the loss part, and leaves no gradient or tape
// behind so that nothing is updated). Also: an image without boxes trains normally.
#include <cmath>
#include <limits>

#include "detector/faster_rcnn.h"
#include "tests/testing.h"
#include "tests/train_helpers.h"
#include "train/step.h"

using namespace dr;

namespace {

struct Fixture {
  Context ctx{Device::cpu(), 3};
  FasterRCNN model{ctx, test::tiny_config()};
  std::vector<Tensor> images = {test::random_tensor(ctx, {3, 64, 64}, 0, 1),
                                test::random_tensor(ctx, {3, 48, 80}, 0, 1)};
  std::vector<Target> targets = {
      {Tensor::host_from<float>({0, 4}, {}), Tensor::host_from<int64_t>({0}, {})},
      {Tensor::host_from<float>({2, 4}, {4, 6, 20, 40, 30, 8, 46, 44}),
       Tensor::host_from<int64_t>({2}, {1, 3})}};
  Fixture() { model.train(true); }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("train step: a degenerate target box is an error naming the image and the box") {
  Fixture f;
  f.targets[1].boxes = Tensor::host_from<float>({2, 4}, {4, 6, 20, 40, 30, 8, 30, 44});  // x2 == x1
  const std::string err = error_of([&] { f.model.forward_train(f.ctx, f.images, f.targets); });
  INFO(err);
  CHECK(err.find("positive height and width") != std::string::npos);
  CHECK(err.find("image 1") != std::string::npos);
  CHECK(err.find("box 1") != std::string::npos);
  CHECK(f.ctx.tape().size() == 0);  // TrainingScope cleared the half-recorded tape
}

TEST_CASE("train step: malformed targets and the wrong mode are errors") {
  Fixture f;
  auto bad = f.targets;
  bad[1].labels = Tensor::host_from<int64_t>({1}, {1});  // 2 boxes, 1 label
  CHECK(error_of([&] { f.model.forward_train(f.ctx, f.images, bad); }).find("target 1") != std::string::npos);
  CHECK(error_of([&] { f.model.forward_train(f.ctx, f.images, {f.targets[0]}); }).find("targets") !=
        std::string::npos);
  f.model.train(false);
  CHECK(error_of([&] { f.model.forward_train(f.ctx, f.images, f.targets); }).find("eval mode") !=
        std::string::npos);
  f.model.train(true);
  CHECK(error_of([&] { f.model.detect(f.ctx, f.images); }).find("train(false)") != std::string::npos);
}

TEST_CASE("train step: finite losses give gradients; an image without boxes trains") {
  Fixture f;
  StepLosses l = forward_backward(f.ctx, f.model, f.images, f.targets, 0);
  REQUIRE(l.parts.size() == 4);
  CHECK(l.parts[0].first == "loss_classifier");
  CHECK(l.parts[3].first == "loss_rpn_box_reg");
  double sum = 0;
  for (auto& p : l.parts) {
    CHECK(std::isfinite(p.second));
    sum += p.second;
  }
  CHECK(l.total == doctest::Approx(sum));
  int with_grad = 0;
  for (const NamedTensor& nt : f.model.trainable_parameters()) with_grad += nt.tensor->has_grad();
  CHECK(with_grad == int(f.model.trainable_parameters().size()));
  CHECK(f.ctx.tape().size() == 0);
  // Only background images: both box losses are 0 and the step still runs.
  f.model.zero_grad();
  StepLosses bg = forward_backward(f.ctx, f.model, f.images, {f.targets[0], f.targets[0]}, 1);
  CHECK(bg.parts[1].second == 0.0);
  CHECK(bg.parts[3].second == 0.0);
}

TEST_CASE("train step: a NaN loss stops with the iteration and the loss part; nothing is left behind") {
  Fixture f;
  for (const NamedTensor& nt : f.model.named_parameters())
    if (nt.name == "roi_heads.box_predictor.cls_score.bias")
      nt.tensor->data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  std::string err;
  try {
    forward_backward(f.ctx, f.model, f.images, f.targets, 7);
  } catch (const NonFiniteError& e) {
    err = e.what();
  }
  INFO(err);
  CHECK(err.find("iteration 7") != std::string::npos);
  CHECK(err.find("loss_classifier is not finite") != std::string::npos);
  CHECK(f.ctx.tape().size() == 0);
  for (const NamedTensor& nt : f.model.trainable_parameters()) CHECK_FALSE(nt.tensor->has_grad());
}
