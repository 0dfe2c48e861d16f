// Benchmark: one Faster R-CNN training step (forward with targets + backward; no optimizer
// update) against torchvision's on the same weights, images, targets and thread count,
// measured alternating in the same run (bench/train_step_torch.py as a coprocess, see
// bench/torch_peer.h), on the CPU and, when a device is present, on CUDA against
// torchvision on CUDA (TF32 off, then torch's defaults).
//   bench_train_step [--quick] [--reps N] [--size MIN/MAX] [--arch v1|v2]
//   bench_train_step --profile N [--arch v2]   ours only, N steps after a warm-up, each
//                                              step's time printed (for perf record)
// Setting: R50-FPN v1 (FrozenBN body, 3 trainable stages) and v2, 11 classes, min/max
// size 256/512, a batch of two SVHN-sized crops with 1-3 digit boxes; a digit recipe's
// sampling (512 -> 128 RoIs an image, 600 post-NMS proposals) because torchvision's
// default 512 RoIs make v2's four-conv box head ~0.35 TFLOP an image, minutes a step on a
// 2-core machine. Both sides sample at random, with equal counts.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "bench/torch_peer.h"
#include "detector/faster_rcnn.h"
#include "nn/tensor_file.h"
#include "nn/weights.h"
#include "train/step.h"

using namespace dr;
using bench::kStages;
using bench::TorchPeer;
namespace fs = std::filesystem;

