"""The field's benchmarks in the table: TextSeg's build against its floor, and `evaluate` against reading the
two masks of each pair. Child measurements (run by `children.py`, registered in its CHILDREN) and the figures.

TextSeg's floor: one core streams `semantic_label.tar.gz` once (each mask's bytes kept by id), then
`image.tar.gz` once (both inflated by the gzip the build uses: zlib-ng's when installed), and for each
image of `split.json` inflates its mask's pixel data once (zlib-ng when installed), takes a max, and
writes the image's and the mask's bytes to one file, synced at the end: the least any build of the
gzipped archives must do. The build as shipped also inflates each archive into the cache first, and maps
each mask's values (100 -> 1, 200 -> 0) and packs it again.

Total-Text's and ICDAR 2013's floor (their labels are lossy JPEGs, BMPs and PNGs to decode, not PNGs to
inflate): one core reads every paired member (and ICDAR 2013's colour table), decodes each label once with
PIL, and writes each photo's bytes to an Arrow stream, synced at the end. The label is not written: how it
is stored is the build's choice, and ICDAR 2013's BMPs (2.3 MB each at 1000x750) would have made the floor
a test of the disk. The build as shipped also converts each label (a threshold, a colour rule) and writes
it as a minimal PNG.

`evaluate`'s floor: the stored mask of every row (its bytes, from Arrow, undecoded) and the prediction
file of the same name, read and inflated once each.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
import time

import numpy as np

from benchmarks.floor import pixel_data, write_pairs


def child_textseg_floor(data_dir: str, out_dir: str) -> dict:
    """See the module: TextSeg's downloads read as plainly as they can be."""
    from scene_text_seg.tar import gzip

    started = time.perf_counter()
    with open(os.path.join(data_dir, "split.json")) as f:
        wanted = {image_id for ids in json.load(f).values() for image_id in ids}
    masks = {}
    # Inflated by the fastest gzip installed, as the build inflates them (zlib-ng's, when it is there).
    with (
        gzip.open(os.path.join(data_dir, "semantic_label.tar.gz")) as packed,
        tarfile.open(fileobj=packed, mode="r|") as labels,
    ):
        for info in labels:
            name = info.name.rsplit("/", 1)[-1]
            if info.isfile() and name.endswith("_maskfg.png"):
                masks[name[: -len("_maskfg.png")]] = labels.extractfile(info).read()
    with gzip.open(os.path.join(data_dir, "image.tar.gz")) as packed, tarfile.open(fileobj=packed, mode="r|") as images:
        pairs = (
            (images.extractfile(info).read(), masks[image_id])
            for info in images
            if info.isfile() and (image_id := info.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]) in wanted
        )
        written = write_pairs(pairs, out_dir)
    return {"seconds": time.perf_counter() - started, **written}


