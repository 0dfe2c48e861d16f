#include "data/coco.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

namespace dr::data {

using nlohmann::json;

size_t CocoDataset::num_boxes() const {
  size_t n = 0;
  for (const auto& im : images) n += im.boxes.size();
  return n;
}

Sample CocoDataset::load(size_t i) const {
  DR_CHECK(i < images.size(), "coco: image index " << i << " out of " << images.size());
  const CocoImage& rec = images[i];
  Sample s;
  s.image_id = rec.id;
  s.file_name = rec.file_name;
  s.image = read_image(image_path(i));
  DR_CHECK(s.image.w == rec.width && s.image.h == rec.height,
           "coco: " << image_path(i) << " is " << s.image.w << "x" << s.image.h << " but "
                    << json_path << " says " << rec.width << "x" << rec.height << " (image id "
                    << rec.id << ")");
  s.boxes = rec.boxes;
  s.orig_h = s.image.h;
  s.orig_w = s.image.w;
  return s;
}

namespace {

const json& field(const json& rec, const char* key, const std::string& where) {
  auto it = rec.find(key);
  DR_CHECK(it != rec.end(), where << ": missing field \"" << key << "\" in " << rec.dump());
  return *it;
}

double number(const json& rec, const char* key, const std::string& where) {
  const json& v = field(rec, key, where);
  DR_CHECK(v.is_number(), where << ": field \"" << key << "\" must be a number, is " << v.dump());
  return v.get<double>();
}

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string default_image_dir(const std::string& json_path) {
  const std::string ext = ".json";
  if (json_path.size() > ext.size() &&
      json_path.compare(json_path.size() - ext.size(), ext.size(), ext) == 0)
    return json_path.substr(0, json_path.size() - ext.size());
  return json_path + "_images";
}

}  // namespace

CocoDataset read_coco(const std::string& json_path, const std::string& image_dir,
                      const CocoReadOptions& opt) {
  CocoDataset ds;
  ds.json_path = json_path;
  ds.image_dir = image_dir.empty() ? default_image_dir(json_path) : image_dir;
  std::ifstream f(json_path);
  DR_CHECK(f.good(), "coco: cannot open " << json_path);
  json root;
  try {
    root = json::parse(f);
  } catch (const json::parse_error& e) {
    // byte is where the parser stopped: the end of the file for a truncated one.
    DR_FAIL("coco: " << json_path << " is malformed or truncated JSON (at byte " << e.byte
                     << "): " << e.what());
  }
  DR_CHECK(root.is_object(), "coco: " << json_path << ": top level must be an object");
  for (const char* key : {"images", "annotations", "categories"}) {
    DR_CHECK(root.contains(key) && root[key].is_array(),
             "coco: " << json_path << ": missing array \"" << key << "\"");
  }

  std::set<int> cat_ids;
  for (size_t k = 0; k < root["categories"].size(); ++k) {
    const json& c = root["categories"][k];
    std::string where = "coco: " + json_path + ": categories[" + std::to_string(k) + "]";
    CocoCategory cat;
    cat.id = static_cast<int>(number(c, "id", where));
    if (c.contains("name") && c["name"].is_string()) cat.name = c["name"].get<std::string>();
    DR_CHECK(cat_ids.insert(cat.id).second, where << ": duplicate category id " << cat.id);
    ds.categories.push_back(cat);
  }

  std::unordered_map<int64_t, size_t> by_id;
  for (size_t k = 0; k < root["images"].size(); ++k) {
    const json& r = root["images"][k];
    std::string where = "coco: " + json_path + ": images[" + std::to_string(k) + "]";
    CocoImage im;
    im.id = static_cast<int64_t>(number(r, "id", where));
    const json& fn = field(r, "file_name", where);
    DR_CHECK(fn.is_string(), where << ": file_name must be a string");
    im.file_name = fn.get<std::string>();
    im.width = static_cast<int>(number(r, "width", where));
    im.height = static_cast<int>(number(r, "height", where));
    DR_CHECK(im.width > 0 && im.height > 0,
             where << " (" << im.file_name << "): size " << im.width << "x" << im.height);
    DR_CHECK(by_id.emplace(im.id, ds.images.size()).second,
             where << ": duplicate image id " << im.id);
    if (opt.check_files) {
      std::string p = ds.image_dir + "/" + im.file_name;
      DR_CHECK(file_exists(p), where << " (id " << im.id << "): image file " << p
                                     << " does not exist");
    }
    ds.images.push_back(std::move(im));
  }

  for (size_t k = 0; k < root["annotations"].size(); ++k) {
    const json& a = root["annotations"][k];
    std::string where = "coco: " + json_path + ": annotations[" + std::to_string(k) + "]";
    if (a.contains("id")) where += " (id " + a["id"].dump() + ")";
    int64_t image_id = static_cast<int64_t>(number(a, "image_id", where));
    int cat = static_cast<int>(number(a, "category_id", where));
    DR_CHECK(cat_ids.count(cat), where << ": unknown category_id " << cat
                                       << " (not in \"categories\")");
    auto it = by_id.find(image_id);
    DR_CHECK(it != by_id.end(), where << ": unknown image_id " << image_id);
    const json& bb = field(a, "bbox", where);
    DR_CHECK(bb.is_array() && bb.size() == 4 && bb[0].is_number() && bb[1].is_number() &&
                 bb[2].is_number() && bb[3].is_number(),
             where << ": bbox must be [x, y, w, h] numbers, is " << bb.dump());
    CocoImage& im = ds.images[it->second];
    Box b;
    b.x1 = bb[0].get<float>();
    b.y1 = bb[1].get<float>();
    b.x2 = b.x1 + bb[2].get<float>();
    b.y2 = b.y1 + bb[3].get<float>();
    b.label = cat;
    DR_CHECK(std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) &&
                 std::isfinite(b.y2),
             where << ": bbox is not finite: " << bb.dump());
    const bool outside = b.x1 < 0 || b.y1 < 0 || b.x2 > im.width || b.y2 > im.height;
    if (!clip_box(b, static_cast<float>(im.width), static_cast<float>(im.height), 0.0f)) {
      ds.dropped_empty++;
      continue;
    }
    if (outside) ds.clipped++;
    im.boxes.push_back(b);
  }
  if (ds.dropped_empty > 0) {
    std::ostream& w = opt.warn ? *opt.warn : std::cerr;
    w << "[coco] warning: " << json_path << ": dropped " << ds.dropped_empty
      << " empty box(es) (zero width or height, or entirely outside the image)\n";
  }
  return ds;
}

