"""Into trainers: worker and node sharding, the training transform and its options, any mix of rows
collating, the metrics against hand-computed cases (the docs' recipes run in test_docs.py)."""

import numpy as np
import pytest
from datasets.distributed import split_dataset_by_node

import ist_s
from scene_text_seg import layout
from tests.conftest import build


def test_split_by_node_gives_disjoint_halves_that_make_the_split(zip_inputs):
    streamed = ist_s.load(zip_inputs[0], split="train", streaming=True, config="with_unlabeled")
    everything = [row["image_id"] for row in streamed]
    halves = [[row["image_id"] for row in split_dataset_by_node(streamed, rank, 2)] for rank in (0, 1)]
    assert halves[0] and halves[1] and set(halves[0]).isdisjoint(halves[1])
    assert sorted(halves[0] + halves[1], key=layout.natural_key) == everything


def test_training_transform_follows_the_segmentation_convention(zip_inputs, cache_dir):
    _, expected = zip_inputs
    train = build(zip_inputs[0], cache_dir, config="with_unlabeled")["train"]
    photos = [np.asarray(image.convert("RGB"), np.float32) for image in train["image"]]
    train.set_transform(ist_s.training_transform)
    for index, image_id in enumerate(expected["train"]):
        row, item = train[index], expected["train"][image_id]
        pixels, labels = row["pixel_values"], row["labels"]
        assert pixels.dtype == np.float32 and pixels.shape[0] == 3 and 0 <= pixels.min() <= pixels.max() <= 1
        np.testing.assert_allclose(pixels, photos[index].transpose(2, 0, 1) / 255, rtol=1e-6)  # channels in order
        assert labels.dtype == np.int64 and labels.shape == pixels.shape[1:]
        if item.mask is None:
            assert (labels == ist_s.IGNORE_INDEX).all()
        else:
            np.testing.assert_array_equal(labels, item.mask)  # 255 kept as the ignore index
    assert any((train[i]["labels"] == 255).any() for i in range(len(expected["train"])))


def test_training_transform_resizes_labels_without_inventing_values(zip_inputs, cache_dir):
    train = build(zip_inputs[0], cache_dir)["train"]
    train.set_transform(lambda batch: ist_s.training_transform(batch, size=(48, 80)))
    for row in train:
        assert row["pixel_values"].shape == (3, 48, 80) and row["labels"].shape == (48, 80)
        assert set(np.unique(row["labels"])) <= {0, 1, 255}


def test_streaming_map_gives_what_set_transform_gives(zip_inputs, cache_dir):
    arrow = build(zip_inputs[0], cache_dir)["test"]
    arrow.set_transform(ist_s.training_transform)
    streamed = ist_s.load(zip_inputs[0], split="test", streaming=True)
    mapped = streamed.map(ist_s.training_transform, batched=True, batch_size=4, remove_columns=["image", "mask"])
    for index, row in enumerate(mapped):
        np.testing.assert_array_equal(row["pixel_values"], arrow[index]["pixel_values"])
        np.testing.assert_array_equal(row["labels"], arrow[index]["labels"])


@pytest.mark.training_stack
def test_dataloader_workers_read_every_streamed_example_exactly_once(zip_inputs):
    torch = pytest.importorskip("torch")
    streamed = ist_s.load(zip_inputs[0], split="train", streaming=True, config="with_unlabeled")
    assert streamed.num_shards >= 2
    ids = streamed.select_columns(["image_id"])
    loader = torch.utils.data.DataLoader(ids, batch_size=3, num_workers=2, collate_fn=lambda rows: rows)
    seen = [row["image_id"] for batch in loader for row in batch]
    assert sorted(seen, key=layout.natural_key) == [row["image_id"] for row in ids]


@pytest.mark.training_stack
def test_dataloader_over_arrow_gives_trainer_tensors(zip_inputs, cache_dir):
    torch = pytest.importorskip("torch")
    train = build(zip_inputs[0], cache_dir)["train"]
    train.set_transform(lambda batch: ist_s.training_transform(batch, size=(24, 40)))
    batch = next(iter(torch.utils.data.DataLoader(train, batch_size=4, num_workers=2)))
    assert batch["pixel_values"].dtype == torch.float32 and tuple(batch["pixel_values"].shape) == (4, 3, 24, 40)
    assert batch["labels"].dtype == torch.int64 and tuple(batch["labels"].shape) == (4, 24, 40)


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory):
    """The demo's synthetic inputs: unlabeled photos (img_4, img_9) and text-free masks (img_5, img_11)."""
    folder = str(tmp_path_factory.mktemp("demo_inputs"))
    ist_s.write_demo_inputs(folder)
    return folder


