// relu / add / flatten: finite differences, torch parity, CPU vs CUDA.
#include "nn/functional.h"
#include "tests/testing.h"

using namespace dr;

TEST_CASE("gradcheck: relu, add, flatten") {
  Context ctx(Device::cpu(), 7);
  // Values kept at least 0.05 away from relu's kink at 0.
  Tensor x = test::random_tensor(ctx, {2, 3, 5}, 0.05, 1.0, DType::F64);
  double* p = x.data<double>();
  for (int64_t i = 0; i < x.numel(); i += 2) p[i] = -p[i];
  Tensor b = test::random_tensor(ctx, {2, 3, 5}, -1, 1, DType::F64);
  x.set_requires_grad(true);
  b.set_requires_grad(true);
  test::gradcheck([](Context& c, const std::vector<Tensor>& in) { return relu(c, in[0]); }, {x},
                  "relu");
  test::gradcheck(
      [](Context& c, const std::vector<Tensor>& in) {
        return relu(c, add(c, in[0], in[1]), /*inplace=*/true);
      },
      {x, b}, "relu_(a + b)");
  test::gradcheck([](Context& c, const std::vector<Tensor>& in) {
    return add(c, flatten(in[0]), flatten(in[1]));
  }, {x, b}, "flatten");
}

TEST_CASE("parity: relu matches torch") {
  Context ctx;
  const TensorFile& ref = test::reference("ops_pointwise");
  Tensor x = ref.get("relu.x");
  Tensor y = relu(ctx, x);
  DR_CHECK_CLOSE(ctx, y, ref.get("relu.y"), 0, 0, "relu forward");
  x.set_requires_grad(true);
  GradModeGuard g(ctx, true);
  Tensor y2 = relu(ctx, x);
  ctx.backward(y2, ref.get("relu.dy"));
  DR_CHECK_CLOSE(ctx, x.grad(), ref.get("relu.dx"), 0, 0, "relu backward");
}

TEST_CASE("gpu: relu and add match the CPU") {
  Context cpu(Device::cpu(), 3), gpu(Device::cuda(0), 3);
  for (int64_t n : {0, 1, 255, 257, 100003}) {
    Tensor a = test::random_tensor(cpu, {n}), b = test::random_tensor(cpu, {n});
    a.set_requires_grad(true);
    Tensor ag = gpu.to(a, gpu.device()), bg = gpu.to(b, gpu.device());
    ag.set_requires_grad(true);
    Tensor dy = test::random_tensor(cpu, {n});
    for (Context* c : {&cpu, &gpu}) c->set_grad_enabled(true);
    Tensor yc = relu(cpu, add(cpu, a, b));
    Tensor yg = relu(gpu, add(gpu, ag, bg));
    DR_CHECK_CLOSE(gpu, yg, yc, 0, 0, "relu(a+b) n=" + std::to_string(n));
    if (n == 0) continue;
    cpu.backward(yc, dy);
    gpu.backward(yg, gpu.to(dy, gpu.device()));
    DR_CHECK_CLOSE(gpu, ag.grad(), a.grad(), 0, 0, "d relu(a+b)/da n=" + std::to_string(n));
  }
}
