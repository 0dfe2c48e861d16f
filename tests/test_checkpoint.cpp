// Checkpoints (train/checkpoint.h), parameter groups (train/param_groups.h) and training
// settings / recipes (train/recipe.h), on a small module with the detector's naming
// (backbone.body.* with BatchNorm2d and FrozenBatchNorm2d, a head) so files stay small.
#include <cmath>
#include <cstring>
#include <functional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "detector/model_config.h"
#include "nn/layers/batch_norm.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/linear.h"
#include "nn/weights.h"
#include "tests/data_helpers.h"
#include "tests/testing.h"
#include "train/checkpoint.h"
#include "train/param_groups.h"
#include "train/recipe.h"

using namespace dr;
using namespace dr::train;

namespace {

Conv2dOptions conv_opts(int64_t in, int64_t out, bool bias) {
  Conv2dOptions o;
  o.in_channels = in;
  o.out_channels = out;
  o.kernel = 3;
  o.padding = 1;
  o.bias = bias;
  return o;
}

// backbone.body.{conv1 (no bias), bn1 (BatchNorm2d), frozen (FrozenBatchNorm2d), conv2 (bias)},
// backbone.fpn_conv (a non-body backbone part), head (Linear).
struct Body : Module {
  Conv2d conv1;
  BatchNorm2d bn1;
  FrozenBatchNorm2d frozen;
  Conv2d conv2;
  explicit Body(Context& ctx)
      : conv1(ctx, conv_opts(3, 4, false)), bn1(ctx, 4), frozen(ctx, 4), conv2(ctx, conv_opts(4, 4, true)) {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("frozen", frozen);
    register_module("conv2", conv2);
  }
};
struct Backbone : Module {
  Body body;
  Conv2d fpn_conv;
  explicit Backbone(Context& ctx) : body(ctx), fpn_conv(ctx, conv_opts(4, 4, true)) {
    register_module("body", body);
    register_module("fpn_conv", fpn_conv);
  }
};
struct Net : Module {
  Backbone backbone;
  Linear head;
  explicit Net(Context& ctx) : backbone(ctx), head(ctx, 4, 3) {
    register_module("backbone", backbone);
    register_module("head", head);
  }
};

std::set<std::string> names_of(const ParamGroup& g) {
  std::set<std::string> s;
  for (auto& p : g.params) s.insert(p.first);
  return s;
}

// Random gradients on every trainable parameter, then one optimizer step.
void fake_step(Context& ctx, Net& net, Optimizer& opt) {
  for (const NamedTensor& t : net.trainable_parameters()) {
    Tensor g = ctx.grad_buffer(*t.tensor);
    float* p = g.data<float>();
    for (int64_t i = 0; i < g.numel(); ++i) p[i] = float(ctx.rng().uniform(-1, 1));
  }
  opt.step();
  opt.zero_grad();
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("param groups: body at a multiplier, no decay on BatchNorm weights/biases and biases") {
  Context ctx(Device::cpu(), 3);
  Net net(ctx);
  ParamGroupSettings s;
  s.lr = 0.01;
  s.weight_decay = 1e-4;
  s.backbone_lr_mult = 0.5;
  ParamGroups plain = make_param_groups(net, s);
  REQUIRE(plain.groups.size() == 2);
  CHECK(plain.labels[0] == "head");
  CHECK(plain.labels[1] == "backbone");
  CHECK(names_of(plain.groups[0]) ==
        std::set<std::string>{"backbone.fpn_conv.weight", "backbone.fpn_conv.bias", "head.weight", "head.bias"});
  // FrozenBatchNorm2d's weight and bias are buffers: in no group.
  CHECK(names_of(plain.groups[1]) ==
        std::set<std::string>{"backbone.body.conv1.weight", "backbone.body.bn1.weight",
                              "backbone.body.bn1.bias", "backbone.body.conv2.weight",
                              "backbone.body.conv2.bias"});
  CHECK(plain.groups[0].base_lr == 0.01);
  CHECK(plain.groups[1].base_lr == 0.005);
  CHECK(plain.groups[1].weight_decay == 1e-4);

  s.no_decay_norm_bias = true;
  ParamGroups nd = make_param_groups(net, s);
  REQUIRE(nd.groups.size() == 4);
  CHECK(nd.labels == std::vector<std::string>{"head", "head/no_decay", "backbone", "backbone/no_decay"});
  CHECK(names_of(nd.groups[0]) == std::set<std::string>{"backbone.fpn_conv.weight", "head.weight"});
  CHECK(names_of(nd.groups[1]) == std::set<std::string>{"backbone.fpn_conv.bias", "head.bias"});
  CHECK(names_of(nd.groups[2]) == std::set<std::string>{"backbone.body.conv1.weight", "backbone.body.conv2.weight"});
  CHECK(names_of(nd.groups[3]) == std::set<std::string>{"backbone.body.bn1.weight", "backbone.body.bn1.bias",
                                                        "backbone.body.conv2.bias"});
  CHECK(nd.groups[1].weight_decay == 0);
  CHECK(nd.groups[3].weight_decay == 0);
  CHECK(nd.groups[3].base_lr == 0.005);
  CHECK(nd.groups[2].weight_decay == 1e-4);

  // A frozen body leaves only the head's groups.
  net.backbone.body.set_requires_grad(false);
  ParamGroups head_only = make_param_groups(net, s);
  CHECK(head_only.labels == std::vector<std::string>{"head", "head/no_decay"});
}

TEST_CASE("param groups: a detector's BatchNorm weights and biases are tagged norm, biases bias") {
  Context ctx(Device::cpu(), 0);
  ModelConfig c;
  c.arch = "v1";
  c.body_norm = "batch";
  c.backbone = "resnet18";
  c.trainable_layers = 5;
  // The detector's backbone (v1 with a trainable BatchNorm2d body) holds the norms.
  BackboneWithFPN bb(ctx, c.backbone_options());
  int64_t norm = 0, running = 0, bias = 0, fpn_bias = 0;
  for (const NamedTensor& t : bb.named_tensors()) {
    const auto ends = [&](const std::string& x) {
      return t.name.size() > x.size() && t.name.compare(t.name.size() - x.size(), x.size(), x) == 0;
    };
    if (ends(".running_mean")) ++running;
    if (!t.is_parameter) continue;
    norm += t.tags.norm;
    bias += t.tags.bias;
    CHECK(t.tags.bias == ends(".bias"));
    fpn_bias += t.tags.bias && t.name.compare(0, 4, "fpn.") == 0;
  }
  CHECK(running > 0);
  CHECK(norm == 2 * running);  // weight and bias of every BatchNorm2d, nothing else
  CHECK(fpn_bias == 8);        // the FPN's 4 inner + 4 layer convs
  ParamGroupSettings s;
  s.no_decay_norm_bias = true;
  ParamGroups g = make_param_groups(bb, s);  // names lack "backbone.": everything is "head"
  REQUIRE(g.groups.size() == 2);
  CHECK(int64_t(g.groups[1].params.size()) == bias + norm / 2);
}

TEST_CASE("checkpoint: model, optimizer state, rng and position round trip exactly") {
  const std::string dir = test::temp_dir("ckpt");
  const std::string path = dir + "/a.ckpt";
  Context ctx(Device::cpu(), 11);
  Net net(ctx);
  ParamGroupSettings s;
  s.no_decay_norm_bias = true;
  s.backbone_lr_mult = 0.25;
  Optimizer opt(ctx, OptimizerKind::AdamW, make_param_groups(net, s).groups);
  fake_step(ctx, net, opt);
  fake_step(ctx, net, opt);
  // Batch-norm running statistics are part of the state too.
  ctx.rng().uniform();
  float* rm = net.backbone.body.bn1.running_mean.data<float>();
  rm[1] = 0.75f;
  *net.backbone.body.bn1.num_batches_tracked.data<int64_t>() = 7;

  TrainState st;
  st.epoch = 3;
  st.batch = 5;
  st.iteration = 41;
  st.context_rng = ctx.rng().state();
  st.best_metric = 0.625;
  st.best_epoch = 2;
  st.best_by = "accuracy";
  TrainSettings ts;
  ts.train_json = "x.json";
  ts.lr = 3e-4;
  ts.model = {{"arch", "v2"}};
  ModelConfig cfg;
  cfg.num_classes = 11;
  save_checkpoint(ctx, path, net, cfg, opt, settings_to_json(ts), st);

  // A different seed: different init and rng; the restore must overwrite all of it.
  Context ctx2(Device::cpu(), 99);
  Net net2(ctx2);
  Optimizer opt2(ctx2, OptimizerKind::AdamW, make_param_groups(net2, s).groups);
  const Checkpoint ck = read_checkpoint(path);
  restore_checkpoint(ctx2, ck, net2, opt2);

  const auto a = state_dict(ctx, net), b = state_dict(ctx2, net2);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].first == b[i].first);
    CHECK(same_bytes(a[i].second, b[i].second));
  }
  const auto sa = opt.state_tensors(), sb = opt2.state_tensors();
  REQUIRE(sa.size() == sb.size());
  REQUIRE(sa.size() > 0);
  for (size_t i = 0; i < sa.size(); ++i) {
    INFO(sa[i].first);
    CHECK(sa[i].first == sb[i].first);
    CHECK(same_bytes(sa[i].second, sb[i].second));
  }
  CHECK(opt2.step_count("head.weight") == 2);
  CHECK(ctx2.rng().state() == ctx.rng().state());
  CHECK(ctx2.rng().next_u64() == ctx.rng().next_u64());
  CHECK(ck.state.epoch == 3);
  CHECK(ck.state.batch == 5);
  CHECK(ck.state.iteration == 41);
  CHECK(ck.state.best_metric == 0.625);
  CHECK(ck.state.best_epoch == 2);
  CHECK(ck.state.best_by == "accuracy");
  CHECK(ck.config.num_classes == 11);
  CHECK(ck.settings == settings_to_json(ts));

  // The continued runs agree: one more identical step on each.
  fake_step(ctx, net, opt);
  fake_step(ctx2, net2, opt2);
  const auto a2 = state_dict(ctx, net), b2 = state_dict(ctx2, net2);
  for (size_t i = 0; i < a2.size(); ++i) CHECK(same_bytes(a2[i].second, b2[i].second));
}

