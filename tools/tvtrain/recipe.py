"""The recipe as build/bin/train reads it (train/recipe.h, train/recipe.cpp): the keys and
their defaults, strict overlays (--config, a run's settings, --set, flags), validation, and
the model config our trainer would resolve (--model-from, the finetune file, the data)."""
import copy
import json
import math
import os

import flatfile
import tv_models
from tvtrain.common import fail, log, read_json

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
    "digit_nms": 0.3,
    "best_by": "map", "max_iters": 0, "checkpoint_every": 0, "log_every": 1, "valid_every": 1,
}


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
    if not 0 <= s["digit_nms"] <= 1:
        fail(f"settings: digit_nms must be in [0, 1], got {s['digit_nms']}")
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


# ---- settings from the command line ----------------------------------------------------------

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
