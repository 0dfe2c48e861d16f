// The eval, plot and visualize commands end to end (make test builds them first and sets
// DR_BIN_DIR): outputs exist and carry the library's numbers; bad input fails with a message.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "eval/canvas.h"
#include "eval/coco_data.h"
#include "tests/testing.h"

namespace {

std::string bin(const std::string& name) {
  const char* d = std::getenv("DR_BIN_DIR");
  return std::string(d ? d : "build/bin") + "/" + name;
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

const char* kGt = R"({
  "images": [{"id": 1, "file_name": "1.png"}, {"id": 2, "file_name": "2.png"}],
  "categories": [{"id": 1, "name": "0"}, {"id": 2, "name": "1"}, {"id": 3, "name": "2"},
                 {"id": 4, "name": "3"}, {"id": 5, "name": "4"}, {"id": 6, "name": "5"},
                 {"id": 7, "name": "6"}, {"id": 8, "name": "7"}, {"id": 9, "name": "8"},
                 {"id": 10, "name": "9"}],
  "annotations": [
    {"id": 1, "image_id": 1, "category_id": 2, "bbox": [2, 2, 8, 14], "area": 112, "iscrowd": 0},
    {"id": 2, "image_id": 1, "category_id": 3, "bbox": [12, 2, 8, 14], "area": 112, "iscrowd": 0},
    {"id": 3, "image_id": 2, "category_id": 8, "bbox": [5, 3, 9, 13], "area": 117, "iscrowd": 0}]})";

const char* kPred = R"([
  {"image_id": 1, "category_id": 2, "bbox": [2, 2, 8, 14], "score": 0.9},
  {"image_id": 1, "category_id": 3, "bbox": [12, 2, 8, 14], "score": 0.8},
  {"image_id": 2, "category_id": 8, "bbox": [5, 3, 9, 13], "score": 0.3}])";

}  // namespace

TEST_CASE("tools: eval prints and writes the COCO numbers, accuracy and the sweep") {
  REQUIRE_MESSAGE(exists(bin("eval")), bin("eval") << " is missing: run `make test`");
  const std::string dir = "build/test_tmp/tools";
  std::system(("mkdir -p " + dir).c_str());
  write(dir + "/gt.json", kGt);
  write(dir + "/pred.json", kPred);
  write(dir + "/pred.csv", "image_id,pred_label\n1,12\n2,-1\n");
  std::string out;
  REQUIRE(dr::test::run_command(bin("eval") + " --gt " + dir + "/gt.json --pred " + dir + "/pred.json --csv " + dir +
                  "/pred.csv --threshold 0.5 --sweep --lo 0.2 --hi 0.9 --step 0.1 --out " + dir + "/o",
              out) == 0);
  CAPTURE(out);
  CHECK(out.find("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000") !=
        std::string::npos);
  CHECK(out.find("best threshold by accuracy: 0.20") != std::string::npos);
  CHECK(out.find("missed digit       1") != std::string::npos);
  for (const char* f : {"metrics.json", "errors.csv", "sweep.csv", "sweep.svg", "sweep.png"})
    CHECK_MESSAGE(exists(dir + "/o/" + f), f);
  auto m = nlohmann::json::parse(dr::eval::read_text_file(dir + "/o/metrics.json"));
  CHECK(m["coco"]["AP"].get<double>() == doctest::Approx(1.0));
  CHECK(m["accuracy_csv"]["accuracy"].get<double>() == doctest::Approx(0.5));
  CHECK(m["sweep_best"]["accuracy"].get<double>() == doctest::Approx(1.0));

  CHECK(dr::test::run_command(bin("eval") + " --help", out) == 0);
  CHECK(out.find("usage: eval") != std::string::npos);
  CHECK(dr::test::run_command(bin("eval") + " --gt " + dir + "/gt.json", out) == 1);
  CHECK(out.find("give --pred and/or --csv") != std::string::npos);
  write(dir + "/bad.csv", "image_id,pred_label\n1,12\n7,3\n");
  CHECK(dr::test::run_command(bin("eval") + " --gt " + dir + "/gt.json --csv " + dir + "/bad.csv", out) == 1);
  CHECK(out.find("bad.csv:3: image_id 7 is not an image of") != std::string::npos);
}

TEST_CASE("tools: plot and visualize write their images") {
  REQUIRE(exists(bin("plot")));
  REQUIRE(exists(bin("visualize")));
  const std::string dir = "build/test_tmp/tools";
  std::system(("mkdir -p " + dir + "/img").c_str());
  write(dir + "/gt.json", kGt);
  write(dir + "/pred.json", kPred);
  write(dir + "/m.jsonl",
        "{\"epoch\":1,\"step\":1,\"loss\":2,\"lr\":0.01}\n{\"epoch\":1,\"step\":2,\"loss\":1,\"lr\":0.01}\n"
        "{\"epoch\":1,\"val_map\":0.2,\"val_acc\":0.4}\n");
  std::string out;
  REQUIRE(dr::test::run_command(bin("plot") + " --log " + dir + "/m.jsonl --out " + dir + "/plots", out) == 0);
  for (const char* f : {"loss.svg", "loss.png", "lr.svg", "lr.png", "val.svg", "val.png"})
    CHECK_MESSAGE(exists(dir + "/plots/" + f), f);
  dr::eval::Canvas(30, 20, {90, 90, 90}).write_png(dir + "/img/1.png");
  dr::eval::Canvas(20, 20, {50, 90, 90}).write_png(dir + "/img/2.png");
  REQUIRE(dr::test::run_command(bin("visualize") + " --gt " + dir + "/gt.json --images " + dir + "/img --pred " + dir +
                  "/pred.json --threshold 0.5 --worst 4 --grid " + dir + "/grid.png --out " + dir + "/vis",
              out) == 0);
  CAPTURE(out);
  CHECK(out.find("1 wrong images") != std::string::npos);  // image 2: its only box scores 0.3
  CHECK(exists(dir + "/vis/2.png"));
  CHECK(!exists(dir + "/vis/1.png"));
  CHECK(dr::eval::Canvas::load(dir + "/grid.png").width() > 100);
  CHECK(dr::test::run_command(bin("visualize") + " --gt " + dir + "/gt.json --images " + dir + "/img --ids 1,9 --grid " +
                dir + "/g2.png", out) == 1);
  CHECK(out.find("--ids: image id 9 is not in") != std::string::npos);
}
