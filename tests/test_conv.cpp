// conv2d: im2col math, finite differences, a naive reference, torch parity, errors, and
// CPU vs CUDA.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "nn/functional.h"
#include "tests/conv_helpers.h"
#include "tests/testing.h"

using namespace dr;

namespace {

struct ConvCase {
  std::string name;
  Shape x, w;
  bool bias;
  Conv2dArgs a;
};


// Direct-loop convolution in double (the textbook definition), with its backward for an
// upstream gradient dy: returns y, dx, dw, db as f64 host tensors.
std::vector<Tensor> naive_conv(const Tensor& x, const Tensor& w, const Tensor& b,
                               const Conv2dArgs& a, const Tensor& dy) {
  kern::ConvGeom g = test::conv_geom(x.shape(), w.shape(), a);
  Tensor y = Tensor::host_zeros({g.N, g.O, g.OH, g.OW}, DType::F64);
  Tensor dx = Tensor::host_zeros(x.shape(), DType::F64),
         dw = Tensor::host_zeros(w.shape(), DType::F64);
  Tensor db = Tensor::host_zeros({g.O}, DType::F64);
  const double *xp = x.data<double>(), *wp = w.data<double>(), *dyp = dy.data<double>();
  double *yp = y.data<double>(), *dxp = dx.data<double>(), *dwp = dw.data<double>();
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.O; ++o)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t yi = ((n * g.O + o) * g.OH + oh) * g.OW + ow;
          double s = b.defined() ? b.data<double>()[o] : 0.0;
          db.data<double>()[o] += dyp[yi];
          for (int64_t c = 0; c < g.Cg(); ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t ih = oh * g.sh - g.ph + kh * g.dh, iw = ow * g.sw - g.pw + kw * g.dw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                int64_t ci = (o / g.Og()) * g.Cg() + c;
                int64_t xi = ((n * g.C + ci) * g.H + ih) * g.W + iw;
                int64_t wi = ((o * g.Cg() + c) * g.KH + kh) * g.KW + kw;
                s += xp[xi] * wp[wi];
                dxp[xi] += wp[wi] * dyp[yi];
                dwp[wi] += xp[xi] * dyp[yi];
              }
          yp[yi] = s;
        }
  return {y, dx, dw, db};
}

// Runs conv2d with autograd on ctx and returns y, dx, dw, db (db undefined without bias).
std::vector<Tensor> run_conv(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                             const Conv2dArgs& a, const Tensor& dy) {
  for (const Tensor* t : {&x, &w, &b})
    if (t->defined())
      const_cast<Tensor&>(*t).set_requires_grad(true), const_cast<Tensor&>(*t).zero_grad();
  GradModeGuard guard(ctx, true);
  Tensor y = conv2d(ctx, x, w, b, a);
  ctx.backward(y, dy);
  return {y, x.grad(), w.grad(), b.defined() ? b.grad() : Tensor()};
}

const char* kGradNames[] = {"y", "dx", "dw", "db"};

}  // namespace

TEST_CASE("conv2d: im2col loops match the per-element HD math; col2im is its adjoint") {
  Context ctx(Device::cpu(), 11);
  struct G {
    Shape x, w;
    Conv2dArgs a;
  };
  for (const G& c : {G{{1, 2, 5, 7}, {1, 2, 3, 3}, test::conv_args(1, 1, 1, 1)},
                     G{{1, 3, 9, 6}, {1, 3, 3, 2}, test::conv_args(2, 3, 2, 0, 1, 2)},
                     G{{1, 1, 4, 4}, {1, 1, 5, 5}, test::conv_args(1, 1, 3, 3, 2, 2)},
                     G{{1, 2, 6, 5}, {1, 2, 1, 1}, test::conv_args(2, 2, 0, 0)}}) {
    kern::ConvGeom g = test::conv_geom(c.x, c.w, c.a);
    const int64_t ld = g.P() + 3;  // a row stride wider than one image, as when packed
    Tensor x = test::random_tensor(ctx, {g.C, g.H, g.W}, -1, 1, DType::F64);
    Tensor col = Tensor::host_zeros({g.Kc(), ld}, DType::F64);
    kern::im2col_cpu(col.data<double>(), ld, x.data<double>(), g);
    int64_t bad = 0;
    for (int64_t r = 0; r < g.Kc(); ++r)
      for (int64_t q = 0; q < g.P(); ++q)
        bad += col.data<double>()[r * ld + q] != kern::im2col_value(x.data<double>(), g, r, q);
    CHECK_MESSAGE(bad == 0,
                  "im2col mismatches for x " << shape_str(c.x) << ", w " << shape_str(c.w));
    // <im2col(x), d> == <x, col2im(d)>
    Tensor d = test::random_tensor(ctx, {g.Kc(), ld}, -1, 1, DType::F64);
    Tensor back = Tensor::host_zeros({g.C, g.H, g.W}, DType::F64);
    kern::col2im_add_cpu(back.data<double>(), d.data<double>(), ld, g);
    double lhs = 0, rhs = 0;
    for (int64_t r = 0; r < g.Kc(); ++r)
      for (int64_t q = 0; q < g.P(); ++q)
        lhs += col.data<double>()[r * ld + q] * d.data<double>()[r * ld + q];
    for (int64_t i = 0; i < x.numel(); ++i) rhs += x.data<double>()[i] * back.data<double>()[i];
    CHECK(std::fabs(lhs - rhs) <= 1e-12 * (1 + std::fabs(lhs)));
  }
}

