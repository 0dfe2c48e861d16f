// upsample_nearest and resize_bilinear: finite differences, torch parity (sizes that are not
// integer multiples, 2x, downsampling, torchvision's scale_factor path), errors, CPU vs CUDA.
#include <cmath>

#include "nn/functional.h"
#include "tests/testing.h"

using namespace dr;

TEST_CASE("gradcheck: upsample_nearest up, 2x and down") {
  Context ctx(Device::cpu(), 41);
  Tensor x = test::random_tensor(ctx, {2, 3, 5, 7}, -1, 1, DType::F64);
  x.set_requires_grad(true);
  for (auto hw : {std::pair<int64_t, int64_t>{9, 13}, {10, 14}, {3, 4}, {5, 7}, {1, 1}}) {
    test::gradcheck(
        [hw](Context& c, const std::vector<Tensor>& in) {
          return upsample_nearest(c, in[0], hw.first, hw.second);
        },
        {x}, "upsample_nearest to " + std::to_string(hw.first) + "x" + std::to_string(hw.second));
  }
}

TEST_CASE("parity: upsample_nearest matches torch interpolate(mode='nearest', size=...)") {
  Context ctx;
  const TensorFile& ref = test::reference("ops_norm");
  for (const char* name : {"nearest.up", "nearest.x2", "nearest.down"}) {
    const std::string n = name;
    const Tensor& want = ref.get(n + ".y");
    Tensor x = ctx.clone(ref.get("nearest.x"));
    x.set_requires_grad(true);
    GradModeGuard g(ctx, true);
    Tensor y = upsample_nearest(ctx, x, want.size(2), want.size(3));
    DR_CHECK_CLOSE(ctx, y, want, 0, 0, n + " y");  // a copy: exact
    ctx.backward(y, ref.get(n + ".dy"));
    // Sums of up to 4 dy values; torch adds them in the same order.
    DR_CHECK_CLOSE(ctx, x.grad(), ref.get(n + ".dx"), 1e-6, 0, n + " dx");
  }
  // 6 -> 74 and 14 -> 46: the float32 scale rounds below the exact ratio, so floor(dst *
  // scale) is one row lower than integer arithmetic at dst 37 (rows) and 23 (columns).
  Tensor x = ctx.clone(ref.get("nearest.float.x"));
  x.set_requires_grad(true);
  GradModeGuard g(ctx, true);
  Tensor y = upsample_nearest(ctx, x, 74, 46);
  DR_CHECK_CLOSE(ctx, y, ref.get("nearest.float.y"), 0, 0, "nearest float-scale rule y");
  ctx.backward(y, ref.get("nearest.float.dy"));
  DR_CHECK_CLOSE(ctx, x.grad(), ref.get("nearest.float.dx"), 1e-6, 0, "nearest float-scale dx");
}

TEST_CASE("parity: resize_bilinear matches torch interpolate(mode='bilinear', align_corners=False)") {
  Context ctx;
  const TensorFile& ref = test::reference("ops_norm");
  const Tensor& x = ref.get("bilinear.x");  // (3, 17, 23)
  for (const char* name : {"bilinear.up", "bilinear.down"}) {
    const std::string n = name;
    const Tensor& want = ref.get(n + ".y");
    Tensor y = resize_bilinear(ctx, x, want.size(1), want.size(2));
    // Same weights as torch (kernels/resample.cuh); its vectorized loop rounds the four
    // products in another order: measured 1 ulp (1.2e-7 on values in [0, 1)), allow 2.
    DR_CHECK_CLOSE(ctx, y, want, 1e-6, 2.5e-7, n + " y (C, H, W)");
    Tensor y4 = resize_bilinear(ctx, x.reshape({1, 3, 17, 23}), want.size(1), want.size(2));
    DR_CHECK_CLOSE(ctx, y4, want.reshape({1, 3, want.size(1), want.size(2)}), 1e-6, 2.5e-7,
                   n + " y (N, C, H, W)");
  }
  // GeneralizedRCNNTransform: interpolate(scale_factor=s, recompute_scale_factor=True) is
  // resize_bilinear to floor(in * s), s the float32 scale widened to double.
  const double s = ref.get("bilinear.tv.scale").data<double>()[0];
  const Tensor& want = ref.get("bilinear.tv.y");
  Tensor y = resize_bilinear(ctx, x, int64_t(std::floor(17 * s)), int64_t(std::floor(23 * s)));
  DR_CHECK_CLOSE(ctx, y, want, 1e-6, 2.5e-7, "bilinear via scale_factor");
}

