// Boxes on images: ground truth (green, digit below the box) and predictions (red, "digit
// score" above the box), with a header line naming the image, the true and predicted
// strings and the error kind. Images are resized to fit a cell (small SVHN crops are
// enlarged, nearest neighbour) before drawing, so boxes and labels stay crisp.
#pragma once
#include <string>
#include <vector>

#include "eval/canvas.h"
#include "eval/coco_data.h"

namespace dr::eval {

struct VisItem {
  std::string header;                     // e.g. "1076.png  truth 1899  pred 18  missed digit"
  std::vector<const GtAnnotation*> gts;   // drawn green
  std::vector<const Detection*> dets;     // drawn red (callers pass those >= threshold)
};

struct VisLayout {
  int max_w = 640, max_h = 320;  // the image area; the header strip is added above it
  double max_upscale = 4;        // enlarge small images at most this much
};

const Rgb kGtColor{0, 170, 0};
const Rgb kPredColor{225, 40, 30};

// The image with boxes and header.
Canvas draw_boxes(const Canvas& image, const VisItem& item, const VisLayout& layout);
// Tiles in rows of `cols`, each in a cell the size of the largest tile.
Canvas make_grid(const std::vector<Canvas>& tiles, int cols);

}  // namespace dr::eval
