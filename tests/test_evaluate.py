"""`evaluate`: predicted masks (a folder of PNGs, or arrays) scored against a split, against hand-computed
confusion matrices; every prediction that cannot be scored refused, named; a tiny model's masks end to end."""

import io
import math
import os
import re
import struct
import zlib

import datasets
import numpy as np
import PIL.Image
import pytest

import ist_s
from scene_text_seg import labels, metrics, pixels, transform
from scene_text_seg.errors import InvalidInputError, MissingInputError
from scene_text_seg.evaluation import evaluate
from tests.conftest import build, png

KEYS = {"pixel_accuracy", "mean_iou", "iou_background", "iou_text", "text_precision", "text_recall", "text_fscore"}


@pytest.fixture(scope="module")
def split(zip_inputs, tmp_path_factory):
    """(the built train split, image_id -> the mask it holds, as the stand-in writer drew it)."""
    data_dir, expected = zip_inputs
    train = build(data_dir, str(tmp_path_factory.mktemp("cache")), split="train")
    masks = {image_id: item.mask for image_id, item in expected["train"].items() if item.mask is not None}
    assert train["image_id"][:] == list(masks)
    return train, masks


def write_folder(folder, arrays, scale=1, bits=False):
    """`<image_id>.png` for each array: 8-bit grey (values times `scale`), or 1-bit (mode 1) with `bits`."""
    os.makedirs(folder, exist_ok=True)
    for image_id, values in arrays.items():
        image = PIL.Image.fromarray(values.astype(bool) if bits else (values * scale).astype(np.uint8))
        image.save(os.path.join(folder, f"{image_id}.png"))
    return str(folder)


def text_of(masks):
    """Perfect predictions: 1 where the mask says text (255 pixels get background: they are not scored)."""
    return {image_id: (mask == 1).astype(np.uint8) for image_id, mask in masks.items()}


def expected_scores(confusion):
    return metrics.metrics_from_confusion(np.asarray(confusion, np.int64))


def same(scores, expected):
    """Equal, NaN equal to NaN."""
    assert scores.keys() == expected.keys() == KEYS
    for key in KEYS:
        assert scores[key] == pytest.approx(expected[key], nan_ok=True), key


def masks_dataset(masks, images=None):
    """A split of the family made by hand: masks stored as PIL writes them (filtered rows: the fallback decode)."""
    features = {"image_id": datasets.Value("string"), "mask": datasets.Image()}
    columns = {"image_id": list(masks), "mask": [{"bytes": png(mask, "L"), "path": None} for mask in masks.values()]}
    if images is not None:
        features["image"] = datasets.Image()
        columns["image"] = [{"bytes": data, "path": None} for data in images]
    return datasets.Dataset.from_dict(columns, features=datasets.Features(features))


# ---- scores against hand-computed confusion matrices ----------------------------------------------------------


def test_confusion_is_summed_over_the_split_not_averaged_per_image():
    masks = {"a": np.array([[0, 0, 1, 1], [255, 0, 1, 0]], np.uint8), "b": np.array([[1, 1], [0, 255]], np.uint8)}
    predictions = {"a": np.array([[0, 1, 1, 0], [1, 0, 1, 0]]), "b": np.array([[1, 0], [1, 1]])}
    # [label, prediction]: a gives [[3, 1], [1, 2]] (its 255 skipped), b [[0, 1], [1, 1]]
    scores = evaluate(masks_dataset(masks), predictions)
    same(scores, expected_scores([[3, 2], [2, 3]]))
    assert scores["iou_text"] == pytest.approx(3 / 7)  # per image: (2/4 + 1/3) / 2 = 5/12
    assert scores["pixel_accuracy"] == pytest.approx(6 / 10) and scores["text_fscore"] == pytest.approx(6 / 10)


