#include "train/recipe.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "kernels/error.h"

namespace dr::train {

namespace {

template <class T>
void read_key(const nlohmann::json& v, T& field, const std::string& key, const std::string& source) {
  try {
    field = v.get<T>();
  } catch (const nlohmann::json::exception&) {
    DR_FAIL(source << ": key \"" << key << "\" has a value of the wrong type: " << v.dump());
  }
}

}  // namespace

// One table keeps reading and writing in step: the key, and the field it maps to.
#define DR_SETTINGS_FIELDS(X)                                                        \
  X(description) X(train_images) X(train_json) X(valid_images) X(valid_json)         \
  X(batch_size) X(valid_batch_size) X(workers) X(augment) X(no_augment_last)        \
  X(fixed_size) X(anchors) X(finetune) X(optimizer) X(lr)        \
  X(weight_decay) X(momentum) X(backbone_lr_mult) X(no_decay_norm_bias)             \
  X(clip_grad_norm) X(accumulate) X(epochs) X(schedule) X(warmup_epochs)            \
  X(warmup_start_factor) X(eta_min) X(milestones) X(gamma) X(seed) X(device)        \
  X(threads) X(out) X(score_thresh) X(digit_nms) X(best_by) X(max_iters) X(checkpoint_every)     \
  X(log_every) X(valid_every)

void apply_settings_json(TrainSettings& s, const nlohmann::json& j, const std::string& source) {
  DR_CHECK(j.is_object(), source << ": a recipe must be a JSON object, got " << j.dump().substr(0, 80));
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "model") {
      DR_CHECK(it->is_object(), source << ": \"model\" must be an object of model config keys");
      // Check the keys now (a typo would otherwise be ignored by ModelConfig::from_json).
      const nlohmann::json known = ModelConfig().to_json();
      for (auto m = it->begin(); m != it->end(); ++m)
        DR_CHECK(known.contains(m.key()), source << ": unknown model key \"" << m.key()
                                                 << "\" (see detector/model_config.h)");
      s.model.update(*it);
      continue;
    }
#define X(name)                                       \
  if (key == #name) {                                 \
    read_key(*it, s.name, key, source);               \
    continue;                                         \
  }
    DR_SETTINGS_FIELDS(X)
#undef X
    DR_FAIL(source << ": unknown key \"" << key << "\" (docs/TRAIN.md lists the keys)");
  }
}

nlohmann::json settings_to_json(const TrainSettings& s) {
  nlohmann::json j;
#define X(name) j[#name] = s.name;
  DR_SETTINGS_FIELDS(X)
#undef X
  j["model"] = s.model;
  return j;
}

nlohmann::json read_recipe(const std::string& path) {
  std::ifstream f(path);
  DR_CHECK(f, path << ": cannot open the recipe");
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    DR_FAIL(path << ": not valid JSON: " << e.what());
  }
}

void validate_settings(const TrainSettings& s) {
  auto positive = [](const char* key, double v) {
    DR_CHECK(v >= 1, "settings: " << key << " must be >= 1, got " << v);
  };
  auto nonneg = [](const char* key, double v) {
    DR_CHECK(v >= 0 && std::isfinite(v), "settings: " << key << " must be >= 0, got " << v);
  };
  DR_CHECK(!s.train_json.empty(), "settings: train_json (--train-json) is required");
  positive("batch_size", s.batch_size);
  positive("valid_batch_size", s.valid_batch_size);
  positive("epochs", s.epochs);
  positive("accumulate", s.accumulate);
  positive("log_every", s.log_every);
  positive("valid_every", s.valid_every);
  nonneg("workers", s.workers);
  nonneg("no_augment_last", s.no_augment_last);
  nonneg("lr", s.lr);
  nonneg("weight_decay", s.weight_decay);
  nonneg("momentum", s.momentum);
  nonneg("backbone_lr_mult", s.backbone_lr_mult);
  nonneg("clip_grad_norm", s.clip_grad_norm);
  nonneg("warmup_epochs", s.warmup_epochs);
  nonneg("eta_min", s.eta_min);
  nonneg("threads", s.threads);
  nonneg("max_iters", double(s.max_iters));
  nonneg("checkpoint_every", double(s.checkpoint_every));
  DR_CHECK(s.warmup_start_factor >= 0 && s.warmup_start_factor <= 1,
           "settings: warmup_start_factor must be in [0, 1], got " << s.warmup_start_factor);
  DR_CHECK(s.warmup_epochs < s.epochs || s.schedule != "cosine",
           "settings: warmup_epochs (" << s.warmup_epochs << ") must be below epochs (" << s.epochs
                                       << ") for a cosine schedule");
  DR_CHECK(s.optimizer == "sgd" || s.optimizer == "adam" || s.optimizer == "adamw",
           "settings: optimizer must be sgd, adam or adamw, got \"" << s.optimizer << "\"");
  DR_CHECK(s.schedule == "constant" || s.schedule == "cosine" || s.schedule == "multistep",
           "settings: schedule must be constant, cosine or multistep, got \"" << s.schedule << "\"");
  DR_CHECK(s.device == "auto" || s.device == "cpu" || s.device == "cuda",
           "settings: device must be auto, cpu or cuda, got \"" << s.device << "\"");
  DR_CHECK(s.best_by == "map" || s.best_by == "accuracy",
           "settings: best_by must be map or accuracy, got \"" << s.best_by << "\"");
  DR_CHECK(s.anchors.empty() || s.anchors == "auto",
           "settings: anchors must be \"\" or \"auto\" (explicit sizes go in model.anchor_sizes), got \""
               << s.anchors << "\"");
  DR_CHECK(s.fixed_size.empty() || (s.fixed_size.size() == 2 && s.fixed_size[0] > 0 && s.fixed_size[1] > 0),
           "settings: fixed_size must be [] or [height, width] with positive sizes");
  DR_CHECK(s.score_thresh >= 0 && s.score_thresh <= 1,
           "settings: score_thresh must be in [0, 1], got " << s.score_thresh);
  DR_CHECK(s.digit_nms >= 0 && s.digit_nms <= 1,
           "settings: digit_nms must be in [0, 1], got " << s.digit_nms);
  DR_CHECK(s.gamma > 0, "settings: gamma must be > 0, got " << s.gamma);
  for (int m : s.milestones) DR_CHECK(m >= 0, "settings: milestones must be >= 0, got " << m);
}

