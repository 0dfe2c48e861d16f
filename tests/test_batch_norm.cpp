// batch_norm2d (train/eval), frozen_batch_norm2d and the BatchNorm2d module: finite
// differences, torch parity (tools/ref/ops_norm.py), errors, CPU vs CUDA.
#include "nn/functional.h"
#include "nn/layers/batch_norm.h"
#include "tests/testing.h"

using namespace dr;

namespace {

Tensor positive(Context& ctx, const Shape& s, DType dt = DType::F64) {
  return test::random_tensor(ctx, s, 0.5, 1.5, dt);
}

// Tolerances for fp32 parity: outputs and gradients are O(1); elements that are sums of
// O(1) terms cancelling to ~0 get an absolute floor of a few fp32 ulps of the terms.
constexpr double kRtol = 1e-5, kAtol = 1e-6;

}  // namespace

TEST_CASE("gradcheck: batch_norm2d training (batch statistics) and eval (running statistics)") {
  Context ctx(Device::cpu(), 11);
  Tensor x = test::random_tensor(ctx, {2, 3, 3, 5}, -2, 2, DType::F64);
  Tensor w = positive(ctx, {3}), b = test::random_tensor(ctx, {3}, -1, 1, DType::F64);
  Tensor rm = test::random_tensor(ctx, {3}, -0.5, 0.5, DType::F64), rv = positive(ctx, {3});
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  for (bool training : {true, false}) {
    test::gradcheck(
        [&](Context& c, const std::vector<Tensor>& in) {
          return batch_norm2d(c, in[0], in[1], in[2], rm, rv, training);
        },
        {x, w, b}, training ? "batch_norm2d train" : "batch_norm2d eval");
  }
  // No affine parameters (torch's affine=False): only x.
  test::gradcheck(
      [&](Context& c, const std::vector<Tensor>& in) {
        return batch_norm2d(c, in[0], Tensor(), Tensor(), rm, rv, true);
      },
      {x}, "batch_norm2d train, no affine");
}

TEST_CASE("gradcheck: frozen_batch_norm2d (gradient to x only)") {
  Context ctx(Device::cpu(), 12);
  Tensor x = test::random_tensor(ctx, {2, 3, 4, 3}, -2, 2, DType::F64);
  Tensor w = positive(ctx, {3}), b = test::random_tensor(ctx, {3}, -1, 1, DType::F64);
  Tensor rm = test::random_tensor(ctx, {3}, -0.5, 0.5, DType::F64), rv = positive(ctx, {3});
  x.set_requires_grad(true);
  test::gradcheck(
      [&](Context& c, const std::vector<Tensor>& in) {
        return frozen_batch_norm2d(c, in[0], w, b, rm, rv);
      },
      {x}, "frozen_batch_norm2d");
  Context c2;
  GradModeGuard g(c2, true);
  frozen_batch_norm2d(c2, x, w, b, rm, rv);
  CHECK(c2.tape().size() == 1);
  c2.tape().clear();
}

TEST_CASE("parity: batch_norm2d training step matches torch (output, running stats, grads)") {
  Context ctx;
  const TensorFile& ref = test::reference("ops_norm");
  for (const char* mode : {"train", "eval"}) {
    const std::string p = std::string("bn.") + mode;
    const bool training = std::string(mode) == "train";
    Tensor x = ctx.clone(ref.get("bn.x")), w = ctx.clone(ref.get("bn.w"));
    Tensor b = ctx.clone(ref.get("bn.b"));
    Tensor rm = ctx.clone(ref.get("bn.rm0")), rv = ctx.clone(ref.get("bn.rv0"));
    for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
    GradModeGuard g(ctx, true);
    Tensor y = batch_norm2d(ctx, x, w, b, rm, rv, training, 0.1, 1e-5);
    DR_CHECK_CLOSE(ctx, y, ref.get(p + ".y"), kRtol, kAtol, p + " y");
    DR_CHECK_CLOSE(ctx, rm, ref.get(p + ".rm1"), kRtol, kAtol, p + " running_mean");
    DR_CHECK_CLOSE(ctx, rv, ref.get(p + ".rv1"), kRtol, kAtol, p + " running_var");
    ctx.backward(y, ref.get(p + ".dy"));
    DR_CHECK_CLOSE(ctx, x.grad(), ref.get(p + ".dx"), kRtol, kAtol, p + " dx");
    // dw, db are sums of 70 terms: cancellation leaves absolute errors of ~1e-6.
    DR_CHECK_CLOSE(ctx, w.grad(), ref.get(p + ".dw"), kRtol, 1e-5, p + " dw");
    DR_CHECK_CLOSE(ctx, b.grad(), ref.get(p + ".db"), kRtol, 1e-5, p + " db");
  }
}

