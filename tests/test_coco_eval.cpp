// The COCO evaluator against pycocotools (tools/ref/coco_eval.py runs COCOeval on many
// random cases), plus hand-made cases whose numbers are known without it.
#include <cmath>
#include <cstdlib>

#include "eval/coco_eval.h"
#include "tests/testing.h"

using namespace dr;
using namespace dr::eval;

namespace {

std::string ref_dir() {
  const char* d = std::getenv("DR_REF_DIR");
  return d ? d : "build/ref";
}

std::vector<double> tensor_doubles(const Tensor& t) {
  REQUIRE(t.dtype() == DType::F64);
  return std::vector<double>(t.data<double>(), t.data<double>() + t.numel());
}

void check_stats(const std::array<double, kNumStats>& got, const std::vector<double>& want,
                 const std::string& what) {
  REQUIRE(want.size() == kNumStats);
  for (int i = 0; i < kNumStats; ++i) {
    INFO(what << " " << std::string(stat_short_name(i)) << ": got " << got[i] << ", pycocotools " << want[i]);
    CHECK(std::fabs(got[i] - want[i]) <= 1e-6);
  }
}

}  // namespace

TEST_CASE("coco eval: thresholds equal numpy.linspace bit for bit") {
  const TensorFile& ref = test::reference("coco_eval");
  CocoParams p;
  auto t = tensor_doubles(ref.get("iou_thrs")), r = tensor_doubles(ref.get("rec_thrs"));
  REQUIRE(t.size() == kNumIouThrs);
  REQUIRE(r.size() == kNumRecThrs);
  for (int i = 0; i < kNumIouThrs; ++i) CHECK(p.iou_thrs[i] == t[i]);
  for (int i = 0; i < kNumRecThrs; ++i) CHECK(p.rec_thrs[i] == r[i]);
}

TEST_CASE("coco eval: all 12 numbers and per-category AP equal pycocotools (random cases)") {
  const TensorFile& ref = test::reference("coco_eval");
  const std::string folder = ref_dir() + "/" + ref.meta.at("folder").get<std::string>();
  const double thr = ref.meta.at("thr").get<double>();
  const auto& cases = ref.meta.at("cases");
  REQUIRE(cases.size() >= 50);
  int with_values = 0;
  for (const auto& c : cases) {
    const std::string name = c.get<std::string>();
    CAPTURE(name);
    CocoGroundTruth gt = read_coco_gt(folder + "/" + name + "_gt.json");
    auto dets = read_detections(folder + "/" + name + "_dt.json", gt);
    CocoEvaluator ev(gt, dets);
    CocoStats s = ev.summarize();
    check_stats(s.stats, tensor_doubles(ref.get(name + ".stats")), name);
    auto per_cat = tensor_doubles(ref.get(name + ".per_cat"));
    REQUIRE(per_cat.size() == s.category_ap.size());
    for (size_t k = 0; k < per_cat.size(); ++k) {
      INFO(name << " category " << s.category_ids[k] << ": got " << s.category_ap[k]
                << ", pycocotools " << per_cat[k]);
      CHECK(std::fabs(s.category_ap[k] - per_cat[k]) <= 1e-6);
    }
    // The sweep's shortcut: summarize(thr) == evaluating only the detections >= thr.
    check_stats(ev.summarize(thr).stats, tensor_doubles(ref.get(name + ".stats_thr")),
                name + " score>=" + std::to_string(thr));
    // The sweep's ap_only mode: same AP, AP50, AP75 and per-category AP.
    CocoStats q = ev.summarize(-INFINITY, /*ap_only=*/true);
    for (int i = 0; i < 3; ++i) CHECK(q.stats[i] == s.stats[i]);
    CHECK(std::isnan(q.stats[8]));
    CHECK(q.category_ap == s.category_ap);
    with_values += s.stats[0] > 0;
  }
  CHECK(with_values >= 30);  // the cases must exercise more than the -1 / 0 paths
}

TEST_CASE("coco eval: hand-made cases") {
  CocoGroundTruth gt = parse_coco_gt(nlohmann::json::parse(R"({
    "images": [{"id": 1}, {"id": 2}],
    "categories": [{"id": 1}, {"id": 2}],
    "annotations": [
      {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100},
      {"id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 40, 40], "area": 1600}]})"),
                                     "hand");
  SUBCASE("perfect detections: AP 1 everywhere gt exists, -1 for the empty large range") {
    std::vector<Detection> d = {{1, 1, {0, 0, 10, 10}, 0.9}, {2, 2, {0, 0, 40, 40}, 0.8}};
    CocoStats s = CocoEvaluator(gt, d).summarize();
    for (int i : {0, 1, 2, 3, 4, 6, 7, 8, 9, 10}) CHECK(s.stats[i] == doctest::Approx(1.0));
    CHECK(s.stats[5] == -1);
    CHECK(s.stats[11] == -1);
  }
  SUBCASE("no detections at all: zeros, not -1, where gt exists") {
    CocoStats s = CocoEvaluator(gt, {}).summarize();
    CHECK(s.stats[0] == 0);
    CHECK(s.stats[8] == 0);
    CHECK(s.stats[5] == -1);
  }
  SUBCASE("IoU exactly 0.5 matches at .50 only") {
    std::vector<Detection> d = {{1, 1, {0, 0, 10, 20}, 0.9}, {2, 2, {0, 0, 40, 40}, 0.8}};
    CocoStats s = CocoEvaluator(gt, d).summarize();
    CHECK(s.category_ap50[0] == doctest::Approx(1.0));
    CHECK(s.category_ap[0] == doctest::Approx(0.1));  // 1 of 10 thresholds
  }
  SUBCASE("score filter drops the low detection") {
    std::vector<Detection> d = {{1, 1, {0, 0, 10, 10}, 0.9}, {2, 2, {0, 0, 40, 40}, 0.3}};
    CocoEvaluator ev(gt, d);
    CHECK(ev.summarize(0.5).category_ap[1] == 0);
    CHECK(ev.summarize(0.5).num_detections == 1);
  }
}

TEST_CASE("coco eval: bbox_iou follows maskApi bbIou, crowd uses the detection area") {
  CHECK(bbox_iou({0, 0, 10, 10}, {5, 0, 10, 10}, false) == doctest::Approx(50.0 / 150.0));
  CHECK(bbox_iou({0, 0, 10, 10}, {5, 0, 10, 10}, true) == doctest::Approx(0.5));
  CHECK(bbox_iou({0, 0, 10, 10}, {10, 0, 10, 10}, false) == 0);  // touching: w == 0
  CHECK(bbox_iou({0, 0, 0, 0}, {0, 0, 10, 10}, false) == 0);
}
