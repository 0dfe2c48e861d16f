// Box and Sample: what flows through the data pipeline.
// Boxes are (x1, y1, x2, y2) in continuous pixel coordinates: pixel (i, j) covers
// [i, i+1) x [j, j+1), so COCO's [x, y, w, h] is (x, y, x + w, y + h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace dr::data {

struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  int label = 0;  // COCO category_id (1..10 for digits: digit = label - 1)
  float w() const { return x2 - x1; }
  float h() const { return y2 - y1; }
  float area() const { return (x2 > x1 && y2 > y1) ? (x2 - x1) * (y2 - y1) : 0.0f; }
};

// Clips to [0, w] x [0, h]; returns false when less than min_size is left in x or y.
inline bool clip_box(Box& b, float w, float h, float min_size) {
  b.x1 = b.x1 < 0 ? 0 : (b.x1 > w ? w : b.x1);
  b.x2 = b.x2 < 0 ? 0 : (b.x2 > w ? w : b.x2);
  b.y1 = b.y1 < 0 ? 0 : (b.y1 > h ? h : b.y1);
  b.y2 = b.y2 < 0 ? 0 : (b.y2 > h ? h : b.y2);
  return b.x2 - b.x1 >= min_size && b.y2 - b.y1 >= min_size && b.x2 - b.x1 > 0 && b.y2 - b.y1 > 0;
}

// Model targets in torchvision's form: boxes (N, 4) f32 as (x1, y1, x2, y2) and
// labels (N,) i64 (category ids), host tensors.
Tensor boxes_tensor(const std::vector<Box>& boxes);
Tensor labels_tensor(const std::vector<Box>& boxes);

struct Sample {
  int64_t image_id = 0;
  std::string file_name;
  Image image;             // after augmentation
  std::vector<Box> boxes;  // in `image`'s pixel coordinates
  int orig_h = 0, orig_w = 0;  // the decoded file's size (predictions map back to it)
};

}  // namespace dr::data