def test_perfect_predictions(split, tmp_path):
    train, masks = split
    background = sum(int((mask == 0).sum()) for mask in masks.values())
    text = sum(int((mask == 1).sum()) for mask in masks.values())
    assert background and text and any((mask == 255).any() for mask in masks.values())
    scores = evaluate(train, write_folder(tmp_path / "p", text_of(masks)))
    same(scores, expected_scores([[background, 0], [0, text]]))
    assert scores["iou_text"] == 1.0 and scores["pixel_accuracy"] == 1.0


def test_the_stored_masks_are_read_both_ways(split):
    """The builder's unfiltered masks are inflated directly; the others decoded: both kinds are in the split."""
    rows = split[0].cast_column("mask", datasets.Image(decode=False))
    direct = [transform._stored_mask_pixels(row["mask"]) is not None for row in rows]
    assert any(direct) and not all(direct)


def test_empty_predictions_score_no_text(split, tmp_path):
    train, masks = split
    background = sum(int((mask == 0).sum()) for mask in masks.values())
    text = sum(int((mask == 1).sum()) for mask in masks.values())
    nothing = {image_id: np.zeros_like(mask) for image_id, mask in masks.items()}
    scores = evaluate(train, write_folder(tmp_path / "p", nothing))
    same(scores, expected_scores([[background, 0], [text, 0]]))
    assert math.isnan(scores["text_precision"])  # 0/0: no text predicted
    assert scores["iou_text"] == scores["text_recall"] == scores["text_fscore"] == 0.0


def test_all_ignore_labels_give_nan_everywhere():
    masks = {"a": np.full((3, 4), 255, np.uint8), "b": np.full((2, 2), 255, np.uint8)}
    scores = evaluate(masks_dataset(masks), {"a": np.ones((3, 4), np.uint8), "b": np.zeros((2, 2), np.uint8)})
    assert scores.keys() == KEYS and all(math.isnan(value) for value in scores.values())


# ---- what a prediction may be ---------------------------------------------------------------------------------


def test_0_255_p_and_1_bit_predictions_score_as_the_0_1_ones(split, tmp_path):
    train, masks = split
    predictions = text_of(masks)
    expected = evaluate(train, write_folder(tmp_path / "01", predictions))
    assert expected["iou_text"] == 1.0
    same(evaluate(train, write_folder(tmp_path / "0255", predictions, scale=255)), expected)
    same(evaluate(train, write_folder(tmp_path / "bits", predictions, bits=True)), expected)
    palette = tmp_path / "palette"
    palette.mkdir()
    for image_id, values in predictions.items():  # colours unlike the indices: values are the indices
        image = PIL.Image.fromarray(values, "P")
        image.putpalette([255, 255, 255, 200, 0, 0] + [0, 0, 0] * 254)
        image.save(palette / f"{image_id}.png")
    with PIL.Image.open(next(palette.iterdir())) as image:
        assert image.mode == "P"
    same(evaluate(train, str(palette)), expected)


def test_unfiltered_grey_predictions_are_inflated_directly(split, tmp_path):
    """Predictions written as the builder stores masks take the direct inflate, and score the same."""
    train, masks = split
    folder = tmp_path / "p"
    folder.mkdir()
    for row in train.cast_column("mask", datasets.Image(decode=False)):
        if transform._stored_mask_pixels(row["mask"]) is not None:
            stored = row["mask"]["bytes"]
            break
    image_id = row["image_id"]
    (folder / f"{image_id}.png").write_bytes(stored)  # the stored mask itself: 0, 1 and 255
    write_folder(folder, {k: v for k, v in text_of(masks).items() if k != image_id})
    with pytest.raises(InvalidInputError, match=rf"{image_id}\.png holds the values 0, 1, 255: expected 0/1"):
        evaluate(train, str(folder))


