// FPN forward: top-down pathway with nearest upsampling to each lateral's size
// (F.interpolate(mode="nearest", size=...)), then the 3x3 output conv per level.
#include "nn/fpn.h"

#include "nn/init.h"

namespace dr {

// Conv2dNormActivation(in, out, k, norm_layer, activation_layer=None) with the FPN's
// own init: kaiming_uniform_(a=1) weights, zero biases (FeaturePyramidNetwork.__init__).
static void add_block(Context& ctx, ModuleList& list, int64_t in, int64_t out, int kernel,
                      bool norm) {
  ConvNormActOptions o;
  o.in_channels = in;
  o.out_channels = out;
  o.kernel = kernel;
  o.norm = norm ? NormKind::BatchNorm : NormKind::None;
  o.relu = false;
  auto& block = list.emplace<Conv2dNormActivation>(ctx, o);
  init::kaiming_uniform(ctx, block.conv->weight, 1.0);
  if (block.conv->bias.defined()) init::constant(ctx, block.conv->bias, 0.0);
}

FeaturePyramidNetwork::FeaturePyramidNetwork(Context& ctx, const std::vector<int64_t>& in,
                                             int64_t out, bool norm)
    : out_channels(out) {
  for (int64_t c : in) {
    DR_CHECK(c > 0, "FeaturePyramidNetwork: in_channels=" << c << " is not supported");
    add_block(ctx, inner_blocks, c, out, 1, norm);
    add_block(ctx, layer_blocks, out, out, 3, norm);
  }
  register_module("inner_blocks", inner_blocks);
  register_module("layer_blocks", layer_blocks);
}

FeatureMaps FeaturePyramidNetwork::forward(Context& ctx, const std::vector<Tensor>& x) {
  const size_t n = inner_blocks.size();
  DR_CHECK(x.size() == n, "FeaturePyramidNetwork: expected " << n << " feature maps, got "
                                                             << x.size());
  std::vector<Tensor> results(n);
  Tensor last_inner = inner_blocks.get<Conv2dNormActivation>(n - 1).forward(ctx, x[n - 1]);
  results[n - 1] = layer_blocks.get<Conv2dNormActivation>(n - 1).forward(ctx, last_inner);
  for (size_t k = n - 1; k-- > 0;) {
    Tensor lateral = inner_blocks.get<Conv2dNormActivation>(k).forward(ctx, x[k]);  // (N, out, H_k, W_k)
    Tensor top_down = upsample_nearest(ctx, last_inner, lateral.size(2), lateral.size(3));
    last_inner = add(ctx, lateral, top_down);
    results[k] = layer_blocks.get<Conv2dNormActivation>(k).forward(ctx, last_inner);
  }
  FeatureMaps out;
  for (size_t k = 0; k < n; ++k) out.emplace_back(std::to_string(k), results[k]);
  // LastLevelMaxPool: F.max_pool2d(P5, kernel_size=1, stride=2, padding=0).
  out.emplace_back("pool", max_pool2d(ctx, results[n - 1], 1, 2, 0));
  return out;
}

}  // namespace dr
