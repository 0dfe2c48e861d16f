// oneDNN conv2d on the CPU, f32 (the default f32 CPU path when built with DR_DNNL=1; f64 and
// the forced fallback run im2col + BLAS, kernels/conv2d_cpu.cpp). oneDNN's convolution
// primitives run on our OpenMP threads (Debian's libdnnl uses the OpenMP runtime), so no
// second thread pool competes with OpenMP the way OpenBLAS's pthreads do.
//
// Per geometry (and per direction, created on first use) the cache keeps the primitive, its
// primitive descriptor, the reorders between our plain NCHW / OIHW tensors and the layouts
// the primitive chose, and the sizes of the buffers they need. The buffers themselves (the
// scratchpad, in user mode, and the reordered operands) are per-cache slots that grow to the
// largest geometry and are reused, as CpuConvScratch does for im2col.
//
// Layouts and algorithms are chosen per geometry from measurements (blocked(), winograd()
// below): blocked layouts (nChw16c ...) with reorders for spatial kernels, Winograd for the
// large 3x3 stride-1 convs, plain NCHW (oneDNN's GEMM convs) for 1x1 and few-output convs.
// The forward's epilogue (bias, a residual add, ReLU: conv2d_fused) runs inside the
// primitive where oneDNN does that well (make_forward).
//
// Backward passes accumulate (dx += ..., dw += ...): the primitive writes the gradient into
// a slot and a reorder with a sum post-op adds it into ours, converting the layout on the way
// when the primitive's differs. A caller whose gradient buffer is fresh (all zeros) may ask
// for an overwrite instead, which saves that pass when the layout is plain.
#if DR_DNNL
#include <cstdlib>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <unordered_map>

#include "kernels/conv2d.h"
#include "kernels/elementwise.cuh"
#include "kernels/error.h"

namespace dr::kern {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// Our tensors: x / dy (N, C, H, W) nchw; w (O, C/groups, KH, KW) oihw, seen by oneDNN as
// (groups, O/groups, C/groups, KH, KW) goihw when grouped (the same bytes).
memory::desc plain_src(const ConvGeom& g) {
  return {{g.N, g.C, g.H, g.W}, memory::data_type::f32, Tag::nchw};
}
memory::desc plain_dst(const ConvGeom& g) {
  return {{g.N, g.O, g.OH, g.OW}, memory::data_type::f32, Tag::nchw};
}
memory::dims weight_dims(const ConvGeom& g) {
  if (g.groups == 1) return {g.O, g.C, g.KH, g.KW};
  return {g.groups, g.Og(), g.Cg(), g.KH, g.KW};
}
memory::desc plain_weights(const ConvGeom& g) {
  return {weight_dims(g), memory::data_type::f32, g.groups == 1 ? Tag::oihw : Tag::goihw};
}
memory::desc any(const memory::dims& d) { return {d, memory::data_type::f32, Tag::any}; }

// torch pads both sides by `pad`; oneDNN wants the right/bottom padding that makes
// (in + pl + pr - ((k - 1) * d + 1)) / s + 1 equal the output size, which pad does
// (the division floors in both).
struct Spatial {
  memory::dims strides, dilates, pad_l, pad_r;
};
Spatial spatial(const ConvGeom& g) {
  return {{g.sh, g.sw}, {g.dh - 1, g.dw - 1}, {g.ph, g.pw}, {g.ph, g.pw}};
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

// One operand of a primitive: our plain layout and the primitive's.
struct Operand {
  memory::desc user, prim;
  dnnl::reorder convert;  // inputs: user -> prim; the output: prim -> user (+= when accumulating)
  dnnl::reorder prefill;  // the output with a sum post-op: a residual (user layout) -> prim
  bool reordered = false;

  void as_input(const dnnl::engine& eng, const memory::desc& u, const memory::desc& p) {
    user = u, prim = p, reordered = u != p;
    if (reordered) convert = dnnl::reorder(dnnl::reorder::primitive_desc(eng, u, eng, p));
  }
  // accumulate: the result is added into ours (always through a slot and a reorder).
  void as_output(const dnnl::engine& eng, const memory::desc& u, const memory::desc& p,
                 bool accumulate) {
    user = u, prim = p, reordered = accumulate || u != p;
    if (!reordered) return;
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops po;
      po.append_sum(1.0f);
      attr.set_post_ops(po);
    }
    convert = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p, eng, u, attr));
  }
  // The primitive adds its result to what the output holds (a sum post-op): the residual
  // is copied there first, converted to the primitive's layout.
  void with_prefill(const dnnl::engine& eng) {
    prefill = dnnl::reorder(dnnl::reorder::primitive_desc(eng, user, eng, prim));
  }
};