def test_filtered_grey_predictions_are_unfiltered_from_one_inflate_and_score_the_same(split, tmp_path, monkeypatch):
    """PIL writes grey PNGs with filtered rows: predictions (and stored masks) so written are inflated once and
    unfiltered (never decoded again by PIL), and score as the same arrays held in memory. A row of unknown
    filter type is PIL's to refuse."""
    train, masks = split
    predictions = text_of(masks)
    folder = write_folder(tmp_path / "p", predictions)
    files = {name: open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder))}
    assert any(pixels.grey_samples(data) is not None and not pixels.grey_samples(data)[1] for data in files.values())
    expected = evaluate(train, predictions)
    opened = []
    real_open = PIL.Image.open
    monkeypatch.setattr(PIL.Image, "open", lambda fp, *a, **k: opened.append(fp) or real_open(fp, *a, **k))
    same(evaluate(train, folder), expected)
    assert not any(isinstance(fp, io.BytesIO) and fp.getvalue() in files.values() for fp in opened)
    monkeypatch.undo()
    name, data = next((n, d) for n, d in files.items() if not pixels.grey_samples(d)[1])
    width = struct.unpack(">I", data[16:20])[0]
    parts = pixels.png_parts(data, name)
    rows = bytearray(zlib.decompress(parts.pixel_data))
    rows[3 * (width + 1)] = 9  # the fourth row's filter type
    chunk = zlib.compress(bytes(rows))
    broken = (
        data[:33] + struct.pack(">I", len(chunk)) + b"IDAT" + chunk + struct.pack(">I", zlib.crc32(b"IDAT" + chunk))
    )
    (tmp_path / "p" / name).write_bytes(broken + b"\0\0\0\0IEND\xaeB`\x82")
    assert pixels.grey_samples(broken) is None
    with pytest.raises(InvalidInputError, match=rf"{re.escape(name)} cannot be read as a PNG"):
        evaluate(train, folder)


def test_a_mapping_of_arrays_scores_as_the_folder(split, tmp_path):
    train, masks = split
    predictions = text_of(masks)
    expected = evaluate(train, write_folder(tmp_path / "p", predictions))
    same(evaluate(train, predictions), expected)
    same(evaluate(train, {k: v.astype(np.int64) * 255 for k, v in predictions.items()}), expected)
    same(evaluate(train, {k: v.astype(bool) for k, v in predictions.items()}), expected)


def both_1_and_255(m):
    values = m * 255
    values[0, 0] = 1
    return values


@pytest.mark.parametrize(
    "values, found",
    [
        (lambda m: np.stack([m] * 3, axis=-1), r"has mode RGB \(3 channel\(s\)\): expected a single-channel 8-bit PNG"),
        (lambda m: np.stack([m, m], axis=-1), r"has mode LA \(2 channel\(s\)\)"),
        (lambda m: m.astype(np.uint16), "has mode I;16"),
        (lambda m: m * 2, r"holds the values 0, 2: expected 0/1 \(1 = text\) or 0/255 \(255 = text\)$"),
        (lambda m: m * 128, "holds the values 0, 128: expected"),
        (both_1_and_255, "holds the values 0, 1, 255: expected"),
        (lambda m: np.arange(m.size, dtype=np.uint8).reshape(m.shape), r"holds the values 0, 1, 2, 3, 4, 5 \.\.\."),
    ],
)
def test_a_prediction_of_another_kind_is_refused_naming_it(split, tmp_path, values, found):
    train, masks = split
    predictions = {k: v if k != "img_2" else np.where(masks[k] == 255, 1, masks[k]) for k, v in text_of(masks).items()}
    folder = write_folder(tmp_path / "p", predictions)
    PIL.Image.fromarray(values(predictions["img_2"])).save(os.path.join(folder, "img_2.png"))
    with pytest.raises(InvalidInputError, match=rf"^predictions in .*: 1 of 10 cannot be scored: img_2\.png {found}"):
        evaluate(train, folder)


def test_a_file_that_is_no_png_is_refused_naming_it(split, tmp_path):
    train, masks = split
    folder = write_folder(tmp_path / "p", text_of(masks))
    PIL.Image.fromarray(text_of(masks)["img_1"]).save(os.path.join(folder, "img_1.png"), "JPEG")
    with open(os.path.join(folder, "img_2.png"), "r+b") as f:  # cut short inside its pixel data
        f.truncate(60)
    with pytest.raises(
        InvalidInputError, match=r"2 of 10 cannot be scored: img_1\.png is a JPEG, not a PNG; img_2\.png"
    ):
        evaluate(train, folder)


