// RoIAlign and MultiScaleRoIAlign: hand-computed cases, finite differences, torchvision
// parity (forward and backward), CPU vs CUDA.
#include <omp.h>

#include <cmath>

#include "detector/roi_align.h"
#include "tests/testing.h"

using namespace dr;

namespace {

// f(y, x) = 4y + x on a 4x4 map: bilinear interpolation of a linear function is exact,
// so each bin's value is f at the mean of its sample points.
Tensor linear_map() {
  std::vector<float> v(16);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) v[y * 4 + x] = float(4 * y + x);
  return Tensor::host_from<float>({1, 1, 4, 4}, v);
}
Tensor rois_f(const std::vector<float>& v) { return Tensor::host_from<float>({int64_t(v.size() / 5), 5}, v); }

// RoIs (K, 5) over a batch of `n` images of (h, w) features at `scale`, corners kept
// away from the sample-grid edges (for finite differences the op is linear in the input
// anyway; the positions only matter for the RoI coordinates, which get no gradient).
Tensor random_rois(Context& ctx, int64_t k, int64_t n, double extent, DType dt) {
  Tensor r = test::random_tensor(ctx, {k, 5}, 0, extent, dt);
  for (int64_t i = 0; i < k; ++i) {
    auto set = [&](int j, double v) {
      if (dt == DType::F64) r.data<double>()[5 * i + j] = v;
      else r.data<float>()[5 * i + j] = float(v);
    };
    auto get = [&](int j) {
      return dt == DType::F64 ? r.data<double>()[5 * i + j] : double(r.data<float>()[5 * i + j]);
    };
    set(0, double(i % n));
    set(1, get(1) - 0.2 * extent);
    set(2, get(2) - 0.2 * extent);
    set(3, get(1) + 0.5 + get(3) * 0.6);
    set(4, get(2) + 0.5 + get(4) * 0.6);
  }
  return r;
}

}  // namespace

TEST_CASE("roi_align: hand-computed bins, border clamping, outside samples, empty RoIs") {
  Context ctx;
  Tensor x = linear_map();
  Tensor y = roi_align(ctx, x, rois_f({0, 0, 0, 2, 2}), 2, 2, 1.0, 2);
  std::vector<float> want = {2.5f, 3.5f, 6.5f, 7.5f};
  for (int i = 0; i < 4; ++i) CHECK(y.data<float>()[i] == doctest::Approx(want[i]));
  // Samples at x = 2.5, 3.5; 3.5 >= W - 1 clamps to column 3: mean x 2.75, mean y 1.
  y = roi_align(ctx, x, rois_f({0, 2, 0, 4, 2}), 1, 1, 1.0, 2);
  CHECK(y.data<float>()[0] == doctest::Approx(6.75));
  // spatial_scale 0.5 maps the RoI (0,0,4,4) onto the same 2x2 cells as the first case.
  y = roi_align(ctx, x, rois_f({0, 0, 0, 4, 4}), 2, 2, 0.5, 2);
  for (int i = 0; i < 4; ++i) CHECK(y.data<float>()[i] == doctest::Approx(want[i]));
  // Every sample below -1: zero output and zero gradient.
  y = roi_align(ctx, x, rois_f({0, -10, -10, -6, -6}), 2, 2, 1.0, 2);
  for (int i = 0; i < 4; ++i) CHECK(y.data<float>()[i] == 0.0f);
  // Adaptive sampling: RoI 3x3 cells, 1x1 output -> a 3x3 grid at 0.5, 1.5, 2.5: mean (1.5, 1.5).
  y = roi_align(ctx, x, rois_f({0, 0, 0, 3, 3}), 1, 1, 1.0, -1);
  CHECK(y.data<float>()[0] == doctest::Approx(7.5));

  // Zero RoIs: an empty output, and a backward that leaves the gradient at zero.
  Tensor xr = Tensor::host_from<float>({1, 1, 4, 4}, std::vector<float>(16, 1.0f));
  xr.set_requires_grad(true);
  {
    GradModeGuard g(ctx, true);
    Tensor e = roi_align(ctx, xr, Tensor::host({0, 5}), 7, 7, 1.0, 2);
    CHECK(e.shape() == Shape{0, 1, 7, 7});
    ctx.backward(e, Tensor::host({0, 1, 7, 7}));
  }
  if (xr.has_grad())
    for (int i = 0; i < 16; ++i) CHECK(xr.grad().data<float>()[i] == 0.0f);
  CHECK_THROWS_AS(roi_align(ctx, x, rois_f({1, 0, 0, 2, 2}), 2, 2, 1.0, 2), Error);  // batch index
  CHECK_THROWS_AS(roi_align(ctx, x, Tensor::host({3, 4}), 2, 2, 1.0, 2), Error);
}

