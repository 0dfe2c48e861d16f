// Conv2d module: torch.nn.Conv2d's members (weight (O, C/groups, KH, KW), optional bias
// (O)) and default init; forward is nn/functional.h conv2d.
#pragma once
#include "nn/functional.h"
#include "nn/module.h"

namespace dr {

struct Conv2dOptions {
  int64_t in_channels = 0, out_channels = 0;
  int kernel = 1, stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
  DType dtype = DType::F32;
};

class Conv2d : public Module {
 public:
  Conv2d(Context& ctx, const Conv2dOptions& o);  // torch default init (kaiming_uniform a=sqrt(5))
  Tensor forward(Context& ctx, const Tensor& x) const;  // (N, C, H, W) -> (N, O, OH, OW)
  const Conv2dOptions& options() const { return opt_; }
  Conv2dArgs args() const;

  Tensor weight;  // (O, C/groups, K, K)
  Tensor bias;    // (O), undefined when options.bias is false

 private:
  Conv2dOptions opt_;
};

}  // namespace dr
