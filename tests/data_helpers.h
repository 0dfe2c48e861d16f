// Helpers shared by the data pipeline tests: a scratch folder, images with a drawn
// rectangle, and the ink bounding box of an image.
#pragma once
#include <stdlib.h>

#include <string>

#include "data/box.h"

namespace dr::test {

// A fresh folder under /tmp (left for inspection; the OS cleans /tmp).
inline std::string temp_dir(const std::string& tag) {
  std::string tmpl = "/tmp/dr_" + tag + "_XXXXXX";
  char* p = mkdtemp(tmpl.data());
  DR_CHECK(p != nullptr, "test: mkdtemp failed for " << tmpl);
  return tmpl;
}

// h x w black image with the white rectangle [x1, x2) x [y1, y2).
inline data::Image rect_image(int h, int w, int x1, int y1, int x2, int y2) {
  data::Image img(h, w, 0);
  for (int y = y1; y < y2; ++y)
    for (int x = x1; x < x2; ++x) img.at(y, x)[0] = img.at(y, x)[1] = img.at(y, x)[2] = 255;
  return img;
}

// Bounding box of pixels whose channel 0 is above `thr` (false when none).
inline bool ink_bbox(const data::Image& img, int thr, data::Box& b) {
  int lx = img.w, ly = img.h, hx = -1, hy = -1;
  for (int y = 0; y < img.h; ++y)
    for (int x = 0; x < img.w; ++x)
      if (img.at(y, x)[0] > thr) {
        lx = std::min(lx, x), hx = std::max(hx, x), ly = std::min(ly, y), hy = std::max(hy, y);
      }
  if (hx < 0) return false;
  b.x1 = static_cast<float>(lx), b.y1 = static_cast<float>(ly);
  b.x2 = static_cast<float>(hx + 1), b.y2 = static_cast<float>(hy + 1);
  return true;
}

}  // namespace dr::test
