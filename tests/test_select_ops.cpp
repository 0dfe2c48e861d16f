// detector/select_ops: every function against naive loops or formulas on the CPU, in f32
// and f64, and CUDA against the CPU ("gpu: ") on odd sizes and empty inputs.
//
// These ops move values or apply one exp, so the CPU checks are exact (copies, indices)
// or within a few float ulps of a double formula; CUDA copies/indices must equal the CPU
// exactly, and sigmoid/softmax (expf on the device vs the host libm, and a different
// summation order only in softmax's max-subtracted sum over <= 91 classes) agree to
// 1e-6 relative.
#include <cmath>

#include "detector/select_ops.h"
#include "nn/functional.h"
#include "tests/testing.h"

using namespace dr;

namespace {

std::vector<int64_t> to_i64(Context& ctx, const Tensor& t) {
  Tensor h = ctx.to_host(t);
  return std::vector<int64_t>(h.data<int64_t>(), h.data<int64_t>() + h.numel());
}

Tensor random_indices(Context& ctx, const Shape& shape, int64_t r) {
  Tensor u = test::random_tensor(ctx, shape, 0.0, double(r));
  std::vector<double> v = test::to_doubles(ctx, u);
  std::vector<int64_t> idx;
  for (double x : v) idx.push_back(std::min<int64_t>(r - 1, int64_t(x)));
  return Tensor::host_from<int64_t>(shape, idx);
}

template <class T> void check_permute_flatten(Context& ctx, DType dt) {
  const int64_t n = 2, a = 3, c = 4, h = 5, w = 7;
  Tensor x = test::random_tensor(ctx, {n, a * c, h, w}, -1, 1, dt);
  Tensor y = permute_flatten(ctx, x, c);
  REQUIRE(y.shape() == Shape{n, h * w * a, c});
  const T* xp = x.data<T>();
  const T* yp = y.data<T>();
  int64_t bad = 0;
  // (N, A, C, H, W) -> (N, H, W, A, C) written out as nested loops.
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t yi = 0; yi < h; ++yi)
      for (int64_t xi = 0; xi < w; ++xi)
        for (int64_t ai = 0; ai < a; ++ai)
          for (int64_t ci = 0; ci < c; ++ci) {
            const T want = xp[(((ni * a + ai) * c + ci) * h + yi) * w + xi];
            const T got = yp[(((ni * h + yi) * w + xi) * a + ai) * c + ci];
            bad += got != want;
          }
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("select: permute_flatten equals the explicit (N,A,C,H,W)->(N,H,W,A,C) loop") {
  Context ctx(Device::cpu(), 1);
  check_permute_flatten<float>(ctx, DType::F32);
  check_permute_flatten<double>(ctx, DType::F64);
  CHECK(permute_flatten(ctx, ctx.empty({0, 6, 3, 3}), 2).shape() == Shape{0, 27, 2});
  CHECK_THROWS_AS(permute_flatten(ctx, ctx.empty({1, 6, 3, 3}), 4), Error);  // 6 % 4
  CHECK_THROWS_AS(permute_flatten(ctx, ctx.empty({6, 3, 3}), 1), Error);
}

TEST_CASE("select: gather_rows, unbatched and batched, f32/f64/i64, index errors") {
  Context ctx(Device::cpu(), 2);
  // Unbatched (R, D) with repeated and reversed indices.
  Tensor x = test::random_tensor(ctx, {5, 3});
  Tensor idx = Tensor::host_from<int64_t>({4}, {4, 0, 0, 2});
  Tensor y = gather_rows(ctx, x, idx);
  REQUIRE(y.shape() == Shape{4, 3});
  for (int64_t k = 0; k < 4; ++k)
    for (int64_t j = 0; j < 3; ++j)
      CHECK(y.data<float>()[k * 3 + j] == x.data<float>()[idx.data<int64_t>()[k] * 3 + j]);
  // Batched (B, R, D1, D2) with (B, K): rows of each batch entry from that entry only.
  Tensor xb = test::random_tensor(ctx, {3, 4, 2, 2}, -1, 1, DType::F64);
  Tensor ib = Tensor::host_from<int64_t>({3, 2}, {3, 0, 1, 1, 2, 3});
  Tensor yb = gather_rows(ctx, xb, ib);
  REQUIRE(yb.shape() == Shape{3, 2, 2, 2});
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t k = 0; k < 2; ++k)
      for (int64_t j = 0; j < 4; ++j)
        CHECK(yb.data<double>()[(b * 2 + k) * 4 + j] ==
              xb.data<double>()[(b * 4 + ib.data<int64_t>()[b * 2 + k]) * 4 + j]);
  // int64 payload (labels).
  Tensor xl = Tensor::host_from<int64_t>({4, 1}, {10, 11, 12, 13});
  CHECK(to_i64(ctx, gather_rows(ctx, xl, Tensor::host_from<int64_t>({3}, {3, 1, 3}))) ==
        std::vector<int64_t>{13, 11, 13});
  // Empty index list and empty source with an empty index list.
  CHECK(gather_rows(ctx, x, ctx.empty({0}, DType::I64)).shape() == Shape{0, 3});
  CHECK(gather_rows(ctx, ctx.empty({0, 4}), ctx.empty({0}, DType::I64)).shape() == Shape{0, 4});
  // Errors: out of range (both ends), wrong index dtype, batch mismatch.
  CHECK_THROWS_AS(gather_rows(ctx, x, Tensor::host_from<int64_t>({1}, {5})), Error);
  CHECK_THROWS_AS(gather_rows(ctx, x, Tensor::host_from<int64_t>({1}, {-1})), Error);
  CHECK_THROWS_AS(gather_rows(ctx, xb, Tensor::host_from<int64_t>({3, 1}, {0, 4, 0})), Error);
  CHECK_THROWS_AS(gather_rows(ctx, x, Tensor::host_from<int32_t>({1}, {0})), Error);
  CHECK_THROWS_AS(gather_rows(ctx, xb, Tensor::host_from<int64_t>({2, 1}, {0, 0})), Error);
}

