"""The builder end to end on synthetic archives: counts, schema, every pixel, both input forms."""

import io
import os
import subprocess
import sys
import threading

import datasets
import numpy as np
import PIL.Image
import pytest

import ist_s
from scene_text_seg import builder, layout, synthetic
from scene_text_seg.errors import InvalidInputError
from tests.conftest import build, raw

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXPECTED_FEATURES = datasets.Features(
    {
        "image_id": datasets.Value("string"),
        "image": datasets.Image(),
        "mask": datasets.Image(),
        "mask_classes": datasets.Sequence(datasets.ClassLabel(names=["background", "text"])),
    }
)


@pytest.fixture(scope="module")
def built(zip_inputs, tmp_path_factory):
    data_dir, expected = zip_inputs
    cache = str(tmp_path_factory.mktemp("cache"))
    return build(data_dir, cache), build(data_dir, cache, config="with_unlabeled"), expected


def test_rows_are_the_labelled_images_in_numeric_order(built):
    default, with_unlabeled, expected = built
    for split, items in expected.items():
        assert default[split]["image_id"] == [k for k, v in items.items() if v.mask is not None]
        assert with_unlabeled[split]["image_id"] == list(items)
    assert with_unlabeled["train"]["image_id"][:12] == [f"img_{n}" for n in range(1, 13)]  # img_10 after img_9
    # Train and test reuse names: the split, not the name, tells them apart.
    assert set(default["train"]["image_id"]) & set(default["test"]["image_id"])


def test_label_constants():
    assert ist_s.CLASS_NAMES == ["background", "text"]
    assert ist_s.ID2LABEL == {0: "background", 1: "text"}
    assert ist_s.IGNORE_INDEX == 255


def test_every_mask_pixel_and_class_list(built):
    default, _, expected = built
    modes_seen = set()
    for split in ("train", "test"):
        for row in default[split]:
            item = expected[split][row["image_id"]]
            modes_seen.add(item.mask_mode)
            assert row["mask"].mode == "L"
            np.testing.assert_array_equal(np.asarray(row["mask"]), item.mask)
            present = sorted(v for v in np.unique(item.mask) if v != ist_s.IGNORE_INDEX)
            assert row["mask_classes"] == present
    assert modes_seen == {"L", "P", "1", "P2"}


def test_image_sits_on_the_mask_grid(built):
    """Decoded through datasets.Image (which applies EXIF orientation), the bright word is where the mask says text."""
    default, _, expected = built
    cases = set()
    for split in ("train", "test"):
        for row in default[split]:
            item = expected[split][row["image_id"]]
            cases.add((item.orientation, item.grid))
            image = np.asarray(row["image"].convert("L"), dtype=float)
            mask = np.asarray(row["mask"])
            assert image.shape == mask.shape
            assert image[mask == 1].mean() > 180 > 90 > image[mask == 0].mean()
    assert {(6, "raw"), (6, "oriented"), (3, "raw"), (8, "oriented"), (None, "raw")} <= cases


def test_image_bytes_pass_through(built):
    default, with_unlabeled, expected = built
    neutralised = 0
    for dataset in (default, with_unlabeled):
        for split in ("train", "test"):
            for row in raw(dataset[split]):
                item = expected[split][row["image_id"]]
                stored = row["image"]["bytes"]
                if item.orientation is None or item.grid in (None, "oriented"):
                    assert stored == item.photo
                    continue
                # Raw-grid mask: only the Orientation value changed; the pixels are the same.
                neutralised += 1
                assert len(stored) == len(item.photo)
                assert sum(a != b for a, b in zip(stored, item.photo, strict=True)) == 1
                assert PIL.Image.open(io.BytesIO(stored)).getexif()[0x0112] == 1
                np.testing.assert_array_equal(
                    np.asarray(PIL.Image.open(io.BytesIO(stored))), np.asarray(PIL.Image.open(io.BytesIO(item.photo)))
                )
    assert neutralised > 0


