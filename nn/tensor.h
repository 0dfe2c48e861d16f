// Tensor: a contiguous (row-major, NCHW for images) block of float32/float64/int32/
// int64/uint8 on the CPU or one CUDA device, shared by reference like torch.Tensor.
//
// Views made with reshape() and narrow0() share storage *and* autograd metadata with
// their base, so a gradient accumulated through a view lands in the base's gradient: the
// gradient buffer always has the base's element count, and a view sees the part of it
// at its own element offset (all tensors are contiguous, so a reshape or a dim-0 slice of
// the gradient buffer is always valid). A view shares the identity its base has when the
// view is made; detach() starts none.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/error.h"

namespace dr {

enum class DType : uint8_t { F32 = 0, F64 = 1, I32 = 2, I64 = 3, U8 = 4 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "f32", "f64", "i32", "i64", "u8" (the flat-file names)
DType dtype_from_name(const std::string& name);

template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::F32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::F64; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::I32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::I64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::U8; };

enum class DeviceType : uint8_t { CPU, CUDA };
struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"
  static Device parse(const std::string& s);  // "cpu", "cuda", "cuda:1", "gpu"
};

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "(2,3,5,5)"

class BlockAllocator;

// Owns one allocation. CUDA blocks and large host blocks go back to their caching
// allocator (nn/allocator.h, nn/host_cache.h), not to cudaFree / free.
struct Storage {
  void* ptr = nullptr;
  size_t nbytes = 0;
  Device device;
  std::shared_ptr<BlockAllocator> allocator;  // null: aligned malloc/free
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
};

class Tensor;
// Autograd identity of a tensor and its views: the accumulated gradient (stored in the
// base shape) and whether the tape should track it.
struct GradMeta {
  std::shared_ptr<Storage> grad_storage;  // same dtype/device as the tensor, `numel` elements, or null
  size_t grad_offset = 0;                 // byte offset of the gradient inside grad_storage
  int64_t numel = 0;                      // elements of the base tensor (the gradient's size)
  bool requires_grad = false;
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor (e.g. "no bias")
  // Raw construction; use Context::empty/zeros or Tensor::host() instead.
  Tensor(std::shared_ptr<Storage> storage, size_t byte_offset, Shape shape, DType dtype);

  // A tensor in ordinary host memory (loading files, tests, CPU results).
  static Tensor host(const Shape& shape, DType dtype = DType::F32);
  static Tensor host_zeros(const Shape& shape, DType dtype = DType::F32);
  template <class T>
  static Tensor host_from(const Shape& shape, const std::vector<T>& values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int dim() const { return static_cast<int>(shape_.size()); }
  int64_t size(int d) const;  // negative d counts from the end
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const;
  bool is_cuda() const { return device().is_cuda(); }
  std::string str() const;  // "f32(2,3,5,5)@cpu" for error messages

  void* raw() const { return static_cast<char*>(storage_->ptr) + offset_; }
  template <class T>
  T* data() const {
    DR_CHECK(defined(), "data<" << dtype_name(DTypeOf<T>::value) << ">() on an undefined tensor");
    DR_CHECK(dtype_ == DTypeOf<T>::value, "tensor " << str() << " accessed as "
                                                    << dtype_name(DTypeOf<T>::value));
    return static_cast<T*>(raw());
  }
  template <class T>
  T item() const;  // CPU, one element

  // Views (share storage and the autograd identity). reshape accepts one -1.
  Tensor reshape(const Shape& shape) const;
  Tensor narrow0(int64_t start, int64_t length) const;  // rows [start, start + length)
  Tensor detach() const;  // same storage, no autograd identity

  bool same_storage(const Tensor& o) const { return storage_ == o.storage_; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  size_t byte_offset() const { return offset_; }

  // ---- autograd ----
  bool requires_grad() const { return meta_ && meta_->requires_grad; }
  void set_requires_grad(bool on);
  // The accumulated gradient of this tensor (its part of the base's gradient, in this
  // tensor's shape), or undefined if none yet.
  Tensor grad() const;
  bool has_grad() const { return meta_ && meta_->grad_storage; }
  // Drops the gradient buffer; on a view that is the whole base's gradient.
  void zero_grad();
  // Replaces the gradient with (a copy-free alias of) g; a view must cover its whole base.
  void set_grad(const Tensor& g);
  const std::shared_ptr<GradMeta>& meta() const { return meta_; }
  // Element offset of this view inside its base (and the base's gradient); 0 for a base.
  int64_t grad_view_offset() const { return view_offset_; }

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
  std::shared_ptr<GradMeta> meta_;
  int64_t view_offset_ = 0;  // elements from the start of the base (meaningful with meta_)
  friend class Context;
};

// Throws "op: name must be shape (..) but is (..)" style errors.
void check_shape(const char* op, const char* name, const Tensor& t, const Shape& expected);
void check_dim(const char* op, const char* name, const Tensor& t, int dim);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
void check_float(const char* op, const char* name, const Tensor& t);

}  // namespace dr
