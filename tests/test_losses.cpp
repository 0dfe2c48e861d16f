// nn/losses.h: torch parity of values and input gradients (f64 and f32), finite differences
// in f64, edge cases (empty inputs, bad indices, duplicates), the non-finite count, and CUDA
// against the CPU ("gpu: ") including run-to-run bit equality of the GPU sums.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "nn/functional.h"
#include "nn/losses.h"
#include "tests/testing.h"

using namespace dr;

namespace {

// Tolerances against torch.
// f64: the same formulas in double; only the summation order differs (torch's pairwise /
// vectorized sums vs our sequential double sum), a few ulp of the result: 1e-12 relative.
// Gradients likewise, with an absolute floor of 1e-15 g/K for the elements where
// sigmoid(x) - t or softmax - 1 cancels (the few-ulp error of a probability near 1, times
// the scale g/K of every gradient element).
// f32: each term is computed in float with torch's formula and order; glibc's expf/logf and
// torch's SLEEF vector versions differ by <= 1 ulp, so a term is within a few ulp
// (~3e-7 relative). Every loss here is a sum of non-negative terms (no cancellation), and
// torch sums in float (error <= ~log2(K) ulp for its cascade sum, K <= 253 terms) while we
// sum in double: together < 2e-6 relative. Gradients are one formula per element, a few
// ulp, except where sigmoid(x) - t or softmax - 1 cancels: there the float error of the
// probability (~6e-8 absolute, 1 ulp of 1.0) is scaled by g/K, hence the absolute floor.
struct Tol {
  double rtol, atol;
};
constexpr Tol kF64Loss{1e-12, 0};
constexpr Tol kF32Loss{2e-6, 0};
Tol grad_tol(bool f64, double g_over_k) {
  return f64 ? Tol{1e-12, 1e-15 * g_over_k} : Tol{1e-5, 2e-7 * g_over_k};
}

const char* kDtypes[] = {"f64", "f32"};

// The upstream gradient the dump used (a 0-dim tensor != 1).
double gout_value(Context& ctx, const TensorFile& ref, const std::string& key) {
  return test::to_doubles(ctx, ref.get(key))[0];
}

Tensor leaf(const Tensor& t) {
  Tensor x = t.detach();
  x.set_requires_grad(true);
  return x;
}

[[maybe_unused]] std::vector<int64_t> to_i64(const Tensor& t) {  // used by the gpu: cases
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.numel());
}

}  // namespace

TEST_CASE("parity: losses and their input gradients match torch (f64 and f32)") {
  Context ctx;
  const TensorFile& ref = test::reference("losses");
  const double beta = ref.get("smooth_l1.beta").item<double>();
  const double divisor = ref.get("smooth_l1.divisor").item<double>();
  for (const char* dt : kDtypes) {
    const std::string d = dt;
    const bool f64 = d == "f64";
    CAPTURE(d);
    GradModeGuard g(ctx, true);

    {  // binary_cross_entropy_with_logits, mean over 37
      const std::string p = "bce." + d + ".";
      Tensor x = leaf(ref.get(p + "logits"));
      Tensor loss = binary_cross_entropy_with_logits(ctx, x, ref.get(p + "targets"));
      CHECK(loss.shape() == Shape{});
      Tol t = f64 ? kF64Loss : kF32Loss;
      DR_CHECK_CLOSE(ctx, loss, ref.get(p + "loss"), t.rtol, t.atol, p + "loss");
      ctx.backward(loss, ref.get(p + "gout"));
      t = grad_tol(f64, gout_value(ctx, ref, p + "gout") / x.numel());
      DR_CHECK_CLOSE(ctx, x.grad(), ref.get(p + "dlogits"), t.rtol, t.atol, p + "dlogits");
    }
    {  // smooth_l1_loss, sum / divisor
      const std::string p = "smooth_l1." + d + ".";
      Tensor x = leaf(ref.get(p + "input"));
      Tensor loss = smooth_l1_loss(ctx, x, ref.get(p + "target"), beta, divisor);
      Tol t = f64 ? kF64Loss : kF32Loss;
      DR_CHECK_CLOSE(ctx, loss, ref.get(p + "loss"), t.rtol, t.atol, p + "loss");
      ctx.backward(loss, ref.get(p + "gout"));
      t = grad_tol(f64, gout_value(ctx, ref, p + "gout") / divisor);
      DR_CHECK_CLOSE(ctx, x.grad(), ref.get(p + "dinput"), t.rtol, t.atol, p + "dinput");
    }
    {  // cross_entropy, mean over 23 rows of 11 classes
      const std::string p = "ce." + d + ".";
      Tensor x = leaf(ref.get(p + "logits"));
      Tensor loss = cross_entropy(ctx, x, ref.get(p + "labels"));
      Tol t = f64 ? kF64Loss : kF32Loss;
      DR_CHECK_CLOSE(ctx, loss, ref.get(p + "loss"), t.rtol, t.atol, p + "loss");
      ctx.backward(loss, ref.get(p + "gout"));
      t = grad_tol(f64, gout_value(ctx, ref, p + "gout") / x.size(0));
      DR_CHECK_CLOSE(ctx, x.grad(), ref.get(p + "dlogits"), t.rtol, t.atol, p + "dlogits");
    }
    {  // gather_class_boxes: copies, so exact both ways
      const std::string p = "gather." + d + ".";
      Tensor x = leaf(ref.get(p + "box_regression"));
      Tensor y = gather_class_boxes(ctx, x, ref.get(p + "rows"), ref.get(p + "classes"));
      DR_CHECK_CLOSE(ctx, y, ref.get(p + "out"), 0, 0, p + "out");
      ctx.backward(y, ref.get(p + "dy"));
      DR_CHECK_CLOSE(ctx, x.grad(), ref.get(p + "dbox_regression"), 0, 0, p + "dbox_regression");
    }
  }
}

