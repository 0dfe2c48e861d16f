// The f32 CPU convolution paths: oneDNN (default when built with it) against im2col + BLAS
// and the f64 truth on odd shapes, forward and both gradients; the fused conv -> affine ->
// residual -> ReLU op; and choosing the path (set_cpu_conv_impl, DR_CONV).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "nn/functional.h"
#include "tests/conv_helpers.h"
#include "tests/testing.h"

using namespace dr;

namespace {


struct Case {
  std::string name;
  Shape x, w;
  bool bias;
  Conv2dArgs a;
};

// The kinds of conv the detectors run, at small odd sizes: each picks a different oneDNN
// implementation (blocked direct, Winograd, GEMM on plain layouts, grouped, first-layer).
std::vector<Case> odd_cases() {
  return {
      {"3x3 pad 1, odd channels", {2, 5, 11, 9}, {7, 5, 3, 3}, true, test::conv_args(1, 1, 1, 1)},
      {"3x3 stride 2 (a stage's first block)", {2, 16, 13, 17}, {32, 16, 3, 3}, false,
       test::conv_args(2, 2, 1, 1)},
      {"3x3 dilation 2", {1, 16, 15, 12}, {16, 16, 3, 3}, true, test::conv_args(1, 1, 2, 2, 2, 2)},
      {"groups 8 of 4 channels (ResNeXt)", {2, 32, 10, 9}, {32, 4, 3, 3}, false,
       test::conv_args(1, 1, 1, 1, 1, 1, 8)},
      {"groups 4, stride 2", {1, 16, 9, 9}, {24, 4, 3, 3}, true, test::conv_args(2, 2, 1, 1, 1, 1, 4)},
      {"1x1 on 37 RoIs (box head)", {37, 32, 7, 7}, {24, 32, 1, 1}, true, test::conv_args(1, 1, 0, 0)},
      {"3x3 on 33 RoIs (v2 box head)", {33, 16, 7, 7}, {16, 16, 3, 3}, false, test::conv_args(1, 1, 1, 1)},
      {"7x7 stride 2 stem", {2, 3, 33, 29}, {16, 3, 7, 7}, false, test::conv_args(2, 2, 3, 3)},
      {"1x1 stride 2 (downsample)", {2, 24, 11, 13}, {40, 24, 1, 1}, false, test::conv_args(2, 2, 0, 0)},
      {"3x3 sized for Winograd (70 tiles, 32 channels)", {2, 32, 20, 28}, {32, 32, 3, 3}, true,
       test::conv_args(1, 1, 1, 1)},
      {"1x1 with 3 outputs (RPN logits)", {2, 32, 9, 10}, {3, 32, 1, 1}, true, test::conv_args(1, 1, 0, 0)},
      {"2x3 kernel, stride (2,1), padding (0,2), dilation (1,2)", {2, 8, 10, 7}, {16, 8, 2, 3},
       true, test::conv_args(2, 1, 0, 2, 1, 2)},
  };
}

Tensor to_f64(Context& ctx, const Tensor& t) {
  return t.defined() ? Tensor::host_from<double>(t.shape(), test::to_doubles(ctx, t)) : Tensor();
}

// Fresh leaf copies of the inputs (each run gets its own gradients).
std::vector<Tensor> leaves(Context& ctx, const std::vector<Tensor>& in) {
  std::vector<Tensor> out;
  for (const Tensor& t : in) {
    Tensor c = t.defined() ? ctx.clone(t) : Tensor();
    if (c.defined()) c.set_requires_grad(true);
    out.push_back(c);
  }
  return out;
}

// y, dx, dw, db of conv2d on ctx for the upstream gradient dy.
std::vector<Tensor> run_conv(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                             const Conv2dArgs& a, const Tensor& dy) {
  std::vector<Tensor> in = leaves(ctx, {x, w, b});
  GradModeGuard guard(ctx, true);
  Tensor y = conv2d(ctx, in[0], in[1], in[2], a);
  ctx.backward(y, dy);
  return {y, in[0].grad(), in[1].grad(), b.defined() ? in[2].grad() : Tensor()};
}

const char* kNames[] = {"y", "dx", "dw", "db", "dresidual"};

// max |t| (the scale tolerances are relative to).
double max_abs(Context& ctx, const Tensor& t) {
  double m = 0;
  for (double v : test::to_doubles(ctx, t)) m = std::max(m, std::fabs(v));
  return m;
}

// An f32 result against the f64 truth: |got - want| <= kTol * max|want|. Inputs are in
// [-1, 1], so every entry is a sum of at most a few thousand products of size <= 1 (dw
// sums N*OH*OW of them, 1120 in the Winograd case; y and dx at most Cg*KH*KW = 288). f32
// summation in any order stays within ~sqrt(terms) * 2^-24 * (typical |term|) of the truth
// for random signs, i.e. ~1e-6 of the tensor's scale; Winograd's transforms multiply the
// rounding by their coefficients (up to ~10 for F(4x4, 3x3)). Measured worst over these
// cases: im2col 5e-7, oneDNN direct 8e-7, oneDNN with Winograd 1.1e-6 of the scale. 2e-5
// leaves a margin of ~20; a wrong tap, padding or layout errs by O(1).
constexpr double kTol = 2e-5;

void check_against(Context& ctx, const std::vector<Tensor>& got, const std::vector<Tensor>& want,
                   const std::string& what, double* worst) {
  for (size_t k = 0; k < want.size(); ++k) {
    if (!want[k].defined()) continue;
    REQUIRE(got[k].defined());
    const double scale = std::max(max_abs(ctx, want[k]), 1e-30);
    test::CompareResult r = test::compare(ctx, got[k], want[k], 0, kTol * scale,
                                          what + " " + kNames[k]);
    *worst = std::max(*worst, r.max_abs / scale);
    CHECK_MESSAGE(r.ok, r.message);
  }
}

}  // namespace