TEST_CASE("select: cat0 stacks rows, skips empty parts, rejects mismatches") {
  Context ctx(Device::cpu(), 3);
  Tensor a = test::random_tensor(ctx, {2, 3}), b = test::random_tensor(ctx, {3, 3});
  Tensor e = ctx.empty({0, 3});
  Tensor y = cat0(ctx, {e, a, e, b, e});
  REQUIRE(y.shape() == Shape{5, 3});
  DR_CHECK_CLOSE(ctx, y.narrow0(0, 2), a, 0, 0, "cat0 first part");
  DR_CHECK_CLOSE(ctx, y.narrow0(2, 3), b, 0, 0, "cat0 second part");
  CHECK(cat0(ctx, {e, e}).shape() == Shape{0, 3});
  CHECK_FALSE(cat0(ctx, {}).defined());
  Tensor l = cat0(ctx, {Tensor::host_from<int64_t>({2}, {1, 2}), Tensor::host_from<int64_t>({1}, {3})});
  CHECK(to_i64(ctx, l) == std::vector<int64_t>{1, 2, 3});
  CHECK_THROWS_AS(cat0(ctx, {a, ctx.empty({2, 4})}), Error);          // trailing dim
  CHECK_THROWS_AS(cat0(ctx, {a, ctx.empty({2, 3, 1})}), Error);       // rank
  CHECK_THROWS_AS(cat0(ctx, {a, ctx.empty({2, 3}, DType::F64)}), Error);  // dtype
}

