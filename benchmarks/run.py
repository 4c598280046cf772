"""Speed, memory and streaming benchmarks on realistic stand-ins; prints one table.

    python benchmarks/run.py [--workdir DIR] [--scale10] [--rows 300]

Every figure is a ratio of two things measured in the same run, since machines are noisy.
Timed parts run after a warm-up read, in fresh child processes where memory is measured.
"""

from __future__ import annotations

import argparse
import io
import json
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

# ---- what each child process measures ---------------------------------------------------------


def child_build(data_dir: str, cache_dir: str, num_proc: int, threads: int) -> dict:
    import ist_s
    from scene_text_seg import builder

    builder.EXAMPLE_THREADS = threads
    started = time.perf_counter()
    built = ist_s.prepare(data_dir, cache_dir=cache_dir, num_proc=num_proc, verification_mode="no_checks")
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


def child_hash(data_dir: str) -> dict:
    """What verification adds to a build: md5 of the image zips, sha256 of the labels zip."""
    import ist_s
    from scene_text_seg import inputs

    started = time.perf_counter()
    for spec in ist_s.IstS.SPEC.required_inputs().values():
        inputs.hash_file(os.path.join(data_dir, spec.filename), (spec.digest or "sha256:").split(":")[:1])
    return {"seconds": time.perf_counter() - started}


