// eval: COCO mAP (equal to pycocotools), per-digit AP, whole-number accuracy with an error
// breakdown, and the score-threshold sweep. Run with --help; formats in docs/EVAL.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/stat.h>

#include "eval/chart.h"
#include "eval/coco_eval.h"
#include "eval/digits.h"
#include "eval/pred_csv.h"
#include "eval/sweep.h"
#include "kernels/error.h"
#include "tools/cli.h"

using namespace dr::eval;

namespace {

const char* kUsage =
    "usage: eval --gt GT.json [--pred pred.json] [--csv pred.csv] [options]\n"
    "\n"
    "  --gt FILE         COCO ground truth (images, annotations with area, categories 1..10 =\n"
    "                    digits 0..9)\n"
    "  --pred FILE       detections: [{\"image_id\", \"category_id\", \"bbox\": [x,y,w,h], \"score\"}]\n"
    "                    -> the 12 COCO numbers (pycocotools' COCOeval, bbox) and AP per digit\n"
    "  --csv FILE        whole-number predictions (header image_id,pred_label)\n"
    "                    -> accuracy and the error breakdown\n"
    "  --threshold T     also score pred.json as whole numbers: digits of the detections with\n"
    "                    score >= T, left to right by box center x\n"
    "  --digit-nms IOU   with --threshold / --sweep: of detections of any digits that overlap\n"
    "                    at IoU > IOU, only the highest-scoring one is read (default 0.3, as\n"
    "                    infer's pred.csv; 1: off)\n"
    "  --sweep           with --pred: mAP and accuracy for every threshold in the range below,\n"
    "                    the best threshold by accuracy\n"
    "  --lo --hi --step  sweep range (default 0.45 0.90 0.01)\n"
    "  --out DIR         write DIR/metrics.json, DIR/errors.csv (wrong images, worst first),\n"
    "                    and with --sweep DIR/sweep.csv and DIR/sweep.svg + .png\n"
    "  --errors N        list the N worst wrong images (default 10)\n"
    "\n"
    "Error kinds: missed digit (prediction shorter than the truth, also -1), extra digit\n"
    "(longer), wrong order (same digits, another order), wrong digit (same length otherwise).\n";

struct Args {
  std::string gt, pred, csv, out;
  double threshold = -1;
  double digit_nms = kDigitNmsIou;
  bool sweep = false;
  double lo = 0.45, hi = 0.90, step = 0.01;
  int errors = 10;
};

Args parse(int argc, char** argv) {
  Args a;
  for (dr::cli::ArgWalker w(argc, argv, kUsage); w.next();) {
    if (w.is("--gt")) a.gt = w.value();
    else if (w.is("--pred")) a.pred = w.value();
    else if (w.is("--csv")) a.csv = w.value();
    else if (w.is("--out")) a.out = w.value();
    else if (w.is("--threshold")) a.threshold = w.double_value();
    else if (w.is("--digit-nms")) a.digit_nms = w.double_value();
    else if (w.is("--sweep")) a.sweep = true;
    else if (w.is("--lo")) a.lo = w.double_value();
    else if (w.is("--hi")) a.hi = w.double_value();
    else if (w.is("--step")) a.step = w.double_value();
    else if (w.is("--errors")) a.errors = static_cast<int>(w.int_value(0));
    else w.unknown();
  }
  DR_CHECK(!a.gt.empty(), "--gt is required (see --help)");
  DR_CHECK(!a.pred.empty() || !a.csv.empty(), "give --pred and/or --csv (see --help)");
  DR_CHECK(!a.sweep || !a.pred.empty(), "--sweep needs --pred");
  DR_CHECK(a.threshold < 0 || !a.pred.empty(), "--threshold needs --pred");
  DR_CHECK(a.digit_nms >= 0 && a.digit_nms <= 1, "--digit-nms must be in [0, 1], got " << a.digit_nms);
  return a;
}

void print_accuracy(const std::string& what, const AccuracyReport& r, const CocoGroundTruth& gt,
                    int n_worst) {
  std::printf("\nWhole-number accuracy (%s): %.4f  (%lld / %lld images)\n", what.c_str(), r.accuracy,
              static_cast<long long>(r.correct), static_cast<long long>(r.images));
  for (int k = 1; k < kNumErrorKinds; ++k)
    std::printf("  %-13s %6lld  (%.2f%%)\n", error_kind_name(static_cast<ErrorKind>(k)),
                static_cast<long long>(r.counts[k]),
                r.images ? 100.0 * r.counts[k] / r.images : 0.0);
  std::vector<const ImageOutcome*> wrong;
  for (const ImageOutcome& o : r.outcomes)
    if (o.kind != ErrorKind::kCorrect) wrong.push_back(&o);
  std::stable_sort(wrong.begin(), wrong.end(), [](const ImageOutcome* a, const ImageOutcome* b) {
    return a->edit_distance > b->edit_distance;
  });
  if (n_worst > 0 && !wrong.empty()) {
    std::printf("  worst images (edit distance):\n");
    for (int i = 0; i < n_worst && i < static_cast<int>(wrong.size()); ++i) {
      const ImageOutcome& o = *wrong[i];
      std::printf("    %-10lld %-16s truth %-8s pred %-8s %s (%d)\n", static_cast<long long>(o.image_id),
                  gt.images[gt.image_index.at(o.image_id)].file_name.c_str(), o.truth.c_str(),
                  o.pred.c_str(), error_kind_name(o.kind), o.edit_distance);
    }
  }
}

void write_errors_csv(const std::string& path, const AccuracyReport& r, const CocoGroundTruth& gt) {
  std::vector<const ImageOutcome*> wrong;
  for (const ImageOutcome& o : r.outcomes)
    if (o.kind != ErrorKind::kCorrect) wrong.push_back(&o);
  std::stable_sort(wrong.begin(), wrong.end(), [](const ImageOutcome* a, const ImageOutcome* b) {
    return a->edit_distance > b->edit_distance;
  });
  std::ofstream f(path);
  DR_CHECK(f, path << ": cannot open for writing");
  f << "image_id,file_name,truth,pred,error,edit_distance\n";
  for (const ImageOutcome* o : wrong)
    f << o->image_id << "," << gt.images[gt.image_index.at(o->image_id)].file_name << "," << o->truth
      << "," << o->pred << "," << error_kind_name(o->kind) << "," << o->edit_distance << "\n";
  std::printf("wrote %s\n", path.c_str());
}

nlohmann::ordered_json accuracy_json(const AccuracyReport& r) {
  nlohmann::ordered_json j{{"accuracy", r.accuracy}, {"correct", r.correct}, {"images", r.images}};
  for (int k = 1; k < kNumErrorKinds; ++k) j[error_kind_name(static_cast<ErrorKind>(k))] = r.counts[k];
  return j;
}

int run(const Args& a) {
  using clock = std::chrono::steady_clock;
  CocoGroundTruth gt = read_coco_gt(a.gt);
  std::printf("ground truth %s: %zu images, %zu annotations, %zu categories\n", a.gt.c_str(),
              gt.images.size(), gt.annotations.size(), gt.categories.size());
  for (const GtAnnotation& g : gt.annotations)
    if (g.id == 0) {
      std::printf("warning: annotation id 0: pycocotools counts a match with it as a miss; "
                  "this evaluator does the same so the numbers stay equal\n");
      break;
    }
  if (!a.out.empty()) mkdir(a.out.c_str(), 0755);
  nlohmann::ordered_json summary;
  const std::vector<std::string> truth = gt_strings(gt);
  AccuracyReport errors_for_csv;
  bool have_errors = false;
  if (!a.pred.empty()) {
    auto t0 = clock::now();
    std::vector<Detection> dets = read_detections(a.pred, gt);
    auto t1 = clock::now();
    CocoEvaluator ev(gt, dets);
    CocoStats s = ev.summarize();
    auto t2 = clock::now();
    long ignored = 0;
    for (const Detection& d : dets) ignored += !gt.has_category(d.category_id);
    std::printf("detections %s: %zu (read %.2f s, evaluated %.2f s)\n", a.pred.c_str(), dets.size(),
                std::chrono::duration<double>(t1 - t0).count(),
                std::chrono::duration<double>(t2 - t1).count());
    if (ignored > 0)
      std::printf("warning: %ld detections have categories the ground truth does not list; "
                  "ignored, as COCOeval does\n", ignored);
    std::printf("\n");
    std::fputs(format_stats(s).c_str(), stdout);
    std::printf("\n%-8s %-6s %8s %8s %6s\n", "category", "digit", "AP", "AP50", "gt");
    std::vector<long> n_gt(s.category_ids.size());
    for (const GtAnnotation& g : gt.annotations)
      if (!g.iscrowd)
        n_gt[std::lower_bound(s.category_ids.begin(), s.category_ids.end(), g.category_id) -
             s.category_ids.begin()]++;
    nlohmann::ordered_json per;
    for (size_t k = 0; k < s.category_ids.size(); ++k) {
      const Category& c = gt.categories[gt.category_index.at(s.category_ids[k])];
      std::printf("%-8lld %-6s %8.4f %8.4f %6ld\n", static_cast<long long>(c.id), c.name.c_str(),
                  s.category_ap[k], s.category_ap50[k], n_gt[k]);
      per.push_back({{"category_id", c.id}, {"name", c.name}, {"ap", s.category_ap[k]},
                     {"ap50", s.category_ap50[k]}, {"gt", n_gt[k]}});
    }
    for (int i = 0; i < kNumStats; ++i) summary["coco"][stat_short_name(i)] = s.stats[i];
    summary["per_category"] = per;
    if (a.threshold >= 0) {
      AccuracyReport r = score_strings(gt, truth, predicted_strings(gt, dets, a.threshold, a.digit_nms));
      char what[96];
      std::snprintf(what, sizeof what, "pred.json, score >= %g, digit NMS %g", a.threshold, a.digit_nms);
      print_accuracy(what, r, gt, a.errors);
      summary["accuracy_pred_json"] = accuracy_json(r);
      summary["accuracy_pred_json"]["threshold"] = a.threshold;
      summary["accuracy_pred_json"]["digit_nms"] = a.digit_nms;
      errors_for_csv = std::move(r);
      have_errors = true;
    }
    if (a.sweep) {
      auto rows = run_sweep(gt, dets, sweep_thresholds(a.lo, a.hi, a.step), a.digit_nms);
      const SweepRow& best = rows[best_by_accuracy(rows)];
      std::printf("\nThreshold sweep (%zu thresholds, digit NMS %g):\n%s", rows.size(), a.digit_nms,
                  format_sweep_table(rows).c_str());
      std::printf("best threshold by accuracy: %.2f  (accuracy %.4f, mAP %.4f)\n", best.threshold,
                  best.accuracy, best.map);
      summary["sweep_best"] = {{"threshold", best.threshold}, {"accuracy", best.accuracy},
                               {"map", best.map}, {"digit_nms", a.digit_nms}};
      if (!a.out.empty()) {
        write_sweep_csv(a.out + "/sweep.csv", rows);
        std::printf("wrote %s/sweep.csv\n", a.out.c_str());
        Chart c;
        c.title = "Score threshold sweep";
        c.x_label = "score threshold";
        c.y_label = "score";
        c.y_from_zero = true;
        Series acc{"whole-number accuracy", {}, {}, palette(2)}, map{"mAP@[.5:.95]", {}, {}, palette(0)},
            map50{"AP50", {}, {}, palette(1), true};
        for (const SweepRow& r : rows) {
          acc.x.push_back(r.threshold), acc.y.push_back(r.accuracy);
          map.x.push_back(r.threshold), map.y.push_back(r.map);
          map50.x.push_back(r.threshold), map50.y.push_back(r.map50);
        }
        c.series = {acc, map, map50};
        char lbl[64];
        std::snprintf(lbl, sizeof lbl, "best %.2f: acc %.4f", best.threshold, best.accuracy);
        c.markers.push_back({best.threshold, lbl, {90, 90, 90}});
        for (const std::string& p : write_chart(c, a.out + "/sweep", "both")) std::printf("wrote %s\n", p.c_str());
      }
    }
  }
  if (!a.csv.empty()) {
    PredCsv p = read_pred_csv(a.csv, gt);
    if (p.missing_rows > 0)
      std::printf("warning: %s has no row for %lld images; they count as -1\n", a.csv.c_str(),
                  static_cast<long long>(p.missing_rows));
    AccuracyReport r = score_strings(gt, truth, p.labels);
    print_accuracy(a.csv, r, gt, a.errors);
    summary["accuracy_csv"] = accuracy_json(r);
    summary["accuracy_csv"]["missing_rows"] = p.missing_rows;
    errors_for_csv = std::move(r);  // pred.csv wins: it is the submitted answer
    have_errors = true;
  }
  if (!a.out.empty()) {
    if (have_errors) write_errors_csv(a.out + "/errors.csv", errors_for_csv, gt);
    std::ofstream f(a.out + "/metrics.json");
    DR_CHECK(f, a.out << "/metrics.json: cannot open for writing");
    f << summary.dump(2) << "\n";
    std::printf("wrote %s/metrics.json\n", a.out.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eval: %s\n", e.what());
    return 1;
  }
}
