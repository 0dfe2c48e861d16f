// PredictionWriter: streams an inference run's pred.json and pred.csv (formats in
// docs/EVAL.md and docs/INFER.md) image by image, so memory stays bounded however many
// images there are, and publishes both atomically: everything goes to temporary files
// in the output folder that finish() renames; a run that dies before finish() leaves
// the previous pred.json/pred.csv (or none) and removes its temporaries.
//
//   pred.json: [{"image_id": 12, "category_id": 2, "bbox": [x, y, w, h], "score": 0.97}, ...]
//              every detection given, category_id = the model's class label
//   pred.csv:  image_id,pred_label   one row per image: the digit string (eval/digits.h's
//              rule) of its detections with score >= the threshold and a digit label
//              1..10 (digit = label - 1), after class-agnostic NMS; "-1" when there is none
// An image id is written as a JSON integer when numeric, else as a JSON string.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "eval/coco_data.h"
#include "eval/digits.h"

namespace dr::eval {

struct LabeledBox {
  Box bbox;           // [x, y, w, h] in original image pixels
  int64_t label = 0;  // the model's class id (1..10 = digits 0..9 for a digit model)
  double score = 0;
};

class PredictionWriter {
 public:
  // out_dir must exist; opens out_dir/pred.json and out_dir/pred.csv temporaries.
  // pred.csv reads each number after class-agnostic NMS at nms_iou (eval/digits.h).
  PredictionWriter(const std::string& out_dir, double score_thresh,
                   double nms_iou = kDigitNmsIou);
  ~PredictionWriter();
  PredictionWriter(const PredictionWriter&) = delete;
  PredictionWriter& operator=(const PredictionWriter&) = delete;

  // One image's detections (any order); returns its pred.csv label.
  std::string add(const std::string& id_text, bool numeric_id, const std::vector<LabeledBox>& dets);
  // Flushes, closes and renames the temporaries to pred.json and pred.csv.
  void finish();

  std::string json_path() const { return dir_ + "/pred.json"; }
  std::string csv_path() const { return dir_ + "/pred.csv"; }
  int64_t images() const { return images_; }
  int64_t detections() const { return detections_; }
  // Detections at or above the threshold whose label is not a digit (left out of pred.csv).
  int64_t non_digit() const { return non_digit_; }

 private:
  void close_files();
  std::string dir_, json_tmp_, csv_tmp_;
  double thresh_, nms_iou_;
  std::FILE* json_ = nullptr;
  std::FILE* csv_ = nullptr;
  bool finished_ = false;
  int64_t images_ = 0, detections_ = 0, non_digit_ = 0;
};

}  // namespace dr::eval
