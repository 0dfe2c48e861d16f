#!/usr/bin/env python3
"""Convert torchvision Faster R-CNN weights to a digit-rcnn flat weight file.

  convert_weights.py OUT.bin --builder fasterrcnn_resnet50_fpn [--weights COCO_V1]
  convert_weights.py OUT.bin --builder fasterrcnn_resnet50_fpn_v2 --num-classes 11 --seed 0
  convert_weights.py OUT.bin --pth model.pth            (a state_dict or a checkpoint dict)
  convert_weights.py OUT.bin --pth ckpt.pth --res-fpn --backbone resnet18

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


def checked_state_dict(sd, config, scope):
    """Renamed, strictly verified state_dict in torchvision's own key order."""
    sd = tv_models.legacy_renames(sd)
    model = tv_models.build_model(config)
    sd = tv_models.drop_frozen_num_batches(sd, model)
    if scope == "backbone":
        sd = {k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")}
        target = model.backbone
    else:
        target = model
    target.load_state_dict(sd, strict=True)  # raises listing missing/unexpected/mis-shaped
    out = target.state_dict()
    prefix = "backbone." if scope == "backbone" else ""
    return [(prefix + k, v) for k, v in out.items()]


def write_flat(path, sd, config, scope, source):
    meta = {"format": "digit-rcnn weights", "scope": scope,
            "config": tv_models.full_config(config), "source": source,
            "torchvision": __import__("torchvision").__version__}
    flatfile.write(path, sd, meta=meta)


def convert_state_dict(path, sd, config, scope="model", source="state_dict"):
    """Library entry point (the parity scripts use it): sd keyed like the whole model."""
    write_flat(path, checked_state_dict(sd, config, scope), config, scope, source)


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
    a = p.parse_args()

    overrides = {k: v for k, v in {
        "arch": a.arch, "backbone": a.backbone, "res_fpn": a.res_fpn,
        "num_classes": a.num_classes, "trainable_layers": a.trainable_layers,
        "frozen_bn_eps": a.frozen_bn_eps, "min_size": a.min_size,
        "max_size": a.max_size}.items() if v is not None}
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
            config["num_classes"] = int(sd["roi_heads.box_predictor.cls_score.weight"].shape[0])
            if a.builder == "fasterrcnn_resnet50_fpn" and a.weights == "COCO_V1":
                config["frozen_bn_eps"] = 0.0  # faster_rcnn.py: overwrite_eps(model, 0.0)
            source = f"{a.builder}(weights={a.weights})"
        else:
            torch.manual_seed(a.seed)
            sd = tv_models.build_model(config).state_dict()
            source = f"{a.builder}(weights=None), seed {a.seed}"
    convert_state_dict(a.out, sd, config, a.scope, source)
    print(f"{a.out}: {len(sd)} tensors, config {json.dumps(tv_models.full_config(config))}")


if __name__ == "__main__":
    main()
