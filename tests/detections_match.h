// Comparing detection sets whose order is not meaningful (NMS keep sets, top-k): every
// expected row must pair with a distinct actual row of the same label whose score and
// box are within tolerance, and the counts must be equal. Greedy in expected order;
// inputs come from scaled weights (no near ties), so greedy pairing is unambiguous.
#pragma once
#include <string>

#include "tests/testing.h"

namespace dr::test {

struct DetectionSet {
  Tensor boxes;   // (k, 4)
  Tensor scores;  // (k)
  Tensor labels;  // (k) int64, or undefined (proposals: no labels)
};

// Returns "" when they match, else a message naming the first unmatched row.
std::string match_detections(Context& ctx, const DetectionSet& actual, const DetectionSet& expected,
                             double box_atol, double score_atol);

// atol = frac * max |t| (for tensors whose scale varies between stages).
double scaled_atol(Context& ctx, const Tensor& t, double frac);

}  // namespace dr::test