TEST_CASE("gradcheck: roi_align and multi-level roi_align (double)") {
  Context ctx(Device::cpu(), 21);
  Tensor x = test::random_tensor(ctx, {2, 2, 6, 7}, -1, 1, DType::F64);
  x.set_requires_grad(true);
  Tensor rois = random_rois(ctx, 5, 2, 12.0, DType::F64);
  for (int sr : {2, -1})
    test::gradcheck(
        [&](Context& c, const std::vector<Tensor>& in) {
          return roi_align(c, in[0], rois, 3, 2, 0.5, sr);
        },
        {x}, "roi_align sampling_ratio=" + std::to_string(sr));
  Tensor f0 = test::random_tensor(ctx, {2, 2, 8, 8}, -1, 1, DType::F64);
  Tensor f1 = test::random_tensor(ctx, {2, 2, 4, 4}, -1, 1, DType::F64);
  f0.set_requires_grad(true);
  f1.set_requires_grad(true);
  // Boxes of side ~10 (level 2 -> index 0) and ~30 (clamped low too) mixed with a big one.
  std::vector<double> rv = {0, 1, 1, 9, 11, 1, 2, 3, 30, 28, 1, 0, 0, 250, 240, 0, 3, 2, 290, 300};
  Tensor multi = Tensor::host_from<double>({4, 5}, rv);
  LevelMapperConfig m;
  m.k_min = 2;
  m.k_max = 3;
  test::gradcheck(
      [&](Context& c, const std::vector<Tensor>& in) {
        return roi_align_levels(c, {in[0], in[1]}, {0.25, 0.125}, multi, 2, 2, 2, false, m);
      },
      {f0, f1}, "roi_align_levels");
  // A level without requires_grad: its RoIs are skipped in backward, the others unchanged.
  f1.set_requires_grad(false);
  test::gradcheck(
      [&](Context& c, const std::vector<Tensor>& in) {
        return roi_align_levels(c, {in[0], in[1]}, {0.25, 0.125}, multi, 2, 2, 2, false, m);
      },
      {f0, f1}, "roi_align_levels, level 1 frozen");
  CHECK_FALSE(f1.has_grad());
}

TEST_CASE("roi_align backward: the adjoint of the forward, the same on 1 and 2 threads") {
  // Above the kernel's parallel threshold (60 RoIs x 16 channels x 49 bins): RoIAlign is
  // linear in its input, so <roi_align(x), dy> = <x, dx> for the backward's dx (double:
  // equal to rounding). The f32 backward sums each element's terms in RoI order on any
  // thread count, so one and two threads agree bit for bit.
  Context ctx(Device::cpu(), 5);
  const int threads_before = omp_get_max_threads();
  for (DType dt : {DType::F64, DType::F32}) {
    Tensor x = test::random_tensor(ctx, {2, 16, 12, 14}, -1, 1, dt);
    Tensor rois = random_rois(ctx, 60, 2, 40.0, dt);
    Tensor dy = test::random_tensor(ctx, {60, 16, 7, 7}, -1, 1, dt);
    std::vector<std::vector<double>> grads;
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      Tensor xi = ctx.clone(x);
      xi.set_requires_grad(true);
      GradModeGuard g(ctx, true);
      Tensor y = roi_align(ctx, xi, rois, 7, 7, 0.25, 2);
      ctx.backward(y, dy);
      grads.push_back(test::to_doubles(ctx, xi.grad()));
      if (dt == DType::F64) {
        const std::vector<double> yv = test::to_doubles(ctx, y), dyv = test::to_doubles(ctx, dy),
                                  xv = test::to_doubles(ctx, x);
        double lhs = 0, rhs = 0, scale = 0;
        for (size_t i = 0; i < yv.size(); ++i) lhs += yv[i] * dyv[i], scale += std::fabs(yv[i] * dyv[i]);
        for (size_t i = 0; i < xv.size(); ++i) rhs += xv[i] * grads.back()[i];
        CHECK(std::fabs(lhs - rhs) <= 1e-12 * scale);
      }
    }
    CHECK(grads[0] == grads[1]);
  }
  omp_set_num_threads(threads_before);
}

