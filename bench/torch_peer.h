// TorchPeer: a torch script as a coprocess that runs one timed command per request, so
// that our runs and torch's alternate and see the same machine load (bench/detector.cpp,
// bench/train_step.cpp). Protocol: the script prints "READY" (or "NOTORCH <why>") once,
// then answers each "RUN <variant>" line with "T <total ms> <s1> <s2> <s3> <s4> <count>"
// (four stage times and a count, e.g. detections) and exits on "QUIT". The interpreter is
// $DR_PYTHON (a lent GPU machine has CUDA torch elsewhere) or /usr/bin/python3.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace dr::bench {

constexpr int kStages = 4;

// The interpreter with torch: $DR_PYTHON (a lent GPU machine has CUDA torch outside
// /usr/bin) or Debian's /usr/bin/python3. Every benchmark's torch side runs through it.
inline std::string torch_python() {
  const char* env = std::getenv("DR_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

class TorchPeer {
 public:
  TorchPeer(const std::string& script, const std::vector<std::string>& args) {
    if (!std::filesystem::exists(script)) {
      std::printf("torch comparison skipped: %s not found\n", script.c_str());
      return;
    }
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      const std::string python = torch_python();
      std::vector<char*> argv = {const_cast<char*>(python.c_str()), const_cast<char*>(script.c_str())};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(python.c_str(), argv.data());
      std::printf("NOTORCH cannot run %s\n", python.c_str());
      std::fflush(stdout);
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    to_ = fdopen(to_child[1], "w");
    from_ = fdopen(from_child[0], "r");
    std::string line;
    while (read_line(line) && line.rfind("READY", 0) != 0 && line.rfind("NOTORCH", 0) != 0) {
    }
    ok_ = line.rfind("READY", 0) == 0;
    if (!ok_)
      std::printf("torch comparison skipped: %s\n", line.empty() ? "no answer" : line.c_str());
  }
  ~TorchPeer() {
    if (to_) {
      std::fputs("QUIT\n", to_);
      std::fclose(to_);
    }
    if (from_) std::fclose(from_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  bool ok() const { return ok_; }

  // One forward of `variant`; false (and ok() false from then on) when the peer failed.
  bool run(const std::string& variant, std::vector<double>& stages, int64_t& detections) {
    if (!ok_) return false;
    std::fprintf(to_, "RUN %s\n", variant.c_str());
    std::fflush(to_);
    std::string line;
    stages.assign(kStages, 0);
    double total = 0;
    std::istringstream is(read_line(line) ? line : "");
    std::string tag;
    ok_ = bool(is >> tag >> total) && tag == "T";
    for (double& s : stages) ok_ = ok_ && bool(is >> s);
    ok_ = ok_ && bool(is >> detections);
    if (!ok_) std::printf("torch side stopped answering: %s\n", line.c_str());
    return ok_;
  }

 private:
  bool read_line(std::string& line) {
    char buf[1024];
    if (!from_ || !std::fgets(buf, sizeof buf, from_)) return false;
    line = buf;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return true;
  }
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  bool ok_ = false;
};


}  // namespace dr::bench
