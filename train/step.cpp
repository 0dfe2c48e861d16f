#include "train/step.h"

#include <sstream>

#include "nn/losses.h"

namespace dr {

static double scalar_value(Context& ctx, const Tensor& t) {
  Tensor h = ctx.to_host(t);
  return h.dtype() == DType::F64 ? *h.data<double>() : double(*h.data<float>());
}

StepLosses forward_backward(Context& ctx, FasterRCNN& model, const std::vector<Tensor>& images,
                            const std::vector<Target>& targets, int64_t iteration,
                            double loss_scale) {
  StepLosses out;
  Tensor root;
  {
    FasterRCNN::TrainOutput t = model.forward_train(ctx, images, targets);
    std::vector<Tensor> parts;
    for (auto& kv : t.losses) parts.push_back(kv.second);
    const std::vector<int64_t> bad = count_nonfinite(ctx, parts);  // one read-back
    std::ostringstream all;
    for (size_t k = 0; k < t.losses.size(); ++k) {
      out.parts.emplace_back(t.losses[k].first, scalar_value(ctx, t.losses[k].second));
      all << (k ? ", " : "") << t.losses[k].first << " = " << out.parts.back().second;
    }
    for (size_t k = 0; k < bad.size(); ++k)
      if (bad[k]) {
        ctx.tape().clear();
        throw NonFiniteError("iteration " + std::to_string(iteration) + ": " + t.losses[k].first +
                             " is not finite (" + all.str() + "); no update was made");
      }
    out.total = 0;
    for (auto& p : out.parts) out.total += p.second;
    root = t.total;
    if (loss_scale != 1.0) {
      Tensor seed = Tensor::host({}, root.dtype());
      if (root.dtype() == DType::F64)
        *seed.data<double>() = loss_scale;
      else
        *seed.data<float>() = float(loss_scale);
      ctx.backward(root, ctx.to(seed, root.device()));
      root = Tensor();
    }
  }  // the forward's intermediates are released here; the tape keeps what backward needs
  if (root.defined()) ctx.backward(root);

  std::vector<NamedTensor> params = model.trainable_parameters();
  std::vector<Tensor> grads;
  for (const NamedTensor& p : params) grads.push_back(p.tensor->grad());
  const std::vector<int64_t> bad = count_nonfinite(ctx, grads);  // undefined counts 0
  for (size_t k = 0; k < bad.size(); ++k)
    if (bad[k]) {
      const std::string name = params[k].name;
      const int64_t count = bad[k];
      model.zero_grad();
      throw NonFiniteError("iteration " + std::to_string(iteration) + ": the gradient of " + name +
                           " has " + std::to_string(count) +
                           " non-finite values (losses were finite); no update was made");
    }
  return out;
}

}  // namespace dr
