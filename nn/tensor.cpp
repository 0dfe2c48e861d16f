#include "nn/tensor.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "nn/allocator.h"

namespace dr {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
  }
  return "?";
}

DType dtype_from_name(const std::string& n) {
  if (n == "f32") return DType::F32;
  if (n == "f64") return DType::F64;
  if (n == "i32") return DType::I32;
  if (n == "i64") return DType::I64;
  if (n == "u8") return DType::U8;
  DR_FAIL("unknown dtype name '" << n << "' (expected f32, f64, i32, i64 or u8)");
}

std::string Device::str() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda" || s == "gpu") return cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    char* end = nullptr;
    long i = std::strtol(s.c_str() + 5, &end, 10);
    DR_CHECK(end && *end == 0 && i >= 0, "bad device '" << s << "' (expected cpu, cuda or cuda:N)");
    return cuda(static_cast<int>(i));
  }
  DR_FAIL("bad device '" << s << "' (expected cpu, cuda or cuda:N)");
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << ")";
  return os.str();
}

Storage::~Storage() {
  if (!ptr) return;
  if (allocator)
    allocator->release(ptr, nbytes);
  else
    std::free(ptr);
}

Tensor::Tensor(std::shared_ptr<Storage> storage, size_t byte_offset, Shape shape, DType dtype)
    : storage_(std::move(storage)), offset_(byte_offset), shape_(std::move(shape)), dtype_(dtype) {
  for (int64_t d : shape_) DR_CHECK(d >= 0, "negative dimension in shape " << shape_str(shape_));
  numel_ = shape_numel(shape_);
  DR_CHECK(!storage_ || offset_ + nbytes() <= storage_->nbytes,
           "tensor " << shape_str(shape_) << " does not fit its storage");
}

// A training step allocates and frees the same activation-sized buffers (hundreds of KB
// to tens of MB) every iteration. glibc serves those with mmap and returns them with
// munmap (or trims the heap top), so every step page-faults its memory in again (perf:
// exc_page_fault, clear_page). Keeping freed blocks in the heap, like the CUDA caching
// allocator, took a digit_cpu training run's system time from 9% to 4.4% of its CPU time.
// Tuned once, before the first tensor; a process-wide malloc setting. Blocks above the
// threshold that a Context allocates are kept by its HostBlockCache (nn/host_cache.h).
static void keep_freed_host_memory() {
  static std::once_flag once;
  std::call_once(once, [] {
    // 32 MiB is glibc's largest mmap threshold (64-bit); larger blocks stay mmapped.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // blocks below 32 MiB come from the heap
    mallopt(M_TRIM_THRESHOLD, 1 << 30);   // and stay there until 1 GiB is free at its top
  });
}

// 64-byte aligned host memory: SIMD-friendly and the alignment the flat weight file uses.
static std::shared_ptr<Storage> host_storage(size_t nbytes) {
  keep_freed_host_memory();
  auto st = std::make_shared<Storage>();
  size_t rounded = (nbytes + 63) / 64 * 64;
  st->ptr = std::aligned_alloc(64, rounded ? rounded : 64);
  DR_CHECK(st->ptr, "out of host memory allocating " << nbytes << " bytes");
  st->nbytes = nbytes;
  st->device = Device::cpu();
  return st;
}

Tensor Tensor::host(const Shape& shape, DType dtype) {
  return Tensor(host_storage(shape_numel(shape) * dtype_size(dtype)), 0, shape, dtype);
}

Tensor Tensor::host_zeros(const Shape& shape, DType dtype) {
  Tensor t = host(shape, dtype);
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

template <class T>
Tensor Tensor::host_from(const Shape& shape, const std::vector<T>& values) {
  DR_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
           "host_from: " << values.size() << " values for shape " << shape_str(shape));
  Tensor t = host(shape, DTypeOf<T>::value);
  if (!values.empty()) std::memcpy(t.raw(), values.data(), t.nbytes());
  return t;
}
template Tensor Tensor::host_from<float>(const Shape&, const std::vector<float>&);
template Tensor Tensor::host_from<double>(const Shape&, const std::vector<double>&);
template Tensor Tensor::host_from<int32_t>(const Shape&, const std::vector<int32_t>&);
template Tensor Tensor::host_from<int64_t>(const Shape&, const std::vector<int64_t>&);
template Tensor Tensor::host_from<uint8_t>(const Shape&, const std::vector<uint8_t>&);

int64_t Tensor::size(int d) const {
  int n = dim();
  int i = d < 0 ? d + n : d;
  DR_CHECK(i >= 0 && i < n, "size(" << d << ") on tensor " << str());
  return shape_[i];
}

