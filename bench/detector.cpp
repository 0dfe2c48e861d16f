// Benchmark: the whole Faster R-CNN eval forward (transform -> R50-FPN -> RPN -> RoI heads
// -> postprocess) on a batch of SVHN-like images, v1 and v2 at 11 classes. Times our CPU
// forward and torchvision's (bench/detector_torch.py, torch.set_num_threads = our OpenMP
// thread count) in the same run on the same weights and images, and, when a CUDA device
// is present, our CUDA forward (synchronized).
//   bench_detector [--quick] [--reps N] [--post-nms N]
//     default: 4 images around 60x150, best/median of 3 timed runs after a warm-up (the
//     whole run stays around 2-3 minutes on a 2-core machine); --quick: 1 image.
// The two sides' runs alternate (ours, torch, ours, torch, ...: the torch side is a
// coprocess that runs one forward per command), so on a shared machine both see the
// same load and their ratio is meaningful even when the absolute times drift.
// The config is the digit setting min_size 256 / max_size 512 (a 60x150 crop becomes
// ~205x512) with rpn_post_nms_top_n_test 100 (--post-nms): the RoI head's cost is linear
// in the proposals kept, and torchvision's default 1000 would make v2's four-conv box
// head ~0.23 TFLOP per image, minutes per run on a 2-core machine. The torch side writes
// its seeded random weights in our format so both run the same network (same proposal
// and detection counts); without torch ours runs on its own random init.
#include <omp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/torch_peer.h"
#include "detector/faster_rcnn.h"
#include "nn/rng.h"
#include "nn/tensor_file.h"
#include "nn/weights.h"

using namespace dr;
namespace fs = std::filesystem;

using bench::kStages;
using bench::TorchPeer;

namespace {

const char* const kStageNames[kStages] = {"transform", "backbone", "rpn", "roi_heads"};

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// Timed runs of one side: per run the stage times (ms); the best run is the one least
// disturbed by other processes on a shared machine.
struct Runs {
  std::vector<std::vector<double>> stages;
  int64_t detections = -1;