TEST_CASE("gradcheck: conv2d") {
  std::vector<ConvCase> cases = {
      {"stride 2, pad 1, groups 2", {2, 4, 5, 7}, {6, 2, 3, 3}, true, test::conv_args(2, 2, 1, 1, 1, 1, 2)},
      {"dilation 2, pad 2", {1, 3, 7, 6}, {2, 3, 3, 3}, true, test::conv_args(1, 1, 2, 2, 2, 2)},
      {"depthwise", {2, 3, 6, 5}, {3, 1, 3, 3}, true, test::conv_args(1, 1, 1, 1, 1, 1, 3)},
      {"1x1 no bias", {2, 4, 5, 7}, {3, 4, 1, 1}, false, test::conv_args(1, 1, 0, 0)},
      {"1x1 one image (x is the column matrix)",
       {1, 4, 5, 7},
       {3, 4, 1, 1},
       true,
       test::conv_args(1, 1, 0, 0)},
      {"asymmetric 2x3 kernel", {2, 2, 7, 5}, {3, 2, 2, 3}, false, test::conv_args(2, 1, 0, 2, 2, 1)},
      {"stem-like 5x5 stride 2", {1, 3, 9, 8}, {2, 3, 5, 5}, true, test::conv_args(2, 2, 2, 2)},
  };
  for (const ConvCase& c : cases) {
    Context ctx(Device::cpu(), 5);
    std::vector<Tensor> in = {test::random_tensor(ctx, c.x, -1, 1, DType::F64),
                              test::random_tensor(ctx, c.w, -1, 1, DType::F64)};
    if (c.bias) in.push_back(test::random_tensor(ctx, {c.w[0]}, -1, 1, DType::F64));
    for (Tensor& t : in) t.set_requires_grad(true);
    const Conv2dArgs a = c.a;
    test::gradcheck(
        [a](Context& cx, const std::vector<Tensor>& v) {
          return conv2d(cx, v[0], v[1], v.size() > 2 ? v[2] : Tensor(), a);
        },
        in, "conv2d " + c.name);
  }
}

TEST_CASE("conv2d: f64 CPU matches a naive direct convolution on every GEMM plan") {
  // Sizes chosen to hit: packed small images, one large image per GEMM (im2col and
  // direct 1x1), a packed chunk followed by a smaller last chunk, grouped and strided,
  // and forward column matrices built in several bands of output rows (Kc*OW*OH > 1M).
  std::vector<ConvCase> cases = {
      {"packed 7x7 RoI-like", {5, 6, 7, 7}, {4, 6, 3, 3}, true, test::conv_args(1, 1, 1, 1)},
      {"large image 3x3", {2, 2, 66, 64}, {3, 2, 3, 3}, true, test::conv_args(1, 1, 1, 1)},
      {"large image 1x1 direct", {2, 3, 64, 70}, {4, 3, 1, 1}, true, test::conv_args(1, 1, 0, 0)},
      {"chunks of 2 then 1", {3, 2, 48, 48}, {3, 2, 3, 3}, false, test::conv_args(1, 1, 1, 1)},
      {"groups 3 stride 2 dilation 2",
       {3, 6, 13, 11},
       {9, 2, 3, 3},
       true,
       test::conv_args(2, 2, 2, 1, 2, 1, 3)},
      {"1x1 stride 2 (downsample)", {2, 4, 9, 9}, {5, 4, 1, 1}, false, test::conv_args(2, 2, 0, 0)},
      {"forward in bands of 36 rows", {1, 32, 120, 100}, {2, 32, 3, 3}, true, test::conv_args(1, 1, 1, 1)},
      {"stride 2 in bands of 26 rows", {1, 128, 90, 70}, {2, 128, 3, 3}, false, test::conv_args(2, 2, 1, 1)},
  };
  for (const ConvCase& c : cases) {
    Context ctx(Device::cpu(), 9);
    Tensor x = test::random_tensor(ctx, c.x, -1, 1, DType::F64);
    Tensor w = test::random_tensor(ctx, c.w, -1, 1, DType::F64);
    Tensor b = c.bias ? test::random_tensor(ctx, {c.w[0]}, -1, 1, DType::F64) : Tensor();
    kern::ConvGeom g = test::conv_geom(c.x, c.w, c.a);
    Tensor dy = test::random_tensor(ctx, {g.N, g.O, g.OH, g.OW}, -1, 1, DType::F64);
    auto want = naive_conv(x, w, b, c.a, dy);
    auto got = run_conv(ctx, x, w, b, c.a, dy);
    for (int k = 0; k < 4; ++k)
      if (got[k].defined())
        DR_CHECK_CLOSE(ctx, got[k], want[k], 1e-12, 1e-12, c.name + " " + kGradNames[k]);
  }
}

