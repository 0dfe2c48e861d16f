#!/usr/bin/env python3
"""Train torchvision's own Faster R-CNN with one of our recipes and score it with our evaluator.

  tools/tv_train.py --config configs/digit_cpu.json --model-from runs/ours/settings.json \\
      --train-json build/synth/train.json --valid-json build/synth/valid.json --out runs/tv
  tools/tv_train.py --model-from runs/ours/settings.json --out runs/tv     (the run's own recipe)

The comparison "ours vs torchvision on equal terms": the same data, sizes, model config,
optimizer, parameter groups, lr schedule, batches, epochs and evaluation as build/bin/train
(train/trainer.cpp), with torchvision's FasterRCNN (tools/tv_models.py build_model) and
torch.optim in place of ours. Runs with torch 1.13 / torchvision 0.14 (CPU) and torch 2.x
(CUDA); only public APIs.

Recipe (--config): the same JSON as build/bin/train (train/recipe.h TrainSettings keys,
"model" holds ModelConfig keys); unknown keys or wrong types are errors naming the key.
Flags below override it; --set KEY=VALUE (VALUE in JSON, else a string) overrides any key,
"model.KEY=VALUE" a model key.

The model config, as our trainer resolves it:
  --model-from RUN/settings.json (or a flat weight file, e.g. RUN/best.weights.bin): the
    resolved model config of one of our runs, used as it is (anchors included). Needed when
    the recipe says "anchors": "auto": ours picks the anchors by k-means on the training
    boxes, and torchvision must use the very same sizes and ratios. Without --config, a
    settings.json also supplies the run's recipe (its "settings"; --out is still required).
  otherwise: torchvision's defaults, the "finetune" file's config if any (all but
    num_classes), the recipe's "model" keys; num_classes from the data (largest category
    id + 1: 11 for digits) unless the recipe sets it.
Weights: torchvision's default init seeded with torch.manual_seed(seed), or the recipe's
"finetune" flat weight file (the box predictor stays fresh when its class count differs).

What matches our trainer:
  data      images: JSON path without .json (or train_images / valid_images); boxes clipped
            to the image, empty ones dropped; fixed_size [h, w]: bilinear resize of the 8-bit
            image (align_corners False, rounded) and its boxes, in training and validation
  order     each epoch's shuffle is our loader's (splitmix64 of seed and epoch, Fisher-Yates),
            so every batch holds the same images as ours; the last batch may be short
  optimizer sgd (momentum, dampening 0) | adam | adamw (betas 0.9/0.999, eps 1e-8); groups
            head, head/no_decay, backbone ("backbone.body." params, lr x backbone_lr_mult),
            backbone/no_decay (no_decay_norm_bias: BatchNorm weights/biases and all biases)
  step      accumulate batches (loss x 1/(batches in the step)), finite checks, global grad
            norm (clip_grad_norm > 0: torch.nn.utils.clip_grad_norm_), the lr of the step
            (warmup from warmup_start_factor, then cosine to eta_min / constant / multistep,
            in optimizer steps, closed form as train/schedule.h), step, zero_grad(set_to_none)
  validate  every valid_every epochs and after the last (and at a --max-iters stop at an
            epoch's end; a stop inside an epoch skips it, as ours): model.eval() on the valid
            images in batches of valid_batch_size, boxes mapped back to the file's pixels,
            OUT/valid/pred.json (COCO detections), then our evaluator (--eval-bin, default
            build/bin/eval) with --threshold score_thresh: mAP, AP50, whole-number accuracy
What differs (unavoidable): the random streams (init values, anchor / RoI sampling) are
torch's, not ours; torchvision's kernels; images decoded by torchvision.io (PNG identical,
JPEG decoders may differ by a level). Augmentation: only "none" (the comparison requires
--augment none on both sides). Not supported: resume, checkpoint_every (ignored).

Writes into --out (which must not hold a metrics.jsonl already):
  metrics.jsonl       the same lines as ours (docs/TRAIN.md): per step loss parts, lr,
                      grad_norm, time, data_time; per epoch train_loss, images_per_s, epoch_s,
                      val_map, val_map50, val_acc, val_s; `build/bin/plot --log` draws it
  final.pth, best.pth torchvision state_dicts (model.load_state_dict)
  final.weights.bin, best.weights.bin   the same as our flat weight files (build/bin/infer)
  valid/              the last validation's pred.json and our evaluator's output
  best_pred.json      the detections of the best validation
  settings.json       the settings, the resolved model config, torch / torchvision versions
  plots/              loss, lr and val charts (when --plot-bin exists)
Exit status: 0 done, 1 error, 3 NaN/Inf loss or gradient, 128+signal when interrupted
(Ctrl-C / SIGTERM finish the step and write last.pth).
"""
import argparse
import copy
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import torch
from torch import nn
import torchvision
from torchvision.io import ImageReadMode, read_image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import flatfile  # noqa: E402
import tv_models  # noqa: E402