// A primitive with its three tensor operands (src / weights / dst in forward; diff_dst /
// weights / diff_src in backward data; src / diff_dst / diff_weights in backward weights),
// the oneDNN argument ids they bind to, and its scratchpad size.
struct Step {
  dnnl::primitive prim;
  Operand in0, in1, out;
  int arg_in0 = 0, arg_in1 = 0, arg_out = 0;
  size_t scratch_bytes = 0;
  std::string impl;  // oneDNN's implementation name, for benchmarks and debugging
  // Forward: the residual add / ReLU run after the primitive as one loop of ours
  // (apply_epilogue) instead of as post-ops.
  bool own_residual = false, own_relu = false;
};

// y = relu?(y + residual), one pass (the epilogue of a plain-layout conv).
void apply_epilogue(float* y, const float* residual, bool relu, int64_t n) {
  if (residual && relu) {
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) y[i] = relu_fwd(y[i] + residual[i]);
  } else if (residual) {
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) y[i] += residual[i];
  } else if (relu) {
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) y[i] = relu_fwd(y[i]);
  }
}

struct Entry {
  dnnl::algorithm algo = dnnl::algorithm::convolution_direct;
  std::unique_ptr<dnnl::convolution_forward::primitive_desc> hint;  // for the backward pds
  // Forward steps by epilogue (kBias | kResidual | kRelu); backward steps by accumulate (1)
  // or overwrite (0).
  std::unique_ptr<Step> fwd[8], bwd_data[2], bwd_weights[2];
};

enum Epilogue { kBias = 1, kResidual = 2, kRelu = 4 };

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int,
                       int, int, int, int, int>;
Key key(const ConvGeom& g) {
  return Key{g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups};
}

// 64-byte aligned, grow-only buffer.
struct Slot {
  std::unique_ptr<void, void (*)(void*)> p{nullptr, std::free};
  size_t bytes = 0;
  void* get(size_t n) {
    if (n > bytes) {
      p.reset();
      void* q = std::aligned_alloc(64, (n + 63) / 64 * 64);
      DR_CHECK(q, "conv2d (oneDNN): cannot allocate " << n << " bytes of scratch");
      p.reset(q);
      bytes = n;
    }
    return p.get();
  }
};

}  // namespace

struct DnnlConv::Impl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::map<Key, Entry> entries;
  Slot scratchpad, in0, in1, out;
  Slot ddst;  // dy in the backward primitives' layout, shared by both (backward())
  Layout layout = Layout::kAuto;
  bool allow_winograd = true;

  bool blocked(const ConvGeom& g) const;
  bool winograd(const ConvGeom& g) const;
  // The operands' descriptors the primitives are created with: plain, or `any` (oneDNN
  // picks its layout).
  memory::desc src_md(const ConvGeom& g) const {
    return blocked(g) ? any({g.N, g.C, g.H, g.W}) : plain_src(g);
  }
  memory::desc weights_md(const ConvGeom& g) const {
    return blocked(g) ? any(weight_dims(g)) : plain_weights(g);
  }
  memory::desc dst_md(const ConvGeom& g) const {
    return blocked(g) ? any({g.N, g.O, g.OH, g.OW}) : plain_dst(g);
  }
  Entry& entry(const ConvGeom& g);
  std::unique_ptr<Step> make_forward(const Entry& e, const ConvGeom& g, int epilogue);
  std::unique_ptr<Step> make_backward_data(const Entry& e, const ConvGeom& g, bool accumulate);
  std::unique_ptr<Step> make_backward_weights(const Entry& e, const ConvGeom& g, bool accumulate);
  // An input in the primitive's layout: ours as is, or converted into `slot`.
  memory input(const Operand& op, const void* p, Slot& slot);
  void run(const Step& s, const memory& in0, const memory& in1, void* out, const float* bias,
           const float* residual);
  void run(const Step& s, const void* a, const void* b, void* out, const float* bias,
           const float* residual) {
    run(s, input(s.in0, a, in0), input(s.in1, b, in1), out, bias, residual);
  }
  memory wrap(const memory::desc& md, const void* p) const {
    return memory(md, eng, const_cast<void*>(p));
  }
};