def child_decoded_floor(dataset: str, data_dir: str, out_dir: str) -> dict:
    """See the module: the pairs the build plans (layout.plan_pairs), each label decoded once with PIL, each
    photo's bytes written to Arrow."""
    import importlib
    import io
    import zipfile

    import PIL.Image
    import pyarrow as pa

    from scene_text_seg import inputs, layout

    started = time.perf_counter()
    spec = importlib.import_module(dataset).SPEC
    paths = inputs.locate_inputs(spec, data_dir)
    planned = layout.plan_pairs(spec, paths, with_unlabeled=False)
    archives = {role: zipfile.ZipFile(path) for role, path in paths.items()}
    schema = pa.schema([("image_id", pa.string()), ("image", pa.binary())])
    member_bytes = count = 0
    with pa.OSFile(os.path.join(out_dir, "floor.arrow"), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for split, pairs in planned.items():
            labels = archives[spec.label_files_of(split).role]
            for start in range(0, len(pairs), 64):
                rows = {"image_id": [], "image": []}
                for pair in pairs[start : start + 64]:
                    image = archives[pair.image_role or spec.split_images[split][0]].read(pair.image_member)
                    label = labels.read(pair.label_member)
                    if pair.label_table:
                        member_bytes += len(labels.read(pair.label_table))
                    with PIL.Image.open(io.BytesIO(label)) as decoded:
                        decoded.load()
                    rows["image_id"].append(pair.image_id)
                    rows["image"].append(image)
                    member_bytes += len(image) + len(label)
                    count += 1
                writer.write_batch(pa.record_batch(rows, schema=schema))
    with open(os.path.join(out_dir, "floor.arrow"), "rb+") as f:
        os.fsync(f.fileno())
    for archive in archives.values():
        archive.close()
    return {"seconds": time.perf_counter() - started, "member_bytes": member_bytes, "pairs": count}


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
    "decoded_floor": child_decoded_floor,
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


# Each decoded benchmark at its published count: distinct stand-ins written once, then copied under new
# numbers (volume is what is measured). Total-Text 1,255 + 300 (here 1,260 + 300), ICDAR 2013 229 + 233 (230 + 230).
DECODED = {
    "total_text": {"writer": "write_total_text_inputs", "n_train": 126, "n_test": 30, "copies": 10},
    "icdar13_fst": {"writer": "write_icdar13_inputs", "n_train": 23, "n_test": 23, "copies": 10},
}
DECODED_SIZE = (1000, 750)  # about the middle of both datasets' photo sizes
FIRST_NUMBER = re.compile(r"\d+")


def scaled_copy(source: str, target: str, copies: int) -> None:
    """Every zip of `source` written to `target` with each member `copies` times, the first number of each
    copy's file name raised by 100,000 a copy (`img7.jpg`, `img100007.jpg`, ...): an image, its label, its
    table and its words stay named alike. Members without a number (junk) are copied once."""
    import zipfile

    os.makedirs(target, exist_ok=True)
    for name in sorted(os.listdir(source)):
        old, out = zipfile.ZipFile(os.path.join(source, name)), zipfile.ZipFile(os.path.join(target, name), "w")
        with old, out:
            for info in old.infolist():
                data = old.read(info)
                folder, _, base = info.filename.rpartition("/")
                number = FIRST_NUMBER.search(base)
                for copy in range(copies if number and not info.is_dir() else 1):
                    renumbered = str(int(number.group()) + copy * 100_000) if number else ""
                    renamed = base if copy == 0 else FIRST_NUMBER.sub(renumbered, base, 1)
                    out.writestr(
                        zipfile.ZipInfo(f"{folder}/{renamed}" if folder else renamed, info.date_time),
                        data,
                        compress_type=info.compress_type,
                    )


def decoded_figures(args, scratch: str, dataset: str) -> list[dict]:
    """Total-Text or ICDAR 2013 at its count: the build as shipped, and with num_proc=2, against its floor."""
    from benchmarks.goals import ratio
    from benchmarks.measure import best_of_interleaved, progress, warm
    from scene_text_seg import synthetic

    facts = DECODED[dataset]
    data = os.path.join(args.workdir, dataset)
    if not os.path.isdir(data):
        progress(f"writing {dataset} stand-ins to {data}")
        distinct = os.path.join(args.workdir, f"{dataset}_distinct")
        write = getattr(synthetic, facts["writer"])
        write(distinct, n_train=facts["n_train"], n_test=facts["n_test"], size=DECODED_SIZE)
        scaled_copy(distinct, data + ".partial", facts["copies"])
        os.rename(data + ".partial", data)
    warm(data)
    threads = min(4, os.cpu_count() or 1)
    progress(f"{dataset}: the floor and the builds as shipped at 1 and 2 processes")
    floor, default, two = best_of_interleaved(
        args.repeats,
        ("decoded_floor", dataset, data, scratch),
        ("build", dataset, data, scratch, 1, threads),
        ("build", dataset, data, scratch, 2, threads),
        fresh_dir=scratch,
    )
    import importlib

    short = importlib.import_module(dataset).SPEC.short_name
    return [
        ratio(f"{short} build as shipped / floor", default, floor, f"{dataset}.build/floor"),
        ratio(f"    {short} floor on 1 core / build num_proc=2", floor, two, f"{dataset}.floor/num_proc_2"),
    ]
