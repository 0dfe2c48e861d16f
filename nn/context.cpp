#include "nn/context.h"

#include <cstring>

#include "kernels/cuda_check.h"

namespace dr {

bool cuda_available() { return cuda_device_count() > 0; }

int cuda_device_count() {
#if DR_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // "no device" / "no driver" is an answer here, not an error
    return 0;
  }
  return n;
#else
  return 0;
#endif
}

Context::Context(Device device, uint64_t seed) : device_(device), rng_(seed) {
  if (!device.is_cuda()) return;
#if DR_CUDA
  int n = cuda_device_count();
  DR_CHECK(device.index < n, "device " << device.str() << " requested but " << n
                                       << " CUDA device(s) are visible");
  CUDA_CHECK(cudaSetDevice(device.index));
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  allocator_ = std::make_shared<CudaAllocator>(device.index);
#else
  DR_FAIL("device " << device.str() << " requested but this build has no CUDA (GPU=0)");
#endif
}

Context::~Context() {
#if DR_CUDA
  workspace_ = Tensor();
  if (cublas_) cublasDestroy(cublas_);
  if (cudnn_) cudnnDestroy(cudnn_);
  if (stream_) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
#endif
}

#if DR_CUDA
cudnnHandle_t Context::cudnn() {
  DR_CHECK(is_cuda(), "cuDNN handle requested from a CPU context");
  if (!cudnn_) {
    CUDNN_CHECK(cudnnCreate(&cudnn_));
    CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
  }
  return cudnn_;
}

cublasHandle_t Context::cublas() {
  DR_CHECK(is_cuda(), "cuBLAS handle requested from a CPU context");
  if (!cublas_) {
    CUBLAS_CHECK(cublasCreate(&cublas_));
    CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    // Keep fp32 GEMMs in fp32 (no silent TF32): the CPU-vs-GPU tests hold 1e-5.
    CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
  }
  return cublas_;
}

void* Context::workspace(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  if (!workspace_.defined() || workspace_.nbytes() < nbytes)
    workspace_ = empty({static_cast<int64_t>(nbytes)}, DType::U8);
  return workspace_.raw();
}
#endif

namespace {
// A tensor on a block of `owner`'s, which gets it back when the last tensor on it goes.
Tensor on_block(std::shared_ptr<BlockAllocator> owner, void* ptr, size_t nbytes, Device d,
                const Shape& shape, DType dtype) {
  auto st = std::make_shared<Storage>();
  st->ptr = ptr;
  st->nbytes = nbytes;
  st->device = d;
  st->allocator = std::move(owner);
  return Tensor(st, 0, shape, dtype);
}
}  // namespace

Tensor Context::empty_on(Device d, const Shape& shape, DType dtype) {
  const size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (!d.is_cuda()) {
    if (nbytes < HostBlockCache::kMinBytes) return Tensor::host(shape, dtype);
    return on_block(host_cache_, host_cache_->allocate(nbytes), nbytes, d, shape, dtype);
  }
  DR_CHECK(d == device_, "allocation on " << d.str() << " from a context on " << device_.str());
  return on_block(allocator_, allocator_->allocate(nbytes), nbytes, d, shape, dtype);
}

Tensor Context::empty(const Shape& shape, DType dtype) { return empty_on(device_, shape, dtype); }

Tensor Context::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  fill_zero(t);
  return t;
}

void Context::fill_zero(const Tensor& t) {
  if (!t.defined() || t.nbytes() == 0) return;
  if (!t.is_cuda()) {
    std::memset(t.raw(), 0, t.nbytes());
    return;
  }
#if DR_CUDA
  CUDA_CHECK(cudaMemsetAsync(t.raw(), 0, t.nbytes(), stream_));
#endif
}

void Context::copy(const Tensor& dst, const Tensor& src) {
  DR_CHECK(dst.numel() == src.numel() && dst.dtype() == src.dtype(),
           "copy: destination " << dst.str() << " and source " << src.str() << " differ");
  if (src.nbytes() == 0) return;
  if (!dst.is_cuda() && !src.is_cuda()) {
    std::memmove(dst.raw(), src.raw(), src.nbytes());
    return;
  }
#if DR_CUDA
  DR_CHECK(is_cuda(), "copy between " << src.str() << " and " << dst.str()
                                      << " needs a CUDA context");
  cudaMemcpyKind kind = src.is_cuda() ? (dst.is_cuda() ? cudaMemcpyDeviceToDevice
                                                       : cudaMemcpyDeviceToHost)
                                      : cudaMemcpyHostToDevice;
  CUDA_CHECK(cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(), kind, stream_));
  // Host memory may be reused as soon as we return: wait for transfers touching it.
  if (kind != cudaMemcpyDeviceToDevice) CUDA_CHECK(cudaStreamSynchronize(stream_));
