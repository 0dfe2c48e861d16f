#include "detector/rpn_head.h"

#include "nn/init.h"

namespace dr {

RPNHead::RPNHead(Context& ctx, int64_t in_channels, int64_t num_anchors, int conv_depth) {
  DR_CHECK(conv_depth >= 1, "RPNHead: conv_depth must be >= 1, got " << conv_depth);
  for (int i = 0; i < conv_depth; ++i) {
    ConvNormActOptions o;
    o.in_channels = o.out_channels = in_channels;
    o.kernel = 3;
    o.norm = NormKind::None;
    o.relu = true;
    conv.emplace<Conv2dNormActivation>(ctx, o);
  }
  register_module("conv", conv);
  Conv2dOptions c;
  c.in_channels = in_channels;
  c.out_channels = num_anchors;
  cls_logits = std::make_unique<Conv2d>(ctx, c);
  c.out_channels = num_anchors * 4;
  bbox_pred = std::make_unique<Conv2d>(ctx, c);
  register_module("cls_logits", *cls_logits);
  register_module("bbox_pred", *bbox_pred);
  for (auto& nt : named_parameters()) {
    bool is_weight = nt.name.size() >= 6 && nt.name.compare(nt.name.size() - 6, 6, "weight") == 0;
    if (is_weight)
      init::normal(ctx, *nt.tensor, 0.0, 0.01);
    else
      init::constant(ctx, *nt.tensor, 0.0);
  }
}

RPNHead::Output RPNHead::forward(Context& ctx, const std::vector<Tensor>& features) {
  Output out;
  for (const Tensor& f : features) {
    Tensor t = f;
    for (size_t i = 0; i < conv.size(); ++i) t = conv.get<Conv2dNormActivation>(i).forward(ctx, t);
    out.objectness.push_back(cls_logits->forward(ctx, t));
    out.deltas.push_back(bbox_pred->forward(ctx, t));
  }
  return out;
}

}  // namespace dr
