#include "nn/tensor_file.h"

#include <cstdio>
#include <cstring>
#include <fstream>

namespace dr {

const Tensor* TensorFile::find(const std::string& name) const {
  for (auto& kv : tensors)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

const Tensor& TensorFile::get(const std::string& name) const {
  const Tensor* t = find(name);
  DR_CHECK(t, path << ": no tensor named '" << name << "'");
  return *t;
}

static uint64_t align64(uint64_t x) { return (x + 63) / 64 * 64; }

TensorFile read_tensor_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  DR_CHECK(in, path << ": cannot open tensor file (" << std::strerror(errno) << ")");
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  DR_CHECK(file_size >= 24, path << ": truncated: " << file_size
                                 << " bytes is shorter than the 24-byte preamble");
  char magic[8];
  uint32_t version = 0, reserved = 0;
  uint64_t header_len = 0;
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(&version), 4);
  in.read(reinterpret_cast<char*>(&reserved), 4);
  in.read(reinterpret_cast<char*>(&header_len), 8);
  DR_CHECK(std::memcmp(magic, kTensorFileMagic, 8) == 0,
           path << ": not a digit-rcnn tensor file (bad magic; convert torch weights with "
                   "tools/convert_weights.py)");
  DR_CHECK(version == kTensorFileVersion, path << ": tensor file version " << version
                                               << ", this build reads version "
                                               << kTensorFileVersion);
  DR_CHECK(24 + header_len <= file_size, path << ": truncated inside the JSON header ("
                                              << header_len << " header bytes, file has "
                                              << file_size << ")");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  TensorFile tf;
  tf.path = path;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    DR_FAIL(path << ": malformed JSON header: " << e.what());
  }
  DR_CHECK(j.is_object() && j.contains("tensors") && j["tensors"].is_array(),
           path << ": JSON header has no \"tensors\" list");
  if (j.contains("meta")) tf.meta = j["meta"];
  const uint64_t data_start = align64(24 + header_len);
  for (const auto& e : j["tensors"]) {
    std::string name;
    Shape shape;
    DType dtype;
    uint64_t offset, nbytes;
    try {
      name = e.at("name").get<std::string>();
      dtype = dtype_from_name(e.at("dtype").get<std::string>());
      shape = e.at("shape").get<Shape>();
      offset = e.at("offset").get<uint64_t>();
      nbytes = e.at("nbytes").get<uint64_t>();
    } catch (const std::exception& ex) {
      DR_FAIL(path << ": bad tensor entry " << e.dump() << ": " << ex.what());
    }
    Tensor t = Tensor::host(shape, dtype);
    DR_CHECK(nbytes == t.nbytes(), path << ": tensor '" << name << "' " << shape_str(shape)
                                        << " " << dtype_name(dtype) << " should have "
                                        << t.nbytes() << " bytes, header says " << nbytes);
    DR_CHECK(data_start + offset + nbytes <= file_size,
             path << ": truncated: tensor '" << name << "' ends at byte "
                  << data_start + offset + nbytes << " but the file has " << file_size);
    in.seekg(static_cast<std::streamoff>(data_start + offset));
    in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(nbytes));
    DR_CHECK(in, path << ": read error in tensor '" << name << "'");
    tf.tensors.emplace_back(name, t);
  }
  return tf;
}

void write_tensor_file(const std::string& path, const nlohmann::json& meta,
                       const std::vector<std::pair<std::string, Tensor>>& tensors) {
  nlohmann::json j;
  j["meta"] = meta;
  j["tensors"] = nlohmann::json::array();
  uint64_t offset = 0;
  for (auto& kv : tensors) {
    const Tensor& t = kv.second;
    DR_CHECK(!t.is_cuda(), "write_tensor_file " << path << ": tensor '" << kv.first
                                                << "' is on " << t.device().str()
                                                << "; copy it to the host first");
    j["tensors"].push_back({{"name", kv.first},
                            {"dtype", dtype_name(t.dtype())},
                            {"shape", t.shape()},
                            {"offset", offset},
                            {"nbytes", t.nbytes()}});
    offset = align64(offset + t.nbytes());
  }
  const std::string header = j.dump();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    DR_CHECK(out, tmp << ": cannot write (" << std::strerror(errno) << ")");
    uint32_t version = kTensorFileVersion, reserved = 0;
    uint64_t header_len = header.size();
    out.write(kTensorFileMagic, 8);
    out.write(reinterpret_cast<const char*>(&version), 4);
    out.write(reinterpret_cast<const char*>(&reserved), 4);
    out.write(reinterpret_cast<const char*>(&header_len), 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    const uint64_t data_start = align64(24 + header_len);
    std::string pad(data_start - 24 - header_len, '\0');
    out.write(pad.data(), static_cast<std::streamsize>(pad.size()));
    uint64_t pos = 0;
    for (auto& kv : tensors) {
      const Tensor& t = kv.second;
      out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
      pos += t.nbytes();
      uint64_t next = align64(pos);
      std::string zeros(next - pos, '\0');
      out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
      pos = next;
    }
    out.flush();
    DR_CHECK(out, tmp << ": write failed (disk full?)");
  }
  DR_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0,
           "cannot rename " << tmp << " to " << path << " (" << std::strerror(errno) << ")");
}

}  // namespace dr
