// max_pool2d: finite differences (distinct values, away from ties), torch parity for the
// ResNet stem (3x3/2/1), FPN LastLevelMaxPool (1x1/2/0) and the tie rule, errors, CPU vs CUDA.
#include "kernels/pool.h"
#include "nn/functional.h"
#include "tests/testing.h"

using namespace dr;

namespace {

// Distinct values at least 1/numel apart in a scrambled order: no ties, and a finite
// difference step of 1e-6 never changes an argmax.
Tensor distinct_values(const Shape& s) {
  Tensor t = Tensor::host(s, DType::F64);
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = double((i * 7919) % n) / n - 0.5;
  return t;
}

}  // namespace

TEST_CASE("gradcheck: max_pool2d 3x3/2/1 and 1x1/2/0") {
  Tensor x = distinct_values({2, 3, 7, 6});  // 7919 is prime: i -> 7919 i mod 252 is a bijection
  x.set_requires_grad(true);
  for (int k : {3, 1}) {
    const int p = k == 3 ? 1 : 0;
    test::gradcheck(
        [k, p](Context& c, const std::vector<Tensor>& in) { return max_pool2d(c, in[0], k, 2, p); },
        {x}, "max_pool2d k=" + std::to_string(k));
  }
}

TEST_CASE("parity: max_pool2d matches torch (values, grads, tie rule)") {
  Context ctx;
  const TensorFile& ref = test::reference("ops_norm");
  struct Cfg {
    const char* name;
    int k, s, p;
  };
  for (const Cfg& c : {Cfg{"pool3", 3, 2, 1}, Cfg{"pool1", 1, 2, 0}, Cfg{"poolties", 3, 2, 1}}) {
    const std::string n = c.name;
    Tensor x = ctx.clone(ref.get(n + ".x"));
    x.set_requires_grad(true);
    GradModeGuard g(ctx, true);
    Tensor y = max_pool2d(ctx, x, c.k, c.s, c.p);
    // A max is a copy: exact. dx sums dy in torch's order: exact too.
    DR_CHECK_CLOSE(ctx, y, ref.get(n + ".y"), 0, 0, n + " y");
    ctx.backward(y, ref.get(n + ".dy"));
    DR_CHECK_CLOSE(ctx, x.grad(), ref.get(n + ".dx"), 0, 0, n + " dx");
    // The argmax itself, through the kernel: "poolties" has values in {0, 1, 2}, so most
    // windows tie and this checks the first-maximum-in-scan-order rule against torch.
    const Tensor& idx = ref.get(n + ".idx");
    Tensor arg = Tensor::host(idx.shape(), DType::I64), yy = Tensor::host(idx.shape());
    kern::maxpool2d_forward_cpu<float>(yy.data<float>(), arg.data<int64_t>(), x.data<float>(),
                                       x.size(0) * x.size(1), x.size(2), x.size(3), y.size(2),
                                       y.size(3), c.k, c.s, c.p);
    DR_CHECK_CLOSE(ctx, arg, idx, 0, 0, n + " argmax indices");
  }
}

TEST_CASE("max_pool2d: errors name the op and the shapes") {
  Context ctx;
  CHECK_THROWS_WITH_AS(max_pool2d(ctx, ctx.zeros({3, 8, 8}), 3, 2, 1),
                       doctest::Contains("max_pool2d: input must be 4-D"), Error);
  CHECK_THROWS_WITH_AS(max_pool2d(ctx, ctx.zeros({1, 1, 2, 2}), 3, 1, 0),
                       doctest::Contains("too small"), Error);
  CHECK_THROWS_WITH_AS(max_pool2d(ctx, ctx.zeros({1, 1, 1, 5}), 3, 2, 0),
                       doctest::Contains("too small"), Error);
  CHECK_THROWS_AS(max_pool2d(ctx, ctx.zeros({1, 1, 8, 8}), 3, 2, 2), Error);  // pad > k/2
  CHECK_THROWS_AS(max_pool2d(ctx, ctx.zeros({1, 1, 8, 8}), 3, 0, 1), Error);
  CHECK_THROWS_AS(max_pool2d(ctx, ctx.zeros({1, 1, 8, 8}, DType::I64), 3, 2, 1), Error);
  // Output shapes, floor mode: (H + 2p - k) / s + 1.
  CHECK(max_pool2d(ctx, ctx.zeros({1, 2, 11, 13}), 3, 2, 1).shape() == Shape{1, 2, 6, 7});
  CHECK(max_pool2d(ctx, ctx.zeros({1, 2, 7, 8}), 1, 2, 0).shape() == Shape{1, 2, 4, 4});
  CHECK(max_pool2d(ctx, ctx.zeros({0, 2, 7, 8}), 3, 2, 1).shape() == Shape{0, 2, 4, 4});
}

TEST_CASE("gpu: max_pool2d matches the CPU") {
  Context cpu(Device::cpu(), 31), gpu(Device::cuda(0), 31);
  const Device g = gpu.device();
  struct Cfg {
    Shape shape;
    int k, s, p;
  };
  for (const Cfg& c : {Cfg{{2, 3, 17, 23}, 3, 2, 1}, Cfg{{3, 5, 9, 4}, 1, 2, 0},
                       Cfg{{1, 7, 64, 65}, 3, 2, 1}, Cfg{{0, 3, 9, 9}, 3, 2, 1},
                       Cfg{{2, 2, 3, 3}, 2, 1, 1}}) {
    const std::string what = shape_str(c.shape) + " k" + std::to_string(c.k);
    // Small integers: many ties, so the tie rule is compared too.
    Tensor x = test::random_tensor(cpu, c.shape, 0, 4);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = float(int(x.data<float>()[i]));
    Tensor xg = gpu.to(x, g);
    x.set_requires_grad(true);
    xg.set_requires_grad(true);
    GradModeGuard gc(cpu, true), gg(gpu, true);
    Tensor yc = max_pool2d(cpu, x, c.k, c.s, c.p), yg = max_pool2d(gpu, xg, c.k, c.s, c.p);
    DR_CHECK_CLOSE(gpu, yg, yc, 0, 0, "y " + what);
    if (x.numel() == 0) {
      cpu.tape().clear();
      gpu.tape().clear();
      continue;
    }
    Tensor dy = test::random_tensor(cpu, yc.shape());
    cpu.backward(yc, dy);
    gpu.backward(yg, gpu.to(dy, g));
    DR_CHECK_CLOSE(gpu, xg.grad(), x.grad(), 0, 0, "dx " + what);  // same gather order
  }
}
