#include "data/image_folder.h"

#include <dirent.h>
#include <stb_image.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace dr::data {

namespace {
bool has_image_ext(const std::string& n, std::string& stem) {
  const size_t dot = n.rfind('.');
  if (dot == std::string::npos || dot == 0) return false;
  std::string ext = n.substr(dot + 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext != "png" && ext != "jpg" && ext != "jpeg" && ext != "bmp") return false;
  stem = n.substr(0, dot);
  return true;
}
}  // namespace

CocoDataset read_image_folder(const std::string& dir) {
  CocoDataset ds;
  ds.json_path = "";
  ds.image_dir = dir;
  ds.categories = digit_categories();
  DIR* d = opendir(dir.c_str());
  DR_CHECK(d != nullptr, "image folder: cannot open " << dir);
  std::set<int64_t> ids;
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    std::string stem;
    if (!has_image_ext(n, stem)) continue;
    const std::string path = dir + "/" + n;
    const bool numeric = !stem.empty() && stem.size() < 19 &&
                         std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric) {
      closedir(d);
      DR_FAIL("image folder: " << path << ": the file stem must be the image id (a whole number)");
    }
    CocoImage im;
    im.id = std::stoll(stem);
    im.file_name = n;
    int comp = 0;
    const bool header_ok = stbi_info(path.c_str(), &im.width, &im.height, &comp) != 0;
    const bool duplicate = !ids.insert(im.id).second;
    if (!header_ok || duplicate) {
      closedir(d);
      DR_CHECK(!duplicate, "image folder: " << path << ": duplicate image id " << im.id);
      DR_FAIL("image folder: cannot read the header of " << path << " (" << stbi_failure_reason() << ")");
    }
    ds.images.push_back(std::move(im));
  }
  closedir(d);
  std::sort(ds.images.begin(), ds.images.end(), [](const CocoImage& a, const CocoImage& b) { return a.id < b.id; });
  return ds;
}

}  // namespace dr::data