  static double total(const std::vector<double>& s) {
    double t = 0;
    for (double v : s) t += v;
    return t;
  }
  size_t best_index() const {
    size_t b = 0;
    for (size_t i = 1; i < stages.size(); ++i)
      if (total(stages[i]) < total(stages[b])) b = i;
    return b;
  }
  double best() const { return total(stages[best_index()]); }
  double median() const {
    std::vector<double> t;
    for (auto& s : stages) t.push_back(total(s));
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }
};

// GeneralizedRCNN's eval forward (as FasterRCNN::forward_trace) with a clock between the
// stages; returns the stage times and sets the detection count.
std::vector<double> staged_forward(Context& ctx, FasterRCNN& m, const std::vector<Tensor>& images,
                                   int64_t& detections) {
  std::vector<double> t = {now_ms()};
  std::vector<ImageSize> original;
  for (const Tensor& im : images) original.emplace_back(im.size(1), im.size(2));
  ImageList il = m.transform.forward(ctx, images);
  t.push_back(now_ms());
  FeatureMaps feats = m.backbone.forward(ctx, il.tensors);
  t.push_back(now_ms());
  RegionProposalNetwork::Output rpn = m.rpn.forward(ctx, il, feats);
  t.push_back(now_ms());
  RoIHeads::Output roi = m.roi_heads.forward(ctx, feats, rpn.boxes, il.image_sizes);
  std::vector<Tensor> boxes;
  for (auto& d : roi.detections) boxes.push_back(d.boxes);
  boxes = m.transform.postprocess(ctx, boxes, il.image_sizes, original);
  ctx.synchronize();
  t.push_back(now_ms());
  detections = 0;
  for (auto& d : roi.detections) detections += d.scores.numel();
  std::vector<double> stages;
  for (size_t i = 1; i < t.size(); ++i) stages.push_back(t[i] - t[i - 1]);
  return stages;
}

ModelConfig bench_config(const std::string& arch, int post_nms, int min_size, int max_size) {
  ModelConfig c;
  c.arch = arch;
  c.backbone = "resnet50";
  c.num_classes = 11;
  c.min_size = min_size;
  c.max_size = max_size;
  c.rpn_post_nms_top_n_test = post_nms;
  return c;
}

std::unique_ptr<FasterRCNN> make_model(Context& ctx, const ModelConfig& cfg,
                                       const std::string& weights) {
  auto m = std::make_unique<FasterRCNN>(ctx, cfg);
  if (fs::exists(weights)) load_weights(ctx, *m, weights);
  m->train(false);
  return m;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int reps = 3, post_nms = 100, min_size = 256, max_size = 512;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--post-nms") && i + 1 < argc) post_nms = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--size") && i + 1 < argc &&
             std::sscanf(argv[i + 1], "%d/%d", &min_size, &max_size) == 2 && min_size > 0 &&
             max_size >= min_size) ++i;
    else {
      std::fprintf(stderr, "usage: %s [--quick] [--reps N] [--post-nms N] [--size MIN/MAX "
                   "(default 256/512; torchvision's default is 800/1333)]\n", argv[0]);
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);  // a dead torch side must not kill the benchmark
  // SVHN crops are ~30-80 px high and 2-3x as wide (house numbers of 1-5 digits).
  std::vector<std::pair<int64_t, int64_t>> sizes = {{58, 148}, {64, 160}, {55, 131}, {70, 171}};
  if (quick) sizes.resize(1);
  const std::vector<std::string> variants = {"v1", "v2"};
  const int threads = omp_get_max_threads();

  // Scratch folder for the configs, the torch side's weights and images.
  const fs::path dir = fs::temp_directory_path() / ("dr_bench_detector_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::vector<std::string> size_strs;
  for (auto& s : sizes) size_strs.push_back(std::to_string(s.first) + "x" + std::to_string(s.second));
  for (auto& v : variants)
    std::ofstream(dir / ("config_" + v + ".json"))
        << bench_config(v, post_nms, min_size, max_size).to_json().dump();
  std::printf("Faster R-CNN eval forward, R50-FPN, 11 classes, min/max size %d/%d, "
              "post-NMS proposals %d; %zu image(s) %s; best/median of %d after a warm-up, "
              "ours and torch alternating; %d OpenMP threads (torch.set_num_threads(%d))\n",
              min_size, max_size, post_nms, sizes.size(), join(size_strs).c_str(), reps, threads, threads);
  std::fflush(stdout);

  const fs::path exe_dir = fs::absolute(fs::path(argv[0])).parent_path();
  std::string script = (exe_dir / "../../bench/detector_torch.py").lexically_normal().string();
  if (!fs::exists(script)) script = "bench/detector_torch.py";
  TorchPeer torch(script, {dir.string(), std::to_string(threads), join(variants), join(size_strs)});

  // The torch side's images when present, else our own random ones.
  Context cpu(Device::cpu(), 1);
  std::vector<Tensor> images;
  const fs::path images_file = dir / "images.bin";
  if (fs::exists(images_file)) {
    TensorFile tf = read_tensor_file(images_file.string());
    for (size_t i = 0; i < sizes.size(); ++i) images.push_back(tf.get("image." + std::to_string(i)));
  } else {
    Rng rng(1);
    for (auto& s : sizes) {
      Tensor t = cpu.empty({3, s.first, s.second});
      for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = float(rng.uniform(0, 1));
      images.push_back(t);
    }
  }
  const double n_img = double(sizes.size());

  std::printf("%-4s %-6s %11s %11s %12s %12s %10s\n", "arch", "device", "best ms/img", "median",
              "torch best", "torch median", "ours/torch");
  for (const std::string& v : variants) {
    auto model = make_model(cpu, bench_config(v, post_nms, min_size, max_size),
                            (dir / ("weights_" + v + ".bin")).string());
    Runs ours, theirs;
    std::vector<double> stages;
    int64_t dets = 0;
    staged_forward(cpu, *model, images, ours.detections);  // warm-ups
    torch.run(v, stages, theirs.detections);
    for (int r = 0; r < reps; ++r) {
      ours.stages.push_back(staged_forward(cpu, *model, images, dets));
      if (torch.run(v, stages, dets)) theirs.stages.push_back(stages);
    }
    std::printf("%-4s %-6s %11.1f %11.1f", v.c_str(), "cpu", ours.best() / n_img,
                ours.median() / n_img);
    const bool both = int(theirs.stages.size()) == reps;
    if (both)
      std::printf(" %12.1f %12.1f %9.2fx  (detections: ours %lld, torch %lld)\n",
                  theirs.best() / n_img, theirs.median() / n_img, ours.best() / theirs.best(),
                  (long long)ours.detections, (long long)theirs.detections);
    else
      std::printf(" %12s %12s %10s  (detections: ours %lld)\n", "-", "-", "-",
                  (long long)ours.detections);
    // Where the time goes: ms per image per stage in each side's best run.
    std::printf("     stages ms/img, best run (ours%s):", both ? " / torch" : "");
    for (int k = 0; k < kStages; ++k) {
      std::printf(" %s %.1f", kStageNames[k], ours.stages[ours.best_index()][k] / n_img);
      if (both) std::printf(" / %.1f", theirs.stages[theirs.best_index()][k] / n_img);
      std::printf(k + 1 < kStages ? "," : "\n");
    }
    std::fflush(stdout);
  }

  if (!cuda_available()) {
    std::printf("CUDA forward: skipped (no CUDA device%s)\n", DR_CUDA ? "" : ", CPU-only build");
  } else {
    Context gpu(Device::cuda(0), 1);
    std::vector<Tensor> gimages;
    for (const Tensor& t : images) gimages.push_back(gpu.to(t, gpu.device()));
    // torchvision on the same GPU, same weights and images, alternating with ours: "fp32"
    // turns TF32 off in cuDNN and cuBLAS (our kernels use FP32 FMA math), "default" keeps
    // torch's defaults (cuDNN convolutions in TF32).
    for (const std::string mode : {"fp32", "default"}) {
      TorchPeer tcuda(script, {dir.string(), std::to_string(threads), join(variants),
                               join(size_strs), "cuda", mode});
      for (const std::string& v : variants) {
        auto model = make_model(gpu, bench_config(v, post_nms, min_size, max_size),
                                (dir / ("weights_" + v + ".bin")).string());
        Runs ours, theirs;
        std::vector<double> stages;
        int64_t dets = 0;
        staged_forward(gpu, *model, gimages, ours.detections);  // warm-up (cuDNN algorithm choice)
        tcuda.run(v, stages, theirs.detections);
        // Stage times are not meaningful on the device (asynchronous); the totals are
        // synchronized at the end of each forward.
        for (int r = 0; r < reps * 5; ++r) {
          ours.stages.push_back(staged_forward(gpu, *model, gimages, dets));
          if (tcuda.run(v, stages, dets)) theirs.stages.push_back(stages);
        }
        std::printf("%-4s %-6s %11.2f %11.2f", v.c_str(), "cuda", ours.best() / n_img,
                    ours.median() / n_img);
        if (int(theirs.stages.size()) == reps * 5)
          std::printf(" %12.2f %12.2f %9.2fx  (torch %s; detections: ours %lld, torch %lld)\n",
                      theirs.best() / n_img, theirs.median() / n_img, ours.best() / theirs.best(),
                      mode.c_str(), (long long)ours.detections, (long long)theirs.detections);
        else
          std::printf(" %12s %12s %10s  (detections: %lld)\n", "-", "-", "-",
                      (long long)ours.detections);
        std::fflush(stdout);
      }
    }
  }
  fs::remove_all(dir);
  return 0;
}