def test_array_predictions_are_checked_the_same_way(split):
    train, masks = split
    good = text_of(masks)
    cases = {
        "img_1": (good["img_1"].astype(np.float32), r"predictions\['img_1'\] has shape \(\d+, \d+\) and dtype float32"),
        "img_2": (good["img_2"][np.newaxis], r"predictions\['img_2'\] has shape \(1, \d+, \d+\) and dtype uint8"),
        "img_3": (good["img_3"] * 2, r"predictions\['img_3'\] holds the values 0, 2"),
        "img_5": (good["img_5"].astype(np.int64) - 1, r"predictions\['img_5'\] holds the values -1, 0: expected"),
        "img_6": (good["img_6"].tolist(), r"predictions\['img_6'\] is a list: expected an HxW numpy array"),
    }
    for image_id, (bad, message) in cases.items():
        with pytest.raises(InvalidInputError, match=rf"1 of 10 cannot be scored: {message}"):
            evaluate(train, {**good, image_id: bad})


# ---- predictions that are not one per row --------------------------------------------------------------------


def test_a_missing_prediction_is_named(split, tmp_path):
    train, masks = split
    folder = write_folder(tmp_path / "p", text_of(masks))
    os.remove(os.path.join(folder, "img_3.png"))
    with pytest.raises(
        InvalidInputError, match=r"^predictions: 1 image\(s\) of the split have no prediction in .*: img_3$"
    ):
        evaluate(train, folder)
    with pytest.raises(
        InvalidInputError, match=r"1 image\(s\) of the split have no prediction \(key of the mapping\): img_3"
    ):
        evaluate(train, {k: v for k, v in text_of(masks).items() if k != "img_3"})


def test_extra_files_are_named_and_dot_files_ignored(split, tmp_path):
    train, masks = split
    folder = write_folder(tmp_path / "p", text_of(masks))
    for junk in (".DS_Store", "._img_1.png"):
        (tmp_path / "p" / junk).write_bytes(b"junk")
    (tmp_path / "p" / ".cache").mkdir()
    same(evaluate(train, folder), evaluate(train, text_of(masks)))  # dot-files are no prediction
    (tmp_path / "p" / "img_4.png").write_bytes(b"")  # img_4 has no mask: no row of the split
    (tmp_path / "p" / "notes.txt").write_text("x")
    (tmp_path / "p" / "sub").mkdir()
    extra = r"^predictions: 3 file\(s\) in .* are not <image_id>\.png of an image of the split: "
    with pytest.raises(InvalidInputError, match=extra + r"img_4\.png, notes\.txt, sub/$"):
        evaluate(train, folder)
    with pytest.raises(InvalidInputError, match=r"2 key\(s\) of the mapping name no image of the split: 7, img_4"):
        evaluate(train, {**text_of(masks), "img_4": np.zeros((2, 2)), 7: np.zeros((2, 2))})


def test_predictions_of_another_split_name_the_first_few_and_the_counts(split, tmp_path):
    train, _ = split
    folder = write_folder(tmp_path / "p", {f"other_{n}": np.zeros((2, 2), np.uint8) for n in range(1, 9)})
    with pytest.raises(InvalidInputError) as raised:
        evaluate(train, folder)
    message = str(raised.value)
    assert "\n" not in message
    assert (
        "10 image(s) of the split have no prediction" in message and "img_1, img_2, img_3, img_5, img_6 ..." in message
    )
    assert (
        "8 file(s) in" in message and "other_1.png, other_2.png, other_3.png, other_4.png, other_5.png ..." in message
    )