TEST_CASE("conv2d: oneDNN and im2col + BLAS (f32) match the f64 truth on odd shapes") {
  Context host(Device::cpu(), 31);
  std::vector<std::pair<CpuConvImpl, const char*>> impls = {{CpuConvImpl::kIm2col, "im2col"}};
  if (DR_DNNL) {
    impls.push_back({CpuConvImpl::kOneDnn, "oneDNN"});
    impls.push_back({CpuConvImpl::kOneDnnDirect, "oneDNN direct"});
  }
  std::vector<double> worst(impls.size(), 0);
  for (const Case& c : odd_cases()) {
    const kern::ConvGeom g = test::conv_geom(c.x, c.w, c.a);
    Tensor x = test::random_tensor(host, c.x), w = test::random_tensor(host, c.w);
    Tensor b = c.bias ? test::random_tensor(host, {c.w[0]}) : Tensor();
    Tensor dy = test::random_tensor(host, {g.N, g.O, g.OH, g.OW});
    Context ref(Device::cpu(), 1);
    auto want = run_conv(ref, to_f64(host, x), to_f64(host, w), to_f64(host, b), c.a,
                         to_f64(host, dy));
    for (size_t i = 0; i < impls.size(); ++i) {
      Context ctx(Device::cpu(), 1);
      set_cpu_conv_impl(ctx, impls[i].first);
      auto got = run_conv(ctx, x, w, b, c.a, dy);
      check_against(ctx, got, want, std::string(impls[i].second) + " " + c.name, &worst[i]);
    }
#if DR_DNNL
    kern::DnnlConv probe;
    MESSAGE(c.name << ": oneDNN " << probe.implementation(g, 0) << " / "
                   << probe.implementation(g, 1) << " / " << probe.implementation(g, 2));
#endif
  }
  for (size_t i = 0; i < impls.size(); ++i)
    MESSAGE(std::string(impls[i].second) << ": worst error / scale " << worst[i]);
}

