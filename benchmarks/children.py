"""What each benchmark child process measures: one function a measurement, run in a fresh process.

    python benchmarks/children.py NAME '[json args]'     (what `measure.run_child` runs)

Each prints one JSON line: its figures and its own peak resident memory.
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import time
import zipfile
from collections.abc import Iterator

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import field
from benchmarks.floor import pixel_data, write_pairs

TRAINING_SIZE = (360, 640)  # (height, width) the training-feed figures resize to


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

    width = struct.unpack(">I", png[16:20])[0]
    return np.frombuffer(zlib.decompress(pixel_data(png)), np.uint8).reshape(-1, width + 1)[:, 1:]


def paired_members(dataset: str, data_dir: str) -> Iterator[tuple[zipfile.ZipFile, str, zipfile.ZipFile, str]]:
    """(labels zip, mask member, images zip, image member) of every labelled pair, paired plainly: by
    lower-cased stem within the split its label's folder names (the only split when there is one)."""
    from scene_text_seg import layout

    spec = _module(dataset).SPEC
    inputs = spec.required_inputs()
    opened = {role: zipfile.ZipFile(os.path.join(data_dir, inputs[role].filename)) for role in inputs}
    by_split = {split: {} for split in spec.split_images}
    for split, roles in spec.split_images.items():
        for role in roles:
            for name in opened[role].namelist():
                by_split[split][name.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()] = (opened[role], name)
    labels = opened[spec.labels_role]
    splits = tuple(spec.split_images)
    try:
        for member in labels.namelist():
            if not member.lower().endswith(".png") or layout.is_junk(member):
                continue
            split = splits[0] if len(splits) == 1 else layout.split_of(member, spec.split_words)
            found = by_split.get(split, {}).get(member.rsplit("/", 1)[-1][:-4].lower())
            if found is not None:
                yield labels, member, *found
    finally:
        for archive in opened.values():
            archive.close()


def child_floor(dataset: str, data_dir: str, out_dir: str) -> dict:
    """The floor every build is measured against: one core, a plain loop that reads every paired member
    (zipfile), inflates each mask's pixel data once with the fastest inflate installed (zlib-ng when it
    is there, as the build uses), takes a max over the bytes, and writes all the bytes to one file,
    synced to disk at the end. Nothing is checked, nothing goes through Arrow."""
    started = time.perf_counter()
    pairs = (
        (images.read(image_member), labels.read(mask_member))
        for labels, mask_member, images, image_member in paired_members(dataset, data_dir)
    )
    written = write_pairs(pairs, out_dir)
    return {"seconds": time.perf_counter() - started, **written}


def child_pil_loop(dataset: str, data_dir: str, out_dir: str, decode: str = "pil") -> dict:
    """Context, no longer a goal's measure: a plain loop that reads every paired member, decodes each mask
    once and writes the bytes to Arrow. Pairs by stem over the label and image archives; no checks beyond
    the decode. `decode`: "pil" decodes each mask with PIL (the definition the goals were first set on);
    "inflate" only inflates it (`_mask_values`)."""
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
    "pil_loop": child_pil_loop,
    "iterate": child_iterate,
    "feed_limit": child_feed_limit,
    "feed": child_feed,
    "handover": child_handover,
    "export": child_export,
    **field.CHILDREN,  # the field's benchmarks: TextSeg's floor, evaluate's
}


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


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    result = CHILDREN[sys.argv[1]](*json.loads(sys.argv[2]))
    print(json.dumps({**result, "peak_rss_mb": own_peak_rss_mb()}))