def test_a_prediction_of_another_size_is_named_and_many_are_counted(split, tmp_path):
    train, masks = split
    predictions = text_of(masks)
    height, width = masks["img_5"].shape
    folder = write_folder(tmp_path / "p", {**predictions, "img_5": np.zeros((height + 1, width), np.uint8)})
    found = rf"img_5\.png is {width}x{height + 1}, its mask {width}x{height} \(width x height\)$"
    with pytest.raises(InvalidInputError, match=found):
        evaluate(train, folder)
    found = (
        rf"predictions\['img_5'\] has shape \({width}, {height}\), its mask \({height}, {width}\) \(height, width\)$"
    )
    with pytest.raises(InvalidInputError, match=found):
        evaluate(train, {**predictions, "img_5": np.zeros((width, height), np.uint8)})
    transposed = write_folder(tmp_path / "t", {k: np.ascontiguousarray(v.T) for k, v in predictions.items()})
    squares = [k for k, v in masks.items() if v.shape[0] == v.shape[1]]
    wrong = len(masks) - len(squares)
    found = rf"^predictions in .*: {wrong} of 10 cannot be scored: img_1\.png is [^;]*; img_2\.png is [^;]*; "
    with pytest.raises(InvalidInputError, match=found + rf"img_3\.png is [^;]*; and {wrong - 3} more$"):
        evaluate(train, transposed)


# ---- the dataset argument -------------------------------------------------------------------------------------


def test_rows_without_a_mask_are_refused_naming_the_default_config(zip_inputs, cache_dir, tmp_path):
    every_image = build(zip_inputs[0], cache_dir, config="with_unlabeled", split="train")
    predictions = {row["image_id"]: np.zeros((2, 2), np.uint8) for row in every_image.select_columns(["image_id"])}
    message = (
        r"^dataset: 2 row\(s\) have no mask \(img_4, img_9\): its config, 'with_unlabeled', keeps images without "
        r"a label; evaluate a split of the 'default' config \(labelled pairs only\)$"
    )
    with pytest.raises(InvalidInputError, match=message):
        evaluate(every_image, write_folder(tmp_path / "p", predictions))


def test_a_mask_of_several_channels_is_refused_naming_its_row():
    dataset = masks_dataset({"a": np.zeros((2, 2), np.uint8)})
    dataset = dataset.cast_column("mask", datasets.Image(decode=False))
    rgb = dataset.map(lambda row: {"mask": {"bytes": png(np.zeros((2, 2, 3), np.uint8), "RGB"), "path": None}})
    with pytest.raises(InvalidInputError, match=r"^dataset: the mask of a has mode RGB: expected a single-channel"):
        evaluate(rgb, {"a": np.zeros((2, 2), np.uint8)})


def unfiltered(values: np.ndarray) -> bytes:
    """`values` as the builder stores masks: an 8-bit grey PNG whose rows are unfiltered (read with one inflate)."""
    rows = np.zeros((values.shape[0], values.shape[1] + 1), np.uint8)
    rows[:, 1:] = values
    return labels.png_of_rows(values.shape[1], values.shape[0], rows)


def stored_dataset(masks: dict) -> datasets.Dataset:
    features = datasets.Features({"image_id": datasets.Value("string"), "mask": datasets.Image()})
    columns = {"image_id": list(masks), "mask": [{"bytes": unfiltered(m), "path": None} for m in masks.values()]}
    return datasets.Dataset.from_dict(columns, features=features)


def test_an_unfiltered_prediction_is_named_by_its_own_values_not_its_filter_bytes(tmp_path):
    """Stored mask and prediction both unfiltered are counted rows and all: an error names the pixels' values."""
    dataset = stored_dataset({"a": np.zeros((4, 4), np.uint8), "b": np.ones((4, 4), np.uint8)})
    (tmp_path / "a.png").write_bytes(unfiltered(np.full((4, 4), 128, np.uint8)))
    (tmp_path / "b.png").write_bytes(unfiltered(np.tile(np.array([1, 255], np.uint8), (4, 2))))
    with pytest.raises(InvalidInputError, match=r"a\.png holds the values 128: .*b\.png holds the values 1, 255: "):
        evaluate(dataset, str(tmp_path))
    (tmp_path / "a.png").write_bytes(unfiltered(np.eye(4, dtype=np.uint8)))
    (tmp_path / "b.png").write_bytes(unfiltered(np.full((4, 4), 255, np.uint8)))
    same(evaluate(dataset, str(tmp_path)), expected_scores([[12, 4], [0, 16]]))  # filter bytes not counted


