// Microbenchmark of the detection ops: NMS on 1000 / 4000 RPN-like boxes and
// MultiScaleRoIAlign (forward, backward) of 512 RoIs x 256 channels over an FPN of an
// 800x800 image, on the CPU and (when present) the GPU, with torchvision CPU timings of
// the same sizes measured in the same run through Debian's python3 (skipped when torch
// is missing). GPU results are validated against the CPU before timing.
//   bench_detops [--quick] [--no-torch]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "bench/torch_peer.h"
#include "detector/nms.h"
#include "detector/roi_align.h"
#include "nn/context.h"

using namespace dr;

namespace {

double seconds_per_call(Context& ctx, int reps, const std::function<void()>& fn) {
  fn();  // warm-up (allocator caches, first-touch)
  ctx.synchronize();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) fn();
  ctx.synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

// RPN-like proposals: many heavily overlapping boxes on an 800x800 image.
void make_boxes(Context& ctx, int64_t n, Tensor& boxes, Tensor& scores) {
  boxes = Tensor::host({n, 4});
  scores = Tensor::host({n});
  Rng& r = ctx.rng();
  for (int64_t i = 0; i < n; ++i) {
    float cx = float(r.uniform(0, 800)), cy = float(r.uniform(0, 800));
    float w = float(r.uniform(8, 200)), h = float(r.uniform(8, 200));
    float* b = boxes.data<float>() + 4 * i;
    b[0] = cx - w / 2;
    b[1] = cy - h / 2;
    b[2] = cx + w / 2;
    b[3] = cy + h / 2;
    scores.data<float>()[i] = float(r.uniform());
  }
}

Tensor host_random(Context& ctx, const Shape& s) {
  Tensor t = Tensor::host(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(ctx.rng().uniform(-1, 1));
  return t;
}

bool same_ints(Context& ctx, const Tensor& a, const Tensor& b) {
  Tensor ha = ctx.to_host(a), hb = ctx.to_host(b);
  return ha.numel() == hb.numel() &&
         std::memcmp(ha.raw(), hb.raw(), size_t(ha.numel()) * sizeof(int64_t)) == 0;
}

void torch_reference(bool quick) {
  const std::string script = std::string(R"PY(
import time, torch, torchvision
torch.set_num_threads()PY") + std::to_string(omp_get_max_threads()) + R"PY()
reps = )PY" + (quick ? "1" : "5") + R"PY(
g = torch.Generator().manual_seed(0)
def t(fn):
    fn(); s = time.perf_counter()
    for _ in range(reps): fn()
    return (time.perf_counter() - s) / reps * 1e3
for n in (1000, 4000):
    c = torch.rand(n, 2, generator=g) * 800; wh = torch.rand(n, 2, generator=g) * 192 + 8
    b = torch.cat([c - wh / 2, c + wh / 2], 1); s = torch.rand(n, generator=g)
    print(f"torch cpu  nms K={n}: {t(lambda: torchvision.ops.nms(b, s, 0.7)):.3f} ms")
feats = {str(i): torch.rand(1, 256, 200 >> i, 200 >> i, generator=g, requires_grad=True) for i in range(4)}
c = torch.rand(512, 2, generator=g) * 700; wh = torch.rand(512, 2, generator=g) * 400 + 8
boxes = [torch.cat([c, c + wh], 1)]
pool = torchvision.ops.MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2)
print(f"torch cpu  roi_align fwd 512x256: {t(lambda: pool(feats, boxes, [(800, 800)])):.3f} ms")
y = pool(feats, boxes, [(800, 800)]); dy = torch.rand_like(y)
print(f"torch cpu  roi_align bwd 512x256: {t(lambda: torch.autograd.grad(y, list(feats.values()), dy, retain_graph=True)):.3f} ms")
)PY";
  const std::string python = bench::torch_python();
  std::string cmd = python + " - <<'EOF'\n" + script + "\nEOF\n";
  if (std::system(cmd.c_str()) != 0) std::printf("torch reference skipped (python3/torch missing)\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, torch = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--no-torch")) torch = false;
    else {
      std::fprintf(stderr, "usage: %s [--quick] [--no-torch]\n", argv[0]);
      return 2;
    }
  }
  const int reps = quick ? 1 : 5;
  Context cpu(Device::cpu(), 1);
  const bool gpu_ok = cuda_available();
  std::printf("detops bench: %d CPU threads, GPU %s\n", omp_get_max_threads(),
              gpu_ok ? "present" : "absent");
  try {
    for (int64_t n : {1000, 4000}) {
      Tensor b, s;
      make_boxes(cpu, n, b, s);
      Tensor keep;
      double t = seconds_per_call(cpu, reps, [&] { keep = nms(cpu, b, s, 0.7); });
      std::printf("ours  cpu  nms K=%lld: %.3f ms (%lld kept)\n", (long long)n, t * 1e3,
                  (long long)keep.numel());
      if (gpu_ok) {
        Context gpu(Device::cuda(0), 1);
        Tensor bg = gpu.to(b, gpu.device()), sg = gpu.to(s, gpu.device());
        Tensor kg = nms(gpu, bg, sg, 0.7);
        if (!same_ints(gpu, kg, keep)) {
          std::fprintf(stderr, "nms K=%lld: GPU keep set differs from the CPU\n", (long long)n);
          return 1;
        }
        t = seconds_per_call(gpu, quick ? 3 : 20, [&] { nms(gpu, bg, sg, 0.7); });
        std::printf("ours  cuda nms K=%lld: %.3f ms\n", (long long)n, t * 1e3);
      }
    }

    // FPN of one 800x800 image: levels 200, 100, 50, 25 with 256 channels; 512 RoIs.
    std::vector<Tensor> feats;
    for (int l = 0; l < 4; ++l) feats.push_back(host_random(cpu, {1, 256, 200 >> l, 200 >> l}));
    Tensor rois = Tensor::host({512, 5});
    for (int64_t k = 0; k < 512; ++k) {
      float* r = rois.data<float>() + 5 * k;
      float x = float(cpu.rng().uniform(0, 700)), y = float(cpu.rng().uniform(0, 700));
      r[0] = 0;
      r[1] = x;
      r[2] = y;
      r[3] = x + 8 + float(cpu.rng().uniform(0, 400));
      r[4] = y + 8 + float(cpu.rng().uniform(0, 400));
    }
    const std::vector<double> scales = {0.25, 0.125, 0.0625, 0.03125};
    LevelMapperConfig m;
    auto run = [&](Context& ctx, std::vector<Tensor>& f, const Tensor& r, const char* dev) {
      Tensor y;
      double tf = seconds_per_call(ctx, reps, [&] {
        y = roi_align_levels(ctx, f, scales, r, 7, 7, 2, false, m);
      });
      Tensor dy = ctx.zeros_like(y);
      std::vector<Tensor> grads;
      for (auto& t : f) grads.push_back(ctx.zeros_like(t));
      for (auto& t : f) t.set_requires_grad(true);
      double tb = seconds_per_call(ctx, reps, [&] {
        GradModeGuard g(ctx, true);
        Tensor yy = roi_align_levels(ctx, f, scales, r, 7, 7, 2, false, m);
        ctx.backward(yy, dy);
      });
      for (auto& t : f) t.set_requires_grad(false);
      std::printf("ours  %-4s roi_align fwd 512x256: %.3f ms, fwd+bwd %.3f ms\n", dev, tf * 1e3,
                  tb * 1e3);
      return y;
    };
    Tensor yc = run(cpu, feats, rois, "cpu");
    if (gpu_ok) {
      Context gpu(Device::cuda(0), 1);
      std::vector<Tensor> fg;
      for (auto& f : feats) fg.push_back(gpu.to(f, gpu.device()));
      Tensor rg = gpu.to(rois, gpu.device());
      Tensor yg = gpu.to_host(roi_align_levels(gpu, fg, scales, rg, 7, 7, 2, false, m));
      double worst = 0;
      for (int64_t i = 0; i < yc.numel(); ++i)
        worst = std::max(worst, double(std::abs(yg.data<float>()[i] - yc.data<float>()[i])));
      if (worst > 1e-4) {
        std::fprintf(stderr, "roi_align: GPU differs from the CPU by %g\n", worst);
        return 1;
      }
      run(gpu, fg, rg, "cuda");
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_detops: %s\n", e.what());
    return 1;
  }
  std::fflush(stdout);
  if (torch) torch_reference(quick);
  return 0;
}