TEST_CASE("parity: the dump exercises the stable forms and both smooth-L1 branches") {
  // Guards the reference itself: if it lost its large logits or one smooth-L1 branch,
  // the parity test above would stop testing what it claims.
  const TensorFile& ref = test::reference("losses");
  Context ctx;
  auto bce = test::to_doubles(ctx, ref.get("bce.f64.logits"));
  int big = 0;
  for (double v : bce) big += std::fabs(v) >= 25;
  CHECK(big >= 4);
  auto x = test::to_doubles(ctx, ref.get("smooth_l1.f64.input"));
  auto y = test::to_doubles(ctx, ref.get("smooth_l1.f64.target"));
  const double beta = ref.get("smooth_l1.beta").item<double>();
  int inside = 0, outside = 0;
  for (size_t i = 0; i < x.size(); ++i) (std::fabs(x[i] - y[i]) < beta ? inside : outside)++;
  CHECK(inside >= 10);
  CHECK(outside >= 10);
}

TEST_CASE("gradcheck: losses and gather_class_boxes (f64 finite differences)") {
  Context ctx(Device::cpu(), 11);
  // BCE: logits in [-4, 4], 0/1 and soft targets.
  Tensor x = test::random_tensor(ctx, {9}, -4, 4, DType::F64);
  Tensor t = Tensor::host_from<double>({9}, {0, 1, 1, 0, 0.3, 1, 0, 0.9, 1});
  x.set_requires_grad(true);
  test::gradcheck(
      [t](Context& c, const std::vector<Tensor>& in) {
        return binary_cross_entropy_with_logits(c, in[0], t);
      },
      {x}, "bce_with_logits");

  // Smooth L1: |d| in [0.02, 0.09] or [0.13, 0.6], at least 0.02 from the kink at beta = 1/9
  // (far beyond the finite-difference step 1e-6).
  const double beta = 1.0 / 9;
  Tensor in = test::random_tensor(ctx, {5, 4}, -1, 1, DType::F64);
  Tensor tg = Tensor::host({5, 4}, DType::F64);
  Tensor mag = test::random_tensor(ctx, {5, 4}, 0, 1, DType::F64);
  for (int64_t i = 0; i < 20; ++i) {
    const double m = mag.data<double>()[i];
    double dd = i % 2 ? 0.02 + 0.07 * m : 0.13 + 0.47 * m;
    if (i % 3 == 0) dd = -dd;
    tg.data<double>()[i] = in.data<double>()[i] - dd;
  }
  in.set_requires_grad(true);
  test::gradcheck(
      [tg, beta](Context& c, const std::vector<Tensor>& v) {
        return smooth_l1_loss(c, v[0], tg, beta, 7.0);
      },
      {in}, "smooth_l1");

  // Cross entropy: 6 rows of 11 classes.
  Tensor lg = test::random_tensor(ctx, {6, 11}, -3, 3, DType::F64);
  Tensor lb = Tensor::host_from<int64_t>({6}, {0, 10, 3, 3, 7, 1});
  lg.set_requires_grad(true);
  test::gradcheck(
      [lb](Context& c, const std::vector<Tensor>& v) { return cross_entropy(c, v[0], lb); }, {lg},
      "cross_entropy");

  // Box pick alone, and chained into smooth L1 as fastrcnn_loss does.
  Tensor br = test::random_tensor(ctx, {5, 12}, -1, 1, DType::F64);
  Tensor rows = Tensor::host_from<int64_t>({3}, {3, 0, 4});
  Tensor cls = Tensor::host_from<int64_t>({3}, {2, 0, 1});
  br.set_requires_grad(true);
  test::gradcheck(
      [rows, cls](Context& c, const std::vector<Tensor>& v) {
        return gather_class_boxes(c, v[0], rows, cls);
      },
      {br}, "gather_class_boxes");
  Tensor targets = test::random_tensor(ctx, {3, 4}, -1, 1, DType::F64);
  test::gradcheck(
      [rows, cls, targets](Context& c, const std::vector<Tensor>& v) {
        return smooth_l1_loss(c, gather_class_boxes(c, v[0], rows, cls), targets, 0.05, 3.0);
      },
      {br}, "smooth_l1(gather_class_boxes)");
  // Duplicate (row, class) pairs: each copy's gradient is added.
  Tensor dup_rows = Tensor::host_from<int64_t>({3}, {1, 1, 1});
  Tensor dup_cls = Tensor::host_from<int64_t>({3}, {2, 2, 0});
  test::gradcheck(
      [dup_rows, dup_cls](Context& c, const std::vector<Tensor>& v) {
        return gather_class_boxes(c, v[0], dup_rows, dup_cls);
      },
      {br}, "gather_class_boxes with duplicates");
}