// Measured per layer kind of the detectors (single-threaded CPU time of forward, backward
// data and backward weights, reorders included; 2026-11-28, AVX-512 Xeon): the blocked
// layouts (jit:avx512_core) beat the plain ones (gemm:jit, oneDNN's own im2col + GEMM) by
// 1.2-1.9x on every 3x3 / 7x7 conv with 16+ output channels (FPN 3x3 256 at 56x128:
// 113/112/130 ms against 141/164/146; v2 box head on 256 RoIs: 92/97/108 against
// 128/186/130; ResNeXt 3x3 groups 32: 3.2/2.7/2.8 against 7.3/9.7/8.3), while 1x1 convs are
// GEMMs already and lose the reorders of their large activations (1024->256 at 14x32:
// 3.6/3.5/4.1 blocked, 2.7/4.0/3.1 plain), and a conv with a few outputs (RPN logits, 3 or
// 12 channels) wastes most of a 16-channel block (3.2/4.9/3.7 against 0.7/4.1/0.6).
bool DnnlConv::Impl::blocked(const ConvGeom& g) const {
  if (layout != Layout::kAuto) return layout == Layout::kBlocked;
  return (g.KH > 1 || g.KW > 1) && g.O >= 16;
}

// Winograd F(4x4, 3x3) (jit_wino_4x3) does a 3x3 stride-1 conv with ~2.25x fewer
// multiplications, at the cost of transforms per 4x4 output tile and per call of the
// weights. Measured as above against the blocked direct conv: about 2x faster on the
// detectors' big 3x3 convs (FPN 3x3 256 at 56x128: 52/57/56 ms against 102/107/120; v2 box
// head on 256 RoIs: 67/62/57 against 96/93/105; ResNet layer1/2 3x3: 4.2/4.1/4.3 against
// 7.8/7.9/9.3), even at 64 tiles with 256 channels (FPN 14x32, 2 images: 5.6/5.2/4.2
// against 6.6/6.9/7.2), slower on fewer tiles (FPN 7x16 and 4x8, one 14x32 image) and on
// every 512-channel conv (layer4 3x3 at 7x16 and 14x16, 2 and 4 images: ~1.2x slower).
// Its rounding differs from a direct conv's by a few ulps more: with Winograd on every
// blocked 3x3, the backbones' outputs against torchvision's f32 went from ~1e-6 to ~3e-6 of
// their scale (tests/test_backbone_parity.cpp); tests/test_conv_dnnl.cpp bounds it against
// the f64 truth. CpuConvImpl::kOneDnnDirect (set_winograd(false)) turns it off.
bool DnnlConv::Impl::winograd(const ConvGeom& g) const {
  const int64_t tiles = g.N * ((g.OH + 3) / 4) * ((g.OW + 3) / 4);
  return allow_winograd && blocked(g) && g.KH == 3 && g.KW == 3 && g.sh == 1 && g.sw == 1 &&
         g.dh == 1 && g.dw == 1 && g.groups == 1 && g.C % 16 == 0 && g.O % 16 == 0 &&
         g.C <= 256 && tiles >= 64;
}

// The entry of a geometry, with its algorithm and the forward primitive descriptor the
// backward ones take as their hint. Winograd is taken only when oneDNN has it for the shape.
Entry& DnnlConv::Impl::entry(const ConvGeom& g) {
  Entry& e = entries[key(g)];
  if (e.hint) return e;
  const Spatial s = spatial(g);
  auto make = [&](dnnl::algorithm algo) {
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, algo, src_md(g),
                                      weights_md(g), dst_md(g), s.strides, s.dilates, s.pad_l,
                                      s.pad_r);
    e.hint =
        std::make_unique<dnnl::convolution_forward::primitive_desc>(d, user_scratchpad(), eng);
    e.algo = algo;
  };
  if (winograd(g)) {
    try {
      make(dnnl::algorithm::convolution_winograd);
      return e;
    } catch (const dnnl::error&) {  // not implemented for this shape: the direct conv
    }
  }
  make(dnnl::algorithm::convolution_direct);
  return e;
}

