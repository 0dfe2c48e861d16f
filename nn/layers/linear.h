// Linear module: torch.nn.Linear's members (weight (out, in), bias (out)) and default init.
#pragma once
#include "nn/functional.h"
#include "nn/module.h"

namespace dr {

class Linear : public Module {
 public:
  Linear(Context& ctx, int64_t in_features, int64_t out_features, bool bias = true,
         DType dtype = DType::F32);
  Tensor forward(Context& ctx, const Tensor& x) const;  // (N, in) -> (N, out)

  Tensor weight;  // (out, in)
  Tensor bias;    // (out) or undefined
};

}  // namespace dr