TEST_CASE("conv2d: the CPU path is the context's choice (set_cpu_conv_impl, DR_CONV)") {
  Context host(Device::cpu(), 7);
  const Shape xs{2, 16, 12, 10}, ws{16, 16, 3, 3};
  const Conv2dArgs a = test::conv_args(1, 1, 1, 1);
  const kern::ConvGeom g = test::conv_geom(xs, ws, a);
  Tensor x = test::random_tensor(host, xs), w = test::random_tensor(host, ws);
  auto forward = [&](CpuConvImpl impl) {
    Context ctx(Device::cpu(), 1);
    set_cpu_conv_impl(ctx, impl);
    CHECK(cpu_conv_impl(ctx) == impl);
    return test::to_doubles(ctx, conv2d(ctx, x, w, Tensor(), a));
  };
  auto as_doubles = [](const std::vector<float>& v) {
    return std::vector<double>(v.begin(), v.end());
  };
  // Forced im2col: bit for bit what the im2col kernel computes.
  std::vector<float> y(g.N * g.O * g.P());
  std::vector<float> scratch(kern::conv2d_cpu_scratch(g, false) + 1);
  kern::conv2d_forward_cpu<float>(y.data(), x.data<float>(), w.data<float>(), g, scratch.data());
  CHECK(forward(CpuConvImpl::kIm2col) == as_doubles(y));
#if DR_DNNL
  // oneDNN (with and without Winograd): bit for bit what a DnnlConv computes.
  for (bool wino : {true, false}) {
    kern::DnnlConv c;
    c.set_winograd(wino);
    std::vector<float> yd(y.size());
    c.forward(yd.data(), x.data<float>(), w.data<float>(), nullptr, g);
    CHECK(forward(wino ? CpuConvImpl::kOneDnn : CpuConvImpl::kOneDnnDirect) == as_doubles(yd));
  }
#else
  Context ctx;
  CHECK_THROWS_WITH_AS(set_cpu_conv_impl(ctx, CpuConvImpl::kOneDnn),
                       doctest::Contains("this build has no oneDNN"), Error);
#endif
  // f64 always runs im2col, whatever the choice.
  {
    Context ctx(Device::cpu(), 1);
    if (DR_DNNL) set_cpu_conv_impl(ctx, CpuConvImpl::kOneDnn);
    Tensor x64 = to_f64(host, x), w64 = to_f64(host, w);
    std::vector<double> y64(y.size());
    std::vector<double> s64(kern::conv2d_cpu_scratch(g, false) + 1);
    kern::conv2d_forward_cpu<double>(y64.data(), x64.data<double>(), w64.data<double>(), g,
                                     s64.data());
    CHECK(test::to_doubles(ctx, conv2d(ctx, x64, w64, Tensor(), a)) == y64);
  }
  // DR_CONV sets a new context's default (read when the context first asks).
  const char* prev = std::getenv("DR_CONV");
  const std::optional<std::string> saved = prev ? std::optional<std::string>(prev) : std::nullopt;
  unsetenv("DR_CONV");
  {
    Context ctx;
    CHECK(cpu_conv_impl(ctx) == (DR_DNNL ? CpuConvImpl::kOneDnn : CpuConvImpl::kIm2col));
  }
  setenv("DR_CONV", "im2col", 1);
  {
    Context ctx;
    CHECK(cpu_conv_impl(ctx) == CpuConvImpl::kIm2col);
    CHECK(test::to_doubles(ctx, conv2d(ctx, x, w, Tensor(), a)) == as_doubles(y));
  }
  setenv("DR_CONV", "onednn-direct", 1);
  {
    Context ctx;
    if (DR_DNNL)
      CHECK(cpu_conv_impl(ctx) == CpuConvImpl::kOneDnnDirect);
    else
      CHECK_THROWS_WITH_AS(cpu_conv_impl(ctx), doctest::Contains("no oneDNN"), Error);
  }
  setenv("DR_CONV", "cudnn", 1);
  {
    Context ctx;
    CHECK_THROWS_WITH_AS(cpu_conv_impl(ctx),
                         doctest::Contains("DR_CONV=cudnn is not one of onednn, onednn-direct, "
                                           "im2col"),
                         Error);
  }
  if (saved)
    setenv("DR_CONV", saved->c_str(), 1);
  else
    unsetenv("DR_CONV");
}

