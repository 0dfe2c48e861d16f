// Helpers shared by the training-step tests: a tiny model config, a sampler hook that
// records the first run's draws and replays them, and the training loss with the
// proposals held fixed (FasterRCNN::forward_train spelled out with the proposals as an
// input; torchvision detaches them, so their gradient is defined as zero and the loss is
// a smooth function of the parameters once they and the draws are fixed).
#pragma once
#include <vector>

#include "detector/faster_rcnn.h"

namespace dr::test {

// v2 layout on a resnet18 body, 64 px images, digit-sized anchors, few samples.
ModelConfig tiny_config();

struct FixedDraws {
  std::vector<Tensor> proposals;  // the first run's proposals, reused by every run
  std::vector<BalancedPositiveNegativeSampler::Draw> rpn, roi;
};

// Draws uniformly (from rng) on the first call per image and records it; later calls
// for that image replay the record.
BalancedPositiveNegativeSampler::DrawHook record_or_replay(
    std::vector<BalancedPositiveNegativeSampler::Draw>& draws, Rng& rng, int64_t batch, double frac);

struct FixedLoss {
  Tensor total;  // () sum of the four losses
  std::vector<std::pair<std::string, Tensor>> parts;
};
// The four losses with fixed.proposals (set from this run when empty) as the RoI heads'
// candidates. images/targets on ctx's device; the model's samplers should replay.
FixedLoss fixed_proposal_loss(Context& ctx, FasterRCNN& m, const std::vector<Tensor>& images,
                              const std::vector<Target>& targets, FixedDraws& fixed);

}  // namespace dr::test