# train/recipe.h TrainSettings: key -> default (the type checks follow the default's type).
RECIPE_DEFAULTS = {
    "description": "",
    "train_images": "", "train_json": "", "valid_images": "", "valid_json": "",
    "batch_size": 2, "valid_batch_size": 4, "workers": 1, "augment": "none",
    "no_augment_last": 0, "fixed_size": [],
    "model": {}, "anchors": "", "finetune": "",
    "optimizer": "adam", "lr": 1e-4, "weight_decay": 0.0, "momentum": 0.9,
    "backbone_lr_mult": 1.0, "no_decay_norm_bias": False, "clip_grad_norm": 0.0,
    "accumulate": 1,
    "epochs": 10, "schedule": "cosine", "warmup_epochs": 0.0, "warmup_start_factor": 0.0,
    "eta_min": 0.0, "milestones": [], "gamma": 0.1,
    "seed": 0, "device": "auto", "threads": 0, "out": "runs/train", "score_thresh": 0.5,
    "best_by": "map", "max_iters": 0, "checkpoint_every": 0, "log_every": 1, "valid_every": 1,
}
BACKBONE_PREFIX = "backbone.body."  # train/param_groups.h kBackbonePrefix
CLASS_DEPENDENT = ("roi_heads.box_predictor.cls_score.", "roi_heads.box_predictor.bbox_pred.")
U64 = (1 << 64) - 1


class NonFinite(Exception):
    pass


def fail(msg):
    raise SystemExit(f"tv_train: {msg}")


def log(msg):
    print(f"[tv_train] {msg}", file=sys.stderr, flush=True)


# ---- recipe ------------------------------------------------------------------------------

def check_type(key, value, default, source):
    def bad():
        fail(f"{source}: key \"{key}\" has a value of the wrong type: {json.dumps(value)}")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            bad()
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            bad()
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            bad()
        return float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            bad()
    elif isinstance(default, list):
        if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value):
            bad()
    return value


def apply_recipe(s, j, source):
    """Overlays j's keys onto settings s, strictly (train/recipe.cpp apply_settings_json)."""
    if not isinstance(j, dict):
        fail(f"{source}: a recipe must be a JSON object")
    for key, value in j.items():
        if key == "model":
            if not isinstance(value, dict):
                fail(f"{source}: \"model\" must be an object of model config keys")
            for m in value:
                if m not in tv_models.DEFAULT_CONFIG:
                    fail(f"{source}: unknown model key \"{m}\" (see detector/model_config.h)")
            s["model"].update(value)
            continue
        if key not in RECIPE_DEFAULTS:
            fail(f"{source}: unknown key \"{key}\" (docs/TRAIN.md lists the keys)")
        s[key] = check_type(key, value, RECIPE_DEFAULTS[key], source)


def read_json(path, what):
    if not os.path.isfile(path):
        fail(f"{what} {path} does not exist")
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        fail(f"{path}: not valid JSON: {e}")


def validate_settings(s):
    """train/recipe.cpp validate_settings, plus what this tool supports."""
    if not s["train_json"]:
        fail("train_json (--train-json) is required")
    for k in ("batch_size", "valid_batch_size", "epochs", "accumulate", "log_every",
              "valid_every"):
        if s[k] < 1:
            fail(f"settings: {k} must be >= 1, got {s[k]}")
    for k in ("workers", "no_augment_last", "lr", "weight_decay", "momentum",
              "backbone_lr_mult", "clip_grad_norm", "warmup_epochs", "eta_min", "threads",
              "max_iters", "checkpoint_every"):
        if not (s[k] >= 0 and math.isfinite(s[k])):
            fail(f"settings: {k} must be >= 0, got {s[k]}")
    if not 0 <= s["warmup_start_factor"] <= 1:
        fail(f"settings: warmup_start_factor must be in [0, 1], got {s['warmup_start_factor']}")
    if s["schedule"] == "cosine" and not s["warmup_epochs"] < s["epochs"]:
        fail(f"settings: warmup_epochs ({s['warmup_epochs']}) must be below epochs "
             f"({s['epochs']}) for a cosine schedule")
    choices = {"optimizer": ("sgd", "adam", "adamw"),
               "schedule": ("constant", "cosine", "multistep"),
               "device": ("auto", "cpu", "cuda"), "best_by": ("map", "accuracy"),
               "anchors": ("", "auto")}
    for k, allowed in choices.items():
        if s[k] not in allowed:
            fail(f"settings: {k} must be one of {', '.join(map(repr, allowed))}, got {s[k]!r}")
    fs = s["fixed_size"]
    if fs and (len(fs) != 2 or fs[0] <= 0 or fs[1] <= 0):
        fail("settings: fixed_size must be [] or [height, width] with positive sizes")
    if not 0 <= s["score_thresh"] <= 1:
        fail(f"settings: score_thresh must be in [0, 1], got {s['score_thresh']}")
    if not s["gamma"] > 0:
        fail(f"settings: gamma must be > 0, got {s['gamma']}")
    if any(m < 0 for m in s["milestones"]):
        fail("settings: milestones must be >= 0")
    if s["augment"] != "none":
        fail(f"the recipe asks for augment \"{s['augment']}\"; tools/tv_train.py trains without "
             "augmentation, so the comparison requires --augment none on both sides "
             "(build/bin/train ... --augment none, and tools/tv_train.py ... --augment none)")


