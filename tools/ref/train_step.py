"""Reference dump for one Faster R-CNN TRAINING step (losses and gradients).

Variants (all 11 classes, min_size 96, max_size 160, trainable_layers 3, torchvision's
default anchors and training hyper-parameters except box_batch_size_per_image = 64 instead
of 512; full configs in meta["variants"], training settings in meta["train"]):
  v1     fasterrcnn_resnet50_fpn as tv_models builds it (FrozenBatchNorm2d body, TwoMLPHead)
  v2     fasterrcnn_resnet50_fpn_v2 (BatchNorm2d everywhere, in training mode)
  v2res  v2 with the residual FPN (tools/tv_models.py FPNWithResBlocks)
  r18    v2 architecture on a resnet18 body (BasicBlocks, BatchNorm2d in training mode)

Per variant the model gets seeded random weights (torchvision init, every norm layer's
affine and running stats randomized by backbone.py's randomize_norms, the RPN objectness
and classifier layers scaled as in detector.py, measured here in training mode). Those
f32 weights are written to train_step_<variant>.weights.bin next to OUT (convert_weights,
scope "model", meta.config = the full config). The f32 model is then converted with
.double() (exact) and run by torchvision in float64, model.train():
    losses = model(images, targets); sum(losses.values()).backward()
Every intermediate below is captured from that very call (hooks and wrappers around
torchvision's own methods; only loss_objectness is recomputed, see there), so the C++
step can be compared stage by stage. The random draws of the two
BalancedPositiveNegativeSamplers are recorded as indices so the C++ side can replay them
instead of drawing: loading train_step_<variant>.weights.bin into torchvision
(.double().train()) and replaying the draws reproduces every loss and gradient here bit
for bit (checked when this dump was written).

Conventions. N = 2 images. Boxes are (x1, y1, x2, y2) in pixels. "Resized frame" = the
coordinates of the resized (not padded) image i, which is also the padded batch's frame
(padding is bottom/right). A = anchors per image (all levels, same for both images),
order = torchvision's concatenation: level "0".."pool", then within a level row-major
over (y, x) of the feature map, then the 3 aspect ratios (0.5, 1, 2).
Indices are int64, ascending. f64 unless stated.

OUT keys, each prefixed "<variant>.":
  input.image.{i}              (3, H_i, W_i) pixels in [0, 1] as given to the model
                               (image 0: 3x60x90, image 1: 3x50x85)
  input.boxes.{i}              (G_i, 4) gt boxes in original pixels; G_0 = 0 (no boxes)
  input.labels.{i}             (G_i,) int64 classes in 1..10
  transform.tensors            (N, 3, Hp, Wp) normalized, resized, zero-padded batch (Hp, Wp
                               multiples of 32; here 96 x 160)
  transform.sizes              (N, 2) int64 resized (h, w) per image (96x144, 94x160)
  transform.boxes.{i}          (G_i, 4) gt boxes in the resized frame (torchvision scales x by
                               the f32 ratio float32(w_new)/float32(w_old), y likewise, so
                               the border box ends at 160.0000006, 93.99999976, not 160, 94)
  rpn.num_anchors_per_level    (5,) int64 (H_l * W_l * 3), sums to A (2880 720 180 45 18:
                               only level "0" has more than pre_nms_top_n = 2000)
  rpn.anchors                  (A, 4) anchors, padded frame (identical for both images;
                               integer coordinates: torchvision rounds the base anchors, so
                               the low-quality rule's IoU ties below are exact ties)
  rpn.objectness               (N, A) objectness logits; row-major it is torchvision's
                               concatenated (N*A, 1) tensor (image-major, then anchor order)
  rpn.pred_bbox_deltas         (N, A, 4) RPN deltas (dx, dy, dw, dh), same order ((N*A, 4))
  rpn.decoded                  (N, A, 4) deltas decoded on the anchors (BoxCoder weights
                               1,1,1,1), before top-k/clip/NMS (deltas are detached there)
  rpn.proposals.{i}            (P_i, 4) training proposals of image i after filter_proposals
                               (per-level top-2000 by logit, clip to transform.sizes[i],
                               remove_small_boxes 1e-3, per-level NMS 0.7, first 2000 by
                               score), score-descending, resized frame
  rpn.scores.{i}               (P_i,) their sigmoid objectness
  rpn.labels.{i}               (A,) f64 anchor labels: 1 fg (IoU >= 0.7 or best anchor of a gt,
                               ties included), 0 bg (IoU < 0.3), -1 ignored; image 0 all 0
  rpn.matched_gt_boxes.{i}     (A, 4) the gt box each anchor was matched to (matched index
                               clamped at 0, so bg/ignored anchors hold gt 0); zeros for image 0
  rpn.regression_targets.{i}   (A, 4) BoxCoder(1,1,1,1).encode(matched_gt_boxes, anchors);
                               only rows with label 1 are used. Image 0 (zero-size "gt")
                               holds -inf in the dw, dh columns and is never used.
  rpn.sampled_pos.{i}          (n_pos_i,) int64 anchor indices (0..A-1 within image i) the
                               sampler drew as positives (batch 256, fraction 0.5)
  rpn.sampled_neg.{i}          (n_neg_i,) int64, negatives. compute_loss uses the
                               concatenated indices i*A + idx, positives first.
  loss_objectness              () BCE-with-logits, mean over all sampled anchors, in f64.
                               torchvision's anchor labels are f32, which makes the loss's
                               result dtype f32 (terms rounded to f32 and averaged in f32, so
                               its value is off by ~1e-7 relative); the gradients are not
                               affected (computed in f64). So this value is recomputed from
                               compute_loss's recorded inputs with f64 labels (checked against
                               torchvision's to 1e-6 relative).
  loss_rpn_box_reg             () smooth-L1 (beta 1/9) of the sampled positives' deltas vs
                               targets, summed, / number of sampled anchors (pos + neg, both
                               images)
  roi.proposals_with_gt.{i}    (P_i + G_i, 4) rpn.proposals.{i} with transform.boxes.{i}
                               appended (RoIHeads.add_gt_proposals), resized frame
  roi.all_matched_idxs.{i}     (P_i + G_i,) int64 matched gt (clamped at 0) before sampling
  roi.all_labels.{i}           (P_i + G_i,) int64: gt class (IoU >= 0.5), 0 bg, -1 never
                               (bg_iou_thresh = fg_iou_thresh = 0.5); image 0 all 0
  roi.sampled_pos.{i}          int64 indices into roi.proposals_with_gt.{i} drawn as
                               positives (batch 64 = BOX_BATCH_SIZE_PER_IMAGE, not
                               torchvision's 512, fraction 0.25)
  roi.sampled_neg.{i}          int64 indices drawn as negatives
  roi.sampled_inds.{i}         (R_i,) int64 sorted union of the two: torchvision keeps the
                               sampled rows in ascending index order (NOT positives first)
  roi.proposals.{i}            (R_i, 4) the sampled proposals (= proposals_with_gt[inds])
  roi.labels.{i}               (R_i,) int64 their labels (0 = background)
  roi.matched_idxs.{i}         (R_i,) int64 their matched gt (0 for background / image 0)
  roi.regression_targets.{i}   (R_i, 4) BoxCoder(10,10,5,5).encode(matched gt, proposals);
                               only rows with label > 0 are used. Image 0 encodes
                               torchvision's placeholder zero box: -inf in the dw, dh columns.
  roi.box_head                 (R, 1024) box_head output (v1 TwoMLPHead, else
                               FastRCNNConvFCHead), R = R_0 + R_1 rows, image-major
  roi.class_logits             (R, 11)
  roi.box_regression           (R, 44) per-class deltas (class c at columns 4c..4c+3)
  loss_classifier              () cross-entropy, mean over the R sampled rois (both images)
  loss_box_reg                 () smooth-L1 (beta 1/9) of the gt-class deltas of the
                               positives, summed, / R
  loss                         () the sum of the four losses above (backward started from
                               torchvision's sum, which differs only by the f32 rounding of
                               loss_objectness; d loss / d each term = 1 either way)
  state.<key>                  every nn.BatchNorm2d's running_mean / running_var (f64) and
                               num_batches_tracked (int64) AFTER the step (momentum 0.1,
                               unbiased batch variance; frozen-layer BNs update too, since
                               torchvision only sets requires_grad=False). Their values
                               before the step are in the weights file. None for v1.

Gradients (too large for one file: ~330 MB per R50 variant in f64) are in
train_step_<variant>.grads.bin next to OUT: "grad.<state_dict key>" (f64, the parameter's
shape) for every parameter with requires_grad, after the single backward from "loss".
Its meta (and OUT's meta) lists "trainable" and "frozen" (requires_grad=False, whose
.grad stayed None) state_dict keys. Note: v2res's residual-block conv biases feed a
training-mode BatchNorm, so their true gradient is 0 and the stored values are
rounding noise (|g| <= ~1e-15); compare them with an absolute tolerance. Elsewhere the
per-tensor max |grad| ranges from ~5e-4 (FPN layer_blocks.3) to ~4 (meta grad_scale).

meta: variants (full configs), train (the training hyper-parameters torchvision used,
incl. box_batch_size_per_image 64), counts (proposals and sampled pos/neg per image),
grad_scale per variant (max |grad|), losses, trainable/frozen, and "margins": per variant
the distance of each discrete decision from its threshold (tools/train_margins.py):
  rpn[i].topk_gap        logit gap at level 0's top-2000 boundary (>= 3e-4 here)
  rpn[i].score_gap       smallest gap between two NMS candidates' sigmoid scores (2e-9 to
                         8e-8 here, unavoidable among ~3000 scores: f64 reproduces the
                         proposal order, f32 cannot, so an f32 run cannot replay the RoI
                         draws, which index that order)
  rpn[i].nms_iou_margin  smallest |deciding IoU - 0.7| (>= 5e-7 here)
  rpn_match / roi_match  |best IoU - thresholds| (>= ~3e-5), best-vs-second gt gap of the
                         positives, and for the RPN's low-quality rule the per-gt count of
                         exactly tied best anchors (all of them become positives) and the
                         gap to the next IoU
  roi_level              distance of the sampled RoIs' FPN level value from an integer
The script fails if any margin is below MIN_MARGIN = 1e-9, so f64 orders are unambiguous.
"""
import os
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models.detection.rpn import concat_box_prediction_layers

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from backbone import randomize_norms  # noqa: E402  (random affine and running stats)
import convert_weights  # noqa: E402
import flatfile  # noqa: E402
import train_margins  # noqa: E402
import tv_models  # noqa: E402

