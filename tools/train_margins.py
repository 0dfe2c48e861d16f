"""How far a recorded torchvision training step is from its discrete decisions
(tools/ref/train_step.py). An implementation that computes the same values with other
rounding (f32, another summation order) makes the same choices only where these margins
exceed its error, so the dump script records them in its meta and refuses near ties.

Every function takes the tensors the dump recorded (f64) and returns plain floats/ints.
"""
import math

import torch
from torchvision.ops import boxes as box_ops


def sorted_gap(values):
    """Smallest difference between neighbours of the sorted values (inf for < 2)."""
    if values.numel() < 2:
        return math.inf
    v, _ = values.flatten().sort()
    return float((v[1:] - v[:-1]).min())


def rpn_order(rpn, objectness, decoded, image_sizes, num_per_level, proposals):
    """The RPN's training-mode proposal filter: per image, the gap at each level's top-k
    boundary (k = pre_nms_top_n, levels with more anchors only), the smallest gap between
    the candidates' sigmoid scores (the key batched_nms sorts by), and the distance of
    the deciding IoU from nms_thresh for every candidate.

    objectness (N, A) logits, decoded (N, A, 4) proposals, proposals[i] what
    filter_proposals returned for image i (checked against the candidates rebuilt here
    with torchvision's own functions)."""
    k = rpn.pre_nms_top_n()
    out = []
    for i in range(objectness.shape[0]):
        topk_gap, cands = math.inf, []
        offset = 0
        for lvl, n in enumerate(num_per_level):
            ob = objectness[i, offset:offset + n]
            if n > k:
                s, _ = ob.sort(descending=True)
                topk_gap = min(topk_gap, float(s[k - 1] - s[k]))
            idx = ob.topk(min(k, n)).indices + offset
            cands.append((idx, torch.full_like(idx, lvl)))
            offset += n
        idx = torch.cat([c[0] for c in cands])
        lvl = torch.cat([c[1] for c in cands])
        boxes = box_ops.clip_boxes_to_image(decoded[i, idx], image_sizes[i])
        keep = box_ops.remove_small_boxes(boxes, rpn.min_size)
        boxes, lvl = boxes[keep], lvl[keep]
        scores = torch.sigmoid(objectness[i, idx[keep]])
        kept_idx = box_ops.batched_nms(boxes, scores, lvl, rpn.nms_thresh)[:rpn.post_nms_top_n()]
        assert torch.equal(boxes[kept_idx], proposals[i]), "rebuilt RPN filter differs"
        nms_margin, kept_all = math.inf, torch.zeros(len(boxes), dtype=torch.bool)
        kept_all[kept_idx] = True
        for l in lvl.unique():
            sel = torch.where(lvl == l)[0]
            order = scores[sel].argsort(descending=True)
            sel = sel[order]
            iou = box_ops.box_iou(boxes[sel], boxes[sel])
            kept = kept_all[sel]
            pos = torch.arange(len(sel))
            # deciding IoU of candidate j: its largest overlap with a kept, higher one
            earlier_kept = kept[:, None] & (pos[:, None] < pos[None, :])
            decide = (iou * earlier_kept).max(dim=0).values
            if len(sel) > 1:
                nms_margin = min(nms_margin, float((decide[1:] - rpn.nms_thresh).abs().min()))
            # consistent with torchvision's choice (suppressed iff IoU > thresh)
            assert torch.equal(kept, decide <= rpn.nms_thresh), "NMS margin analysis disagrees"
        out.append({"topk_gap": topk_gap, "score_gap": sorted_gap(scores),
                    "logit_gap": sorted_gap(objectness[i, idx[keep]]),
                    "nms_iou_margin": nms_margin, "candidates": int(len(boxes))})
    return out


def matcher(gt, boxes, high, low, allow_low_quality):
    """Distances of each box's best IoU from the thresholds, the gap between a positive
    box's best and second-best ground truth (which gt it regresses to), and for the
    low-quality rule per gt the count of boxes tied at its highest IoU and the gap to the
    next lower IoU."""
    if gt.numel() == 0:
        return {}
    iou = box_ops.box_iou(gt, boxes)  # (G, B)
    best = iou.max(dim=0).values
    thresholds = sorted({high, low})
    margin = min(float((best - t).abs().min()) for t in thresholds)
    positive = best >= high
    if allow_low_quality:
        top = iou.max(dim=1).values
        positive |= (iou == top[:, None]).any(dim=0)
    out = {"threshold_margin": margin}
    if gt.shape[0] > 1 and positive.any():
        two = iou[:, positive].topk(2, dim=0).values
        out["gt_choice_gap"] = float((two[0] - two[1]).min())
    if allow_low_quality:
        ties, gaps = [], []
        for g in range(gt.shape[0]):
            row = iou[g]
            top = row.max()
            ties.append(int((row == top).sum()))
            lower = row[row < top]
            gaps.append(float(top - lower.max()) if lower.numel() else math.inf)
        out["low_quality_ties"] = ties
        out["low_quality_gap"] = min(gaps)
    return out


def level_margin(rois, k_min=2, k_max=5, s0=224.0, lvl0=4.0, eps=1e-6):
    """MultiScaleRoIAlign's LevelMapper floors lvl0 + log2(sqrt(area) / s0) + eps and
    clamps to [k_min, k_max]: the distance of that value from the boundaries that matter."""
    s = torch.sqrt(box_ops.box_area(rois))
    v = lvl0 + torch.log2(s / s0) + eps
    bounds = torch.arange(k_min + 1, k_max + 1, dtype=v.dtype)
    return float((v[:, None] - bounds[None, :]).abs().min())