TEST_CASE("select: sigmoid and softmax_rows match the formulas, large logits do not overflow") {
  Context ctx(Device::cpu(), 4);
  // Includes +-100 and +-1e30: exp(-x) overflows to inf for the large negative ones and
  // 1 / (1 + inf) must give 0, not NaN; softmax subtracts the row max first.
  std::vector<double> v = {-1e30, -100, -20, -1, -0.25, 0, 0.5, 3, 20, 100, 1e30, 7};
  Tensor xd = Tensor::host_from<double>({4, 3}, v);
  std::vector<float> vf(v.begin(), v.end());
  Tensor xf = Tensor::host_from<float>({4, 3}, vf);
  std::vector<double> sig, soft;
  for (double x : v) sig.push_back(1.0 / (1.0 + std::exp(-x)));
  for (int r = 0; r < 4; ++r) {
    double m = std::max({v[3 * r], v[3 * r + 1], v[3 * r + 2]}), s = 0;
    for (int j = 0; j < 3; ++j) s += std::exp(v[3 * r + j] - m);
    for (int j = 0; j < 3; ++j) soft.push_back(std::exp(v[3 * r + j] - m) / s);
  }
  Tensor want_sig = Tensor::host_from<double>({4, 3}, sig);
  Tensor want_soft = Tensor::host_from<double>({4, 3}, soft);
  DR_CHECK_CLOSE(ctx, sigmoid(ctx, xd), want_sig, 1e-14, 1e-300, "sigmoid f64");
  DR_CHECK_CLOSE(ctx, softmax_rows(ctx, xd), want_soft, 1e-14, 1e-300, "softmax f64");
  // f32: a few ulps (expf vs exp); tiny probabilities compared absolutely.
  DR_CHECK_CLOSE(ctx, sigmoid(ctx, xf), want_sig, 1e-6, 1e-30, "sigmoid f32");
  DR_CHECK_CLOSE(ctx, softmax_rows(ctx, xf), want_soft, 1e-6, 1e-30, "softmax f32");
  for (double p : test::to_doubles(ctx, softmax_rows(ctx, xf))) CHECK(std::isfinite(p));
  // Rows sum to one on random logits of a realistic class count.
  Tensor r = test::random_tensor(ctx, {7, 11}, -30, 30);
  std::vector<double> p = test::to_doubles(ctx, softmax_rows(ctx, r));
  for (int i = 0; i < 7; ++i) {
    double s = 0;
    for (int j = 0; j < 11; ++j) s += p[i * 11 + j];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-6));
  }
  CHECK(softmax_rows(ctx, ctx.empty({0, 5})).shape() == Shape{0, 5});
  CHECK(sigmoid(ctx, ctx.empty({0})).numel() == 0);
  CHECK_THROWS_AS(softmax_rows(ctx, ctx.empty({2, 3, 4})), Error);
  CHECK_THROWS_AS(sigmoid(ctx, Tensor::host({2}, DType::I64)), Error);
}

TEST_CASE("select: score_indices strict vs inclusive, first_col, ascending flat order") {
  Context ctx(Device::cpu(), 5);
  // (3, 4): 0.5 sits exactly on the threshold.
  Tensor s = Tensor::host_from<float>({3, 4}, {0.5f, 0.9f, 0.1f, 0.5f,  //
                                               0.7f, 0.2f, 0.5f, 0.6f,  //
                                               0.0f, 0.0f, 0.0f, 0.51f});
  CHECK(to_i64(ctx, score_indices(ctx, s, 0.5, 0, false)) == std::vector<int64_t>{1, 4, 7, 11});
  CHECK(to_i64(ctx, score_indices(ctx, s, 0.5, 0, true)) ==
        std::vector<int64_t>{0, 1, 3, 4, 6, 7, 11});
  CHECK(to_i64(ctx, score_indices(ctx, s, 0.5, 1, true)) == std::vector<int64_t>{1, 3, 6, 7, 11});
  CHECK(to_i64(ctx, score_indices(ctx, s, 0.5, 3, false)) == std::vector<int64_t>{7, 11});
  CHECK(score_indices(ctx, s, 2.0, 0, true).numel() == 0);
  CHECK(score_indices(ctx, ctx.empty({0, 4}), 0.1, 1, false).numel() == 0);
  // Random f64 against a naive filter.
  Tensor r = test::random_tensor(ctx, {13, 5}, 0, 1, DType::F64);
  std::vector<double> v = test::to_doubles(ctx, r);
  std::vector<int64_t> want;
  for (int64_t i = 0; i < 65; ++i)
    if (i % 5 >= 2 && v[i] > 0.3) want.push_back(i);
  CHECK(to_i64(ctx, score_indices(ctx, r, 0.3, 2, false)) == want);
  CHECK_THROWS_AS(score_indices(ctx, ctx.empty({4}), 0.1, 0, false), Error);
}

TEST_CASE("select: index_mod and fill_columns") {
  Context ctx(Device::cpu(), 6);
  CHECK(to_i64(ctx, index_mod(ctx, Tensor::host_from<int64_t>({5}, {0, 10, 11, 21, 109}), 11)) ==
        std::vector<int64_t>{0, 10, 0, 10, 10});
  CHECK(index_mod(ctx, ctx.empty({0}, DType::I64), 3).numel() == 0);
  CHECK_THROWS_AS(index_mod(ctx, Tensor::host_from<int64_t>({1}, {1}), 0), Error);
  CHECK_THROWS_AS(index_mod(ctx, ctx.empty({2}), 3), Error);
  Tensor x = Tensor::host_from<double>({2, 3}, {1, 2, 3, 4, 5, 6});
  fill_columns(ctx, x, 2, -7);
  CHECK(test::to_doubles(ctx, x) == std::vector<double>{-7, -7, 3, -7, -7, 6});
  fill_columns(ctx, x, 0, 9);  // no columns: unchanged
  CHECK(test::to_doubles(ctx, x) == std::vector<double>{-7, -7, 3, -7, -7, 6});
  CHECK_THROWS_AS(fill_columns(ctx, x, 4, 0), Error);
}