TEST_CASE("batch_norm_affine is the affine frozen_batch_norm2d applies") {
  Context ctx(Device::cpu(), 5);
  Tensor x = test::random_tensor(ctx, {2, 6, 4, 5});
  Tensor w = test::random_tensor(ctx, {6}), b = test::random_tensor(ctx, {6});
  Tensor rm = test::random_tensor(ctx, {6}), rv = test::random_tensor(ctx, {6}, 0.1, 2.0);
  auto [scale, shift] = batch_norm_affine(ctx, w, b, rm, rv, 1e-5);
  Tensor want = frozen_batch_norm2d(ctx, x, w, b, rm, rv, 1e-5);
  std::vector<double> xs = test::to_doubles(ctx, x), ys = test::to_doubles(ctx, want);
  std::vector<double> s = test::to_doubles(ctx, scale), t = test::to_doubles(ctx, shift);
  int64_t bad = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const size_t c = (i / 20) % 6;
    bad += float(float(xs[i]) * float(s[c]) + float(t[c])) != float(ys[i]);
  }
  CHECK(bad == 0);
  CHECK_THROWS_WITH_AS(batch_norm_affine(ctx, w, b, rm, Tensor::host_zeros({5}), 1e-5),
                       doctest::Contains("batch_norm_affine: running_var f32(5)@cpu does not "
                                         "match running_mean"),
                       Error);
}

namespace {

struct FusedCase {
  std::string name;
  Shape x, w;
  bool bias, affine, residual, relu;
  Conv2dArgs a;
};

std::vector<FusedCase> fused_cases() {
  return {
      {"3x3, affine, residual, ReLU (post-ops)", {2, 16, 9, 11}, {16, 16, 3, 3}, false, true,
       true, true, test::conv_args(1, 1, 1, 1)},
      {"1x1, affine, residual, ReLU (epilogue loop)", {2, 24, 7, 9}, {32, 24, 1, 1}, false,
       true, true, true, test::conv_args(1, 1, 0, 0)},
      {"1x1 stride 2, affine only (downsample)", {2, 8, 9, 9}, {16, 8, 1, 1}, false, true,
       false, false, test::conv_args(2, 2, 0, 0)},
      {"3x3 stride 2, bias, affine, ReLU", {1, 8, 11, 10}, {16, 8, 3, 3}, true, true, false,
       true, test::conv_args(2, 2, 1, 1)},
      {"3x3 Winograd-sized, affine, residual, ReLU", {2, 32, 20, 28}, {32, 32, 3, 3}, false,
       true, true, true, test::conv_args(1, 1, 1, 1)},
      {"7x7 stem, affine, ReLU", {1, 3, 21, 19}, {16, 3, 7, 7}, false, true, false, true,
       test::conv_args(2, 2, 3, 3)},
      {"3x3 groups 4, ReLU, no affine (RPN-head-like)", {2, 16, 8, 8}, {16, 4, 3, 3}, true,
       false, false, true, test::conv_args(1, 1, 1, 1, 1, 1, 4)},
  };
}

struct FusedInputs {
  Tensor x, w, b, scale, shift, residual, dy;
};

FusedInputs fused_inputs(Context& ctx, const FusedCase& c) {
  const kern::ConvGeom g = test::conv_geom(c.x, c.w, c.a);
  FusedInputs in;
  in.x = test::random_tensor(ctx, c.x);
  in.w = test::random_tensor(ctx, c.w, -0.5, 0.5);
  if (c.bias) in.b = test::random_tensor(ctx, {c.w[0]});
  if (c.affine) {
    in.scale = test::random_tensor(ctx, {c.w[0]}, 0.5, 1.5);
    in.shift = test::random_tensor(ctx, {c.w[0]}, -0.5, 0.5);
  }
  if (c.residual) in.residual = test::random_tensor(ctx, {g.N, g.O, g.OH, g.OW});
  in.dy = test::random_tensor(ctx, {g.N, g.O, g.OH, g.OW});
  return in;
}

// y, dx, dw, db, dresidual of conv2d_fused on ctx.
std::vector<Tensor> run_fused(Context& ctx, const FusedInputs& in, const FusedCase& c) {
  std::vector<Tensor> v = leaves(ctx, {in.x, in.w, in.b, in.residual});
  ConvEpilogue e;
  if (in.scale.defined()) e.scale = ctx.clone(in.scale), e.shift = ctx.clone(in.shift);
  e.residual = v[3];
  e.relu = c.relu;
  GradModeGuard guard(ctx, true);
  Tensor y = conv2d_fused(ctx, v[0], v[1], v[2], c.a, e);
  ctx.backward(y, in.dy);
  return {y, v[0].grad(), v[1].grad(), v[2].defined() ? v[2].grad() : Tensor(),
          v[3].defined() ? v[3].grad() : Tensor()};
}

FusedInputs in_f64(Context& ctx, const FusedInputs& in) {
  return {to_f64(ctx, in.x),     to_f64(ctx, in.w),        to_f64(ctx, in.b), to_f64(ctx, in.scale),
          to_f64(ctx, in.shift), to_f64(ctx, in.residual), to_f64(ctx, in.dy)};
}

}  // namespace

