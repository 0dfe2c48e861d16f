// Training checkpoints in the flat tensor file (nn/tensor_file.h), holding everything a
// run mutates, so a resumed run continues bit for bit:
//   tensors  the model under its state_dict keys ("backbone.body.conv1.weight", BN running
//            stats included), then the optimizer state as `optimizer.<param>.<slot>`
//            (train/optimizer.h);
//   meta     {"kind": "checkpoint", "version": 1,
//             "config": ModelConfig JSON, "settings": TrainSettings JSON (train/recipe.h),
//             "state": {"epoch", "batch", "iteration", "rng": {"context": "<hex u64>"},
//                       "best_metric", "best_epoch", "best_by"},
//             "checksum": "<hex u64>"}   a hash of every tensor's name, dtype, shape and
//                                        bytes, so a corrupt file is caught on load.
// The loader's order is a pure function of (seed, epoch) and each sample's augmentation
// of (seed, epoch, index) (data/loader.h), so the position (epoch, batch) is all the data
// stream needs; the Context's Rng (anchor/RoI sampling) is the only other random state.
// Writes are atomic (temporary file + rename): a kill never leaves a half-written file.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "detector/model_config.h"
#include "nn/module.h"
#include "nn/tensor_file.h"
#include "train/optimizer.h"

namespace dr::train {

constexpr int kCheckpointVersion = 1;

// Where a run stands. Checkpoints are written only between optimizer steps.
struct TrainState {
  int epoch = 0;           // 0-based epoch of the next batch
  int64_t batch = 0;       // index of the next batch in that epoch
  int64_t iteration = 0;   // optimizer steps done
  uint64_t context_rng = 0;  // Context::rng().state()
  double best_metric = -1;   // best validation value so far (-1: none yet)
  int best_epoch = 0;        // 1-based epoch it came from (0: none)
  std::string best_by = "map";
};

nlohmann::json train_state_to_json(const TrainState& s);
TrainState train_state_from_json(const nlohmann::json& j, const std::string& source);

// The hash stored under meta.checksum (FNV-style over 8-byte words; detects flipped bits,
// not an adversary).
uint64_t tensors_checksum(const std::vector<std::pair<std::string, Tensor>>& tensors);

void save_checkpoint(Context& ctx, const std::string& path, const Module& model,
                     const ModelConfig& config, const Optimizer& opt,
                     const nlohmann::json& settings, const TrainState& state);

struct Checkpoint {
  TensorFile file;  // model + optimizer tensors (host)
  ModelConfig config;
  nlohmann::json settings;
  TrainState state;
};
// Reads and verifies a checkpoint; every problem (missing, truncated, corrupt - checksum
// mismatch -, not a checkpoint, a newer version, a malformed meta) is a dr::Error that
// names the file.
Checkpoint read_checkpoint(const std::string& path);

// Strict restore into a model and optimizer built from ck.config and ck.settings: every
// model tensor must be present with its shape (nn/weights.h rules), the optimizer state
// must fit its parameters, and the Context's Rng continues from the saved state.
void restore_checkpoint(Context& ctx, const Checkpoint& ck, Module& model, Optimizer& opt);

}  // namespace dr::train