TEST_CASE("checkpoint: truncated, corrupt, foreign and newer files are errors naming the file") {
  const std::string dir = test::temp_dir("ckpt_bad");
  const std::string path = dir + "/good.ckpt";
  Context ctx(Device::cpu(), 1);
  Net net(ctx);
  Optimizer opt(ctx, OptimizerKind::Adam, make_param_groups(net, {}).groups);
  fake_step(ctx, net, opt);
  save_checkpoint(ctx, path, net, ModelConfig(), opt, settings_to_json(TrainSettings()), TrainState());
  CHECK(error_of([&] { read_checkpoint(path); }).empty());

  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto write = [&](const std::string& p, const std::string& b) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(b.data(), std::streamsize(b.size()));
  };

  const std::string cut = dir + "/cut.ckpt";
  write(cut, bytes.substr(0, bytes.size() - 100));
  std::string e = error_of([&] { read_checkpoint(cut); });
  CHECK(e.find(cut) != std::string::npos);
  CHECK(e.find("truncated") != std::string::npos);

  const std::string flipped = dir + "/flipped.ckpt";
  std::string b = bytes;
  uint64_t header_len = 0;
  std::memcpy(&header_len, b.data() + 16, 8);
  const size_t data_start = (24 + header_len + 63) / 64 * 64;  // the first tensor's first byte
  b[data_start + 2] ^= 0x10;
  write(flipped, b);
  e = error_of([&] { read_checkpoint(flipped); });
  CHECK(e.find(flipped) != std::string::npos);
  CHECK(e.find("corrupt") != std::string::npos);

  const std::string weights = dir + "/plain.weights.bin";
  save_weights(ctx, net, weights, {{"config", ModelConfig().to_json()}});
  e = error_of([&] { read_checkpoint(weights); });
  CHECK(e.find(weights) != std::string::npos);
  CHECK(e.find("not a training checkpoint") != std::string::npos);

  TensorFile tf = read_tensor_file(path);
  tf.meta["version"] = kCheckpointVersion + 1;
  const std::string newer = dir + "/newer.ckpt";
  write_tensor_file(newer, tf.meta, tf.tensors);
  e = error_of([&] { read_checkpoint(newer); });
  CHECK(e.find(newer) != std::string::npos);
  CHECK(e.find("version") != std::string::npos);

  // A restore into a model that lacks a tensor fails before touching it.
  const Checkpoint ck = read_checkpoint(path);
  Context ctx2(Device::cpu(), 5);
  Linear other(ctx2, 4, 3);
  Optimizer opt2(ctx2, OptimizerKind::Adam, {});
  e = error_of([&] { restore_checkpoint(ctx2, ck, other, opt2); });
  CHECK(e.find(path) != std::string::npos);
}

