"""Reference dump for training-target assignment (torchvision 0.14): Matcher on crafted
quality matrices (values exactly at the thresholds, ties over ground truths, tied best
qualities for the low-quality rule, a ground truth that overlaps nothing, NaN), and
RegionProposalNetwork.assign_targets_to_anchors / RoIHeads.assign_targets_to_proposals
with BoxCoder.encode regression targets on grid anchors and random boxes (duplicated
ground truths, duplicated anchors, integer coordinates that make IoU ties, one image
without boxes), in f32 and f64. Also BalancedPositiveNegativeSampler draws (as ascending
indices) for the C++ sampler's injection hook.

Names: mq.<case>.q (G, P) and mq.<case>.<cfg> matches for cfg in rpn (0.7, 0.3, low
quality), roi (0.5, 0.5), strict (0.7, 0.3, no low quality); img<i>.<dt>.* per image;
samp.<case>.* per sampler case."""
import math
import os
import sys

import torch
from torchvision.models.detection._utils import BalancedPositiveNegativeSampler, BoxCoder, Matcher
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.ops import boxes as box_ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402

torch.manual_seed(0)
out = {}
MATCHERS = {"rpn": Matcher(0.7, 0.3, True), "roi": Matcher(0.5, 0.5, False),
            "strict": Matcher(0.7, 0.3, False)}

# ---- Matcher on crafted matrices (f32 and f64) ----
f32 = torch.float32
below = lambda v: float(torch.nextafter(torch.tensor(v, dtype=f32), torch.tensor(-1.0, dtype=f32)))
cases = {
    # f32 values at and just below the thresholds: torch compares in the tensor's dtype,
    # so 0.7f matches although 0.7f < 0.7 in double.
    "thresholds": [[0.7, below(0.7), 0.3, below(0.3), 0.5, below(0.5), 0.0, 1.0]],
    # Ties over gts (first index wins) and tied best qualities per gt (all regain matches).
    "ties": [[0.2, 0.6, 0.6, 0.1, 0.9, 0.25, 0.25],
             [0.6, 0.6, 0.1, 0.25, 0.9, 0.25, 0.0],
             [0.2, 0.05, 0.6, 0.25, 0.3, 0.1, 0.25]],
    # gt 1 overlaps nothing: its best quality is 0, so every prediction at 0 for it regains
    # its argmax (torchvision's behaviour, kept).
    "zero_row": [[0.1, 0.0, 0.4, 0.0, 0.75],
                 [0.0, 0.0, 0.0, 0.0, 0.0]],
    # NaN counts as the maximum in torch.max (first NaN wins) and equals nothing.
    "nan": [[0.1, math.nan, 0.8, 0.2, math.nan],
            [math.nan, 0.9, 0.35, 0.2, 0.1],
            [0.05, math.nan, 0.2, 0.2, 0.6]],
    "single": [[0.0, 0.1, 0.29, 0.3, 0.45, 0.69, 0.7, 0.71, 1.0, 0.45]],
}
for name, rows in cases.items():
    for dt, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
        q = torch.tensor(rows, dtype=f32).to(dt)  # the same (f32-representable) values
        out[f"mq.{name}.{tag}.q"] = q
        for cfg, m in MATCHERS.items():
            out[f"mq.{name}.{tag}.{cfg}"] = m(q.clone())
# A larger random matrix with many exact ties (values on a coarse grid).
q = torch.randint(0, 11, (6, 257)).to(f32) / 10
q[2] = q[0]  # a duplicated gt row: ties over gts everywhere
for dt, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
    out[f"mq.grid.{tag}.q"] = q.to(dt)
    for cfg, m in MATCHERS.items():
        out[f"mq.grid.{tag}.{cfg}"] = m(q.to(dt).clone())


# ---- assign_targets_to_anchors / assign_targets_to_proposals per image ----
def grid_anchors(size, stride, sizes=(16.0, 32.0), ratios=(0.5, 1.0, 2.0)):
    base = []
    for s in sizes:
        for r in ratios:
            h, w = s * math.sqrt(r), s / math.sqrt(r)
            base.append([-w / 2, -h / 2, w / 2, h / 2])
    base = torch.tensor(base).round()  # torchvision rounds its cell anchors too
    ys, xs = torch.meshgrid(torch.arange(0, size, stride), torch.arange(0, size, stride), indexing="ij")
    shifts = torch.stack([xs, ys, xs, ys], dim=-1).reshape(-1, 1, 4).float()
    return (shifts + base[None]).reshape(-1, 4)


def rand_boxes(n, hi, wmin, wmax, integer=False):
    xy = torch.rand(n, 2) * hi
    wh = torch.rand(n, 2) * (wmax - wmin) + wmin
    b = torch.cat([xy, xy + wh], dim=1)
    return b.round() if integer else b