TEST_CASE("upsample_nearest / resize_bilinear: errors name the op and the shapes") {
  Context ctx;
  CHECK_THROWS_WITH_AS(upsample_nearest(ctx, ctx.zeros({3, 4, 4}), 8, 8),
                       doctest::Contains("upsample_nearest: input must be 4-D"), Error);
  CHECK_THROWS_AS(upsample_nearest(ctx, ctx.zeros({1, 3, 4, 4}), 0, 8), Error);
  CHECK_THROWS_AS(upsample_nearest(ctx, ctx.zeros({1, 3, 0, 4}), 8, 8), Error);
  CHECK_THROWS_WITH_AS(resize_bilinear(ctx, ctx.zeros({4, 4}), 8, 8),
                       doctest::Contains("resize_bilinear: input must be"), Error);
  CHECK_THROWS_AS(resize_bilinear(ctx, ctx.zeros({3, 4, 4}), 8, -1), Error);
  CHECK(upsample_nearest(ctx, ctx.zeros({0, 3, 4, 4}), 8, 9).shape() == Shape{0, 3, 8, 9});
  CHECK(resize_bilinear(ctx, ctx.zeros({0, 4, 4}), 5, 6).shape() == Shape{0, 5, 6});
}

TEST_CASE("gpu: upsample_nearest and resize_bilinear match the CPU") {
  Context cpu(Device::cpu(), 51), gpu(Device::cuda(0), 51);
  const Device g = gpu.device();
  struct Cfg {
    Shape in;
    int64_t oh, ow;
  };
  for (const Cfg& c : {Cfg{{2, 3, 5, 7}, 9, 13}, Cfg{{2, 3, 5, 7}, 10, 14},
                       Cfg{{1, 5, 25, 38}, 50, 76}, Cfg{{3, 2, 17, 23}, 11, 8},
                       Cfg{{1, 3, 333, 500}, 800, 1201}, Cfg{{0, 3, 4, 4}, 7, 9}}) {
    const std::string what = shape_str(c.in) + " -> " + std::to_string(c.oh) + "x" +
                             std::to_string(c.ow);
    Tensor x = test::random_tensor(cpu, c.in), xg = gpu.to(x, g);
    DR_CHECK_CLOSE(gpu, resize_bilinear(gpu, xg, c.oh, c.ow), resize_bilinear(cpu, x, c.oh, c.ow),
                   0, 1e-6, "bilinear " + what);  // the GPU contracts to FMA: ulp-level
    x.set_requires_grad(true);
    xg.set_requires_grad(true);
    GradModeGuard gc(cpu, true), gg(gpu, true);
    Tensor yc = upsample_nearest(cpu, x, c.oh, c.ow), yg = upsample_nearest(gpu, xg, c.oh, c.ow);
    DR_CHECK_CLOSE(gpu, yg, yc, 0, 0, "nearest y " + what);
    if (x.numel() == 0) {
      cpu.tape().clear();
      gpu.tape().clear();
      continue;
    }
    Tensor dy = test::random_tensor(cpu, yc.shape());
    cpu.backward(yc, dy);
    gpu.backward(yg, gpu.to(dy, g));
    DR_CHECK_CLOSE(gpu, xg.grad(), x.grad(), 0, 0, "nearest dx " + what);  // same gather order
  }
}