TEST_CASE("parity: frozen_batch_norm2d matches torchvision FrozenBatchNorm2d") {
  Context ctx;
  const TensorFile& ref = test::reference("ops_norm");
  FrozenBatchNorm2d m(ctx, 3);
  m.weight = ctx.clone(ref.get("bn.w"));
  m.bias = ctx.clone(ref.get("bn.b"));
  m.running_mean = ctx.clone(ref.get("bn.rm0"));
  m.running_var = ctx.clone(ref.get("bn.rv0"));
  Tensor x = ctx.clone(ref.get("bn.x"));
  x.set_requires_grad(true);
  GradModeGuard g(ctx, true);
  Tensor y = m.forward(ctx, x);
  DR_CHECK_CLOSE(ctx, y, ref.get("frozen.y"), kRtol, kAtol, "frozen y");
  ctx.backward(y, ref.get("frozen.dy"));
  DR_CHECK_CLOSE(ctx, x.grad(), ref.get("frozen.dx"), kRtol, kAtol, "frozen dx");
  CHECK_FALSE(m.weight.has_grad());
}

TEST_CASE("BatchNorm2d module: training updates running stats and num_batches_tracked") {
  Context ctx(Device::cpu(), 5);
  BatchNorm2d bn(ctx, 4);
  Tensor x = test::random_tensor(ctx, {3, 4, 5, 5}, 1, 3);
  bn.train(true);
  bn.forward(ctx, x);
  bn.forward(ctx, x);
  CHECK(bn.num_batches_tracked.item<int64_t>() == 2);
  // Mean of U(1, 3) is 2: after two steps running_mean = 0.19 * batch mean.
  for (double v : test::to_doubles(ctx, bn.running_mean)) CHECK(v == doctest::Approx(0.38).epsilon(0.1));
  bn.train(false);
  Tensor rm_before = ctx.clone(bn.running_mean);
  bn.forward(ctx, x);
  CHECK(bn.num_batches_tracked.item<int64_t>() == 2);
  DR_CHECK_CLOSE(ctx, bn.running_mean, rm_before, 0, 0, "eval leaves running_mean alone");
  bn.train(true);
  CHECK_THROWS_AS(bn.forward(ctx, test::random_tensor(ctx, {1, 3, 2, 2})), Error);
  CHECK(bn.num_batches_tracked.item<int64_t>() == 2);
}

TEST_CASE("batch_norm2d: two-pass statistics stay accurate for a large mean") {
  // A one-pass E[x^2] - E[x]^2 accumulated in fp32 loses every digit of var here (mean 1e4, std 1).
  Context ctx(Device::cpu(), 9);
  Tensor x64 = test::random_tensor(ctx, {4, 2, 16, 16}, 1e4 - 1.7, 1e4 + 1.7, DType::F64);
  Tensor x32 = Tensor::host(x64.shape(), DType::F32);
  for (int64_t i = 0; i < x64.numel(); ++i) x32.data<float>()[i] = float(x64.data<double>()[i]);
  // Compare against the same (fp32-rounded) input in double.
  for (int64_t i = 0; i < x64.numel(); ++i) x64.data<double>()[i] = x32.data<float>()[i];
  Tensor rm32 = ctx.zeros({2}), rv32 = ctx.zeros({2});
  Tensor rm64 = ctx.zeros({2}, DType::F64), rv64 = ctx.zeros({2}, DType::F64);
  Tensor y32 = batch_norm2d(ctx, x32, Tensor(), Tensor(), rm32, rv32, true);
  Tensor y64 = batch_norm2d(ctx, x64, Tensor(), Tensor(), rm64, rv64, true);
  // y = (x - mean) * invstd: x - mean itself is rounded at 1e4 * 2^-24 ~ 6e-4.
  DR_CHECK_CLOSE(ctx, y32, y64, 0, 2e-3, "normalized output");
  DR_CHECK_CLOSE(ctx, rv32, rv64, 1e-5, 0, "running_var");
}