bool setting_changes_math(const std::string& key) {
  static const std::set<std::string> free_keys = {
      "description", "train_images", "train_json", "valid_images", "valid_json", "valid_batch_size",
      "workers", "device", "threads", "out", "score_thresh", "digit_nms", "best_by", "max_iters",
      "checkpoint_every", "log_every", "valid_every", "finetune"};
  return free_keys.count(key) == 0;
}

TrainSettings settings_for_resume(const nlohmann::json& saved, const nlohmann::json& overrides,
                                  const std::string& source) {
  TrainSettings s;
  apply_settings_json(s, saved, source + " (meta.settings)");
  const nlohmann::json before = settings_to_json(s);
  TrainSettings given = s;
  apply_settings_json(given, overrides, "the given settings");
  const nlohmann::json after = settings_to_json(given);
  for (auto it = after.begin(); it != after.end(); ++it) {
    if (!setting_changes_math(it.key()) || before.at(it.key()) == it.value()) continue;
    if (it.key() == "model") {
      // Only keys given again matter; the saved run's resolved config stays in force.
      nlohmann::json diff = nlohmann::json::object();
      for (auto m = it->begin(); m != it->end(); ++m)
        if (!before["model"].contains(m.key()) || before["model"][m.key()] != m.value())
          diff[m.key()] = m.value();
      DR_CHECK(diff.empty(), "resume: model settings " << diff.dump() << " differ from the run in "
                                 << source << " (" << before["model"].dump()
                                 << "); a resumed run keeps its settings (start a new run with "
                                    "--finetune to change them)");
      continue;
    }
    DR_FAIL("resume: " << it.key() << " = " << it.value().dump() << " differs from the run in "
                       << source << " (" << before.at(it.key()).dump()
                       << "); a resumed run keeps the settings that change its arithmetic (start "
                          "a new run with --finetune to change them)");
  }
  return given;
}

LrScheduleConfig schedule_in_steps(const TrainSettings& s, int64_t steps_per_epoch) {
  LrScheduleConfig c;
  c.kind = s.schedule;
  c.warmup_steps = static_cast<int64_t>(std::llround(s.warmup_epochs * double(steps_per_epoch)));
  c.warmup_start_factor = s.warmup_start_factor;
  c.eta_min = s.eta_min;
  for (int m : s.milestones) c.milestones.push_back(int64_t(m) * steps_per_epoch);
  c.gamma = s.gamma;
  return c;
}

ModelConfig resolve_model_config(const TrainSettings& s, const nlohmann::json* base,
                                 int data_classes) {
  nlohmann::json j = ModelConfig().to_json();
  if (base) {
    DR_CHECK(base->is_object(), "fine-tune file: its model config is not a JSON object");
    for (auto it = base->begin(); it != base->end(); ++it)
      if (it.key() != "num_classes" && j.contains(it.key())) j[it.key()] = it.value();
  }
  j["num_classes"] = data_classes > 0 ? data_classes : 11;
  j.update(s.model);
  return ModelConfig::from_json(j);
}

}  // namespace dr::train
