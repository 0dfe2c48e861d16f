// Test helpers shared by every test file: random tensors, tolerance comparisons that
// print max abs/rel error and the first bad index, torch reference dumps, and a
// finite-difference gradient check in double.
#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "nn/context.h"
#include "nn/tensor_file.h"

namespace dr::test {

// Uniform in [lo, hi) on the context's device.
Tensor random_tensor(Context& ctx, const Shape& shape, double lo = -1.0, double hi = 1.0,
                     DType dtype = DType::F32);
// Host copy as double, whatever the dtype/device (for comparisons).
std::vector<double> to_doubles(Context& ctx, const Tensor& t);

struct CompareResult {
  bool ok = true;
  double max_abs = 0, max_rel = 0;
  int64_t first_bad = -1;
  std::string message;  // "what: max abs 1e-3, max rel 2e-4, first bad index 17 (got x, want y)"
};
// Element-wise |a - b| <= atol + rtol * |b|; shapes must match.
CompareResult compare(Context& ctx, const Tensor& actual, const Tensor& expected, double rtol,
                      double atol, const std::string& what);
// CHECK-style wrapper: reports the message through doctest on failure.
#define DR_CHECK_CLOSE(ctx, actual, expected, rtol, atol, what)                             \
  do {                                                                                      \
    auto dr_cmp_ = ::dr::test::compare(ctx, actual, expected, rtol, atol, what);            \
    INFO(dr_cmp_.message);                                                                  \
    CHECK_MESSAGE(dr_cmp_.ok, dr_cmp_.message);                                             \
  } while (0)

// The torch reference dump tools/ref/<name>.py wrote (make test produces them first).
// Fails loudly (not a skip) when it is missing.
const TensorFile& reference(const std::string& name);
// The folder the reference dumps (and files written beside them) live in: $DR_REF_DIR
// or build/ref.
std::string ref_dir();
// ../shared/data/svhn-real when present (tests that use it skip with a message otherwise).
std::string shared_data_dir();
// Runs a shell command with stderr folded into stdout: its exit status (-1 when it did not
// exit normally) and, in out, everything it printed.
int run_command(const std::string& cmd, std::string& out);

// Finite-difference check, on the CPU in double. fn builds the op's output from inputs;
// for every input with requires_grad, compares tape gradients of L = sum(out * r) (r
// random) with central differences (step eps). Inputs are f64 CPU tensors; fn must be
// deterministic and smooth at the inputs (callers keep away from ReLU/max kinks).
void gradcheck(const std::function<Tensor(Context&, const std::vector<Tensor>&)>& fn,
               const std::vector<Tensor>& inputs, const std::string& what, double eps = 1e-6,
               double rtol = 1e-5, double atol = 1e-7);

}  // namespace dr::test
