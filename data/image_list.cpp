#include "data/image_list.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "kernels/error.h"

namespace dr::data {

namespace {

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The stem of an image file name, or "" when the extension is not an image's.
std::string image_stem(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  std::string ext = name.substr(dot + 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext != "png" && ext != "jpg" && ext != "jpeg" && ext != "bmp") return "";
  return name.substr(0, dot);
}

// Digits only and short enough for int64 (18 digits): "007" is the id 7.
ImageId make_id(const std::string& stem) {
  ImageId id;
  id.text = stem;
  id.numeric = !stem.empty() && stem.size() <= 18 &&
               std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (id.numeric) {
    id.value = std::stoll(stem);
    id.text = std::to_string(id.value);
  }
  return id;
}

std::string strip_slash(std::string d) {
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d;
}

}  // namespace

std::vector<ImageRef> list_image_folder(const std::string& dir_in) {
  const std::string dir = strip_slash(dir_in);
  struct stat st;
  DR_CHECK(stat(dir.c_str(), &st) == 0, "image folder " << dir << " does not exist");
  DR_CHECK(S_ISDIR(st.st_mode), "image folder " << dir << " is not a folder");
  DIR* d = opendir(dir.c_str());
  DR_CHECK(d != nullptr, "image folder " << dir << ": cannot open it");
  std::vector<ImageRef> refs;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    const std::string stem = image_stem(name);
    if (stem.empty()) continue;
    refs.push_back({dir + "/" + name, make_id(stem)});
  }
  closedir(d);
  DR_CHECK(!refs.empty(), "image folder " << dir << " holds no image (.png, .jpg, .jpeg, .bmp)");
  std::sort(refs.begin(), refs.end(), [](const ImageRef& a, const ImageRef& b) {
    if (a.id.numeric != b.id.numeric) return a.id.numeric;
    if (a.id.numeric && a.id.value != b.id.value) return a.id.value < b.id.value;
    if (a.id.text != b.id.text) return a.id.text < b.id.text;
    return a.path < b.path;
  });
  for (size_t i = 1; i < refs.size(); ++i)
    DR_CHECK(refs[i].id.text != refs[i - 1].id.text,
             "image folder " << dir << ": " << refs[i - 1].path << " and " << refs[i].path
                             << " have the same image id " << refs[i].id.text);
  return refs;
}

std::vector<ImageRef> list_coco_images(const std::string& json_path, const std::string& image_dir) {
  std::string dir = image_dir;
  if (dir.empty()) {
    const std::string ext = ".json";
    const bool has_ext = json_path.size() > ext.size() &&
                         json_path.compare(json_path.size() - ext.size(), ext.size(), ext) == 0;
    dir = has_ext ? json_path.substr(0, json_path.size() - ext.size()) : json_path + "_images";
  }
  dir = strip_slash(dir);
  DR_CHECK(is_dir(dir), json_path << ": image folder " << dir << " does not exist");
  std::ifstream f(json_path);
  DR_CHECK(f.good(), "cannot open COCO JSON " << json_path);
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(f);
  } catch (const nlohmann::json::parse_error& e) {
    DR_FAIL(json_path << " is malformed or truncated JSON (at byte " << e.byte << "): " << e.what());
  }
  DR_CHECK(root.is_object() && root.contains("images") && root["images"].is_array(),
           json_path << ": no \"images\" list");
  const auto& images = root["images"];
  DR_CHECK(!images.empty(), json_path << ": the \"images\" list is empty");
  std::vector<ImageRef> refs;
  std::set<int64_t> seen;
  for (size_t k = 0; k < images.size(); ++k) {
    const auto& r = images[k];
    const std::string where = json_path + ": images[" + std::to_string(k) + "]";
    DR_CHECK(r.is_object() && r.contains("id") && r["id"].is_number(),
             where << ": missing or non-numeric \"id\"");
    const double v = r["id"].get<double>();
    DR_CHECK(v == static_cast<double>(static_cast<int64_t>(v)),
             where << ": \"id\" must be a whole number, is " << r["id"].dump());
    DR_CHECK(r.contains("file_name") && r["file_name"].is_string(),
             where << ": missing \"file_name\"");
    ImageRef ref;
    ref.id.numeric = true;
    ref.id.value = r["id"].is_number_integer() ? r["id"].get<int64_t>() : static_cast<int64_t>(v);
    ref.id.text = std::to_string(ref.id.value);
    DR_CHECK(seen.insert(ref.id.value).second, where << ": duplicate image id " << ref.id.value);
    ref.path = dir + "/" + r["file_name"].get<std::string>();
    refs.push_back(std::move(ref));
  }
  return refs;
}

}  // namespace dr::data
