#include "nn/tape.h"

namespace dr {

void Tape::push(const char* op, std::vector<Tensor> outputs, std::function<void()> backward) {
  entries_.push_back({op, std::move(outputs), std::move(backward)});
}

void Tape::run_backward() {
  // Pop as we go so saved activations are released as early as possible.
  while (!entries_.empty()) {
    Entry e = std::move(entries_.back());
    entries_.pop_back();
    bool any_grad = false;
    for (const Tensor& o : e.outputs) any_grad = any_grad || o.has_grad();
    if (any_grad) {
      try {
        e.backward();
      } catch (const std::exception& err) {
        entries_.clear();
        throw Error(std::string("in backward of ") + e.op + ": " + err.what());
      }
    }
    for (Tensor& o : e.outputs) o.zero_grad();
  }
}

std::vector<std::string> Tape::ops() const {
  std::vector<std::string> names;
  for (const Entry& e : entries_) names.emplace_back(e.op);
  return names;
}

}  // namespace dr
