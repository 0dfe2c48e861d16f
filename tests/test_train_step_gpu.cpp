// A whole training step on CUDA against the same step on the CPU (f32): the tiny model of
// tests/train_helpers.h with identical weights, images and targets; the samplers draw on
// the CPU run and replay on CUDA, and the RoI heads work on the CPU's proposals on both
// devices (the CUDA top-k/NMS may order near-equal proposal scores differently, which
// would change what the replayed indices point at). Compared: the four losses, the
// gradient of every trainable parameter and the batch-norm running statistics after the
// step.
//
// Tolerances: as the eval forward's CUDA test (tests/test_detector_gpu.cpp), cuDNN and
// cuBLAS sum in another order than im2col + OpenBLAS, ~1e-6 of a layer's scale, growing
// through the network to ~1e-5; a gradient passes the network twice. Losses: 1e-4
// relative; gradients: 1e-3 of the model's largest gradient (a lost or doubled path is
// O(1)); running statistics: 1e-4 relative plus 1e-4 of their scale.
#include <algorithm>
#include <cmath>

#include "detector/faster_rcnn.h"
#include "nn/weights.h"
#include "tests/detections_match.h"
#include "tests/testing.h"
#include "tests/train_helpers.h"

using namespace dr;
using namespace dr::test;

TEST_CASE("gpu: training step on CUDA matches the CPU (losses, gradients, running stats)") {
  Context cpu(Device::cpu(), 5), gpu(Device::cuda(0), 5);
  FasterRCNN mc(cpu, tiny_config()), mg(gpu, tiny_config());
  // Same weights on both: the CPU model's state, loaded into the CUDA model.
  TensorFile tf;
  tf.tensors = state_dict(cpu, mc);
  load_weights(gpu, mg, tf);
  mc.train(true);
  mg.train(true);
  Rng draw_rng(11);
  FixedDraws fixed;
  mc.rpn.fg_bg_sampler.draw_hook = record_or_replay(fixed.rpn, draw_rng, 32, 0.5);
  mc.roi_heads.fg_bg_sampler.draw_hook = record_or_replay(fixed.roi, draw_rng, 16, 0.25);
  mg.rpn.fg_bg_sampler.draw_hook = record_or_replay(fixed.rpn, draw_rng, 32, 0.5);
  mg.roi_heads.fg_bg_sampler.draw_hook = record_or_replay(fixed.roi, draw_rng, 16, 0.25);

  std::vector<Tensor> images = {random_tensor(cpu, {3, 64, 64}, 0, 1), random_tensor(cpu, {3, 56, 72}, 0, 1)};
  std::vector<Target> targets = {
      {Tensor::host_from<float>({0, 4}, {}), Tensor::host_from<int64_t>({0}, {})},
      {Tensor::host_from<float>({3, 4}, {4, 6, 20, 40, 22, 8, 36, 44, 40, 0, 72, 30}),
       Tensor::host_from<int64_t>({3}, {1, 2, 3})}};
  std::vector<Tensor> gimages;
  std::vector<Target> gtargets;
  for (const Tensor& im : images) gimages.push_back(gpu.to(im, gpu.device()));
  for (const Target& t : targets) gtargets.push_back({gpu.to(t.boxes, gpu.device()), gpu.to(t.labels, gpu.device())});

  FixedLoss lc, lg;
  {
    TrainingScope scope(cpu, mc);
    lc = fixed_proposal_loss(cpu, mc, images, targets, fixed);
    cpu.backward(lc.total);
  }
  std::vector<Tensor> cpu_props = fixed.proposals;
  for (Tensor& p : fixed.proposals) p = gpu.to(p, gpu.device());
  {
    TrainingScope scope(gpu, mg);
    lg = fixed_proposal_loss(gpu, mg, gimages, gtargets, fixed);
    gpu.backward(lg.total);
  }
  for (size_t k = 0; k < lc.parts.size(); ++k)
    DR_CHECK_CLOSE(gpu, lg.parts[k].second, lc.parts[k].second, 1e-4, 1e-6, lc.parts[k].first);

  std::vector<NamedTensor> pc = mc.named_parameters(), pg = mg.named_parameters();
  REQUIRE(pc.size() == pg.size());
  double scale = 0;
  for (const NamedTensor& p : pc)
    if (p.tensor->has_grad())
      for (double v : to_doubles(cpu, p.tensor->grad())) scale = std::max(scale, std::fabs(v));
  REQUIRE(scale > 0);
  int compared = 0;
  for (size_t i = 0; i < pc.size(); ++i) {
    CHECK(pc[i].name == pg[i].name);
    CHECK_MESSAGE(pc[i].tensor->has_grad() == pg[i].tensor->has_grad(), pc[i].name);
    if (!pc[i].tensor->has_grad() || !pg[i].tensor->has_grad()) continue;
    DR_CHECK_CLOSE(gpu, pg[i].tensor->grad(), pc[i].tensor->grad(), 0, 1e-3 * scale, "grad " + pc[i].name);
    ++compared;
  }
  CHECK(compared > 50);
  std::vector<NamedTensor> bc = mc.named_tensors(), bg = mg.named_tensors();
  for (size_t i = 0; i < bc.size(); ++i)
    if (!bc[i].is_parameter && bc[i].tensor->dtype() == DType::F32)
      DR_CHECK_CLOSE(gpu, *bg[i].tensor, *bc[i].tensor, 1e-4, scaled_atol(cpu, *bc[i].tensor, 1e-4), bc[i].name);
}