TEST_CASE("gpu: select ops match the CPU (odd sizes, empty inputs)") {
  Context cpu(Device::cpu(), 7), gpu(Device::cuda(0), 7);
  auto up = [&](const Tensor& t) { return gpu.to(t, gpu.device()); };
  for (Shape s : {Shape{2, 15, 7, 5}, Shape{1, 3, 1, 1}, Shape{0, 12, 3, 3}, Shape{3, 9, 0, 4}}) {
    Tensor x = test::random_tensor(cpu, s);
    for (int64_t c : {int64_t(1), int64_t(3)})
      if (s[1] % c == 0)
        DR_CHECK_CLOSE(gpu, permute_flatten(gpu, up(x), c), permute_flatten(cpu, x, c), 0, 0,
                       "permute_flatten " + shape_str(s) + " c=" + std::to_string(c));
  }
  // gather_rows: unbatched f32, batched f32, i64 payload, empty index lists.
  Tensor x = test::random_tensor(cpu, {37, 5});
  Tensor idx = random_indices(cpu, {53}, 37);
  DR_CHECK_CLOSE(gpu, gather_rows(gpu, up(x), up(idx)), gather_rows(cpu, x, idx), 0, 0,
                 "gather_rows unbatched");
  Tensor xb = test::random_tensor(cpu, {3, 29, 4});
  Tensor ib = random_indices(cpu, {3, 17}, 29);
  DR_CHECK_CLOSE(gpu, gather_rows(gpu, up(xb), up(ib)), gather_rows(cpu, xb, ib), 0, 0,
                 "gather_rows batched");
  Tensor xl = random_indices(cpu, {37, 1}, 1000);
  DR_CHECK_CLOSE(gpu, gather_rows(gpu, up(xl), up(idx)), gather_rows(cpu, xl, idx), 0, 0,
                 "gather_rows i64");
  Tensor none = cpu.empty({0}, DType::I64);
  CHECK(gather_rows(gpu, up(x), up(none)).shape() == Shape{0, 5});
  CHECK(gather_rows(gpu, up(xb), up(cpu.empty({3, 0}, DType::I64))).shape() == Shape{3, 0, 4});
  // cat0 with empty parts.
  Tensor a = test::random_tensor(cpu, {3, 7}), b = test::random_tensor(cpu, {0, 7}),
         c = test::random_tensor(cpu, {5, 7});
  DR_CHECK_CLOSE(gpu, cat0(gpu, {up(a), up(b), up(c)}), cat0(cpu, {a, b, c}), 0, 0, "cat0");
  CHECK(cat0(gpu, {up(b), up(b)}).shape() == Shape{0, 7});
  // sigmoid / softmax: random and extreme logits, one column, empty.
  for (Shape s : {Shape{129, 11}, Shape{5, 1}, Shape{0, 11}, Shape{3, 91}}) {
    Tensor l = test::random_tensor(cpu, s, -40, 40);
    DR_CHECK_CLOSE(gpu, sigmoid(gpu, up(l)), sigmoid(cpu, l), 1e-6, 1e-30, "sigmoid " + shape_str(s));
    DR_CHECK_CLOSE(gpu, softmax_rows(gpu, up(l)), softmax_rows(cpu, l), 1e-6, 1e-30,
                   "softmax " + shape_str(s));
  }
  Tensor big = Tensor::host_from<float>({2, 3}, {-1e30f, 0, 1e30f, 100, -100, 88});
  DR_CHECK_CLOSE(gpu, softmax_rows(gpu, up(big)), softmax_rows(cpu, big), 1e-6, 1e-30, "softmax big");
  DR_CHECK_CLOSE(gpu, sigmoid(gpu, up(big)), sigmoid(cpu, big), 1e-6, 1e-30, "sigmoid big");
  // score_indices: thresholds both ways, first_col, exact-threshold values, empty.
  Tensor s = test::random_tensor(cpu, {101, 11}, 0, 1);
  Tensor sh = Tensor::host_from<float>({2, 3}, {0.5f, 0.5f, 0.2f, 0.7f, 0.5f, 0.5f});
  for (bool inclusive : {false, true}) {
    for (int64_t first : {int64_t(0), int64_t(1)}) {
      const std::string tag = std::string(inclusive ? " >=" : " >") + " first_col " + std::to_string(first);
      DR_CHECK_CLOSE(gpu, score_indices(gpu, up(s), 0.37, first, inclusive),
                     score_indices(cpu, s, 0.37, first, inclusive), 0, 0, "score_indices" + tag);
      DR_CHECK_CLOSE(gpu, score_indices(gpu, up(sh), 0.5, first, inclusive),
                     score_indices(cpu, sh, 0.5, first, inclusive), 0, 0, "score_indices ties" + tag);
    }
  }
  CHECK(score_indices(gpu, up(cpu.empty({0, 11})), 0.1, 1, false).numel() == 0);
  // index_mod and fill_columns.
  Tensor fi = random_indices(cpu, {77}, 1111);
  DR_CHECK_CLOSE(gpu, index_mod(gpu, up(fi), 11), index_mod(cpu, fi, 11), 0, 0, "index_mod");
  CHECK(index_mod(gpu, up(none), 11).numel() == 0);
  Tensor f = test::random_tensor(cpu, {13, 11});
  Tensor fg = up(f);
  // Finite fill value: the comparison treats inf - inf as a mismatch.
  DR_CHECK_CLOSE(gpu, fill_columns(gpu, fg, 2, -5.0), fill_columns(cpu, f, 2, -5.0), 0, 0,
                 "fill_columns");
  fill_columns(gpu, up(cpu.empty({0, 11})), 1, 0.0);
}

