// plot: charts from a training metrics log (JSON lines, docs/EVAL.md) as SVG and/or PNG.
//   plot --log runs/x/metrics.jsonl --out runs/x/plots [--format svg|png|both]
// Writes loss.*, lr.* and val.* (those the log has data for) and lists them.
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>

#include "eval/metrics_log.h"
#include "kernels/error.h"

namespace {

void usage(FILE* f) {
  std::fprintf(f,
               "usage: plot --log METRICS.jsonl --out DIR [--format svg|png|both]\n"
               "  Charts from the training metrics log (one JSON object a line):\n"
               "    loss.svg/png  total loss and its parts (loss_classifier, loss_box_reg,\n"
               "                  loss_objectness, loss_rpn_box_reg) by step\n"
               "    lr.svg/png    learning rate by step (log scale when it spans decades)\n"
               "    val.svg/png   val_map, val_map50, val_acc by epoch\n"
               "  --format  svg, png or both (default both); SVG opens in any browser, PNG in any viewer\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string log, out, format = "both";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "plot: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--log") log = next();
    else if (a == "--out") out = next();
    else if (a == "--format") format = next();
    else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "plot: unknown argument %s\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (log.empty() || out.empty()) {
    usage(stderr);
    return 2;
  }
  try {
    mkdir(out.c_str(), 0755);
    auto records = dr::eval::read_metrics_log(log);
    auto charts = dr::eval::training_charts(records);
    DR_CHECK(!charts.empty(), log << ": no loss, lr, val_map or val_acc values to plot ("
                                  << records.size() << " records)");
    for (const auto& c : charts)
      for (const std::string& p : dr::eval::write_chart(c.chart, out + "/" + c.name, format))
        std::printf("wrote %s\n", p.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plot: %s\n", e.what());
    return 1;
  }
  return 0;
}
