// pred.csv: the whole-number predictions, one row per image.
//   image_id,pred_label
//   12,305
//   13,-1
// image_id is the COCO image id (an integer); pred_label is the digit string, "-1" when no
// digit was found. Columns are found by header name (others are ignored); fields may be
// double-quoted; CRLF line ends are accepted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "eval/coco_data.h"

namespace dr::eval {

struct PredCsv {
  std::vector<std::string> labels;  // gt.images order; "-1" for an image without a row
  int64_t missing_rows = 0;         // images of gt without a row
};

// Errors (dr::Error, naming the file and line): no header, a missing image_id or
// pred_label column, a non-integer image_id, an image_id that gt does not list, a
// duplicate image_id, a label that is neither "-1" nor digits, a row with too few fields.
PredCsv parse_pred_csv(const std::string& text, const CocoGroundTruth& gt,
                       const std::string& source);
PredCsv read_pred_csv(const std::string& path, const CocoGroundTruth& gt);
// Rows in gt.images order (labels aligned with it).
void write_pred_csv(const std::string& path, const CocoGroundTruth& gt,
                    const std::vector<std::string>& labels);

}  // namespace dr::eval
