"""Reference dump for the whole Faster R-CNN inference path (tests/test_detector_parity.cpp).

For each variant (v1, v2, v2 + residual FPN; 11 classes) a torchvision model with seeded
random weights is converted to detector_<variant>.weights.bin next to OUT, and its eval
forward on a batch of two images of different sizes is dumped stage by stage:
transform output, RPN head outputs per level, anchors, proposals (+ objectness
probabilities), then the RoI heads run on those same proposals (pooled features, class
logits, box regression, detections in resized coordinates) and the final detections in
original image coordinates.

Random weights give near-tied scores that make top-k and NMS order-unstable, so the
score layers are scaled to separate them: the RPN objectness conv and the classifier
weights are multiplied so that their logits on these images have a standard deviation of
a few units (instead of a few hundredths). The factor is measured per variant, so the
sigmoid does not saturate to exact 1.0 ties either; every stage keeps its semantics and
the orders become well defined.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from backbone import randomize_norms  # noqa: E402  (random affine and running stats)
import convert_weights  # noqa: E402
import flatfile  # noqa: E402
import tv_models  # noqa: E402

VARIANTS = {
    "v1": {"arch": "v1", "backbone": "resnet50"},
    "v2": {"arch": "v2", "backbone": "resnet50"},
    "v2res": {"arch": "v2", "backbone": "resnet50", "res_fpn": True},
}
COMMON = {"num_classes": 11, "min_size": 96, "max_size": 160}


def separate_scores(model, images, g):
    """Scale the objectness and class-score layers to logits of std ~2 on these images."""
    with torch.no_grad():
        il, _ = model.transform(images)
        feats = model.backbone(il.tensors)
        obj, _ = model.rpn.head(list(feats.values()))
        std = torch.cat([o.flatten() for o in obj]).std()
        model.rpn.head.cls_logits.weight.mul_(2.0 / std)
        proposals, _ = model.rpn(il, feats)
        rh = model.roi_heads
        logits, _ = rh.box_predictor(rh.box_head(rh.box_roi_pool(feats, proposals, il.image_sizes)))
        rh.box_predictor.cls_score.weight.mul_(2.0 / logits.std())
        rh.box_predictor.cls_score.bias.copy_(torch.randn(COMMON["num_classes"], generator=g))


def dump_variant(name, config, out_dir, tensors):
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(2)
    cfg = dict(config, **COMMON)
    model = tv_models.build_model(cfg)
    randomize_norms(model, g)
    model.eval()
    images = [torch.rand(3, 60, 90, generator=g), torch.rand(3, 85, 50, generator=g)]
    separate_scores(model, images, g)
    convert_weights.convert_state_dict(os.path.join(out_dir, f"detector_{name}.weights.bin"),
                                       model.state_dict(), tv_models.full_config(cfg))
    p = name + "."
    with torch.no_grad():
        il, _ = model.transform(images)
        tensors[p + "transform.tensors"] = il.tensors
        tensors[p + "transform.sizes"] = torch.tensor(il.image_sizes, dtype=torch.int64)
        feats = model.backbone(il.tensors)
        levels = list(feats.values())
        rpn = model.rpn
        obj, deltas = rpn.head(levels)
        for l, (o, d) in enumerate(zip(obj, deltas)):
            tensors[p + f"rpn.objectness.{l}"] = o
            tensors[p + f"rpn.deltas.{l}"] = d
        anchors = rpn.anchor_generator(il, levels)
        tensors[p + "rpn.anchors"] = anchors[0]
        # RegionProposalNetwork.forward, eval, spelled out to also keep the scores.
        num_per_level = [o[0].numel() for o in obj]
        from torchvision.models.detection.rpn import concat_box_prediction_layers
        o_flat, d_flat = concat_box_prediction_layers(obj, deltas)
        proposals = rpn.box_coder.decode(d_flat, anchors).view(len(anchors), -1, 4)
        boxes, scores = rpn.filter_proposals(proposals, o_flat, il.image_sizes, num_per_level)
        for i, (b, s) in enumerate(zip(boxes, scores)):
            tensors[p + f"rpn.boxes.{i}"] = b
            tensors[p + f"rpn.scores.{i}"] = s
        check, _ = rpn(il, feats)
        assert all(torch.equal(a, b) for a, b in zip(check, boxes)), "spelled-out RPN differs"
        # RoI heads on exactly these proposals.
        rh = model.roi_heads
        pooled = rh.box_roi_pool(feats, boxes, il.image_sizes)
        logits, regression = rh.box_predictor(rh.box_head(pooled))
        tensors[p + "roi.box_features"] = pooled
        tensors[p + "roi.class_logits"] = logits
        tensors[p + "roi.box_regression"] = regression
        db, ds, dl = rh.postprocess_detections(logits, regression, boxes, il.image_sizes)
        for i in range(len(images)):
            tensors[p + f"roi.det.{i}.boxes"] = db[i]
            tensors[p + f"roi.det.{i}.scores"] = ds[i]
            tensors[p + f"roi.det.{i}.labels"] = dl[i]
        final = model(images)
        for i, det in enumerate(final):
            tensors[p + f"det.{i}.boxes"] = det["boxes"]
            tensors[p + f"det.{i}.scores"] = det["scores"]
            tensors[p + f"det.{i}.labels"] = det["labels"]
    for i, im in enumerate(images):
        tensors[p + f"image.{i}"] = im


def state_dict_names(config):
    """[[key, shape], ...] of the whole model's state_dict, in torch's order."""
    model = tv_models.build_model(config)
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def main(out):
    torch.set_num_threads(2)
    out_dir = os.path.dirname(os.path.abspath(out))
    tensors = {}
    for name, config in VARIANTS.items():
        dump_variant(name, config, out_dir, tensors)
    names = {}
    for name, config in VARIANTS.items():
        for classes in (91, 11):
            cfg = tv_models.full_config(dict(config, num_classes=classes))
            names[f"{name}.{classes}"] = {"config": cfg, "state_dict": state_dict_names(cfg)}
    flatfile.write(out, tensors, meta={"torch": torch.__version__, "variants": list(VARIANTS),
                                       "common": COMMON, "names": names})


if __name__ == "__main__":
    main(sys.argv[1])