namespace {

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

ModelConfig bench_config(const std::string& arch, int min_size, int max_size) {
  ModelConfig c;
  c.arch = arch;
  c.backbone = "resnet50";
  c.num_classes = 11;
  c.min_size = min_size;
  c.max_size = max_size;
  c.rpn_post_nms_top_n_train = 600;
  c.box_batch_size_per_image = 128;
  return c;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

struct Batch {
  std::vector<Tensor> images;
  std::vector<Target> targets;
};

Batch to_device(Context& ctx, const Batch& b) {
  Batch out;
  for (const Tensor& t : b.images) out.images.push_back(ctx.to(t, ctx.device()));
  for (const Target& t : b.targets)
    out.targets.push_back({ctx.to(t.boxes, ctx.device()), ctx.to(t.labels, ctx.device())});
  return out;
}

// One step: {forward ms, backward ms}.
std::pair<double, double> timed_step(Context& ctx, FasterRCNN& m, const Batch& b) {
  ctx.synchronize();
  const double t0 = now_ms();
  FasterRCNN::TrainOutput out = m.forward_train(ctx, b.images, b.targets);
  Tensor total = out.total;
  out = FasterRCNN::TrainOutput();
  ctx.synchronize();
  const double t1 = now_ms();
  ctx.backward(total);
  ctx.synchronize();
  const double t2 = now_ms();
  m.zero_grad();
  return {t1 - t0, t2 - t1};
}

struct Times {
  std::vector<double> fwd, bwd;
  double best() const {
    double b = 1e300;
    for (size_t i = 0; i < fwd.size(); ++i) b = std::min(b, fwd[i] + bwd[i]);
    return b;
  }
  double median() const {
    std::vector<double> t;
    for (size_t i = 0; i < fwd.size(); ++i) t.push_back(fwd[i] + bwd[i]);
    std::sort(t.begin(), t.end());
    return t.empty() ? 0 : t[t.size() / 2];
  }
  size_t best_index() const {
    size_t k = 0;
    for (size_t i = 1; i < fwd.size(); ++i)
      if (fwd[i] + bwd[i] < fwd[k] + bwd[k]) k = i;
    return k;
  }
};

void report(const std::string& v, const char* device, const Times& ours, const Times& theirs,
            const std::string& note) {
  const size_t a = ours.best_index();
  std::printf("%-4s %-6s %9.1f %9.1f (fwd %.1f + bwd %.1f)", v.c_str(), device, ours.best(),
              ours.median(), ours.fwd[a], ours.bwd[a]);
  if (!theirs.fwd.empty()) {
    const size_t b = theirs.best_index();
    std::printf("  torch %9.1f %9.1f (fwd %.1f + bwd %.1f)  torch/ours %.2fx%s\n", theirs.best(),
                theirs.median(), theirs.fwd[b], theirs.bwd[b], theirs.best() / ours.best(),
                note.c_str());
  } else {
    std::printf("  torch -\n");
  }
  std::fflush(stdout);
}

void run_side_by_side(Context& ctx, const char* device, const std::vector<std::string>& variants,
                      const Batch& batch, const fs::path& dir, TorchPeer& torch, int reps,
                      const std::string& note) {
  for (const std::string& v : variants) {
    // The config the torch side was given (written in main).
    std::ifstream cf(dir / ("config_" + v + ".json"));
    FasterRCNN model(ctx, ModelConfig::from_json(nlohmann::json::parse(cf)));
    const fs::path w = dir / ("weights_" + v + ".bin");
    if (fs::exists(w)) load_weights(ctx, model, w.string());
    model.train(true);
    Times ours, theirs;
    std::vector<double> stages;
    int64_t count = 0;
    timed_step(ctx, model, batch);  // warm-ups (allocator, cuDNN algorithm choice)
    torch.run(v, stages, count);
    for (int r = 0; r < reps; ++r) {
      auto [f, b] = timed_step(ctx, model, batch);
      ours.fwd.push_back(f);
      ours.bwd.push_back(b);
      if (torch.run(v, stages, count)) {
        theirs.fwd.push_back(stages[0]);
        theirs.bwd.push_back(stages[1]);
      }
    }
    if (int(theirs.fwd.size()) != reps) theirs = Times();
    report(v, device, ours, theirs, note);
  }
}

// Random images of the given sizes, one box an image (when torch gives no batch).
Batch own_batch(Context& ctx, const std::vector<std::pair<int64_t, int64_t>>& sizes) {
  Batch batch;
  Rng rng(1);
  for (auto& s : sizes) {
    Tensor t = ctx.empty({3, s.first, s.second});
    for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = float(rng.uniform(0, 1));
    batch.images.push_back(t);
    batch.targets.push_back({Tensor::host_from<float>({1, 4}, {10, 10, 30, 50}),
                             Tensor::host_from<int64_t>({1}, {3})});
  }
  return batch;
}

// --profile: ours alone on our own random weights and batch, a warm-up then `steps` timed
// steps, so `perf record` sees the steady state without torch beside it.
int profile(const std::vector<std::string>& variants,
            const std::vector<std::pair<int64_t, int64_t>>& sizes, int min_size, int max_size,
            int steps) {
  Context cpu(Device::cpu(), 1);
  const Batch batch = own_batch(cpu, sizes);
  for (const std::string& v : variants) {
    FasterRCNN model(cpu, bench_config(v, min_size, max_size));
    model.train(true);
    timed_step(cpu, model, batch);
    for (int k = 0; k < steps; ++k) {
      auto [f, b] = timed_step(cpu, model, batch);
      std::printf("%s step %d: %.1f ms (fwd %.1f + bwd %.1f)\n", v.c_str(), k + 1, f + b, f, b);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int reps = 3, min_size = 256, max_size = 512, profile_steps = 0;
  std::string only_arch;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--profile") && i + 1 < argc)
      profile_steps = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--arch") && i + 1 < argc &&
             (!std::strcmp(argv[i + 1], "v1") || !std::strcmp(argv[i + 1], "v2")))
      only_arch = argv[++i];
    else if (!std::strcmp(argv[i], "--size") && i + 1 < argc &&
             std::sscanf(argv[i + 1], "%d/%d", &min_size, &max_size) == 2 && min_size > 0 &&
             max_size >= min_size) ++i;
    else {
      std::fprintf(stderr, "usage: %s [--quick] [--reps N] [--size MIN/MAX (default 256/512; "
                   "torchvision's default is 800/1333)] [--arch v1|v2] [--profile N (ours "
                   "only, N timed steps, for perf)]\n", argv[0]);
      return 2;
    }
  }
  if (quick) reps = 1;
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::pair<int64_t, int64_t>> sizes = {{58, 148}, {64, 160}};
  std::vector<std::string> variants = quick ? std::vector<std::string>{"v1"}
                                            : std::vector<std::string>{"v1", "v2"};
  if (!only_arch.empty()) variants = {only_arch};
  if (profile_steps) return profile(variants, sizes, min_size, max_size, profile_steps);
  const int threads = omp_get_max_threads();
  const fs::path dir = fs::temp_directory_path() / ("dr_bench_train_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::vector<std::string> size_strs;
  for (auto& s : sizes) size_strs.push_back(std::to_string(s.first) + "x" + std::to_string(s.second));
  for (auto& v : variants)
    std::ofstream(dir / ("config_" + v + ".json"))
        << bench_config(v, min_size, max_size).to_json().dump();
  std::printf("Faster R-CNN training step (forward + backward), R50-FPN, 11 classes, min/max "
              "%d/%d, 128 RoIs and 600 proposals an image; batch %s; best/median of %d after "
              "a warm-up, ours and torch alternating; %d threads; ms per step\n",
              min_size, max_size, join(size_strs).c_str(), reps, threads);
  std::fflush(stdout);
  const fs::path exe_dir = fs::absolute(fs::path(argv[0])).parent_path();
  std::string script = (exe_dir / "../../bench/train_step_torch.py").lexically_normal().string();
  if (!fs::exists(script)) script = "bench/train_step_torch.py";

  Context cpu(Device::cpu(), 1);
  Batch batch;
  {
    TorchPeer torch(script, {dir.string(), std::to_string(threads), join(variants), join(size_strs)});
    const fs::path batch_file = dir / "batch.bin";
    if (fs::exists(batch_file)) {
      TensorFile tf = read_tensor_file(batch_file.string());
      for (size_t i = 0; i < sizes.size(); ++i) {
        const std::string s = std::to_string(i);
        batch.images.push_back(tf.get("image." + s));
        batch.targets.push_back({tf.get("boxes." + s), tf.get("labels." + s)});
      }
    } else {  // no torch: our own batch
      batch = own_batch(cpu, sizes);
    }
    std::printf("%-4s %-6s %9s %9s %28s\n", "arch", "device", "best", "median", "");
    run_side_by_side(cpu, "cpu", variants, batch, dir, torch, reps, "");
  }
  if (!cuda_available()) {
    std::printf("CUDA step: skipped (no CUDA device%s)\n", DR_CUDA ? "" : ", CPU-only build");
  } else {
    Context gpu(Device::cuda(0), 1);
    Batch gb = to_device(gpu, batch);
    for (const std::string mode : {"fp32", "default"}) {
      TorchPeer tcuda(script, {dir.string(), std::to_string(threads), join(variants),
                               join(size_strs), "cuda", mode});
      run_side_by_side(gpu, "cuda", variants, gb, dir, tcuda, reps * 5, " (torch " + mode + ")");
    }
  }
  fs::remove_all(dir);
  return 0;
}
