// ResNet blocks and bodies: torchvision models/resnet.py (BasicBlock, Bottleneck,
// ResNet._make_layer, ResNet.__init__'s init loop) and backbone_utils'
// _resnet_fpn_extractor freezing rule.
#include "nn/resnet.h"

#include "nn/init.h"

namespace dr {

ResNetSpec resnet_spec(const std::string& name) {
  // torchvision resnet.py builders: block type, layers, groups, width_per_group.
  static const ResNetSpec specs[] = {
      {"resnet18", false, {2, 2, 2, 2}, 1, 64},
      {"resnet34", false, {3, 4, 6, 3}, 1, 64},
      {"resnet50", true, {3, 4, 6, 3}, 1, 64},
      {"resnet101", true, {3, 4, 23, 3}, 1, 64},
      {"resnext50_32x4d", true, {3, 4, 6, 3}, 32, 4},
      {"resnext101_32x8d", true, {3, 4, 23, 3}, 32, 8},
  };
  for (const auto& s : specs)
    if (s.name == name) return s;
  DR_FAIL("unknown backbone '" << name << "': expected one of resnet18, resnet34, resnet50, "
                                  "resnet101, resnext50_32x4d, resnext101_32x8d");
}

static Conv2dOptions conv_opts(int64_t in, int64_t out, int kernel, int stride, int groups = 1) {
  Conv2dOptions o;
  o.in_channels = in;
  o.out_channels = out;
  o.kernel = kernel;
  o.stride = stride;
  o.padding = kernel / 2;  // conv3x3: padding=dilation=1; conv1x1: 0; stem 7x7: 3
  o.groups = groups;
  o.bias = false;
  return o;
}

// ResNet.__init__ re-initializes every conv with kaiming_normal_(fan_out, relu); norm
// layers already start at weight 1, bias 0.
static void resnet_init(Context& ctx, Conv2d& c) { init::kaiming_normal_fan_out(ctx, c.weight); }

Downsample::Downsample(Context& ctx, int64_t in, int64_t out, int stride, NormKind norm, double eps)
    : conv(ctx, conv_opts(in, out, 1, stride)), bn(ctx, norm, out, eps) {
  resnet_init(ctx, conv);
  register_module("0", conv);
  register_module("1", bn);
}

Tensor Downsample::forward(Context& ctx, const Tensor& x) {
  return conv_norm_act(ctx, conv, &bn, x, /*relu=*/false);
}

BasicBlock::BasicBlock(Context& ctx, int64_t inplanes, int64_t planes, int stride, bool ds,
                       NormKind norm, double eps)
    : conv1(ctx, conv_opts(inplanes, planes, 3, stride)),
      bn1(ctx, norm, planes, eps),
      conv2(ctx, conv_opts(planes, planes, 3, 1)),
      bn2(ctx, norm, planes, eps) {
  resnet_init(ctx, conv1);
  resnet_init(ctx, conv2);
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  register_module("conv2", conv2);
  register_module("bn2", bn2);
  if (ds) {
    downsample = std::make_unique<Downsample>(ctx, inplanes, planes, stride, norm, eps);
    register_module("downsample", *downsample);
  }
}

// relu(bn2(conv2(relu(bn1(conv1(x))))) + identity), each conv-norm(-add)-relu one op
// when the norms fold (conv_norm_act).
Tensor BasicBlock::forward(Context& ctx, const Tensor& x) {
  Tensor out = conv_norm_act(ctx, conv1, &bn1, x, /*relu=*/true);
  Tensor identity = downsample ? downsample->forward(ctx, x) : x;
  return conv_norm_act(ctx, conv2, &bn2, out, /*relu=*/true, identity);
}

Bottleneck::Bottleneck(Context& ctx, int64_t inplanes, int64_t planes, int stride, bool ds,
                       int groups, int width_per_group, NormKind norm, double eps)
    : conv1(ctx, conv_opts(inplanes, planes * width_per_group / 64 * groups, 1, 1)),
      bn1(ctx, norm, planes * width_per_group / 64 * groups, eps),
      conv2(ctx, conv_opts(planes * width_per_group / 64 * groups,
                           planes * width_per_group / 64 * groups, 3, stride, groups)),
      bn2(ctx, norm, planes * width_per_group / 64 * groups, eps),
      conv3(ctx, conv_opts(planes * width_per_group / 64 * groups, planes * 4, 1, 1)),
      bn3(ctx, norm, planes * 4, eps) {
  for (Conv2d* c : {&conv1, &conv2, &conv3}) resnet_init(ctx, *c);
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  register_module("conv2", conv2);
  register_module("bn2", bn2);
  register_module("conv3", conv3);
  register_module("bn3", bn3);
  if (ds) {
    downsample = std::make_unique<Downsample>(ctx, inplanes, planes * 4, stride, norm, eps);
    register_module("downsample", *downsample);
  }
}

Tensor Bottleneck::forward(Context& ctx, const Tensor& x) {
  Tensor out = conv_norm_act(ctx, conv1, &bn1, x, /*relu=*/true);
  out = conv_norm_act(ctx, conv2, &bn2, out, /*relu=*/true);
  Tensor identity = downsample ? downsample->forward(ctx, x) : x;
  return conv_norm_act(ctx, conv3, &bn3, out, /*relu=*/true, identity);
}

ResNetBody::ResNetBody(Context& ctx, const ResNetSpec& s, NormKind norm, double eps)
    : spec(s), conv1(ctx, conv_opts(3, 64, 7, 2)), bn1(ctx, norm, 64, eps) {
  DR_CHECK(s.bottleneck || (s.groups == 1 && s.width_per_group == 64),
           "ResNet " << s.name << ": BasicBlock only supports groups=1 and base_width=64");
  resnet_init(ctx, conv1);
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  make_layer(ctx, layer1, 64, s.layers[0], 1, norm, eps);
  make_layer(ctx, layer2, 128, s.layers[1], 2, norm, eps);
  make_layer(ctx, layer3, 256, s.layers[2], 2, norm, eps);
  make_layer(ctx, layer4, 512, s.layers[3], 2, norm, eps);
  register_module("layer1", layer1);
  register_module("layer2", layer2);
  register_module("layer3", layer3);
  register_module("layer4", layer4);
  // ParamTags::body_layer: torchvision's stage numbering (0 = stem) for per-stage groups.
  int index = 0;
  for (Module* m : {static_cast<Module*>(&conv1), static_cast<Module*>(&bn1)})
    m->tag_parameters([](ParamTags& t) { t.body_layer = 0; });
  for (ModuleList* layer : {&layer1, &layer2, &layer3, &layer4}) {
    ++index;
    layer->tag_parameters([index](ParamTags& t) { t.body_layer = index; });
  }
}

// ResNet._make_layer: the first block strides and downsamples when the shape changes.
void ResNetBody::make_layer(Context& ctx, ModuleList& layer, int64_t planes, int blocks,
                            int stride, NormKind norm, double eps) {
  const int64_t expansion = spec.bottleneck ? 4 : 1;
  const bool ds = stride != 1 || inplanes_ != planes * expansion;
  for (int i = 0; i < blocks; ++i) {
    const int s = i == 0 ? stride : 1;
    const bool d = i == 0 && ds;
    if (spec.bottleneck)
      layer.emplace<Bottleneck>(ctx, inplanes_, planes, s, d, spec.groups, spec.width_per_group,
                                norm, eps);
    else
      layer.emplace<BasicBlock>(ctx, inplanes_, planes, s, d, norm, eps);
    inplanes_ = planes * expansion;
  }
}

std::vector<Tensor> ResNetBody::forward(Context& ctx, const Tensor& x) {
  check_dim("ResNetBody", "x", x, 4);
  DR_CHECK(x.size(1) == 3, "ResNetBody: input must have 3 channels, got " << x.str());
  Tensor h = conv_norm_act(ctx, conv1, &bn1, x, /*relu=*/true);
  h = max_pool2d(ctx, h, 3, 2, 1);
  std::vector<Tensor> feats;
  for (ModuleList* layer : {&layer1, &layer2, &layer3, &layer4}) {
    for (size_t i = 0; i < layer->size(); ++i) h = layer->get<ResBlock>(i).forward(ctx, h);
    feats.push_back(h);
  }
  return feats;
}

void ResNetBody::freeze(int trainable_layers) {
  DR_CHECK(trainable_layers >= 0 && trainable_layers <= 5,
           "trainable_layers must be in [0, 5], got " << trainable_layers);
  // backbone_utils._resnet_fpn_extractor: ["layer4", "layer3", "layer2", "layer1",
  // "conv1"][:trainable], plus "bn1" when all 5 are trainable.
  Module* order[] = {&layer4, &layer3, &layer2, &layer1, &conv1};
  set_requires_grad(false);
  for (int i = 0; i < trainable_layers; ++i) order[i]->set_requires_grad(true);
  if (trainable_layers == 5) bn1.set_requires_grad(true);
}

std::vector<int64_t> ResNetBody::out_channels() const {
  const int64_t c2 = spec.stage2_channels();
  return {c2, c2 * 2, c2 * 4, c2 * 8};
}

}  // namespace dr