def child_floor(data_dir: str, out_dir: str) -> dict:
    """The unavoidable work: read every paired member, decode each mask once, write the bytes to Arrow."""
    import numpy as np
    import PIL.Image
    import pyarrow as pa

    import ist_s

    started = time.perf_counter()
    member_bytes = 0
    with zipfile.ZipFile(os.path.join(data_dir, "IST_Segmentation_labels.zip")) as labels:
        masks = {n: n.split("/")[-2] for n in labels.namelist() if n.endswith(".png")}
        for split, archive in (("train", "ch4_training_images.zip"), ("test", "ch4_test_images.zip")):
            schema = pa.schema(
                [
                    ("image_id", pa.string()),
                    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
                    ("mask", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
                    ("mask_classes", pa.list_(pa.int64())),
                ]
            )
            with (
                zipfile.ZipFile(os.path.join(data_dir, archive)) as images,
                pa.OSFile(os.path.join(out_dir, f"{split}.arrow"), "wb") as sink,
                pa.ipc.new_stream(sink, schema) as writer,
            ):
                batch = []
                for member, member_split in masks.items():
                    if member_split != split:
                        continue
                    name = member.rsplit("/", 1)[-1]
                    mask = labels.read(member)
                    image = images.read(name[:-4] + ".jpg")
                    values = np.asarray(PIL.Image.open(io.BytesIO(mask)))
                    present = [int(v) for v in np.flatnonzero(np.bincount(values.ravel(), minlength=256)) if v < 2]
                    member_bytes += len(mask) + len(image)
                    batch.append((name[:-4], {"bytes": image, "path": name}, {"bytes": mask, "path": name}, present))
                    if len(batch) == ist_s.IstS.DEFAULT_WRITER_BATCH_SIZE:
                        writer.write_batch(
                            pa.RecordBatch.from_pylist([dict(zip(schema.names, r, strict=True)) for r in batch], schema)
                        )
                        batch = []
                if batch:
                    writer.write_batch(
                        pa.RecordBatch.from_pylist([dict(zip(schema.names, r, strict=True)) for r in batch], schema)
                    )
    return {"seconds": time.perf_counter() - started, "member_bytes": member_bytes}


def child_iterate(data_dir: str, cache_dir: str, rows: int) -> dict:
    """Decoded rows: datasets (Arrow, then streaming) against a bare PIL decode of the same bytes."""
    import datasets
    import PIL.Image

    import ist_s

    arrow = ist_s.load(data_dir, split="train", cache_dir=cache_dir, verification_mode="no_checks")
    rows = min(rows, arrow.num_rows)
    raw = arrow.cast_column("image", datasets.Image(decode=False)).cast_column("mask", datasets.Image(decode=False))
    pairs = [(r["image"]["bytes"], r["mask"]["bytes"]) for r in raw.select(range(rows))]

    started = time.perf_counter()
    for image, mask in pairs:
        PIL.Image.open(io.BytesIO(image)).load()
        PIL.Image.open(io.BytesIO(mask)).load()
    bare = time.perf_counter() - started

    started = time.perf_counter()
    for index in range(rows):
        row = arrow[index]
        row["image"].load()
        row["mask"].load()
    indexed = time.perf_counter() - started

    started = time.perf_counter()
    for row in arrow.select(range(rows)):
        row["image"].load()
        row["mask"].load()
    iterated = time.perf_counter() - started

    stream = ist_s.load(data_dir, split="train", streaming=True)
    started = time.perf_counter()
    for row in stream.take(rows):
        row["image"].load()
        row["mask"].load()
    streamed = time.perf_counter() - started
    return {"rows": rows, "bare": bare, "indexed": indexed, "iterated": iterated, "streamed": streamed}


def child_loader(data_dir: str, cache_dir: str, rows: int) -> dict:
    """torch DataLoader images/s over Arrow and streaming, 0 and 2 workers, with the training transform."""
    import torch

    import ist_s

    def transform(batch):
        return ist_s.training_transform(batch, size=(360, 640))

    results = {}
    for source in ("arrow", "streaming"):
        for workers in (0, 2):
            if source == "arrow":
                dataset = ist_s.load(data_dir, split="train", cache_dir=cache_dir, verification_mode="no_checks")
                dataset = dataset.select(range(min(rows, dataset.num_rows)))
                dataset.set_transform(transform)
            else:
                dataset = ist_s.load(data_dir, split="train", streaming=True).take(rows)
                dataset = dataset.map(transform, batched=True, batch_size=8, remove_columns=["image", "mask"])
                dataset = dataset.select_columns(["pixel_values", "labels"]).with_format("torch")
            loader = torch.utils.data.DataLoader(dataset, batch_size=8, num_workers=workers)
            started = time.perf_counter()
            seen = sum(len(batch["labels"]) for batch in loader)
            results[f"{source}/{workers}"] = seen / (time.perf_counter() - started)
    return results


CHILDREN = {
    "hash": child_hash,
    "build": child_build,
    "floor": child_floor,
    "iterate": child_iterate,
    "loader": child_loader,
}


def run_child(name: str, *args) -> dict:
    """Run one measurement in a fresh process; adds its peak RSS in MB."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", name, json.dumps(args)], stdout=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"benchmark child {name} failed")
    result = json.loads(process.stdout.read().strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    return result


# ---- the table ----------------------------------------------------------------------------------


def best_of(repeats: int, name: str, *args, fresh_dir: str | None = None) -> dict:
    results = []
    for _ in range(repeats):
        if fresh_dir:
            shutil.rmtree(fresh_dir, ignore_errors=True)
            os.makedirs(fresh_dir)
        results.append(run_child(name, *args))
    return min(results, key=lambda r: r["seconds"])


def warm(data_dir: str) -> None:
    for name in os.listdir(data_dir):
        with open(os.path.join(data_dir, name), "rb") as f:
            while f.read(1 << 24):
                pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "ist_s_bench"))
    parser.add_argument("--scale10", action="store_true", help="also measure 10x the pairs (memory, time)")
    parser.add_argument("--rows", type=int, default=300, help="rows for the iteration and DataLoader figures")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from scene_text_seg.synthetic import write_stand_ins

    data = os.path.join(args.workdir, "x1")
    if not os.path.exists(os.path.join(data, "IST_Segmentation_labels.zip")):
        print(f"writing stand-ins to {data} ...", file=sys.stderr)
        write_stand_ins(data)
    warm(data)
    scratch = os.path.join(args.workdir, "scratch")

    floor = best_of(args.repeats, "floor", data, scratch, fresh_dir=scratch)
    cores = os.cpu_count() or 1
    single = best_of(args.repeats, "build", data, scratch, 1, 1, fresh_dir=scratch)
    two_procs = best_of(args.repeats, "build", data, scratch, 2, 1, fresh_dir=scratch)
    default = best_of(args.repeats, "build", data, scratch, 1, min(4, cores), fresh_dir=scratch)
    hashed = best_of(args.repeats, "hash", data)

    def time_ratio(figure: str, slow: dict, fast: dict, goal: str) -> tuple:
        return figure, slow["seconds"] / fast["seconds"], goal, f"{slow['seconds']:.2f} s / {fast['seconds']:.2f} s"

    table = [
        time_ratio("1. build / unavoidable work (1 process, 1 thread)", single, floor, "<= 1.25"),
        time_ratio("   build as shipped (1 process, threads) / same", default, floor, "-"),
        time_ratio("2. speed-up num_proc=2 vs 1 (1 thread each)", single, two_procs, ">= 1.6"),
        (
            "   hashing the inputs / build as shipped",
            hashed["seconds"] / default["seconds"],
            "-",
            f"{hashed['seconds']:.2f} s, before a build unless no_checks",
        ),
        (
            "3. Arrow bytes / member bytes",
            default["arrow_bytes"] / floor["member_bytes"],
            "<= 1.02",
            f"{default['arrow_bytes'] / 1e6:.1f} MB / {floor['member_bytes'] / 1e6:.1f} MB",
        ),
        ("4. peak RSS of a build (MB)", default["peak_rss_mb"], "<= 500", f"{default['rows']} rows"),
    ]
    if args.scale10:
        data10 = os.path.join(args.workdir, "x10")
        if not os.path.exists(os.path.join(data10, "IST_Segmentation_labels.zip")):
            print(f"writing 10x stand-ins to {data10} ...", file=sys.stderr)
            write_stand_ins(data10, scale=10)
        warm(data10)
        big = best_of(1, "build", data10, scratch, 1, min(4, cores), fresh_dir=scratch)
        table += [
            (
                "   peak RSS at 10x / at 1x",
                big["peak_rss_mb"] / default["peak_rss_mb"],
                "<= 1.10",
                f"{big['peak_rss_mb']:.0f} MB, {big['rows']} rows",
            ),
            (
                "   build time at 10x / 10 x at 1x",
                big["seconds"] / (10 * default["seconds"]),
                "~ 1",
                f"{big['seconds']:.1f} s: linear growth",
            ),
        ]

    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    run_child("build", data, scratch, 1, min(4, cores))
    it = run_child("iterate", data, scratch, args.rows)
    rate = {key: it["rows"] / it[key] for key in ("bare", "indexed", "iterated", "streamed")}
    table += [
        (
            "5. decoded ds[i] / bare PIL decode (speed)",
            rate["indexed"] / rate["bare"],
            ">= 0.85",
            f"{rate['indexed']:.0f} vs {rate['bare']:.0f} rows/s",
        ),
        (
            "   decoded iteration / bare PIL decode",
            rate["iterated"] / rate["bare"],
            "-",
            f"{rate['iterated']:.0f} rows/s",
        ),
        (
            "6. streaming / Arrow iteration (speed)",
            rate["streamed"] / rate["iterated"],
            ">= 0.8",
            f"{rate['streamed']:.0f} vs {rate['iterated']:.0f} rows/s",
        ),
    ]
    try:
        loader = run_child("loader", data, scratch, args.rows)
        table += [
            (
                f"7. DataLoader {key.split('/')[0]}, num_workers={key.split('/')[1]}",
                value,
                "images/s",
                "640x360, batch 8",
            )
            for key, value in loader.items()
            if key != "peak_rss_mb"
        ]
    except SystemExit as e:
        print(f"skipped the DataLoader figures ({e}; needs torch==2.13.0)", file=sys.stderr)

    print(f"machine: {cores} cores, Python {sys.version.split()[0]}, datasets {version('datasets')}")
    print(f"{'figure':50} {'value':>8}  {'goal':9} detail")
    for figure, value, goal, detail in table:
        print(f"{figure:50} {value:8.2f}  {goal:9} {detail}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        print(json.dumps(CHILDREN[sys.argv[2]](*json.loads(sys.argv[3]))))
    else:
        main()
