// CPU loops for kernels/match.h over the per-element functions of kernels/match.cuh.
#include <limits>

#include "kernels/match.h"

namespace dr::kern {

template <class T> void match_row_max_cpu(T* best_per_gt, const T* q, int64_t g, int64_t p) {
  for (int64_t i = 0; i < g; ++i) {
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < p; ++j) m = max_nan(m, q[i * p + j]);
    best_per_gt[i] = m;
  }
}

template <class T>
void match_predictions_cpu(int64_t* matches, const T* q, const T* best_per_gt, int64_t g,
                           int64_t p, T high, T low) {
  for (int64_t j = 0; j < p; ++j) matches[j] = match_prediction(q, g, p, j, best_per_gt, high, low);
}

template <class T>
void anchor_targets_cpu(T* labels, T* matched_boxes, const int64_t* matches, const T* gt,
                        int64_t a) {
  for (int64_t i = 0; i < a; ++i) anchor_target(labels + i, matched_boxes + 4 * i, matches[i], gt);
}

void proposal_targets_cpu(int64_t* clamped, int64_t* labels, const int64_t* matches,
                          const int64_t* gt_labels, int64_t p) {
  for (int64_t i = 0; i < p; ++i) proposal_target(clamped + i, labels + i, matches[i], gt_labels);
}

#define DR_INST(T)                                                                          \
  template void match_row_max_cpu<T>(T*, const T*, int64_t, int64_t);                       \
  template void match_predictions_cpu<T>(int64_t*, const T*, const T*, int64_t, int64_t, T, \
                                         T);                                                \
  template void anchor_targets_cpu<T>(T*, T*, const int64_t*, const T*, int64_t);
DR_INST(float)
DR_INST(double)
#undef DR_INST

}  // namespace dr::kern
