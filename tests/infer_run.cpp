#include "tests/infer_run.h"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/testing.h"

namespace dr::test {

std::string infer_binary() {
  const char* env = std::getenv("DR_BIN_DIR");
  return std::string(env && *env ? env : "build/bin") + "/infer";
}

std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

RunResult run_infer(const std::string& args) {
  const std::string cmd = q(infer_binary()) + " " + args + " --quiet 2>&1";
  RunResult r;
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "cannot run " << cmd);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<PredRecord> read_pred_json(const std::string& path) {
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    FAIL("pred.json is not valid JSON: " << path << ": " << e.what());
  }
  REQUIRE_MESSAGE(j.is_array(), path << " is not a JSON list");
  std::vector<PredRecord> out;
  for (size_t k = 0; k < j.size(); ++k) {
    const auto& r = j[k];
    INFO(path << "[" << k << "] = " << r.dump());
    REQUIRE(r.is_object());
    REQUIRE(r.size() == 4);
    REQUIRE((r.contains("image_id") && (r["image_id"].is_number_integer() || r["image_id"].is_string())));
    REQUIRE((r.contains("category_id") && r["category_id"].is_number_integer()));
    REQUIRE((r.contains("bbox") && r["bbox"].is_array() && r["bbox"].size() == 4));
    REQUIRE((r.contains("score") && r["score"].is_number()));
    PredRecord p;
    p.image_id = r["image_id"].dump();
    p.category_id = r["category_id"].get<int64_t>();
    for (int c = 0; c < 4; ++c) REQUIRE(r["bbox"][c].is_number());
    p.bbox = {r["bbox"][0].get<double>(), r["bbox"][1].get<double>(), r["bbox"][2].get<double>(),
              r["bbox"][3].get<double>()};
    p.score = r["score"].get<double>();
    REQUIRE((std::isfinite(p.bbox.x) && std::isfinite(p.bbox.y) && std::isfinite(p.bbox.w) &&
             std::isfinite(p.bbox.h) && std::isfinite(p.score)));
    out.push_back(p);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> read_pred_csv_rows(const std::string& path) {
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  std::string line;
  REQUIRE(std::getline(f, line));
  CHECK(line == "image_id,pred_label");
  std::vector<std::pair<std::string, std::string>> rows;
  while (std::getline(f, line)) {
    const size_t comma = line.rfind(',');
    REQUIRE_MESSAGE(comma != std::string::npos, path << ": row without a comma: " << line);
    rows.emplace_back(line.substr(0, comma), line.substr(comma + 1));
  }
  return rows;
}

std::vector<PredRecord> records_of(const std::vector<PredRecord>& all, const std::string& id) {
  std::vector<PredRecord> out;
  for (const PredRecord& r : all)
    if (r.image_id == id) out.push_back(r);
  return out;
}

}  // namespace dr::test
