// linear: finite differences, torch parity, errors, and CPU vs CUDA.
#include <string>
#include <vector>

#include "nn/functional.h"
#include "nn/layers/linear.h"
#include "tests/testing.h"

using namespace dr;

namespace {

// y, dx, dw, db (db undefined without bias) of linear with autograd for upstream dy.
std::vector<Tensor> run_linear(Context& ctx, Tensor x, Tensor w, Tensor b, const Tensor& dy) {
  for (Tensor* t : {&x, &w, &b})
    if (t->defined()) t->set_requires_grad(true), t->zero_grad();
  GradModeGuard guard(ctx, true);
  Tensor y = linear(ctx, x, w, b);
  ctx.backward(y, dy);
  return {y, x.grad(), w.grad(), b.defined() ? b.grad() : Tensor()};
}

const char* kNames[] = {"y", "dx", "dw", "db"};

}  // namespace

TEST_CASE("gradcheck: linear") {
  Context ctx(Device::cpu(), 4);
  Tensor x = test::random_tensor(ctx, {5, 7}, -1, 1, DType::F64);
  Tensor w = test::random_tensor(ctx, {3, 7}, -1, 1, DType::F64);
  Tensor b = test::random_tensor(ctx, {3}, -1, 1, DType::F64);
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  test::gradcheck(
      [](Context& c, const std::vector<Tensor>& v) { return linear(c, v[0], v[1], v[2]); },
      {x, w, b}, "linear");
  test::gradcheck(
      [](Context& c, const std::vector<Tensor>& v) { return linear(c, v[0], v[1], Tensor()); },
      {x, w}, "linear without bias");
  // Two uses of the same weight: gradients of both paths accumulate.
  test::gradcheck(
      [](Context& c, const std::vector<Tensor>& v) {
        return linear(c, linear(c, v[0], v[1], v[2]), v[3], Tensor());
      },
      {x, w, b, test::random_tensor(ctx, {4, 3}, -1, 1, DType::F64)}, "linear of linear");
}

TEST_CASE("parity: linear forward and gradients match torch (f32)") {
  const TensorFile& ref = test::reference("ops_conv");
  for (const char* name : {"linear", "linear_nobias"}) {
    Context ctx;
    std::string p = name;
    Tensor b = ref.contains(p + ".b") ? ref.get(p + ".b") : Tensor();
    auto got = run_linear(ctx, ref.get(p + ".x"), ref.get(p + ".w"), b, ref.get(p + ".dy"));
    // Dot products of <= 9 terms of size ~1: 1e-5 relative plus a 1e-5 floor for entries
    // that cancel to near zero.
    const char* keys[] = {".y", ".dx", ".dw", ".db"};
    for (int k = 0; k < 4; ++k)
      if (got[k].defined())
        DR_CHECK_CLOSE(ctx, got[k], ref.get(p + keys[k]), 1e-5, 1e-5, p + " " + kNames[k]);
  }
}

TEST_CASE("linear: zero input features give the bias (GEMM with K = 0)") {
  Context ctx(Device::cpu(), 6);
  Tensor b = Tensor::host_from<float>({3}, {1.5f, -2.0f, 0.25f});
  Tensor y = linear(ctx, Tensor::host({2, 0}), Tensor::host({3, 0}), b);
  CHECK(test::to_doubles(ctx, y) == std::vector<double>{1.5, -2.0, 0.25, 1.5, -2.0, 0.25});
}

TEST_CASE("linear: empty batch and the Linear module") {
  Context ctx(Device::cpu(), 2);
  Linear fc(ctx, 6, 4);
  Tensor x = Tensor::host({0, 6});
  fc.weight.set_requires_grad(true);
  GradModeGuard guard(ctx, true);
  Tensor y = fc.forward(ctx, x);
  CHECK(y.shape() == Shape{0, 4});
  ctx.backward(y, Tensor::host({0, 4}));
  REQUIRE(fc.weight.has_grad());
  for (double v : test::to_doubles(ctx, fc.weight.grad())) CHECK(v == 0.0);
}

TEST_CASE("linear: shape errors name the op and the shapes") {
  Context ctx;
  Tensor x = Tensor::host_zeros({2, 5}), w = Tensor::host_zeros({3, 4});
  CHECK_THROWS_WITH_AS(
      linear(ctx, x, w, Tensor()),
      doctest::Contains("linear: input (2,5) has 5 features but weight (3,4) expects 4"), Error);
  CHECK_THROWS_WITH_AS(linear(ctx, Tensor::host_zeros({2, 3, 4}), w, Tensor()),
                       doctest::Contains("linear: input must be 2-d but is (2,3,4)"), Error);
  CHECK_THROWS_WITH_AS(
      linear(ctx, Tensor::host_zeros({2, 4}), w, Tensor::host_zeros({4})),
      doctest::Contains("linear: bias f32(4)@cpu does not match weight f32(3,4)@cpu"), Error);
  if (cuda_available()) {
    Context gpu(Device::cuda(0));
    CHECK_THROWS_WITH_AS(linear(gpu, gpu.to(x, gpu.device()), Tensor::host_zeros({3, 5}), Tensor()),
                         doctest::Contains("linear: tensors on different devices"), Error);
  }
}

TEST_CASE("gpu: linear forward and all gradients match the CPU") {
  struct Case {
    int64_t n, in, out;
    bool bias;
  };
  for (const Case& c : {Case{1, 1, 1, true}, Case{7, 13, 5, true}, Case{33, 257, 91, false},
                        Case{512, 1024, 11, true}, Case{0, 6, 3, true}, Case{3, 0, 4, true}}) {
    Context cpu(Device::cpu(), 8), gpu(Device::cuda(0), 8);
    Tensor x = test::random_tensor(cpu, {c.n, c.in}), w = test::random_tensor(cpu, {c.out, c.in});
    Tensor b = c.bias ? test::random_tensor(cpu, {c.out}) : Tensor();
    Tensor dy = test::random_tensor(cpu, {c.n, c.out});
    auto want = run_linear(cpu, x, w, b, dy);
    auto g = [&](const Tensor& t) { return t.defined() ? gpu.to(t, gpu.device()) : Tensor(); };
    auto got = run_linear(gpu, g(x), g(w), g(b), g(dy));
    std::string what =
        "linear " + std::to_string(c.n) + "x" + std::to_string(c.in) + "->" + std::to_string(c.out);
    // fp32 both sides (cuBLAS default math, no TF32); sums of up to 1024 terms of size ~1.
    for (int k = 0; k < 4; ++k)
      if (want[k].defined())
        DR_CHECK_CLOSE(gpu, got[k], want[k], 1e-4, 1e-4, what + " " + kNames[k]);
  }
}
