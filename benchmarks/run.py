"""Speed, memory and streaming benchmarks on realistic stand-ins; prints one table, flagging misses.

    python benchmarks/run.py [--scale10] [--coco] [--repeats 3] [--workdir DIR] [--keep]

Every figure is a ratio of two things measured in the same run, since machines are noisy; the runs
behind a ratio with a goal are mostly taken in turn (A B A B ...), best of each. Timed
parts run after a warm-up read, in fresh child processes (peak RSS: each child's own, `VmHWM`). Stand-ins are
written to a temporary folder (progress on stderr) and removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import io
import json
import operator
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib.metadata import version

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

TRAINING_SIZE = (360, 640)  # (height, width) the training-feed figures resize to

# ---- what each child process measures ---------------------------------------------------------


def _module(name: str):
    import importlib

    return importlib.import_module(name)


def child_build(dataset: str, data_dir: str, cache_dir: str, num_proc: int, threads: int) -> dict:
    from scene_text_seg import builder

    builder.EXAMPLE_THREADS = threads
    started = time.perf_counter()
    built = _module(dataset).prepare(data_dir, cache_dir=cache_dir, num_proc=num_proc, verification_mode="no_checks")
    seconds = time.perf_counter() - started
    arrow_bytes = sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(built.cache_dir)
        for name in names
        if name.endswith(".arrow")
    )
    return {
        "seconds": seconds,
        "arrow_bytes": arrow_bytes,
        "rows": sum(s.num_examples for s in built.info.splits.values()),
    }


def child_plan(dataset: str, data_dir: str) -> dict:
    """The serial part of a build: finding the inputs, listing the archives, pairing (nothing is read)."""
    from scene_text_seg import inputs, layout

    spec = _module(dataset).SPEC
    started = time.perf_counter()
    pairs = layout.plan_pairs(spec, inputs.locate_inputs(spec, data_dir), with_unlabeled=False)
    return {"seconds": time.perf_counter() - started, "pairs": sum(len(p) for p in pairs.values())}


def child_hash(dataset: str, data_dir: str) -> dict:
    """What verification adds to a build: each input hashed with the algorithm of its published digest."""
    from scene_text_seg import inputs

    started = time.perf_counter()
    for spec in _module(dataset).SPEC.required_inputs().values():
        inputs.hash_file(os.path.join(data_dir, spec.filename), (spec.digest or "sha256:").split(":")[:1])
    return {"seconds": time.perf_counter() - started}


def _mask_values(png: bytes):
    """A mask's samples as cheaply as they can be had: its pixel data inflated once (the stand-ins' masks
    are unfiltered 8-bit PNGs, so the inflated rows are filter byte + values)."""
    import struct

    import numpy as np

    from scene_text_seg.pixels import zlib  # zlib-ng when installed, as the build uses

    pos, idat, width = 8, [], struct.unpack(">I", png[16:20])[0]
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        if kind == b"IDAT":
            idat.append(png[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(-1, width + 1)[:, 1:]


def child_floor(dataset: str, data_dir: str, out_dir: str, decode: str = "pil") -> dict:
    """The unavoidable work, as a plain loop: read every paired member, decode each mask once, write the
    bytes to Arrow. Pairs by stem over the label and image archives; no checks beyond the decode.
    `decode`: "pil" decodes each mask with PIL (the definition the goals were set on); "inflate" only
    inflates it (`_mask_values`: the least any reading of the values can do, for unfiltered masks)."""
    import numpy as np
    import PIL.Image
    import pyarrow as pa

    spec = _module(dataset).SPEC
    started = time.perf_counter()
    member_bytes = 0
    image_roles = [role for roles in spec.split_images.values() for role in roles]
    archives = [zipfile.ZipFile(os.path.join(data_dir, spec.required_inputs()[r].filename)) for r in image_roles]
    schema = pa.schema(
        [
            ("image_id", pa.string()),
            ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
            ("mask", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
            ("mask_classes", pa.list_(pa.int64())),
        ]
    )
    with (
        zipfile.ZipFile(os.path.join(data_dir, spec.required_inputs()["labels"].filename)) as labels,
        pa.OSFile(os.path.join(out_dir, "floor.arrow"), "wb") as sink,
        pa.ipc.new_stream(sink, schema) as writer,
    ):
        # One image archive per split for IST_S (train and test reuse names), one in all for COCO.
        by_split = {}
        for split, roles in spec.split_images.items():
            for role in roles:
                archive = archives[image_roles.index(role)]
                stems = {n.rsplit("/", 1)[-1].rsplit(".", 1)[0]: n for n in archive.namelist()}
                by_split.setdefault(split, []).append((archive, stems))
        batch = []
        for member in labels.namelist():
            if not member.endswith(".png"):
                continue
            stem = member.rsplit("/", 1)[-1][:-4]
            split = next(s for s in by_split if len(by_split) == 1 or f"/{s}/" in member)
            archive, name = next((a, stems[stem]) for a, stems in by_split[split] if stem in stems)
            mask, image = labels.read(member), archive.read(name)
            values = _mask_values(mask) if decode == "inflate" else np.asarray(PIL.Image.open(io.BytesIO(mask)))
            present = [v for v in (0, 1) if np.count_nonzero(values == v)]
            member_bytes += len(mask) + len(image)
            batch.append(
                {
                    "image_id": stem,
                    "image": {"bytes": image, "path": name},
                    "mask": {"bytes": mask, "path": member},
                    "mask_classes": present,
                }
            )
            if len(batch) == 32:
                writer.write_batch(pa.RecordBatch.from_pylist(batch, schema))
                batch = []
        if batch:
            writer.write_batch(pa.RecordBatch.from_pylist(batch, schema))
    for archive in archives:
        archive.close()
    return {"seconds": time.perf_counter() - started, "member_bytes": member_bytes}


def child_iterate(dataset: str, data_dir: str, cache_dir: str, rows: int, rounds: int = 5) -> dict:
    """Decoded rows: datasets (Arrow by index and by iteration, then streaming) against a bare PIL decode
    of the same bytes. The four are timed in turn, `rounds` times, and each keeps its best: a slow
    phase of the machine then cannot fall on one of them alone."""
    import datasets
    import PIL.Image

    module = _module(dataset)
    arrow = module.load(data_dir, split="train", cache_dir=cache_dir, verification_mode="no_checks")
    rows = min(rows, arrow.num_rows)
    raw = arrow.cast_column("image", datasets.Image(decode=False)).cast_column("mask", datasets.Image(decode=False))
    pairs = [(r["image"]["bytes"], r["mask"]["bytes"]) for r in raw.select(range(rows))]
    stream = module.load(data_dir, split="train", streaming=True)

    def bare() -> int:
        for image, mask in pairs:
            PIL.Image.open(io.BytesIO(image)).load()
            PIL.Image.open(io.BytesIO(mask)).load()
        return len(pairs)

    def indexed() -> int:
        return loaded(arrow[index] for index in range(rows))

    def loaded(decoded_rows) -> int:
        count = 0
        for row in decoded_rows:
            row["image"].load()
            row["mask"].load()
            count += 1
        return count

    timed = {
        "bare": bare,
        "indexed": indexed,
        "iterated": lambda: loaded(arrow.select(range(rows))),
        "streamed": lambda: loaded(stream.take(rows)),
    }
    best = dict.fromkeys(timed, float("inf"))
    for _ in range(rounds):
        for name, run in timed.items():
            started = time.perf_counter()
            if run() != rows:
                raise RuntimeError(f"the {name} loop decoded fewer than {rows} rows")
            best[name] = min(best[name], time.perf_counter() - started)
    return {"rows": rows, **best}


def child_feed_limit(data_dir: str, cache_dir: str) -> dict:
    """The training feed's limit on one core, each step done plainly: open each JPEG, decode it at the
    smallest DCT scale that covers the training size, resize, convert to float32; decode the mask,
    resize it nearest."""
    import datasets
    import numpy as np
    import PIL.Image

    import ist_s

    arrow = ist_s.load(data_dir, split="train", cache_dir=cache_dir, verification_mode="no_checks")
    raw = arrow.cast_column("image", datasets.Image(decode=False)).cast_column("mask", datasets.Image(decode=False))
    pairs = [(r["image"]["bytes"], r["mask"]["bytes"]) for r in raw]
    height, width = TRAINING_SIZE
    started = time.perf_counter()
    for image_bytes, mask_bytes in pairs:
        image = PIL.Image.open(io.BytesIO(image_bytes))
        image.draft("RGB", (width, height))
        image = image.convert("RGB").resize((width, height), PIL.Image.Resampling.BILINEAR)
        np.asarray(image, np.float32)
        mask = PIL.Image.open(io.BytesIO(mask_bytes)).resize((width, height), PIL.Image.Resampling.NEAREST)
        np.asarray(mask)
    return {"images_per_second": len(pairs) / (time.perf_counter() - started)}


def child_feed(source: str, path: str, cache_dir: str, workers: int, delivery: str = "float32") -> dict:
    """Images/s through `for_training` (undecoded rows, DCT-scaled) and a DataLoader collating with
    `ist_s.collate`, over one epoch.

    source: "arrow" (the built cache), "streaming" (the zips in place), "arrow-stream" (the cache as an
    IterableDataset) or "parquet" (a Hub export streamed). delivery: "float32" (the default transform,
    what a Trainer gets; batches counted as they arrive), "uint8" (`uint8=True`; each batch copied once,
    as a copy to an accelerator reads it, before `DeviceFeed` converts it there) or "uint8+convert"
    (`DeviceFeed` converting on this CPU, in the consuming process).
    """
    import datasets
    import torch

    import ist_s
    from scene_text_seg import layout

    torch.set_num_threads(1)  # the consumer's intra-op threads would only compete with the workers' cores
    if source == "parquet":
        dataset = datasets.load_dataset(path, split="train", streaming=True)
    elif source == "streaming":
        dataset = ist_s.load(path, split="train", streaming=True)
    else:
        dataset = ist_s.load(path, split="train", cache_dir=cache_dir, verification_mode="no_checks")
        if source == "arrow-stream":
            dataset = dataset.to_iterable_dataset(num_shards=layout.shard_count(dataset.num_rows))
    ready = ist_s.for_training(dataset, size=TRAINING_SIZE, batch_size=8, uint8=delivery != "float32")
    loader = torch.utils.data.DataLoader(ready, batch_size=8, num_workers=workers, collate_fn=ist_s.collate)
    started = time.perf_counter()
    seen = sum(len(batch["labels"]) for batch in consumed(loader, delivery))
    return {"images_per_second": seen / (time.perf_counter() - started), "rows": seen}


def consumed(loader, delivery: str):
    """Batches as the feed figures take them: float32 as they arrive; uint8 copied once (what a copy
    to an accelerator reads); "uint8+convert" through `DeviceFeed` on this CPU."""
    import ist_s

    if delivery == "uint8+convert":
        return ist_s.DeviceFeed(loader, "cpu", mean=ist_s.IMAGENET_MEAN, std=ist_s.IMAGENET_STD)
    if delivery == "uint8":
        return ({key: value.clone() for key, value in batch.items()} for batch in loader)
    return loader


def child_handover(delivery: str, workers: int) -> dict:
    """What handing examples over from DataLoader workers costs alone: a dataset whose 979 examples are
    ready-made arrays of the feed's shapes (float32 pixels + int64 labels, or both uint8), nothing
    decoded; batches consumed as `child_feed` consumes them."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    height, width = TRAINING_SIZE
    dtypes = (np.float32, np.int64) if delivery == "float32" else (np.uint8, np.uint8)
    example = {"pixel_values": np.ones((3, height, width), dtypes[0]), "labels": np.ones((height, width), dtypes[1])}

    class Ready(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 979

        def __getitem__(self, index: int) -> dict:
            return example

    loader = torch.utils.data.DataLoader(Ready(), batch_size=8, num_workers=workers)
    started = time.perf_counter()
    seen = sum(len(batch["labels"]) for batch in consumed(loader, delivery))
    return {"images_per_second": seen / (time.perf_counter() - started)}


def child_export(data_dir: str, cache_dir: str, out_dir: str) -> dict:
    import ist_s

    ist_s.export(data_dir, out_dir, configs=("default",), cache_dir=cache_dir, verification_mode="no_checks")
    return {}


CHILDREN = {
    "build": child_build,
    "plan": child_plan,
    "hash": child_hash,
    "floor": child_floor,
    "iterate": child_iterate,
    "feed_limit": child_feed_limit,
    "feed": child_feed,
    "handover": child_handover,
    "export": child_export,
}


def run_child(name: str, *args) -> dict:
    """Run one measurement in a fresh process; adds its peak RSS in MB."""
    env = {**os.environ, "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}  # the table is the output
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", name, json.dumps(args)], stdout=subprocess.PIPE, text=True, env=env
    )
    output, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"benchmark child {name} failed")
    return json.loads(output.strip().splitlines()[-1])


