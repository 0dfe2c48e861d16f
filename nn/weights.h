// Strict weight loading and saving between a Module's named tensors and a flat tensor
// file (nn/tensor_file.h; the format and the converters are described in docs/WEIGHTS.md).
//
// Strict: every tensor the module has must be in the file with the same shape and dtype,
// and the file must hold nothing else; otherwise ONE error lists every missing,
// unexpected and mis-shaped name. The one exception is fine-tune mode: tensors under the
// class-dependent prefixes (the box predictor) whose shapes differ, e.g. COCO's 91
// classes -> 11 digit classes, keep the module's fresh initialization instead.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/module.h"
#include "nn/tensor_file.h"

namespace dr {

struct LoadOptions {
  std::string prefix;  // the module's names get "<prefix>." (e.g. "backbone")
  bool fine_tune = false;
  // Tensors that depend on the class count (torchvision FastRCNNPredictor).
  std::vector<std::string> class_dependent = {"roi_heads.box_predictor.cls_score.",
                                              "roi_heads.box_predictor.bbox_pred."};
};

struct LoadReport {
  size_t loaded = 0;
  std::vector<std::string> reinitialized;  // fine-tune: class-dependent tensors left fresh
};

// Copies each file tensor into the module tensor of the same name (to its device).
// BatchNorm2d.num_batches_tracked stays a host i64 scalar whatever the device.
LoadReport load_weights(Context& ctx, Module& module, const TensorFile& file,
                        const LoadOptions& opt = {});
LoadReport load_weights(Context& ctx, Module& module, const std::string& path,
                        const LoadOptions& opt = {});

// Converts every floating-point tensor of the module to `dtype` in place (f32 <-> f64),
// keeping requires_grad; integer buffers (num_batches_tracked) stay as they are. CPU f64
// models are the double-precision reference the parity tests measure f32 against.
void cast_floating(Context& ctx, Module& module, DType dtype);

// Host copies of every named tensor, in the module's (= torch state_dict) order.
std::vector<std::pair<std::string, Tensor>> state_dict(Context& ctx, const Module& module,
                                                       const std::string& prefix = "");
// Writes state_dict(module) with `meta` (e.g. {"config": ModelConfig::to_json()}).
void save_weights(Context& ctx, const Module& module, const std::string& path,
                  const nlohmann::json& meta, const std::string& prefix = "");

}  // namespace dr
