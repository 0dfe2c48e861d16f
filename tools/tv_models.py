"""torchvision models for a digit-rcnn model config (detector/model_config.h).

One place that turns the JSON config of a flat weight file into the torchvision model
with the same state_dict keys: the converter, the exporter and the parity scripts all
build their reference models here.

  v1: fasterrcnn_resnet50_fpn as built with pretrained weights (FrozenBatchNorm2d body,
      plain FPN); torchvision builds BatchNorm2d when weights=None, so the body is made
      here with norm_layer=FrozenBatchNorm2d explicitly.
  v2: fasterrcnn_resnet50_fpn_v2 (BatchNorm2d body, FPN with norm_layer=BatchNorm2d,
      RPNHead conv_depth=2, FastRCNNConvFCHead).
  res_fpn: backbone.fpn replaced by FPNWithResBlocks (the original FPN as `fpn` plus
      `res_blocks`, four Sequentials of one ResidualBlock each).
Other backbones (resnet18 .. resnext101_32x8d) go through the same extractor.
"""
import torch
from torch import nn
from torchvision.models import resnet
from torchvision.models.detection import faster_rcnn
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.ops import misc as misc_nn_ops

DEFAULT_CONFIG = {"arch": "v1", "backbone": "resnet50", "res_fpn": False, "num_classes": 91,
                  "trainable_layers": 3, "frozen_bn_eps": 1e-5, "min_size": 800,
                  "max_size": 1333,
                  # torchvision FasterRCNN defaults (_default_anchorgen and keyword defaults)
                  "anchor_sizes": [[32], [64], [128], [256], [512]],
                  "aspect_ratios": [[0.5, 1.0, 2.0]] * 5,
                  "rpn_pre_nms_top_n_test": 1000, "rpn_post_nms_top_n_test": 1000,
                  "box_score_thresh": 0.05, "box_nms_thresh": 0.5,
                  "box_detections_per_img": 100,
                  # training settings (FasterRCNN keyword names and defaults)
                  "rpn_pre_nms_top_n_train": 2000, "rpn_post_nms_top_n_train": 2000,
                  "rpn_nms_thresh": 0.7, "rpn_fg_iou_thresh": 0.7, "rpn_bg_iou_thresh": 0.3,
                  "rpn_batch_size_per_image": 256, "rpn_positive_fraction": 0.5,
                  "box_fg_iou_thresh": 0.5, "box_bg_iou_thresh": 0.5,
                  "box_batch_size_per_image": 512, "box_positive_fraction": 0.25,
                  # "" follows the arch (v1 FrozenBatchNorm2d, v2 BatchNorm2d); "batch" or
                  # "frozen" overrides the body's norm layer
                  "body_norm": ""}
TRAIN_KWARGS = ["rpn_pre_nms_top_n_train", "rpn_post_nms_top_n_train", "rpn_nms_thresh",
                "rpn_fg_iou_thresh", "rpn_bg_iou_thresh", "rpn_batch_size_per_image",
                "rpn_positive_fraction", "box_fg_iou_thresh", "box_bg_iou_thresh",
                "box_batch_size_per_image", "box_positive_fraction"]
BACKBONES = ["resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d",
             "resnext101_32x8d"]