def test_a_prediction_that_cannot_be_scored_is_reported_before_a_later_stored_mask_error(tmp_path):
    """Rows are scored in order, on threads: the first error in split order wins, whichever finishes first."""
    bad_mask = np.full((4, 4), 7, np.uint8)
    dataset = stored_dataset({"a": np.zeros((4, 4), np.uint8), "b": bad_mask})
    write_folder(tmp_path, {"a": np.full((4, 4), 9, np.uint8), "b": np.zeros((4, 4), np.uint8)})
    with pytest.raises(InvalidInputError, match=r"1 of 2 cannot be scored: a\.png holds the values 9"):
        evaluate(dataset, str(tmp_path))
    dataset = stored_dataset({"a": bad_mask, "b": np.zeros((4, 4), np.uint8)})
    write_folder(tmp_path, {"a": np.zeros((4, 4), np.uint8), "b": np.full((4, 4), 9, np.uint8)})
    with pytest.raises(metrics.MetricInputError, match=r"^the stored mask of a\.png must hold class ids .* found 7"):
        evaluate(dataset, str(tmp_path))


def test_only_masks_are_read(tmp_path):
    """No photo is decoded: a split whose image bytes are no image at all scores the same."""
    masks = {"a": np.array([[0, 1], [1, 255]], np.uint8)}
    predictions = {"a": np.array([[0, 1], [0, 0]], np.uint8)}
    with_images = masks_dataset(masks, images=[b"not an image"])
    same(evaluate(with_images, predictions), evaluate(masks_dataset(masks), predictions))
    same(evaluate(with_images, predictions), expected_scores([[1, 0], [1, 1]]))


def test_a_formatted_split_is_read_as_it_is_stored(split, tmp_path):
    train, masks = split
    expected = evaluate(train, text_of(masks))
    same(evaluate(ist_s.for_training(train, size=(8, 8)), text_of(masks)), expected)
    same(evaluate(train.with_format("numpy"), text_of(masks)), expected)


def test_the_arguments_are_checked_naming_them(split, tmp_path):
    train, masks = split
    one_split = r"^dataset: expected one split \(a datasets\.Dataset\), got a DatasetDict of train: pass one of them"
    with pytest.raises(TypeError, match=one_split + r", e\.g\. dataset\['train'\]$"):
        evaluate(datasets.DatasetDict({"train": train}), text_of(masks))
    with pytest.raises(
        TypeError, match=r"^dataset: expected one split as a datasets\.Dataset .*, got IterableDataset$"
    ):
        evaluate(train.to_iterable_dataset(), text_of(masks))
    with pytest.raises(ValueError, match=r"it has no 'mask' column \(columns: image_id, image, mask_classes\)$"):
        evaluate(train.remove_columns("mask"), text_of(masks))
    as_bytes = datasets.Dataset.from_dict({"image_id": ["img_1"], "mask": [b"\x89PNG"]})
    with pytest.raises(ValueError, match=r"^dataset: its 'mask' column must be a datasets\.Image, it is Value\("):
        evaluate(as_bytes, text_of(masks))
    with pytest.raises(ValueError, match=r"^dataset: it has no rows to score$"):
        evaluate(train.select([]), {})
    twice = datasets.concatenate_datasets([train, train])
    repeated = r"^dataset: image_id must be unique, 10 repeat \(img_1, img_2, img_3, img_5, img_6 \.\.\.\)"
    with pytest.raises(ValueError, match=repeated):
        evaluate(twice, text_of(masks))
    with pytest.raises(TypeError, match=r"^predictions: expected the path of a folder .*, got list$"):
        evaluate(train, list(text_of(masks).values()))
    with pytest.raises(MissingInputError, match=r"^predictions: no folder .*nowhere$"):
        evaluate(train, tmp_path / "nowhere")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(InvalidInputError, match=r"^predictions: .*file\.png is a file; expected the folder"):
        evaluate(train, tmp_path / "file.png")