@pytest.mark.parametrize("streaming", [False, True], ids=["arrow", "streaming"])
def test_files_named_like_members_in_the_working_folder_change_nothing(zip_inputs, tmp_path, monkeypatch, streaming):
    """datasets.Image keeps only the path of a value whose path names a file from the working folder: a
    folder holding an img_1.jpg (or .png) must not turn rows into references to it."""
    data_dir, expected = zip_inputs
    monkeypatch.chdir(tmp_path)
    for name in ("img_1.jpg", "img_1.png", "img_2.jpg", "img_2.png"):
        (tmp_path / name).write_bytes(b"not the member")
    if streaming:
        rows = list(
            ist_s.load(data_dir, split="train", streaming=True)
            .cast_column("image", datasets.Image(decode=False))
            .cast_column("mask", datasets.Image(decode=False))
        )
    else:
        rows = raw(build(data_dir, str(tmp_path / "cache"))["train"])
    assert {"img_1", "img_2"} <= {row["image_id"] for row in rows}
    for row in rows:
        assert row["image"]["bytes"] is not None and row["mask"]["bytes"] is not None, row["image_id"]
        item = expected["train"][row["image_id"]]
        mask = np.asarray(PIL.Image.open(io.BytesIO(row["mask"]["bytes"])))
        np.testing.assert_array_equal(mask, item.mask)


def test_datasets_leaves_the_family_modules_as_written(zip_inputs, tmp_path):
    """datasets patches a builder's modules so that a script can stream remote files (their `open`, `os.path`,
    `glob`, ..., importing scipy.io to do it); the family reads local inputs only and keeps the standard
    library's functions (`builder.read_locally`)."""
    import glob

    from scene_text_seg import builder as engine

    data_dir, _ = zip_inputs
    assert next(iter(ist_s.load(data_dir, split="train", streaming=True)))["image_id"]
    assert build(data_dir, str(tmp_path / "cache"))["train"].num_rows
    for module in (engine, sys.modules[ist_s.IstS.__module__]):
        assert "open" not in vars(module), module.__name__
    assert engine.os is os and engine.glob is glob


def test_with_unlabeled_keeps_every_image(built):
    _, with_unlabeled, expected = built
    for split in ("train", "test"):
        for row in with_unlabeled[split]:
            item = expected[split][row["image_id"]]
            if item.mask is None:
                assert row["mask"] is None and row["mask_classes"] == []
                assert row["image"] is not None
            else:
                np.testing.assert_array_equal(np.asarray(row["mask"]), item.mask)


def test_zip_and_folder_inputs_give_identical_datasets(zip_inputs, folder_inputs, cache_dir):
    for config in ("default", "with_unlabeled"):
        from_zip = build(zip_inputs[0], cache_dir, config=config)
        from_folder = build(folder_inputs[0], cache_dir, config=config)
        for split in ("train", "test"):
            assert raw(from_zip[split]) == raw(from_folder[split])


