// The inference command's failure modes: each is a non-zero exit with a message that
// names what is wrong (the folder, the image file, the weight file and its tensors), or,
// for --on-error skip and a non-digit model, a warning and valid output.
#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>

#include "data/image.h"
#include "nn/context.h"
#include "tests/data_helpers.h"
#include "tests/infer_run.h"
#include "tests/testing.h"

using namespace dr;

namespace {

std::string weights_path() { return test::ref_dir() + "/infer_model.weights.bin"; }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  REQUIRE_MESSAGE(d != nullptr, "cannot list " << dir);
  while (dirent* e = readdir(d))
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// A folder with two readable images (ids 1, 2).
std::string small_folder() {
  const std::string dir = test::temp_dir("infer_err");
  data::write_png(dir + "/1.png", test::rect_image(30, 50, 10, 5, 30, 25));
  data::write_png(dir + "/2.png", test::rect_image(44, 20, 2, 2, 15, 40));
  return dir;
}

test::RunResult infer_on(const std::string& dir, const std::string& extra,
                         const std::string& weights = weights_path()) {
  const std::string out = test::temp_dir("infer_err_out");
  return test::run_infer("--weights " + test::q(weights) + " --images " + test::q(dir) +
                         " --out " + test::q(out) + " " + extra);
}

// The reference weights with meta.config edited and tensors changed by `edit`.
std::string edited_weights(const std::string& tag, const std::function<void(TensorFile&)>& edit) {
  TensorFile tf = read_tensor_file(weights_path());
  edit(tf);
  const std::string path = test::temp_dir("infer_w") + "/" + tag + ".weights.bin";
  write_tensor_file(path, tf.meta, tf.tensors);
  return path;
}

}  // namespace

TEST_CASE("infer: missing, empty or non-folder image folders are errors naming them") {
  test::RunResult r = infer_on("/nonexistent/images_dir", "");
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, "/nonexistent/images_dir does not exist"), r.output);

  const std::string empty = test::temp_dir("infer_empty");
  std::ofstream(empty + "/notes.txt") << "not an image";
  r = infer_on(empty, "");
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, empty + " holds no image"), r.output);

  r = infer_on(weights_path(), "");
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, "is not a folder"), r.output);
}

TEST_CASE("infer: an unreadable image stops the run or is skipped with a warning naming it") {
  const std::string dir = small_folder();
  std::ofstream(dir + "/5.png") << "these bytes are no PNG";
  data::write_png(dir + "/house_a.png", test::rect_image(20, 40, 3, 3, 12, 15));

  // Stopping after two images were written (one a batch): the previous pred.json stays
  // as it was, no pred.csv appears, no temporary is left behind.
  const std::string stopped = test::temp_dir("infer_stop");
  std::ofstream(stopped + "/pred.json") << "old";
  test::RunResult r = test::run_infer("--weights " + test::q(weights_path()) + " --images " +
                                      test::q(dir) + " --out " + test::q(stopped) +
                                      " --on-error stop --batch-size 1");
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, "unreadable image " + dir + "/5.png"), r.output);
  CHECK(dir_entries(stopped) == std::vector<std::string>{"pred.json"});
  std::string old;
  std::getline(std::ifstream(stopped + "/pred.json"), old);
  CHECK(old == "old");

  const std::string out = test::temp_dir("infer_skip");
  r = test::run_infer("--weights " + test::q(weights_path()) + " --images " + test::q(dir) +
                      " --out " + test::q(out) + " --batch-size 2");
  INFO(r.output);
  REQUIRE(r.rc == 0);
  CHECK(contains(r.output, "skipping unreadable image " + dir + "/5.png"));
  // Numeric stems first by value, then the others by name; the skipped image has no row.
  const auto rows = test::read_pred_csv_rows(out + "/pred.csv");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].first == "1");
  CHECK(rows[1].first == "2");
  CHECK(rows[2].first == "house_a");
  for (const auto& rec : test::read_pred_json(out + "/pred.json")) {
    CHECK(rec.image_id != "5");
    CHECK((rec.image_id == "1" || rec.image_id == "2" || rec.image_id == "\"house_a\""));
  }
  // Nothing but the two outputs is left in the folder (no temporaries).
  CHECK(dir_entries(out) == std::vector<std::string>{"pred.csv", "pred.json"});
}

