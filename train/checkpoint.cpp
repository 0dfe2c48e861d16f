#include "train/checkpoint.h"

#include <cstdio>
#include <cstring>

#include "nn/weights.h"

namespace dr::train {

namespace {

constexpr const char* kOptimizerPrefix = "optimizer.";

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

uint64_t parse_hex64(const nlohmann::json& j, const std::string& what, const std::string& source) {
  DR_CHECK(j.is_string() && j.get<std::string>().size() == 16,
           source << ": " << what << " must be a 16-digit hex string, got " << j.dump());
  const std::string s = j.get<std::string>();
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 16);
  DR_CHECK(end && *end == '\0', source << ": " << what << " is not hex: " << s);
  return v;
}

// FNV-1a over 8-byte words, then a splitmix finalizer.
struct Hash {
  uint64_t h = 0xcbf29ce484222325ull;
  void word(uint64_t w) { h = (h ^ w) * 0x100000001b3ull; }
  void bytes(const void* p, size_t n) {
    const unsigned char* c = static_cast<const unsigned char*>(p);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, c + i, 8);
      word(w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, c + i, n - i);
    word(tail ^ (uint64_t(n - i) << 56));
  }
  uint64_t done() const {
    uint64_t z = h;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

}  // namespace

nlohmann::json train_state_to_json(const TrainState& s) {
  return {{"epoch", s.epoch},
          {"batch", s.batch},
          {"iteration", s.iteration},
          {"rng", {{"context", hex64(s.context_rng)}}},
          {"best_metric", s.best_metric},
          {"best_epoch", s.best_epoch},
          {"best_by", s.best_by}};
}

TrainState train_state_from_json(const nlohmann::json& j, const std::string& source) {
  DR_CHECK(j.is_object(), source << ": meta.state is not an object");
  TrainState s;
  try {
    s.epoch = j.at("epoch").get<int>();
    s.batch = j.at("batch").get<int64_t>();
    s.iteration = j.at("iteration").get<int64_t>();
    s.context_rng = parse_hex64(j.at("rng").at("context"), "meta.state.rng.context", source);
    s.best_metric = j.at("best_metric").get<double>();
    s.best_epoch = j.at("best_epoch").get<int>();
    s.best_by = j.at("best_by").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    DR_FAIL(source << ": malformed meta.state " << j.dump() << ": " << e.what());
  }
  DR_CHECK(s.epoch >= 0 && s.batch >= 0 && s.iteration >= 0,
           source << ": negative position in meta.state " << j.dump());
  return s;
}

uint64_t tensors_checksum(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  Hash h;
  for (const auto& [name, t] : tensors) {
    h.bytes(name.data(), name.size());
    h.word(static_cast<uint64_t>(t.dtype()));
    for (int64_t d : t.shape()) h.word(static_cast<uint64_t>(d));
    h.bytes(t.raw(), t.nbytes());
  }
  return h.done();
}

void save_checkpoint(Context& ctx, const std::string& path, const Module& model,
                     const ModelConfig& config, const Optimizer& opt,
                     const nlohmann::json& settings, const TrainState& state) {
  std::vector<std::pair<std::string, Tensor>> tensors = state_dict(ctx, model);
  for (auto& kv : opt.state_tensors()) tensors.push_back(std::move(kv));
  nlohmann::json meta = {{"kind", "checkpoint"},
                         {"version", kCheckpointVersion},
                         {"config", config.to_json()},
                         {"settings", settings},
                         {"state", train_state_to_json(state)},
                         {"checksum", hex64(tensors_checksum(tensors))}};
  write_tensor_file(path, meta, tensors);
}

Checkpoint read_checkpoint(const std::string& path) {
  Checkpoint ck;
  ck.file = read_tensor_file(path);  // missing, truncated, bad magic: named errors
  const nlohmann::json& m = ck.file.meta;
  DR_CHECK(m.is_object() && m.value("kind", std::string()) == "checkpoint",
           path << ": not a training checkpoint (meta.kind is not \"checkpoint\"; a weight file "
                   "starts a run with --finetune, not --resume)");
  DR_CHECK(m.contains("version") && m["version"].is_number_integer(),
           path << ": checkpoint without a version");
  const int version = m["version"].get<int>();
  DR_CHECK(version == kCheckpointVersion, path << ": checkpoint version " << version
                                               << ", this build reads version " << kCheckpointVersion);
  DR_CHECK(m.contains("checksum"), path << ": checkpoint without a checksum");
  const uint64_t want = parse_hex64(m["checksum"], "meta.checksum", path);
  const uint64_t got = tensors_checksum(ck.file.tensors);
  DR_CHECK(got == want, path << ": corrupt checkpoint: the tensor data's checksum is " << hex64(got)
                             << ", the header says " << hex64(want)
                             << " (the file was damaged after it was written)");
  DR_CHECK(m.contains("config") && m.contains("settings") && m.contains("state"),
           path << ": checkpoint meta lacks config, settings or state");
  try {
    ck.config = ModelConfig::from_json(m["config"]);
  } catch (const Error& e) {
    DR_FAIL(path << ": bad model config in the checkpoint: " << e.what());
  }
  ck.settings = m["settings"];
  DR_CHECK(ck.settings.is_object(), path << ": meta.settings is not an object");
  ck.state = train_state_from_json(m["state"], path);
  return ck;
}

void restore_checkpoint(Context& ctx, const Checkpoint& ck, Module& model, Optimizer& opt) {
  TensorFile model_part;
  model_part.path = ck.file.path;
  model_part.meta = ck.file.meta;
  for (const auto& kv : ck.file.tensors)
    if (kv.first.compare(0, std::strlen(kOptimizerPrefix), kOptimizerPrefix) != 0)
      model_part.tensors.push_back(kv);
  load_weights(ctx, model, model_part);  // strict; the error names the file
  try {
    opt.load_state(ck.file.tensors);
  } catch (const Error& e) {
    DR_FAIL(ck.file.path << ": the optimizer state does not fit this run: " << e.what());
  }
  ctx.rng().set_state(ck.state.context_rng);
}

}  // namespace dr::train
