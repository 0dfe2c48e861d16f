// Rng: the Context's seeded random source (parameter init, sampling, augmentation
// seeds). Deterministic for a seed on every platform: the distributions are computed
// here from raw 64-bit draws instead of std:: distributions, whose output differs
// between standard libraries.
#pragma once
#include <cmath>
#include <cstdint>

namespace dr {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed) {
    state_ = seed ^ 0x9E3779B97F4A7C15ull;
    next_u64();
  }
  // splitmix64: small, fast, passes BigCrush; good enough for init and sampling.
  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (next_u64() >> 11) * (1.0 / 9007199254740992.0); }  // [0,1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Box-Muller; one draw per call keeps the stream simple to reason about.
  double normal(double mean = 0.0, double stddev = 1.0) {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  int64_t randint(int64_t n) { return static_cast<int64_t>(next_u64() % static_cast<uint64_t>(n)); }
  // An independent child stream (e.g. one per image or per worker).
  Rng fork(uint64_t salt) { return Rng(next_u64() ^ (salt * 0xD1B54A32D192ED03ull)); }
  // The whole generator state, for checkpoints: set_state(state()) continues the stream
  // exactly where it was.
  uint64_t state() const { return state_; }
  void set_state(uint64_t state) { state_ = state; }

 private:
  uint64_t state_ = 0;
};

}  // namespace dr