def own_peak_rss_mb() -> float:
    """This process's peak resident memory, in MB: the high-water mark of its own address space
    (`VmHWM`). Not `wait4`'s `ru_maxrss`: Linux folds into it the memory the child was started from
    (`subprocess` starts children by vfork, so that is the parent's peak), and a child of a large
    parent reported the parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status: the benchmarks measure memory on Linux only")


# ---- the table ----------------------------------------------------------------------------------

GOALS = {"<=": operator.le, ">=": operator.ge}


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def best_of(repeats: int, name: str, *args, fresh_dir: str | None = None) -> dict:
    """The best of `repeats` runs: the fewest seconds, or the most images per second."""
    return best_of_interleaved(repeats, (name, *args), fresh_dir=fresh_dir)[0]


def best_of_interleaved(repeats: int, *runs: tuple, fresh_dir: str | None = None) -> list[dict]:
    """The best of `repeats` runs of each child in `runs` (name and arguments), run in turn (A B A B ...):
    a ratio of two then compares the same minutes of a machine whose speed drifts, where runs taken
    minutes apart can differ by a fifth. `fresh_dir` is emptied before every run (a build's cache)."""
    results: list[list[dict]] = [[] for _ in runs]
    for _ in range(repeats):
        for results_of, (name, *args) in zip(results, runs, strict=True):
            if fresh_dir:
                shutil.rmtree(fresh_dir, ignore_errors=True)
                os.makedirs(fresh_dir)
            results_of.append(run_child(name, *args))
    return [min(results_of, key=_slowness) for results_of in results]


def _slowness(result: dict) -> float:
    return result["seconds"] if "seconds" in result else -result["images_per_second"]


def warm(data_dir: str) -> None:
    for name in os.listdir(data_dir):
        with open(os.path.join(data_dir, name), "rb") as f:
            while f.read(1 << 24):
                pass


def row(figure: str, value: float, goal: str, detail: str) -> tuple:
    """A table row; a goal like ">= 1.6" is checked, others ("-", "images/s") are information."""
    op, _, bound = goal.partition(" ")
    missed = op in GOALS and not GOALS[op](value, float(bound))
    return figure, value, goal, detail, missed


def ratio(figure: str, numerator: dict, denominator: dict, goal: str, key: str = "seconds") -> tuple:
    a, b = numerator[key], denominator[key]
    unit = " s" if key == "seconds" else "/s"
    return row(figure, a / b, goal, f"{a:.2f}{unit} / {b:.2f}{unit}")


def ist_s_figures(args, data: str, scratch: str) -> list[tuple]:
    cores = os.cpu_count() or 1
    progress("IST_S: unavoidable work, builds at 1 and 2 processes, hashing, planning")
    floor, single, two = best_of_interleaved(  # figures 1 and 2: the runs of their ratios taken in turn
        args.repeats,
        ("floor", "ist_s", data, scratch),
        ("build", "ist_s", data, scratch, 1, 1),
        ("build", "ist_s", data, scratch, 2, 1),
        fresh_dir=scratch,
    )
    inflate_floor = best_of(args.repeats, "floor", "ist_s", data, scratch, "inflate", fresh_dir=scratch)
    default = best_of(args.repeats, "build", "ist_s", data, scratch, 1, min(4, cores), fresh_dir=scratch)
    hashed = best_of(args.repeats, "hash", "ist_s", data)
    plan = best_of(args.repeats, "plan", "ist_s", data)
    table = [
        ratio("1. build / unavoidable work (1 process, 1 thread)", single, floor, "<= 1.10"),
        ratio("   build as shipped (1 process, threads) / same", default, floor, "-"),
        ratio("   build / stricter floor (one inflate a mask, no PIL)", single, inflate_floor, "-"),
        ratio("2. unavoidable work on 1 core / build num_proc=2", floor, two, ">= 1.6"),
        ratio("   speed-up num_proc=2 vs 1 (1 thread each)", single, two, "-"),
        row(
            "   serial part: listing and pairing",
            plan["seconds"],
            "-",
            f"{plan['seconds']:.2f} s of {two['seconds']:.2f} s",
        ),
        row(
            "   hashing the inputs / build as shipped",
            hashed["seconds"] / default["seconds"],
            "-",
            f"{hashed['seconds']:.2f} s, unless no_checks",
        ),
        row(
            "3. Arrow bytes / member bytes",
            default["arrow_bytes"] / floor["member_bytes"],
            "<= 1.02",
            f"{default['arrow_bytes'] / 1e6:.1f} MB / {floor['member_bytes'] / 1e6:.1f} MB",
        ),
        row("4. peak RSS of a build (MB)", default["peak_rss_mb"], "<= 500", f"{default['rows']} rows"),
    ]
    if args.scale10:
        data10 = os.path.join(args.workdir, "ist_s_x10")
        if not os.path.exists(os.path.join(data10, "IST_Segmentation_labels.zip")):
            progress(f"writing 10x IST_S stand-ins to {data10}")
            _synthetic().write_stand_ins(data10, scale=10, progress=progress)
        warm(data10)
        progress("IST_S: a build and the unavoidable work at 10x")
        big = best_of(1, "build", "ist_s", data10, scratch, 1, min(4, cores), fresh_dir=scratch)
        big_floor = best_of(1, "floor", "ist_s", data10, scratch, fresh_dir=scratch)
        # The plain loop's own growth, measured alongside: how much of a growth is the machine's (on
        # this one, writing 2 GB into the page cache can cost more a byte than writing 200 MB).
        table += [
            row(
                "   peak RSS at 10x / at 1x",
                big["peak_rss_mb"] / default["peak_rss_mb"],
                "<= 1.10",
                f"{big['peak_rss_mb']:.0f} MB, {big['rows']} rows",
            ),
            row(
                "   build time at 10x / 10 x at 1x",
                big["seconds"] / (10 * default["seconds"]),
                "<= 1.10",
                f"{big['seconds']:.1f} s vs {default['seconds']:.2f} s: linear growth",
            ),
            row(
                "   unavoidable work at 10x / 10 x at 1x",
                big_floor["seconds"] / (10 * floor["seconds"]),
                "-",
                f"{big_floor['seconds']:.1f} s vs {floor['seconds']:.2f} s: the machine's part",
            ),
        ]

    progress("IST_S: decoded rows, Arrow and streaming")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    run_child("build", "ist_s", data, scratch, 1, min(4, cores))
    it = run_child("iterate", "ist_s", data, scratch, args.rows)
    rate = {key: it["rows"] / it[key] for key in ("bare", "indexed", "iterated", "streamed")}
    table += [
        row(
            "5. decoded ds[i] / bare PIL decode (speed)",
            rate["indexed"] / rate["bare"],
            ">= 0.85",
            f"{rate['indexed']:.0f} vs {rate['bare']:.0f} rows/s",
        ),
        row(
            "   decoded iteration / bare PIL decode",
            rate["iterated"] / rate["bare"],
            "-",
            f"{rate['iterated']:.0f} rows/s",
        ),
        row(
            "6. streaming / Arrow iteration (speed)",
            rate["streamed"] / rate["iterated"],
            ">= 0.8",
            f"{rate['streamed']:.0f} vs {rate['iterated']:.0f} rows/s",
        ),
    ]
    table += feed_figures(data, scratch, args.repeats)
    return table


def feed_figures(data: str, scratch: str, repeats: int) -> list[tuple]:
    try:
        import torch  # noqa: F401
    except ImportError:
        progress("skipped the training-feed figures: they need torch==2.13.0")
        return []
    progress(
        "IST_S: the training feed (DataLoader at 0 and 2 workers, float32 and uint8, each in turn with the limit loop)"
    )
    key = "images_per_second"
    runs = [
        ("float32", 0, ">= 0.85"),
        ("float32", 2, "-"),
        ("uint8", 2, ">= 1.6"),
        ("uint8+convert", 2, "-"),
    ]
    ratios, limits = [], []
    for source in ("arrow", "streaming"):
        for delivery, workers, goal in runs:
            feed, limit = best_of_interleaved(
                repeats, ("feed", source, data, scratch, workers, delivery), ("feed_limit", data, scratch)
            )
            ratios.append(ratio(f"   {source}, {delivery}, num_workers={workers} / limit", feed, limit, goal, key))
            limits.append(limit[key])
    size = f"{TRAINING_SIZE[1]}x{TRAINING_SIZE[0]}"
    limit = {key: max(limits)}
    table = [
        row(
            f"7. training-feed limit: bare loop, 1 core ({size})",
            limit[key],
            "images/s",
            f"DCT-scaled decode + resize; {min(limits):.0f}-{max(limits):.0f} beside each figure",
        ),
        *ratios,
    ]
    for delivery in ("float32", "uint8"):
        alone = best_of(repeats, "handover", delivery, 2)
        table.append(
            row(
                f"   hand-over alone, {delivery}, num_workers=2 / limit",
                alone[key] / limit[key],
                "-",
                f"{alone[key]:.2f}/s: ready arrays, nothing decoded",
            )
        )
    progress("IST_S: streaming the Hub export (Parquet) against streaming the Arrow cache")
    export_dir = os.path.join(scratch, "export")
    run_child("export", data, scratch, export_dir)
    parquet, arrow_stream = best_of_interleaved(
        repeats, ("feed", "parquet", export_dir, scratch, 2), ("feed", "arrow-stream", data, scratch, 2)
    )
    table.append(ratio("8. streamed Parquet export / streamed Arrow (2 workers)", parquet, arrow_stream, ">= 0.9", key))
    return table


def coco_figures(args, scratch: str) -> list[tuple]:
    synthetic = _synthetic()
    sets = {}
    for scale, (labelled, members) in {
        "1x": (synthetic.COCO_LABELLED, synthetic.COCO_MEMBERS),
        "0.1x": (1469, 8278),
    }.items():
        folder = os.path.join(args.workdir, f"coco_ts_{scale}")
        if not os.path.exists(os.path.join(folder, "COCO_TS_labels.zip")):
            progress(f"writing COCO_TS stand-ins ({scale}: {members:,} members, {labelled:,} labelled) to {folder}")
            synthetic.write_coco_stand_ins(folder, labelled, members, progress=progress)
        warm(folder)
        sets[scale] = folder
    progress("COCO_TS: unavoidable work, build, listing, at 1x and 0.1x")
    # The two ratios with a goal, each from runs taken in turn (best of each); the rest from one run.
    threads = min(4, os.cpu_count() or 1)
    floor, build = best_of_interleaved(
        args.repeats,
        ("floor", "coco_ts", sets["1x"], scratch),
        ("build", "coco_ts", sets["1x"], scratch, 1, 1),
        fresh_dir=scratch,
    )
    shipped, small, ten_small = ten_small_builds_against_one(args.repeats, sets["1x"], sets["0.1x"], scratch, threads)
    inflate_floor = best_of(1, "floor", "coco_ts", sets["1x"], scratch, "inflate", fresh_dir=scratch)
    plan = best_of(1, "plan", "coco_ts", sets["1x"])
    progress("COCO_TS: streaming against Arrow iteration")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    run_child("build", "coco_ts", sets["1x"], scratch, 1, 2)
    it = run_child("iterate", "coco_ts", sets["1x"], scratch, max(args.rows, 2000))  # past the archive's opening
    return [
        ratio("9. COCO_TS build / unavoidable work (1 thread)", build, floor, "<= 1.15"),
        ratio("   build / stricter floor (one inflate a mask, no PIL)", build, inflate_floor, "-"),
        row(
            "   listing and pairing 82,783 members",
            plan["seconds"],
            "-",
            f"{plan['seconds']:.2f} s of {build['seconds']:.1f} s",
        ),
        row("   peak RSS of a build (MB)", shipped["peak_rss_mb"], "<= 500", f"{shipped['rows']:,} rows"),
        row(
            "   peak RSS at 1x / at 0.1x",
            shipped["peak_rss_mb"] / small["peak_rss_mb"],
            "<= 1.10",
            f"{small['peak_rss_mb']:.0f} MB at 0.1x",
        ),
        row(
            "   build time at 1x / ten builds at 0.1x",
            shipped["seconds"] / ten_small,
            "<= 1.10",
            f"{shipped['seconds']:.1f} s vs {ten_small:.1f} s",
        ),
        row(
            "   streaming / Arrow iteration (speed)",
            it["iterated"] / it["streamed"],
            ">= 0.8",
            f"{it['rows'] / it['streamed']:.0f} vs {it['rows'] / it['iterated']:.0f} rows/s",
        ),
    ]


def ten_small_builds_against_one(repeats: int, big: str, small: str, scratch: str, threads: int) -> tuple:
    """(best build of `big`, the smallest-footprint build of `small`, best total of ten builds of `small`
    run back to back), taken in turn `repeats` times. Ten small builds last as long as the big one, so
    both meet the machine's slow phases alike; the best single small build times ten did not (it read
    0.94-1.21 of the big build where ten back to back read 0.86-1.00)."""
    bigs, smalls, totals = [], [], []
    for _ in range(repeats):
        bigs += best_of_interleaved(1, ("build", "coco_ts", big, scratch, 1, threads), fresh_dir=scratch)
        ten = best_of_interleaved(1, *[("build", "coco_ts", small, scratch, 1, threads)] * 10, fresh_dir=scratch)
        smalls += ten
        totals.append(sum(result["seconds"] for result in ten))
    return min(bigs, key=_slowness), min(smalls, key=lambda result: result["peak_rss_mb"]), min(totals)


def _synthetic():
    from scene_text_seg import synthetic

    return synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", help="where stand-ins are written (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the stand-ins (and reuse them next time)")
    parser.add_argument("--scale10", action="store_true", help="also measure IST_S at 10x the pairs")
    parser.add_argument("--coco", action="store_true", help="also measure COCO_TS at its real member count")
    parser.add_argument("--rows", type=int, default=300, help="rows for the decoded-iteration figures")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="scene_text_seg_bench_")
    try:
        data = os.path.join(args.workdir, "ist_s_x1")
        if not os.path.exists(os.path.join(data, "IST_Segmentation_labels.zip")):
            progress(f"writing IST_S stand-ins to {data}")
            _synthetic().write_stand_ins(data, progress=progress)
        warm(data)
        scratch = os.path.join(args.workdir, "scratch")
        table = ist_s_figures(args, data, scratch)
        if args.coco:
            table += coco_figures(args, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
        else:
            shutil.rmtree(os.path.join(args.workdir, "scratch"), ignore_errors=True)

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, datasets {version('datasets')}")
    print(f"{'figure':58} {'value':>8}  {'goal':9} detail")
    for figure, value, goal, detail, missed in table:
        print(f"{figure:58} {value:8.2f}  {goal:9} {detail}{'   <-- MISSED' if missed else ''}")
    misses = sum(missed for *_, missed in table)
    print(f"{misses} figure(s) missed their goal" if misses else "every figure met its goal")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        result = CHILDREN[sys.argv[2]](*json.loads(sys.argv[3]))
        print(json.dumps({**result, "peak_rss_mb": own_peak_rss_mb()}))
    else:
        main()