VARIANTS = {
    "v1": {"arch": "v1", "backbone": "resnet50"},
    "v2": {"arch": "v2", "backbone": "resnet50"},
    "v2res": {"arch": "v2", "backbone": "resnet50", "res_fpn": True},
    "r18": {"arch": "v2", "backbone": "resnet18"},
}
COMMON = {"num_classes": 11, "min_size": 96, "max_size": 160}
# Ground truth of image 1 (3x50x85) in original pixels: a small box, a wide one, one
# touching the right and bottom border, and a square one near the 64-anchors' size
# overlapping the wide one.
BOXES_1 = [[4.5, 3.0, 17.0, 11.0], [20.0, 14.2, 52.3, 31.7], [60.0, 30.5, 85.0, 50.0],
           [40.0, 8.0, 74.0, 42.0]]
LABELS_1 = [3, 7, 10, 1]
MIN_MARGIN = 1e-9
# RoIs sampled per image: torchvision's default 512 would make the v2 box head's four
# f64 convolutions take minutes; 64 (16 positives at fraction 0.25) also makes the
# sampler choose among more positives than it keeps. FasterRCNN's keyword
# box_batch_size_per_image sets exactly this attribute. The RPN keeps its default 256.
BOX_BATCH_SIZE_PER_IMAGE = 64


