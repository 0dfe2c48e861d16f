// Training settings: everything a run is made of, read from a JSON recipe (configs/*.json)
// with command-line flags on top, and written into every checkpoint so a run can be
// resumed and reproduced from it. JSON keys are the field names below; "model" holds
// ModelConfig keys (detector/model_config.h) that override the defaults (or, with
// "finetune", the weight file's own config). An unknown key or a value of the wrong
// type is an error naming it. docs/TRAIN.md lists every key with its flag.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "detector/model_config.h"
#include "eval/digits.h"
#include "train/schedule.h"

namespace dr::train {

struct TrainSettings {
  std::string description;  // free text from the recipe

  // ---- data ----
  std::string train_images, train_json;  // images default to the JSON's path without .json
  std::string valid_images, valid_json;  // no valid_json: no validation (and no best.ckpt)
  int batch_size = 2;
  int valid_batch_size = 4;
  int workers = 1;                 // loader threads decoding and augmenting ahead
  std::string augment = "none";    // data/augment.h preset
  int no_augment_last = 0;         // augmentation off for the last N epochs
  std::vector<int> fixed_size;     // [] or [h, w]: FixedResize every image (train and valid)

  // ---- model ----
  nlohmann::json model = nlohmann::json::object();  // ModelConfig keys
  std::string anchors;             // "" (the config's), "auto" (k-means on the train boxes)
  std::string finetune;            // start from this weight file (predictor re-initialized
                                   // when the class count differs)

  // ---- optimization ----
  std::string optimizer = "adam";  // sgd | adam | adamw
  double lr = 1e-4;                // the heads' lr; the body's is lr * backbone_lr_mult
  double weight_decay = 0;
  double momentum = 0.9;           // sgd
  double backbone_lr_mult = 1.0;
  bool no_decay_norm_bias = false;
  double clip_grad_norm = 0;       // 0: no clipping
  int accumulate = 1;              // batches per optimizer step

  // ---- schedule (in epochs; applied per optimizer step) ----
  int epochs = 10;
  std::string schedule = "cosine";  // constant | cosine | multistep
  double warmup_epochs = 0;
  double warmup_start_factor = 0;   // the lr factor at step 0 (0: warm up from 0)
  double eta_min = 0;               // cosine: the final lr (absolute, every group, as torch)
  std::vector<int> milestones;      // multistep: epochs where lr *= gamma
  double gamma = 0.1;

  // ---- run ----
  uint64_t seed = 0;
  std::string device = "auto";      // auto | cpu | cuda
  int threads = 0;                  // CPU threads (OpenMP + OpenBLAS); 0: all cores
  std::string out = "runs/train";
  double score_thresh = 0.5;        // whole-number accuracy uses detections >= this
  double digit_nms = eval::kDigitNmsIou;  // ... read after class-agnostic NMS at this IoU
  std::string best_by = "map";      // map | accuracy: what best.ckpt keeps
  int64_t max_iters = 0;            // stop after this many optimizer steps (0: epochs decide)
  int64_t checkpoint_every = 0;     // last.ckpt every N steps (and at validated epochs and the
                                    // end); 0: at the end of every epoch
  int log_every = 1;                // a metrics line every N optimizer steps
  int valid_every = 1;              // validate every N epochs (and after the last)
};

// Overlays the keys present in j onto s (strict: unknown keys and wrong types are errors).
void apply_settings_json(TrainSettings& s, const nlohmann::json& j, const std::string& source);
nlohmann::json settings_to_json(const TrainSettings& s);
// A recipe file (configs/*.json): errors name the file.
nlohmann::json read_recipe(const std::string& path);
// Range checks naming the key (e.g. "batch_size must be >= 1, got 0").
void validate_settings(const TrainSettings& s);

// The keys whose change alters a run's arithmetic: a resume must keep them (the others
// - paths, device, threads, workers, max_iters, logging - may differ).
bool setting_changes_math(const std::string& key);

// The settings of a resumed run: the checkpoint's (saved), with the keys of overrides
// (a recipe and flags given again) on top. A key that changes the arithmetic and differs
// from the saved value is an error naming it and both values.
TrainSettings settings_for_resume(const nlohmann::json& saved, const nlohmann::json& overrides,
                                  const std::string& source);

// The schedule in optimizer steps for a run of steps_per_epoch steps an epoch.
LrScheduleConfig schedule_in_steps(const TrainSettings& s, int64_t steps_per_epoch);

// The model config: ModelConfig's defaults, overlaid by base (a fine-tune file's config,
// may be null; all but its num_classes) and then by s.model. num_classes, unless s.model
// sets it, is data_classes (the training set's largest category id + 1; 11 for digits).
ModelConfig resolve_model_config(const TrainSettings& s, const nlohmann::json* base,
                                 int data_classes);

}  // namespace dr::train
