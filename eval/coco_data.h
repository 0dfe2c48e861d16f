// What the evaluator reads: COCO ground truth (images, categories, annotations) and
// detections (pred.json), with strict validation. Every bad input is a dr::Error naming
// the file, the record index and the field, never a crash or a silent drop.
// Formats: docs/EVAL.md. Independent of the model and of data/ (eval depends on nothing
// but kernels/error.h).
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace dr::eval {

// COCO box: [x_min, y_min, width, height] in pixels.
struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

struct ImageInfo {
  int64_t id = 0;
  std::string file_name;
  int64_t width = 0, height = 0;  // 0 when the file omits them
};

struct Category {
  int64_t id = 0;
  std::string name;
};

struct GtAnnotation {
  int64_t id = 0;
  int64_t image_id = 0;
  int64_t category_id = 0;
  Box bbox;
  double area = 0;  // the "area" field (COCO's mask area), NOT w*h: COCOeval's area ranges use it
  bool iscrowd = false;
};

struct Detection {
  int64_t image_id = 0;
  int64_t category_id = 0;
  Box bbox;
  double score = 0;
};

struct CocoGroundTruth {
  std::string source;  // file name, for messages
  std::vector<ImageInfo> images;
  std::vector<Category> categories;
  std::vector<GtAnnotation> annotations;
  std::unordered_map<int64_t, size_t> image_index;     // image id -> index in images
  std::unordered_map<int64_t, size_t> category_index;  // category id -> index in categories

  bool has_image(int64_t id) const { return image_index.count(id) != 0; }
  bool has_category(int64_t id) const { return category_index.count(id) != 0; }
};

// Ground truth. Required: "images" (each with an integer "id"), "annotations" (integer
// "id", "image_id", "category_id", "bbox" of 4 numbers, "area"), "categories" (integer
// "id"). "iscrowd" defaults to 0. Errors: duplicate image/category/annotation ids, an
// annotation whose image or category is not listed, non-numeric ids, negative sizes.
CocoGroundTruth parse_coco_gt(const nlohmann::json& j, const std::string& source);
CocoGroundTruth read_coco_gt(const std::string& path);

// Detections: a JSON list of {"image_id", "category_id", "bbox": [x, y, w, h], "score"}.
// Every image_id must be an image of gt (pycocotools asserts the same); a category_id
// that gt does not list is kept here and ignored by the evaluator, as COCOeval does.
std::vector<Detection> parse_detections(const nlohmann::json& j, const CocoGroundTruth& gt,
                                        const std::string& source);
std::vector<Detection> read_detections(const std::string& path, const CocoGroundTruth& gt);
void write_detections(const std::string& path, const std::vector<Detection>& dets);

// The whole text of a file; throws naming the path when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace dr::eval
