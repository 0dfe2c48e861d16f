// Per-element math of the detection glue: laying out head outputs per anchor, gathering
// selected rows, and the score functions (sigmoid for RPN objectness, softmax for class
// logits) exactly as torch computes them.
#pragma once
#include <cmath>

#include "kernels/hd.cuh"

namespace dr::kern {

// torchvision rpn.permute_and_flatten: x (N, A*C, H, W) viewed (N, A, C, H, W), permuted
// to (N, H, W, A, C) and flattened to (N, H*W*A, C). For output element o, the input index
// (a bijection, so backward dx[src(o)] += dy[o] needs no atomics).
HD int64_t permute_flatten_src(int64_t o, int64_t a, int64_t c, int64_t h, int64_t w) {
  int64_t ci = o % c;
  int64_t r = o / c;
  int64_t ai = r % a;
  r /= a;
  int64_t xi = r % w;
  r /= w;
  int64_t yi = r % h;
  int64_t n = r / h;
  return (((n * a + ai) * c + ci) * h + yi) * w + xi;
}

// gather_rows: output element o of out (B, K, D) (o = (bi * K + ki) * D + j) reads
// x (B, R, D) at row idx[bi * K + ki] of batch entry bi. Backward scatter-adds the other
// way, dx[gather_rows_src(o)] += dy[o] (a row picked twice gets both gradients).
HD int64_t gather_rows_src(int64_t o, const int64_t* idx, int64_t r, int64_t k, int64_t d) {
  const int64_t j = o % d, row = o / d;  // row = bi * k + ki
  const int64_t bi = row / k;
  return (bi * r + idx[row]) * d + j;
}

// exp in the argument's own precision on host and device (a bare exp(float) on the host
// would silently compute in double and differ from torch's float sigmoid).
HD float exp_same(float x) { return expf(x); }
HD double exp_same(double x) { return exp(x); }

template <class T> HD T sigmoid_elem(T x) { return T(1) / (T(1) + exp_same(-x)); }

}  // namespace dr::kern