rpn = RegionProposalNetwork(None, None, 0.7, 0.3, 256, 0.5, {"training": 2000, "testing": 1000},
                            {"training": 2000, "testing": 1000}, 0.7)
roi = RoIHeads(None, None, None, 0.5, 0.5, 512, 0.25, None, 0.05, 0.5, 100)
rpn_coder, roi_coder = BoxCoder((1.0, 1.0, 1.0, 1.0)), BoxCoder((10.0, 10.0, 5.0, 5.0))

anchors = grid_anchors(64, 8)  # (384, 4)
images = []
# 0: random gts, one duplicated (ties over gts) and one equal to an anchor (IoU 1).
g = rand_boxes(4, 50, 6, 30)
g = torch.cat([g, g[1:2], anchors[100:101]])
images.append(g)
# 1: integer gts on the anchor grid: many exactly tied IoUs per gt.
images.append(rand_boxes(3, 48, 8, 32, integer=True))
# 2: one small gt (only low-quality matches: the low-quality rule decides).
images.append(torch.tensor([[20.3, 21.7, 25.1, 24.9]]))
# 3: no boxes (a background image).
images.append(torch.zeros((0, 4)))
# 4: many overlapping gts.
images.append(rand_boxes(7, 40, 10, 40))
samp_labels = []
for i, gt in enumerate(images):
    gt_labels = torch.randint(1, 11, (gt.shape[0],), dtype=torch.int64)
    anc = anchors.clone()
    if i == 2:  # a duplicated anchor: the gt's best quality is tied by construction
        best = box_ops.box_iou(gt, anc)[0].argmax()
        anc = torch.cat([anc, anc[best:best + 1]])
    props = rand_boxes(97, 56, 2, 40)
    props = torch.cat([props, gt])  # RoIHeads.add_gt_proposals
    for dt, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
        p = f"img{i}.{tag}."
        a_d, g_d, pr_d = anc.to(dt), gt.to(dt), props.to(dt)
        out[p + "anchors"], out[p + "gt_boxes"], out[p + "gt_labels"] = a_d, g_d, gt_labels
        out[p + "proposals"] = pr_d
        if gt.shape[0] > 0:
            iou = box_ops.box_iou(g_d, a_d)
            out[p + "iou"] = iou
            out[p + "rpn.matches"] = rpn.proposal_matcher(iou)
            out[p + "roi.matches"] = roi.proposal_matcher(box_ops.box_iou(g_d, pr_d))
        labels, matched = rpn.assign_targets_to_anchors([a_d], [{"boxes": g_d}])
        out[p + "rpn.labels"], out[p + "rpn.matched"] = labels[0], matched[0]
        # RegionProposalNetwork.forward: box_coder.encode(matched_gt_boxes, anchors); the
        # background image's zero boxes give -inf dw/dh, which the loss never reads.
        out[p + "rpn.targets"] = rpn_coder.encode(matched, [a_d])[0]
        idxs, lab = roi.assign_targets_to_proposals([pr_d], [g_d], [gt_labels])
        out[p + "roi.clamped"], out[p + "roi.labels"] = idxs[0], lab[0]
        # select_training_samples: gt[clamped] (a zero box for an image without boxes).
        gsrc = g_d if gt.shape[0] > 0 else torch.zeros((1, 4), dtype=dt)
        out[p + "roi.matched"] = gsrc[idxs[0]]
        out[p + "roi.targets"] = roi_coder.encode([gsrc[idxs[0]]], [pr_d])[0]
        if tag == "f32":
            samp_labels.append((f"rpn{i}", labels[0], 256, 0.5))
            samp_labels.append((f"roi{i}", lab[0], 512, 0.25))

# ---- BalancedPositiveNegativeSampler: the indices torch drew, as its callers read them ----
samp_labels += [
    ("all_pos", torch.ones(40), 16, 0.5),            # negatives run out
    ("all_neg", torch.zeros(40, dtype=torch.int64), 16, 0.5),  # positives run out
    ("few", torch.tensor([-1, 1, 0, -1, 3, 0, -1, 0]), 64, 0.25),  # fewer than the batch
    ("ignored", torch.full((9,), -1.0), 8, 0.5),     # nothing to sample
]
samp_cases = []
for name, lab, bsz, frac in samp_labels:
    s = BalancedPositiveNegativeSampler(bsz, frac)
    pos_mask, neg_mask = s([lab])
    out[f"samp.{name}.labels"] = lab
    out[f"samp.{name}.pos"] = torch.where(pos_mask[0])[0]
    out[f"samp.{name}.neg"] = torch.where(neg_mask[0])[0]
    samp_cases.append({"name": name, "batch_size_per_image": bsz, "positive_fraction": frac})

flatfile.write(sys.argv[1], out, meta={"torch": torch.__version__, "images": len(images),
                                       "mq_cases": list(cases) + ["grid"], "samp_cases": samp_cases})
