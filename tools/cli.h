// Command-line reading shared by the tools: walks "--flag value" arguments, prints the
// usage for -h/--help, and parses numbers with errors that name the flag.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels/error.h"

namespace dr::cli {

// "--flag needs a whole number >= lo, got "x"" unless v is an integer >= lo.
inline int64_t parse_int(const std::string& flag, const std::string& v, int64_t lo) {
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  DR_CHECK(!v.empty() && end && *end == '\0' && n >= lo,
           flag << " needs a whole number >= " << lo << ", got \"" << v << "\"");
  return n;
}

// "--flag needs a number, got "x"" unless v is a finite number.
inline double parse_double(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  DR_CHECK(!v.empty() && end && *end == '\0' && std::isfinite(d),
           flag << " needs a number, got \"" << v << "\"");
  return d;
}

// for (cli::ArgWalker w(argc, argv, kUsage); w.next();) { if (w.is("--out")) out = w.value(); ... else w.unknown(); }
class ArgWalker {
 public:
  ArgWalker(int argc, char** argv, const char* usage) : argc_(argc), argv_(argv), usage_(usage) {}

  // Moves to the next flag; prints the usage and exits 0 on -h / --help.
  bool next() {
    if (++i_ >= argc_) return false;
    flag_ = argv_[i_];
    if (flag_ == "-h" || flag_ == "--help") {
      std::fputs(usage_, stdout);
      std::exit(0);
    }
    return true;
  }
  bool is(const char* name) const { return flag_ == name; }
  const std::string& flag() const { return flag_; }
  std::string value() {
    DR_CHECK(i_ + 1 < argc_, flag_ << " needs a value (see --help)");
    return argv_[++i_];
  }
  int64_t int_value(int64_t lo) { return parse_int(flag_, value(), lo); }
  double double_value() { return parse_double(flag_, value()); }
  [[noreturn]] void unknown() const { DR_FAIL("unknown argument " << flag_ << " (see --help)"); }

 private:
  int argc_;
  char** argv_;
  const char* usage_;
  int i_ = 0;
  std::string flag_;
};

}  // namespace dr::cli
