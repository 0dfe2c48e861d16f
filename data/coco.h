// COCO detection files (the SVHN-style target layout, see docs/DATA.md): reading with
// validation, and writing (the synthetic generator).
//
// Reading rules:
//  - an image without annotations is valid (a negative example);
//  - a box partly outside its image is clipped to it (SVHN has boxes starting at -1);
//  - a box that is empty (w or h <= 0, before or after clipping) is dropped, and one
//    summary warning counts them all;
//  - an unknown category, an annotation for an unknown image, a missing image file, a
//    malformed or truncated JSON, or a record missing a field is a dr::Error naming the
//    file and the record.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "data/box.h"

namespace dr::data {

struct CocoImage {
  int64_t id = 0;
  std::string file_name;
  int width = 0, height = 0;  // as declared in the JSON
  std::vector<Box> boxes;     // clipped, non-empty
};

struct CocoCategory {
  int id = 0;
  std::string name;
};

struct CocoDataset {
  std::string json_path, image_dir;
  std::vector<CocoImage> images;
  std::vector<CocoCategory> categories;
  int dropped_empty = 0;  // annotations dropped because their box was empty
  int clipped = 0;        // boxes clipped to their image

  size_t size() const { return images.size(); }
  std::string image_path(size_t i) const { return image_dir + "/" + images[i].file_name; }
  size_t num_boxes() const;
  // Decodes image i (error names the file; a size different from the JSON's is an error).
  Sample load(size_t i) const;
};

struct CocoReadOptions {
  bool check_files = true;       // every file_name must exist under image_dir
  std::ostream* warn = nullptr;  // where the one summary warning goes (std::cerr if null)
};

// image_dir defaults to the JSON's path without ".json" (train.json -> train/).
CocoDataset read_coco(const std::string& json_path, const std::string& image_dir = "",
                      const CocoReadOptions& opt = {});

// Digit categories 1..10 named "0".."9" (the target layout).
std::vector<CocoCategory> digit_categories();

// Writes images/annotations/categories in the target layout: bbox [x, y, w, h],
// area = w * h, iscrowd 0, annotation ids 1.. in order.
void write_coco(const std::string& json_path, const std::vector<CocoImage>& images,
                const std::vector<CocoCategory>& categories);

}  // namespace dr::data
