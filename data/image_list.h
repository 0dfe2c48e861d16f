// The images an inference run reads: a folder (ids from the file stems) or a COCO JSON
// naming them (ids from the JSON). Only names are listed here, nothing is decoded: an
// unreadable or missing image is the caller's to skip or report (tools/infer.cpp
// --on-error), so one bad file does not stop the listing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dr::data {

// An image id as it is written to pred.json / pred.csv: an integer when `numeric`
// (folder stems of digits, every COCO id), otherwise the stem itself as a string.
struct ImageId {
  std::string text;  // "123", or a non-numeric stem such as "img_a"
  bool numeric = false;
  int64_t value = 0;  // the integer when numeric
};

struct ImageRef {
  std::string path;  // folder + "/" + file name
  ImageId id;
};

// Every .png/.jpg/.jpeg/.bmp file in dir (extension case-insensitive). Order: numeric
// stems by value, then the other stems by name (a stable, documented order for
// pred.csv rows). Errors (dr::Error naming dir or the file): the folder is missing or
// not a folder, holds no image, or two files share a stem ("7.png" and "7.jpg": their
// ids would collide).
std::vector<ImageRef> list_image_folder(const std::string& dir);

// The "images" of a COCO JSON ({"id", "file_name"}; other keys and lists such as
// "annotations" are not needed) in the JSON's order, each under image_dir (default:
// the JSON's path without ".json", as data/coco.h). Errors name the JSON and the
// record: unreadable or malformed JSON, no "images" list, a missing or non-integer id,
// a missing file_name, a duplicate id, an empty list; also a missing image_dir.
std::vector<ImageRef> list_coco_images(const std::string& json_path,
                                       const std::string& image_dir = "");

}  // namespace dr::data