#else
  DR_FAIL("copy involving a CUDA tensor in a CPU-only build");
#endif
}

Tensor Context::to(const Tensor& t, Device d) {
  if (!t.defined() || t.device() == d) return t;
  Tensor out = empty_on(d, t.shape(), t.dtype());
  copy(out, t);
  return out;
}

Tensor Context::clone(const Tensor& t) {
  Tensor out = empty_on(t.device(), t.shape(), t.dtype());
  copy(out, t);
  return out;
}

bool Context::recording(std::initializer_list<const Tensor*> inputs) const {
  if (!grad_enabled_) return false;
  for (const Tensor* t : inputs)
    if (t && t->requires_grad()) return true;
  return false;
}

void Context::check_no_grad(const char* op, std::initializer_list<const Tensor*> inputs) const {
  if (!grad_enabled_) return;
  int i = 0;
  for (const Tensor* t : inputs) {
    DR_CHECK(!(t && t->defined() && t->requires_grad()),
             op << ": input " << i << " " << t->str() << " requires a gradient, but " << op
                << " has no backward (it is not differentiated in Faster R-CNN); detach the "
                   "input or run it with recording off");
    ++i;
  }
}

void Context::check_no_grad(const char* op, const std::vector<Tensor>& inputs) const {
  if (!grad_enabled_) return;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    DR_CHECK(!(t.defined() && t.requires_grad()),
             op << ": input " << i << " " << t.str() << " requires a gradient, but " << op
                << " has no backward (it is not differentiated in Faster R-CNN); detach the "
                   "input or run it with recording off");
  }
}

Tensor Context::grad_buffer(const Tensor& t) {
  DR_CHECK(t.meta(), "grad_buffer on " << t.str() << ", which is not tracked by autograd");
  GradMeta& m = *t.meta();
  if (!m.grad_storage) {
    // The whole base's gradient, even when t is a view of part of it.
    Tensor g = empty_on(t.device(), {m.numel}, t.dtype());
    fill_zero(g);
    m.grad_storage = g.storage();
    m.grad_offset = 0;
  }
  if (backward_touched_ &&
      (backward_touched_->empty() || backward_touched_->back().lock() != t.meta()))
    backward_touched_->push_back(t.meta());
  return t.grad();
}

void Context::backward(const Tensor& out, const Tensor& seed) {
  DR_CHECK(out.requires_grad(), "backward: " << out.str()
                                             << " does not require grad (was the tape recording?)");
  if (seed.defined()) {
    DR_CHECK(seed.numel() == out.numel() && seed.dtype() == out.dtype(),
             "backward: seed " << seed.str() << " does not match output " << out.str());
  } else {
    DR_CHECK(out.numel() == 1, "backward: output " << out.str()
                                                   << " is not a scalar; pass a seed gradient");
  }
  // Backward closures run ops (accumulate, reductions) that must not record.
  GradModeGuard no_record(*this, false);
  std::vector<std::weak_ptr<GradMeta>> touched;
  backward_touched_ = &touched;
  auto drop_touched = [&]() {
    backward_touched_ = nullptr;
    for (auto& w : touched) {
      if (auto m = w.lock()) {
        m->grad_storage.reset();
        m->grad_offset = 0;
      }
    }
    tape_.clear();
  };
  const std::string note =
      " (backward failed: the tape was cleared and the gradients this backward() created or "
      "wrote were dropped; zero_grad and run a new forward)";
  try {
    Tensor g = grad_buffer(out);
    if (seed.defined()) {
      copy(g, seed);
    } else {
      Tensor one = Tensor::host({1}, out.dtype());
      if (out.dtype() == DType::F64)
        *one.data<double>() = 1.0;
      else
        *one.data<float>() = 1.0f;
      copy(g, one);
    }
    tape_.run_backward();
  } catch (const std::exception& e) {
    drop_touched();
    throw Error(std::string(e.what()) + note);
  } catch (...) {
    drop_touched();
    throw;
  }
  backward_touched_ = nullptr;
}

void Context::synchronize() {
#if DR_CUDA
  if (stream_) CUDA_CHECK(cudaStreamSynchronize(stream_));
#endif
}

AllocatorStats Context::host_cache_stats() const { return host_cache_->stats(); }

AllocatorStats Context::memory_stats() const {
  return allocator_ ? allocator_->stats() : AllocatorStats{};
}

}  // namespace dr
