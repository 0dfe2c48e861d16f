#include "detector/box_head.h"

#include <string>

#include "nn/init.h"

namespace dr {

TwoMLPHead::TwoMLPHead(Context& ctx, int64_t in_channels, int64_t representation_size) {
  fc6 = std::make_unique<Linear>(ctx, in_channels, representation_size);
  fc7 = std::make_unique<Linear>(ctx, representation_size, representation_size);
  register_module("fc6", *fc6);
  register_module("fc7", *fc7);
}

Tensor TwoMLPHead::forward(Context& ctx, const Tensor& x) {
  Tensor h = relu(ctx, fc6->forward(ctx, flatten(x)), true);
  return relu(ctx, fc7->forward(ctx, h), true);
}

FastRCNNConvFCHead::FastRCNNConvFCHead(Context& ctx, int64_t channels, int pool,
                                       const std::vector<int64_t>& conv_layers,
                                       const std::vector<int64_t>& fc_layers, NormKind norm) {
  // Sequential indices as torchvision: convs, then Flatten, then (Linear, ReLU) pairs.
  int index = 0;
  int64_t prev = channels;
  for (int64_t c : conv_layers) {
    ConvNormActOptions o;
    o.in_channels = prev;
    o.out_channels = c;
    o.kernel = 3;
    o.norm = norm;
    o.relu = true;
    convs_.push_back(std::make_unique<Conv2dNormActivation>(ctx, o));
    // torchvision re-initializes these convs: kaiming_normal_(fan_out, relu), bias 0.
    init::kaiming_normal_fan_out(ctx, convs_.back()->conv->weight);
    if (convs_.back()->conv->bias.defined()) init::constant(ctx, convs_.back()->conv->bias, 0.0);
    register_module(std::to_string(index++), *convs_.back());
    prev = c;
  }
  index++;  // nn.Flatten
  prev = prev * pool * pool;
  for (int64_t f : fc_layers) {
    fcs_.push_back(std::make_unique<Linear>(ctx, prev, f));
    register_module(std::to_string(index), *fcs_.back());
    index += 2;  // Linear, ReLU
    prev = f;
  }
  out_channels_ = prev;
}

Tensor FastRCNNConvFCHead::forward(Context& ctx, const Tensor& x) {
  Tensor h = x;
  for (auto& c : convs_) h = c->forward(ctx, h);
  h = flatten(h);
  for (auto& f : fcs_) h = relu(ctx, f->forward(ctx, h), true);
  return h;
}

}  // namespace dr
