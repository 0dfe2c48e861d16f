// Progress: a one-line progress bar with rate and ETA on stderr, for long commands
// (synth, dataset stats, training epochs). Redraws at most ~8 times a second on a
// terminal, and every 10% when stderr is not a terminal (logs stay short).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace dr {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it");
  ~Progress();  // finishes the line if finish() was not called
  void tick(int64_t n = 1);
  void set(int64_t done);
  void finish();
  // Text shown after the rate and ETA from the next redraw on (running losses, lr).
  void set_note(std::string note) { note_ = std::move(note); }
  double elapsed_s() const;
  double rate() const;  // units per second so far

 private:
  void draw(bool final);
  std::string label_, unit_, note_;
  int64_t total_, done_ = 0;
  int last_decile_ = -1;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace dr