Device Tensor::device() const { return storage_ ? storage_->device : Device::cpu(); }

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype_)) + shape_str(shape_) + "@" + device().str();
}

template <class T>
T Tensor::item() const {
  DR_CHECK(numel_ == 1, "item() on tensor " << str() << " with " << numel_ << " elements");
  DR_CHECK(!is_cuda(), "item() on CUDA tensor " << str() << "; copy it to the host first");
  return *data<T>();
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int32_t Tensor::item<int32_t>() const;
template int64_t Tensor::item<int64_t>() const;
template uint8_t Tensor::item<uint8_t>() const;

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      DR_CHECK(infer < 0, "reshape " << str() << " to " << shape_str(shape) << ": two -1 dims");
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    DR_CHECK(known > 0 && numel_ % known == 0,
             "reshape " << str() << " to " << shape_str(shape) << ": sizes do not divide");
    s[infer] = numel_ / known;
  }
  DR_CHECK(shape_numel(s) == numel_,
           "reshape " << str() << " to " << shape_str(shape) << ": element counts differ");
  Tensor v(storage_, offset_, s, dtype_);
  v.meta_ = meta_;  // views share the autograd identity (see header)
  v.view_offset_ = view_offset_;
  return v;
}

Tensor Tensor::narrow0(int64_t start, int64_t length) const {
  DR_CHECK(dim() >= 1 && start >= 0 && length >= 0 && start + length <= shape_[0],
           "narrow0(" << start << ", " << length << ") on tensor " << str());
  Shape s = shape_;
  s[0] = length;
  int64_t row = numel_ / (shape_[0] ? shape_[0] : 1);
  Tensor v(storage_, offset_ + static_cast<size_t>(start * row) * dtype_size(dtype_), s, dtype_);
  // A slice shares the base's identity: its gradient is rows [start, start + length) of
  // the base's (the RPN slices per-image rows out of each level's head output).
  v.meta_ = meta_;
  v.view_offset_ = view_offset_ + start * row;
  return v;
}

Tensor Tensor::detach() const { return Tensor(storage_, offset_, shape_, dtype_); }

void Tensor::set_requires_grad(bool on) {
  if (!meta_) {
    meta_ = std::make_shared<GradMeta>();
    meta_->numel = numel_;  // this tensor becomes the base of a new identity
    view_offset_ = 0;
  }
  meta_->requires_grad = on;
}

Tensor Tensor::grad() const {
  if (!has_grad()) return Tensor();
  return Tensor(meta_->grad_storage,
                meta_->grad_offset + static_cast<size_t>(view_offset_) * dtype_size(dtype_), shape_,
                dtype_);
}

void Tensor::zero_grad() {
  if (meta_) {
    meta_->grad_storage.reset();
    meta_->grad_offset = 0;
  }
}

void Tensor::set_grad(const Tensor& g) {
  DR_CHECK(g.numel() == numel_ && g.dtype() == dtype_ && g.device() == device(),
           "set_grad: gradient " << g.str() << " does not match tensor " << str());
  if (!meta_) set_requires_grad(false);  // an identity of its own, not tracked by the tape
  DR_CHECK(view_offset_ == 0 && meta_->numel == numel_,
           "set_grad on " << str() << ", a view of part of a larger tensor ("
                          << meta_->numel << " elements): set the base's gradient instead");
  meta_->grad_storage = g.storage();
  meta_->grad_offset = g.byte_offset();
}

void check_shape(const char* op, const char* name, const Tensor& t, const Shape& expected) {
  DR_CHECK(t.defined(), op << ": " << name << " is undefined; expected shape " << shape_str(expected));
  bool ok = t.dim() == static_cast<int>(expected.size());
  for (size_t i = 0; ok && i < expected.size(); ++i)
    ok = expected[i] < 0 || expected[i] == t.shape()[i];  // -1 = any
  DR_CHECK(ok, op << ": " << name << " must have shape " << shape_str(expected) << " but is "
                  << shape_str(t.shape()));
}

void check_dim(const char* op, const char* name, const Tensor& t, int dim) {
  DR_CHECK(t.defined(), op << ": " << name << " is undefined");
  DR_CHECK(t.dim() == dim, op << ": " << name << " must be " << dim << "-d but is "
                              << shape_str(t.shape()));
}

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  DR_CHECK(a.device() == b.device(), op << ": tensors on different devices: " << a.str() << " and "
                                        << b.str());
}

void check_float(const char* op, const char* name, const Tensor& t) {
  DR_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64,
           op << ": " << name << " must be f32 or f64 but is " << t.str());
  DR_CHECK(!(t.is_cuda() && t.dtype() == DType::F64),
           op << ": " << name << " is f64 on CUDA; CUDA ops are f32 (f64 is the CPU reference)");
}

}  // namespace dr
