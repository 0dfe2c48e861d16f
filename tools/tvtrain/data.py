"""The data as our loader gives it: a COCO split read as data/coco.cpp reads it (the image
folder rule, boxes clipped, empty ones dropped, the fixed resize of data/aug_geometry.cpp),
each epoch's order (data/loader.cpp: splitmix64 + Fisher-Yates), the batches, and the
torch DataLoader over them."""
import json
import math
import os

import torch
from torchvision.io import ImageReadMode, read_image

from tvtrain.common import fail, log, read_json
from tvtrain.signals import quiet_worker

U64 = (1 << 64) - 1


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


def make_loader(ds, batches, workers):
    return torch.utils.data.DataLoader(ds, batch_sampler=batches, num_workers=workers,
                                       collate_fn=as_list,
                                       worker_init_fn=quiet_worker if workers else None)