TEST_CASE("losses: backward accumulates, empty inputs, scalar shape") {
  Context ctx(Device::cpu(), 5);
  GradModeGuard g(ctx, true);
  // Two uses of one input: the gradient is the sum of both (+=, never overwritten).
  Tensor x = test::random_tensor(ctx, {4, 11}, -2, 2, DType::F64);
  Tensor lb = Tensor::host_from<int64_t>({4}, {1, 2, 3, 4});
  x.set_requires_grad(true);
  Tensor once = cross_entropy(ctx, x, lb);
  ctx.backward(once);
  std::vector<double> g1 = test::to_doubles(ctx, x.grad());
  x.zero_grad();
  Tensor twice = add(ctx, cross_entropy(ctx, x, lb), cross_entropy(ctx, x, lb));
  ctx.backward(twice);
  std::vector<double> g2 = test::to_doubles(ctx, x.grad());
  for (size_t i = 0; i < g1.size(); ++i) CHECK(g2[i] == doctest::Approx(2 * g1[i]).epsilon(1e-14));
  CHECK(once.shape() == Shape{});
  CHECK(once.numel() == 1);

  // Empty means are NaN (torch: mean over nothing); an empty smooth-L1 sum is 0 with a
  // zero-sized gradient.
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor e = ctx.empty({0}, dt);
    e.set_requires_grad(true);
    Tensor b = binary_cross_entropy_with_logits(ctx, e, ctx.empty({0}, dt));
    CHECK(std::isnan(test::to_doubles(ctx, b)[0]));
    Tensor ce = cross_entropy(ctx, leaf(ctx.empty({0, 11}, dt)), Tensor::host({0}, DType::I64));
    CHECK(std::isnan(test::to_doubles(ctx, ce)[0]));
    Tensor in = leaf(ctx.empty({0, 4}, dt));
    Tensor sl = smooth_l1_loss(ctx, in, ctx.empty({0, 4}, dt), 1.0 / 9, 256);
    CHECK(test::to_doubles(ctx, sl)[0] == 0.0);
    ctx.backward(sl);
    CHECK(in.grad().shape() == Shape{0, 4});
    Tensor gb = gather_class_boxes(ctx, leaf(ctx.empty({3, 8}, dt)), Tensor::host({0}, DType::I64),
                                   Tensor::host({0}, DType::I64));
    CHECK(gb.shape() == Shape{0, 4});
  }
}

