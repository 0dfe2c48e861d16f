#include "detector/box_predictor.h"

namespace dr {

FastRCNNPredictor::FastRCNNPredictor(Context& ctx, int64_t in_channels, int64_t num_classes) {
  DR_CHECK(num_classes >= 2, "FastRCNNPredictor: num_classes " << num_classes
                                                               << " must count background + 1");
  cls_score = std::make_unique<Linear>(ctx, in_channels, num_classes);
  bbox_pred = std::make_unique<Linear>(ctx, in_channels, num_classes * 4);
  register_module("cls_score", *cls_score);
  register_module("bbox_pred", *bbox_pred);
}

std::pair<Tensor, Tensor> FastRCNNPredictor::forward(Context& ctx, const Tensor& x) {
  if (x.dim() == 4)
    DR_CHECK(x.size(2) == 1 && x.size(3) == 1,
             "FastRCNNPredictor: 4-d input must be (K, C, 1, 1), got " << x.str());
  Tensor f = flatten(x);
  return {cls_score->forward(ctx, f), bbox_pred->forward(ctx, f)};
}

}  // namespace dr
