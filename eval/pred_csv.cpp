#include "eval/pred_csv.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "kernels/error.h"

namespace dr::eval {

namespace {

std::vector<std::string> split_row(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  for (std::string& s : out) {  // trim spaces
    size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    s = a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  }
  return out;
}

bool parse_int64(const std::string& s, int64_t& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  v = x;
  return true;
}

bool valid_label(const std::string& s) {
  if (s == "-1") return true;
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

PredCsv parse_pred_csv(const std::string& text, const CocoGroundTruth& gt,
                       const std::string& source) {
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  int col_id = -1, col_label = -1;
  size_t n_cols = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto header = split_row(line);
    if (!header.empty() && header[0].rfind("\xEF\xBB\xBF", 0) == 0) header[0].erase(0, 3);  // BOM
    for (size_t c = 0; c < header.size(); ++c) {
      if (header[c] == "image_id") col_id = static_cast<int>(c);
      if (header[c] == "pred_label") col_label = static_cast<int>(c);
    }
    n_cols = header.size();
    DR_CHECK(col_id >= 0 && col_label >= 0,
             source << ":" << line_no << ": the header must name the columns image_id and "
                    << "pred_label; found \"" << line << "\"");
    break;
  }
  DR_CHECK(col_id >= 0, source << ": empty file (expected the header image_id,pred_label)");
  PredCsv out;
  out.labels.assign(gt.images.size(), std::string());
  std::unordered_set<int64_t> seen;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto f = split_row(line);
    DR_CHECK(f.size() >= n_cols, source << ":" << line_no << ": " << f.size() << " fields, the "
                                        << "header has " << n_cols << ": \"" << line << "\"");
    int64_t id = 0;
    DR_CHECK(parse_int64(f[col_id], id),
             source << ":" << line_no << ": image_id \"" << f[col_id] << "\" is not an integer");
    auto it = gt.image_index.find(id);
    DR_CHECK(it != gt.image_index.end(),
             source << ":" << line_no << ": image_id " << id << " is not an image of " << gt.source);
    DR_CHECK(seen.insert(id).second, source << ":" << line_no << ": image_id " << id
                                            << " appears twice");
    const std::string& label = f[col_label];
    DR_CHECK(valid_label(label), source << ":" << line_no << ": pred_label \"" << label
                                        << "\" is neither -1 nor a digit string");
    out.labels[it->second] = label;
  }
  for (std::string& l : out.labels)
    if (l.empty()) {
      l = "-1";  // no row: scored as no digits found
      out.missing_rows++;
    }
  return out;
}

PredCsv read_pred_csv(const std::string& path, const CocoGroundTruth& gt) {
  return parse_pred_csv(read_text_file(path), gt, path);
}

void write_pred_csv(const std::string& path, const CocoGroundTruth& gt,
                    const std::vector<std::string>& labels) {
  DR_CHECK(labels.size() == gt.images.size(),
           path << ": " << labels.size() << " labels for " << gt.images.size() << " images");
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    DR_CHECK(f, path << ": cannot open for writing");
    f << "image_id,pred_label\n";
    for (size_t i = 0; i < labels.size(); ++i) f << gt.images[i].id << "," << labels[i] << "\n";
    DR_CHECK(f.good(), path << ": write error");
  }
  DR_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, path << ": cannot rename " << tmp);
}

}  // namespace dr::eval