def make_batch(g):
    images = [torch.rand(3, 60, 90, generator=g, dtype=torch.float64),
              torch.rand(3, 50, 85, generator=g, dtype=torch.float64)]
    targets = [{"boxes": torch.zeros(0, 4, dtype=torch.float64),
                "labels": torch.zeros(0, dtype=torch.int64)},
               {"boxes": torch.tensor(BOXES_1, dtype=torch.float64),
                "labels": torch.tensor(LABELS_1, dtype=torch.int64)}]
    return images, targets


def separate_scores(model, images, g):
    """detector.py's score separation, measured in training mode (batch-statistics BN):
    objectness and class logits of std ~2 on these images, a random classifier bias.
    The probe's forward updates BN running statistics; they are put back afterwards."""
    saved = {k: v.clone() for k, v in model.named_buffers()}
    model.train()
    images = [im.float() for im in images]
    with torch.no_grad():
        il, _ = model.transform(images)
        feats = model.backbone(il.tensors)
        levels = list(feats.values())
        rpn, rh = model.rpn, model.roi_heads
        obj, _ = rpn.head(levels)
        rpn.head.cls_logits.weight.mul_(2.0 / torch.cat([o.flatten() for o in obj]).std())
        obj, deltas = rpn.head(levels)
        anchors = rpn.anchor_generator(il, levels)
        o_flat, d_flat = concat_box_prediction_layers(obj, deltas)
        decoded = rpn.box_coder.decode(d_flat, anchors).view(len(anchors), -1, 4)
        boxes, _ = rpn.filter_proposals(decoded, o_flat, il.image_sizes,
                                        [o[0].numel() for o in obj])
        boxes = [b[:32] for b in boxes]  # enough for a std, cheap through the box head
        logits, _ = rh.box_predictor(rh.box_head(rh.box_roi_pool(feats, boxes, il.image_sizes)))
        rh.box_predictor.cls_score.weight.mul_(2.0 / logits.std())
        rh.box_predictor.cls_score.bias.copy_(torch.randn(COMMON["num_classes"], generator=g))
        for k, v in model.named_buffers():
            v.copy_(saved[k])


