// cuDNN conv2d (host calls only; g++ in CUDA builds). Descriptors are made per call
// (cheap host objects); the algorithm is chosen once per geometry with cuDNN's
// heuristics and cached in CudnnConvCache. Math: CUDNN_FMA_MATH, i.e. plain fp32 FMA
// kernels. (CUDNN_DEFAULT_MATH would permit TF32 tensor cores on Ampere and newer, and the
// CPU-vs-GPU tests hold fp32 tolerances; this is what torch does with allow_tf32=False.)
// Backward passes use beta = 1 so cuDNN accumulates into the gradient buffers.
#if DR_CUDA
#include <cstdio>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cuda_check.h"

namespace dr::kern {

namespace {

// Workspace cap for an algorithm choice: the fastest algorithms rarely need more, and a
// detector runs many shapes.
constexpr size_t kMaxWorkspace = size_t(1) << 30;

struct Descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  explicit Descs(const ConvGeom& g) {
    try {
      CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
      CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
      CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
      CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
      CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(g.N),
                                             int(g.C), int(g.H), int(g.W)));
      CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(g.N),
                                             int(g.O), int(g.OH), int(g.OW)));
      CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(g.O),
                                             int(g.Cg()), int(g.KH), int(g.KW)));
      CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, g.ph, g.pw, g.sh, g.sw, g.dh, g.dw,
                                                  CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
      CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, g.groups));
      CUDNN_CHECK(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH));
    } catch (...) {
      release();
      throw;
    }
  }
  ~Descs() { release(); }
  Descs(const Descs&) = delete;
  Descs& operator=(const Descs&) = delete;

 private:
  void release() {
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (x) cudnnDestroyTensorDescriptor(x);
    conv = nullptr, w = nullptr, y = nullptr, x = nullptr;
  }
};

// From cuDNN's ranked heuristic list, the best algorithm that succeeded and fits the
// workspace cap, preferring (in this order) FMA math, then determinism (training runs that
// repeat bit for bit). With an FMA descriptor cuDNN reports fp32 algorithms as FMA (torch
// asserts exactly this when TF32 is off); DEFAULT-math entries are a fallback that still
// runs under the FMA descriptor; tensor-op entries are never taken.
template <class Perf> const Perf* pick(const std::vector<Perf>& perf, int n) {
  const Perf* best = nullptr;
  int best_score = -1;
  for (int i = 0; i < n; ++i) {
    const Perf& p = perf[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kMaxWorkspace) continue;
    if (p.mathType != CUDNN_FMA_MATH && p.mathType != CUDNN_DEFAULT_MATH) continue;
    int score = 2 * (p.mathType == CUDNN_FMA_MATH) + (p.determinism == CUDNN_DETERMINISTIC);
    if (score > best_score) best = &p, best_score = score;  // ties keep cuDNN's ranking
  }
  return best;
}

CudnnConvAlgos& algos_for(const CudnnEnv& env, const ConvGeom& g) {
  return env.cache->algos[CudnnConvCache::key(g)];
}

const char* geom_str(const ConvGeom& g, char* buf, size_t n) {
  snprintf(buf, n, "x (%ld,%ld,%ld,%ld), w (%ld,%ld,%ld,%ld), groups %d", long(g.N), long(g.C),
           long(g.H), long(g.W), long(g.O), long(g.Cg()), long(g.KH), long(g.KW), g.groups);
  return buf;
}

}  // namespace

void conv2d_forward_cudnn(const CudnnEnv& env, float* y, const float* x, const float* w,
                          const ConvGeom& g) {
  Descs d(g);
  CudnnConvAlgos& a = algos_for(env, g);
  if (!a.have_fwd) {
    int max_n = 0, n = 0;
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(env.handle, &max_n));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(max_n);
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(env.handle, d.x, d.w, d.conv, d.y, max_n, &n,
                                                       perf.data()));
    const auto* p = pick(perf, n);
    char buf[160];
    DR_CHECK(p, "conv2d (cuDNN): no usable forward algorithm for " << geom_str(g, buf, sizeof buf));
    a.fwd = p->algo;
    CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(env.handle, d.x, d.w, d.conv, d.y, a.fwd,
                                                        &a.fwd_ws));
    a.have_fwd = true;
  }
  void* ws = env.workspace(a.fwd_ws);
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnConvolutionForward(env.handle, &one, d.x, x, d.w, w, d.conv, a.fwd, ws, a.fwd_ws,
                                      &zero, d.y, y));
}

void conv2d_backward_data_cudnn(const CudnnEnv& env, float* dx, const float* dy, const float* w,
                                const ConvGeom& g) {
  Descs d(g);
  CudnnConvAlgos& a = algos_for(env, g);
  if (!a.have_bwd_data) {
    int max_n = 0, n = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(env.handle, &max_n));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(max_n);
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(env.handle, d.w, d.y, d.conv, d.x,
                                                            max_n, &n, perf.data()));
    const auto* p = pick(perf, n);
    char buf[160];
    DR_CHECK(p, "conv2d (cuDNN): no usable backward-data algorithm for "
                    << geom_str(g, buf, sizeof buf));
    a.bwd_data = p->algo;
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(env.handle, d.w, d.y, d.conv, d.x,
                                                             a.bwd_data, &a.bwd_data_ws));
    a.have_bwd_data = true;
  }
  void* ws = env.workspace(a.bwd_data_ws);
  const float one = 1.0f;
  CUDNN_CHECK(cudnnConvolutionBackwardData(env.handle, &one, d.w, w, d.y, dy, d.conv, a.bwd_data,
                                           ws, a.bwd_data_ws, &one, d.x, dx));
}

void conv2d_backward_filter_cudnn(const CudnnEnv& env, float* dw, const float* dy, const float* x,
                                  const ConvGeom& g) {
  Descs d(g);
  CudnnConvAlgos& a = algos_for(env, g);
  if (!a.have_bwd_filter) {
    int max_n = 0, n = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(env.handle, &max_n));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(max_n);
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(env.handle, d.x, d.y, d.conv, d.w,
                                                              max_n, &n, perf.data()));
    const auto* p = pick(perf, n);
    char buf[160];
    DR_CHECK(p, "conv2d (cuDNN): no usable backward-filter algorithm for "
                    << geom_str(g, buf, sizeof buf));
    a.bwd_filter = p->algo;
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(env.handle, d.x, d.y, d.conv, d.w,
                                                               a.bwd_filter, &a.bwd_filter_ws));
    a.have_bwd_filter = true;
  }
  void* ws = env.workspace(a.bwd_filter_ws);
  const float one = 1.0f;
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(env.handle, &one, d.x, x, d.y, dy, d.conv,
                                             a.bwd_filter, ws, a.bwd_filter_ws, &one, d.w, dw));
}

}  // namespace dr::kern
#endif
