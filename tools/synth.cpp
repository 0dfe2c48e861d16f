// synth: writes a synthetic SVHN-like house-number split in the target COCO layout.
//   synth --out DIR --split-name train --count 1000 --seed 0
// writes DIR/train/<id>.png and DIR/train.json (ids first-id .. first-id+count-1).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include <chrono>
#include "data/synth.h"

using namespace dr;

static void usage() {
  std::printf(
      "usage: synth --out DIR [--split-name NAME] [--count N] [--seed S] [--first-id ID]\n"
      "             [--threads T] [--fonts DIR]... [--min-digits K] [--max-digits K]\n"
      "             [--plain] [--no-degrade] [--quiet]\n"
      "Writes DIR/NAME/<id>.png and DIR/NAME.json: SVHN-like images of 1-5 digits in the\n"
      "target COCO layout (image id = file stem, category_id = digit + 1, bbox [x,y,w,h]\n"
      "tight around each digit's ink). Deterministic for a seed, whatever --threads.\n"
      "  --out DIR         output root (created)\n"
      "  --split-name NAME split name (default train)\n"
      "  --count N         number of images (default 1000)\n"
      "  --seed S          seed (default 0)\n"
      "  --first-id ID     first image id (default 1)\n"
      "  --threads T       worker threads (default 1)\n"
      "  --fonts DIR       font folder (repeatable; default: the Debian font folders)\n"
      "  --min-digits K, --max-digits K   digits per image (default 1..5)\n"
      "  --plain           plain backgrounds, no clutter or neighbour digits\n"
      "  --no-degrade      no blur / noise / compression\n"
      "  --quiet           no progress bar\n");
}

int main(int argc, char** argv) {
  std::string out, split = "train";
  int64_t count = 1000, first_id = 1;
  uint64_t seed = 0;
  int threads = 1;
  bool quiet = false;
  std::vector<std::string> font_dirs;
  data::SynthOptions opt;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto val = [&]() -> std::string {
        DR_CHECK(i + 1 < argc, "synth: " << a << " needs a value (see --help)");
        return argv[++i];
      };
      auto num = [&]() -> double {
        const std::string v = val();
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        DR_CHECK(!v.empty() && *end == '\0', "synth: " << a << " needs a number, got \"" << v << "\"");
        return d;
      };
      if (a == "--help" || a == "-h") {
        usage();
        return 0;
      } else if (a == "--out") out = val();
      else if (a == "--split-name") split = val();
      else if (a == "--count") count = static_cast<int64_t>(num());
      else if (a == "--seed") {
        const std::string v = val();
        char* end = nullptr;
        seed = std::strtoull(v.c_str(), &end, 10);
        DR_CHECK(!v.empty() && *end == '\0', "synth: --seed needs a whole number, got \"" << v << "\"");
      }
      else if (a == "--first-id") first_id = static_cast<int64_t>(num());
      else if (a == "--threads") threads = static_cast<int>(num());
      else if (a == "--fonts") font_dirs.push_back(val());
      else if (a == "--min-digits") opt.min_digits = static_cast<int>(num());
      else if (a == "--max-digits") opt.max_digits = static_cast<int>(num());
      else if (a == "--plain") opt.textured = opt.clutter = opt.neighbours = false;
      else if (a == "--no-degrade") opt.degrade = false;
      else if (a == "--quiet") quiet = true;
      else DR_FAIL("synth: unknown argument " << a << " (see --help)");
    }
    DR_CHECK(!out.empty(), "synth: --out DIR is required (see --help)");
    data::SynthGenerator gen(opt, font_dirs);
    const auto t0 = std::chrono::steady_clock::now();
    data::write_synth_split(gen, out, split, count, seed, first_id, threads, !quiet);
    std::printf("synth: wrote %lld images to %s/%s/ and %s/%s.json with %zu fonts (%.0f img/s)\n",
                static_cast<long long>(count), out.c_str(), split.c_str(), out.c_str(),
                split.c_str(), gen.num_fonts(), count / std::max(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1e-9));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
