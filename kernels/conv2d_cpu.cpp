// CPU conv2d: im2col + BLAS GEMM, per group.
//   forward     y_g (Og, P)   = w_g (Og, Kc) @ col_g (Kc, P)
//   grad weight dw_g (Og, Kc) += dy_g (Og, P) @ col_g^T
//   grad input  dcol (Kc, P)  = w_g^T @ dy_g, then col2im adds dcol into dx
// Small images (RoI heads: 7x7) are packed side by side into one column matrix
// (Kc, m*P) so that the GEMM is wide enough to be efficient; a 1x1 stride-1 conv of a
// large image uses the image itself as the column matrix; other convs of a large image
// go band by band of output rows in forward. OpenBLAS threads the GEMMs; im2col / col2im
// are parallelized over rows with OpenMP.
#include <algorithm>
#include <cstring>

#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "kernels/im2col.cuh"

namespace dr::kern {

namespace {

// Columns per GEMM worth packing images for, and the scratch cap (elements) that packing
// may use.
constexpr int64_t kTargetCols = 4096;
constexpr int64_t kMaxPackedElems = int64_t(16) << 20;
// Forward on a large image builds the column matrix one band of output rows at a time,
// small enough to stay in the last-level cache between im2col and the GEMM that reads it,
// and to keep the scratch small (a full 3x3x64 column matrix of a 800x1333 input's
// stride-4 features would be 150 MB). Measured single-threaded on 200x336x64 3x3 and the
// 800x1344 stem: unbanded was the slowest, 256K/1M/4M elements within noise of each other.
constexpr int64_t kBandElems = int64_t(1) << 20;

struct Plan {
  int64_t images = 1;   // images per GEMM (m)
  bool direct = false;  // x itself is the column matrix (pointwise conv, one image per GEMM)
  int64_t band = 0;     // output rows per column matrix (OH unless banded)
};

Plan make_plan(const ConvGeom& g, bool backward) {
  Plan p;
  const int64_t P = std::max<int64_t>(g.P(), 1);
  int64_t m = std::min<int64_t>(g.N, (kTargetCols + P - 1) / P);
  while (m > 1 && (g.Kc() + g.Og()) * m * P > kMaxPackedElems) --m;
  p.images = std::max<int64_t>(m, 1);
  p.direct = g.pointwise() && p.images == 1;
  p.band = g.OH;
  if (!backward && p.images == 1 && !p.direct)
    p.band = std::clamp<int64_t>(kBandElems / std::max<int64_t>(g.Kc() * g.OW, 1), 1, g.OH);
  return p;
}

// im2col of output rows [oh0, oh1) of m images (image i's group slice at x + i*xstride)
// into col (Kc, ld), image i at columns [i*cols, (i+1)*cols), cols = (oh1-oh0)*OW. Row-wise: valid
// output ranges are computed once per row so the inner loop is a copy (stride 1) or a strided
// gather, never per-element bounds math.
template <class T>
void im2col_images(T* col, int64_t ld, const T* x, int64_t xstride, int64_t m, const ConvGeom& g,
                   int64_t oh0, int64_t oh1) {
  const int64_t rows = g.Kc(), cols = (oh1 - oh0) * g.OW;
#pragma omp parallel for collapse(2) if (m * rows * cols > (1 << 15))
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t kw = r % g.KW, kh = (r / g.KW) % g.KH, c = r / (g.KW * g.KH);
      const T* xc = x + i * xstride + c * g.H * g.W;
      T* dst = col + r * ld + i * cols;
      int64_t lo, hi;
      conv_valid_range(kw, g.W, g.OW, g.sw, g.pw, g.dw, &lo, &hi);
      const int64_t shift = conv_in_coord(0, kw, g.sw, g.pw, g.dw);  // iw = ow*sw + shift
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        T* d = dst + (oh - oh0) * g.OW;
        const int64_t ih = conv_in_coord(oh, kh, g.sh, g.ph, g.dh);
        if (ih < 0 || ih >= g.H) {
          std::fill(d, d + g.OW, T(0));
          continue;
        }
        const T* src = xc + ih * g.W;
        std::fill(d, d + lo, T(0));
        if (g.sw == 1) {
          if (hi > lo) std::memcpy(d + lo, src + lo + shift, sizeof(T) * (hi - lo));
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) d[ow] = src[ow * g.sw + shift];
        }
        std::fill(d + hi, d + g.OW, T(0));
      }
    }
  }
}

// x (image i at x + i*xstride) += col2im(col): each input pixel gathers its taps.
template <class T>
void col2im_images(T* x, int64_t xstride, const T* col, int64_t ld, int64_t m, const ConvGeom& g) {
  const int64_t rows = g.Cg() * g.H;
#pragma omp parallel for collapse(2) if (m * rows * g.W * g.KH * g.KW > (1 << 15))
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t c = row / g.H, ih = row % g.H;
      T* xr = x + i * xstride + row * g.W;
      const T* ci = col + i * g.P();
      for (int64_t iw = 0; iw < g.W; ++iw) xr[iw] += col2im_value(ci, ld, g, c, ih, iw);
    }
  }
}

