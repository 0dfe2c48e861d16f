// tools/merge_coco.py (make real-data, make real-train SAMPLE=N) end to end: splits merge into
// one folder of links with renumbered boxes, --sample keeps a seeded subset with exactly its
// images' boxes, and bad input fails naming the problem.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/coco_data.h"
#include "tests/testing.h"

namespace {

// A split of n images (ids first_id..) with i % 3 + 1 boxes each, and empty image files.
void write_split(const std::string& dir, const std::string& name, int first_id, int n) {
  std::system(("mkdir -p " + dir + "/" + name).c_str());
  nlohmann::json j = {{"images", nlohmann::json::array()},
                      {"annotations", nlohmann::json::array()},
                      {"categories", {{{"id", 1}, {"name", "0"}}, {{"id", 2}, {"name", "1"}}}}};
  int ann = 100;
  for (int i = 0; i < n; ++i) {
    const int id = first_id + i;
    const std::string file = std::to_string(id) + ".png";
    std::ofstream(dir + "/" + name + "/" + file) << "x";
    j["images"].push_back({{"id", id}, {"file_name", file}, {"width", 40}, {"height", 20}});
    for (int b = 0; b < i % 3 + 1; ++b)
      j["annotations"].push_back({{"id", ann++}, {"image_id", id}, {"category_id", 1 + b % 2},
                                  {"bbox", {2 * b, 1, 5, 10}}, {"area", 50}, {"iscrowd", 0}});
  }
  std::ofstream(dir + "/" + name + ".json") << j.dump();
}

nlohmann::json read_json(const std::string& p) {
  return nlohmann::json::parse(dr::eval::read_text_file(p));
}

}  // namespace

TEST_CASE("tools: merge_coco merges splits into links and draws a seeded sample") {
  std::string out;
  if (dr::test::run_command("python3 --version", out) != 0) {
    MESSAGE("skipped: python3 not found");
    return;
  }
  const std::string dir = "build/test_tmp/merge_coco";
  std::system(("rm -rf " + dir).c_str());
  write_split(dir, "a", 1, 12);
  write_split(dir, "b", 50, 9);
  const std::string tool = "python3 tools/merge_coco.py ";

  REQUIRE(dr::test::run_command(tool + dir + "/all.json " + dir + "/a.json " + dir + "/b.json", out) == 0);
  CAPTURE(out);
  const nlohmann::json all = read_json(dir + "/all.json");
  REQUIRE(all["images"].size() == 21);
  REQUIRE(all["annotations"].size() == 24 + 18);  // 12 and 9 images of 1, 2, 3, 1, ... boxes
  for (size_t k = 0; k < all["annotations"].size(); ++k)
    CHECK(all["annotations"][k]["id"].get<int>() == int(k) + 1);
  struct stat st;
  CHECK(lstat((dir + "/all/55.png").c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));

  // A sample: 7 distinct images, all their boxes and no other, the same for the same seed.
  auto sample = [&](int n, int seed, const std::string& name) {
    REQUIRE(dr::test::run_command(tool + "--sample " + std::to_string(n) + " --seed " + std::to_string(seed) +
                        " " + dir + "/" + name + ".json " + dir + "/all.json",
                    out) == 0);
    return read_json(dir + "/" + name + ".json");
  };
  const nlohmann::json s1 = sample(7, 3, "s1"), s2 = sample(7, 3, "s2"), s3 = sample(7, 4, "s3");
  REQUIRE(s1["images"].size() == 7);
  CHECK(s1["images"] == s2["images"]);
  CHECK(s1["images"] != s3["images"]);
  std::set<int> ids;
  for (const auto& im : s1["images"]) ids.insert(im["id"].get<int>());
  CHECK(ids.size() == 7);
  size_t expected_boxes = 0;
  for (const auto& a : all["annotations"]) expected_boxes += ids.count(a["image_id"].get<int>());
  CHECK(s1["annotations"].size() == expected_boxes);
  for (size_t k = 0; k < s1["annotations"].size(); ++k) {
    CHECK(ids.count(s1["annotations"][k]["image_id"].get<int>()) == 1);
    CHECK(s1["annotations"][k]["id"].get<int>() == int(k) + 1);
  }
  for (int id : ids) CHECK(access((dir + "/s1/" + std::to_string(id) + ".png").c_str(), F_OK) == 0);

  // Bad input names the problem.
  CHECK(dr::test::run_command(tool + "--sample 22 " + dir + "/x.json " + dir + "/all.json", out) == 1);
  CHECK(out.find("--sample 22: must be 1 to 21") != std::string::npos);
  CHECK(dr::test::run_command(tool + "--sample abc " + dir + "/x.json " + dir + "/all.json", out) == 1);
  CHECK(out.find("--sample needs a non-negative whole number") != std::string::npos);
  write_split(dir, "c", 5, 2);  // ids 5 and 6 are in a.json too
  CHECK(dr::test::run_command(tool + dir + "/x.json " + dir + "/a.json " + dir + "/c.json", out) == 1);
  CHECK(out.find("image id 5 is in both") != std::string::npos);
}