def test_rows_per_record_batch_hold_about_five_megabytes_of_photos(tmp_path):
    sizes = [100_000] * 64 + [1] * 64
    for n, size in enumerate(sizes):
        (tmp_path / f"img_{n}.jpg").write_bytes(b"x" * size)
    pairs = [layout.Pair(f"img_{n}", f"img_{n}.jpg", None) for n in range(len(sizes))]
    paths = {"": str(tmp_path)}
    assert builder.rows_per_record_batch(pairs[:64], paths, 32) == (5 << 20) // 100_000 == 52
    # photos spread over the split are sized, not its first: here half large, half tiny
    assert builder.rows_per_record_batch(pairs, paths, 32) == int((5 << 20) // 50_000.5) == 104
    assert builder.rows_per_record_batch(pairs[64:], paths, 32) == 256  # tiny photos: 8 times the least
    (tmp_path / "large.jpg").write_bytes(b"x" * 400_000)
    assert builder.rows_per_record_batch([layout.Pair("large", "large.jpg", None)], paths, 32) == 32  # the least
    assert builder.rows_per_record_batch([], paths, 32) == 32
    for least in (0, 2.0, True, "32"):
        with pytest.raises(ValueError, match=r"^least: expected an int of at least 1, found "):
            builder.rows_per_record_batch(pairs, paths, least)
    with pytest.raises(InvalidInputError, match=r"^photos/gone\.jpg: cannot be read"):
        builder.rows_per_record_batch([layout.Pair("gone", "gone.jpg", None)], {"": str(tmp_path / "photos")}, 32)


def _record_batch_rows(dataset):
    return max(batch.num_rows for batch in dataset.data.table.to_batches())  # the last of a job's holds what is left


def test_record_batches_follow_the_photos_size_unless_the_caller_sets_them(zip_inputs, tmp_path, monkeypatch):
    data_dir, expected = zip_inputs
    photos = [item.photo for item in expected["train"].values() if item.mask is not None]
    mean = sum(len(photo) for photo in photos[: builder.PHOTOS_SIZED]) / len(photos[: builder.PHOTOS_SIZED])
    monkeypatch.setattr(builder, "RECORD_BATCH_BYTES", int(mean * 3.5))  # 3 of the stand-ins' small photos
    monkeypatch.setattr(ist_s.IstS, "DEFAULT_WRITER_BATCH_SIZE", 2)
    assert len(photos) > 4
    assert _record_batch_rows(build(data_dir, str(tmp_path / "sized"))["train"]) == 3
    assert _record_batch_rows(build(data_dir, str(tmp_path / "forked"), num_proc=2)["train"]) == 3  # each job's
    chosen = ist_s.IstS(data_dir=data_dir, cache_dir=str(tmp_path / "chosen"), writer_batch_size=4)
    chosen.download_and_prepare(verification_mode="no_checks")
    assert _record_batch_rows(chosen.as_dataset("train")) == 4


def test_shards_are_contiguous_and_cover_the_split():
    pairs = [layout.Pair(f"img_{n}", f"img_{n}.jpg", None) for n in range(1, 1001)]
    shards = layout.shard(pairs)
    assert len(shards) == 16
    assert [p for s in shards for p in s] == pairs
    assert len(layout.shard(pairs[:3])) == 2
    assert len(layout.shard(pairs[:1])) == 1


def test_the_heap_is_thawed_after_an_error_while_forking():
    import gc

    from scene_text_seg import memory

    frozen_before = gc.get_freeze_count() > 0
    gc.unfreeze()
    try:
        with pytest.raises(RuntimeError, match="a build process died"):
            with memory.frozen_while_forking(True):
                assert gc.get_freeze_count() > 0
                raise RuntimeError("a build process died")
        assert gc.get_freeze_count() == 0
    finally:
        if frozen_before:
            gc.freeze()


def test_the_heap_is_frozen_only_while_build_processes_are_forked(zip_inputs, tmp_path, monkeypatch):
    import gc

    seen = []
    prepare_split = datasets.GeneratorBasedBuilder._prepare_split

    def watched(self, *args, **kwargs):
        seen.append((kwargs.get("num_proc"), gc.get_freeze_count() > 0))
        return prepare_split(self, *args, **kwargs)

    monkeypatch.setattr(datasets.GeneratorBasedBuilder, "_prepare_split", watched)
    frozen_before = gc.get_freeze_count() > 0  # the suite freezes its own once torch is in
    gc.unfreeze()
    try:
        build(zip_inputs[0], str(tmp_path / "one"))
        two = build(zip_inputs[0], str(tmp_path / "two"), num_proc=2)
        assert gc.get_freeze_count() == 0  # thawed after
        gc.freeze()  # a process that froze its own is left as it is
        frozen = gc.get_freeze_count()
        build(zip_inputs[0], str(tmp_path / "three"), num_proc=2)
        assert (
            0 < gc.get_freeze_count() <= frozen
        )  # neither thawed nor frozen again (frozen objects may still be freed)
    finally:
        gc.unfreeze()
        if frozen_before:
            gc.freeze()
    assert seen == [(None, False)] * 2 + [(2, True)] * 2 + [(2, True)] * 2
    assert raw(two["train"]) == raw(build(zip_inputs[0], str(tmp_path / "one"))["train"])


def test_a_shard_goes_to_a_build_process_as_one_blob_and_comes_back_whole():
    import pickle

    import dill  # what datasets' process pool pickles a job's shards with

    pairs = [layout.Pair(f"img_{n}", f"img_{n}.jpg", f"gt_img_{n}.png", words={"n": [n]}) for n in range(1, 201)]
    for shard in layout.shard(pairs):
        rebuilt, arguments = shard.__reduce__()
        assert rebuilt is layout._unpickled_shard and [type(a) for a in arguments] == [bytes]
        for pickler in (pickle, dill):
            copy = pickler.loads(pickler.dumps(shard))
            assert type(copy) is layout.Shard and copy == shard and [p.words for p in copy] == [p.words for p in shard]
    # What only dill pickles (a lambda: AttributeError or PicklingError; a lock: TypeError) is left to it, pair by pair.
    for held in (lambda data: data, threading.Lock()):
        odd = layout.Shard([layout.Pair("img_1", "img_1.jpg", None, words={"held": held})])
        assert odd.__reduce__()[0] is layout.Shard
    odd = layout.Shard([layout.Pair("img_1", "img_1.jpg", None, words={"read": lambda data: data})])
    copy = dill.loads(dill.dumps(odd))
    assert type(copy) is layout.Shard and copy[0].image_id == "img_1" and copy[0].words["read"](7) == 7


def test_a_shard_copies_as_a_tuple_does():
    import copy

    shard = layout.shard([layout.Pair(f"img_{n}", f"img_{n}.jpg", None, words={"n": [n]}) for n in range(1, 5)])[0]
    assert copy.copy(shard) is shard  # immutable: not pickled through __reduce__
    (deep,) = copy.deepcopy([shard])
    assert type(deep) is layout.Shard and deep == shard and deep[0].words is not shard[0].words


def test_replaced_input_is_rebuilt_not_served_stale(tmp_path, cache_dir):
    data_dir = str(tmp_path / "inputs")
    first = synthetic.write_inputs(data_dir, seed=1)
    assert build(data_dir, cache_dir)["train"]["image_id"] == [k for k, v in first["train"].items() if v.grid]
    second = synthetic.write_inputs(data_dir, seed=2, n_train=5, unlabeled={"train": set(), "test": set()})
    rows = raw(build(data_dir, cache_dir)["train"])
    assert [r["image_id"] for r in rows] == list(second["train"])
    assert rows[0]["image"]["bytes"] == second["train"]["img_1"].photo


def test_what_planning_freed_is_handed_back_before_rows_are_made(zip_inputs, cache_dir, monkeypatch):
    from scene_text_seg import builder, memory

    events, make_example = [], builder.make_example
    monkeypatch.setattr(builder, "release_freed_memory", lambda: events.append("released"))
    monkeypatch.setattr(builder, "make_example", lambda *args, **kw: events.append("row") or make_example(*args, **kw))
    build(zip_inputs[0], cache_dir)
    assert events[0] == "released" and events.count("released") == 1 and "row" in events
    assert memory.release_freed_memory() is True  # glibc, as on every machine the tests run on


def test_a_system_without_a_c_library_to_ask_keeps_its_memory_as_it_is(monkeypatch):
    import ctypes

    from scene_text_seg import memory

    def no_c_library(name):
        raise TypeError(f"{name!r}: not on this system")  # what ctypes.CDLL(None) does on Windows

    monkeypatch.setattr(ctypes, "CDLL", no_c_library)
    assert memory.release_freed_memory() is False and memory.tune_allocator() is False


ABANDONED_GENERATOR = """
import sys, threading
sys.path.insert(0, {repo!r})
import ist_s
from scene_text_seg import builder, inputs, synthetic
synthetic.write_inputs({data!r})
config = ist_s.IstS.BUILDER_CONFIGS[0]
paths = inputs.locate_inputs(ist_s.SPEC, {data!r})
pairs = builder.plan(ist_s.SPEC, paths, config)["train"]
b = ist_s.IstS(data_dir={data!r}, cache_dir={cache!r})
rows = b._generate_examples([tuple(pairs)], {{"train_images": paths["train_images"]}}, paths["labels"])
next(rows)
# What the garbage collector does to a generator a failed build left behind, when it runs inside threading's
# bookkeeping (a thread starting, threading._shutdown_locks_lock held): close it there.
with threading._shutdown_locks_lock:
    rows.close()
print("closed")
"""


def test_a_build_left_unfinished_is_closed_without_waiting_for_its_threads(tmp_path):
    code = ABANDONED_GENERATOR.format(repo=REPO, data=str(tmp_path / "in"), cache=str(tmp_path / "cache"))
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("closing an unfinished build's rows under threading's lock deadlocked")
    assert done.returncode == 0 and done.stdout.strip() == "closed", done.stderr[-2000:]
