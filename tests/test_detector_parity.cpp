// Whole-model parity with torchvision's eval forward (tools/ref/detector.py) for v1, v2
// and v2 + residual FPN at 11 classes, stage by stage on a batch of two images of
// different sizes.
//
// Tolerances: every stage after the backbone inherits its ~1e-5 relative float error
// (50+ layers of f32 accumulation in a different order than torch), so continuous
// outputs are held to rtol 1e-4 plus an absolute 1e-4 of the tensor's largest magnitude.
// Boxes are in pixels (images up to 160 px): 2e-3 px; probabilities 1e-4. Proposals and
// detections are compared as sets (their order among equal scores is not meaningful).
#include <memory>

#include "detector/faster_rcnn.h"
#include "nn/weights.h"
#include "tests/detections_match.h"
#include "tests/testing.h"

using namespace dr;

namespace {

std::unique_ptr<FasterRCNN> load_model(Context& ctx, const std::string& variant) {
  const std::string path = test::ref_dir() + "/detector_" + variant + ".weights.bin";
  TensorFile tf = read_tensor_file(path);
  auto m = std::make_unique<FasterRCNN>(ctx, ModelConfig::from_json(tf.meta.at("config")));
  load_weights(ctx, *m, tf);
  m->train(false);
  return m;
}

void check_close(Context& ctx, const Tensor& actual, const Tensor& expected, const std::string& what) {
  DR_CHECK_CLOSE(ctx, actual, expected, 1e-4, test::scaled_atol(ctx, expected, 1e-4), what);
}

void check_variant(const std::string& v) {
  INFO("variant " << v);
  const TensorFile& ref = test::reference("detector");
  const std::string p = v + ".";
  Context ctx;
  auto model = load_model(ctx, v);
  std::vector<Tensor> images = {ref.get(p + "image.0"), ref.get(p + "image.1")};
  FasterRCNN::Trace t = model->forward_trace(ctx, images);

  DR_CHECK_CLOSE(ctx, t.images.tensors, ref.get(p + "transform.tensors"), 1e-5, 1e-6, "transform");
  const Tensor& sizes = ref.get(p + "transform.sizes");
  for (int i = 0; i < 2; ++i) {
    CHECK(t.images.image_sizes[i].first == sizes.data<int64_t>()[2 * i]);
    CHECK(t.images.image_sizes[i].second == sizes.data<int64_t>()[2 * i + 1]);
  }
  for (size_t l = 0; l < t.rpn.head.objectness.size(); ++l) {
    check_close(ctx, t.rpn.head.objectness[l], ref.get(p + "rpn.objectness." + std::to_string(l)),
                "rpn objectness level " + std::to_string(l));
    check_close(ctx, t.rpn.head.deltas[l], ref.get(p + "rpn.deltas." + std::to_string(l)),
                "rpn deltas level " + std::to_string(l));
  }
  DR_CHECK_CLOSE(ctx, t.rpn.anchors, ref.get(p + "rpn.anchors"), 0, 0, "anchors");
  std::vector<Tensor> torch_props;
  for (int i = 0; i < 2; ++i) {
    const std::string s = std::to_string(i);
    torch_props.push_back(ref.get(p + "rpn.boxes." + s));
    std::string err = test::match_detections(
        ctx, {t.rpn.boxes[i], t.rpn.scores[i], Tensor()},
        {ref.get(p + "rpn.boxes." + s), ref.get(p + "rpn.scores." + s), Tensor()}, 2e-3, 1e-4);
    CHECK_MESSAGE(err.empty(), "proposals of image " << i << ": " << err);
  }
  // The RoI heads on torch's own proposals, so their checks do not depend on the RPN's.
  RoIHeads::Output roi = model->roi_heads.forward(ctx, t.features, torch_props, t.images.image_sizes);
  check_close(ctx, roi.box_features, ref.get(p + "roi.box_features"), "pooled RoI features");
  check_close(ctx, roi.class_logits, ref.get(p + "roi.class_logits"), "class logits");
  check_close(ctx, roi.box_regression, ref.get(p + "roi.box_regression"), "box regression");
  for (int i = 0; i < 2; ++i) {
    const std::string s = std::to_string(i);
    const Detections& d = roi.detections[i];
    std::string err = test::match_detections(
        ctx, {d.boxes, d.scores, d.labels},
        {ref.get(p + "roi.det." + s + ".boxes"), ref.get(p + "roi.det." + s + ".scores"),
         ref.get(p + "roi.det." + s + ".labels")},
        2e-3, 1e-4);
    CHECK_MESSAGE(err.empty(), "RoI-head detections of image " << i << ": " << err);
    CHECK_MESSAGE(ref.get(p + "roi.det." + s + ".scores").numel() > 0,
                  "the reference has no detections: the comparison would be empty");
    const Detections& f = t.detections[i];
    err = test::match_detections(
        ctx, {f.boxes, f.scores, f.labels},
        {ref.get(p + "det." + s + ".boxes"), ref.get(p + "det." + s + ".scores"),
         ref.get(p + "det." + s + ".labels")},
        2e-3, 1e-4);
    CHECK_MESSAGE(err.empty(), "final detections of image " << i << ": " << err);
  }
}

}  // namespace

TEST_CASE("parity: Faster R-CNN v1 eval forward matches torchvision") { check_variant("v1"); }
TEST_CASE("parity: Faster R-CNN v2 eval forward matches torchvision") { check_variant("v2"); }
TEST_CASE("parity: Faster R-CNN v2 + residual FPN eval forward matches torchvision") {
  check_variant("v2res");
}

TEST_CASE("names: the whole model's tensors equal torchvision's state_dict, v1/v2/v2+res, 91 and 11 classes") {
  const TensorFile& ref = test::reference("detector");
  const auto& all = ref.meta.at("names");
  REQUIRE(all.size() == 6);
  for (auto it = all.begin(); it != all.end(); ++it) {
    INFO("model " << it.key());
    Context ctx;
    FasterRCNN model(ctx, ModelConfig::from_json(it.value().at("config")));
    std::vector<NamedTensor> ours = model.named_tensors();
    const auto& theirs = it.value().at("state_dict");
    REQUIRE(theirs.size() > 0);
    CHECK(ours.size() == theirs.size());
    for (size_t i = 0; i < std::min(ours.size(), theirs.size()); ++i) {
      const std::string name = theirs[i][0].get<std::string>();
      const Shape shape = theirs[i][1].get<Shape>();
      CHECK_MESSAGE(ours[i].name == name, "position " << i << ": ours " << ours[i].name
                                                      << ", torchvision " << name);
      CHECK_MESSAGE(ours[i].tensor->shape() == shape,
                    name << ": ours " << shape_str(ours[i].tensor->shape()) << ", torchvision "
                         << shape_str(shape));
      if (ours[i].name != name) break;  // one misalignment would report every later row
    }
  }
}