TEST_CASE("parity: conv2d forward and gradients match torch (f32)") {
  const TensorFile& ref = test::reference("ops_conv");
  for (const char* name : {"conv_s2_g2", "conv_3x3_p1", "conv_1x1", "conv_1x1_n1", "conv_asym",
                           "conv_1x1_large", "conv_chunks"}) {
    Context ctx;
    std::string p = name;
    const int64_t* av = ref.get(p + ".args").data<int64_t>();
    Conv2dArgs a =
        test::conv_args(int(av[0]), int(av[1]), int(av[2]), int(av[3]), int(av[4]), int(av[5]), int(av[6]));
    Tensor x = ref.get(p + ".x"), w = ref.get(p + ".w");
    Tensor b = ref.contains(p + ".b") ? ref.get(p + ".b") : Tensor();
    auto got = run_conv(ctx, x, w, b, a, ref.get(p + ".dy"));
    // f32 against torch's own f32 kernels (oneDNN / its own im2col): both sum the same
    // products in different orders. 1e-5 relative, plus an absolute floor of 1e-5 for
    // entries that cancel to near zero (|terms| ~ 1, up to ~300 of them per sum).
    // dw sums over N*OH*OW products, 6912 in conv_chunks, where f32 cannot hold 1e-5 of
    // a cancelled result: torch's own f32 dw there is off the exact (f64) value by up to
    // 4.1e-4 absolute (2.5e-5 relative, max |dw| 223), ours by a similar amount
    // (4.4e-4 from torch). So dw's absolute floor scales with its magnitude: 5e-6 * max |dw|.
    const char* keys[] = {".y", ".dx", ".dw", ".db"};
    for (int k = 0; k < 4; ++k) {
      if (!got[k].defined()) continue;
      const Tensor& want = ref.get(p + keys[k]);
      double atol = 1e-5;
      if (k == 2)
        for (double v : test::to_doubles(ctx, want)) atol = std::max(atol, 5e-6 * std::fabs(v));
      DR_CHECK_CLOSE(ctx, got[k], want, 1e-5, atol, p + " " + kGradNames[k]);
    }
  }
}

TEST_CASE("conv2d: empty batch, and gradients only for inputs that require them") {
  Context ctx(Device::cpu(), 3);
  Tensor x = test::random_tensor(ctx, {0, 3, 5, 5}), w = test::random_tensor(ctx, {4, 3, 3, 3});
  Tensor b = test::random_tensor(ctx, {4});
  CHECK(conv2d(ctx, x, w, b, test::conv_args(2, 2, 1, 1)).shape() == Shape{0, 4, 3, 3});
  // Frozen input: only the weight gets a gradient.
  Tensor x2 = test::random_tensor(ctx, {2, 3, 5, 5});
  w.set_requires_grad(true);
  GradModeGuard guard(ctx, true);
  Tensor y = conv2d(ctx, x2, w, Tensor(), test::conv_args(1, 1, 1, 1));
  ctx.backward(y, test::random_tensor(ctx, y.shape()));
  CHECK(w.has_grad());
  CHECK(!x2.has_grad());
  CHECK(!b.has_grad());
}

