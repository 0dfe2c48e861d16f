#include "tests/train_helpers.h"

#include <algorithm>

#include "nn/functional.h"

namespace dr::test {

ModelConfig tiny_config() {
  ModelConfig c;
  c.arch = "v2";
  c.backbone = "resnet18";
  c.num_classes = 4;
  c.min_size = 64;
  c.max_size = 96;
  c.trainable_layers = 5;
  c.anchor_sizes = {{8}, {16}, {32}, {64}, {128}};
  c.rpn_pre_nms_top_n_train = 200;
  c.rpn_post_nms_top_n_train = 50;
  c.rpn_batch_size_per_image = 32;
  c.box_batch_size_per_image = 16;
  return c;
}

BalancedPositiveNegativeSampler::DrawHook record_or_replay(
    std::vector<BalancedPositiveNegativeSampler::Draw>& draws, Rng& rng, int64_t batch, double frac) {
  return [&draws, &rng, batch, frac](int64_t image, const Tensor& labels) {
    if (image < int64_t(draws.size())) return draws[image];
    BalancedPositiveNegativeSampler::Draw d;
    std::vector<int64_t> pos, neg;
    for (int64_t i = 0; i < labels.numel(); ++i) {
      const double l = labels.dtype() == DType::I64   ? double(labels.data<int64_t>()[i])
                       : labels.dtype() == DType::F32 ? double(labels.data<float>()[i])
                                                      : labels.data<double>()[i];
      if (l >= 1) pos.push_back(i);
      if (l == 0) neg.push_back(i);
    }
    const int64_t np = std::min<int64_t>(int64_t(batch * frac), pos.size());
    const int64_t nn = std::min<int64_t>(batch - np, neg.size());
    for (int64_t k = 0; k < np; ++k) std::swap(pos[k], pos[k + rng.randint(pos.size() - k)]);
    for (int64_t k = 0; k < nn; ++k) std::swap(neg[k], neg[k + rng.randint(neg.size() - k)]);
    d.pos.assign(pos.begin(), pos.begin() + np);
    d.neg.assign(neg.begin(), neg.begin() + nn);
    draws.push_back(d);
    return d;
  };
}

FixedLoss fixed_proposal_loss(Context& ctx, FasterRCNN& m, const std::vector<Tensor>& images,
                              const std::vector<Target>& targets, FixedDraws& fixed) {
  std::vector<Tensor> boxes;
  for (const Target& t : targets) boxes.push_back(t.boxes);
  ImageList il = m.transform.forward(ctx, images, &boxes);
  std::vector<Target> resized;
  for (size_t i = 0; i < boxes.size(); ++i) resized.push_back({boxes[i], targets[i].labels});
  FeatureMaps features = m.backbone.forward(ctx, il.tensors);
  RegionProposalNetwork::Output rpn = m.rpn.forward(ctx, il, features);
  if (fixed.proposals.empty()) fixed.proposals = rpn.boxes;
  RPNLoss rl = rpn_loss(ctx, rpn.objectness, rpn.deltas, rpn.anchors, boxes, m.rpn.proposal_matcher,
                        m.rpn.fg_bg_sampler, m.rpn.box_coder);
  TrainingSamples s = select_training_samples(ctx, fixed.proposals, resized, m.roi_heads.proposal_matcher,
                                              m.roi_heads.fg_bg_sampler, m.roi_heads.box_coder);
  Tensor h = m.roi_heads.box_head->forward(
      ctx, m.roi_heads.box_roi_pool.forward(ctx, features, s.proposals, il.image_sizes));
  auto [logits, regression] = m.roi_heads.box_predictor->forward(ctx, h);
  FastRCNNLoss fl = fastrcnn_loss(ctx, logits, regression, s.labels, s.regression_targets);
  FixedLoss out;
  out.parts = {{"loss_classifier", fl.loss_classifier}, {"loss_box_reg", fl.loss_box_reg},
               {"loss_objectness", rl.loss_objectness}, {"loss_rpn_box_reg", rl.loss_rpn_box_reg}};
  out.total = add(ctx, add(ctx, fl.loss_classifier, fl.loss_box_reg),
                  add(ctx, rl.loss_objectness, rl.loss_rpn_box_reg));
  return out;
}


}  // namespace dr::test