def mixed_rows(demo_inputs, cache_dir, streaming):
    """with_unlabeled train rows 3-6 (labelled, unlabeled, text-free, labelled), Arrow or streamed."""
    dataset = ist_s.load(
        demo_inputs,
        split="train",
        streaming=streaming,
        config="with_unlabeled",
        cache_dir=cache_dir,
        verification_mode="no_checks",
    )
    return dataset.skip(2).take(4) if streaming else dataset.select(range(2, 6))


@pytest.mark.training_stack
@pytest.mark.parametrize("streaming", [False, True], ids=["arrow", "streaming"])
def test_any_mix_of_rows_collates_with_torch_and_transformers(demo_inputs, cache_dir, streaming):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    rows = ist_s.for_training(mixed_rows(demo_inputs, cache_dir, streaming), size=(90, 160))
    examples = list(rows)
    assert all(set(example) == {"pixel_values", "labels"} for example in examples)
    for collate in (torch.utils.data.default_collate, transformers.default_data_collator):
        batch = collate(examples)
        assert batch["pixel_values"].dtype == torch.float32 and tuple(batch["pixel_values"].shape) == (4, 3, 90, 160)
        assert batch["labels"].dtype == torch.int64 and tuple(batch["labels"].shape) == (4, 90, 160)
        labels = batch["labels"]
        assert (labels[1] == 255).all()  # img_4: no mask
        assert (labels[2] == 0).all()  # img_5: a mask without text
        assert (labels[0] == 1).any() and (labels[3] == 1).any()
    loader = torch.utils.data.DataLoader(rows, batch_size=4, num_workers=2)  # streamed: the workers share 4 rows
    assert sum(len(batch["labels"]) for batch in loader) == 4


def test_normalisation_is_per_channel_mean_and_std(zip_inputs, cache_dir):
    train = build(zip_inputs[0], cache_dir)["train"]
    plain = ist_s.for_training(train)[0]["pixel_values"]
    normalised = ist_s.for_training(train, mean=ist_s.IMAGENET_MEAN, std=ist_s.IMAGENET_STD)[0]["pixel_values"]
    mean, std = np.array(ist_s.IMAGENET_MEAN)[:, None, None], np.array(ist_s.IMAGENET_STD)[:, None, None]
    np.testing.assert_allclose(normalised, (plain - mean) / std, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="both mean and std"):
        ist_s.TrainingTransform(mean=ist_s.IMAGENET_MEAN)


@pytest.mark.training_stack
def test_uint8_rows_on_the_device_are_what_the_float_transform_gives(demo_inputs, cache_dir):
    """uint8=True hands over uint8 CHW pixels and uint8 labels; DeviceFeed makes them what the default
    transform gives (float32 normalised, int64), for Arrow and streamed rows, through worker processes."""
    torch = pytest.importorskip("torch")
    norm = {"mean": ist_s.IMAGENET_MEAN, "std": ist_s.IMAGENET_STD}
    for streaming in (False, True):
        rows = mixed_rows(demo_inputs, cache_dir, streaming)  # with a row without a mask and a text-free one
        small = ist_s.for_training(rows, size=(90, 160), uint8=True)
        example = next(iter(small))
        assert example["pixel_values"].dtype == np.uint8 and example["pixel_values"].shape == (3, 90, 160)
        assert example["labels"].dtype == np.uint8 and example["labels"].shape == (90, 160)
        loader = torch.utils.data.DataLoader(small, batch_size=2, num_workers=0 if streaming else 2)
        feed = ist_s.DeviceFeed(loader, "cpu", **norm)
        expected = torch.utils.data.default_collate(list(ist_s.for_training(rows, size=(90, 160), **norm)))
        got = list(feed)
        pixels = torch.cat([batch["pixel_values"] for batch in got])
        labels = torch.cat([batch["labels"] for batch in got])
        assert pixels.dtype == torch.float32 and labels.dtype == torch.int64
        torch.testing.assert_close(pixels, expected["pixel_values"], rtol=0, atol=2e-6)
        torch.testing.assert_close(labels, expected["labels"], rtol=0, atol=0)
        assert (labels == ist_s.IGNORE_INDEX).any() and (labels == 1).any()
        if not streaming:
            assert len(feed) == len(loader) == 2
    plain = next(iter(ist_s.DeviceFeed(loader)))["pixel_values"]  # without mean/std: [0, 1]
    assert 0 <= plain.min() < plain.max() <= 1
    float_batch = {"pixel_values": torch.ones(1, 3, 2, 2), "labels": torch.zeros(1, 2, 2, dtype=torch.int64)}
    assert torch.equal(ist_s.DeviceFeed([], **norm).convert(float_batch)["pixel_values"], float_batch["pixel_values"])
    with pytest.raises(ValueError, match="give both mean and std"):
        ist_s.DeviceFeed([], mean=ist_s.IMAGENET_MEAN)