def parse_set(text):
    if "=" not in text:
        fail(f"--set {text}: expected KEY=VALUE")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare string
    if key.startswith("model."):
        return {"model": {key[len("model."):]: value}}
    return {key: value}


# ---- model config --------------------------------------------------------------------------

def config_from(path):
    """The resolved model config of one of our runs: settings.json ("config", and the
    run's "settings"), or a flat weight file (meta.config)."""
    if not os.path.isfile(path):
        fail(f"--model-from {path} does not exist")
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic == flatfile.MAGIC:
        meta, _ = flatfile.read(path)
        if "config" not in meta:
            fail(f"--model-from {path}: the weight file has no model config (meta.config)")
        return meta["config"], None
    j = read_json(path, "--model-from")
    if not isinstance(j, dict) or not isinstance(j.get("config"), dict):
        fail(f"--model-from {path}: expected our run's settings.json ({{\"settings\", "
             "\"config\"}}) or a flat weight file")
    return j["config"], j.get("settings")


def resolve_config(s, model_from, data_classes, finetune_meta):
    if model_from is not None:
        cfg = dict(tv_models.DEFAULT_CONFIG)
        unknown = [k for k in model_from if k not in cfg]
        if unknown:
            fail(f"--model-from: unknown model config keys {unknown}")
        cfg.update(model_from)
        differ = {k: (v, cfg[k]) for k, v in s["model"].items() if cfg[k] != v}
        if differ:
            log("warning: the recipe's model keys differ from --model-from's config, which "
                "wins: " + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in differ.items()))
        if cfg["num_classes"] != data_classes:
            log(f"warning: --model-from has num_classes {cfg['num_classes']}, the data "
                f"{data_classes}")
        return cfg
    if s["anchors"] == "auto":
        fail("the recipe says \"anchors\": \"auto\" (our trainer picks them by k-means on the "
             "training boxes); pass --model-from RUN/settings.json of our run on the same data so "
             "torchvision uses the very same anchors (or set model.anchor_sizes/aspect_ratios)")
    cfg = dict(tv_models.DEFAULT_CONFIG)
    if finetune_meta is not None:  # train/recipe.cpp resolve_model_config
        for k, v in finetune_meta.get("config", {}).items():
            if k != "num_classes" and k in cfg:
                cfg[k] = v
    cfg["num_classes"] = data_classes
    cfg.update(s["model"])
    return cfg


# ---- data ------------------------------------------------------------------------------------