TEST_CASE("gradcheck: conv2d_fused (folded affine, residual)") {
  // Tiny shapes (finite differences in f64 cost two forwards per input element). Without
  // the ReLU: differences across its kink at 0 would be wrong for outputs near 0; its
  // gradient is checked against relu's in the next test.
  std::vector<FusedCase> cases = {
      {"3x3, affine, residual", {1, 3, 5, 6}, {4, 3, 3, 3}, false, true, true, false,
       test::conv_args(1, 1, 1, 1)},
      {"1x1 stride 2, affine", {2, 3, 5, 5}, {4, 3, 1, 1}, false, true, false, false,
       test::conv_args(2, 2, 0, 0)},
      {"3x3 stride 2, bias, affine, residual", {1, 2, 7, 6}, {4, 2, 3, 3}, true, true, true,
       false, test::conv_args(2, 2, 1, 1)},
      {"groups 2, bias, residual, no affine", {1, 4, 5, 5}, {4, 2, 3, 3}, true, false, true,
       false, test::conv_args(1, 1, 1, 1, 1, 1, 2)},
  };
  for (const FusedCase& c : cases) {
    Context ctx(Device::cpu(), 17);
    FusedInputs in = in_f64(ctx, fused_inputs(ctx, c));
    std::vector<Tensor> v = {in.x, in.w};
    if (in.b.defined()) v.push_back(in.b);
    if (in.residual.defined()) v.push_back(in.residual);
    for (Tensor& t : v) t.set_requires_grad(true);
    const bool has_b = in.b.defined(), has_r = in.residual.defined();
    const Tensor scale = in.scale, shift = in.shift;
    const Conv2dArgs a = c.a;
    test::gradcheck(
        [=](Context& cx, const std::vector<Tensor>& t) {
          ConvEpilogue e;
          e.scale = scale, e.shift = shift;
          if (has_r) e.residual = t[has_b ? 3 : 2];
          return conv2d_fused(cx, t[0], t[1], has_b ? t[2] : Tensor(), a, e);
        },
        v, "conv2d_fused " + c.name);
  }
}

