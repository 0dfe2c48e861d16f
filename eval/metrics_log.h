// The training metrics log: JSON lines, one object per logged step or epoch (the format
// the training loop writes; docs/EVAL.md). Training steps:
//   {"epoch": 1, "step": 100, "loss": 1.23, "loss_classifier": .., "loss_box_reg": ..,
//    "loss_objectness": .., "loss_rpn_box_reg": .., "lr": 0.01}
// validation, once per epoch:
//   {"epoch": 1, "val_map": 0.41, "val_map50": 0.78, "val_acc": 0.63}
// Any other numeric keys are kept; non-numeric values are ignored.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "eval/chart.h"

namespace dr::eval {

struct MetricsRecord {
  int line = 0;                        // 1-based line in the file
  std::map<std::string, double> values;
  bool has(const std::string& k) const { return values.count(k) != 0; }
  double get(const std::string& k) const { return values.at(k); }
};

// Errors name the file and line: a line that is not a JSON object.
std::vector<MetricsRecord> parse_metrics_log(const std::string& text, const std::string& source);
std::vector<MetricsRecord> read_metrics_log(const std::string& path);

// Appends one record as a JSON line, keys in the given order (the training loop's writer).
// Opened, written and closed per call, so a crash loses at most that line. Non-finite
// values are written as null (JSON has no NaN) and read back as absent.
void append_metrics_record(const std::string& path,
                           const std::vector<std::pair<std::string, double>>& values);

struct NamedChart {
  std::string name;  // file stem: "loss", "lr", "val"
  Chart chart;
};
// The charts the log supports: loss (total and parts, by step), learning rate (by step),
// validation mAP and accuracy (by epoch). Charts without data are left out.
std::vector<NamedChart> training_charts(const std::vector<MetricsRecord>& log);

}  // namespace dr::eval
