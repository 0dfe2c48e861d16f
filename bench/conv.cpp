// Microbenchmark: conv2d forward and backward (dx + dw) on the detectors' layer kinds, at
// the sizes of a training step's batch (two ~60x150 crops resized to 224x512; the v2 box
// head on 256 RoIs). Times, per layer: our f32 CPU default (oneDNN, Winograd where it
// pays), oneDNN direct convs only, im2col + OpenBLAS, and torch.nn.functional.conv2d
// (oneDNN direct, with its reorders) with the same thread count in the same run (skipped
// with a message when torch is not importable); when a CUDA device is present, our cuDNN
// forward (checked against the CPU result first).
//   bench_conv [--quick]   --quick: two shapes, few repetitions
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "bench/torch_peer.h"
#include "kernels/conv2d.h"
#include "nn/functional.h"

using namespace dr;

namespace {

struct Shape4 {
  const char* name;
  Shape x, w;
  int stride, pad, groups;
};

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

Tensor random_host(Rng& rng, const Shape& s, double scale) {
  Tensor t = Tensor::host(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(rng.uniform(-scale, scale));
  return t;
}

// Best of `reps` timed calls after one warm-up call: the build machines are shared, and
// the minimum is the figure least disturbed by other processes.
template <class F> double best_ms(int reps, F&& f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    double t0 = now_ms();
    f();
    t.push_back(now_ms() - t0);
  }
  return *std::min_element(t.begin(), t.end());
}

Conv2dArgs conv_args(const Shape4& s) {
  Conv2dArgs a;
  a.stride_h = a.stride_w = s.stride, a.pad_h = a.pad_w = s.pad, a.groups = s.groups;
  return a;
}

double gflop(const Shape4& s, const Shape& y) {
  return 2.0 * double(shape_numel(y)) * double(s.w[1] * s.w[2] * s.w[3]) * 1e-9;
}

struct Times {
  double fwd = 0, bwd = 0;  // ms; bwd: dx and dw
};

// Forward, then forward + backward with x and w requiring gradients, on a context set to
// `impl`.
Times time_ours(CpuConvImpl impl, const Tensor& x, const Tensor& w, const Tensor& dy,
                const Conv2dArgs& a, int reps) {
  Context ctx(Device::cpu(), 1);
  set_cpu_conv_impl(ctx, impl);
  Times t;
  t.fwd = best_ms(reps, [&] { conv2d(ctx, x, w, Tensor(), a); });
  Tensor xg = ctx.clone(x), wg = ctx.clone(w);
  xg.set_requires_grad(true), wg.set_requires_grad(true);
  Tensor y;
  // The tape runs once per backward(): record a fresh forward for each timed backward.
  std::vector<double> b;
  for (int i = 0; i <= reps; ++i) {
    xg.zero_grad(), wg.zero_grad();
    {
      GradModeGuard guard(ctx, true);
      y = conv2d(ctx, xg, wg, Tensor(), a);
    }
    const double t0 = now_ms();
    ctx.backward(y, dy);
    if (i) b.push_back(now_ms() - t0);
  }
  t.bwd = *std::min_element(b.begin(), b.end());
  return t;
}

// torch's CPU times per shape, or empty with the reason printed.
std::vector<Times> torch_times(const std::vector<Shape4>& shapes, int threads, int reps) {
  std::ostringstream cmd;
  const std::string python = bench::torch_python();
  cmd << python << " -c '"
         "import sys, time\n"
         "try:\n"
         "    import torch, torch.nn.functional as F\n"
         "except Exception as e:\n"
         "    print(\"NOTORCH\", e); sys.exit(0)\n"
         "torch.set_num_threads(int(sys.argv[1])); reps = int(sys.argv[2])\n"
         "def best(f):\n"
         "    f(); ts = []\n"
         "    for _ in range(reps):\n"
         "        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1e3)\n"
         "    return min(ts)\n"
         "for spec in sys.argv[3:]:\n"
         "    n, c, h, w, o, cg, k, s, p, g = map(int, spec.split(\",\"))\n"
         "    x = torch.randn(n, c, h, w); wt = torch.randn(o, cg, k, k) * 0.1\n"
         "    with torch.no_grad():\n"
         "        f = best(lambda: F.conv2d(x, wt, stride=s, padding=p, groups=g))\n"
         "    xg = x.clone().requires_grad_(); wg = wt.clone().requires_grad_()\n"
         "    dy = torch.randn_like(F.conv2d(x, wt, stride=s, padding=p, groups=g))\n"
         "    ts = []\n"
         "    for i in range(reps + 1):\n"
         "        y = F.conv2d(xg, wg, stride=s, padding=p, groups=g)\n"
         "        xg.grad = None; wg.grad = None\n"
         "        t0 = time.perf_counter(); y.backward(dy); t = (time.perf_counter() - t0) * 1e3\n"
         "        if i: ts.append(t)\n"
         "    print(f, min(ts))\n"
         "' "
      << threads << " " << reps;
  for (const Shape4& s : shapes)
    cmd << " " << s.x[0] << "," << s.x[1] << "," << s.x[2] << "," << s.x[3] << "," << s.w[0] << ","
        << s.w[1] << "," << s.w[2] << "," << s.stride << "," << s.pad << "," << s.groups;
  cmd << " 2>&1";
  std::vector<Times> out;
  FILE* p = popen(cmd.str().c_str(), "r");
  if (!p) {
    std::printf("torch comparison skipped: cannot run %s\n", python.c_str());
    return out;
  }
  char line[512];
  std::string first;
  while (std::fgets(line, sizeof line, p)) {
    if (first.empty()) first = line;
    Times t;
    if (std::sscanf(line, "%lf %lf", &t.fwd, &t.bwd) == 2) out.push_back(t);
  }
  pclose(p);
  if (out.size() != shapes.size()) {
    std::printf("torch comparison skipped: %s", first.empty() ? "no output\n" : first.c_str());
    out.clear();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  std::vector<Shape4> shapes = {
      {"FPN/RPN 3x3 256 @56x128 x2", {2, 256, 56, 128}, {256, 256, 3, 3}, 1, 1, 1},
      {"layer1 3x3 64 @56x128 x2", {2, 64, 56, 128}, {64, 64, 3, 3}, 1, 1, 1},
      {"layer3 3x3 256 @14x32 x2", {2, 256, 14, 32}, {256, 256, 3, 3}, 1, 1, 1},
      {"layer4 3x3 512 @7x16 x2", {2, 512, 7, 16}, {512, 512, 3, 3}, 1, 1, 1},
      {"3x3/2 128 @56x128 x2", {2, 128, 56, 128}, {128, 128, 3, 3}, 2, 1, 1},
      {"1x1 1024->256 @14x32 x2", {2, 1024, 14, 32}, {256, 1024, 1, 1}, 1, 0, 1},
      {"1x1 64->256 @56x128 x2", {2, 64, 56, 128}, {256, 64, 1, 1}, 1, 0, 1},
      {"1x1/2 512->1024 @28x64 x2", {2, 512, 28, 64}, {1024, 512, 1, 1}, 2, 0, 1},
      {"stem 7x7/2 3->64 @224x512 x2", {2, 3, 224, 512}, {64, 3, 7, 7}, 2, 3, 1},
      {"ResNeXt 3x3 g32 256 @28x64 x2", {2, 256, 28, 64}, {256, 8, 3, 3}, 1, 1, 32},
      {"v2 box head 3x3 256 @7x7 x256", {256, 256, 7, 7}, {256, 256, 3, 3}, 1, 1, 1},
  };
  if (quick) shapes = {shapes[2], shapes[5]};
  const int reps = quick ? 2 : 5;
  const int threads = omp_get_max_threads();
  std::printf("conv2d f32 CPU, best of %d after a warm-up, ms; bwd = dx + dw; OpenMP threads %d "
              "(torch.set_num_threads(%d)), OpenBLAS threads %d\n",
              reps, threads, threads, openblas_get_num_threads());

  Rng rng(42);
  std::vector<Tensor> xs, ws;
  std::vector<Times> dnnl, direct, im2col;
  for (const Shape4& s : shapes) {
    const Conv2dArgs a = conv_args(s);
    xs.push_back(random_host(rng, s.x, 1.0));
    ws.push_back(random_host(rng, s.w, 0.1));
    Context probe(Device::cpu(), 1);
    Tensor dy = random_host(rng, conv2d(probe, xs.back(), ws.back(), Tensor(), a).shape(), 1.0);
    if (DR_DNNL) {
      dnnl.push_back(time_ours(CpuConvImpl::kOneDnn, xs.back(), ws.back(), dy, a, reps));
      direct.push_back(time_ours(CpuConvImpl::kOneDnnDirect, xs.back(), ws.back(), dy, a, reps));
    }
    im2col.push_back(time_ours(CpuConvImpl::kIm2col, xs.back(), ws.back(), dy, a, reps));
  }
  std::vector<Times> theirs = torch_times(shapes, threads, reps);
  std::printf("%-32s %7s | %-31s | %-31s | %s\n", "shape", "GFLOP",
              "forward: oneDNN direct im2col torch", "backward: oneDNN direct im2col torch",
              "oneDNN/torch fwd bwd");
  for (size_t i = 0; i < shapes.size(); ++i) {
    Context probe(Device::cpu(), 1);
    const Conv2dArgs a = conv_args(shapes[i]);
    const double gf = gflop(shapes[i], conv2d(probe, xs[i], ws[i], Tensor(), a).shape());
    auto cell = [](const std::vector<Times>& v, size_t k, bool fwd) {
      char buf[16];
      if (v.empty()) return std::string("      -");
      std::snprintf(buf, sizeof buf, "%7.1f", fwd ? v[k].fwd : v[k].bwd);
      return std::string(buf);
    };
    std::printf("%-32s %7.2f | %s %s %s %s | %s %s %s %s |", shapes[i].name, gf,
                cell(dnnl, i, true).c_str(), cell(direct, i, true).c_str(),
                cell(im2col, i, true).c_str(), cell(theirs, i, true).c_str(),
                cell(dnnl, i, false).c_str(), cell(direct, i, false).c_str(),
                cell(im2col, i, false).c_str(), cell(theirs, i, false).c_str());
    if (!dnnl.empty() && !theirs.empty())
      std::printf(" %5.2fx %5.2fx", dnnl[i].fwd / theirs[i].fwd, dnnl[i].bwd / theirs[i].bwd);
    std::printf("\n");
  }
#if DR_DNNL
  std::printf("oneDNN implementations (forward / backward data / backward weights):\n");
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Conv2dArgs a = conv_args(shapes[i]);
    kern::ConvGeom g;
    g.N = xs[i].size(0), g.C = xs[i].size(1), g.H = xs[i].size(2), g.W = xs[i].size(3);
    g.O = ws[i].size(0), g.KH = ws[i].size(2), g.KW = ws[i].size(3);
    g.sh = g.sw = a.stride_h, g.ph = g.pw = a.pad_h, g.groups = a.groups;
    g.OH = kern::conv_out_size(g.H, g.KH, g.sh, g.ph, g.dh);
    g.OW = kern::conv_out_size(g.W, g.KW, g.sw, g.pw, g.dw);
    kern::DnnlConv c;
    std::printf("  %-32s %s / %s / %s\n", shapes[i].name, c.implementation(g, 0).c_str(),
                c.implementation(g, 1).c_str(), c.implementation(g, 2).c_str());
  }
#endif

  if (!cuda_available()) {
    std::printf("CUDA path: skipped (no CUDA device%s)\n", DR_CUDA ? "" : ", CPU-only build");
    return 0;
  }
  Context cpu(Device::cpu(), 1), gpu(Device::cuda(0), 1);
  std::printf("%-32s %10s %9s %12s\n", "shape (CUDA, cuDNN, forward)", "ms", "GFLOP/s",
              "max|gpu-cpu|");
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Conv2dArgs a = conv_args(shapes[i]);
    Tensor ref = conv2d(cpu, xs[i], ws[i], Tensor(), a);
    Tensor x = gpu.to(xs[i], gpu.device()), w = gpu.to(ws[i], gpu.device());
    Tensor y = conv2d(gpu, x, w, Tensor(), a);
    Tensor yh = gpu.to_host(y);
    double err = 0;
    for (int64_t k = 0; k < yh.numel(); ++k)
      err = std::max(err, double(std::fabs(yh.data<float>()[k] - ref.data<float>()[k])));
    double ms = best_ms(reps * 5, [&] {
      conv2d(gpu, x, w, Tensor(), a);
      gpu.synchronize();
    });
    std::printf("%-32s %10.3f %9.1f %12.2e\n", shapes[i].name, ms,
                gflop(shapes[i], y.shape()) / (ms * 1e-3), err);
  }
  return 0;
}