TEST_CASE("losses: argument errors name the op") {
  Context ctx(Device::cpu(), 6);
  Tensor x = test::random_tensor(ctx, {4, 8});
  Tensor i2 = Tensor::host_from<int64_t>({2}, {0, 1});
  auto throws_with = [](auto&& f, const std::string& what) {
    try {
      f();
    } catch (const Error& e) {
      CHECK_MESSAGE(std::string(e.what()).find(what) != std::string::npos, e.what());
      return;
    }
    FAIL("no dr::Error for " << what);
  };
  throws_with([&] { binary_cross_entropy_with_logits(ctx, x, ctx.empty({4, 7})); },
              "binary_cross_entropy_with_logits: targets");
  throws_with([&] { cross_entropy(ctx, x, Tensor::host_from<int64_t>({4}, {0, 1, 8, 2})); },
              "labels[2] = 8 is out of range [0, 8)");
  throws_with([&] { cross_entropy(ctx, x, Tensor::host_from<int64_t>({4}, {0, -1, 1, 2})); },
              "labels[1] = -1");
  throws_with([&] { cross_entropy(ctx, x, i2); }, "cross_entropy: labels must be int64 (4)");
  throws_with([&] { gather_class_boxes(ctx, x, Tensor::host_from<int64_t>({2}, {0, 4}), i2); },
              "rows[1] = 4 is out of range [0, 4)");
  throws_with([&] { gather_class_boxes(ctx, x, i2, Tensor::host_from<int64_t>({2}, {2, 0})); },
              "classes[0] = 2 is out of range [0, 2)");
  throws_with([&] { gather_class_boxes(ctx, ctx.empty({4, 6}), i2, i2); }, "is not (K, C*4)");
  throws_with([&] { smooth_l1_loss(ctx, x, x, 0.0, 1.0); }, "beta must be > 0");
  throws_with([&] { smooth_l1_loss(ctx, x, x, 0.1, 0.0); }, "divisor must be > 0");
  // A target that asks for a gradient while recording would silently get none: refused.
  Tensor t = leaf(test::random_tensor(ctx, {4, 8}));
  GradModeGuard g(ctx, true);
  throws_with([&] { smooth_l1_loss(ctx, leaf(x), t, 0.1, 1.0); }, "target");
  throws_with([&] { binary_cross_entropy_with_logits(ctx, leaf(x), t); }, "targets");
}

TEST_CASE("finite: count_nonfinite and all_finite on the CPU") {
  Context ctx(Device::cpu(), 8);
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dt : {DType::F32, DType::F64}) {
    // Large enough for the OpenMP path (> 65536 elements).
    Tensor t = test::random_tensor(ctx, {70001}, -1e30, 1e30, dt);
    CHECK(count_nonfinite(ctx, t) == 0);
    CHECK(all_finite(ctx, t));
    const int64_t at[] = {0, 17, 40000, 70000};
    const double bad[] = {nan, inf, -inf, nan};
    for (int i = 0; i < 4; ++i) {
      if (dt == DType::F32)
        t.data<float>()[at[i]] = float(bad[i]);
      else
        t.data<double>()[at[i]] = bad[i];
    }
    CHECK(count_nonfinite(ctx, t) == 4);
    CHECK_FALSE(all_finite(ctx, t));
    // Largest finite values are finite.
    Tensor m = Tensor::host_from<double>({2}, {std::numeric_limits<double>::max(), -1e308});
    CHECK(all_finite(ctx, m));
    std::vector<int64_t> each =
        count_nonfinite(ctx, {t, Tensor(), ctx.empty({0}, dt),
                              Tensor::host_from<double>({1}, {nan})});
    CHECK(each == std::vector<int64_t>{4, 0, 0, 1});
  }
  CHECK_THROWS_AS(count_nonfinite(ctx, Tensor::host({3}, DType::I64)), Error);
  // The losses' own NaN (an empty mean) is caught.
  Tensor empty_mean = binary_cross_entropy_with_logits(ctx, ctx.empty({0}), ctx.empty({0}));
  CHECK_FALSE(all_finite(ctx, empty_mean));
}

// ---------------------------------------------------------------------------------------
// CUDA against the CPU. The terms use the same HD functions; the device's expf/logf differ
// from glibc's by <= 2 ulp, nvcc contracts a*b+c into FMAs, and the sum order differs (a
// 512-thread tree vs a sequential loop, both in double), so losses agree to ~1e-6 relative
// and gradients to a few float ulp (plus the sigmoid/softmax cancellation floor, as above).
// Copies (gather) and counts are exact.

