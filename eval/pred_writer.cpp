#include "eval/pred_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "eval/digits.h"
#include "kernels/error.h"

namespace dr::eval {

namespace {

// %.9g: a float survives the round trip; boxes and scores come from f32 tensors.
void put_number(std::string& s, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  s += buf;
}

// A CSV field: quoted (with doubled quotes) only when it holds a separator or quote.
std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::FILE* open_or_throw(const std::string& tmp, const std::string& final_path) {
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  DR_CHECK(f != nullptr, final_path << ": cannot write " << tmp << " (" << std::strerror(errno) << ")");
  return f;
}

}  // namespace

PredictionWriter::PredictionWriter(const std::string& out_dir, double score_thresh,
                                   double nms_iou)
    : dir_(out_dir), thresh_(score_thresh), nms_iou_(nms_iou) {
  const std::string suffix = ".tmp." + std::to_string(getpid());
  json_tmp_ = json_path() + suffix;
  csv_tmp_ = csv_path() + suffix;
  json_ = open_or_throw(json_tmp_, json_path());
  csv_ = std::fopen(csv_tmp_.c_str(), "w");
  if (!csv_) {
    const int err = errno;
    close_files();
    DR_FAIL(csv_path() << ": cannot write " << csv_tmp_ << " (" << std::strerror(err) << ")");
  }
  std::fputs("[", json_);
  std::fputs("image_id,pred_label\n", csv_);
}

PredictionWriter::~PredictionWriter() {
  if (!finished_) close_files();
}

void PredictionWriter::close_files() {
  if (json_) {
    std::fclose(json_);
    std::remove(json_tmp_.c_str());
  }
  if (csv_) {
    std::fclose(csv_);
    std::remove(csv_tmp_.c_str());
  }
  json_ = csv_ = nullptr;
}

std::string PredictionWriter::add(const std::string& id_text, bool numeric_id,
                                  const std::vector<LabeledBox>& dets) {
  DR_CHECK(!finished_ && json_, "PredictionWriter: add() after finish()");
  const std::string id_json = numeric_id ? id_text : nlohmann::json(id_text).dump();
  std::string s;
  std::vector<DigitBox> digits;
  for (const LabeledBox& d : dets) {
    s += detections_ == 0 ? "\n" : ",\n";
    s += "{\"image_id\": " + id_json + ", \"category_id\": " + std::to_string(d.label) +
         ", \"bbox\": [";
    put_number(s, d.bbox.x), s += ", ", put_number(s, d.bbox.y), s += ", ";
    put_number(s, d.bbox.w), s += ", ", put_number(s, d.bbox.h);
    s += "], \"score\": ";
    put_number(s, d.score);
    s += "}";
    ++detections_;
    if (d.score < thresh_) continue;
    if (d.label < 1 || d.label > 10) {
      ++non_digit_;
      continue;
    }
    digits.push_back({d.bbox, category_digit(d.label, "detection"), d.score});
  }
  std::string label = digit_string(suppress_overlapping_digits(digits, nms_iou_));
  DR_CHECK(std::fwrite(s.data(), 1, s.size(), json_) == s.size(),
           json_path() << ": write error (" << std::strerror(errno) << ")");
  DR_CHECK(std::fprintf(csv_, "%s,%s\n", csv_field(id_text).c_str(), label.c_str()) > 0,
           csv_path() << ": write error (" << std::strerror(errno) << ")");
  ++images_;
  return label;
}

void PredictionWriter::finish() {
  DR_CHECK(!finished_, "PredictionWriter: finish() twice");
  std::fputs(detections_ ? "\n]\n" : "]\n", json_);
  const bool ok_json = std::fflush(json_) == 0 && fsync(fileno(json_)) == 0;
  const bool ok_csv = std::fflush(csv_) == 0 && fsync(fileno(csv_)) == 0;
  if (!ok_json || !ok_csv) {
    const int err = errno;
    close_files();
    DR_FAIL((ok_json ? csv_path() : json_path()) << ": write error (" << std::strerror(err) << ")");
  }
  std::fclose(json_);
  std::fclose(csv_);
  json_ = csv_ = nullptr;
  finished_ = true;
  DR_CHECK(std::rename(json_tmp_.c_str(), json_path().c_str()) == 0,
           json_path() << ": cannot rename " << json_tmp_ << " (" << std::strerror(errno) << ")");
  DR_CHECK(std::rename(csv_tmp_.c_str(), csv_path().c_str()) == 0,
           csv_path() << ": cannot rename " << csv_tmp_ << " (" << std::strerror(errno) << ")");
}

}  // namespace dr::eval
