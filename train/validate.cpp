#include "train/validate.h"

#include <chrono>

#include "data/aug_geometry.h"
#include "data/progress.h"
#include "eval/coco_eval.h"
#include "eval/digits.h"

namespace dr::train {

ValidationResult validate(Context& ctx, FasterRCNN& model, data::Loader& loader,
                          const eval::CocoGroundTruth& gt, double score_thresh, double digit_nms,
                          bool boxes_resized) {
  const auto t0 = std::chrono::steady_clock::now();
  ValidationResult r;
  model.train(false);
  std::vector<eval::Detection> dets;
  loader.start_epoch(0);
  data::Batch b;
  Progress bar("valid", static_cast<int64_t>(loader.num_batches()), "batch");
  while (loader.next(b)) {
    std::vector<Tensor> images;
    for (const Tensor& im : b.images) images.push_back(ctx.to(im, ctx.device()));
    const std::vector<Detections> out = model.detect(ctx, images);
    for (size_t k = 0; k < out.size(); ++k) {
      const Tensor boxes = ctx.to_host(out[k].boxes), scores = ctx.to_host(out[k].scores),
                   labels = ctx.to_host(out[k].labels);
      std::vector<data::Box> bx(static_cast<size_t>(scores.numel()));
      for (size_t j = 0; j < bx.size(); ++j) {
        const float* p = boxes.data<float>() + 4 * j;
        bx[j] = {p[0], p[1], p[2], p[3], 0};
      }
      if (boxes_resized)  // a fixed-size resize: back to the file's pixels
        data::map_boxes_to_original(bx, int(b.images[k].size(1)), int(b.images[k].size(2)),
                                    b.orig_hw[k].first, b.orig_hw[k].second);
      for (size_t j = 0; j < bx.size(); ++j) {
        eval::Detection d;
        d.image_id = b.image_ids[k];
        d.category_id = labels.data<int64_t>()[j];
        d.bbox = {bx[j].x1, bx[j].y1, bx[j].x2 - bx[j].x1, bx[j].y2 - bx[j].y1};
        d.score = scores.data<float>()[j];
        dets.push_back(d);
      }
      ++r.images;
    }
    bar.tick();
  }
  bar.finish();
  model.train(true);
  r.detections = static_cast<int64_t>(dets.size());
  const eval::CocoStats stats = eval::CocoEvaluator(gt, dets).summarize();
  r.map = stats.stats[0];
  r.map50 = stats.stats[1];
  const std::vector<std::string> pred = eval::predicted_strings(gt, dets, score_thresh, digit_nms);
  r.accuracy = eval::score_strings(gt, eval::gt_strings(gt), pred).accuracy;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace dr::train
