"""Validation: the model's eval forward on the valid split, boxes mapped back to the file's
pixels, OUT/valid/pred.json (COCO detections), then our evaluator (build/bin/eval) and the
metrics read from its output."""
import json
import os
import subprocess
import time

import torch

from tvtrain.common import fail, read_json


@torch.no_grad()
def validate(model, loader, device, gt_json, out_dir, s, eval_bin):
    t0 = time.time()
    model.eval()
    dets = []
    for batch in loader:
        images = [b[0].to(device) for b in batch]
        outs = model(images)
        for (img, _, _, image_id, (oh, ow)), o in zip(batch, outs):
            boxes = o["boxes"].float().cpu()
            if s["fixed_size"]:  # data/aug_geometry.cpp map_boxes_to_original
                sx = torch.tensor(ow, dtype=torch.float32) / img.shape[2]
                sy = torch.tensor(oh, dtype=torch.float32) / img.shape[1]
                boxes = boxes * torch.stack([sx, sy, sx, sy])
            xywh = torch.cat([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], dim=1)
            for bb, sc, lb in zip(xywh.tolist(), o["scores"].cpu().tolist(),
                                  o["labels"].cpu().tolist()):
                dets.append({"image_id": image_id, "category_id": int(lb), "bbox": bb,
                             "score": sc})
    model.train()
    os.makedirs(out_dir, exist_ok=True)
    pred = os.path.join(out_dir, "pred.json")
    with open(pred, "w") as f:
        json.dump(dets, f)
    cmd = [eval_bin, "--gt", gt_json, "--pred", pred, "--threshold", str(s["score_thresh"]),
           "--digit-nms", str(s["digit_nms"]),
           "--out", out_dir, "--errors", "0"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(os.path.join(out_dir, "eval.txt"), "w") as f:
        f.write(r.stdout)
    if r.returncode != 0:
        fail(f"our evaluator failed ({' '.join(cmd)}):\n{r.stdout[-2000:]}")
    m = read_json(os.path.join(out_dir, "metrics.json"), "evaluator output")
    try:
        return {"map": m["coco"]["AP"], "map50": m["coco"]["AP50"],
                "acc": m["accuracy_pred_json"]["accuracy"], "detections": len(dets),
                "seconds": time.time() - t0, "pred": pred}
    except KeyError as e:
        fail(f"{out_dir}/metrics.json: no {e} (an evaluator of another version?)")