def test_a_batch_is_one_array_when_its_rows_agree_in_size_and_lists_otherwise(zip_inputs, cache_dir):
    import PIL.Image

    train = build(zip_inputs[0], cache_dir)["train"]
    for uint8 in (False, True):
        transform = ist_s.TrainingTransform(size=(24, 40), uint8=uint8)
        together = transform(train[:3])
        assert isinstance(together["pixel_values"], np.ndarray) and together["pixel_values"].shape == (3, 3, 24, 40)
        assert together["labels"].shape == (3, 24, 40)
        for index in range(3):  # each row what the row alone gives
            alone = transform(train[index : index + 1])
            np.testing.assert_array_equal(together["pixel_values"][index], alone["pixel_values"][0])
            np.testing.assert_array_equal(together["labels"][index], alone["labels"][0])
    sizes = {"image": [PIL.Image.new("RGB", (4, 3), (255, 0, 0)), PIL.Image.new("RGB", (5, 2))], "mask": [None, None]}
    apart = ist_s.TrainingTransform()(sizes)
    assert [p.shape for p in apart["pixel_values"]] == [(3, 3, 4), (3, 2, 5)]
    assert (apart["pixel_values"][0][0] == 1).all() and (apart["pixel_values"][0][1:] == 0).all()
    assert all((labels == ist_s.IGNORE_INDEX).all() and labels.dtype == np.int64 for labels in apart["labels"])
    masks = [PIL.Image.new("L", (4, 3), 1), PIL.Image.new("L", (2, 2), 1)]  # same photos, a mask on another grid
    with pytest.raises(ValueError, match=r"'mask' is 2x2, its image 4x3: a mask must be on its image's pixel grid"):
        ist_s.TrainingTransform()({"image": [PIL.Image.new("RGB", (4, 3))] * 2, "mask": masks})  # never misaligned


@pytest.mark.training_stack
def test_freed_memory_is_kept_for_the_next_row_where_rows_are_decoded(zip_inputs, cache_dir, monkeypatch):
    """Pillow's block cache in any process that runs the transform, glibc's thresholds only in DataLoader
    workers; what the environment sets is left alone."""
    import PIL.Image

    torch = pytest.importorskip("torch")

    from scene_text_seg import memory

    train = ist_s.for_training(build(zip_inputs[0], cache_dir)["train"], size=(24, 40))
    tuned, original = [], memory.tune_allocator
    monkeypatch.setattr(memory, "tune_allocator", lambda: tuned.append(original()) or tuned[-1])
    for name in ("PILLOW_BLOCKS_MAX", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)

    class Rows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 1

        def __getitem__(self, index: int) -> tuple:
            train[index]  # the transform runs in the worker
            return PIL.Image.core.get_blocks_max(), list(tuned)

    chosen = PIL.Image.core.get_blocks_max()
    try:
        PIL.Image.core.set_blocks_max(0)  # Pillow's default
        monkeypatch.setattr(memory, "_kept_in_process", None)
        train[:2]
        assert PIL.Image.core.get_blocks_max() == memory.IMAGE_BLOCKS_KEPT
        assert tuned == []  # the training process's allocator is not touched
        PIL.Image.core.set_blocks_max(0)
        blocks, in_worker = next(iter(torch.utils.data.DataLoader(Rows(), batch_size=None, num_workers=1)))
        assert blocks == memory.IMAGE_BLOCKS_KEPT and in_worker == [True]  # glibc took both thresholds
        PIL.Image.core.set_blocks_max(memory.IMAGE_BLOCKS_KEPT + 5)
        monkeypatch.setattr(memory, "_kept_in_process", None)
        train[:2]
        assert PIL.Image.core.get_blocks_max() == memory.IMAGE_BLOCKS_KEPT + 5  # raised, never lowered
        monkeypatch.setenv("PILLOW_BLOCKS_MAX", "0")
        monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
        PIL.Image.core.set_blocks_max(0)
        blocks, in_worker = next(iter(torch.utils.data.DataLoader(Rows(), batch_size=None, num_workers=1)))
        assert blocks == 0 and in_worker == []  # the user's choices stand
    finally:
        PIL.Image.core.set_blocks_max(chosen)


