// Launchers for the Faster R-CNN losses (math in kernels/loss.cuh). Argument order: outputs,
// upstream gradient, inputs, sizes. *_forward overwrite out[0]; *_backward ADD (+=) into dx.
//
// Sums are deterministic: the CPU adds terms in index order in double; CUDA uses one block
// of a fixed size whose threads each add a fixed strided share in double, followed by a
// fixed shared-memory tree (no atomics), so identical inputs give identical bits on every
// run. One block suffices: a loss has at most a few thousand terms (sampled anchors/RoIs).
// The result is sum / divisor rounded to T; divisor 0 (an empty mean) gives NaN as torch.
//
// gout points at the upstream gradient, a single element in the same memory as the
// inputs (on CUDA it is read on the device: no host synchronization).
//
// Indices (labels, rows, classes) must be in range; the CPU ops check them before calling
// these loops. The CUDA kernels cannot throw: an out-of-range index makes the forward
// result NaN (which the training loop's finite check reports) and contributes no gradient.
#pragma once
#include <cstdint>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

// out[0] = sum_i bce_logits_term(x[i], t[i]) / n
template <class T> void bce_logits_forward_cpu(T* out, const T* x, const T* t, int64_t n);
// dx[i] += bce_logits_grad(x[i], t[i], gout[0], n)
template <class T>
void bce_logits_backward_cpu(T* dx, const T* gout, const T* x, const T* t, int64_t n);

// out[0] = sum_i smooth_l1_term(x[i], y[i], beta) / divisor
template <class T>
void smooth_l1_forward_cpu(T* out, const T* x, const T* y, int64_t n, T beta, double divisor);
// dx[i] += smooth_l1_grad(x[i], y[i], beta, gout[0] / divisor)
template <class T>
void smooth_l1_backward_cpu(T* dx, const T* gout, const T* x, const T* y, int64_t n, T beta,
                            T divisor);

// x (K, C), labels (K) in [0, C): out[0] = sum_k cross_entropy_row(x[k], C, labels[k]) / K
template <class T>
void cross_entropy_forward_cpu(T* out, const T* x, const int64_t* labels, int64_t k, int64_t c);
// dx (K, C) += per-row gradient of the mean
template <class T>
void cross_entropy_backward_cpu(T* dx, const T* gout, const T* x, const int64_t* labels,
                                int64_t k, int64_t c);

// out (P, 4) <- x (K, C*4) at (rows[p], class classes[p])
template <class T>
void gather_class_boxes_cpu(T* out, const T* x, const int64_t* rows, const int64_t* classes,
                            int64_t p, int64_t k, int64_t c);
// dx (K, C*4) += dy (P, 4) scattered back; duplicate (row, class) pairs add up.
template <class T>
void gather_class_boxes_backward_cpu(T* dx, const T* dy, const int64_t* rows,
                                     const int64_t* classes, int64_t p, int64_t k, int64_t c);

#if DR_CUDA
void bce_logits_forward_cuda(float* out, const float* x, const float* t, int64_t n,
                             cudaStream_t s);
void bce_logits_backward_cuda(float* dx, const float* gout, const float* x, const float* t,
                              int64_t n, cudaStream_t s);
void smooth_l1_forward_cuda(float* out, const float* x, const float* y, int64_t n, float beta,
                            double divisor, cudaStream_t s);
void smooth_l1_backward_cuda(float* dx, const float* gout, const float* x, const float* y,
                             int64_t n, float beta, float divisor, cudaStream_t s);
void cross_entropy_forward_cuda(float* out, const float* x, const int64_t* labels, int64_t k,
                                int64_t c, cudaStream_t s);
void cross_entropy_backward_cuda(float* dx, const float* gout, const float* x,
                                 const int64_t* labels, int64_t k, int64_t c, cudaStream_t s);
void gather_class_boxes_cuda(float* out, const float* x, const int64_t* rows,
                             const int64_t* classes, int64_t p, int64_t k, int64_t c,
                             cudaStream_t s);
// With unique (row, class) pairs (torchvision's use) each gradient element receives one
// addition and the result is deterministic; duplicates are added with atomicAdd (correct
// sum, but the order of the additions, hence the last bits, may vary between runs).
void gather_class_boxes_backward_cuda(float* dx, const float* dy, const int64_t* rows,
                                      const int64_t* classes, int64_t p, int64_t k, int64_t c,
                                      cudaStream_t s);
#endif

}  // namespace dr::kern