// ---- autograd: permute_flatten, gather_rows and cat0 record their backward; the other
// ops refuse inputs that need a gradient while recording. ----

TEST_CASE("gradcheck: permute_flatten, gather_rows (unbatched, batched, repeated rows), cat0") {
  Context ctx(Device::cpu(), 8);
  Tensor x = test::random_tensor(ctx, {2, 6, 3, 2}, -1, 1, DType::F64);
  x.set_requires_grad(true);
  for (int64_t c : {int64_t(1), int64_t(2), int64_t(3)})
    test::gradcheck([c](Context& cx, const std::vector<Tensor>& in) { return permute_flatten(cx, in[0], c); },
                    {x}, "permute_flatten c=" + std::to_string(c));
  // Row 3 picked twice and row 1 never: dx of row 3 is the sum, of row 1 zero.
  Tensor rows = test::random_tensor(ctx, {5, 3}, -1, 1, DType::F64);
  rows.set_requires_grad(true);
  Tensor idx = Tensor::host_from<int64_t>({4}, {3, 0, 3, 4});
  test::gradcheck([&](Context& cx, const std::vector<Tensor>& in) { return gather_rows(cx, in[0], idx); },
                  {rows}, "gather_rows unbatched");
  Tensor xb = test::random_tensor(ctx, {3, 4, 2, 2}, -1, 1, DType::F64);
  xb.set_requires_grad(true);
  Tensor ib = Tensor::host_from<int64_t>({3, 3}, {3, 0, 3, 1, 1, 1, 2, 3, 0});
  test::gradcheck([&](Context& cx, const std::vector<Tensor>& in) { return gather_rows(cx, in[0], ib); },
                  {xb}, "gather_rows batched");
  // cat0 with an empty part and a part that needs no gradient between the two that do.
  Tensor a = test::random_tensor(ctx, {2, 3}, -1, 1, DType::F64);
  Tensor b = test::random_tensor(ctx, {3, 3}, -1, 1, DType::F64);
  Tensor fixed = test::random_tensor(ctx, {1, 3}, -1, 1, DType::F64);
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  test::gradcheck(
      [&](Context& cx, const std::vector<Tensor>& in) {
        return cat0(cx, {in[0], cx.empty({0, 3}, DType::F64), fixed, in[1]});
      },
      {a, b}, "cat0");
  {
    GradModeGuard g(ctx, true);
    Tensor y = cat0(ctx, {fixed, a, fixed});
    REQUIRE(ctx.tape().size() == 1);
    ctx.backward(y, Tensor::host_from<double>({4, 3}, std::vector<double>(12, 1.0)));
    CHECK_FALSE(fixed.has_grad());  // needs none, gets none
    CHECK(test::to_doubles(ctx, a.grad()) == std::vector<double>(6, 1.0));
    a.zero_grad();
  }
}