// The bias is the primitive's. On blocked layouts the residual add (a sum post-op on the
// prefilled output) and the ReLU (an eltwise post-op) run on each output block while it is
// in registers or cache (FPN-like 3x3 at 14x32, 4 images, single thread: 7.0 ms plain,
// 7.7 ms with both). oneDNN's GEMM-based convs (plain layouts) apply post-ops in a slow
// separate path (1x1 64->256 at 56x128: 12.5 ms plain, 41.5 with the ReLU, 107 with both),
// so there they are one loop of ours after the primitive.
std::unique_ptr<Step> DnnlConv::Impl::make_forward(const Entry& e, const ConvGeom& g,
                                                   int epilogue) {
  const Spatial s = spatial(g);
  const memory::desc b = (epilogue & kBias)
                             ? memory::desc({g.O}, memory::data_type::f32, Tag::a)
                             : memory::desc();
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, e.algo, src_md(g),
                                    weights_md(g), b, dst_md(g), s.strides, s.dilates, s.pad_l,
                                    s.pad_r);
  dnnl::primitive_attr attr = user_scratchpad();
  dnnl::post_ops po;
  const bool own = !blocked(g);
  if ((epilogue & kResidual) && !own) po.append_sum(1.0f);
  if ((epilogue & kRelu) && !own)
    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(po);
  dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
  auto st = std::make_unique<Step>();
  st->prim = dnnl::convolution_forward(pd);
  st->in0.as_input(eng, plain_src(g), pd.src_desc());
  st->in1.as_input(eng, plain_weights(g), pd.weights_desc());
  st->out.as_output(eng, plain_dst(g), pd.dst_desc(), false);
  if ((epilogue & kResidual) && !own) st->out.with_prefill(eng);
  st->own_residual = own && (epilogue & kResidual);
  st->own_relu = own && (epilogue & kRelu);
  st->arg_in0 = DNNL_ARG_SRC, st->arg_in1 = DNNL_ARG_WEIGHTS, st->arg_out = DNNL_ARG_DST;
  st->scratch_bytes = pd.scratchpad_desc().get_size();
  st->impl = pd.impl_info_str();
  return st;
}

std::unique_ptr<Step> DnnlConv::Impl::make_backward_data(const Entry& e, const ConvGeom& g,
                                                          bool accumulate) {
  const Spatial s = spatial(g);
  dnnl::convolution_backward_data::desc d(e.algo, src_md(g), weights_md(g), dst_md(g), s.strides,
                                          s.dilates, s.pad_l, s.pad_r);
  dnnl::convolution_backward_data::primitive_desc pd(d, user_scratchpad(), eng, *e.hint);
  auto st = std::make_unique<Step>();
  st->prim = dnnl::convolution_backward_data(pd);
  st->in0.as_input(eng, plain_dst(g), pd.diff_dst_desc());
  st->in1.as_input(eng, plain_weights(g), pd.weights_desc());
  st->out.as_output(eng, plain_src(g), pd.diff_src_desc(), accumulate);
  st->arg_in0 = DNNL_ARG_DIFF_DST, st->arg_in1 = DNNL_ARG_WEIGHTS;
  st->arg_out = DNNL_ARG_DIFF_SRC;
  st->scratch_bytes = pd.scratchpad_desc().get_size();
  st->impl = pd.impl_info_str();
  return st;
}

std::unique_ptr<Step> DnnlConv::Impl::make_backward_weights(const Entry& e, const ConvGeom& g,
                                                             bool accumulate) {
  const Spatial s = spatial(g);
  dnnl::convolution_backward_weights::desc d(e.algo, src_md(g), weights_md(g), dst_md(g),
                                             s.strides, s.dilates, s.pad_l, s.pad_r);
  dnnl::convolution_backward_weights::primitive_desc pd(d, user_scratchpad(), eng, *e.hint);
  auto st = std::make_unique<Step>();
  st->prim = dnnl::convolution_backward_weights(pd);
  st->in0.as_input(eng, plain_src(g), pd.src_desc());
  st->in1.as_input(eng, plain_dst(g), pd.diff_dst_desc());
  st->out.as_output(eng, plain_weights(g), pd.diff_weights_desc(), accumulate);
  st->arg_in0 = DNNL_ARG_SRC, st->arg_in1 = DNNL_ARG_DIFF_DST;
  st->arg_out = DNNL_ARG_DIFF_WEIGHTS;
  st->scratch_bytes = pd.scratchpad_desc().get_size();
  st->impl = pd.impl_info_str();
  return st;
}

memory DnnlConv::Impl::input(const Operand& op, const void* p, Slot& slot) {
  memory user = wrap(op.user, p);
  if (!op.reordered) return user;
  memory m = wrap(op.prim, slot.get(op.prim.get_size()));
  op.convert.execute(strm, user, m);
  return m;
}

void DnnlConv::Impl::run(const Step& s, const memory& a, const memory& b, void* out,
                         const float* bias, const float* residual) {
  std::unordered_map<int, memory> args;
  args[s.arg_in0] = a;
  args[s.arg_in1] = b;
  memory user_out = wrap(s.out.user, out);
  memory prim_out =
      s.out.reordered ? wrap(s.out.prim, this->out.get(s.out.prim.get_size())) : user_out;
  args[s.arg_out] = prim_out;
  if (residual && !s.own_residual) {
    memory r = wrap(s.out.user, residual);
    s.out.prefill.execute(strm, r, prim_out);
  }
  if (bias)
    args[DNNL_ARG_BIAS] =
        wrap(memory::desc({s.out.user.dims()[1]}, memory::data_type::f32, Tag::a), bias);
  if (s.scratch_bytes)
    args[DNNL_ARG_SCRATCHPAD] =
        wrap(memory::desc({memory::dim(s.scratch_bytes)}, memory::data_type::u8, Tag::a),
             scratchpad.get(s.scratch_bytes));
  s.prim.execute(strm, args);
  if (s.out.reordered) s.out.convert.execute(strm, prim_out, user_out);
  strm.wait();
  if (s.own_residual || s.own_relu)
    apply_epilogue(static_cast<float*>(out), s.own_residual ? residual : nullptr, s.own_relu,
                   int64_t(s.out.user.get_size() / sizeof(float)));
}