def _copy_lists(x):
    """Nested lists and tuples copied; the tensors in them are shared."""
    if isinstance(x, list):
        return [_copy_lists(v) for v in x]
    if isinstance(x, tuple):
        return tuple(_copy_lists(v) for v in x)
    return x


class Recorder:
    """Wraps torchvision methods of one model so that a normal forward records them."""

    def __init__(self, model):
        self.r = {}
        rpn, rh = model.rpn, model.roi_heads
        self._hook(model.transform, "transform")
        self._hook(rpn.head, "rpn.head")
        self._hook(rpn.anchor_generator, "rpn.anchors")
        self._hook(rh.box_head, "roi.box_head")
        self._hook(rh.box_predictor, "roi.box_predictor")
        self._wrap(rpn, "filter_proposals", "rpn.filter", args=True)
        self._wrap(rpn, "assign_targets_to_anchors", "rpn.assign")
        self._wrap(rpn, "compute_loss", "rpn.loss", args=True)
        self._wrap(rh, "add_gt_proposals", "roi.add_gt")
        self._wrap(rh, "assign_targets_to_proposals", "roi.assign")
        self._wrap(rh, "select_training_samples", "roi.select")
        rpn.fg_bg_sampler = self._sampler(rpn.fg_bg_sampler, "rpn.sampler")
        rh.fg_bg_sampler = self._sampler(rh.fg_bg_sampler, "roi.sampler")

    def _hook(self, module, key):
        def hook(_, inputs, output):
            assert key not in self.r, f"{key} ran twice"
            self.r[key] = output
        module.register_forward_hook(hook)

    def _wrap(self, obj, name, key, args=False):
        orig = getattr(obj, name)

        def wrapped(*a):
            out = orig(*a)
            assert key not in self.r, f"{key} ran twice"
            # Copies of the returned lists: select_training_samples replaces their items.
            kept = _copy_lists(out)
            self.r[key] = (_copy_lists(a), kept) if args else kept
            return out
        setattr(obj, name, wrapped)

    def _sampler(self, sampler, key):
        rec = self.r

        class Recording:
            batch_size_per_image = sampler.batch_size_per_image
            positive_fraction = sampler.positive_fraction

            def __call__(self, labels):
                pos, neg = sampler(labels)
                rec[key] = ([torch.where(p)[0] for p in pos], [torch.where(n)[0] for n in neg])
                return pos, neg
        return Recording()