TEST_CASE("parity: roi_align forward and backward match torchvision") {
  Context ctx;
  const TensorFile& ref = test::reference("detops");
  Tensor x = ctx.clone(ref.get("roi.x"));
  x.set_requires_grad(true);
  for (const char* tag : {"sr2", "adaptive"}) {
    const int sr = std::string(tag) == "sr2" ? 2 : -1;
    GradModeGuard g(ctx, true);
    Tensor y = roi_align(ctx, x, ref.get("roi.rois"), 5, 4, 0.5, sr);
    DR_CHECK_CLOSE(ctx, y, ref.get(std::string("roi.") + tag + ".y"), 1e-5, 1e-6,
                   std::string("roi_align forward ") + tag);
    ctx.backward(y, ref.get(std::string("roi.") + tag + ".dy"));
    // The gradient sums many scattered terms in a different order than torch.
    DR_CHECK_CLOSE(ctx, x.grad(), ref.get(std::string("roi.") + tag + ".dx"), 1e-5, 1e-6,
                   std::string("roi_align backward ") + tag);
    x.zero_grad();
  }
  DR_CHECK_CLOSE(ctx, roi_align(ctx, x, ref.get("roi.rois"), 3, 3, 0.5, 2, /*aligned=*/true),
                 ref.get("roi.aligned.y"), 1e-5, 1e-6, "roi_align aligned=True");
}

TEST_CASE("parity: MultiScaleRoIAlign matches torchvision on a 2-image batch") {
  Context ctx;
  const TensorFile& ref = test::reference("detops");
  std::vector<std::pair<std::string, Tensor>> feats;
  for (const char* name : {"0", "1", "2", "3", "pool"})
    feats.push_back({name, ref.get(std::string("msroi.feat.") + name)});
  std::vector<Tensor> boxes = {ref.get("msroi.boxes0"), ref.get("msroi.boxes1")};
  std::vector<std::pair<int64_t, int64_t>> sizes = {{100, 120}, {90, 128}};
  MultiScaleRoIAlign pooler;
  std::vector<Tensor> used;
  for (int i = 0; i < 4; ++i) used.push_back(feats[i].second);
  auto [scales, mapper] = pooler.setup_scales(used, sizes);
  DR_CHECK_CLOSE(ctx, Tensor::host_from<double>({4}, scales), ref.get("msroi.scales"), 0, 0,
                 "inferred scales");
  CHECK(mapper.k_min == 2);
  CHECK(mapper.k_max == 5);
  Tensor rois = boxes_to_rois(ctx, boxes);
  DR_CHECK_CLOSE(ctx, map_levels(ctx, rois, mapper), ref.get("msroi.levels"), 0, 0, "LevelMapper");
  for (auto& f : feats) {
    f.second = ctx.clone(f.second);
    f.second.set_requires_grad(true);
  }
  GradModeGuard g(ctx, true);
  Tensor y = pooler.forward(ctx, feats, boxes, sizes);
  DR_CHECK_CLOSE(ctx, y, ref.get("msroi.out"), 1e-5, 1e-6, "MultiScaleRoIAlign");
  ctx.backward(y, ref.get("msroi.dy"));
  for (int i = 0; i < 4; ++i)
    DR_CHECK_CLOSE(ctx, feats[i].second.grad(), ref.get("msroi.dfeat." + std::to_string(i)), 1e-5,
                   1e-6, "MultiScaleRoIAlign backward, level " + std::to_string(i));
  CHECK_FALSE(feats[4].second.has_grad());  // "pool" is not pooled from
}

TEST_CASE("MultiScaleRoIAlign: scale inference and torchvision's first-call caching") {
  CHECK(infer_scale(32, 100) == 0.25);   // 0.32 -> log2 -1.64 -> 2^-2
  CHECK(infer_scale(16, 33) == 0.5);     // tiny image: 0.485 -> log2 -1.04 -> 2^-1
  CHECK(infer_scale(3, 8) == 0.5);       // 0.375 -> log2 -1.415 -> 2^-1
  CHECK(infer_scale(200, 800) == 0.25);
  Context ctx(Device::cpu(), 3);
  std::vector<std::pair<std::string, Tensor>> feats;
  for (int l = 0; l < 4; ++l)
    feats.push_back({std::to_string(l), test::random_tensor(ctx, {1, 1, 16 >> l, 16 >> l})});
  std::vector<Tensor> boxes = {Tensor::host_from<float>({1, 4}, {1, 2, 9, 13})};
  MultiScaleRoIAlign pooler;
  Tensor first = pooler.forward(ctx, feats, boxes, {{33, 40}});  // infers 0.5 .. 0.0625
  CHECK(pooler.setup_scales({feats[0].second}, {{60, 60}}).first[0] == 0.25);
  // torchvision keeps self.scales from the first call: a 60x60 batch still pools at 0.5.
  DR_CHECK_CLOSE(ctx, pooler.forward(ctx, feats, boxes, {{60, 60}}), first, 0, 0, "cached scales");
  pooler.reset_scales();  // re-inferred: 0.25, a different result
  auto cmp = test::compare(ctx, pooler.forward(ctx, feats, boxes, {{60, 60}}), first, 1e-3, 1e-3, "re-inferred");
  CHECK_FALSE(cmp.ok);
  pooler.cache_scales = false;
  DR_CHECK_CLOSE(ctx, pooler.forward(ctx, feats, boxes, {{33, 40}}), first, 0, 0, "no cache");
}

