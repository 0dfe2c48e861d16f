#!/usr/bin/env python3
"""Merge COCO-layout splits into one split folder of symlinks, without copying images.

    tools/merge_coco.py [--sample N [--seed S]] OUT.json  A.json[=IMAGES_A]  B.json[=IMAGES_B] ...

Each input is a COCO JSON (docs/DATA.md) and its image folder (default: the JSON's path
without `.json`, the project's layout). OUT is written as OUT.json beside a folder OUT/
holding one symlink per image, so `train --train-json OUT.json` reads every split as one.
Image ids stay (they are file stems, and must not collide between the inputs: a collision
is an error naming both sources); annotation ids are renumbered from 1. The real SVHN
data (../shared/data) is linked, never copied into the project (its licence).

--sample N keeps N images drawn at random (seeded by --seed, default 0) from the merged
inputs, with their boxes: a smaller split for a run with a fixed time budget.
"""
import json
import os
import random
import sys


def fail(msg):
    sys.stderr.write(f"merge_coco: {msg}\n")
    sys.exit(1)


def load_split(arg):
    path, _, images = arg.partition("=")
    images = images or (path[:-5] if path.endswith(".json") else path)
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        fail(f"{path}: {e}")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            fail(f"{path}: no '{key}' list (not a COCO detection file)")
    if not os.path.isdir(images):
        fail(f"{path}: image folder {images} does not exist")
    return path, os.path.abspath(images), data


def main(argv):
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    sample, seed = None, 0
    argv = list(argv)
    for flag in ("--sample", "--seed"):
        while flag in argv:
            i = argv.index(flag)
            if i + 1 >= len(argv) or not argv[i + 1].isdigit():
                fail(f"{flag} needs a non-negative whole number")
            if flag == "--sample":
                sample = int(argv[i + 1])
            else:
                seed = int(argv[i + 1])
            del argv[i:i + 2]
    if len(argv) < 3:
        print(__doc__.strip())
        return 2
    out_json = argv[1]
    if not out_json.endswith(".json"):
        fail(f"the output must end in .json, got {out_json}")
    out_dir = out_json[:-5]
    merged = {"images": [], "annotations": [], "categories": None}
    owner = {}  # image id -> the JSON it came from
    links = []
    for arg in argv[2:]:
        path, images, data = load_split(arg)
        if merged["categories"] is None:
            merged["categories"] = data.get("categories", [])
        elif data.get("categories", merged["categories"]) != merged["categories"]:
            fail(f"{path}: its categories differ from {argv[2].partition('=')[0]}'s")
        for img in data["images"]:
            if img["id"] in owner:
                fail(f"image id {img['id']} is in both {owner[img['id']]} and {path}")
            owner[img["id"]] = path
            src = os.path.join(images, img["file_name"])
            if not os.path.isfile(src):
                fail(f"{path}: image {src} does not exist")
            links.append((src, os.path.join(out_dir, img["file_name"])))
            merged["images"].append(img)
        for ann in data["annotations"]:
            merged["annotations"].append(dict(ann, id=len(merged["annotations"]) + 1))
    if sample is not None:
        if sample < 1 or sample > len(merged["images"]):
            fail(f"--sample {sample}: must be 1 to {len(merged['images'])}, the images the inputs hold")
        keep = sorted(random.Random(seed).sample(range(len(merged["images"])), sample))
        merged["images"] = [merged["images"][i] for i in keep]
        links = [links[i] for i in keep]
        ids = {img["id"] for img in merged["images"]}
        anns = [a for a in merged["annotations"] if a["image_id"] in ids]
        merged["annotations"] = [dict(a, id=k + 1) for k, a in enumerate(anns)]
    os.makedirs(out_dir, exist_ok=True)
    for src, dst in links:
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(src, dst)
    tmp = out_json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(merged, f)
    os.replace(tmp, out_json)
    print(f"merge_coco: {out_json}: {len(merged['images'])} images, "
          f"{len(merged['annotations'])} boxes from {len(argv) - 2} splits"
          f"{f' (a sample of {sample}, seed {seed})' if sample is not None else ''} (images linked in {out_dir}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