class CocoSplit(torch.utils.data.Dataset):
    """A COCO split as data/coco.cpp reads it; item i -> (image (3, H, W) f32 in [0, 1],
    boxes (N, 4) f32 x1y1x2y2, labels (N,) i64, image id, (file h, file w))."""

    def __init__(self, json_path, image_dir, fixed_size):
        self.json_path = json_path
        if not image_dir:
            image_dir = json_path[:-5] if json_path.endswith(".json") and len(json_path) > 5 \
                else json_path
        self.image_dir = image_dir
        self.fixed = list(fixed_size)
        root = read_json(json_path, "COCO file")
        for key in ("images", "annotations", "categories"):
            if not isinstance(root.get(key), list):
                fail(f"coco: {json_path}: missing array \"{key}\"")
        cats = {c["id"] for c in root["categories"]}
        self.num_classes = max([0] + list(cats)) + 1
        self.images, by_id = [], {}
        for k, im in enumerate(root["images"]):
            where = f"coco: {json_path}: images[{k}]"
            for f in ("id", "file_name", "width", "height"):
                if f not in im:
                    fail(f"{where}: missing field \"{f}\"")
            if im["id"] in by_id:
                fail(f"{where}: duplicate image id {im['id']}")
            path = os.path.join(image_dir, im["file_name"])
            if not os.path.isfile(path):
                fail(f"{where} (id {im['id']}): image file {path} does not exist")
            by_id[im["id"]] = len(self.images)
            self.images.append({"id": im["id"], "path": path, "w": int(im["width"]),
                                "h": int(im["height"]), "boxes": [], "labels": []})
        dropped = 0
        for k, a in enumerate(root["annotations"]):
            where = f"coco: {json_path}: annotations[{k}]"
            if a.get("category_id") not in cats:
                fail(f"{where}: unknown category_id {a.get('category_id')}")
            if a.get("image_id") not in by_id:
                fail(f"{where}: unknown image_id {a.get('image_id')}")
            im = self.images[by_id[a["image_id"]]]
            bb = a.get("bbox")
            if not (isinstance(bb, list) and len(bb) == 4 and all(
                    isinstance(v, (int, float)) and math.isfinite(v) for v in bb)):
                fail(f"{where}: bbox must be [x, y, w, h] finite numbers, is {json.dumps(bb)}")
            # float32 sums and clipping, as data/coco.cpp and data/box.h clip_box
            x, y, w, h = torch.tensor(bb, dtype=torch.float32)
            b = torch.stack([x, y, x + w, y + h])
            b[0::2] = b[0::2].clamp(0, im["w"])
            b[1::2] = b[1::2].clamp(0, im["h"])
            if not (b[2] - b[0] > 0 and b[3] - b[1] > 0):
                dropped += 1
                continue
            im["boxes"].append(b)
            im["labels"].append(int(a["category_id"]))
        if dropped:
            log(f"warning: {json_path}: dropped {dropped} empty box(es)")

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        rec = self.images[i]
        img = read_image(rec["path"], ImageReadMode.RGB)  # (3, H, W) uint8
        if img.shape[1] != rec["h"] or img.shape[2] != rec["w"]:
            raise RuntimeError(f"coco: {rec['path']} is {img.shape[2]}x{img.shape[1]} but "
                               f"{self.json_path} says {rec['w']}x{rec['h']}")
        boxes = torch.stack(rec["boxes"]) if rec["boxes"] else torch.zeros((0, 4))
        labels = torch.tensor(rec["labels"], dtype=torch.int64)
        if self.fixed:  # data/aug_geometry.cpp FixedResize on the 8-bit image
            h, w = self.fixed
            f = torch.nn.functional.interpolate(img[None].float(), size=(h, w), mode="bilinear",
                                                align_corners=False)[0]
            img = torch.floor(f.clamp(0, 255) + 0.5).to(torch.uint8)
            sx = torch.tensor(w, dtype=torch.float32) / rec["w"]
            sy = torch.tensor(h, dtype=torch.float32) / rec["h"]
            boxes = boxes * torch.stack([sx, sy, sx, sy])
        return img.float() / 255, boxes, labels, rec["id"], (rec["h"], rec["w"])


def as_list(batch):
    return batch


