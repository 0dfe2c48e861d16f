// The strict weight loader (nn/weights.h) on a small module: every bad-file case is an
// error that names the file and lists every offending tensor; fine-tune mode
// re-initializes only the class-dependent predictor.
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "nn/layers/conv2d.h"
#include "nn/layers/linear.h"
#include "nn/norm2d.h"
#include "nn/weights.h"
#include "tests/testing.h"

using namespace dr;

namespace {

// A toy detector with torchvision-like names: backbone.{conv,bn} and the predictor.
struct Predictor : Module {
  Predictor(Context& ctx, int classes)
      : cls_score(ctx, 8, classes), bbox_pred(ctx, 8, classes * 4) {
    register_module("cls_score", cls_score);
    register_module("bbox_pred", bbox_pred);
  }
  Linear cls_score, bbox_pred;
};
struct RoiHeads : Module {
  RoiHeads(Context& ctx, int classes) : box_head(ctx, 12, 8), box_predictor(ctx, classes) {
    register_module("box_head", box_head);
    register_module("box_predictor", box_predictor);
  }
  Linear box_head;
  Predictor box_predictor;
};
struct Toy : Module {
  Toy(Context& ctx, int classes, int64_t width = 4)
      : conv(ctx, Conv2dOptions{3, width, 3, 1, 1}), bn(ctx, NormKind::BatchNorm, width),
        roi_heads(ctx, classes) {
    register_module("conv", conv);
    register_module("bn", bn);
    register_module("roi_heads", roi_heads);
  }
  Conv2d conv;
  Norm2d bn;
  RoiHeads roi_heads;
};

std::string temp_path(const std::string& name) {
  return "/tmp/dr_test_weights_" + std::to_string(getpid()) + "_" + name;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool same_values(Context& ctx, const Tensor& a, const Tensor& b) {
  return test::to_doubles(ctx, a) == test::to_doubles(ctx, b);
}

}  // namespace

TEST_CASE("weights: save then strict load reproduces every tensor, num_batches_tracked included") {
  Context ctx(Device::cpu(), 1), ctx2(Device::cpu(), 2);
  Toy a(ctx, 11), b(ctx2, 11);
  *a.bn.batch()->num_batches_tracked.data<int64_t>() = 42;
  const std::string path = temp_path("ok.bin");
  save_weights(ctx, a, path, {{"config", {{"num_classes", 11}}}});
  TensorFile f = read_tensor_file(path);
  CHECK(f.meta["config"]["num_classes"] == 11);
  LoadReport r = load_weights(ctx2, b, f);
  CHECK(r.loaded == a.named_tensors().size());
  CHECK(r.reinitialized.empty());
  auto ta = a.named_tensors(), tb = b.named_tensors();
  for (size_t i = 0; i < ta.size(); ++i) CHECK_MESSAGE(same_values(ctx, *ta[i].tensor, *tb[i].tensor), ta[i].name);
  CHECK(*b.bn.batch()->num_batches_tracked.data<int64_t>() == 42);
  CHECK_FALSE(b.bn.batch()->num_batches_tracked.is_cuda());
  std::remove(path.c_str());
}

TEST_CASE("weights: missing, unexpected and mis-shaped tensors are one error listing all") {
  Context ctx(Device::cpu(), 1);
  Toy a(ctx, 11);
  auto sd = state_dict(ctx, a);
  // Drop one, add one, reshape one.
  sd.erase(sd.begin() + 1);  // conv.bias
  sd.emplace_back("backbone.extra.weight", Tensor::host_zeros({3}));
  for (auto& kv : sd)
    if (kv.first == "bn.running_var") kv.second = Tensor::host_zeros({5});
  const std::string path = temp_path("bad_names.bin");
  write_tensor_file(path, {}, sd);
  Toy b(ctx, 11);
  std::string msg = error_of([&] { load_weights(ctx, b, path); });
  INFO(msg);
  CHECK(msg.find(path) != std::string::npos);
  CHECK(msg.find("1 missing, 1 unexpected, 1 mis-shaped") != std::string::npos);
  CHECK(msg.find("conv.bias") != std::string::npos);
  CHECK(msg.find("backbone.extra.weight") != std::string::npos);
  CHECK(msg.find("bn.running_var: file f32(5), model f32(4)") != std::string::npos);
  // Nothing was copied: the module keeps its own values after a failed load.
  CHECK(test::to_doubles(ctx, b.bn.batch()->running_var) == std::vector<double>(4, 1.0));
  std::remove(path.c_str());

  SUBCASE("each kind alone is an error too") {
    for (int kind = 0; kind < 3; ++kind) {
      auto sd2 = state_dict(ctx, a);
      if (kind == 0) sd2.pop_back();
      if (kind == 1) sd2.emplace_back("surplus", Tensor::host_zeros({1}));
      if (kind == 2) sd2[0].second = Tensor::host_zeros({4, 3, 3, 2});
      write_tensor_file(path, {}, sd2);
      std::string m = error_of([&] { load_weights(ctx, b, path); });
      INFO(m);
      CHECK(m.find(kind == 0 ? "1 missing" : kind == 1 ? "1 unexpected" : "1 mis-shaped") !=
            std::string::npos);
      std::remove(path.c_str());
    }
  }
}

TEST_CASE("weights: wrong magic, truncated and corrupt files are errors naming the file") {
  Context ctx(Device::cpu(), 1);
  Toy a(ctx, 11);
  const std::string good = temp_path("good.bin");
  save_weights(ctx, a, good, {});
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write = [](const std::string& p, const std::string& b) {
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(b.data(), b.size());
  };
  Toy b(ctx, 11);
  const std::string bad = temp_path("bad.bin");

  std::string magic = bytes;
  magic[0] = 'X';
  write(bad, magic);
  std::string m = error_of([&] { load_weights(ctx, b, bad); });
  CHECK_MESSAGE(m.find(bad) != std::string::npos, m);
  CHECK_MESSAGE(m.find("bad magic") != std::string::npos, m);

  for (size_t cut : {size_t(10), size_t(40), bytes.size() - 100}) {
    write(bad, bytes.substr(0, cut));
    m = error_of([&] { load_weights(ctx, b, bad); });
    CHECK_MESSAGE(m.find(bad) != std::string::npos, m);
    CHECK_MESSAGE(m.find("truncated") != std::string::npos, m);
  }

  std::string corrupt = bytes;
  corrupt[30] = '\x01';  // inside the JSON header
  write(bad, corrupt);
  m = error_of([&] { load_weights(ctx, b, bad); });
  CHECK_MESSAGE(m.find(bad) != std::string::npos, m);

  m = error_of([&] { load_weights(ctx, b, temp_path("does_not_exist.bin")); });
  CHECK_MESSAGE(m.find("does_not_exist.bin") != std::string::npos, m);
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("weights: fine-tune re-initializes only the class-dependent predictor (91 -> 11)") {
  Context ctx(Device::cpu(), 1), ctx2(Device::cpu(), 2);
  Toy coco(ctx, 91), digits(ctx2, 11);
  const std::string path = temp_path("coco.bin");
  save_weights(ctx, coco, path, {});
  Tensor fresh_cls = ctx2.clone(digits.roi_heads.box_predictor.cls_score.weight);

  std::string m = error_of([&] { load_weights(ctx2, digits, path); });
  CHECK_MESSAGE(m.find("4 mis-shaped") != std::string::npos, m);
  CHECK_MESSAGE(m.find("fine-tune") != std::string::npos, m);

  LoadOptions ft;
  ft.fine_tune = true;
  LoadReport r = load_weights(ctx2, digits, path, ft);
  CHECK(r.reinitialized == std::vector<std::string>{"roi_heads.box_predictor.cls_score.weight",
                                                    "roi_heads.box_predictor.cls_score.bias",
                                                    "roi_heads.box_predictor.bbox_pred.weight",
                                                    "roi_heads.box_predictor.bbox_pred.bias"});
  CHECK(same_values(ctx, digits.conv.weight, coco.conv.weight));
  CHECK(same_values(ctx, digits.roi_heads.box_head.weight, coco.roi_heads.box_head.weight));
  CHECK(same_values(ctx, digits.roi_heads.box_predictor.cls_score.weight, fresh_cls));

  // Fine-tune does not excuse anything else: a mis-shaped backbone tensor still fails.
  Toy wide(ctx2, 11, 6);
  m = error_of([&] { load_weights(ctx2, wide, path, ft); });
  CHECK_MESSAGE(m.find("conv.weight") != std::string::npos, m);
  CHECK_MESSAGE(m.find("cls_score") == std::string::npos, m);
  std::remove(path.c_str());
}
