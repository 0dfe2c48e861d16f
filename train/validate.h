// Validation during training: the eval forward (FasterRCNN::detect, model in eval mode)
// over a loader of validation images, scored with the project's evaluators: COCO mAP
// and AP50 (eval/coco_eval.h, equal to pycocotools) over every detection, whole-number
// accuracy (eval/digits.h) of the detections with score >= a threshold, read after
// class-agnostic NMS at digit_nms.
#pragma once
#include <cstdint>

#include "data/loader.h"
#include "detector/faster_rcnn.h"
#include "eval/coco_data.h"

namespace dr::train {

struct ValidationResult {
  double map = -1, map50 = -1, accuracy = -1;  // -1: not measured
  int64_t images = 0, detections = 0;
  double seconds = 0;
};

// loader: the validation split without augmentation (its batches' image ids must be gt's).
// boxes_resized: the loader resizes images to a fixed size, so detections are mapped back
// to each file's pixels (Batch::orig_hw) before scoring. The model is left in training mode.
ValidationResult validate(Context& ctx, FasterRCNN& model, data::Loader& loader,
                          const eval::CocoGroundTruth& gt, double score_thresh, double digit_nms,
                          bool boxes_resized);

}  // namespace dr::train