TEST_CASE("gradcheck: the RPN's per-image rows, x.reshape(..).narrow0(..) per level, then cat0") {
  // rpn.cpp slices image i's rows out of each level's (N, HWA, C) head output and
  // concatenates them image-major: the slices must pass gradient to the level tensors.
  Context ctx(Device::cpu(), 9);
  const int64_t n = 2, c = 2;
  Tensor l0 = test::random_tensor(ctx, {n, 3 * c, 2, 3}, -1, 1, DType::F64);  // 18 anchors
  Tensor l1 = test::random_tensor(ctx, {n, 3 * c, 1, 2}, -1, 1, DType::F64);  // 6 anchors
  l0.set_requires_grad(true);
  l1.set_requires_grad(true);
  auto fn = [&](Context& cx, const std::vector<Tensor>& in) {
    std::vector<Tensor> flat, parts;
    for (const Tensor& l : in) flat.push_back(permute_flatten(cx, l, c));  // (N, HWA, C)
    for (int64_t i = 0; i < n; ++i)
      for (const Tensor& f : flat) {
        const int64_t per = f.size(1);
        parts.push_back(f.reshape({n * per, c}).narrow0(i * per, per));
      }
    return cat0(cx, parts).reshape({n, -1, c});
  };
  test::gradcheck(fn, {l0, l1}, "per-image rows of two levels");
}

