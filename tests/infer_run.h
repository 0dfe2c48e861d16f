// Helpers for the inference-command tests (test_infer*.cpp): run build/bin/infer as a
// user would and read back what it wrote.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "eval/coco_data.h"

namespace dr::test {

struct RunResult {
  int rc = -1;         // exit status
  std::string output;  // stdout + stderr
};

// $DR_BIN_DIR (set by `make test`) or build/bin, + "/infer".
std::string infer_binary();
// Runs `infer ARGS --quiet` through the shell, capturing everything it prints.
RunResult run_infer(const std::string& args);

// One pred.json record; image_id kept as JSON text ("12" or "\"abc\"").
struct PredRecord {
  std::string image_id;
  int64_t category_id = 0;
  eval::Box bbox;
  double score = 0;
};
// Parses OUT/pred.json strictly (a list of objects with exactly the four keys, numeric
// image ids or strings, finite numbers); a malformed file fails the calling test.
std::vector<PredRecord> read_pred_json(const std::string& path);
// OUT/pred.csv as (image_id, pred_label) rows; checks the header is exact.
std::vector<std::pair<std::string, std::string>> read_pred_csv_rows(const std::string& path);

// The records of one image, in file order.
std::vector<PredRecord> records_of(const std::vector<PredRecord>& all, const std::string& id);

// Shell-quoted argument.
std::string q(const std::string& s);

}  // namespace dr::test
