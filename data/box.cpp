#include "data/box.h"

namespace dr::data {

Tensor boxes_tensor(const std::vector<Box>& boxes) {
  Tensor t = Tensor::host({static_cast<int64_t>(boxes.size()), 4}, DType::F32);
  float* p = t.data<float>();
  for (size_t i = 0; i < boxes.size(); ++i) {
    p[4 * i] = boxes[i].x1, p[4 * i + 1] = boxes[i].y1, p[4 * i + 2] = boxes[i].x2, p[4 * i + 3] = boxes[i].y2;
  }
  return t;
}

Tensor labels_tensor(const std::vector<Box>& boxes) {
  Tensor t = Tensor::host({static_cast<int64_t>(boxes.size())}, DType::I64);
  for (size_t i = 0; i < boxes.size(); ++i) t.data<int64_t>()[i] = boxes[i].label;
  return t;
}

}  // namespace dr::data