class ResidualBlock(nn.Module):
    """conv3x3 (bias) -> BN -> ReLU -> conv3x3 (bias) -> BN -> + input -> ReLU."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return torch.relu(h + x)


class FPNWithResBlocks(nn.Module):
    """The FPN, then one residual block per level "0".."3"; "pool" is the FPN's own
    max-pooled P5, untouched."""

    def __init__(self, fpn, channels=256, levels=4):
        super().__init__()
        self.fpn = fpn
        self.res_blocks = nn.ModuleList([nn.Sequential(ResidualBlock(channels))
                                         for _ in range(levels)])

    def forward(self, x):
        out = self.fpn(x)
        for i, block in enumerate(self.res_blocks):
            out[str(i)] = block(out[str(i)])
        return out


def full_config(config):
    c = dict(DEFAULT_CONFIG)
    c.update(config or {})
    if c["arch"] not in ("v1", "v2"):
        raise ValueError(f"arch must be v1 or v2, got {c['arch']}")
    if c["backbone"] not in BACKBONES:
        raise ValueError(f"unknown backbone {c['backbone']}; expected one of {BACKBONES}")
    return c


def build_backbone(config):
    """BackboneWithFPN (with the residual wrapper when res_fpn) for a config."""
    c = full_config(config)
    ctor = getattr(resnet, c["backbone"])
    frozen = c["arch"] == "v1" if not c["body_norm"] else c["body_norm"] == "frozen"
    if frozen and c["arch"] == "v1":
        norm = lambda ch: misc_nn_ops.FrozenBatchNorm2d(ch, eps=c["frozen_bn_eps"])  # noqa: E731
        body = ctor(weights=None, norm_layer=norm)
        backbone = _resnet_fpn_extractor(body, c["trainable_layers"])
    elif frozen:  # v2 layout with a FrozenBatchNorm2d body
        norm = lambda ch: misc_nn_ops.FrozenBatchNorm2d(ch, eps=c["frozen_bn_eps"])  # noqa: E731
        body = ctor(weights=None, norm_layer=norm)
        backbone = _resnet_fpn_extractor(body, c["trainable_layers"], norm_layer=nn.BatchNorm2d)
    else:
        body = ctor(weights=None)
        fpn_norm = nn.BatchNorm2d if c["arch"] == "v2" else None
        backbone = _resnet_fpn_extractor(body, c["trainable_layers"], norm_layer=fpn_norm)
    if c["res_fpn"]:
        backbone.fpn = FPNWithResBlocks(backbone.fpn, backbone.out_channels)
    return backbone


def build_model(config):
    """The whole FasterRCNN for a config, with torchvision's default init."""
    c = full_config(config)
    backbone = build_backbone(c)
    anchors = faster_rcnn.AnchorGenerator(tuple(tuple(s) for s in c["anchor_sizes"]),
                                          tuple(tuple(r) for r in c["aspect_ratios"]))
    kwargs = dict(num_classes=c["num_classes"], min_size=c["min_size"], max_size=c["max_size"],
                  rpn_anchor_generator=anchors,
                  rpn_pre_nms_top_n_test=c["rpn_pre_nms_top_n_test"],
                  rpn_post_nms_top_n_test=c["rpn_post_nms_top_n_test"],
                  box_score_thresh=c["box_score_thresh"], box_nms_thresh=c["box_nms_thresh"],
                  box_detections_per_img=c["box_detections_per_img"],
                  **{k: c[k] for k in TRAIN_KWARGS})
    if c["arch"] == "v2":
        kwargs.update(
            rpn_head=faster_rcnn.RPNHead(backbone.out_channels,
                                         anchors.num_anchors_per_location()[0], conv_depth=2),
            box_head=faster_rcnn.FastRCNNConvFCHead((backbone.out_channels, 7, 7),
                                                    [256, 256, 256, 256], [1024],
                                                    norm_layer=nn.BatchNorm2d))
    return faster_rcnn.FasterRCNN(backbone, **kwargs)


def _count_blocks(keys, layer):
    ids = {int(k.split(".")[3]) for k in keys if k.startswith(f"backbone.body.{layer}.")}
    return max(ids) + 1 if ids else 0


def infer_config(sd):
    """Model config from a (renamed) torchvision state_dict's keys and shapes."""
    keys = list(sd.keys())
    c = dict(DEFAULT_CONFIG)
    c["arch"] = "v2" if "backbone.fpn.inner_blocks.0.1.weight" in sd or \
        "backbone.fpn.fpn.inner_blocks.0.1.weight" in sd else "v1"
    c["res_fpn"] = any(k.startswith("backbone.fpn.res_blocks.") for k in keys)
    bottleneck = "backbone.body.layer1.0.conv3.weight" in sd
    layers = [_count_blocks(keys, f"layer{i}") for i in range(1, 5)]
    if bottleneck:
        w = sd["backbone.body.layer1.0.conv2.weight"]  # (width, width / groups, 3, 3)
        groups = w.shape[0] // w.shape[1]
        if groups == 1:
            c["backbone"] = "resnet50" if layers[2] == 6 else "resnet101"
        else:
            c["backbone"] = "resnext50_32x4d" if layers[2] == 6 else "resnext101_32x8d"
    else:
        c["backbone"] = "resnet18" if layers[0] == 2 else "resnet34"
    cls = sd.get("roi_heads.box_predictor.cls_score.weight")
    if cls is not None:
        c["num_classes"] = int(cls.shape[0])
    return c


def legacy_renames(sd):
    """torchvision's _load_from_state_dict upgrades for old checkpoints (version < 2):
    FPN inner/layer blocks gained a ".0." (Conv2dNormActivation), RPNHead's conv became
    "conv.0.0"; FrozenBatchNorm2d drops num_batches_tracked; DataParallel's "module."
    prefix goes."""
    out = {}
    for k, v in sd.items():
        if k.startswith("module."):
            k = k[len("module."):]
        for fpn in ("backbone.fpn.", "backbone.fpn.fpn."):
            for block in ("inner_blocks", "layer_blocks"):
                head = fpn + block + "."
                rest = k[len(head):].split(".") if k.startswith(head) else None
                if rest and len(rest) == 2 and rest[1] in ("weight", "bias"):
                    k = f"{head}{rest[0]}.0.{rest[1]}"
        for t in ("weight", "bias"):
            if k == f"rpn.head.conv.{t}":
                k = f"rpn.head.conv.0.0.{t}"
        out[k] = v
    return out


def drop_frozen_num_batches(sd, model):
    """FrozenBatchNorm2d._load_from_state_dict deletes num_batches_tracked; do the same
    for keys the model does not have (checkpoints saved with BatchNorm2d bodies)."""
    mine = model.state_dict()
    return {k: v for k, v in sd.items()
            if not (k.endswith(".num_batches_tracked") and k not in mine)}
