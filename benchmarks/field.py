"""The field's benchmarks in the table: TextSeg's build against its floor, and `evaluate` against reading the
two masks of each pair. Child measurements (run by `children.py`, registered in its CHILDREN) and the figures.

TextSeg's floor: one core streams `semantic_label.tar.gz` once (each mask's bytes kept by id), then
`image.tar.gz` once, and for each image of `split.json` inflates its mask's pixel data once (zlib-ng when
installed), takes a max, and writes the image's and the mask's bytes to one file, synced at the end: the
least any build of the gzipped archives must do. The build as shipped also inflates each archive into
the cache first, and maps each mask's values (100 -> 1, 200 -> 0) and packs it again.

`evaluate`'s floor: the stored mask of every row (its bytes, from Arrow, undecoded) and the prediction
file of the same name, read and inflated once each.
"""

from __future__ import annotations

import json
import os
import tarfile
import time

import numpy as np

from benchmarks.floor import pixel_data, write_pairs


def child_textseg_floor(data_dir: str, out_dir: str) -> dict:
    """See the module: TextSeg's downloads read as plainly as they can be."""
    started = time.perf_counter()
    with open(os.path.join(data_dir, "split.json")) as f:
        wanted = {image_id for ids in json.load(f).values() for image_id in ids}
    masks = {}
    with tarfile.open(os.path.join(data_dir, "semantic_label.tar.gz"), "r|gz") as labels:
        for info in labels:
            name = info.name.rsplit("/", 1)[-1]
            if info.isfile() and name.endswith("_maskfg.png"):
                masks[name[: -len("_maskfg.png")]] = labels.extractfile(info).read()
    with tarfile.open(os.path.join(data_dir, "image.tar.gz"), "r|gz") as images:
        pairs = (
            (images.extractfile(info).read(), masks[image_id])
            for info in images
            if info.isfile() and (image_id := info.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]) in wanted
        )
        written = write_pairs(pairs, out_dir)
    return {"seconds": time.perf_counter() - started, **written}


def _split(data_dir: str, cache_dir: str):
    import coco_ts

    return coco_ts.load(data_dir, split="train", cache_dir=cache_dir, verification_mode="no_checks")


def child_evaluate(data_dir: str, cache_dir: str, predictions: str) -> dict:
    """`evaluate` on a built split (built before the clock starts) and a folder of predicted masks."""
    from scene_text_seg import evaluate

    split = _split(data_dir, cache_dir)
    started = time.perf_counter()
    scores = evaluate(split, predictions)
    return {"seconds": time.perf_counter() - started, "rows": split.num_rows, "iou_text": scores["iou_text"]}


def child_evaluate_floor(data_dir: str, cache_dir: str, predictions: str) -> dict:
    """Each row's stored mask and its prediction file, read and inflated once each (nothing is counted)."""
    import datasets

    from scene_text_seg.pixels import zlib

    split = _split(data_dir, cache_dir)
    started = time.perf_counter()
    rows = split.select_columns(["image_id", "mask"]).cast_column("mask", datasets.Image(decode=False))
    for row in rows:
        zlib.decompress(pixel_data(row["mask"]["bytes"]))
        with open(os.path.join(predictions, f"{row['image_id']}.png"), "rb") as f:
            zlib.decompress(pixel_data(f.read()))
    return {"seconds": time.perf_counter() - started, "rows": split.num_rows}


def write_predictions(data_dir: str, cache_dir: str, folder: str, mode: str) -> None:
    """A prediction for every row: its text shifted by 3 pixels (a model close to right), saved by PIL in
    `mode` "L" (rows filtered, as PIL writes grey) or "P" (a palette PNG, rows unfiltered)."""
    import PIL.Image

    os.makedirs(folder, exist_ok=True)
    for row in _split(data_dir, cache_dir):
        text = np.roll(np.asarray(row["mask"]) == 1, 3, axis=1).astype(np.uint8)
        image = PIL.Image.fromarray(text, "L")
        if mode == "P":
            image = image.convert("P")
        image.save(os.path.join(folder, f"{row['image_id']}.png"))


CHILDREN = {
    "textseg_floor": child_textseg_floor,
    "evaluate": child_evaluate,
    "evaluate_floor": child_evaluate_floor,
}


def textseg_figures(args, scratch: str) -> list[dict]:
    """TextSeg at its count (4,024 pairs of 1024x768): the build as shipped, and with num_proc=2, against its floor."""
    from benchmarks.goals import ratio
    from benchmarks.measure import best_of_interleaved, progress, warm
    from scene_text_seg import synthetic

    data = os.path.join(args.workdir, "textseg")
    if not os.path.exists(os.path.join(data, "split.json")):
        progress(f"writing TextSeg stand-ins to {data}")
        synthetic.write_textseg_stand_ins(data, progress=progress)
    warm(data)
    threads = min(4, os.cpu_count() or 1)
    progress("TextSeg: the floor and the builds as shipped at 1 and 2 processes")
    floor, default, two = best_of_interleaved(
        args.repeats,
        ("textseg_floor", data, scratch),
        ("build", "textseg", data, scratch, 1, threads),
        ("build", "textseg", data, scratch, 2, threads),
        fresh_dir=scratch,
    )
    return [
        ratio("T1. TextSeg build as shipped / floor", default, floor, "textseg.build/floor"),
        ratio("    TextSeg floor on 1 core / build num_proc=2", floor, two, None),
    ]


def evaluate_figures(args, scratch: str) -> list[dict]:
    """`evaluate` on 1,000 COCO-sized (640x480) predictions against reading and inflating both masks of each pair."""
    from benchmarks.goals import ratio
    from benchmarks.measure import best_of_interleaved, progress, run_child
    from scene_text_seg import synthetic

    data = os.path.join(args.workdir, "evaluate")
    if not os.path.exists(os.path.join(data, "train2014.zip")):
        progress(f"writing 1,000 COCO-sized stand-in pairs to {data}")
        synthetic.write_coco_stand_ins(data, labelled=1000, members=1000)
    cache = os.path.join(args.workdir, "evaluate_cache")
    run_child("build", "coco_ts", data, cache, 1, min(4, os.cpu_count() or 1))
    table = []
    for mode, goal, label in (
        ("P", "evaluate/two_mask_loop", "E1. evaluate / reading and inflating both masks"),
        ("L", None, "    the same, predictions saved as PIL grey PNGs (filtered rows)"),
    ):
        predictions = os.path.join(args.workdir, f"predictions_{mode}")
        if not os.path.isdir(predictions):
            write_predictions(data, cache, predictions, mode)
        progress(f"evaluate: predictions saved in mode {mode}")
        scored, floor = best_of_interleaved(
            args.repeats, ("evaluate", data, cache, predictions), ("evaluate_floor", data, cache, predictions)
        )
        table.append(ratio(label, scored, floor, goal))
    return table