TEST_CASE("batch_norm2d / frozen_batch_norm2d: errors name the op and the shapes") {
  Context ctx;
  Tensor x = test::random_tensor(ctx, {2, 3, 4, 4});
  Tensor c3 = ctx.zeros({3}), c4 = ctx.zeros({4});
  CHECK_THROWS_WITH_AS(batch_norm2d(ctx, x, c4, c3, c3, c3, true),
                       doctest::Contains("batch_norm2d: weight must have shape (3)"), Error);
  CHECK_THROWS_AS(batch_norm2d(ctx, x, c3, c3, c3, c4, false), Error);
  CHECK_THROWS_WITH_AS(batch_norm2d(ctx, ctx.zeros({2, 3, 4}), c3, c3, c3, c3, true),
                       doctest::Contains("must be 4-D"), Error);
  CHECK_THROWS_WITH_AS(batch_norm2d(ctx, ctx.zeros({1, 3, 1, 1}), c3, c3, c3, c3, true),
                       doctest::Contains("more than 1 value per channel"), Error);
  CHECK_THROWS_AS(batch_norm2d(ctx, x, c3, c3, Tensor(), Tensor(), false), Error);
  CHECK_THROWS_AS(batch_norm2d(ctx, x, c3, c3, ctx.zeros({3}, DType::F64), c3, true), Error);
  CHECK_THROWS_WITH_AS(frozen_batch_norm2d(ctx, x, c3, c3, c4, c3),
                       doctest::Contains("frozen_batch_norm2d: running_mean"), Error);
  CHECK_THROWS_AS(frozen_batch_norm2d(ctx, ctx.zeros({3, 4, 4}), c3, c3, c3, c3), Error);
  // An empty batch is fine in eval (nothing to normalize) but has no batch statistics.
  Tensor e = ctx.zeros({0, 3, 4, 4});
  CHECK(batch_norm2d(ctx, e, c3, c3, c3, ctx.clone(positive(ctx, {3}, DType::F32)), false)
            .numel() == 0);
  CHECK_THROWS_AS(batch_norm2d(ctx, e, c3, c3, c3, c3, true), Error);
}

TEST_CASE("gpu: batch_norm2d and frozen_batch_norm2d match the CPU") {
  Context cpu(Device::cpu(), 21), gpu(Device::cuda(0), 21);
  const Device g = gpu.device();
  struct Case {
    Shape shape;
    bool training;
  };
  // Odd sizes; a channel count above one block; a large mean; empty batches in eval.
  for (const Case& k : {Case{{3, 5, 7, 9}, true}, Case{{3, 5, 7, 9}, false},
                        Case{{2, 700, 3, 1}, true}, Case{{1, 2, 1, 2}, true},
                        Case{{5, 3, 33, 17}, true}, Case{{0, 3, 4, 4}, false}}) {
    const int64_t C = k.shape[1];
    Tensor x = test::random_tensor(cpu, k.shape, -3, 5);
    Tensor w = positive(cpu, {C}, DType::F32), b = test::random_tensor(cpu, {C});
    Tensor rm = test::random_tensor(cpu, {C}), rv = positive(cpu, {C}, DType::F32);
    Tensor dy = test::random_tensor(cpu, k.shape);
    Tensor xg = gpu.to(x, g), wg = gpu.to(w, g), bg = gpu.to(b, g);
    Tensor rmg = gpu.to(rm, g), rvg = gpu.to(rv, g);
    for (Tensor* t : {&x, &w, &b, &xg, &wg, &bg}) t->set_requires_grad(true);
    const std::string what = shape_str(k.shape) + (k.training ? " train" : " eval");
    GradModeGuard gc(cpu, true), gg(gpu, true);
    Tensor yc = batch_norm2d(cpu, x, w, b, rm, rv, k.training);
    Tensor yg = batch_norm2d(gpu, xg, wg, bg, rmg, rvg, k.training);
    DR_CHECK_CLOSE(gpu, yg, yc, 1e-5, 1e-5, "bn y " + what);
    DR_CHECK_CLOSE(gpu, rmg, rm, 1e-5, 1e-6, "bn running_mean " + what);
    DR_CHECK_CLOSE(gpu, rvg, rv, 1e-5, 1e-6, "bn running_var " + what);
    Tensor fc = frozen_batch_norm2d(cpu, x, w, b, rm, rv);
    Tensor fg = frozen_batch_norm2d(gpu, xg, wg, bg, rmg, rvg);
    DR_CHECK_CLOSE(gpu, fg, fc, 1e-5, 1e-6, "frozen y " + what);
    if (x.numel() == 0) {
      cpu.tape().clear();
      gpu.tape().clear();
      continue;
    }
    cpu.backward(add(cpu, yc, fc), dy);
    gpu.backward(add(gpu, yg, fg), gpu.to(dy, g));
    DR_CHECK_CLOSE(gpu, xg.grad(), x.grad(), 1e-4, 1e-5, "dx " + what);
    // Reductions over up to 5*33*17 terms in a different order (double on both sides,
    // then rounded to fp32): agree to fp32 rounding of the sums.
    DR_CHECK_CLOSE(gpu, wg.grad(), w.grad(), 1e-5, 1e-5, "dw " + what);
    DR_CHECK_CLOSE(gpu, bg.grad(), b.grad(), 1e-5, 1e-5, "db " + what);
  }
}
