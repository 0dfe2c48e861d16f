// Context: everything an op needs besides its tensors, passed explicitly (no globals):
// the device, the CUDA stream and cuDNN/cuBLAS handles, a caching memory allocator, a
// reusable scratch workspace, the seeded RNG, and the autograd tape.
#pragma once
#include <cstdint>
#include <memory>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "nn/allocator.h"
#include "nn/host_cache.h"
#include "nn/rng.h"
#include "nn/tape.h"
#include "nn/tensor.h"

#if DR_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#endif

namespace dr {

class Context {
 public:
  explicit Context(Device device = Device::cpu(), uint64_t seed = 0);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Device device() const { return device_; }
  bool is_cuda() const { return device_.is_cuda(); }
  Rng& rng() { return rng_; }
  Tape& tape() { return tape_; }

  // Tensors on this context's device.
  Tensor empty(const Shape& shape, DType dtype = DType::F32);
  Tensor zeros(const Shape& shape, DType dtype = DType::F32);
  Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }
  Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
  // Allocation on an explicit device that must be the CPU or this context's device.
  Tensor empty_on(Device d, const Shape& shape, DType dtype);

  // Copies. to() returns t itself when it already lives on d. Device->host copies
  // synchronize the stream so the host data is ready when they return. These move data
  // and are not differentiated (like torch's detach().clone()): results have no autograd
  // identity, whatever the source's.
  Tensor to(const Tensor& t, Device d);
  Tensor to_host(const Tensor& t) { return to(t, Device::cpu()); }
  Tensor clone(const Tensor& t);
  void copy(const Tensor& dst, const Tensor& src);  // same numel and dtype, any devices
  void fill_zero(const Tensor& t);

  // ---- autograd ----
  // The rule every op follows: an op that sees an input requiring a gradient while
  // grad_enabled() either records its backward (recording() is true) or throws
  // (check_no_grad), so a gradient is never dropped silently.
  bool grad_enabled() const { return grad_enabled_; }
  void set_grad_enabled(bool on) { grad_enabled_ = on; }
  // True when an op on these inputs must record its backward.
  bool recording(std::initializer_list<const Tensor*> inputs) const;
  // For ops without a backward (box decoding, NMS, score filters, ...): throws
  // "<op>: input <i> <tensor> requires a gradient, but <op> has no backward ..." when
  // recording and any (defined) input requires a gradient. Null entries are skipped.
  void check_no_grad(const char* op, std::initializer_list<const Tensor*> inputs) const;
  void check_no_grad(const char* op, const std::vector<Tensor>& inputs) const;
  // The gradient buffer of t in t's shape (for a view: its part of the base's buffer),
  // zero-filled on first use (backward kernels +=).
  Tensor grad_buffer(const Tensor& t);
  // Seeds d(out) = seed (ones for a scalar when seed is undefined) and runs the tape,
  // with recording off. If a backward closure throws, the tape is cleared and every
  // gradient buffer this call created or wrote (the seed's included) is dropped, so no
  // half-accumulated gradient survives; the error names the op and says so.
  void backward(const Tensor& out, const Tensor& seed = Tensor());

  // Per-context state owned by a backend (e.g. cuDNN algorithm choice per shape),
  // one default-constructed T per context, created on first use.
  template <class T>
  T& backend_cache() {
    auto& slot = caches_[std::type_index(typeid(T))];
    if (!slot) slot = std::make_shared<T>();
    return *std::static_pointer_cast<T>(slot);
  }

  void synchronize();  // waits for queued device work (no-op on CPU)
  AllocatorStats memory_stats() const;       // the device allocator's (CUDA)
  AllocatorStats host_cache_stats() const;   // large host blocks (nn/host_cache.h)

#if DR_CUDA
  cudaStream_t stream() const { return stream_; }
  cudnnHandle_t cudnn();
  cublasHandle_t cublas();
  // Scratch memory for library calls (cuDNN workspaces): grows, never shrinks, reused.
  void* workspace(size_t nbytes);
#endif

 private:
  Device device_;
  Rng rng_;
  Tape tape_;
  bool grad_enabled_ = false;
  // Identities whose gradient buffer grad_buffer() handed out during backward(), so a
  // failing backward can drop them; null outside backward().
  // Weak: a failing backward only needs to clear those still reachable.
  std::vector<std::weak_ptr<GradMeta>>* backward_touched_ = nullptr;
  std::shared_ptr<CudaAllocator> allocator_;  // null on CPU
  // Host tensors of HostBlockCache::kMinBytes and more, on either kind of context.
  std::shared_ptr<HostBlockCache> host_cache_ = std::make_shared<HostBlockCache>();
  std::unordered_map<std::type_index, std::shared_ptr<void>> caches_;
#if DR_CUDA
  cudaStream_t stream_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  Tensor workspace_;
#endif
};

// RAII: records (or not) for a scope, restoring the previous mode.
class GradModeGuard {
 public:
  GradModeGuard(Context& ctx, bool enabled) : ctx_(ctx), prev_(ctx.grad_enabled()) {
    ctx.set_grad_enabled(enabled);
  }
  ~GradModeGuard() { ctx_.set_grad_enabled(prev_); }

 private:
  Context& ctx_;
  bool prev_;
};

// True when this process can see at least one CUDA device (false in CPU-only builds).
bool cuda_available();
int cuda_device_count();

}  // namespace dr
