// Tape: autograd-lite. In training mode every op that sees an input requiring a
// gradient pushes a backward closure here (capturing what it saved for backward);
// Context::backward runs the closures in reverse and then clears the tape.
//
// Convention for every backward: input gradients are ACCUMULATED (+=) into the
// inputs' gradient buffers (Context::grad_buffer zero-fills them on first use), so
// a tensor used twice (a residual branch) gets the sum of both paths.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "nn/tensor.h"

namespace dr {

class Tape {
 public:
  // outputs: the op's results; their gradients are freed once this entry has run,
  // because nothing earlier on the tape reads them.
  void push(const char* op, std::vector<Tensor> outputs, std::function<void()> backward);
  void run_backward();  // reverse order, then clears
  void clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }
  std::vector<std::string> ops() const;  // names, oldest first (debugging, tests)

 private:
  struct Entry {
    const char* op;
    std::vector<Tensor> outputs;
    std::function<void()> backward;
  };
  std::vector<Entry> entries_;
};

}  // namespace dr
