"""Weights in and out: the recipe's finetune flat weight file loaded into torchvision's
model, and what a run saves (torchvision state_dicts .pth, our flat .weights.bin)."""
import torch
import torchvision

import flatfile
import tv_models
from tvtrain.common import fail, log

CLASS_DEPENDENT = ("roi_heads.box_predictor.cls_score.", "roi_heads.box_predictor.bbox_pred.")


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


def state_dict_cpu(model):
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def save_weights(model, cfg, stem, source):
    """STEM.pth (torchvision's state_dict) and STEM.weights.bin (our flat file, with the
    resolved model config: build/bin/infer reads it)."""
    sd = state_dict_cpu(model)
    torch.save(sd, stem + ".pth")
    meta = {"format": "digit-rcnn weights", "scope": "model",
            "config": tv_models.full_config(cfg), "source": source,
            "torchvision": torchvision.__version__}
    flatfile.write(stem + ".weights.bin", list(sd.items()), meta=meta)


def save_state(model, path):
    """The state_dict alone (last.pth of an interrupted run)."""
    torch.save(state_dict_cpu(model), path)