def record(t, p, r, images, targets):
    """Flatten one variant's recording into dump tensors (keys documented above)."""
    n = len(images)
    for i in range(n):
        t[p + f"input.image.{i}"] = images[i]
        t[p + f"input.boxes.{i}"] = targets[i]["boxes"]
        t[p + f"input.labels.{i}"] = targets[i]["labels"]
    il, tt = r["transform"]
    t[p + "transform.tensors"] = il.tensors
    t[p + "transform.sizes"] = torch.tensor(il.image_sizes, dtype=torch.int64)
    for i in range(n):
        t[p + f"transform.boxes.{i}"] = tt[i]["boxes"]
    obj, _ = r["rpn.head"]
    t[p + "rpn.num_anchors_per_level"] = torch.tensor([o[0].numel() for o in obj])
    anchors = r["rpn.anchors"]
    assert all(torch.equal(anchors[0], a) for a in anchors)
    t[p + "rpn.anchors"] = anchors[0]
    (o_flat, d_flat, labels, reg), _ = r["rpn.loss"]
    A = anchors[0].shape[0]
    t[p + "rpn.objectness"] = o_flat.view(n, A)
    t[p + "rpn.pred_bbox_deltas"] = d_flat.view(n, A, 4)
    (decoded, _, _, _), (boxes, scores) = r["rpn.filter"]
    t[p + "rpn.decoded"] = decoded
    lab, matched = r["rpn.assign"]
    pos, neg = r["rpn.sampler"]
    for i in range(n):
        t[p + f"rpn.proposals.{i}"] = boxes[i]
        t[p + f"rpn.scores.{i}"] = scores[i]
        assert torch.equal(lab[i], labels[i])
        t[p + f"rpn.labels.{i}"] = labels[i].double()
        t[p + f"rpn.matched_gt_boxes.{i}"] = matched[i].double()
        t[p + f"rpn.regression_targets.{i}"] = reg[i]
        t[p + f"rpn.sampled_pos.{i}"] = pos[i]
        t[p + f"rpn.sampled_neg.{i}"] = neg[i]
    with_gt = r["roi.add_gt"]
    all_matched, all_labels = r["roi.assign"]
    pos, neg = r["roi.sampler"]
    props, matched_idxs, roi_labels, roi_reg = r["roi.select"]
    for i in range(n):
        t[p + f"roi.proposals_with_gt.{i}"] = with_gt[i]
        t[p + f"roi.all_matched_idxs.{i}"] = all_matched[i]
        t[p + f"roi.all_labels.{i}"] = all_labels[i]
        t[p + f"roi.sampled_pos.{i}"] = pos[i]
        t[p + f"roi.sampled_neg.{i}"] = neg[i]
        inds = torch.cat([pos[i], neg[i]]).sort().values
        assert torch.equal(with_gt[i][inds], props[i]), "sampled rows are not in index order"
        t[p + f"roi.sampled_inds.{i}"] = inds
        t[p + f"roi.proposals.{i}"] = props[i]
        t[p + f"roi.labels.{i}"] = roi_labels[i]
        t[p + f"roi.matched_idxs.{i}"] = matched_idxs[i]
        t[p + f"roi.regression_targets.{i}"] = roi_reg[i]
    t[p + "roi.box_head"] = r["roi.box_head"]
    t[p + "roi.class_logits"], t[p + "roi.box_regression"] = r["roi.box_predictor"]


