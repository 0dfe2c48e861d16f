"""Reference dump for the Faster R-CNN losses (nn/losses.h): torch values and input gradients
of binary_cross_entropy_with_logits (mean), smooth_l1_loss (sum) / divisor, cross_entropy
(mean) and torchvision fastrcnn_loss's per-class box pick, in f64 and f32.

Names: "<loss>.<dtype>.<tensor>" with dtype f64 or f32. Each loss is backpropagated from an
upstream gradient "<loss>.<dtype>.gout" (not 1, so that the scaling by it is checked)."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402

torch.manual_seed(0)
BETA = 1.0 / 9  # torchvision rpn.py / roi_heads.py
out = {}


def leaf(t, dtype):
    return t.to(dtype).detach().requires_grad_(True)


# Inputs are drawn once in f64; the f32 case uses the same numbers rounded to f32.
# BCE: 37 logits, a few at +-30 / +-25 where the naive log(1 + exp(-x)) form overflows or
# loses everything; 0/1 targets as the RPN uses, plus two soft targets.
bce_x = torch.randn(37, dtype=torch.float64) * 3
bce_x[[0, 5, 11]] = torch.tensor([30.0, -30.0, 25.0], dtype=torch.float64)
bce_x[[17, 23]] = torch.tensor([-25.0, 29.5], dtype=torch.float64)
bce_t = (torch.rand(37, dtype=torch.float64) < 0.4).to(torch.float64)
bce_t[[0, 5]] = torch.tensor([0.0, 1.0], dtype=torch.float64)  # wrong side at |x| = 30
bce_t[[2, 3]] = torch.tensor([0.25, 0.5], dtype=torch.float64)

# Smooth L1: (29, 4) differences on both sides of beta, none within 2e-3 of |d| = beta.
sl1_y = torch.randn(29, 4, dtype=torch.float64) * 0.2
sl1_d = torch.randn(29, 4, dtype=torch.float64) * 0.15
close = (sl1_d.abs() - BETA).abs() < 2e-3
sl1_d[close] += 5e-3 * torch.sign(sl1_d[close])
sl1_x = sl1_y + sl1_d
SL1_DIVISOR = 64.0  # e.g. the number of sampled RoIs, larger than the positives P

# Cross entropy: 23 RoIs, 11 classes (10 digits + background), a few logits at +-30.
ce_x = torch.randn(23, 11, dtype=torch.float64) * 2
ce_x[3, 4] = 30.0
ce_x[7, 0] = -30.0
ce_x[9, :] = torch.linspace(-30, 30, 11, dtype=torch.float64)
ce_l = torch.randint(0, 11, (23,))
ce_l[3] = 4   # the dominant class
ce_l[9] = 0   # the smallest logit of the row

# Box pick: 13 RoIs, 11 classes -> (13, 44); 7 distinct positive rows with labels 1..10.
gb_x = torch.randn(13, 44, dtype=torch.float64)
gb_rows = torch.randperm(13)[:7]
gb_cls = torch.randint(1, 11, (7,))
gb_dy = torch.randn(7, 4, dtype=torch.float64)

for name, dtype in (("f64", torch.float64), ("f32", torch.float32)):
    gout = torch.tensor(0.75, dtype=dtype)

    x = leaf(bce_x, dtype)
    t = bce_t.to(dtype)
    loss = F.binary_cross_entropy_with_logits(x, t)  # reduction="mean"
    loss.backward(gout)
    out.update({f"bce.{name}.logits": x, f"bce.{name}.targets": t, f"bce.{name}.gout": gout,
                f"bce.{name}.loss": loss, f"bce.{name}.dlogits": x.grad})

    x = leaf(sl1_x, dtype)
    y = sl1_y.to(dtype)
    # As torchvision: sum over the positives, divided by the sampled count.
    loss = F.smooth_l1_loss(x, y, beta=BETA, reduction="sum") / SL1_DIVISOR
    loss.backward(gout)
    out.update({f"smooth_l1.{name}.input": x, f"smooth_l1.{name}.target": y,
                f"smooth_l1.{name}.gout": gout, f"smooth_l1.{name}.loss": loss,
                f"smooth_l1.{name}.dinput": x.grad})

    x = leaf(ce_x, dtype)
    loss = F.cross_entropy(x, ce_l)  # reduction="mean"
    loss.backward(gout)
    out.update({f"ce.{name}.logits": x, f"ce.{name}.labels": ce_l, f"ce.{name}.gout": gout,
                f"ce.{name}.loss": loss, f"ce.{name}.dlogits": x.grad})

    x = leaf(gb_x, dtype)
    picked = x.reshape(13, -1, 4)[gb_rows, gb_cls]  # roi_heads.fastrcnn_loss
    dy = gb_dy.to(dtype)
    picked.backward(dy)
    out.update({f"gather.{name}.box_regression": x, f"gather.{name}.rows": gb_rows,
                f"gather.{name}.classes": gb_cls, f"gather.{name}.out": picked,
                f"gather.{name}.dy": dy, f"gather.{name}.dbox_regression": x.grad})

out["smooth_l1.beta"] = torch.tensor(BETA, dtype=torch.float64)
out["smooth_l1.divisor"] = torch.tensor(SL1_DIVISOR, dtype=torch.float64)
flatfile.write(sys.argv[1], out, meta={"torch": torch.__version__})