// Copies between the packed (Og, m*P) layout and the images' (Og, P) slices at
// img + i*istride (row stride P).
template <class T>
void unpack_rows(T* img, int64_t istride, const T* packed, int64_t m, int64_t rows, int64_t P) {
#pragma omp parallel for collapse(2) if (m * rows * P > (1 << 16))
  for (int64_t i = 0; i < m; ++i)
    for (int64_t o = 0; o < rows; ++o)
      std::memcpy(img + i * istride + o * P, packed + o * m * P + i * P, sizeof(T) * P);
}
template <class T>
void pack_rows(T* packed, const T* img, int64_t istride, int64_t m, int64_t rows, int64_t P) {
#pragma omp parallel for collapse(2) if (m * rows * P > (1 << 16))
  for (int64_t i = 0; i < m; ++i)
    for (int64_t o = 0; o < rows; ++o)
      std::memcpy(packed + o * m * P + i * P, img + i * istride + o * P, sizeof(T) * P);
}

}  // namespace

int64_t conv2d_cpu_scratch(const ConvGeom& g, bool backward) {
  Plan p = make_plan(g, backward);
  if (p.direct) return 0;
  int64_t cols = p.images * p.band * g.OW;
  return g.Kc() * cols + (p.images > 1 ? g.Og() * cols : 0);
}

template <class T> void im2col_cpu(T* col, int64_t ld, const T* x, const ConvGeom& g) {
  im2col_images(col, ld, x, 0, 1, g, 0, g.OH);
}
template <class T> void col2im_add_cpu(T* x, const T* col, int64_t ld, const ConvGeom& g) {
  col2im_images(x, 0, col, ld, 1, g);
}

template <class T>
void conv2d_forward_cpu(T* y, const T* x, const T* w, const ConvGeom& g, T* scratch) {
  const Plan plan = make_plan(g, false);
  const int64_t P = g.P(), HW = g.H * g.W, Kc = g.Kc(), Og = g.Og(), Cg = g.Cg();
  for (int64_t n0 = 0; n0 < g.N; n0 += plan.images) {
    const int64_t m = std::min(plan.images, g.N - n0), ld = m * P;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = x + (n0 * g.C + grp * Cg) * HW;
      const T* wg = w + grp * Og * Kc;
      T* yg = y + (n0 * g.O + grp * Og) * P;
      if (plan.direct) {
        gemm_cpu<T>(false, false, Og, P, Kc, T(1), wg, Kc, xg, P, T(0), yg, P);
      } else if (m == 1) {  // output rows [oh0, oh0+rows) are columns [oh0*OW, ...) of y_g
        for (int64_t oh0 = 0; oh0 < g.OH; oh0 += plan.band) {
          const int64_t rows = std::min(plan.band, g.OH - oh0), cols = rows * g.OW;
          im2col_images(scratch, cols, xg, 0, 1, g, oh0, oh0 + rows);
          gemm_cpu<T>(false, false, Og, cols, Kc, T(1), wg, Kc, scratch, cols, T(0),
                      yg + oh0 * g.OW, P);
        }
      } else {  // m images side by side, the (Og, m*P) result then goes to each image
        T* packed = scratch + Kc * ld;
        im2col_images(scratch, ld, xg, g.C * HW, m, g, 0, g.OH);
        gemm_cpu<T>(false, false, Og, ld, Kc, T(1), wg, Kc, scratch, ld, T(0), packed, ld);
        unpack_rows(yg, g.O * P, packed, m, Og, P);
      }
    }
  }
}

template <class T>
void conv2d_backward_cpu(T* dx, T* dw, const T* dy, const T* x, const T* w, const ConvGeom& g,
                         T* scratch) {
  if (!dx && !dw) return;
  const Plan plan = make_plan(g, true);
  const int64_t P = g.P(), HW = g.H * g.W, Kc = g.Kc(), Og = g.Og(), Cg = g.Cg();
  for (int64_t n0 = 0; n0 < g.N; n0 += plan.images) {
    const int64_t m = std::min(plan.images, g.N - n0), ld = m * P;
    T* col = scratch;
    T* packed = scratch + Kc * ld;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const int64_t xoff = (n0 * g.C + grp * Cg) * HW;
      const T* wg = w + grp * Og * Kc;
      // dy of this group as an (Og, ld) matrix.
      const T* dyg = dy + (n0 * g.O + grp * Og) * P;
      if (m > 1) {
        pack_rows(packed, dyg, g.O * P, m, Og, P);
        dyg = packed;
      }
      if (dw) {
        const T* B = x + xoff;
        if (!plan.direct) {
          im2col_images(col, ld, x + xoff, g.C * HW, m, g, 0, g.OH);
          B = col;
        }
        gemm_cpu<T>(false, true, Og, Kc, ld, T(1), dyg, ld, B, ld, T(1), dw + grp * Og * Kc, Kc);
      }
      if (dx) {
        if (plan.direct) {  // Kc == Cg: dx_g (Cg, P) += w_g^T @ dy_g
          gemm_cpu<T>(true, false, Cg, P, Og, T(1), wg, Kc, dyg, P, T(1), dx + xoff, P);
        } else {
          gemm_cpu<T>(true, false, Kc, ld, Og, T(1), wg, Kc, dyg, ld, T(0), col, ld);
          col2im_images(dx + xoff, g.C * HW, col, ld, m, g);
        }
      }
    }
  }
}

#define DR_INST(T)                                                                  \
  template void im2col_cpu<T>(T*, int64_t, const T*, const ConvGeom&);              \
  template void col2im_add_cpu<T>(T*, const T*, int64_t, const ConvGeom&);          \
  template void conv2d_forward_cpu<T>(T*, const T*, const T*, const ConvGeom&, T*); \
  template void conv2d_backward_cpu<T>(T*, T*, const T*, const T*, const T*, const ConvGeom&, T*);
DR_INST(float)
DR_INST(double)
#undef DR_INST

}  // namespace dr::kern