@pytest.mark.training_stack
def test_collate_takes_a_batch_the_transform_made_whole_and_otherwise_collates_as_torch_does(zip_inputs, cache_dir):
    torch = pytest.importorskip("torch")
    default_collate = torch.utils.data.default_collate

    train = build(zip_inputs[0], cache_dir)["train"]
    for uint8 in (False, True):
        ready = ist_s.for_training(train, size=(24, 40), uint8=uint8)
        rows = ready.__getitems__([0, 1, 2, 3])  # what a DataLoader fetches for a batch of 4
        batch, expected = ist_s.collate(rows), default_collate(rows)
        assert batch.keys() == expected.keys() == {"pixel_values", "labels"}
        for key in batch:
            assert batch[key].dtype == expected[key].dtype and torch.equal(batch[key], expected[key])
            assert np.shares_memory(batch[key].numpy(), rows[0][key])  # the transform's array, not a copy
        apart = [*ready.__getitems__([0, 1]), *ready.__getitems__([2, 3])]  # two arrays
        for mixed in (apart, rows[::-1], rows[:3]):  # rows of two arrays, out of order, not all of them
            batch, expected = ist_s.collate(mixed), default_collate(mixed)
            assert not np.shares_memory(batch["pixel_values"].numpy(), mixed[0]["pixel_values"])
            assert all(torch.equal(batch[key], expected[key]) for key in expected)
    loaders = [
        torch.utils.data.DataLoader(ready, batch_size=4, num_workers=w, collate_fn=c)
        for w, c in ((0, None), (1, ist_s.collate))
    ]
    for ours, torchs in zip(*loaders, strict=True):  # in a worker it is torch's collate
        assert all(torch.equal(ours[key], torchs[key]) for key in torchs)
    assert ist_s.collate([1, 2]).tolist() == [1, 2]  # not rows of a transform: torch's collate


@pytest.mark.training_stack
def test_uint8_rows_refuse_what_would_normalise_them_twice(zip_inputs, cache_dir):
    with pytest.raises(ValueError, match="give mean/std to DeviceFeed"):
        ist_s.TrainingTransform(size=(8, 8), uint8=True, mean=ist_s.IMAGENET_MEAN, std=ist_s.IMAGENET_STD)
    with pytest.raises(ValueError, match="give mean/std to DeviceFeed"):
        ist_s.TrainingTransform(uint8=True, image_processor=object())
    train = build(zip_inputs[0], cache_dir)["train"]
    floats = ist_s.for_training(train, augment=lambda image, mask: {"image": image / 255.0, "mask": mask})
    with pytest.raises(ValueError, match="augment must return the image as uint8 HWC"):
        floats[0]


def test_augment_sees_image_and_labels_together(zip_inputs, cache_dir):
    _, expected = zip_inputs
    seen = []

    def flip(image, mask):
        seen.append((image.dtype, image.shape, mask.dtype, mask.shape))
        return {"image": image[:, ::-1], "mask": mask[:, ::-1]}

    train = build(zip_inputs[0], cache_dir, config="with_unlabeled")["train"]
    rows = list(ist_s.for_training(train, augment=flip))
    for row, item in zip(rows, expected["train"].values(), strict=True):
        if item.mask is None:
            assert (row["labels"] == 255).all()
        else:
            np.testing.assert_array_equal(row["labels"], item.mask[:, ::-1])
    assert all(
        image == np.uint8 and mask == np.uint8 and shape[:2] == mask_shape for image, shape, mask, mask_shape in seen
    )