TEST_CASE("settings: recipes parse strictly, flags override, resume keeps the arithmetic") {
  TrainSettings s;
  apply_settings_json(s, {{"lr", 0.5}, {"epochs", 3}, {"model", {{"arch", "v2"}}}}, "r.json");
  CHECK(s.lr == 0.5);
  CHECK(s.epochs == 3);
  CHECK(s.model["arch"] == "v2");
  std::string e = error_of([&] { apply_settings_json(s, {{"lr_typo", 1}}, "r.json"); });
  CHECK(e.find("r.json") != std::string::npos);
  CHECK(e.find("lr_typo") != std::string::npos);
  e = error_of([&] { apply_settings_json(s, {{"epochs", "many"}}, "r.json"); });
  CHECK(e.find("epochs") != std::string::npos);
  e = error_of([&] { apply_settings_json(s, {{"model", {{"archh", "v2"}}}}, "r.json"); });
  CHECK(e.find("archh") != std::string::npos);
  // Round trip through JSON.
  TrainSettings t;
  apply_settings_json(t, settings_to_json(s), "saved");
  CHECK(settings_to_json(t) == settings_to_json(s));

  // Resume: paths, threads and max_iters may change; lr may not.
  const nlohmann::json saved = settings_to_json(s);
  TrainSettings r = settings_for_resume(saved, {{"threads", 1}, {"max_iters", 9}, {"lr", 0.5}}, "last.ckpt");
  CHECK(r.threads == 1);
  CHECK(r.max_iters == 9);
  e = error_of([&] { settings_for_resume(saved, {{"lr", 0.25}}, "last.ckpt"); });
  CHECK(e.find("lr") != std::string::npos);
  CHECK(e.find("last.ckpt") != std::string::npos);
  e = error_of([&] { settings_for_resume(saved, {{"model", {{"arch", "v1"}}}}, "last.ckpt"); });
  CHECK(e.find("arch") != std::string::npos);

  // Validation names the key.
  TrainSettings bad;
  bad.train_json = "t.json";
  bad.batch_size = 0;
  e = error_of([&] { validate_settings(bad); });
  CHECK(e.find("batch_size") != std::string::npos);

  // The schedule in steps: warmup and milestones scale with the steps an epoch.
  TrainSettings w;
  w.warmup_epochs = 1.5;
  w.milestones = {2, 4};
  w.schedule = "multistep";
  const LrScheduleConfig c = schedule_in_steps(w, 10);
  CHECK(c.warmup_steps == 15);
  CHECK(c.milestones == std::vector<int64_t>{20, 40});

  // The model config: data classes, then the recipe's keys; a fine-tune file's class count
  // never carries over.
  TrainSettings m;
  m.model = {{"backbone", "resnet18"}};
  const nlohmann::json base = {{"arch", "v2"}, {"num_classes", 91}, {"min_size", 320}};
  const ModelConfig mc = resolve_model_config(m, &base, 11);
  CHECK(mc.arch == "v2");
  CHECK(mc.num_classes == 11);
  CHECK(mc.min_size == 320);
  CHECK(mc.backbone == "resnet18");
}

TEST_CASE("settings: every recipe in configs/ parses and validates") {
  // Every file of the folder, so a new recipe is checked the day it is added.
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator("configs"))
    if (e.path().extension() == ".json") names.insert(e.path().stem().string());
  for (const char* expected : {"digit_cpu", "real_digit", "seed000_v1", "seed000_v2",
                               "seed000_v2res", "seed000_finetune", "report004"})
    CHECK_MESSAGE(names.count(expected), "configs/" << expected << ".json is missing");
  for (const std::string& name : names) {
    INFO(name);
    TrainSettings s;
    apply_settings_json(s, read_recipe("configs/" + name + ".json"), name);
    s.train_json = "train.json";
    CHECK(error_of([&] { validate_settings(s); }).empty());
    CHECK(error_of([&] { resolve_model_config(s, nullptr, 11); }).empty());
  }
}
