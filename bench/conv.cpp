// Microbenchmark: conv2d forward on ResNet-50-FPN-like shapes. Times our CPU path
// (im2col + OpenBLAS), torch.nn.functional.conv2d on the CPU with the same thread count
// in the same run (skipped with a message when torch is not importable), and, when a
// CUDA device is present, our cuDNN path (checked against the CPU result first).
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

#include "nn/functional.h"

using namespace dr;

namespace {

struct Shape4 {
  const char* name;
  Shape x, w;
  int stride, pad;
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

double gflop(const Shape4& s, const Shape& y) {
  return 2.0 * double(shape_numel(y)) * double(s.w[1] * s.w[2] * s.w[3]) * 1e-9;
}

// torch's CPU time per shape (ms), or empty with the reason printed.
std::vector<double> torch_times(const std::vector<Shape4>& shapes, int threads, int reps) {
  std::ostringstream cmd;
  cmd << "/usr/bin/python3 -c '"
         "import sys, time\n"
         "try:\n"
         "    import torch, torch.nn.functional as F\n"
         "except Exception as e:\n"
         "    print(\"NOTORCH\", e); sys.exit(0)\n"
         "torch.set_num_threads(int(sys.argv[1])); reps = int(sys.argv[2])\n"
         "for spec in sys.argv[3:]:\n"
         "    n, c, h, w, o, cg, k, s, p = map(int, spec.split(\",\"))\n"
         "    x = torch.randn(n, c, h, w); wt = torch.randn(o, cg, k, k) * 0.1\n"
         "    with torch.no_grad():\n"
         "        F.conv2d(x, wt, stride=s, padding=p)\n"
         "        ts = []\n"
         "        for _ in range(reps):\n"
         "            t0 = time.perf_counter(); F.conv2d(x, wt, stride=s, padding=p)\n"
         "            ts.append((time.perf_counter() - t0) * 1e3)\n"
         "    print(min(ts))\n"
         "' "
      << threads << " " << reps;
  for (const Shape4& s : shapes)
    cmd << " " << s.x[0] << "," << s.x[1] << "," << s.x[2] << "," << s.x[3] << "," << s.w[0] << ","
        << s.w[1] << "," << s.w[2] << "," << s.stride << "," << s.pad;
  cmd << " 2>&1";
  std::vector<double> out;
  FILE* p = popen(cmd.str().c_str(), "r");
  if (!p) {
    std::printf("torch comparison skipped: cannot run /usr/bin/python3\n");
    return out;
  }
  char line[512];
  std::string first;
  while (std::fgets(line, sizeof line, p)) {
    if (first.empty()) first = line;
    char* end = nullptr;
    double v = std::strtod(line, &end);
    if (end != line) out.push_back(v);
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
      {"layer1 3x3 64->64 @64x64", {1, 64, 64, 64}, {64, 64, 3, 3}, 1, 1},
      {"1x1 256->64 @32x32", {1, 256, 32, 32}, {64, 256, 1, 1}, 1, 0},
      {"stem 7x7/2 3->64 @256x256", {1, 3, 256, 256}, {64, 3, 7, 7}, 2, 3},
      {"3x3/2 128->128 @64x64", {1, 128, 64, 64}, {128, 128, 3, 3}, 2, 1},
      {"1x1 64->256 @64x64", {1, 64, 64, 64}, {256, 64, 1, 1}, 1, 0},
      {"FPN 3x3 256->256 @32x32", {1, 256, 32, 32}, {256, 256, 3, 3}, 1, 1},
      {"RoI head 3x3 256 @7x7, 64 RoIs", {64, 256, 7, 7}, {256, 256, 3, 3}, 1, 1},
  };
  if (quick) shapes.resize(2);
  const int reps = quick ? 3 : 10;
  const int threads = openblas_get_num_threads();
  std::printf("conv2d forward, f32, best of %d; OpenBLAS threads %d, OpenMP threads %d\n", reps,
              threads, omp_get_max_threads());

  Context cpu(Device::cpu(), 1);
  Rng rng(42);
  std::vector<Tensor> xs, ws, ys;
  std::vector<double> ours;
  for (const Shape4& s : shapes) {
    Conv2dArgs a;
    a.stride_h = a.stride_w = s.stride, a.pad_h = a.pad_w = s.pad;
    xs.push_back(random_host(rng, s.x, 1.0));
    ws.push_back(random_host(rng, s.w, 0.1));
    Tensor y;
    ours.push_back(best_ms(reps, [&] { y = conv2d(cpu, xs.back(), ws.back(), Tensor(), a); }));
    ys.push_back(y);
  }
  std::vector<double> theirs = torch_times(shapes, threads, reps);
  std::printf("%-34s %10s %9s %10s %8s\n", "shape", "ours ms", "GFLOP/s", "torch ms", "ours/torch");
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::printf("%-34s %10.3f %9.1f", shapes[i].name, ours[i],
                gflop(shapes[i], ys[i].shape()) / (ours[i] * 1e-3));
    if (!theirs.empty())
      std::printf(" %10.3f %8.2fx\n", theirs[i], ours[i] / theirs[i]);
    else
      std::printf(" %10s %9s\n", "-", "-");
  }

  if (!cuda_available()) {
    std::printf("CUDA path: skipped (no CUDA device%s)\n", DR_CUDA ? "" : ", CPU-only build");
    return 0;
  }
  Context gpu(Device::cuda(0), 1);
  std::printf("%-34s %10s %9s %12s\n", "shape (CUDA, cuDNN)", "ms", "GFLOP/s", "max|gpu-cpu|");
  for (size_t i = 0; i < shapes.size(); ++i) {
    Conv2dArgs a;
    a.stride_h = a.stride_w = shapes[i].stride, a.pad_h = a.pad_w = shapes[i].pad;
    Tensor x = gpu.to(xs[i], gpu.device()), w = gpu.to(ws[i], gpu.device());
    Tensor y = conv2d(gpu, x, w, Tensor(), a);
    Tensor yh = gpu.to_host(y);
    double err = 0;
    for (int64_t k = 0; k < yh.numel(); ++k)
      err = std::max(err, double(std::fabs(yh.data<float>()[k] - ys[i].data<float>()[k])));
    double ms = best_ms(reps * 5, [&] {
      conv2d(gpu, x, w, Tensor(), a);
      gpu.synchronize();
    });
    std::printf("%-34s %10.3f %9.1f %12.2e\n", shapes[i].name, ms,
                gflop(shapes[i], y.shape()) / (ms * 1e-3), err);
  }
  return 0;
}