@pytest.mark.training_stack
def test_image_processor_keeps_the_ignore_index(zip_inputs, cache_dir):
    transformers = pytest.importorskip("transformers")
    processor = transformers.SegformerImageProcessor(do_reduce_labels=False, size={"height": 32, "width": 32})
    train = build(zip_inputs[0], cache_dir, config="with_unlabeled")["train"]
    rows = list(ist_s.for_training(train, image_processor=processor))
    assert all(row["pixel_values"].shape == (3, 32, 32) and row["labels"].shape == (32, 32) for row in rows)
    assert set(np.unique(np.stack([row["labels"] for row in rows]))) == {0, 1, 255}
    assert (rows[3]["labels"] == 255).all()  # img_4 has no mask
    with pytest.raises(ValueError, match="do_reduce_labels=False"):
        ist_s.TrainingTransform(image_processor=transformers.SegformerImageProcessor(do_reduce_labels=True))


def test_undecoded_rows_give_what_decoded_rows_give(zip_inputs, cache_dir):
    """Rows as datasets decodes them (PIL images) and rows left as bytes (what for_training reads, the
    builder's masks then inflated directly) give the same arrays."""
    train = build(zip_inputs[0], cache_dir, config="with_unlabeled")["train"]
    transform = ist_s.TrainingTransform()
    undecoded = ist_s.for_training(train)
    for index in range(len(train)):
        decoded_row, raw_row = transform(train[index : index + 1]), undecoded[index]
        np.testing.assert_array_equal(decoded_row["pixel_values"][0], raw_row["pixel_values"])
        np.testing.assert_array_equal(decoded_row["labels"][0], raw_row["labels"])


def test_stored_masks_are_inflated_directly_and_every_other_png_decodes_as_pil_decodes_it(zip_inputs, cache_dir):
    import io
    import struct
    import zlib

    import datasets
    import PIL.Image

    from scene_text_seg import pixels, transform

    train = build(zip_inputs[0], cache_dir)["train"].cast_column("mask", datasets.Image(decode=False))
    stored = [mask["bytes"] for mask in train["mask"] if mask is not None]
    directly = [png for png in stored if pixels.unfiltered_grey_pixels(png) is not None]
    assert 0 < len(directly) < len(stored)  # palette sources' rows are unfiltered, PIL's grey ones filtered
    for png in stored:
        expected = np.asarray(PIL.Image.open(io.BytesIO(png)))
        np.testing.assert_array_equal(np.asarray(transform.decode_mask({"bytes": png, "path": None})), expected)
        if png in directly:
            np.testing.assert_array_equal(pixels.unfiltered_grey_pixels(png), expected)

    values = np.random.default_rng(2).choice(np.array([0, 1, 255], np.uint8), (30, 50))
    rows = b"".join(b"\x00" + values[y].tobytes() for y in range(30))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    def grey_png(stream: bytes, *extra: bytes) -> bytes:
        header = chunk(b"IHDR", struct.pack(">IIBBBBB", 50, 30, 8, 0, 0, 0, 0))
        return pixels.PNG_SIGNATURE + header + b"".join(extra) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")

    def saved(image: PIL.Image.Image, **options) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "PNG", **options)
        return buffer.getvalue()

    exif = PIL.Image.Exif()
    exif[pixels.EXIF_ORIENTATION] = 6
    unfiltered = grey_png(zlib.compress(rows))
    others = {
        "filtered rows": saved(PIL.Image.fromarray(values)),  # PIL filters grey rows adaptively
        "a text chunk": grey_png(zlib.compress(rows), chunk(b"tEXt", b"Comment\x00hello")),
        "an EXIF orientation": saved(PIL.Image.fromarray(values), exif=exif.tobytes()),
        "a palette": saved(PIL.Image.fromarray(values).convert("P")),
        "16-bit samples": saved(PIL.Image.fromarray(values.astype(np.uint16))),
        "a stream that ends early": grey_png(zlib.compress(rows[:-51])),
        "a stream too long": grey_png(zlib.compress(rows + b"\x00" * 51)),
    }
    assert pixels.unfiltered_grey_pixels(unfiltered) is not None
    np.testing.assert_array_equal(np.asarray(transform.decode_mask({"bytes": unfiltered, "path": None})), values)
    for name, png in others.items():
        assert pixels.unfiltered_grey_pixels(png) is None, name
        try:
            expected = np.asarray(transform.decode_image({"bytes": png, "path": None}))
        except OSError as e:  # what PIL refuses, the training decode refuses alike
            with pytest.raises(type(e)):
                np.asarray(transform.decode_mask({"bytes": png, "path": None}))
            continue
        np.testing.assert_array_equal(np.asarray(transform.decode_mask({"bytes": png, "path": None})), expected, name)
    assert np.asarray(transform.decode_mask({"bytes": others["an EXIF orientation"], "path": None})).shape == (50, 30)