namespace {

struct LossInputs {
  Tensor bce_x, bce_t, sl_x, sl_y, ce_x, ce_l, gb_x, gb_rows, gb_cls, gb_dy;
};

// K logits/rows, P positives; random on the CPU (f32), some logits at +-30.
LossInputs make_inputs(Context& cpu, int64_t k, int64_t p) {
  LossInputs in;
  in.bce_x = test::random_tensor(cpu, {k}, -8, 8);
  for (int64_t i = 0; i < k; i += 7) in.bce_x.data<float>()[i] = i % 2 ? 30.f : -30.f;
  Tensor u = test::random_tensor(cpu, {k}, 0, 1);
  in.bce_t = Tensor::host({k});
  for (int64_t i = 0; i < k; ++i) in.bce_t.data<float>()[i] = u.data<float>()[i] < 0.3f;
  in.sl_x = test::random_tensor(cpu, {p, 4}, -0.4, 0.4);
  in.sl_y = test::random_tensor(cpu, {p, 4}, -0.4, 0.4);
  in.ce_x = test::random_tensor(cpu, {k, 11}, -5, 5);
  Tensor lu = test::random_tensor(cpu, {k}, 0, 11);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < k; ++i)
    labels.push_back(std::min<int64_t>(10, int64_t(lu.data<float>()[i])));
  in.ce_l = Tensor::host_from<int64_t>({k}, labels);
  in.gb_x = test::random_tensor(cpu, {k, 44});
  // Distinct rows: every third row, wrapped ((i * 3) % k repeats only if 3 divides k and
  // p > k / 3); classes from the labels.
  if (k % 3 == 0) REQUIRE(p <= k / 3);
  std::vector<int64_t> rows, cls;
  for (int64_t i = 0; i < p; ++i) {
    rows.push_back((i * 3) % k);
    cls.push_back(labels[(i * 3) % k]);
  }
  in.gb_rows = Tensor::host_from<int64_t>({p}, rows);
  in.gb_cls = Tensor::host_from<int64_t>({p}, cls);
  in.gb_dy = test::random_tensor(cpu, {p, 4});
  return in;
}

// Every loss and gradient of `in` on ctx (inputs copied to ctx's device); returns
// {bce, dbce, sl, dsl, ce, dce, gb, dgb} as host tensors.
std::vector<Tensor> run_all(Context& ctx, const LossInputs& in) {
  auto dev = [&](const Tensor& t) { return ctx.to(t, ctx.device()); };
  auto lf = [&](const Tensor& t) { return leaf(ctx.clone(dev(t))); };
  GradModeGuard g(ctx, true);
  std::vector<Tensor> r;
  Tensor gout = Tensor::host_from<float>({}, {0.625f});
  Tensor x = lf(in.bce_x);
  Tensor l = binary_cross_entropy_with_logits(ctx, x, dev(in.bce_t));
  r.push_back(ctx.to_host(l));
  ctx.backward(l, dev(gout));
  r.push_back(ctx.to_host(x.grad()));
  Tensor s = lf(in.sl_x);
  l = smooth_l1_loss(ctx, s, dev(in.sl_y), 1.0 / 9, double(in.sl_x.size(0)) + 3);
  r.push_back(ctx.to_host(l));
  ctx.backward(l, dev(gout));
  r.push_back(in.sl_x.numel() ? ctx.to_host(s.grad()) : Tensor::host({0, 4}));
  Tensor c = lf(in.ce_x);
  l = cross_entropy(ctx, c, dev(in.ce_l));
  r.push_back(ctx.to_host(l));
  ctx.backward(l, dev(gout));
  r.push_back(in.ce_x.numel() ? ctx.to_host(c.grad()) : Tensor::host({0, 11}));
  Tensor b = lf(in.gb_x);
  Tensor y = gather_class_boxes(ctx, b, dev(in.gb_rows), dev(in.gb_cls));
  r.push_back(ctx.to_host(y));
  if (y.numel()) {
    ctx.backward(y, dev(in.gb_dy));
    r.push_back(ctx.to_host(b.grad()));
  } else {
    r.push_back(Tensor::host_zeros(in.gb_x.shape()));
  }
  return r;
}

const char* kNames[] = {"bce", "d bce", "smooth_l1", "d smooth_l1",
                        "ce",  "d ce",  "gather",    "d gather"};

}  // namespace

