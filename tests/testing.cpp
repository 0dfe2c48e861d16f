#include "tests/testing.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>

namespace dr::test {

Tensor random_tensor(Context& ctx, const Shape& shape, double lo, double hi, DType dtype) {
  Tensor h = Tensor::host(shape, dtype);
  Rng& r = ctx.rng();
  for (int64_t i = 0; i < h.numel(); ++i) {
    double v = r.uniform(lo, hi);
    switch (dtype) {
      case DType::F32: h.data<float>()[i] = static_cast<float>(v); break;
      case DType::F64: h.data<double>()[i] = v; break;
      case DType::I32: h.data<int32_t>()[i] = static_cast<int32_t>(std::floor(v)); break;
      case DType::I64: h.data<int64_t>()[i] = static_cast<int64_t>(std::floor(v)); break;
      case DType::U8: h.data<uint8_t>()[i] = static_cast<uint8_t>(std::floor(v)); break;
    }
  }
  return ctx.to(h, ctx.device());
}

std::vector<double> to_doubles(Context& ctx, const Tensor& t) {
  Tensor h = ctx.to_host(t);
  std::vector<double> v(static_cast<size_t>(h.numel()));
  for (int64_t i = 0; i < h.numel(); ++i) {
    switch (h.dtype()) {
      case DType::F32: v[i] = h.data<float>()[i]; break;
      case DType::F64: v[i] = h.data<double>()[i]; break;
      case DType::I32: v[i] = h.data<int32_t>()[i]; break;
      case DType::I64: v[i] = static_cast<double>(h.data<int64_t>()[i]); break;
      case DType::U8: v[i] = h.data<uint8_t>()[i]; break;
    }
  }
  return v;
}

CompareResult compare(Context& ctx, const Tensor& actual, const Tensor& expected, double rtol,
                      double atol, const std::string& what) {
  CompareResult r;
  std::ostringstream os;
  if (!actual.defined() || !expected.defined() || actual.shape() != expected.shape()) {
    r.ok = false;
    os << what << ": shape " << (actual.defined() ? shape_str(actual.shape()) : "undefined")
       << " vs expected " << (expected.defined() ? shape_str(expected.shape()) : "undefined");
    r.message = os.str();
    return r;
  }
  auto a = to_doubles(ctx, actual), b = to_doubles(ctx, expected);
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::fabs(a[i] - b[i]);
    double rel = d / std::max(std::fabs(b[i]), 1e-12);
    bool bad = !(d <= atol + rtol * std::fabs(b[i]));  // also catches NaN
    if (d > r.max_abs || std::isnan(d)) r.max_abs = d;
    if (rel > r.max_rel || std::isnan(rel)) r.max_rel = rel;
    if (bad && r.first_bad < 0) r.first_bad = static_cast<int64_t>(i);
  }
  r.ok = r.first_bad < 0;
  os << what << " " << shape_str(actual.shape()) << ": max abs err " << r.max_abs
     << ", max rel err " << r.max_rel << " (rtol " << rtol << ", atol " << atol << ")";
  if (!r.ok)
    os << "; first bad index " << r.first_bad << ": got " << a[r.first_bad] << ", want "
       << b[r.first_bad];
  r.message = os.str();
  return r;
}

std::string ref_dir() {
  const char* dir = std::getenv("DR_REF_DIR");
  return dir ? dir : "build/ref";
}

const TensorFile& reference(const std::string& name) {
  // Cache: the parity tests read the same dump many times.
  static std::map<std::string, std::unique_ptr<TensorFile>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return *it->second;
  std::string path = ref_dir() + "/" + name + ".bin";
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    FAIL("reference dump " << path << " is missing: run `make test` (it runs tools/ref/" << name
                           << ".py with Debian's python3-torch first)");
  auto tf = std::make_unique<TensorFile>(read_tensor_file(path));
  const TensorFile& ref = *tf;
  cache[name] = std::move(tf);
  return ref;
}

std::string shared_data_dir() {
  const char* env = std::getenv("DR_SHARED_DATA");
  std::string dir = env ? env : "../shared/data/svhn-real";
  struct stat st;
  return stat(dir.c_str(), &st) == 0 ? dir : "";
}

void gradcheck(const std::function<Tensor(Context&, const std::vector<Tensor>&)>& fn,
               const std::vector<Tensor>& inputs, const std::string& what, double eps,
               double rtol, double atol) {
  Context ctx(Device::cpu(), 1234);
  for (const Tensor& t : inputs)
    REQUIRE_MESSAGE((t.dtype() == DType::F64 && !t.is_cuda()),
                    what << ": gradcheck inputs must be f64 CPU tensors, got " << t.str());
  // Analytic gradients of L = sum(out * r).
  for (const Tensor& t : inputs) const_cast<Tensor&>(t).zero_grad();
  Tensor out;
  {
    GradModeGuard g(ctx, true);
    out = fn(ctx, inputs);
    REQUIRE_MESSAGE(out.requires_grad(), what << ": output does not require grad");
  }
  Tensor r = random_tensor(ctx, out.shape(), -1, 1, DType::F64);
  ctx.backward(out, r);
  const double* rp = r.data<double>();
  auto loss = [&]() {
    GradModeGuard g(ctx, false);
    Tensor o = fn(ctx, inputs);
    const double* op = o.data<double>();
    double s = 0;
    for (int64_t i = 0; i < o.numel(); ++i) s += op[i] * rp[i];
    return s;
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    Tensor analytic = x.grad();
    if (!analytic.defined()) analytic = Tensor::host_zeros(x.shape(), DType::F64);
    Tensor numeric = Tensor::host(x.shape(), DType::F64);
    double* xp = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double keep = xp[i];
      xp[i] = keep + eps;
      double lp = loss();
      xp[i] = keep - eps;
      double lm = loss();
      xp[i] = keep;
      numeric.data<double>()[i] = (lp - lm) / (2 * eps);
    }
    DR_CHECK_CLOSE(ctx, analytic, numeric, rtol, atol,
                   what + ": d/d(input " + std::to_string(k) + ")");
  }
  for (const Tensor& t : inputs) const_cast<Tensor&>(t).zero_grad();
}

int run_command(const std::string& cmd, std::string& out) {
  out.clear();
  std::FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "popen failed for: " << cmd);
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace dr::test