def test_resized_labels_are_what_pils_nearest_resize_gives(zip_inputs, cache_dir):
    import io
    import zlib

    import datasets
    import PIL.Image

    from scene_text_seg import pixels, transform

    def stored_png(values: np.ndarray) -> bytes:  # as the builder stores masks: grey, rows unfiltered
        rows = b"".join(b"\x00" + row.tobytes() for row in values)
        header = np.array(values.shape[::-1], ">u4").tobytes() + bytes([8, 0, 0, 0, 0])
        return pixels.minimal_grayscale_png(pixels.PngParts(header, zlib.compress(rows)))

    rng = np.random.default_rng(7)
    sources = [(720, 1280), (480, 640), (23, 37), (1, 1), (5, 3)]
    for height, width in sources:
        values = rng.choice(np.array([0, 1, 255], np.uint8), (height, width))
        png = stored_png(values)
        assert pixels.unfiltered_grey_pixels(png) is not None  # the cut, not PIL's fallback, is tested
        targets = {(360, 640), (height, width), (2 * height + 1, 3 * width), (7, 3), (1, 1)}
        targets |= {(max(1, height - 1), max(1, width - 1)), (max(1, height // 3), max(1, width // 2 + 1))}
        for target in targets:
            expected = np.asarray(PIL.Image.fromarray(values).resize(target[::-1], PIL.Image.Resampling.NEAREST))
            labels = transform.resized_labels({"bytes": png, "path": None}, target)
            np.testing.assert_array_equal(labels, expected, f"{width}x{height} to {target[1]}x{target[0]}")
    for source in range(1, 90):  # each axis on its own, every reduction and enlargement up to 90
        numbers = np.arange(source, dtype=np.int32)[np.newaxis, :]
        for target in range(1, 90):
            resized = PIL.Image.fromarray(numbers.astype(np.uint8)).resize((target, 1), PIL.Image.Resampling.NEAREST)
            np.testing.assert_array_equal(transform.nearest_indices(source, target), np.asarray(resized)[0])

    # Masks PIL must decode (filtered rows), rows without a mask, and the builder's masks in a training feed
    filtered = io.BytesIO()
    PIL.Image.fromarray(values).save(filtered, "PNG")
    assert pixels.unfiltered_grey_pixels(filtered.getvalue()) is None
    np.testing.assert_array_equal(
        transform.resized_labels({"bytes": filtered.getvalue(), "path": None}, (2, 2)),
        np.asarray(PIL.Image.fromarray(values).resize((2, 2), PIL.Image.Resampling.NEAREST)),
    )
    np.testing.assert_array_equal(transform.resized_labels(None, (4, 6)), np.full((4, 6), 255, np.uint8))
    train = build(zip_inputs[0], cache_dir)["train"]
    masks = [np.asarray(mask) for mask in train["mask"]]
    undecoded = train.cast_column("mask", datasets.Image(decode=False))["mask"]
    for mask, value in zip(masks, undecoded, strict=True):
        expected = np.asarray(PIL.Image.fromarray(mask).resize((80, 48), PIL.Image.Resampling.NEAREST))
        np.testing.assert_array_equal(transform.resized_labels(value, (48, 80)), expected)


# ---- metrics, against hand-computed cases ------------------------------------------------------------


def test_metrics_on_a_hand_computed_case():
    labels = np.array([[0, 1, 255], [1, 1, 0]])
    predictions = np.array([[0, 1, 1], [0, 1, 1]])
    # valid pixels: (l0,p0) (l1,p1) (l1,p0) (l1,p1) (l0,p1): tp text 2, fp text 1, fn text 1; background tp 1
    metrics = ist_s.segmentation_metrics(predictions, labels)
    assert metrics == pytest.approx(
        {
            "pixel_accuracy": 3 / 5,
            "mean_iou": (1 / 3 + 2 / 4) / 2,
            "iou_background": 1 / 3,
            "iou_text": 2 / 4,
            "text_precision": 2 / 3,
            "text_recall": 2 / 3,
            "text_fscore": 4 / 6,
        }
    )


def test_metrics_where_values_are_undefined():
    nan = float("nan")
    ignored = ist_s.segmentation_metrics(np.ones((4, 4), np.int64), np.full((4, 4), 255))
    assert all(np.isnan(value) for value in ignored.values())
    no_text = ist_s.segmentation_metrics(np.zeros((2, 3), np.int64), np.zeros((2, 3), np.int64))
    assert no_text["pixel_accuracy"] == 1 and no_text["mean_iou"] == 1 and no_text["iou_background"] == 1
    assert all(np.isnan(no_text[key]) for key in ("iou_text", "text_precision", "text_recall", "text_fscore"))
    false_text = ist_s.segmentation_metrics(np.array([[1, 0]]), np.array([[0, 0]]))
    assert false_text["iou_text"] == 0 and false_text["text_precision"] == 0 and false_text["text_fscore"] == 0
    assert np.isnan(false_text["text_recall"]) and false_text["mean_iou"] == pytest.approx((0.5 + 0) / 2)
    missed = ist_s.segmentation_metrics(np.array([[0, 0]]), np.array([[1, 0]]))
    assert missed["text_recall"] == 0 and missed["text_fscore"] == 0 and np.isnan(missed["text_precision"])
    assert nan != nan  # (NaN is what undefined means here, never a ZeroDivisionError)


def test_metrics_over_lists_of_any_sizes_and_trainer_padding():
    predictions = [np.array([[1, 0]]), np.array([[1], [1], [0]])]
    labels = [np.array([[1, 1]]), np.array([[1], [255], [0]])]
    joined = ist_s.segmentation_metrics(np.array([1, 0, 1, 0]), np.array([1, 1, 1, 0]))
    assert ist_s.segmentation_metrics(predictions, labels) == pytest.approx(joined)
    padded = ist_s.segmentation_metrics(np.array([[1, 0, 1]]), np.array([[1, 0, -100]]))
    assert padded["pixel_accuracy"] == 1 and padded["mean_iou"] == 1


@pytest.mark.training_stack
def test_compute_metrics_upsamples_quarter_scale_logits():
    pytest.importorskip("torch")
    EvalPrediction = pytest.importorskip("transformers").EvalPrediction

    logits = np.zeros((2, 2, 2, 2), np.float32)
    logits[0, 1] = 5.0  # image 0: text everywhere; image 1: background everywhere
    labels = np.zeros((2, 8, 8), np.int64)
    labels[0, :4] = 1  # image 0: top half text
    labels[1, 0, 0] = 255
    metrics = ist_s.compute_metrics(EvalPrediction(predictions=(logits,), label_ids=labels))
    # text: tp 32, fp 32 (image 0's bottom half), fn 0; background: tp 63, fn 32
    assert metrics["iou_text"] == pytest.approx(32 / 64)
    assert metrics["iou_background"] == pytest.approx(63 / 95)
    assert metrics["text_precision"] == pytest.approx(0.5) and metrics["text_recall"] == 1
    assert metrics["pixel_accuracy"] == pytest.approx(95 / 127)


def test_dct_scaled_decoding_changes_pixels_little_and_labels_not(demo_inputs, cache_dir):
    train = ist_s.load(demo_inputs, split="train", cache_dir=cache_dir, verification_mode="no_checks")
    fast = list(ist_s.for_training(train, size=(90, 160)))
    exact = list(ist_s.for_training(train, size=(90, 160), dct_scaling=False))
    differences = [np.abs(a["pixel_values"] - b["pixel_values"]).mean() for a, b in zip(fast, exact, strict=True)]
    assert 0 < max(differences) < 0.03  # on the [0, 1] scale: a small change, not none
    for a, b in zip(fast, exact, strict=True):
        np.testing.assert_array_equal(a["labels"], b["labels"])


def test_dct_scaling_respects_the_exif_orientation():
    import io

    import PIL.Image
    import PIL.ImageOps

    from scene_text_seg import synthetic, transform

    photo = synthetic._encode(PIL.Image.new("RGB", (40, 24), (200, 10, 10)), "JPEG", 6)  # decodes to 24 x 40
    reduced = transform.decode_image({"bytes": photo, "path": None}, target=(12, 20))
    assert reduced.size == (12, 20)  # half scale, then turned: what the target asked for on the decoded grid
    full = transform.decode_image({"bytes": photo, "path": None})
    assert full.size == (24, 40) == PIL.ImageOps.exif_transpose(PIL.Image.open(io.BytesIO(photo))).size
