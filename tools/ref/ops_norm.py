"""Reference dump for batch norm (train/eval), FrozenBatchNorm2d, max_pool2d, nearest
upsampling and bilinear resizing: torch forward (and backward where the op has one) on
small seeded inputs. Tested by tests/test_batch_norm.cpp, test_pool.cpp, test_resample.cpp."""
import math
import os
import sys

import torch
import torch.nn.functional as F
from torchvision.ops.misc import FrozenBatchNorm2d

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402

torch.manual_seed(0)
out = {}


def grads(name, x, y, params=()):
    """Backward with a random dy; stores dy and the gradients of x and params."""
    dy = torch.randn_like(y)
    y.backward(dy)
    out[name + ".dy"] = dy
    out[name + ".dx"] = x.grad
    for pname, p in params:
        out[name + ".d" + pname] = p.grad


# ---- batch norm: training step (batch stats, running update), then eval ----
C = 3
x = torch.randn(2, C, 5, 7) * 2 + 0.5
w, b = torch.rand(C) + 0.5, torch.randn(C)
rm, rv = torch.randn(C) * 0.3, torch.rand(C) + 0.5
out.update({"bn.x": x, "bn.w": w, "bn.b": b, "bn.rm0": rm, "bn.rv0": rv})
for mode, training in (("train", True), ("eval", False)):
    xs, ws, bs = (t.clone().requires_grad_(True) for t in (x, w, b))
    rms, rvs = rm.clone(), rv.clone()
    y = F.batch_norm(xs, rms, rvs, ws, bs, training=training, momentum=0.1, eps=1e-5)
    out[f"bn.{mode}.y"] = y
    grads(f"bn.{mode}", xs, y, (("w", ws), ("b", bs)))
    out[f"bn.{mode}.rm1"] = rms
    out[f"bn.{mode}.rv1"] = rvs

# ---- FrozenBatchNorm2d (torchvision.ops.misc) ----
fbn = FrozenBatchNorm2d(C)
fbn.weight.copy_(w)
fbn.bias.copy_(b)
fbn.running_mean.copy_(rm)
fbn.running_var.copy_(rv)
xs = x.clone().requires_grad_(True)
y = fbn(xs)
out["frozen.y"] = y
grads("frozen", xs, y)

# ---- max pooling: ResNet stem and FPN LastLevelMaxPool, plus a tie-heavy input ----
for name, shape, k, s, p, ties in (("pool3", (2, 3, 11, 13), 3, 2, 1, False),
                                   ("pool1", (2, 3, 7, 8), 1, 2, 0, False),
                                   ("poolties", (1, 2, 9, 10), 3, 2, 1, True)):
    x = torch.randint(0, 3, shape).float() if ties else torch.randn(shape)
    xs = x.clone().requires_grad_(True)
    y, idx = F.max_pool2d(xs, k, s, p, return_indices=True)
    out.update({f"{name}.x": x, f"{name}.y": y, f"{name}.idx": idx})
    grads(name, xs, y)

# ---- nearest upsampling (FPN top-down path: size=, legacy "nearest") ----
x = torch.randn(2, 3, 5, 7)
out["nearest.x"] = x
for name, size in (("nearest.up", (9, 13)), ("nearest.x2", (10, 14)), ("nearest.down", (3, 4))):
    xs = x.clone().requires_grad_(True)
    y = F.interpolate(xs, size=size, mode="nearest")
    out[name + ".y"] = y
    grads(name, xs, y)

# Sizes where the float32 scale in/out picks a different row than exact integer
# arithmetic (6 -> 74 at dst 37, 14 -> 46 at dst 23): torch uses the float rule.
x = torch.randn(1, 2, 6, 14)
xs = x.clone().requires_grad_(True)
y = F.interpolate(xs, size=(74, 46), mode="nearest")
out.update({"nearest.float.x": x, "nearest.float.y": y})
grads("nearest.float", xs, y)

# ---- bilinear resize (GeneralizedRCNNTransform), forward only ----
img = torch.rand(3, 17, 23)
out["bilinear.x"] = img
for name, size in (("bilinear.up", (40, 55)), ("bilinear.down", (11, 8))):
    out[name + ".y"] = F.interpolate(img[None], size=size, mode="bilinear",
                                     align_corners=False)[0]
# torchvision 0.14 _resize_image_and_masks: a float32 scale, then scale_factor with
# recompute_scale_factor=True (torch computes the size floor(in * s) in double).
min_side, max_side = 40.0, 60.0
im_shape = torch.tensor(img.shape[-2:])
scale = torch.min(min_side / torch.min(im_shape).to(torch.float32),
                  max_side / torch.max(im_shape).to(torch.float32)).item()
out["bilinear.tv.scale"] = torch.tensor([scale], dtype=torch.float64)
out["bilinear.tv.y"] = F.interpolate(img[None], scale_factor=scale, mode="bilinear",
                                     recompute_scale_factor=True, align_corners=False)[0]
assert out["bilinear.tv.y"].shape[-2:] == (math.floor(17 * scale), math.floor(23 * scale))

flatfile.write(sys.argv[1], out, meta={"torch": torch.__version__})
