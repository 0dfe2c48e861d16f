// One training step's forward and backward with the checks a training loop needs
// (detectron2's run_step / torchvision references' train_one_epoch): forward with
// targets -> the four named losses -> non-finite check naming the loss part -> backward
// -> non-finite check naming the parameter. The optimizer update is the caller's.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "detector/faster_rcnn.h"

namespace dr {

struct StepLosses {
  std::vector<std::pair<std::string, double>> parts;  // torchvision's names, in its order
  double total = 0;
};

// Raised for a NaN/Inf loss or gradient; the message names the iteration and the loss
// part or parameter. Nothing has been updated when it is thrown (the gradients of that
// step are cleared).
struct NonFiniteError : Error {
  using Error::Error;
};

// Gradients accumulate (+=) into the parameters' gradient buffers, so several calls
// before one optimizer step accumulate gradients over batches (scale the loss by
// loss_scale = 1 / accumulation steps).
StepLosses forward_backward(Context& ctx, FasterRCNN& model, const std::vector<Tensor>& images,
                            const std::vector<Target>& targets, int64_t iteration,
                            double loss_scale = 1.0);

}  // namespace dr
