// The flat tensor file: one format for converted torchvision weights, checkpoints and
// the torch reference dumps the parity tests read. Layout (little-endian):
//
//   offset 0   8 bytes   magic "DRTENSOR"
//          8   u32       format version (kTensorFileVersion)
//         12   u32       reserved, 0
//         16   u64       H = byte length of the JSON header
//         24   H bytes   JSON header (UTF-8):
//                          {"meta": {...},                      free-form: model config, dump info
//                           "tensors": [{"name": "backbone.body.conv1.weight",
//                                        "dtype": "f32", "shape": [64, 3, 7, 7],
//                                        "offset": 0, "nbytes": 37632}, ...]}
//              zero padding up to a multiple of 64 = data start D
//          D   tensor data; each tensor at D + offset, offsets multiples of 64,
//              row-major (C order), nbytes = numel * dtype size
//
// Names are torch state_dict keys verbatim. tools/flatfile.py reads and writes the same
// format from Python. Writes are atomic (temporary file + rename), so a crash never
// leaves a half-written file under the final name.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "nn/tensor.h"

namespace dr {

constexpr char kTensorFileMagic[9] = "DRTENSOR";
constexpr uint32_t kTensorFileVersion = 1;

struct TensorFile {
  std::string path;
  nlohmann::json meta = nlohmann::json::object();
  std::vector<std::pair<std::string, Tensor>> tensors;  // host tensors, file order

  const Tensor* find(const std::string& name) const;
  // Throws "<path>: no tensor named '<name>'".
  const Tensor& get(const std::string& name) const;
  bool contains(const std::string& name) const { return find(name) != nullptr; }
};

// Throws dr::Error naming the file for: missing/unreadable file, wrong magic, unknown
// version, malformed header, unknown dtype, size mismatch, truncated data.
TensorFile read_tensor_file(const std::string& path);
// tensors must be host tensors (copy device tensors with Context::to_host first).
void write_tensor_file(const std::string& path, const nlohmann::json& meta,
                       const std::vector<std::pair<std::string, Tensor>>& tensors);

}  // namespace dr