TEST_CASE("tensor: narrow0 views share the base's gradient at their row offset") {
  Context ctx;
  Tensor x = Tensor::host_from<double>({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  x.set_requires_grad(true);
  Tensor v = x.reshape({2, 4}).narrow0(1, 1).reshape({2, 2});  // elements 4..7 = rows 2..3 of x
  CHECK(v.requires_grad());
  CHECK(v.meta() == x.meta());
  CHECK(v.grad_view_offset() == 4);
  Tensor gv = ctx.grad_buffer(v);  // allocates the whole base's gradient
  REQUIRE(x.has_grad());
  CHECK(x.grad().shape() == Shape{4, 2});
  CHECK(gv.shape() == Shape{2, 2});
  CHECK(gv.data<double>() == x.grad().data<double>() + 4);
  // A slice of a slice adds offsets; a detached slice has no identity.
  CHECK(x.narrow0(1, 3).narrow0(1, 2).grad_view_offset() == 4);
  CHECK_FALSE(x.narrow0(1, 1).detach().requires_grad());
  // set_grad must replace the base's whole gradient, not part of it.
  CHECK_THROWS_WITH_AS(v.set_grad(Tensor::host({2, 2}, DType::F64)),
                       doctest::Contains("set the base's gradient"), Error);
  // zero_grad on a view drops the base's buffer (one identity, one buffer).
  v.zero_grad();
  CHECK_FALSE(x.has_grad());
  // A view of a tensor without identity that is then marked starts its own.
  Tensor plain = Tensor::host({3, 2}, DType::F64);
  Tensor s = plain.narrow0(1, 2);
  s.set_requires_grad(true);
  CHECK(s.grad_view_offset() == 0);
  CHECK(ctx.grad_buffer(s).shape() == Shape{2, 2});
  CHECK_FALSE(plain.requires_grad());
}

TEST_CASE("select: ops without a backward throw, naming themselves, on inputs needing a gradient") {
  Context ctx(Device::cpu(), 10);
  Tensor x = test::random_tensor(ctx, {3, 4});
  x.set_requires_grad(true);
  Tensor idx = Tensor::host_from<int64_t>({2}, {0, 2});
  auto refused = [&](const std::string& op, const std::function<void()>& f) {
    {
      GradModeGuard on(ctx, true);
      CHECK_THROWS_WITH_AS(f(), doctest::Contains((op + ": input").c_str()), Error);
      CHECK_THROWS_WITH_AS(f(), doctest::Contains("has no backward"), Error);
    }
    GradModeGuard off(ctx, false);  // not recording: nothing to lose, the op runs
    CHECK_NOTHROW(f());
  };
  refused("sigmoid", [&] { sigmoid(ctx, x); });
  refused("softmax_rows", [&] { softmax_rows(ctx, x); });
  refused("score_indices", [&] { score_indices(ctx, x, 0.5, 0, false); });
  refused("fill_columns", [&] { fill_columns(ctx, x, 1, 0.0); });
  Tensor li = Tensor::host_from<int64_t>({2}, {5, 7});
  li.set_requires_grad(true);  // nonsense for an index, but must not pass silently
  refused("index_mod", [&] { index_mod(ctx, li, 3); });
  Tensor gi = Tensor::host_from<int64_t>({2}, {2, 1});
  gi.set_requires_grad(true);
  refused("gather_rows", [&] { gather_rows(ctx, x.detach(), gi); });
  // The same ops on tensors that need no gradient run while recording.
  GradModeGuard on(ctx, true);
  CHECK_NOTHROW(sigmoid(ctx, x.detach()));
  CHECK_NOTHROW(gather_rows(ctx, x.detach(), idx));
  CHECK(ctx.tape().size() == 0);
}

TEST_CASE("gpu: permute_flatten, gather_rows and cat0 backward match the CPU") {
  Context cpu(Device::cpu(), 11), gpu(Device::cuda(0), 11);
  auto up = [&](const Tensor& t) { return gpu.to(t, gpu.device()); };
  GradModeGuard gc(cpu, true), gg(gpu, true);
  for (Shape s : {Shape{2, 15, 7, 5}, Shape{1, 3, 1, 1}, Shape{3, 9, 0, 4}}) {
    Tensor x = test::random_tensor(cpu, s), xg = up(x);
    x.set_requires_grad(true);
    xg.set_requires_grad(true);
    Tensor yc = permute_flatten(cpu, x, 3), yg = permute_flatten(gpu, xg, 3);
    Tensor dy = test::random_tensor(cpu, yc.shape());
    cpu.backward(yc, dy);
    gpu.backward(yg, up(dy));
    DR_CHECK_CLOSE(gpu, xg.grad(), x.grad(), 0, 0, "permute_flatten backward " + shape_str(s));
  }
  // gather_rows: many repeats (53 picks of 37 rows, 17 of 29 per batch entry) so atomicAdd
  // sums several terms; their order differs from the CPU's, hence 1e-6.
  Tensor x = test::random_tensor(cpu, {37, 5}), xg = up(x);
  Tensor xb = test::random_tensor(cpu, {3, 29, 4}), xbg = up(xb);
  for (Tensor* t : {&x, &xg, &xb, &xbg}) t->set_requires_grad(true);
  Tensor idx = random_indices(cpu, {53}, 37), ib = random_indices(cpu, {3, 17}, 29);
  Tensor yc = add(cpu, gather_rows(cpu, x, idx), gather_rows(cpu, x, idx));
  Tensor yg = add(gpu, gather_rows(gpu, xg, up(idx)), gather_rows(gpu, xg, up(idx)));
  Tensor dy = test::random_tensor(cpu, yc.shape());
  cpu.backward(yc, dy);
  gpu.backward(yg, up(dy));
  DR_CHECK_CLOSE(gpu, xg.grad(), x.grad(), 1e-6, 1e-6, "gather_rows backward unbatched");
  Tensor ybc = gather_rows(cpu, xb, ib), ybg = gather_rows(gpu, xbg, up(ib));
  Tensor dyb = test::random_tensor(cpu, ybc.shape());
  cpu.backward(ybc, dyb);
  gpu.backward(ybg, up(dyb));
  DR_CHECK_CLOSE(gpu, xbg.grad(), xb.grad(), 1e-6, 1e-6, "gather_rows backward batched");
  // cat0 of slices of one base (the RPN pattern) plus an empty part.
  Tensor base = test::random_tensor(cpu, {9, 7}), baseg = up(base);
  base.set_requires_grad(true);
  baseg.set_requires_grad(true);
  Tensor cc = cat0(cpu, {base.narrow0(5, 4), cpu.empty({0, 7}), base.narrow0(0, 5), base.narrow0(2, 2)});
  Tensor cg = cat0(gpu, {baseg.narrow0(5, 4), gpu.empty({0, 7}), baseg.narrow0(0, 5), baseg.narrow0(2, 2)});
  Tensor dc = test::random_tensor(cpu, cc.shape());
  cpu.backward(cc, dc);
  gpu.backward(cg, up(dc));
  DR_CHECK_CLOSE(gpu, baseg.grad(), base.grad(), 0, 0, "cat0 backward into slices");
}