def exact_objectness_loss(r, losses):
    """RegionProposalNetwork.compute_loss's objectness term from its recorded inputs and
    sampler draws, with the f32 anchor labels promoted to f64 (see the module doc)."""
    (objectness, _, labels, _), _ = r["rpn.loss"]
    pos, neg = r["rpn.sampler"]
    A = labels[0].shape[0]
    inds = torch.cat([torch.cat([i * A + p for i, p in enumerate(pos)]),
                      torch.cat([i * A + q for i, q in enumerate(neg)])])
    exact = F.binary_cross_entropy_with_logits(objectness.flatten()[inds],
                                               torch.cat(labels).double()[inds])
    tv = losses["loss_objectness"]
    assert tv.dtype == torch.float32 and exact.dtype == torch.float64
    # torchvision rounds each term to f32 and averages them in f32: a few f32 ulps apart.
    assert abs(float(exact) - float(tv)) <= 1e-6 * abs(float(tv)), (float(exact), float(tv))
    return exact


def margins(model, r):
    """Distances of this step's discrete decisions from their thresholds (see module doc)."""
    rpn, rh = model.rpn, model.roi_heads
    il, tt = r["transform"]
    (o_flat, _, _, _), _ = r["rpn.loss"]
    (decoded, _, _, num_per_level), (boxes, _) = r["rpn.filter"]
    n = decoded.shape[0]
    out = {"rpn": [], "rpn_match": [], "roi_match": [], "roi_level": None}
    out["rpn"] = train_margins.rpn_order(rpn, o_flat.view(n, -1).detach(), decoded,
                                         il.image_sizes, num_per_level, boxes)
    anchors = r["rpn.anchors"]
    pm, bm = rpn.proposal_matcher, rh.proposal_matcher
    with_gt = r["roi.add_gt"]
    for i in range(n):
        gt = tt[i]["boxes"]
        out["rpn_match"].append(train_margins.matcher(gt, anchors[i], pm.high_threshold,
                                                      pm.low_threshold, True))
        out["roi_match"].append(train_margins.matcher(gt, with_gt[i], bm.high_threshold,
                                                      bm.low_threshold, False))
    props = r["roi.select"][0]
    out["roi_level"] = train_margins.level_margin(torch.cat(props))
    return out


def check_margins(name, m):
    flat = []
    for d in m["rpn"]:
        flat += [("rpn.topk_gap", d["topk_gap"]), ("rpn.score_gap", d["score_gap"]),
                 ("rpn.nms_iou_margin", d["nms_iou_margin"])]
    for kind in ("rpn_match", "roi_match"):
        for d in m[kind]:
            for k in ("threshold_margin", "gt_choice_gap", "low_quality_gap"):
                if k in d:
                    flat.append((f"{kind}.{k}", d[k]))
    flat.append(("roi_level", m["roi_level"]))
    bad = [(k, v) for k, v in flat if v < MIN_MARGIN]
    assert not bad, f"{name}: decisions too close to their thresholds: {bad}"
    return min(v for _, v in flat)


def train_config(model):
    rpn, rh = model.rpn, model.roi_heads
    return {"rpn_fg_iou_thresh": rpn.proposal_matcher.high_threshold,
            "rpn_bg_iou_thresh": rpn.proposal_matcher.low_threshold,
            "rpn_batch_size_per_image": rpn.fg_bg_sampler.batch_size_per_image,
            "rpn_positive_fraction": rpn.fg_bg_sampler.positive_fraction,
            "rpn_pre_nms_top_n_train": rpn._pre_nms_top_n["training"],
            "rpn_post_nms_top_n_train": rpn._post_nms_top_n["training"],
            "rpn_nms_thresh": rpn.nms_thresh, "rpn_min_size": rpn.min_size,
            "rpn_bbox_weights": list(rpn.box_coder.weights),
            "box_fg_iou_thresh": rh.proposal_matcher.high_threshold,
            "box_bg_iou_thresh": rh.proposal_matcher.low_threshold,
            "box_batch_size_per_image": rh.fg_bg_sampler.batch_size_per_image,
            "box_positive_fraction": rh.fg_bg_sampler.positive_fraction,
            "box_bbox_weights": list(rh.box_coder.weights),
            "bbox_xform_clip": rpn.box_coder.bbox_xform_clip,
            "smooth_l1_beta": 1.0 / 9, "bn_momentum": 0.1}


