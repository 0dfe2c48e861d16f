// The inference command end to end (tools/infer.cpp run as a user would): its pred.json
// equals torchvision's detections for the same converted weights and images
// (tools/ref/infer_model.py), its pred.csv the digit strings the script computed by the
// documented rule, for a padded batch and for one image a batch (the padding changes the
// detections, so each run has its own reference). Also the COCO-JSON mode, --limit, and a
// run on real images when ../shared/data/svhn-real exists.
//
// Tolerances as tests/test_detector_parity.cpp: boxes 2e-3 px (float error of the whole
// forward, scaled back to original pixels), scores 1e-4; sets, since the order of
// equal-score detections is not meaningful.
#include <fstream>

#include "data/image.h"
#include "data/image_list.h"
#include "tests/data_helpers.h"
#include "tests/detections_match.h"
#include "tests/infer_run.h"
#include "tests/testing.h"

using namespace dr;

namespace {

std::string weights_path() { return test::ref_dir() + "/infer_model.weights.bin"; }

// The reference images as PNGs named by these ids: 11.png, 3.png, 7.png (numeric order
// differs from name order, which the output order must follow).
const std::vector<std::string> kIds = {"11", "3", "7"};

std::string write_reference_images(const TensorFile& ref) {
  const std::string dir = test::temp_dir("infer_images");
  for (size_t i = 0; i < kIds.size(); ++i) {
    const Tensor& t = ref.get("image." + std::to_string(i));  // (H, W, 3) u8
    data::Image im(static_cast<int>(t.shape()[0]), static_cast<int>(t.shape()[1]));
    std::copy(t.data<uint8_t>(), t.data<uint8_t>() + t.numel(), im.px.begin());
    data::write_png(dir + "/" + kIds[i] + ".png", im);
  }
  return dir;
}

test::DetectionSet to_set(const std::vector<test::PredRecord>& recs) {
  const int64_t k = static_cast<int64_t>(recs.size());
  test::DetectionSet s{Tensor::host({k, 4}, DType::F32), Tensor::host({k}, DType::F32),
                       Tensor::host({k}, DType::I64)};
  for (int64_t j = 0; j < k; ++j) {
    const eval::Box& b = recs[j].bbox;
    float* row = s.boxes.data<float>() + 4 * j;
    row[0] = static_cast<float>(b.x), row[1] = static_cast<float>(b.y);
    row[2] = static_cast<float>(b.x + b.w), row[3] = static_cast<float>(b.y + b.h);
    s.scores.data<float>()[j] = static_cast<float>(recs[j].score);
    s.labels.data<int64_t>()[j] = recs[j].category_id;
  }
  return s;
}

// Every record: a digit category, a score the model can return, a box inside its image.
void check_valid(const std::vector<test::PredRecord>& recs, int w, int h) {
  for (const test::PredRecord& r : recs) {
    INFO("image " << r.image_id << " box " << r.bbox.x << "," << r.bbox.y << "," << r.bbox.w
                  << "," << r.bbox.h);
    CHECK((r.category_id >= 1 && r.category_id <= 10));
    CHECK((r.score >= 0.05 && r.score <= 1.0));
    CHECK((r.bbox.x >= 0 && r.bbox.y >= 0 && r.bbox.w >= 0 && r.bbox.h >= 0));
    CHECK(r.bbox.x + r.bbox.w <= w + 1e-3);
    CHECK(r.bbox.y + r.bbox.h <= h + 1e-3);
  }
}

void check_against_reference(const TensorFile& ref, const std::string& run, const std::string& out,
                             const std::vector<size_t>& images, const std::vector<std::string>& ids) {
  const auto recs = test::read_pred_json(out + "/pred.json");
  const auto rows = test::read_pred_csv_rows(out + "/pred.csv");
  REQUIRE(rows.size() == images.size());
  size_t total = 0;
  for (size_t k = 0; k < images.size(); ++k) {
    const std::string i = std::to_string(images[k]);
    INFO(run << " image " << i << " (id " << ids[k] << ")");
    CHECK(rows[k].first == ids[k]);
    CHECK(rows[k].second == ref.meta["strings"][run][images[k]].get<std::string>());
    const auto mine = test::records_of(recs, ids[k]);
    const Tensor& img = ref.get("image." + i);
    check_valid(mine, static_cast<int>(img.shape()[1]), static_cast<int>(img.shape()[0]));
    Context ctx;
    const std::string err = test::match_detections(
        ctx, to_set(mine),
        {ref.get(run + "." + i + ".boxes"), ref.get(run + "." + i + ".scores"),
         ref.get(run + "." + i + ".labels")},
        2e-3, 1e-4);
    CHECK_MESSAGE(err.empty(), err);
    total += mine.size();
  }
  CHECK(total == recs.size());  // no record for an image that was not asked for
}

std::string thresh_arg(const TensorFile& ref) {
  char buf[96];
  std::snprintf(buf, sizeof buf, " --score-thresh %.9g --digit-nms %.9g",
                ref.meta["score_thresh"].get<double>(), ref.meta["digit_nms"].get<double>());
  return buf;
}

}  // namespace

