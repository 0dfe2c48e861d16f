// Faster R-CNN on CUDA against the same model on the CPU: the RPN and the RoI heads stage
// by stage on identical inputs (the CPU's features and proposals, uploaded), then the
// whole eval forward end to end. v1 and v2 at 11 classes, the converted weights and the
// two images of different sizes that tools/ref/detector.py writes (its scaled class
// layers keep scores apart, so top-k and NMS orders are well defined).
//
// What differs between the devices, and the tolerances it justifies:
// - Convolutions: cuDNN (FMA math, no TF32: kernels/conv2d_cudnn.cpp) picks implicit-GEMM,
//   Winograd or FFT algorithms that sum the f32 products in another order than our
//   im2col + GEMM; FC layers: cuBLAS vs OpenBLAS, also in a different order. One layer
//   is accurate to ~1e-6 of its output scale; through the 50+ layers of the backbone the
//   differences grow to ~1e-5 of a level's largest magnitude (the backbone's own CUDA
//   test holds 1e-4 of the max). Every continuous output is held to rtol 1e-4 plus an
//   absolute 1e-4 of the CPU tensor's largest magnitude.
// - Per-element math (resize, RoIAlign, box decode, sigmoid/softmax) shares its HD
//   functions between the devices; only nvcc's FMA contraction and device expf/logf
//   (<= 2 ulp) differ, so the transform and the pooled features of identical inputs are
//   held to 1e-5. Anchors are integer-valued sums: exact.
// - Boxes are pixels in images of at most 160 px: 2e-3 px; probabilities 1e-4. Proposals
//   and detections are compared as sets (tests/detections_match.h): equal scores have no
//   meaningful order, and the CUDA top-k/NMS may list them differently.
#include <memory>

#include "detector/faster_rcnn.h"
#include "nn/weights.h"
#include "tests/detections_match.h"
#include "tests/testing.h"

using namespace dr;

