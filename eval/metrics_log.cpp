#include "eval/metrics_log.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eval/coco_data.h"
#include "kernels/error.h"

namespace dr::eval {

std::vector<MetricsRecord> parse_metrics_log(const std::string& text, const std::string& source) {
  std::vector<MetricsRecord> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      DR_FAIL(source << ":" << n << ": not a JSON object: " << e.what());
    }
    DR_CHECK(j.is_object(), source << ":" << n << ": each line must be a JSON object, got "
                                   << line.substr(0, 60));
    MetricsRecord r;
    r.line = n;
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it->is_number()) r.values[it.key()] = it->get<double>();
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<MetricsRecord> read_metrics_log(const std::string& path) {
  return parse_metrics_log(read_text_file(path), path);
}

void append_metrics_record(const std::string& path,
                           const std::vector<std::pair<std::string, double>>& values) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : values) {
    // Integral values (epoch, step) print without a fraction.
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15)
      j[k] = static_cast<int64_t>(v);
    else if (std::isfinite(v))
      j[k] = v;
    else
      j[k] = nullptr;
  }
  std::ofstream f(path, std::ios::app);
  DR_CHECK(f, path << ": cannot open for appending");
  f << j.dump() << "\n";
  DR_CHECK(f.good(), path << ": write error");
}

namespace {

// A series of key against the x key over the records that have both.
Series series_of(const std::vector<const MetricsRecord*>& recs, const std::string& xkey,
                 const std::string& key, const std::string& name, int color) {
  Series s;
  s.name = name;
  s.color = palette(color);
  for (size_t i = 0; i < recs.size(); ++i) {
    if (!recs[i]->has(key)) continue;
    s.x.push_back(xkey.empty() ? static_cast<double>(i) : recs[i]->get(xkey));
    s.y.push_back(recs[i]->get(key));
  }
  return s;
}

}  // namespace

std::vector<NamedChart> training_charts(const std::vector<MetricsRecord>& log) {
  std::vector<const MetricsRecord*> train, val;
  for (const MetricsRecord& r : log) {
    if (r.has("loss") || r.has("lr")) train.push_back(&r);
    if (r.has("val_map") || r.has("val_acc") || r.has("val_map50")) val.push_back(&r);
  }
  std::vector<NamedChart> out;
  const bool by_step = !train.empty() &&
      std::all_of(train.begin(), train.end(), [](const MetricsRecord* r) { return r->has("step"); });
  const std::string xkey = by_step ? "step" : "";
  const std::string xlabel = by_step ? "step" : "logged record";
  if (!train.empty()) {
    Chart c;
    c.title = "Training loss";
    c.x_label = xlabel;
    c.y_label = "loss";
    c.y_from_zero = true;
    const char* keys[][2] = {{"loss", "total"},
                             {"loss_classifier", "classifier (cls)"},
                             {"loss_box_reg", "box regression (bbox)"},
                             {"loss_objectness", "RPN objectness (anchor)"},
                             {"loss_rpn_box_reg", "RPN box regression (anchor)"}};
    for (int i = 0; i < 5; ++i) {
      Series s = series_of(train, xkey, keys[i][0], keys[i][1], i);
      if (!s.x.empty()) c.series.push_back(std::move(s));
    }
    if (!c.series.empty()) out.push_back({"loss", std::move(c)});
    Series lr = series_of(train, xkey, "lr", "learning rate", 0);
    if (!lr.x.empty()) {
      Chart l;
      l.title = "Learning rate";
      l.x_label = xlabel;
      l.y_label = "lr";
      double lo = INFINITY, hi = 0;
      for (double v : lr.y)
        if (v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
      l.log_y = std::isfinite(lo) && hi / lo > 50;  // warmup and decays span decades
      l.y_from_zero = !l.log_y;
      lr.name.clear();
      l.series.push_back(std::move(lr));
      out.push_back({"lr", std::move(l)});
    }
  }
  if (!val.empty()) {
    Chart c;
    c.title = "Validation";
    c.x_label = "epoch";
    c.y_label = "score";
    c.y_from_zero = true;
    const char* keys[][2] = {{"val_map", "mAP@[.5:.95]"}, {"val_map50", "AP50"}, {"val_acc", "accuracy"}};
    for (int i = 0; i < 3; ++i) {
      Series s = series_of(val, "epoch", keys[i][0], keys[i][1], i);
      bool has_epoch = std::all_of(val.begin(), val.end(), [](const MetricsRecord* r) { return r->has("epoch"); });
      if (!has_epoch) s = series_of(val, "", keys[i][0], keys[i][1], i);
      s.markers = true;
      if (!s.x.empty()) c.series.push_back(std::move(s));
    }
    out.push_back({"val", std::move(c)});
  }
  return out;
}

}  // namespace dr::eval
