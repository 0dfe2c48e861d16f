// Per-pixel math of GeneralizedRCNNTransform (torchvision 0.14 models/detection/transform.py):
// normalize is (x - mean[c]) / std[c] with mean/std in the image dtype.
#pragma once
#include "kernels/hd.cuh"

namespace dr::kern {

template <class T> HD T normalize_px(T x, T mean, T std) { return (x - mean) / std; }

}  // namespace dr::kern
