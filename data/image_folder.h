// A folder of images without annotations (e.g. a competition test folder) as a
// CocoDataset with no boxes, so the loader, preview and inference read it like a split.
// Image ids are the file stems ("123.png" -> 123, as in the target layout); sizes come
// from the file headers.
#pragma once
#include <string>

#include "data/coco.h"

namespace dr::data {

// Every .png/.jpg/.jpeg/.bmp in dir, sorted by id. A stem that is not a whole number, two
// files with the same stem, or an unreadable header is an error naming the file.
CocoDataset read_image_folder(const std::string& dir);

}  // namespace dr::data
