#!/usr/bin/env python3
"""Convert torchvision Faster R-CNN weights to a digit-rcnn flat weight file.

  convert_weights.py OUT.bin --builder fasterrcnn_resnet50_fpn [--weights COCO_V1]
  convert_weights.py OUT.bin --builder fasterrcnn_resnet50_fpn_v2 --num-classes 11 --seed 0
  convert_weights.py OUT.bin --pth model.pth            (a state_dict or a checkpoint dict)
  convert_weights.py OUT.bin --pth ckpt.pth --res-fpn --backbone resnet18
  convert_weights.py OUT.bin --builder fasterrcnn_resnet50_fpn_v2 --weights COCO_V1 \
      --res-fpn --num-classes 11 --fresh    (COCO v2 weights, new res blocks and predictor)

--builder takes torchvision's builder names; without --weights the model gets
torchvision's random init (seeded with --seed). --pth reads a state_dict or a checkpoint
holding one under "model" or "state_dict", strips DataParallel's "module.", applies
torchvision's legacy key renames, infers the config from the keys (flags override) and
checks the result with torchvision's load_state_dict(strict=True) before writing.
--scope backbone keeps only the BackboneWithFPN (keys "backbone.*").
The format is described in docs/WEIGHTS.md.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flatfile  # noqa: E402
import tv_models  # noqa: E402

BUILDERS = {"fasterrcnn_resnet50_fpn": "v1", "fasterrcnn_resnet50_fpn_v2": "v2"}


def load_pth(path):
    obj = torch.load(path, map_location="cpu")
    for key in ("model", "state_dict"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise SystemExit(f"{path}: not a state_dict or a checkpoint with 'model'/'state_dict'")
    return obj


PREDICTOR = ("roi_heads.box_predictor.cls_score.", "roi_heads.box_predictor.bbox_pred.")


def add_fresh(sd, model):
    """--fresh: start a model that differs from the source in two known ways. A source
    without the residual FPN gets its FPN moved under the wrapper (backbone.fpn.X ->
    backbone.fpn.fpn.X) and freshly initialized res_blocks; a predictor of another class
    count (COCO's 91 -> 11 digits) is freshly initialized. Returns (sd, fresh keys)."""
    mine = model.state_dict()
    wants_res = any(k.startswith("backbone.fpn.res_blocks.") for k in mine)
    has_res = any(k.startswith("backbone.fpn.fpn.") for k in sd)
    if wants_res and not has_res:
        sd = {("backbone.fpn.fpn." + k[len("backbone.fpn."):]
               if k.startswith("backbone.fpn.") else k): v for k, v in sd.items()}
    fresh = []
    for k, v in mine.items():
        absent_res = k.startswith("backbone.fpn.res_blocks.") and k not in sd
        other_classes = k.startswith(PREDICTOR) and k in sd and sd[k].shape != v.shape
        if absent_res or other_classes:
            sd[k] = v
            fresh.append(k)
    return sd, fresh


def checked_state_dict(sd, config, scope, fresh=False):
    """Renamed, strictly verified state_dict in torchvision's own key order, and the keys
    that were freshly initialized (only with fresh=True, see add_fresh)."""
    sd = tv_models.legacy_renames(sd)
    model = tv_models.build_model(config)
    sd = tv_models.drop_frozen_num_batches(sd, model)
    fresh_keys = []
    if fresh:
        sd, fresh_keys = add_fresh(sd, model)
    if scope == "backbone":
        sd = {k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")}
        target = model.backbone
    else:
        target = model
    target.load_state_dict(sd, strict=True)  # raises listing missing/unexpected/mis-shaped
    out = target.state_dict()
    prefix = "backbone." if scope == "backbone" else ""
    fresh_keys = [k for k in fresh_keys if k.startswith(prefix)]
    return [(prefix + k, v) for k, v in out.items()], fresh_keys


def write_flat(path, sd, config, scope, source, fresh_keys=()):
    meta = {"format": "digit-rcnn weights", "scope": scope,
            "config": tv_models.full_config(config), "source": source,
            "torchvision": __import__("torchvision").__version__}
    if fresh_keys:
        meta["fresh"] = list(fresh_keys)
    flatfile.write(path, sd, meta=meta)


def convert_state_dict(path, sd, config, scope="model", source="state_dict", fresh=False):
    """Library entry point (the parity scripts use it): sd keyed like the whole model.
    Returns the freshly initialized keys (fresh=True only)."""
    out, fresh_keys = checked_state_dict(sd, config, scope, fresh)
    write_flat(path, out, config, scope, source, fresh_keys)
    return fresh_keys


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("out")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--builder", choices=sorted(BUILDERS))
    src.add_argument("--pth")
    p.add_argument("--weights", help="torchvision weights enum name, e.g. COCO_V1 (downloads)")
    p.add_argument("--seed", type=int, default=0, help="random init seed without --weights")
    p.add_argument("--arch", choices=["v1", "v2"])
    p.add_argument("--backbone", choices=tv_models.BACKBONES)
    p.add_argument("--res-fpn", action="store_true", default=None)
    p.add_argument("--num-classes", type=int)
    p.add_argument("--trainable-layers", type=int)
    p.add_argument("--frozen-bn-eps", type=float)
    p.add_argument("--min-size", type=int)
    p.add_argument("--max-size", type=int)
    p.add_argument("--scope", choices=["model", "backbone"], default="model")
    p.add_argument("--fresh", action="store_true",
                   help="initialize (seeded) what the source lacks for the requested config:\n"
                        "residual FPN blocks, and a predictor of another class count")
    a = p.parse_args()

    overrides = {k: v for k, v in {
        "arch": a.arch, "backbone": a.backbone, "res_fpn": a.res_fpn,
        "num_classes": a.num_classes, "trainable_layers": a.trainable_layers,
        "frozen_bn_eps": a.frozen_bn_eps, "min_size": a.min_size,
        "max_size": a.max_size}.items() if v is not None}
    torch.manual_seed(a.seed)  # torchvision's init of anything not taken from the source
    if a.pth:
        sd = tv_models.legacy_renames(load_pth(a.pth))
        config = tv_models.infer_config(sd)
        config.update(overrides)
        source = os.path.abspath(a.pth)
    else:
        config = {"arch": BUILDERS[a.builder]}
        config.update(overrides)
        if a.weights:
            from torchvision.models import detection
            enum = getattr(detection, "FasterRCNN_ResNet50_FPN%s_Weights"
                           % ("_V2" if config["arch"] == "v2" else ""))
            tv = getattr(detection, a.builder)(weights=enum[a.weights])
            sd = tv.state_dict()
            if "num_classes" not in overrides:
                config["num_classes"] = int(sd["roi_heads.box_predictor.cls_score.weight"].shape[0])
            if a.builder == "fasterrcnn_resnet50_fpn" and a.weights == "COCO_V1":
                config["frozen_bn_eps"] = 0.0  # faster_rcnn.py: overwrite_eps(model, 0.0)
            source = f"{a.builder}(weights={a.weights})"
        else:
            sd = tv_models.build_model(config).state_dict()
            source = f"{a.builder}(weights=None), seed {a.seed}"
    fresh = convert_state_dict(a.out, sd, config, a.scope, source, a.fresh)
    print(f"{a.out}: config {json.dumps(tv_models.full_config(config))}")
    if fresh:
        print(f"  freshly initialized (seed {a.seed}): {len(fresh)} tensors, e.g. {fresh[:3]}")


if __name__ == "__main__":
    main()