// CPU-vs-CUDA absolute tolerance for pooled values (see the first use for why).
constexpr double kGpuGeomAtol = 1e-5;

TEST_CASE("gpu: roi_align and multi-level roi_align forward/backward match the CPU") {
  Context cpu(Device::cpu(), 13), gpu(Device::cuda(0), 13);
  for (int64_t k : {0, 1, 37, 515}) {
    const std::string tag = " K=" + std::to_string(k);
    Tensor x = test::random_tensor(cpu, {3, 5, 13, 17}, -1, 1);
    Tensor rois = random_rois(cpu, k, 3, 30.0, DType::F32);
    Tensor xg = gpu.to(x, gpu.device()), rg = gpu.to(rois, gpu.device());
    x.set_requires_grad(true);
    xg.set_requires_grad(true);
    for (int sr : {2, -1}) {
      GradModeGuard gc(cpu, true), gg(gpu, true);
      Tensor yc = roi_align(cpu, x, rois, 7, 5, 0.5, sr);
      Tensor yg = roi_align(gpu, xg, rg, 7, 5, 0.5, sr);
      // nvcc contracts the sample-position arithmetic into FMAs (g++ does not on x86-64),
      // so positions up to ~15 feature cells differ by an ulp (~1e-6); with inputs in
      // [-1, 1] the bilinear slope is <= 2, so outputs may differ by a few 1e-6
      // (measured on an H200: 1.7e-6 max). 1e-5 absolute is 1e-5 of the input scale.
      DR_CHECK_CLOSE(gpu, yg, yc, 1e-5, kGpuGeomAtol, "roi_align forward sr=" + std::to_string(sr) + tag);
      Tensor dy = test::random_tensor(cpu, yc.shape(), -1, 1);
      cpu.backward(yc, dy);
      gpu.backward(yg, gpu.to(dy, gpu.device()));
      if (k > 0)  // atomicAdd order differs from the CPU's sequential sum
        DR_CHECK_CLOSE(gpu, xg.grad(), x.grad(), 1e-4, 1e-5,
                       "roi_align backward sr=" + std::to_string(sr) + tag);
      x.zero_grad();
      xg.zero_grad();
    }
    // Four levels with a 2-image batch, RoIs spanning all levels.
    std::vector<Tensor> fc, fg;
    for (int64_t s : {33, 17, 9, 5}) {
      fc.push_back(test::random_tensor(cpu, {2, 3, s, s + 2}, -1, 1));
      fg.push_back(gpu.to(fc.back(), gpu.device()));
    }
    Tensor big = random_rois(cpu, k, 2, 500.0, DType::F32);
    Tensor bigg = gpu.to(big, gpu.device());
    LevelMapperConfig m;
    std::vector<double> scales = {0.25, 0.125, 0.0625, 0.03125};
    DR_CHECK_CLOSE(gpu, map_levels(gpu, bigg, m), map_levels(cpu, big, m), 0, 0, "levels" + tag);
    DR_CHECK_CLOSE(gpu, roi_align_levels(gpu, fg, scales, bigg, 7, 7, 2, false, m),
                   roi_align_levels(cpu, fc, scales, big, 7, 7, 2, false, m), 1e-5, kGpuGeomAtol,
                   "multi-level forward" + tag);  // measured 2.7e-6 (FMA, as above)
    std::vector<Tensor> bc = {big.narrow0(0, k / 2), big.narrow0(k / 2, k - k / 2)};
    std::vector<Tensor> bgv = {bigg.narrow0(0, k / 2), bigg.narrow0(k / 2, k - k / 2)};
    for (Tensor* t : {&bc[0], &bc[1], &bgv[0], &bgv[1]}) {
      Tensor full = t->is_cuda() ? gpu.to_host(*t) : *t;
      Tensor b4 = Tensor::host({full.size(0), 4});
      for (int64_t i = 0; i < full.size(0); ++i)
        for (int j = 0; j < 4; ++j) b4.data<float>()[4 * i + j] = full.data<float>()[5 * i + 1 + j];
      *t = t->is_cuda() ? gpu.to(b4, gpu.device()) : b4;
    }
    DR_CHECK_CLOSE(gpu, boxes_to_rois(gpu, bgv), boxes_to_rois(cpu, bc), 0, 0, "boxes_to_rois" + tag);
  }
}
