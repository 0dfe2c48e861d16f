#include "eval/coco_data.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

#include "kernels/error.h"

namespace dr::eval {

using nlohmann::json;

namespace {

// "<file>: annotations[12]" style locations for messages.
std::string where(const std::string& source, const char* list, size_t i) {
  return source + ": " + list + "[" + std::to_string(i) + "]";
}

const json& field(const json& obj, const char* key, const std::string& at) {
  DR_CHECK(obj.is_object(), at << " is not a JSON object: " << obj.dump().substr(0, 80));
  auto it = obj.find(key);
  DR_CHECK(it != obj.end(), at << ": missing field \"" << key << "\"");
  return *it;
}

// Ids must be integers; an integral float such as 12.0 is accepted (Python treats
// 12.0 and 12 as the same dict key, so pycocotools does too).
int64_t id_value(const json& v, const char* key, const std::string& at) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    DR_CHECK(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15,
             at << ": \"" << key << "\" must be an integer, got " << v.dump());
    return static_cast<int64_t>(d);
  }
  DR_FAIL(at << ": \"" << key << "\" must be an integer, got " << v.dump());
}

double number_value(const json& v, const char* key, const std::string& at) {
  DR_CHECK(v.is_number(), at << ": \"" << key << "\" must be a number, got " << v.dump());
  double d = v.get<double>();
  DR_CHECK(std::isfinite(d), at << ": \"" << key << "\" is not finite");
  return d;
}

Box box_value(const json& v, const std::string& at) {
  DR_CHECK(v.is_array() && v.size() == 4,
           at << ": \"bbox\" must be [x, y, width, height], got " << v.dump());
  Box b{number_value(v[0], "bbox", at), number_value(v[1], "bbox", at),
        number_value(v[2], "bbox", at), number_value(v[3], "bbox", at)};
  DR_CHECK(b.w >= 0 && b.h >= 0, at << ": \"bbox\" has a negative width or height: " << v.dump());
  return b;
}

json parse_json_file(const std::string& path) {
  std::string text = read_text_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    DR_FAIL(path << ": not valid JSON: " << e.what());
  }
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  DR_CHECK(f, path << ": cannot open for reading");
  std::ostringstream os;
  os << f.rdbuf();
  DR_CHECK(!f.bad(), path << ": read error");
  return os.str();
}

CocoGroundTruth parse_coco_gt(const json& j, const std::string& source) {
  DR_CHECK(j.is_object(), source << ": COCO ground truth must be a JSON object with images, "
                                    "annotations and categories");
  CocoGroundTruth gt;
  gt.source = source;
  const json& images = field(j, "images", source);
  const json& cats = field(j, "categories", source);
  const json& anns = field(j, "annotations", source);
  DR_CHECK(images.is_array() && cats.is_array() && anns.is_array(),
           source << ": images, annotations and categories must be JSON lists");
  gt.images.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    std::string at = where(source, "images", i);
    ImageInfo im;
    im.id = id_value(field(images[i], "id", at), "id", at);
    auto fn = images[i].find("file_name");
    if (fn != images[i].end() && fn->is_string()) im.file_name = fn->get<std::string>();
    auto w = images[i].find("width"), h = images[i].find("height");
    if (w != images[i].end() && w->is_number()) im.width = w->get<int64_t>();
    if (h != images[i].end() && h->is_number()) im.height = h->get<int64_t>();
    DR_CHECK(gt.image_index.emplace(im.id, gt.images.size()).second,
             at << ": duplicate image id " << im.id);
    gt.images.push_back(std::move(im));
  }
  for (size_t i = 0; i < cats.size(); ++i) {
    std::string at = where(source, "categories", i);
    Category c;
    c.id = id_value(field(cats[i], "id", at), "id", at);
    auto nm = cats[i].find("name");
    if (nm != cats[i].end() && nm->is_string()) c.name = nm->get<std::string>();
    DR_CHECK(gt.category_index.emplace(c.id, gt.categories.size()).second,
             at << ": duplicate category id " << c.id);
    gt.categories.push_back(std::move(c));
  }
  std::unordered_set<int64_t> ann_ids;
  gt.annotations.reserve(anns.size());
  for (size_t i = 0; i < anns.size(); ++i) {
    std::string at = where(source, "annotations", i);
    const json& a = anns[i];
    GtAnnotation g;
    g.id = id_value(field(a, "id", at), "id", at);
    g.image_id = id_value(field(a, "image_id", at), "image_id", at);
    g.category_id = id_value(field(a, "category_id", at), "category_id", at);
    g.bbox = box_value(field(a, "bbox", at), at);
    g.area = number_value(field(a, "area", at), "area", at);
    auto crowd = a.find("iscrowd");
    if (crowd != a.end()) {
      DR_CHECK(crowd->is_number() || crowd->is_boolean(),
               at << ": \"iscrowd\" must be 0 or 1, got " << crowd->dump());
      g.iscrowd = crowd->is_boolean() ? crowd->get<bool>() : crowd->get<double>() != 0;
    }
    DR_CHECK(ann_ids.insert(g.id).second, at << ": duplicate annotation id " << g.id);
    DR_CHECK(gt.has_image(g.image_id),
             at << ": image_id " << g.image_id << " is not in \"images\"");
    DR_CHECK(gt.has_category(g.category_id),
             at << ": category_id " << g.category_id << " is not in \"categories\"");
    gt.annotations.push_back(g);
  }
  return gt;
}