def dump_variant(name, config, out_dir, tensors, meta):
    t0 = time.time()
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(2)
    cfg = tv_models.full_config(dict(config, **COMMON))
    model = tv_models.build_model(cfg)
    model.roi_heads.fg_bg_sampler.batch_size_per_image = BOX_BATCH_SIZE_PER_IMAGE
    randomize_norms(model, g)
    images, targets = make_batch(g)
    separate_scores(model, images, g)
    convert_weights.convert_state_dict(os.path.join(out_dir, f"train_step_{name}.weights.bin"),
                                       model.state_dict(), cfg,
                                       source=f"tools/ref/train_step.py {name}")
    model.double().train()
    rec = Recorder(model)
    torch.manual_seed(3)  # the samplers' draws (recorded, so any seed would do)
    losses = model(images, targets)
    loss = sum(losses.values())
    loss.backward()
    p = name + "."
    record(tensors, p, rec.r, images, targets)
    losses = dict(losses, loss_objectness=exact_objectness_loss(rec.r, losses))
    for k, v in losses.items():
        tensors[p + k] = v.detach()
    tensors[p + "loss"] = sum(losses.values()).detach()
    for mod_name, mod in model.named_modules():
        if type(mod) is nn.BatchNorm2d:
            for b in ("running_mean", "running_var", "num_batches_tracked"):
                tensors[p + f"state.{mod_name}.{b}"] = getattr(mod, b).detach().clone()
    trainable = [k for k, q in model.named_parameters() if q.requires_grad]
    frozen = [k for k, q in model.named_parameters() if not q.requires_grad]
    params = dict(model.named_parameters())
    assert all(params[k].grad is None for k in frozen), "a frozen parameter got a gradient"
    missing = [k for k in trainable if params[k].grad is None]
    assert not missing, f"{name}: no gradient for {missing}"
    grads = {f"grad.{k}": params[k].grad for k in trainable}
    scale = max(float(gr.abs().max()) for gr in grads.values())
    m = margins(model, rec.r)
    min_margin = check_margins(name, m)
    info = {"config": cfg, "trainable": trainable, "frozen": frozen, "grad_scale": scale}
    flatfile.write(os.path.join(out_dir, f"train_step_{name}.grads.bin"), grads,
                   meta=dict(info, source=f"tools/ref/train_step.py {name}"))
    meta["variants"][name] = cfg
    meta["trainable"][name], meta["frozen"][name] = trainable, frozen
    meta["grad_scale"][name] = scale
    meta["losses"][name] = {k: float(v) for k, v in losses.items()}
    meta["margins"][name] = m
    meta["train"] = train_config(model)
    counts = {k: [len(x) for x in rec.r[s][j]] for k, s, j in
              [("rpn_pos", "rpn.sampler", 0), ("rpn_neg", "rpn.sampler", 1),
               ("roi_pos", "roi.sampler", 0), ("roi_neg", "roi.sampler", 1)]}
    counts["proposals"] = [len(b) for b in rec.r["rpn.filter"][1][0]]
    meta["counts"] = meta.get("counts", {})
    meta["counts"][name] = counts
    print(f"{name}: {time.time() - t0:.1f}s losses "
          + " ".join(f"{k}={float(v):.6g}" for k, v in losses.items())
          + f" max|grad|={scale:.3g} min margin={min_margin:.3g} {counts}", flush=True)


def main(out):
    torch.set_num_threads(2)
    # oneDNN's first f32 convolutions cost seconds of set-up; the plain kernels are
    # faster at these sizes (only the f32 score-calibration probe would use oneDNN).
    torch.backends.mkldnn.enabled = False
    t0 = time.time()
    out_dir = os.path.dirname(os.path.abspath(out))
    tensors = {}
    meta = {"torch": torch.__version__, "common": COMMON, "variants": {}, "trainable": {},
            "frozen": {}, "grad_scale": {}, "losses": {}, "margins": {}}
    for name, config in VARIANTS.items():
        dump_variant(name, config, out_dir, tensors, meta)
    flatfile.write(out, tensors, meta=meta)
    print(f"train_step: {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