# ---- end to end: a tiny model's masks -------------------------------------------------------------------------


@pytest.mark.training_stack
def test_a_trained_models_masks_score_as_segmentation_metrics_says(tmp_path):
    torch = pytest.importorskip("torch")
    ist_s.write_demo_inputs(str(tmp_path / "demo"))
    splits = ist_s.load(str(tmp_path / "demo"), cache_dir=str(tmp_path / "cache"), verification_mode="no_checks")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 2, 3, padding=1)
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    loader = torch.utils.data.DataLoader(ist_s.for_training(splits["train"], size=(90, 160)), batch_size=8)
    text_weight = torch.tensor([1.0, 10.0])  # text is rare: without a weight the model learns background only
    for _ in range(3):
        for batch in loader:
            logits = model(batch["pixel_values"])
            loss = torch.nn.functional.cross_entropy(logits, batch["labels"], text_weight, ignore_index=255)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    test = splits["test"]
    rows = ist_s.for_training(test)  # every image at its own size: the masks' grid
    predictions, labels = [], []
    with torch.no_grad():
        for index in range(test.num_rows):
            row = rows[index]
            logits = model(torch.as_tensor(row["pixel_values"])[None])
            predictions.append(logits.argmax(dim=1)[0].numpy().astype(np.uint8))
            labels.append(np.asarray(row["labels"]))
    folder = write_folder(tmp_path / "predicted", dict(zip(test["image_id"][:], predictions, strict=True)))
    scores = evaluate(test, folder)
    assert 0 < scores["iou_text"] < 1 and len({p.shape for p in predictions}) > 1  # learned something; sizes vary
    same(scores, metrics.segmentation_metrics(predictions, labels))


def test_the_evaluate_verb_scores_a_folder_and_refuses_a_bad_prediction(zip_inputs, cache_dir, tmp_path, capsys):
    import json

    from tests.conftest import cli

    test = build(zip_inputs[0], cache_dir)["test"]
    folder = tmp_path / "predicted"
    folder.mkdir()
    for row in test:
        PIL.Image.fromarray((np.asarray(row["mask"]) == 1).astype(np.uint8) * 255).save(
            folder / f"{row['image_id']}.png"
        )
    argv = ["evaluate", "--data-dir", zip_inputs[0], "--cache-dir", cache_dir, "--verification-mode", "no_checks"]
    code, out, err = cli(capsys, *argv, "--predictions", str(folder), "--json")
    assert code == 0, err
    scores = json.loads(out)
    assert scores["iou_text"] == scores["text_fscore"] == 1.0 and scores["pixel_accuracy"] == 1.0
    code, out, _ = cli(capsys, *argv, "--predictions", str(folder))
    assert code == 0 and "  text IoU (fgIoU)     100.00%" in out
    first = sorted(os.listdir(folder))[0]
    PIL.Image.new("L", (3, 3), 7).save(folder / first)
    code, out, err = cli(capsys, *argv, "--predictions", str(folder))
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and first in err


def test_unfiltered_palette_predictions_are_read_as_their_indices_without_pil():
    from scene_text_seg import pixels

    rng = np.random.default_rng(5)
    indices = rng.integers(0, 2, (31, 47), dtype=np.uint8)
    image = PIL.Image.fromarray(indices, "P")
    image.putpalette([255, 255, 255, 200, 0, 0] + [0, 0, 0] * 254)  # colours unlike the indices
    image.info["transparency"] = 0  # a tRNS chunk
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    data = buffer.getvalue()
    assert b"tRNS" in data and b"PLTE" in data
    assert pixels.unfiltered_grey_pixels(data) is None  # a stored mask is grey: palettes are PIL's there
    fast = pixels.unfiltered_grey_pixels(data, palette_indices=True)
    np.testing.assert_array_equal(fast, np.asarray(PIL.Image.open(io.BytesIO(data))))