CocoGroundTruth read_coco_gt(const std::string& path) {
  return parse_coco_gt(parse_json_file(path), path);
}

namespace {

Detection detection_from(const json& d, const CocoGroundTruth& gt, const std::string& at) {
  Detection det;
  det.image_id = id_value(field(d, "image_id", at), "image_id", at);
  det.category_id = id_value(field(d, "category_id", at), "category_id", at);
  det.bbox = box_value(field(d, "bbox", at), at);
  det.score = number_value(field(d, "score", at), "score", at);
  DR_CHECK(gt.has_image(det.image_id),
           at << ": image_id " << det.image_id << " is not an image of " << gt.source);
  return det;
}

const char* kNotAList = ": detections must be a JSON list of {image_id, category_id, bbox, score}";

}  // namespace

std::vector<Detection> parse_detections(const json& j, const CocoGroundTruth& gt,
                                        const std::string& source) {
  DR_CHECK(j.is_array(), source << kNotAList);
  std::vector<Detection> dets;
  dets.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i)
    dets.push_back(detection_from(j[i], gt, where(source, "detections", i)));
  return dets;
}

std::vector<Detection> read_detections(const std::string& path, const CocoGroundTruth& gt) {
  // Streamed: each detection object is converted as soon as it is parsed and then dropped
  // from the DOM, so a 13,000 x 100 file needs ~50 MB instead of ~1 GB.
  const std::string text = read_text_file(path);
  const size_t first = text.find_first_not_of(" \t\r\n");
  DR_CHECK(first != std::string::npos && text[first] == '[', path << kNotAList);
  std::vector<Detection> dets;
  auto on_event = [&](int depth, json::parse_event_t ev, json& parsed) -> bool {
    if (depth != 1) return true;
    if (ev == json::parse_event_t::object_end) {
      dets.push_back(detection_from(parsed, gt, where(path, "detections", dets.size())));
      return false;
    }
    if (ev == json::parse_event_t::value || ev == json::parse_event_t::array_end)
      detection_from(parsed, gt, where(path, "detections", dets.size()));  // throws: not an object
    return true;
  };
  try {
    json rest = json::parse(text, on_event);  // the emptied top-level list
  } catch (const json::parse_error& e) {
    DR_FAIL(path << ": not valid JSON: " << e.what());
  }
  return dets;
}

void write_detections(const std::string& path, const std::vector<Detection>& dets) {
  json j = json::array();
  for (const Detection& d : dets)
    j.push_back({{"image_id", d.image_id},
                 {"category_id", d.category_id},
                 {"bbox", {d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h}},
                 {"score", d.score}});
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    DR_CHECK(f, path << ": cannot open for writing");
    f << j.dump() << "\n";
    DR_CHECK(f.good(), path << ": write error");
  }
  DR_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, path << ": cannot rename " << tmp);
}

}  // namespace dr::eval
