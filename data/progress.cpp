#include "data/progress.h"

#include <unistd.h>

#include <cstdio>

namespace dr {

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(isatty(2) != 0) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (!finished_) finish();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double Progress::rate() const {
  double t = elapsed_s();
  return t > 0 ? done_ / t : 0.0;
}

void Progress::tick(int64_t n) { set(done_ + n); }

void Progress::set(int64_t done) {
  done_ = done;
  auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(125) && done_ < total_) return;
  } else {
    int decile = total_ > 0 ? static_cast<int>(10 * done_ / total_) : 0;
    if (decile == last_decile_ || done_ >= total_) return;  // finish() prints the last line
    last_decile_ = decile;
  }
  last_draw_ = now;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

static std::string fmt_time(double s) {
  char buf[32];
  int t = static_cast<int>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%d:%02d", t / 60, t % 60);
  return buf;
}

void Progress::draw(bool final) {
  const double r = rate();
  const double frac = total_ > 0 ? static_cast<double>(done_) / total_ : 0.0;
  const int width = 24, fill = static_cast<int>(frac * width + 0.5);
  std::string bar(fill > width ? width : fill, '#');
  bar.resize(width, '.');
  std::string eta = final ? "took " + fmt_time(elapsed_s())
                          : "ETA " + (r > 0 ? fmt_time((total_ - done_) / r) : std::string("?"));
  std::fprintf(stderr, "%s%s [%s] %lld/%lld %5.1f%% %.1f %s/s %s%s%s%s", tty_ ? "\r" : "",
               label_.c_str(), bar.c_str(), static_cast<long long>(done_),
               static_cast<long long>(total_), 100.0 * frac, r, unit_.c_str(), eta.c_str(),
               note_.empty() ? "" : "  ", note_.c_str(), tty_ ? (final ? "\x1b[K\n" : "\x1b[K") : "\n");
  std::fflush(stderr);
}

}  // namespace dr
