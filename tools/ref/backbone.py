"""Reference dump for the ResNet-FPN backbones (tests/test_backbone*.cpp).

Writes OUT (inputs, torchvision's outputs, state_dict name lists in meta) and, next to
it, one converted weight file per variant, backbone_<variant>.weights.bin (made with
tools/convert_weights.py's convert_state_dict, scope "backbone"), plus the original
torchvision state_dicts backbone_<variant>.orig.pth used by the bit-for-bit round trip and
one legacy-style checkpoint backbone_r18.legacy.pth for the converter's --pth path.

Weights are torchvision's seeded init with every norm layer's affine and running
statistics randomized, so BN/FrozenBN are not identities and parity means something.
Input: two images 3x64x80 and 3x96x72 zero-padded into one (2, 3, 96, 80) batch, as
GeneralizedRCNNTransform batches them (size_divisible 32). For the training-mode
variants also the gradients of sum_l <out_l, seed_l> for a few parameters, from torch in
f32 and from the same model in f64.
"""
import copy
import os
import sys

import torch
from torch import nn
from torchvision.ops import misc as misc_nn_ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import convert_weights  # noqa: E402
import flatfile  # noqa: E402
import tv_models  # noqa: E402

VARIANTS = {
    "v1": {"arch": "v1", "backbone": "resnet50"},
    "v2": {"arch": "v2", "backbone": "resnet50"},
    "v2res": {"arch": "v2", "backbone": "resnet50", "res_fpn": True},
    # resnet18 with the COCO_V1-style FrozenBN eps 0, resnext50 with v1 + residual FPN.
    "r18": {"arch": "v1", "backbone": "resnet18", "frozen_bn_eps": 0.0},
    "x50res": {"arch": "v1", "backbone": "resnext50_32x4d", "res_fpn": True},
}
TRAIN_VARIANTS = ["v2", "v2res"]
ROUND_TRIP = ["v1", "v2res"]
# Not the biases of convs followed by training-mode BN: their true gradient is 0 (the
# batch mean absorbs them), so both sides only hold rounding noise there.
GRAD_SAMPLES = ["body.layer2.0.conv1.weight", "body.layer3.5.bn3.weight",
                "body.layer4.2.conv2.weight", "body.layer4.0.downsample.1.bias",
                "FPN.inner_blocks.0.0.weight", "FPN.layer_blocks.3.1.weight",
                "fpn.res_blocks.0.0.conv1.weight", "fpn.res_blocks.3.0.bn2.weight"]
LEGACY = "r18"  # also saved as an old-style DataParallel checkpoint for the converter test


def legacy_keys(sd):
    """The key spelling of torchvision < 0.8 checkpoints trained with DataParallel:
    "module." prefix and FPN convs without the Conv2dNormActivation ".0"."""
    out = {}
    for k, v in sd.items():
        for block in ("inner_blocks", "layer_blocks"):
            k = k.replace(f"fpn.{block}.0.0.", f"fpn.{block}.0.").replace(
                f"fpn.{block}.1.0.", f"fpn.{block}.1.").replace(
                f"fpn.{block}.2.0.", f"fpn.{block}.2.").replace(
                f"fpn.{block}.3.0.", f"fpn.{block}.3.")
        out["module." + k] = v
    return out


def randomize_norms(model, g):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, misc_nn_ops.FrozenBatchNorm2d)):
            c = m.weight.shape[0]
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=g) * 0.5 + 0.5)
                m.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
                m.running_mean.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            if isinstance(m, nn.BatchNorm2d):
                m.num_batches_tracked.fill_(int(torch.randint(0, 1000, (1,), generator=g)))


def names(model, prefix=""):
    return [[prefix + k, list(v.shape)] for k, v in model.state_dict().items()]