TEST_CASE("conv2d_fused (f32, every CPU path) matches its f64 definition, forward and gradients") {
  Context host(Device::cpu(), 23);
  std::vector<CpuConvImpl> impls = {CpuConvImpl::kIm2col};
  if (DR_DNNL) impls.push_back(CpuConvImpl::kOneDnn);
  for (const FusedCase& c : fused_cases()) {
    FusedInputs in = fused_inputs(host, c);
    // The definition, term by term in f64: relu(conv2d(x, w, b) * scale + shift + residual)
    // through the unfused ops (conv2d, frozen_batch_norm2d with running_var chosen so that
    // its scale is `scale`, add, relu).
    Context ref(Device::cpu(), 1);
    FusedInputs d = in_f64(host, in);
    std::vector<Tensor> v = leaves(ref, {d.x, d.w, d.b, d.residual});
    Tensor want_y;
    {
      GradModeGuard guard(ref, true);
      Tensor y = conv2d(ref, v[0], v[1], v[2], c.a);
      if (d.scale.defined()) {
        // frozen BN with weight = scale, running_var = 1 - eps, mean 0: y * scale + shift
        Tensor ones = Tensor::host_from<double>({c.w[0]}, std::vector<double>(c.w[0], 1.0 - 1e-5));
        y = frozen_batch_norm2d(ref, y, d.scale, d.shift, Tensor::host_zeros({c.w[0]}, DType::F64),
                                ones, 1e-5);
      }
      if (v[3].defined()) y = add(ref, y, v[3]);
      if (c.relu) y = relu(ref, y);
      ref.backward(y, d.dy);
      want_y = y;
    }
    std::vector<Tensor> want = {want_y, v[0].grad(), v[1].grad(),
                                v[2].defined() ? v[2].grad() : Tensor(),
                                v[3].defined() ? v[3].grad() : Tensor()};
    for (CpuConvImpl impl : impls) {
      Context ctx(Device::cpu(), 1);
      set_cpu_conv_impl(ctx, impl);
      double worst = 0;
      check_against(ctx, run_fused(ctx, in, c), want,
                    std::string(impl == CpuConvImpl::kIm2col ? "im2col " : "oneDNN ") + c.name,
                    &worst);
    }
  }
}

TEST_CASE("conv2d_fused: argument errors name the op") {
  Context ctx;
  Tensor x = Tensor::host_zeros({1, 4, 6, 6}), w = Tensor::host_zeros({8, 4, 3, 3});
  ConvEpilogue e;
  e.scale = Tensor::host_zeros({8});
  CHECK_THROWS_WITH_AS(conv2d_fused(ctx, x, w, Tensor(), test::conv_args(1, 1, 1, 1), e),
                       doctest::Contains("conv2d_fused: scale and shift must be given together"),
                       Error);
  e.shift = Tensor::host_zeros({7});
  CHECK_THROWS_WITH_AS(conv2d_fused(ctx, x, w, Tensor(), test::conv_args(1, 1, 1, 1), e),
                       doctest::Contains("conv2d_fused: scale/shift f32(7)@cpu do not match"),
                       Error);
  ConvEpilogue r;
  r.residual = Tensor::host_zeros({1, 8, 5, 6});
  CHECK_THROWS_WITH_AS(conv2d_fused(ctx, x, w, Tensor(), test::conv_args(1, 1, 1, 1), r),
                       doctest::Contains("conv2d_fused: residual f32(1,8,5,6)@cpu does not match "
                                         "the output (1,8,6,6)"),
                       Error);
}