def quiet_worker(_):
    """A loader worker leaves Ctrl-C / SIGTERM to the main process, which finishes the step."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def splitmix(state):
    """One splitmix64 draw (nn/rng.h Rng::next_u64): (new state, value)."""
    state = (state + 0x9E3779B97F4A7C15) & U64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
    return state, z ^ (z >> 31)


def epoch_order(n, seed, epoch):
    """data/loader.cpp epoch_order: Fisher-Yates with Rng(seed ^ (C * (epoch + 1)))."""
    state = ((seed ^ ((0xA24BAED4963EE407 * (epoch + 1)) & U64)) ^ 0x9E3779B97F4A7C15) & U64
    state, _ = splitmix(state)  # Rng::reseed draws once
    order = list(range(n))
    for i in range(n, 1, -1):
        state, v = splitmix(state)
        j = v % i
        order[i - 1], order[j] = order[j], order[i - 1]
    return order


def batches_of(order, size):
    return [order[i:i + size] for i in range(0, len(order), size)]


# ---- optimization --------------------------------------------------------------------------

def param_groups(model, s):
    """train/param_groups.cpp: [head, head/no_decay, backbone, backbone/no_decay]."""
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
    bins = {}
    for mname, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            full = f"{mname}.{pname}" if mname else pname
            backbone = full.startswith(BACKBONE_PREFIX)
            no_decay = s["no_decay_norm_bias"] and (isinstance(module, norms) or pname == "bias")
            bins.setdefault((backbone, no_decay), []).append(p)
    groups, labels = [], []
    for b in (False, True):
        for nd in (False, True):
            if not bins.get((b, nd)):
                continue
            lr = s["lr"] * s["backbone_lr_mult"] if b else s["lr"]
            groups.append({"params": bins[(b, nd)], "lr": lr, "base_lr": lr,
                           "weight_decay": 0.0 if nd else s["weight_decay"]})
            labels.append(("backbone" if b else "head") + ("/no_decay" if nd else ""))
    if not groups:
        fail("param groups: the model has no trainable parameter")
    return groups, labels


def make_optimizer(groups, s):
    if s["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=s["lr"], momentum=s["momentum"], dampening=0,
                               nesterov=False)
    cls = torch.optim.Adam if s["optimizer"] == "adam" else torch.optim.AdamW
    return cls(groups, lr=s["lr"], betas=(0.9, 0.999), eps=1e-8)


def round_half_away(x):
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def schedule_in_steps(s, steps_per_epoch):
    """train/recipe.cpp schedule_in_steps."""
    return {"kind": s["schedule"],
            "warmup_steps": round_half_away(s["warmup_epochs"] * steps_per_epoch),
            "warmup_start_factor": s["warmup_start_factor"], "eta_min": s["eta_min"],
            "milestones": [m * steps_per_epoch for m in s["milestones"]], "gamma": s["gamma"]}


def scheduled_lr(c, base_lr, step, total):
    """train/schedule.cpp scheduled_lr (torch's schedulers in closed form)."""
    w = c["warmup_steps"]
    if c["kind"] == "cosine" and step >= w:
        e, t_max = min(step - w, total - w), total - w
        return c["eta_min"] + (base_lr - c["eta_min"]) * (1 + math.cos(math.pi * e / t_max)) / 2
    factor = 1.0 if step >= w else \
        c["warmup_start_factor"] + (1.0 - c["warmup_start_factor"]) * step / w
    lr = base_lr * factor
    if c["kind"] == "multistep":
        lr *= c["gamma"] ** sum(1 for m in c["milestones"] if m <= step)
    return lr


def load_finetune(model, path, meta, tensors):
    """Our LoadOptions.fine_tune: every tensor must match, except the class-dependent box
    predictor, which stays fresh when its shape differs."""
    mine = model.state_dict()
    sd = tv_models.drop_frozen_num_batches(
        tv_models.legacy_renames({k: torch.from_numpy(v) for k, v in tensors.items()}), model)
    fresh = []
    for k, v in mine.items():
        if k.startswith(CLASS_DEPENDENT) and k in sd and sd[k].shape != v.shape:
            sd[k] = v
            fresh.append(k)
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        fail(f"finetune {path}: {e}")
    log(f"fine-tuning from {path}: {len(sd) - len(fresh)} tensors loaded, {len(fresh)} "
        "re-initialized" + (" (a new box predictor for this class count)" if fresh else ""))


# ---- validation ------------------------------------------------------------------------------

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


# ---- the run ---------------------------------------------------------------------------------

def hms(sec):
    sec = int(max(sec, 0))
    return f"{sec // 3600}:{sec // 60 % 60:02d}:{sec % 60:02d}" if sec >= 3600 \
        else f"{sec // 60}:{sec % 60:02d}"


def append_line(path, rec):
    with open(path, "a") as f:
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")


def save_weights(model, cfg, stem, source):
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(sd, stem + ".pth")
    meta = {"format": "digit-rcnn weights", "scope": "model",
            "config": tv_models.full_config(cfg), "source": source,
            "torchvision": torchvision.__version__}
    flatfile.write(stem + ".weights.bin", list(sd.items()), meta=meta)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="our recipe JSON (configs/*.json)")
    p.add_argument("--model-from", metavar="FILE",
                   help="RUN/settings.json or a flat weight file of our run: its resolved model "
                        "config (anchors included); without --config a settings.json also gives "
                        "the recipe")
    p.add_argument("--train-json", help="training split (COCO); images: the path without .json")
    p.add_argument("--train-images", help="training images folder (default: see above)")
    p.add_argument("--valid-json", help="validation split (none: no validation, no best.*)")
    p.add_argument("--valid-images", help="validation images folder")
    p.add_argument("--out", required=True, help="the run's folder (must not hold metrics.jsonl)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--max-iters", type=int, help="stop after N optimizer steps (the schedule "
                                                 "still spans the epochs)")
    p.add_argument("--seed", type=int, help="torch.manual_seed (init, sampling) and our shuffle")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--workers", type=int, help="DataLoader worker processes (0: in process)")
    p.add_argument("--valid-every", type=int, help="validate every N epochs and after the last")
    p.add_argument("--log-every", type=int, help="a metrics.jsonl step line every N steps")
    p.add_argument("--augment", choices=["none"],
                   help="override the recipe's preset (only none: no augmentation here)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any recipe key (VALUE as JSON, else a string); model.KEY=VALUE "
                        "a model key; repeatable")
    p.add_argument("--eval-bin", default=os.path.join(REPO, "build", "bin", "eval"),
                   help="our evaluator (default: build/bin/eval of this checkout)")
    p.add_argument("--plot-bin", default=os.path.join(REPO, "build", "bin", "plot"),
                   help="our chart tool for OUT/plots (skipped when missing)")
    p.add_argument("--progress-every", type=int, default=10, metavar="N",
                   help="a progress line on stderr every N steps (default 10)")
    return p.parse_args(argv)