TEST_CASE("infer: weight files for another model, or not weight files, are errors naming the file") {
  const std::string dir = small_folder();
  // resnet18 tensors under a config that says resnet34: the strict loader lists them.
  const std::string other = edited_weights("resnet34", [](TensorFile& tf) {
    tf.meta["config"]["backbone"] = "resnet34";
  });
  test::RunResult r = infer_on(dir, "", other);
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, other + ": weights do not match the model"), r.output);
  CHECK_MESSAGE(contains(r.output, "missing from the file"), r.output);
  CHECK_MESSAGE(contains(r.output, "backbone.body.layer1.2.conv1.weight"), r.output);

  // An image as weight file: the tensor-file reader names it.
  r = infer_on(dir, "", dir + "/1.png");
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, dir + "/1.png"), r.output);

  // A tensor file without a model config (e.g. a reference dump).
  const std::string no_cfg = test::temp_dir("infer_w") + "/dump.bin";
  write_tensor_file(no_cfg, {{"torch", "1.13"}}, {{"x", Tensor::host_zeros({2, 2})}});
  r = infer_on(dir, "", no_cfg);
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, no_cfg + ": no model config"), r.output);

  r = infer_on(dir, "", "/nonexistent/model.bin");
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, "/nonexistent/model.bin"), r.output);
}

TEST_CASE("infer: a 91-class model writes its labels to pred.json and warns about pred.csv") {
  // The predictor replaced by a 91-class one whose bias favours class 50 (not a digit)
  // over class 3 (the digit 2) on every proposal; zero box deltas keep the proposals.
  const std::string coco = edited_weights("coco91", [](TensorFile& tf) {
    tf.meta["config"]["num_classes"] = 91;
    for (auto& [name, t] : tf.tensors) {
      if (name.rfind("roi_heads.box_predictor.", 0) != 0) continue;
      const bool cls = name.find("cls_score") != std::string::npos;
      Shape s = t.shape();
      s[0] = cls ? 91 : 91 * 4;
      t = Tensor::host_zeros(s);
      if (cls && name.find("bias") != std::string::npos) {
        t.data<float>()[50] = 5.0f;
        t.data<float>()[3] = 4.5f;
      }
    }
  });
  const std::string dir = small_folder();
  const std::string out = test::temp_dir("infer_coco");
  test::RunResult r = test::run_infer("--weights " + test::q(coco) + " --images " + test::q(dir) +
                                      " --out " + test::q(out) + " --score-thresh 0.2");
  INFO(r.output);
  REQUIRE(r.rc == 0);
  CHECK(contains(r.output, "the model has 91 classes, not 11"));
  CHECK(contains(r.output, "had a label outside 1..10"));
  const auto recs = test::read_pred_json(out + "/pred.json");
  bool saw50 = false, saw3 = false;
  for (const auto& rec : recs) {
    saw50 |= rec.category_id == 50;
    saw3 |= rec.category_id == 3;
    CHECK((rec.category_id == 50 || rec.category_id == 3));
  }
  CHECK(saw50);
  CHECK(saw3);
  // Only class 3 (digit 2) reaches the strings.
  for (const auto& row : test::read_pred_csv_rows(out + "/pred.csv"))
    CHECK(row.second.find_first_not_of('2') == std::string::npos);
}

TEST_CASE("infer: bad options and an unavailable GPU are clear errors; --help") {
  const std::string dir = small_folder();
  test::RunResult r = infer_on(dir, "--on-error maybe");
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, "--on-error must be skip or stop"), r.output);
  r = infer_on(dir, "--batch-size 0");
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, "--batch-size needs a whole number >= 1"), r.output);
  r = infer_on(dir, "--frobnicate");
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, "unknown argument --frobnicate"), r.output);
  r = test::run_infer("--images " + test::q(dir));
  CHECK(r.rc != 0);
  CHECK_MESSAGE(contains(r.output, "--weights is required"), r.output);
  if (!cuda_available()) {
    r = infer_on(dir, "--device cuda");
    CHECK(r.rc != 0);
    CHECK_MESSAGE(contains(r.output, "--device cuda:"), r.output);
  } else {
    MESSAGE("a CUDA device is visible: the no-GPU error is not exercised here");
  }
  r = test::run_infer("--help");
  CHECK(r.rc == 0);
  CHECK(contains(r.output, "usage: infer"));
  CHECK(contains(r.output, "--score-thresh"));
}
