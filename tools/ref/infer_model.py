"""Reference for the inference command (tests/test_infer.cpp).

Writes infer_model.weights.bin next to OUT: a small seeded random 11-class digit model
(v1, resnet18, min_size 64, max_size 128, digit-sized anchors, 100 proposals), converted (113 MB: the
resnet18 body and the 1024-wide TwoMLPHead; the test derives its other weight files, a
91-class model and a mismatched one, from it in C++ rather than storing more). And in OUT three u8 images (H, W, 3) of different sizes (the test writes them as PNG, so
the model sees exactly these pixels) with torchvision's detections for them in original
pixels, twice: all three images in one batch (padded together) and one image a batch (the
padding differs, so the detections do too). meta["strings"] holds the pred.csv digit
strings of both runs at meta["score_thresh"], computed here by the documented rule
(detections >= the threshold with a digit label, class-agnostic NMS at meta["digit_nms"]
by torchvision.ops.nms, then digits = label - 1 sorted by box center x; ties: higher
score, smaller x1, smaller y1).

As in detector.py, random weights give near-tied scores; the RPN objectness and the
classifier are scaled so that scores separate and the detection sets are well defined.
"""
import os
import sys

import torch
import torchvision
from torch import nn
from torchvision.ops import misc as misc_nn_ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import convert_weights  # noqa: E402
import flatfile  # noqa: E402
import tv_models  # noqa: E402

CONFIG = {"arch": "v1", "backbone": "resnet18", "num_classes": 11, "min_size": 64,
          "max_size": 128, "anchor_sizes": [[8], [16], [32], [64], [128]],
          # 100 proposals instead of 1000: the 1024-wide fc6 on every proposal dominates
          # the CPU time (~25 MFLOP a proposal), and the tests run this model many times.
          "rpn_post_nms_top_n_test": 100}
SIZES = [(40, 90), (64, 48), (33, 37)]  # (H, W)
# The pred.csv threshold: the middle of the widest gap between the scores of both runs
# within this range (high, so each string has a few digits; a gap, so no score sits next
# to the threshold where float32 differences could put it on either side).
THRESH_RANGE = (0.95, 0.995)


def randomize(model, g, num_classes):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, misc_nn_ops.FrozenBatchNorm2d)):
            c = m.weight.shape[0]
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=g) * 0.5 + 0.5)
                m.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
                m.running_mean.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    with torch.no_grad():
        # x40: objectness logits spread over about +-7. (x300, as detector.py, saturates
        # the sigmoid to 1.0 in float32 for many proposals, and the top-100 cut after NMS
        # among those ties is then order-dependent.)
        model.rpn.head.cls_logits.weight.mul_(40.0)
        model.roi_heads.box_predictor.cls_score.weight.mul_(40.0)
        model.roi_heads.box_predictor.cls_score.bias.copy_(torch.randn(num_classes, generator=g))


def make_model(config, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    model = tv_models.build_model(config)
    randomize(model, g, tv_models.full_config(config)["num_classes"])
    return model.eval()


# eval/digits.h kDigitNmsIou: one digit detected as two classes is read once.
DIGIT_NMS = 0.3


def digit_string(boxes, scores, labels, thresh):
    sel = (scores >= thresh) & (labels >= 1) & (labels <= 10)
    boxes, scores, labels = boxes[sel], scores[sel], labels[sel]
    iou = torchvision.ops.box_iou(boxes, boxes)
    off = ~torch.eye(len(boxes), dtype=torch.bool)
    assert not ((iou[off] - DIGIT_NMS).abs() < 1e-3).any(), "an IoU next to the NMS limit: fragile"
    kept = torchvision.ops.nms(boxes, scores, DIGIT_NMS)
    keep = [(float((b[0] + b[2]) / 2), -float(s), float(b[0]), float(b[1]), int(l) - 1)
            for b, s, l in zip(boxes[kept], scores[kept], labels[kept])]
    keep.sort(key=lambda t: t[:4])
    for a, b in zip(keep, keep[1:]):
        assert b[0] - a[0] > 1e-3, "near-tied box centers: the order would be fragile"
    return "".join(str(t[4]) for t in keep) or "-1"


def pick_thresh(runs):
    scores = torch.cat([d["scores"] for dets in runs.values() for d in dets])
    lo, hi = THRESH_RANGE
    s = torch.cat([torch.tensor([lo, hi]), scores[(scores > lo) & (scores < hi)]]).sort().values
    gaps = s[1:] - s[:-1]
    k = int(gaps.argmax())
    assert gaps[k] > 2e-3, f"no score gap in {THRESH_RANGE}"
    return float((s[k] + s[k + 1]) / 2)


def main(out):
    torch.set_num_threads(2)
    out_dir = os.path.dirname(os.path.abspath(out))
    model = make_model(CONFIG, 1)
    convert_weights.convert_state_dict(os.path.join(out_dir, "infer_model.weights.bin"),
                                       model.state_dict(), tv_models.full_config(CONFIG))

    g = torch.Generator().manual_seed(5)
    images_u8 = [torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8) for h, w in SIZES]
    images = [im.permute(2, 0, 1).float() / 255.0 for im in images_u8]
    tensors, strings = {}, {}
    with torch.no_grad():
        runs = {"batched": model(images), "single": [model([im])[0] for im in images]}
    thresh = pick_thresh(runs)
    suppressed = 0
    for run, dets in runs.items():
        strings[run] = []
        for i, d in enumerate(dets):
            assert d["scores"].numel() > 0, f"{run} image {i}: no detections to compare"
            for k in ("boxes", "scores", "labels"):
                tensors[f"{run}.{i}.{k}"] = d[k]
            strings[run].append(digit_string(d["boxes"], d["scores"], d["labels"], thresh))
            suppressed += int(((d["scores"] >= thresh) & (d["labels"] <= 10)).sum()) - \
                (len(strings[run][-1]) if strings[run][-1] != "-1" else 0)
    assert suppressed > 0, "the digit NMS removes nothing: the test would not check it"
    assert any(s != "-1" for s in strings["batched"]), "no digit string: the test would be weak"
    for i, im in enumerate(images_u8):
        tensors[f"image.{i}"] = im
    flatfile.write(out, tensors, meta={"config": tv_models.full_config(CONFIG), "count": len(SIZES),
                                       "score_thresh": thresh, "digit_nms": DIGIT_NMS,
                                       "strings": strings})


if __name__ == "__main__":
    main(sys.argv[1])
