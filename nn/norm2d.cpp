#include "nn/norm2d.h"

namespace dr {

Norm2d::Norm2d(Context& ctx, NormKind kind, int64_t channels, double frozen_eps) : kind_(kind) {
  DR_CHECK(kind != NormKind::None, "Norm2d: needs BatchNorm or FrozenBatchNorm");
  if (kind == NormKind::BatchNorm) {
    batch_ = std::make_unique<BatchNorm2d>(ctx, channels);
    // Same names and order as torch.nn.BatchNorm2d's state_dict.
    register_parameter("weight", batch_->weight, true, norm_tags(false));
    register_parameter("bias", batch_->bias, true, norm_tags(true));
    register_buffer("running_mean", batch_->running_mean);
    register_buffer("running_var", batch_->running_var);
    register_buffer("num_batches_tracked", batch_->num_batches_tracked);
  } else {
    frozen_ = std::make_unique<FrozenBatchNorm2d>(ctx, channels, frozen_eps);
    // torchvision's FrozenBatchNorm2d keeps all four as buffers (never trained).
    register_buffer("weight", frozen_->weight);
    register_buffer("bias", frozen_->bias);
    register_buffer("running_mean", frozen_->running_mean);
    register_buffer("running_var", frozen_->running_var);
  }
}

Tensor Norm2d::forward(Context& ctx, const Tensor& x) {
  return batch_ ? batch_->forward(ctx, x) : frozen_->forward(ctx, x);
}

void Norm2d::train(bool on) {
  Module::train(on);
  if (batch_) batch_->train(on);
}

}  // namespace dr