TEST_CASE("gpu: losses and gradients match the CPU (odd and empty sizes)") {
  Context cpu(Device::cpu(), 21), gpu(Device::cuda(0), 21);
  // (K, P): empty, one, and sizes that are not multiples of the 512-thread sum block.
  const std::vector<std::pair<int64_t, int64_t>> sizes{
      {0, 0}, {1, 1}, {255, 60}, {513, 171}, {5003, 1500}};
  for (auto [k, p] : sizes) {
    LossInputs in = make_inputs(cpu, k, p);
    std::vector<Tensor> rc = run_all(cpu, in), rg = run_all(gpu, in);
    for (size_t i = 0; i < rc.size(); ++i) {
      const std::string what = std::string(kNames[i]) + " K=" + std::to_string(k);
      if (k == 0 && (i == 0 || i == 4)) {  // empty means: NaN on both
        CHECK(std::isnan(test::to_doubles(cpu, rg[i])[0]));
        CHECK(std::isnan(test::to_doubles(cpu, rc[i])[0]));
        continue;
      }
      const bool exact = i >= 6;  // gather copies / scatters distinct rows
      const bool grad = i % 2 == 1;
      // Gradient floors: g/K times ~1e-7 (see the comment above).
      const double atol = exact ? 0 : grad ? 3e-7 * 0.625 / std::max<int64_t>(1, k) : 0;
      DR_CHECK_CLOSE(cpu, rg[i], rc[i], exact ? 0 : grad ? 1e-5 : 2e-6, atol, what);
    }
  }
}

TEST_CASE("gpu: loss values and gradients are bit-identical across runs") {
  Context cpu(Device::cpu(), 22), gpu(Device::cuda(0), 22), gpu2(Device::cuda(0), 22);
  LossInputs in = make_inputs(cpu, 100003, 30001);
  std::vector<Tensor> a = run_all(gpu, in), b = run_all(gpu, in), c = run_all(gpu2, in);
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(kNames[i]);
    REQUIRE(a[i].nbytes() == b[i].nbytes());
    CHECK(std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()) == 0);
    CHECK(std::memcmp(a[i].raw(), c[i].raw(), a[i].nbytes()) == 0);
  }
}

TEST_CASE("gpu: count_nonfinite matches the CPU, one read-back for many tensors") {
  Context cpu(Device::cpu(), 23), gpu(Device::cuda(0), 23);
  std::vector<Tensor> hs;
  for (int64_t n : {0, 1, 257, 100003, (1 << 20) + 3}) {
    Tensor h = test::random_tensor(cpu, {n}, -1e30, 1e30);
    float* p = h.data<float>();
    const float bad[] = {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY};
    for (int64_t i = 0; i < n; i += 97 + n / 5) p[i] = bad[i % 3];
    if (n > 1) p[n - 1] = bad[1];
    hs.push_back(h);
    Tensor d = gpu.to(h, gpu.device());
    CHECK(count_nonfinite(gpu, d) == count_nonfinite(cpu, h));
    CHECK(all_finite(gpu, d) == (count_nonfinite(cpu, h) == 0));
  }
  std::vector<Tensor> ds;
  for (const Tensor& h : hs) ds.push_back(gpu.to(h, gpu.device()));
  ds.push_back(Tensor());
  hs.push_back(Tensor());
  CHECK(count_nonfinite(gpu, ds) == count_nonfinite(cpu, hs));
  CHECK(count_nonfinite(gpu, gpu.zeros({1000})) == 0);
}

TEST_CASE("gpu: out-of-range indices give NaN on CUDA instead of reading out of bounds") {
  Context gpu(Device::cuda(0), 24);
  Tensor x = gpu.zeros({3, 8});
  Tensor bad = gpu.to(Tensor::host_from<int64_t>({3}, {0, 8, 1}), gpu.device());
  CHECK_FALSE(all_finite(gpu, cross_entropy(gpu, x, bad)));
  Tensor rows = gpu.to(Tensor::host_from<int64_t>({2}, {0, 3}), gpu.device());
  Tensor cls = gpu.to(Tensor::host_from<int64_t>({2}, {1, 1}), gpu.device());
  std::vector<double> y = test::to_doubles(gpu, gather_class_boxes(gpu, x, rows, cls));
  for (int j = 0; j < 4; ++j) {
    CHECK(y[j] == 0.0);            // row 0: in range
    CHECK(std::isnan(y[4 + j]));   // row 3 of 3
  }
}