namespace {

constexpr double kBoxTol = 2e-3;    // px
constexpr double kScoreTol = 1e-4;  // probability
constexpr double kScaleTol = 1e-4;  // of a tensor's largest magnitude (conv/FC outputs)

std::unique_ptr<FasterRCNN> load_model(Context& ctx, const std::string& variant) {
  const std::string path = test::ref_dir() + "/detector_" + variant + ".weights.bin";
  TensorFile tf = read_tensor_file(path);
  auto m = std::make_unique<FasterRCNN>(ctx, ModelConfig::from_json(tf.meta.at("config")));
  load_weights(ctx, *m, tf);
  m->train(false);
  return m;
}

void check_close(Context& ctx, const Tensor& gpu, const Tensor& cpu, const std::string& what,
                 double scale_tol = kScaleTol) {
  DR_CHECK_CLOSE(ctx, gpu, cpu, 1e-4, test::scaled_atol(ctx, cpu, scale_tol), what);
}

void check_sets(Context& ctx, const Detections& gpu, const Detections& cpu, const std::string& what) {
  std::string err = test::match_detections(ctx, {gpu.boxes, gpu.scores, gpu.labels},
                                           {cpu.boxes, cpu.scores, cpu.labels}, kBoxTol, kScoreTol);
  CHECK_MESSAGE(err.empty(), what << ": " << err);
  CHECK_MESSAGE(cpu.scores.numel() > 0, what << ": no CPU detections, the comparison is empty");
}

std::vector<Tensor> images(Context& ctx, const std::string& v) {
  const TensorFile& ref = test::reference("detector");
  return {ctx.to(ref.get(v + ".image.0"), ctx.device()), ctx.to(ref.get(v + ".image.1"), ctx.device())};
}

ImageList upload(Context& gpu, const ImageList& il) {
  return {gpu.to(il.tensors, gpu.device()), il.image_sizes};
}

FeatureMaps upload(Context& gpu, const FeatureMaps& f) {
  FeatureMaps out;
  for (auto& kv : f) out.emplace_back(kv.first, gpu.to(kv.second, gpu.device()));
  return out;
}

// CPU and CUDA copies of one variant, with the CPU's transform and backbone outputs.
struct Pair {
  Context cpu{Device::cpu(), 1}, gpu{Device::cuda(0), 1};
  std::unique_ptr<FasterRCNN> mc, mg;
  ImageList il;
  FeatureMaps feats;
  explicit Pair(const std::string& v) : mc(load_model(cpu, v)), mg(load_model(gpu, v)) {
    il = mc->transform.forward(cpu, images(cpu, v));
    feats = mc->backbone.forward(cpu, il.tensors);
  }
};

void check_rpn(const std::string& v) {
  INFO("variant " << v);
  Pair p(v);
  Context& g = p.gpu;
  auto oc = p.mc->rpn.forward(p.cpu, p.il, p.feats);
  auto og = p.mg->rpn.forward(g, upload(g, p.il), upload(g, p.feats));
  REQUIRE(og.head.objectness.size() == oc.head.objectness.size());
  for (size_t l = 0; l < oc.head.objectness.size(); ++l) {
    const std::string s = std::to_string(l);
    check_close(g, og.head.objectness[l], oc.head.objectness[l], "rpn objectness level " + s);
    check_close(g, og.head.deltas[l], oc.head.deltas[l], "rpn deltas level " + s);
  }
  DR_CHECK_CLOSE(g, og.anchors, oc.anchors, 0, 0, "anchors");
  check_close(g, og.objectness, oc.objectness, "objectness in anchor order");
  check_close(g, og.deltas, oc.deltas, "deltas in anchor order");
  for (size_t i = 0; i < oc.boxes.size(); ++i) {
    std::string err = test::match_detections(g, {og.boxes[i], og.scores[i], Tensor()},
                                             {oc.boxes[i], oc.scores[i], Tensor()}, kBoxTol, kScoreTol);
    CHECK_MESSAGE(err.empty(), "proposals of image " << i << ": " << err);
    CHECK(oc.boxes[i].size(0) > 0);
  }
}

void check_roi_heads(const std::string& v) {
  INFO("variant " << v);
  Pair p(v);
  Context& g = p.gpu;
  // The CPU's proposals on both devices, so this checks the heads alone.
  std::vector<Tensor> props = p.mc->rpn.forward(p.cpu, p.il, p.feats).boxes, props_g;
  for (const Tensor& t : props) props_g.push_back(g.to(t, g.device()));
  auto rc = p.mc->roi_heads.forward(p.cpu, p.feats, props, p.il.image_sizes);
  auto rg = p.mg->roi_heads.forward(g, upload(g, p.feats), props_g, p.il.image_sizes);
  // RoIAlign of identical features and boxes: per-element math only.
  check_close(g, rg.box_features, rc.box_features, "pooled RoI features", 1e-5);
  check_close(g, rg.class_logits, rc.class_logits, "class logits");
  check_close(g, rg.box_regression, rc.box_regression, "box regression");
  for (size_t i = 0; i < rc.detections.size(); ++i)
    check_sets(g, rg.detections[i], rc.detections[i], "RoI-head detections of image " + std::to_string(i));
  // postprocess_detections alone on identical logits: the only differences left are
  // device expf and FMA contraction.
  auto dg = p.mg->roi_heads.postprocess_detections(g, g.to(rc.class_logits, g.device()),
                                                   g.to(rc.box_regression, g.device()), props_g,
                                                   p.il.image_sizes);
  for (size_t i = 0; i < rc.detections.size(); ++i)
    check_sets(g, dg[i], rc.detections[i], "postprocess of image " + std::to_string(i));
  // No proposals at all: empty detections, no error.
  std::vector<Tensor> none = {g.empty({0, 4}), g.empty({0, 4})};
  auto re = p.mg->roi_heads.forward(g, upload(g, p.feats), none, p.il.image_sizes);
  for (const Detections& d : re.detections) CHECK(d.scores.numel() == 0);
}

void check_whole(const std::string& v) {
  INFO("variant " << v);
  Context cpu(Device::cpu(), 1), gpu(Device::cuda(0), 1);
  auto mc = load_model(cpu, v);
  auto mg = load_model(gpu, v);
  FasterRCNN::Trace tc = mc->forward_trace(cpu, images(cpu, v));
  FasterRCNN::Trace tg = mg->forward_trace(gpu, images(gpu, v));
  DR_CHECK_CLOSE(gpu, tg.images.tensors, tc.images.tensors, 1e-5, 1e-5, "transform");
  CHECK(tg.images.image_sizes == tc.images.image_sizes);
  REQUIRE(tg.features.size() == tc.features.size());
  for (size_t l = 0; l < tc.features.size(); ++l) {
    CHECK(tg.features[l].first == tc.features[l].first);
    check_close(gpu, tg.features[l].second, tc.features[l].second, "features " + tc.features[l].first);
  }
  for (size_t l = 0; l < tc.rpn.head.objectness.size(); ++l) {
    check_close(gpu, tg.rpn.head.objectness[l], tc.rpn.head.objectness[l],
                "rpn objectness level " + std::to_string(l));
    check_close(gpu, tg.rpn.head.deltas[l], tc.rpn.head.deltas[l],
                "rpn deltas level " + std::to_string(l));
  }
  DR_CHECK_CLOSE(gpu, tg.rpn.anchors, tc.rpn.anchors, 0, 0, "anchors");
  for (size_t i = 0; i < tc.rpn.boxes.size(); ++i) {
    std::string err = test::match_detections(
        gpu, {tg.rpn.boxes[i], tg.rpn.scores[i], Tensor()},
        {tc.rpn.boxes[i], tc.rpn.scores[i], Tensor()}, kBoxTol, kScoreTol);
    CHECK_MESSAGE(err.empty(), "proposals of image " << i << ": " << err);
  }
  REQUIRE(tg.detections.size() == tc.detections.size());
  for (size_t i = 0; i < tc.detections.size(); ++i) {
    const std::string s = std::to_string(i);
    check_sets(gpu, tg.roi.detections[i], tc.roi.detections[i], "resized-image detections " + s);
    check_sets(gpu, tg.detections[i], tc.detections[i], "final detections " + s);
    CHECK(tg.detections[i].boxes.is_cuda());
  }
  // detect() is the trace's final detections.
  std::vector<Detections> d = mg->detect(gpu, images(gpu, v));
  for (size_t i = 0; i < d.size(); ++i)
    check_sets(gpu, d[i], tc.detections[i], "detect() image " + std::to_string(i));
}

}  // namespace

TEST_CASE("gpu: RPN on CUDA matches the CPU on the same features (v1, v2)") {
  check_rpn("v1");
  check_rpn("v2");
}

TEST_CASE("gpu: RoIHeads on CUDA match the CPU on the same features and proposals (v1, v2)") {
  check_roi_heads("v1");
  check_roi_heads("v2");
}

TEST_CASE("gpu: whole Faster R-CNN eval forward on CUDA matches the CPU (v1, v2)") {
  check_whole("v1");
  check_whole("v2");
}