DnnlConv::DnnlConv() : impl_(std::make_unique<Impl>()) {}
DnnlConv::~DnnlConv() = default;

void DnnlConv::set_layout(Layout l) {
  if (l != impl_->layout) impl_->entries.clear();
  impl_->layout = l;
}

void DnnlConv::set_winograd(bool allow) {
  if (allow != impl_->allow_winograd) impl_->entries.clear();
  impl_->allow_winograd = allow;
}

// oneDNN reports failures as dnnl::error; ours are dr::Error naming the op and shapes.
template <class F> void guarded(const char* what, const ConvGeom& g, F&& body) {
  try {
    body();
  } catch (const dnnl::error& e) {
    DR_FAIL("conv2d (oneDNN " << what << "): " << e.what() << " (status " << int(e.status)
                              << ") for x (" << g.N << "," << g.C << "," << g.H << "," << g.W
                              << "), w (" << g.O << "," << g.Cg() << "," << g.KH << "," << g.KW
                              << "), stride (" << g.sh << "," << g.sw << "), padding (" << g.ph
                              << "," << g.pw << "), dilation (" << g.dh << "," << g.dw
                              << "), groups " << g.groups);
  }
}

void DnnlConv::forward(float* y, const float* x, const float* w, const float* b,
                       const ConvGeom& g, const float* residual, bool relu) {
  guarded("forward", g, [&] {
    Entry& e = impl_->entry(g);
    const int epilogue = (b ? kBias : 0) | (residual ? kResidual : 0) | (relu ? kRelu : 0);
    std::unique_ptr<Step>& s = e.fwd[epilogue];
    if (!s) s = impl_->make_forward(e, g, epilogue);
    impl_->run(*s, x, w, y, b, residual);
  });
}

// Both gradients convert dy to the same blocked layout: it is converted once (ddst) and
// given to both primitives.
void DnnlConv::backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                        const ConvGeom& g, bool accumulate_dx, bool accumulate_dw) {
  if (!dx && !dw) return;
  guarded("backward", g, [&] {
    Impl& im = *impl_;
    Entry& e = im.entry(g);
    const Step* sd = nullptr;
    const Step* sw = nullptr;
    if (dx) {
      std::unique_ptr<Step>& s = e.bwd_data[accumulate_dx];
      if (!s) s = im.make_backward_data(e, g, accumulate_dx);
      sd = s.get();
    }
    if (dw) {
      std::unique_ptr<Step>& s = e.bwd_weights[accumulate_dw];
      if (!s) s = im.make_backward_weights(e, g, accumulate_dw);
      sw = s.get();
    }
    memory ddst_d;
    if (sd) {
      ddst_d = im.input(sd->in0, dy, im.ddst);
      im.run(*sd, ddst_d, im.input(sd->in1, w, im.in1), dx, nullptr, nullptr);
    }
    if (sw) {
      const bool shared = sd && sd->in0.prim == sw->in1.prim;
      memory ddst_w = shared ? ddst_d : im.input(sw->in1, dy, im.ddst);
      im.run(*sw, im.input(sw->in0, x, im.in0), ddst_w, dw, nullptr, nullptr);
    }
  });
}

std::string DnnlConv::implementation(const ConvGeom& g, int direction) {
  std::string r;
  guarded("query", g, [&] {
    Entry& e = impl_->entry(g);
    if (direction == 0) {
      if (!e.fwd[0]) e.fwd[0] = impl_->make_forward(e, g, 0);
      r = e.fwd[0]->impl;
    } else if (direction == 1) {
      if (!e.bwd_data[1]) e.bwd_data[1] = impl_->make_backward_data(e, g, true);
      r = e.bwd_data[1]->impl;
    } else {
      if (!e.bwd_weights[1]) e.bwd_weights[1] = impl_->make_backward_weights(e, g, true);
      r = e.bwd_weights[1]->impl;
    }
  });
  return r;
}

}  // namespace dr::kern
#endif