TEST_CASE("linear (f32): oneDNN sgemm and OpenBLAS match the f64 truth, forward and gradients") {
  Context host(Device::cpu(), 29);
  // A box head's fc6 at a small size, a predictor, and an empty batch.
  struct L {
    int64_t n, in, out;
  };
  for (const L& l : {L{37, 300, 64}, L{19, 64, 11}, L{0, 8, 4}}) {
    Tensor x = test::random_tensor(host, {l.n, l.in}), w = test::random_tensor(host, {l.out, l.in});
    Tensor b = test::random_tensor(host, {l.out}), dy = test::random_tensor(host, {l.n, l.out});
    auto run = [&](Context& ctx, const Tensor& xi, const Tensor& wi, const Tensor& bi,
                   const Tensor& dyi) {
      std::vector<Tensor> v = leaves(ctx, {xi, wi, bi});
      GradModeGuard guard(ctx, true);
      Tensor y = linear(ctx, v[0], v[1], v[2]);
      if (l.n > 0) ctx.backward(y, dyi);
      return std::vector<Tensor>{y, v[0].grad(), v[1].grad(), v[2].grad()};
    };
    Context ref(Device::cpu(), 1);
    auto want = run(ref, to_f64(host, x), to_f64(host, w), to_f64(host, b), to_f64(host, dy));
    if (l.n == 0) want.resize(1);
    for (CpuConvImpl impl : {CpuConvImpl::kIm2col, CpuConvImpl::kOneDnn}) {
      if (impl != CpuConvImpl::kIm2col && !DR_DNNL) continue;
      Context ctx(Device::cpu(), 1);
      set_cpu_conv_impl(ctx, impl);
      double worst = 0;
      auto got = run(ctx, x, w, b, dy);
      got.resize(want.size());
      check_against(ctx, got, want, "linear " + std::to_string(l.n) + "x" + std::to_string(l.in),
                    &worst);
    }
  }
}

TEST_CASE("conv2d_fused: the residual may be the conv's own input (identity shortcut)") {
  // x feeds both the conv and the add, so its gradient has both terms; on the oneDNN path
  // the residual's gradient then goes through a separate buffer (it cannot be x's).
  Context host(Device::cpu(), 41);
  const Conv2dArgs a = test::conv_args(1, 1, 1, 1);
  Tensor x = test::random_tensor(host, {2, 16, 9, 11});
  Tensor w = test::random_tensor(host, {16, 16, 3, 3}, -0.5, 0.5);
  Tensor scale = test::random_tensor(host, {16}, 0.5, 1.5), shift = test::random_tensor(host, {16});
  Tensor dy = test::random_tensor(host, {2, 16, 9, 11});
  auto run = [&](Context& ctx, const Tensor& xi, const Tensor& wi, const Tensor& s,
                 const Tensor& t, const Tensor& dyi, bool fused) {
    std::vector<Tensor> v = leaves(ctx, {xi, wi});
    GradModeGuard guard(ctx, true);
    Tensor y;
    if (fused) {
      ConvEpilogue e;
      e.scale = s, e.shift = t, e.residual = v[0], e.relu = true;
      y = conv2d_fused(ctx, v[0], v[1], Tensor(), a, e);
    } else {  // the definition: frozen BN with weight = scale, mean 0, var 1 - eps
      Tensor rv = Tensor::host_from<double>({16}, std::vector<double>(16, 1.0 - 1e-5));
      y = frozen_batch_norm2d(ctx, conv2d(ctx, v[0], v[1], Tensor(), a), s, t,
                              Tensor::host_zeros({16}, DType::F64), rv, 1e-5);
      y = relu(ctx, add(ctx, y, v[0]));
    }
    ctx.backward(y, dyi);
    return std::vector<Tensor>{y, v[0].grad(), v[1].grad()};
  };
  Context ref(Device::cpu(), 1);
  auto want = run(ref, to_f64(host, x), to_f64(host, w), to_f64(host, scale), to_f64(host, shift),
                  to_f64(host, dy), false);
  for (CpuConvImpl impl : {CpuConvImpl::kIm2col, CpuConvImpl::kOneDnn}) {
    if (impl != CpuConvImpl::kIm2col && !DR_DNNL) continue;
    Context ctx(Device::cpu(), 1);
    set_cpu_conv_impl(ctx, impl);
    double worst = 0;
    check_against(ctx, run(ctx, x, w, scale, shift, dy, true), want, "identity shortcut", &worst);
  }
}