TEST_CASE("infer: pred.json equals torchvision's detections and pred.csv its digit strings") {
  const TensorFile& ref = test::reference("infer_model");
  const std::string dir = write_reference_images(ref);
  const std::string common =
      "--weights " + test::q(weights_path()) + " --images " + test::q(dir) + " --device cpu" + thresh_arg(ref);
  // Output rows in id order: 3 (image 1), 7 (image 2), 11 (image 0).
  const std::vector<size_t> order = {1, 2, 0};
  const std::vector<std::string> ids = {"3", "7", "11"};
  for (const char* run : {"batched", "single"}) {
    SUBCASE(run) {
      const std::string out = test::temp_dir("infer_out") + "/nested/out";  // created by infer
      const std::string bs = std::string(run) == "batched" ? " --batch-size 8" : " --batch-size 1";
      test::RunResult r = test::run_infer(common + bs + " --out " + test::q(out));
      INFO(r.output);
      REQUIRE(r.rc == 0);
      check_against_reference(ref, run, out, order, ids);
    }
  }
}

TEST_CASE("infer: a COCO JSON names the images and gives the ids; --limit") {
  const TensorFile& ref = test::reference("infer_model");
  const std::string dir = write_reference_images(ref);
  const std::string json = dir + ".json";
  std::ofstream(json) << R"({"images": [{"id": 500, "file_name": "11.png", "width": 90, "height": 40},
                                        {"id": 42, "file_name": "3.png", "width": 48, "height": 64}]})";
  const std::string out = test::temp_dir("infer_out");
  // --images defaults to the JSON's path without ".json" (= dir).
  test::RunResult r = test::run_infer("--weights " + test::q(weights_path()) + " --coco " + test::q(json) +
                                      " --out " + test::q(out) + thresh_arg(ref));
  INFO(r.output);
  REQUIRE(r.rc == 0);
  // Rows in the JSON's order. The padded batch of these two images is 96 x 128, as for
  // the three of the reference's batched run, so the detections are the batched ones.
  check_against_reference(ref, "batched", out, {0, 1}, {"500", "42"});

  const std::string out2 = test::temp_dir("infer_out");
  r = test::run_infer("--weights " + test::q(weights_path()) + " --images " + test::q(dir) +
                      " --limit 2 --batch-size 1 --threads 1 --out " + test::q(out2) + thresh_arg(ref));
  INFO(r.output);
  REQUIRE(r.rc == 0);
  check_against_reference(ref, "single", out2, {1, 2}, {"3", "7"});
}

TEST_CASE("infer: the first 50 real test images give valid pred.json / pred.csv") {
  const std::string shared = test::shared_data_dir();
  if (shared.empty()) {
    MESSAGE("skipped: ../shared/data/svhn-real not found");
    return;
  }
  const std::string images = shared + "/test";
  const std::string out = test::temp_dir("infer_real");
  test::RunResult r = test::run_infer("--weights " + test::q(weights_path()) + " --images " +
                                      test::q(images) + " --limit 50 --batch-size 25 --out " + test::q(out));
  INFO(r.output);
  REQUIRE(r.rc == 0);
  const auto refs = data::list_image_folder(images);
  const auto recs = test::read_pred_json(out + "/pred.json");
  const auto rows = test::read_pred_csv_rows(out + "/pred.csv");
  REQUIRE(rows.size() == 50);
  size_t total = 0;
  for (size_t i = 0; i < 50; ++i) {
    CHECK(rows[i].first == refs[i].id.text);
    const std::string& label = rows[i].second;
    CHECK((label == "-1" || (!label.empty() && label.find_first_not_of("0123456789") == std::string::npos)));
    const data::Image im = data::read_image(refs[i].path);
    const auto mine = test::records_of(recs, refs[i].id.text);
    check_valid(mine, im.w, im.h);
    total += mine.size();
  }
  CHECK(total == recs.size());
  CHECK(recs.size() > 0);
}