def build_settings(a):
    s = copy.deepcopy(RECIPE_DEFAULTS)
    model_from, run_settings = (None, None)
    if a.model_from:
        model_from, run_settings = config_from(a.model_from)
    if a.config:
        apply_recipe(s, read_json(a.config, "recipe"), a.config)
    elif run_settings is not None:
        apply_recipe(s, run_settings, f"{a.model_from} (settings)")
    for text in a.set:
        apply_recipe(s, parse_set(text), f"--set {text}")
    flags = {"train_json": a.train_json, "train_images": a.train_images,
             "valid_json": a.valid_json, "valid_images": a.valid_images, "epochs": a.epochs,
             "batch_size": a.batch_size, "lr": a.lr, "max_iters": a.max_iters, "seed": a.seed,
             "threads": a.threads, "device": a.device, "workers": a.workers,
             "valid_every": a.valid_every, "log_every": a.log_every, "augment": a.augment}
    apply_recipe(s, {k: v for k, v in flags.items() if v is not None}, "flags")
    s["out"] = a.out
    validate_settings(s)
    return s, model_from


def main(argv=None):
    a = parse_args(argv)
    s, model_from = build_settings(a)
    if s["threads"] > 0:
        torch.set_num_threads(s["threads"])
        try:
            torch.set_num_interop_threads(s["threads"])
        except RuntimeError:
            pass
    if s["device"] == "cuda" and not torch.cuda.is_available():
        fail("device cuda: torch sees no CUDA device; use --device cpu")
    device = torch.device("cuda" if s["device"] == "cuda" or
                          (s["device"] == "auto" and torch.cuda.is_available()) else "cpu")
    if s["valid_json"] and not os.access(a.eval_bin, os.X_OK):
        fail(f"our evaluator {a.eval_bin} is missing (build it: make build/bin/eval, or pass "
             "--eval-bin)")
    out = s["out"]
    log_path = os.path.join(out, "metrics.jsonl")
    if os.path.exists(log_path):
        fail(f"{log_path} exists: choose another --out (this tool does not resume)")

    # ---- data ----
    train_ds = CocoSplit(s["train_json"], s["train_images"], s["fixed_size"])
    if len(train_ds) == 0:
        fail(f"{s['train_json']}: no images to train on")
    valid_ds = CocoSplit(s["valid_json"], s["valid_images"], s["fixed_size"]) \
        if s["valid_json"] else None

    # ---- model ----
    finetune_meta = finetune_tensors = None
    if s["finetune"]:
        if not os.path.isfile(s["finetune"]):
            fail(f"finetune {s['finetune']} does not exist")
        finetune_meta, finetune_tensors = flatfile.read(s["finetune"])
    cfg = tv_models.full_config(resolve_config(s, model_from, train_ds.num_classes,
                                               finetune_meta))
    os.makedirs(out, exist_ok=True)  # (after the checks above)
    torch.manual_seed(s["seed"])  # torchvision's init; then the RPN / RoI sampling
    model = tv_models.build_model(cfg)
    if finetune_tensors is not None:
        load_finetune(model, s["finetune"], finetune_meta, finetune_tensors)
        finetune_tensors = None
    model.to(device).train()
    with open(os.path.join(out, "settings.json"), "w") as f:
        json.dump({"settings": s, "config": cfg, "tool": "tools/tv_train.py",
                   "torch": torch.__version__, "torchvision": torchvision.__version__,
                   "device": str(device)}, f, indent=2, sort_keys=True)

    # ---- optimizer, schedule ----
    groups, labels = param_groups(model, s)
    opt = make_optimizer(groups, s)
    params = [p for g in opt.param_groups for p in g["params"]]
    named = {id(p): n for n, p in model.named_parameters()}
    n_batches = (len(train_ds) + s["batch_size"] - 1) // s["batch_size"]
    steps_per_epoch = (n_batches + s["accumulate"] - 1) // s["accumulate"]
    total_steps = steps_per_epoch * s["epochs"]
    sched = schedule_in_steps(s, steps_per_epoch)
    if sched["kind"] == "cosine" and total_steps <= sched["warmup_steps"]:
        fail(f"lr schedule: cosine needs total steps ({total_steps}) > warmup_steps "
             f"({sched['warmup_steps']})")
    run_steps = min(total_steps, s["max_iters"]) if s["max_iters"] > 0 else total_steps

    body_norm = "FrozenBatchNorm2d" if isinstance(model.backbone.body.bn1,
                                                  torchvision.ops.FrozenBatchNorm2d) \
        else "BatchNorm2d"
    log(f"torchvision {torchvision.__version__} (torch {torch.__version__}): {cfg['arch']} "
        f"{cfg['backbone']} ({body_norm} body), {cfg['num_classes']} classes, min/max size "
        f"{cfg['min_size']}/{cfg['max_size']}, device {device}, {torch.get_num_threads()} threads")
    log(f"anchors: sizes {cfg['anchor_sizes']}, aspect ratios {cfg['aspect_ratios'][0]}"
        + (f" (from {a.model_from})" if model_from is not None else ""))
    log(f"{len(train_ds)} training images ({n_batches} batches of {s['batch_size']}, "
        f"{steps_per_epoch} optimizer steps an epoch, {s['epochs']} epochs = {total_steps} "
        f"steps), {len(valid_ds) if valid_ds else 0} validation images; augment none")
    log(f"{s['optimizer']} lr {s['lr']:g} (body x{s['backbone_lr_mult']:g}), weight decay "
        f"{s['weight_decay']:g}{' (none on norm/bias)' if s['no_decay_norm_bias'] else ''}, "
        f"{s['schedule']} schedule, warmup {s['warmup_epochs']:g} epochs from "
        f"x{s['warmup_start_factor']:g}; groups: "
        + " ".join(f"{lb} {len(g['params'])}" for lb, g in zip(labels, groups)))
    if s["checkpoint_every"]:
        log("note: checkpoint_every is ignored (no checkpoints; final.pth and best.pth only)")

    def loader(ds, batches, workers):
        return torch.utils.data.DataLoader(ds, batch_sampler=batches, num_workers=workers,
                                           collate_fn=as_list,
                                           worker_init_fn=quiet_worker if workers else None)
    valid_loader = loader(valid_ds, batches_of(list(range(len(valid_ds))),
                                               s["valid_batch_size"]), s["workers"]) \
        if valid_ds else None

    stop_sig = []

    def on_signal(sig, _frame):
        if stop_sig:  # a second signal: stop now
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        stop_sig.append(sig)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    iteration, best, best_epoch = 0, -1.0, 0
    stop = s["max_iters"] > 0 and iteration >= s["max_iters"]
    source = f"tools/tv_train.py (torchvision {torchvision.__version__})"
    run_t0 = time.time()
    train_seconds_all = 0.0
    epoch = 0
    for epoch in range(s["epochs"]):
        if stop:
            break
        epoch_t0 = time.time()
        batches = batches_of(epoch_order(len(train_ds), s["seed"], epoch), s["batch_size"])
        it = iter(loader(train_ds, batches, s["workers"]))
        epoch_sum, epoch_steps, epoch_images = None, 0, 0
        group_sum, group_total, group_batches, data_time = None, 0.0, 0, 0.0
        step_t0 = time.time()
        done_batches = 0
        for index in range(n_batches):
            t = time.time()
            batch = next(it)
            data_time += time.time() - t
            group = index // s["accumulate"]
            group_size = min(s["accumulate"], n_batches - group * s["accumulate"])
            images = [b[0].to(device) for b in batch]
            targets = [{"boxes": b[1].to(device), "labels": b[2].to(device)} for b in batch]

            # -- forward + backward (gradients += over the step's batches) --
            loss_dict = model(images, targets)
            parts = [(k, v.item()) for k, v in loss_dict.items()]
            bad = [k for k, v in parts if not math.isfinite(v)]
            if bad:
                raise NonFinite(f"iteration {iteration}: {bad[0]} is not finite ("
                                + ", ".join(f"{k} = {v}" for k, v in parts)
                                + "); no update was made")
            total = sum(loss_dict.values())
            total.backward(torch.full_like(total, 1.0 / group_size))
            grads = [p.grad for p in params if p.grad is not None]
            if grads and not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()):
                name = next(named.get(id(p), "?") for p in params
                            if p.grad is not None and not bool(torch.isfinite(p.grad).all()))
                raise NonFinite(f"iteration {iteration}: the gradient of {name} has non-finite "
                                "values (losses were finite); no update was made")
            if group_sum is None:
                group_sum, group_total = [list(p) for p in parts], 0.0
            else:
                for k, (_, v) in enumerate(parts):
                    group_sum[k][1] += v
            group_total += sum(v for _, v in parts)
            group_batches += 1
            epoch_images += len(batch)
            done_batches = index + 1
            if group_batches < group_size:
                continue

            # -- update: grad norm (clip), lr of this step, optimizer step --
            if s["clip_grad_norm"] > 0:
                gnorm = float(torch.nn.utils.clip_grad_norm_(params, s["clip_grad_norm"]))
            else:
                gnorm = float(torch.norm(torch.stack([torch.norm(g.detach(), 2) for g in grads]),
                                         2)) if grads else 0.0
            for g in opt.param_groups:
                g["lr"] = scheduled_lr(sched, g["base_lr"], iteration, total_steps)
            lr = opt.param_groups[0]["lr"]
            opt.step()
            opt.zero_grad(set_to_none=True)
            iteration += 1

            # -- metrics line and progress --
            step_time = time.time() - step_t0
            if epoch_sum is None:
                epoch_sum = [[k, 0.0] for k, _ in group_sum]
            rec = {"epoch": epoch + 1, "step": iteration, "loss": group_total / group_batches}
            for k, (name, v) in enumerate(group_sum):
                rec[name] = v / group_batches
                epoch_sum[k][1] += v / group_batches
            epoch_steps += 1
            rec.update({"lr": lr, "grad_norm": gnorm, "time": step_time, "data_time": data_time})
            if iteration % s["log_every"] == 0:
                append_line(log_path, rec)
            train_seconds_all += step_time
            if iteration % a.progress_every == 0 or index + 1 == n_batches:
                run_mean = sum(v for _, v in epoch_sum) / epoch_steps
                short = dict(loss_classifier="cls", loss_box_reg="box", loss_objectness="obj",
                             loss_rpn_box_reg="rpn")
                rate = iteration / max(train_seconds_all, 1e-9)
                log(f"epoch {epoch + 1}/{s['epochs']} step {epoch_steps}/{steps_per_epoch} "
                    f"({iteration}/{run_steps}) loss {run_mean:.3f} ("
                    + " ".join(f"{short.get(k, k)} {v / epoch_steps:.3f}" for k, v in epoch_sum)
                    + f") lr {lr:.2e}, {rate:.2f} steps/s, "
                    f"{epoch_images / max(time.time() - epoch_t0, 1e-9):.1f} images/s, "
                    f"ETA {hms((run_steps - iteration) / max(rate, 1e-9))}")
            group_sum, group_batches, data_time = None, 0, 0.0
            step_t0 = time.time()
            if stop_sig or (s["max_iters"] > 0 and iteration >= s["max_iters"]):
                stop = True
                break
        del it
        if done_batches < n_batches:
            break  # stopped inside the epoch: no epoch line, no validation (as ours)

        # ---- end of the epoch: validation, metrics, best ----
        train_seconds = time.time() - epoch_t0
        mean_loss = sum(v / max(epoch_steps, 1) for _, v in (epoch_sum or []))
        rec = {"epoch": epoch + 1, "train_loss": mean_loss,
               "images_per_s": epoch_images / max(train_seconds, 1e-9), "epoch_s": train_seconds}
        last_epoch = epoch + 1 == s["epochs"]
        validated = valid_loader is not None and (
            (epoch + 1) % s["valid_every"] == 0 or last_epoch or stop)
        line = f"epoch {epoch + 1}/{s['epochs']}: loss {mean_loss:.4f}, " \
               f"{rec['images_per_s']:.1f} images/s, {train_seconds:.0f} s"
        if validated:
            v = validate(model, valid_loader, device, s["valid_json"], os.path.join(out, "valid"),
                         s, a.eval_bin)
            rec.update({"val_map": v["map"], "val_map50": v["map50"], "val_acc": v["acc"],
                        "val_s": v["seconds"]})
            metric = v["map"] if s["best_by"] == "map" else v["acc"]
            improved = metric > best
            if improved:
                best, best_epoch = metric, epoch + 1
                save_weights(model, cfg, os.path.join(out, "best"), source)
                shutil.copyfile(v["pred"], os.path.join(out, "best_pred.json"))
            line += (f"; validation mAP {v['map']:.4f}, AP50 {v['map50']:.4f}, accuracy "
                     f"{v['acc']:.4f} (score >= {s['score_thresh']:g}), {v['detections']} "
                     f"detections, {v['seconds']:.0f} s" + (" (best so far)" if improved else ""))
        log(line)
        append_line(log_path, rec)

    finished = iteration >= total_steps
    if stop_sig and not finished:
        sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save(sd, os.path.join(out, "last.pth"))
        log(f"interrupted by signal {stop_sig[0]} after iteration {iteration}; wrote "
            f"{out}/last.pth (this tool does not resume)")
        return 128 + stop_sig[0]
    save_weights(model, cfg, os.path.join(out, "final"), source)
    if os.access(a.plot_bin, os.X_OK):
        r = subprocess.run([a.plot_bin, "--log", log_path, "--out", os.path.join(out, "plots")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            log(f"warning: no plots: {r.stdout.strip()[-500:]}")
    else:
        log(f"note: no plots ({a.plot_bin} is missing)")
    log(f"{'done' if finished else 'stopped at --max-iters'} after {iteration} iterations "
        f"({time.time() - run_t0:.0f} s): {out}/final.pth, {out}/final.weights.bin"
        + (f", best {s['best_by']} {best:.4f} at epoch {best_epoch}: {out}/best.pth"
           if best_epoch else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except NonFinite as e:
        print(f"tv_train: {e}", file=sys.stderr)
        sys.exit(3)