std::vector<CocoCategory> digit_categories() {
  std::vector<CocoCategory> c;
  for (int d = 0; d < 10; ++d) c.push_back({d + 1, std::to_string(d)});
  return c;
}

void write_coco(const std::string& json_path, const std::vector<CocoImage>& images,
                const std::vector<CocoCategory>& categories) {
  // ordered_json keeps the target files' key order (images, annotations, categories).
  nlohmann::ordered_json root;
  root["images"] = nlohmann::ordered_json::array();
  root["annotations"] = nlohmann::ordered_json::array();
  root["categories"] = nlohmann::ordered_json::array();
  int64_t ann_id = 1;
  for (const CocoImage& im : images) {
    root["images"].push_back(
        {{"id", im.id}, {"file_name", im.file_name}, {"height", im.height}, {"width", im.width}});
    for (const Box& b : im.boxes) {
      const double w = b.x2 - b.x1, h = b.y2 - b.y1;
      root["annotations"].push_back({{"id", ann_id++},
                                     {"image_id", im.id},
                                     {"bbox", {double(b.x1), double(b.y1), w, h}},
                                     {"category_id", b.label},
                                     {"area", w * h},
                                     {"iscrowd", 0}});
    }
  }
  for (const CocoCategory& c : categories) root["categories"].push_back({{"id", c.id}, {"name", c.name}});
  std::string tmp = json_path + ".tmp";
  {
    std::ofstream f(tmp);
    DR_CHECK(f.good(), "coco: cannot write " << tmp);
    f << root.dump();
    DR_CHECK(f.good(), "coco: error while writing " << tmp);
  }
  DR_CHECK(std::rename(tmp.c_str(), json_path.c_str()) == 0,
           "coco: cannot rename " << tmp << " to " << json_path);
}

}  // namespace dr::data