def main(out):
    ref_dir = os.path.dirname(os.path.abspath(out))
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    images = [torch.randn(3, 64, 80, generator=g), torch.randn(3, 96, 72, generator=g)]
    batch = torch.zeros(2, 3, 96, 80)
    for i, im in enumerate(images):
        batch[i, :, :im.shape[1], :im.shape[2]] = im
    tensors = {"input": batch}
    meta = {"variants": {}, "names": {}, "trainable": {}, "grad_names": {}}

    # Name lists of the whole torchvision model (the backbone part is what exists in C++
    # so far), at COCO's 91 and the digits' 11 classes.
    for key, cfg in [("v1", VARIANTS["v1"]), ("v2", VARIANTS["v2"]), ("v2res", VARIANTS["v2res"])]:
        for nc in (91, 11):
            model = tv_models.build_model(dict(cfg, num_classes=nc))
            meta["names"][f"{key}_{nc}"] = names(model)
    # The other ResNet bodies, names only (v1 style; the norm layer's names are covered above).
    for name in ("resnet34", "resnet101", "resnext101_32x8d"):
        bb = tv_models.build_backbone({"arch": "v1", "backbone": name})
        meta["names"][f"{name}_backbone"] = names(bb, "backbone.")
    # Which backbone parameters train, per trainable_layers (torchvision's freezing rule).
    for key in ("v1", "v2"):
        for tl in range(6):
            bb = tv_models.build_backbone(dict(VARIANTS[key], trainable_layers=tl))
            meta["trainable"][f"{key}_{tl}"] = [
                "backbone." + n for n, p in bb.named_parameters() if p.requires_grad]

    for key, cfg in VARIANTS.items():
        torch.manual_seed(1)
        config = tv_models.full_config(cfg)
        bb = tv_models.build_backbone(config)
        randomize_norms(bb, g)
        sd = {"backbone." + k: v for k, v in bb.state_dict().items()}
        convert_weights.convert_state_dict(os.path.join(ref_dir, f"backbone_{key}.weights.bin"),
                                           sd, config, scope="backbone",
                                           source=f"tools/ref/backbone.py {key}")
        if key in ROUND_TRIP:
            torch.save(bb.state_dict(), os.path.join(ref_dir, f"backbone_{key}.orig.pth"))
        if key == LEGACY:
            torch.save({"model": legacy_keys(sd), "epoch": 3},
                       os.path.join(ref_dir, f"backbone_{key}.legacy.pth"))
        meta["variants"][key] = config
        bb.eval()
        with torch.no_grad():
            for level, t in bb(batch).items():
                tensors[f"{key}.eval.{level}"] = t
        if key in TRAIN_VARIANTS:
            # Training-mode BN divides by batch standard deviations taken over few values
            # (18 per channel at 3x3 maps), some of them near 0 after dead ReLUs, so f32
            # gradients are ill-conditioned: torch's own f32 gradients differ from its f64
            # ones by up to ~5% of their scale here. The same model in f64 is the truth the
            # test measures both f32 implementations against.
            bb64 = copy.deepcopy(bb).double()
            bb.train()
            bb64.train()
            outs, outs64 = bb(batch), bb64(batch.double())
            loss, loss64 = 0, 0
            for level, t in outs.items():
                tensors[f"{key}.train.{level}"] = t.detach()
                tensors[f"{key}.train64.{level}"] = outs64[level].detach()
                seed = torch.randn(t.shape, generator=g)
                tensors[f"{key}.grad.seed.{level}"] = seed
                loss = loss + (t * seed).sum()
                loss64 = loss64 + (outs64[level] * seed.double()).sum()
            loss.backward()
            loss64.backward()
            params64 = dict(bb64.named_parameters())
            # Which parameters get a gradient (trainable_layers=3 freezes conv1, bn1, layer1)
            # and the values of a few spread over body, FPN and residual blocks.
            meta["grad_names"][key] = ["backbone." + n for n, q in bb.named_parameters()
                                       if q.grad is not None]
            params = dict(bb.named_parameters())
            for n in GRAD_SAMPLES:
                n = n.replace("FPN.", "fpn.fpn." if config["res_fpn"] else "fpn.")
                if n in params:
                    tensors[f"{key}.grad.backbone.{n}"] = params[n].grad
                    tensors[f"{key}.grad64.backbone.{n}"] = params64[n].grad
            for k, v in bb.state_dict().items():
                if k.endswith(("running_mean", "running_var", "num_batches_tracked")):
                    tensors[f"{key}.train.state.backbone.{k}"] = v
    meta["torch"] = torch.__version__
    flatfile.write(out, tensors, meta=meta)


if __name__ == "__main__":
    main(sys.argv[1])