TEST_CASE("conv2d: shape errors name the op and the shapes") {
  Context ctx;
  Tensor x = Tensor::host_zeros({1, 4, 8, 8}), w = Tensor::host_zeros({6, 2, 3, 3});
  CHECK_THROWS_WITH_AS(conv2d(ctx, x, w, Tensor(), test::conv_args(1, 1, 1, 1)),
                       doctest::Contains("conv2d: input (1,4,8,8) has 4 channels but weight "
                                         "(6,2,3,3) with groups 1 expects 2"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(ctx, Tensor::host_zeros({4, 8, 8}), w, Tensor(), test::conv_args(1, 1, 1, 1)),
                       doctest::Contains("conv2d: input must be 4-d but is (4,8,8)"), Error);
  CHECK_THROWS_WITH_AS(
      conv2d(ctx, x, Tensor::host_zeros({5, 2, 3, 3}), Tensor(), test::conv_args(1, 1, 1, 1, 1, 1, 2)),
      doctest::Contains("not a positive multiple of groups 2"), Error);
  CHECK_THROWS_WITH_AS(
      conv2d(ctx, Tensor::host_zeros({1, 2, 2, 2}), w, Tensor(), test::conv_args(1, 1, 0, 0)),
      doctest::Contains("conv2d: output size 0x0 is not positive for input (1,2,2,2)"), Error);
  CHECK_THROWS_WITH_AS(conv2d(ctx, x, w, Tensor::host_zeros({5}), test::conv_args(1, 1, 1, 1, 1, 1, 2)),
                       doctest::Contains("conv2d: bias f32(5)@cpu does not match weight"), Error);
  CHECK_THROWS_WITH_AS(
      conv2d(ctx, x, Tensor::host_zeros({6, 4, 3, 3}, DType::F64), Tensor(), test::conv_args(1, 1, 1, 1)),
      doctest::Contains("conv2d: weight f64(6,4,3,3)@cpu and input"), Error);
  if (cuda_available()) {
    Context gpu(Device::cuda(0));
    CHECK_THROWS_WITH_AS(conv2d(gpu, gpu.to(x, gpu.device()), Tensor::host_zeros({6, 4, 3, 3}),
                                Tensor(), test::conv_args(1, 1, 1, 1)),
                         doctest::Contains("conv2d: tensors on different devices"), Error);
  }
}

TEST_CASE("gpu: conv2d forward and all gradients match the CPU") {
  std::vector<ConvCase> cases = {
      {"3x3 pad 1", {2, 5, 9, 7}, {6, 5, 3, 3}, true, test::conv_args(1, 1, 1, 1)},
      {"stride 2 groups 2", {3, 4, 11, 10}, {6, 2, 3, 3}, true, test::conv_args(2, 2, 1, 1, 1, 1, 2)},
      {"depthwise dilation 2", {2, 6, 9, 13}, {6, 1, 3, 3}, false, test::conv_args(1, 1, 2, 2, 2, 2, 6)},
      {"1x1", {2, 16, 7, 5}, {8, 16, 1, 1}, true, test::conv_args(1, 1, 0, 0)},
      {"stem 7x7 stride 2", {1, 3, 33, 29}, {8, 3, 7, 7}, false, test::conv_args(2, 2, 3, 3)},
      {"resnext groups 8", {1, 32, 14, 14}, {32, 4, 3, 3}, false, test::conv_args(1, 1, 1, 1, 1, 1, 8)},
      {"empty batch", {0, 4, 6, 6}, {4, 4, 3, 3}, true, test::conv_args(1, 1, 1, 1)},
  };
  for (const ConvCase& c : cases) {
    Context cpu(Device::cpu(), 21), gpu(Device::cuda(0), 21);
    Tensor x = test::random_tensor(cpu, c.x), w = test::random_tensor(cpu, c.w, -0.5, 0.5);
    Tensor b = c.bias ? test::random_tensor(cpu, {c.w[0]}) : Tensor();
    kern::ConvGeom g = test::conv_geom(c.x, c.w, c.a);
    Tensor dy = test::random_tensor(cpu, {g.N, g.O, g.OH, g.OW});
    auto want = run_conv(cpu, x, w, b, c.a, dy);
    auto on_gpu = [&](const Tensor& t) { return t.defined() ? gpu.to(t, gpu.device()) : Tensor(); };
    auto got = run_conv(gpu, on_gpu(x), on_gpu(w), on_gpu(b), c.a, on_gpu(dy));
    // fp32 on both sides (FMA math, no TF32), different summation orders.
    for (int k = 0; k < 4; ++k)
      if (want[k].defined())
        DR_CHECK_CLOSE(gpu, got[k], want[k], 1e-4, 1e-4, c.name + " " + kGradNames[k]);
  }
}
