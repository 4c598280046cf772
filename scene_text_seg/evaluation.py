"""Scoring a model's predicted masks against a split, the same way for every dataset of the family.

Only masks are read: the split's stored masks (inflated directly where the builder stored them
unfiltered, else decoded by `datasets.Image`) and the predictions, each decoded once. No photo is
decoded. The score is read from the confusion matrix summed over the whole split.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterator, Mapping
from typing import Union

import datasets
import numpy as np
import PIL.Image

from .builder import EXAMPLE_THREADS, made_in_order
from .errors import InvalidInputError, MissingInputError
from .inputs import some
from .layout import natural_key
from .metrics import MetricInputError, confusion_matrix, metrics_from_confusion
from .pixels import grey_samples
from .spec import CLASS_NAMES

PathLike = Union[str, "os.PathLike[str]"]
Predictions = Union[PathLike, Mapping[str, np.ndarray]]

PREDICTION_MODES = ("L", "P", "1")  # single-channel 8-bit (or 1-bit) PNGs; P values are palette indices
PREDICTION_SUFFIX = ".png"
SHOWN = 3  # unscorable predictions named in an error (the count says how many more)
BATCH = 64  # rows read from Arrow at a time


class _Unscorable(Exception):
    """One prediction that cannot be scored: the message names it and says what was found."""


def evaluate(dataset: datasets.Dataset, predictions: Predictions) -> dict[str, float]:
    """Score predicted masks against one split: text IoU, precision, recall, F-score, mean IoU, pixel accuracy.

    The keys are those of `segmentation_metrics` (`iou_text` is the field's fgIoU). Pixels labelled
    255 (uncertain) are not scored. Like TexRNet's evaluator, the scores are read from one confusion
    matrix summed over every image of the split, so each pixel counts once: an image with little text
    weighs little. Averaging per-image scores instead would weigh every image alike, and leave an
    image without text (and with no text predicted) with an undefined text IoU. A score is NaN only
    where it is undefined, as `metrics_from_confusion` says (every value when all labels are 255).

    Prediction values: a mask whose values are a subset of {0, 1} is read as class ids (1 = text); a
    subset of {0, 255} as a 0/255 mask (255 = text); all 0 is background everywhere. Anything else is
    refused: a value such as 2 or 128, both 1 and 255, more than one channel, 16 bits.

    Args:
        dataset: one split (a `datasets.Dataset`, not streamed) with `image_id` and `mask` columns, as
            `ist_s.load(data_dir, split="test")` returns it. Every row must have a mask: the
            `default` config's splits, not `with_unlabeled` or `words`.
        predictions: the folder holding one `<image_id>.png` per row (mode L, P or 1; P values are
            palette indices; dot-files are ignored), or a mapping image_id -> HxW integer (or bool)
            numpy array. Each prediction has its mask's size (the decoded image's pixel grid).

    Returns:
        `{"pixel_accuracy", "mean_iou", "iou_background", "iou_text", "text_precision",
        "text_recall", "text_fscore"}`, floats.

    Raises:
        TypeError: `dataset` is not a `datasets.Dataset`, or `predictions` neither a folder path
            nor a mapping.
        ValueError: `dataset` lacks a column, has no rows, or repeats an image_id.
        InvalidInputError: rows without a mask; predictions missing for some rows, or named after no
            row; a prediction that is unreadable, of another mode, size or values (the first few
            are named, with the count).
        MissingInputError: the `predictions` folder does not exist.
    """
    rows = _mask_rows(dataset)
    image_ids = _image_ids_of_labelled_rows(rows)
    if isinstance(predictions, Mapping):
        source = _ArrayPredictions(predictions)
    elif isinstance(predictions, (str, os.PathLike)):
        source = _FolderPredictions(os.fspath(predictions))
    else:
        raise TypeError(
            "predictions: expected the path of a folder of <image_id>.png masks or a mapping image_id -> HxW "
            f"array, got {type(predictions).__name__}"
        )
    source.check_names(image_ids)
    confusion = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), np.int64)
    problems = []
    # Pairs are scored as the build makes examples, in order (`made_in_order`): by its example threads where a
    # pair takes a millisecond or more, as PIL's decode of a filtered prediction (as PIL writes mode L) does,
    # which releases the GIL (1,000 such pairs took 0.68 of the time of one thread); here where pairs are
    # shorter (palette or unfiltered predictions, counted by short numpy calls). A mapping of arrays (the
    # user's object, decoding nothing) is read from this thread alone.
    threads = EXAMPLE_THREADS if isinstance(source, _FolderPredictions) else 1
    for _, scored in made_in_order(_masks(rows), functools.partial(_scored, source), threads):
        if isinstance(scored, str):
            problems.append(scored)
        elif isinstance(scored, MetricInputError):  # a stored mask the metrics refuse: an error of the split
            if not problems:  # after a prediction that cannot be scored, the predictions' error is the one raised
                raise scored
        elif not problems:  # once one fails there is no score: the rest are only checked
            confusion += scored
    if problems:
        more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise InvalidInputError(
            f"predictions{source.label}: {len(problems)} of {len(image_ids)} cannot be scored: "
            f"{'; '.join(problems[:SHOWN])}{more}"
        )
    return metrics_from_confusion(confusion)


def _scored(
    source: Union[_FolderPredictions, _ArrayPredictions], row: tuple[str, dict]
) -> Union[np.ndarray, str, MetricInputError]:
    """One row's confusion matrix, counted by the metrics' own check; what is wrong with its prediction if it
    cannot be scored; the metrics' error about its stored mask. A mask that is no label map is raised.

    Where the stored mask and the prediction are both unfiltered PNGs, they are counted as inflated, each
    row's filter byte (0 in both) in front: whole, contiguous rows count at ~0.8 of the time of the pixels
    cut out of them, and the filter bytes, H pixels counted as background predicted background, come off."""
    image_id, mask = row
    labels, with_filter_bytes = _labels(mask, image_id)
    shape = (labels.shape[0], labels.shape[1] - with_filter_bytes)
    try:
        prediction, prediction_with_filter_bytes = source.class_ids(image_id, shape, with_filter_bytes)
    except _Unscorable as e:
        return str(e)
    if with_filter_bytes and not prediction_with_filter_bytes:
        labels = labels[:, 1:]
    where = source.where(image_id)
    try:
        confusion = confusion_matrix(prediction, labels, where=where, labels_where=f"the stored mask of {where}")
    except MetricInputError as e:  # raised in order by `evaluate`, unless a prediction before it cannot be scored
        return e
    if with_filter_bytes and prediction_with_filter_bytes:
        confusion[0, 0] -= shape[0]
    return confusion


# ---- the split: image ids and stored masks, never a photo ----------------------------------------------------


def _mask_rows(dataset: datasets.Dataset) -> datasets.Dataset:
    """`dataset`'s `image_id` and `mask` columns, masks undecoded, any format or transform dropped."""
    if isinstance(dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        raise TypeError(
            f"dataset: expected one split (a datasets.Dataset), got a {type(dataset).__name__} of "
            f"{', '.join(dataset)}: pass one of them, e.g. dataset[{next(iter(dataset), 'test')!r}]"
        )
    if not isinstance(dataset, datasets.Dataset):
        raise TypeError(
            f"dataset: expected one split as a datasets.Dataset (load it with streaming=False), "
            f"got {type(dataset).__name__}"
        )
    for column in ("image_id", "mask"):
        if column not in dataset.column_names:
            raise ValueError(
                f"dataset: expected a split of the family (image_id and mask columns), it has no {column!r} "
                f"column (columns: {', '.join(dataset.column_names)})"
            )
    if not isinstance(dataset.features["mask"], datasets.Image):
        raise ValueError(f"dataset: its 'mask' column must be a datasets.Image, it is {dataset.features['mask']}")
    if dataset.num_rows == 0:
        raise ValueError("dataset: it has no rows to score")
    rows = dataset.with_format(None).select_columns(["image_id", "mask"])
    return rows.cast_column("mask", datasets.Image(decode=False))  # a change of type only: no data is read


def _image_ids_of_labelled_rows(rows: datasets.Dataset) -> list[str]:
    """The split's image ids, in order, once no id repeats and every row has a mask (Arrow columns only)."""
    image_ids, unlabeled = [], []
    for batch in rows.with_format("arrow").iter(batch_size=4096):
        ids = batch.column("image_id").to_pylist()
        image_ids += ids
        missing = batch.column("mask").is_null().to_pylist()
        unlabeled += [image_id for image_id, none in zip(ids, missing, strict=True) if none]
    if unlabeled:
        config = rows.info.config_name
        kept = f"its config, {config!r}, keeps" if config else "it keeps"
        raise InvalidInputError(
            f"dataset: {len(unlabeled)} row(s) have no mask ({some(unlabeled)}): {kept} images without a label; "
            "evaluate a split of the 'default' config (labelled pairs only)"
        )
    if len(set(image_ids)) != len(image_ids):
        seen, repeated = set(), []
        for image_id in image_ids:
            if image_id in seen:
                repeated.append(image_id)
            seen.add(image_id)
        raise ValueError(
            f"dataset: image_id must be unique, {len(repeated)} repeat ({some(repeated)}): evaluate one split of "
            "one dataset at a time"
        )
    return image_ids


def _masks(rows: datasets.Dataset) -> Iterator[tuple[str, dict]]:
    for batch in rows.iter(batch_size=BATCH):
        yield from zip(batch["image_id"], batch["mask"], strict=True)


def _labels(mask: dict, image_id: str) -> tuple[np.ndarray, bool]:
    """The label map, and whether each row has its PNG filter byte (0) in front: a stored mask as inflated
    (H x (W + 1)), a plain 8-bit grey PNG with filtered rows unfiltered from one inflate (`grey_samples`),
    anything else as `datasets.Image` decodes it (H x W)."""
    found = grey_samples(mask["bytes"]) if mask.get("bytes") else None
    if found is not None:
        return found
    image = datasets.Image().decode_example(mask)
    if len(image.getbands()) != 1:
        raise InvalidInputError(
            f"dataset: the mask of {image_id} has mode {image.mode}: expected a single-channel label map"
        )
    return np.asarray(image), False


# ---- the predictions: a folder of PNGs, or arrays ------------------------------------------------------------


def _class_ids(values: np.ndarray, where: str) -> np.ndarray:
    """A prediction's uint8 values as class ids: {0, 1} as they are, {0, 255} with 255 as text.

    A max (and, for a 0/255 mask, the comparison its class ids need anyway and two counts) decides:
    a fraction of the time a full count of values takes, which only an error needs."""
    top = int(values.max(initial=0))
    if top <= 1:
        return values
    text = values == 255
    if top == 255 and np.count_nonzero(text) == np.count_nonzero(values):  # nothing but 0 and 255
        return text.view(np.uint8)
    present = np.flatnonzero(np.bincount(values.ravel(), minlength=256))
    raise _Unscorable(f"{where} holds {_values_text(present)}: expected 0/1 (1 = text) or 0/255 (255 = text)")


def _values_text(present: np.ndarray) -> str:
    shown = ", ".join(str(value) for value in present[:6])
    return f"the values {shown}" + (f" ... ({len(present)} distinct)" if len(present) > 6 else "")


def _names_error(missing: list[str], extra: list[str], missing_text: str, extra_text: str) -> None:
    """One line naming the rows without a prediction and the predictions of no row, if there are any."""
    parts = []
    if missing:
        parts.append(f"{len(missing)} image(s) of the split have no {missing_text}: {some(missing)}")
    if extra:
        parts.append(f"{len(extra)} {extra_text}: {some(sorted(extra, key=natural_key))}")
    if parts:
        raise InvalidInputError("predictions: " + "; ".join(parts))


class _FolderPredictions:
    """`<image_id>.png` files in a folder, each decoded once."""

    def __init__(self, folder: str):
        if not os.path.exists(folder):
            raise MissingInputError(f"predictions: no folder {folder}")
        if not os.path.isdir(folder):
            raise InvalidInputError(f"predictions: {folder} is a file; expected the folder of <image_id>.png masks")
        self.folder, self.label = folder, f" in {folder}"
        self.files: dict[str, str] = {}  # image_id -> file name
        self.others: list[str] = []  # entries that are not one prediction each
        for entry in os.scandir(folder):
            stem, suffix = os.path.splitext(entry.name)
            if entry.name.startswith("."):
                continue
            if suffix.lower() != PREDICTION_SUFFIX or not entry.is_file() or stem in self.files:
                self.others.append(entry.name + ("/" if entry.is_dir() else ""))
            else:
                self.files[stem] = entry.name

    def check_names(self, image_ids: list[str]) -> None:
        known = set(image_ids)
        extra = self.others + [name for stem, name in self.files.items() if stem not in known]
        missing = [image_id for image_id in image_ids if image_id not in self.files]
        _names_error(
            missing,
            extra,
            f"prediction in {self.folder} (<image_id>.png)",
            f"file(s) in {self.folder} are not <image_id>.png of an image of the split",
        )

    def where(self, image_id: str) -> str:
        return self.files[image_id]

    def class_ids(self, image_id: str, shape: tuple[int, int], with_filter_bytes: bool) -> tuple[np.ndarray, bool]:
        """The prediction's class ids (HxW), and whether each row has its filter byte in front: an unfiltered
        8-bit grey or palette PNG is inflated once and, `with_filter_bytes`, kept so; a filtered one is
        unfiltered from that inflate (`grey_samples`); any other goes to PIL."""
        where = self.where(image_id)
        with open(os.path.join(self.folder, where), "rb") as f:
            data = f.read()
        found = grey_samples(data, palette_indices=True)
        if found is None:
            values, kept = _decoded_png(data, where), False
        elif not found[1]:  # filtered rows, unfiltered
            values, kept = found[0], False
        else:
            rows = found[0]
            values, kept = (rows, True) if with_filter_bytes else (rows[:, 1:], False)
        found = (values.shape[0], values.shape[1] - kept)
        if found != shape:
            raise _Unscorable(_size_text(where, found, shape))
        try:
            return _class_ids(values, where), kept
        except _Unscorable:
            if not kept:
                raise
        # The filter bytes (0) are not the file's values: the error names the pixels' (which hold no fewer wrong).
        return _class_ids(values[:, 1:], where), False


def _size_text(where: str, found: tuple[int, ...], shape: tuple[int, int]) -> str:
    return f"{where} is {found[1]}x{found[0]}, its mask {shape[1]}x{shape[0]} (width x height)"


def _decoded_png(data: bytes, where: str) -> np.ndarray:
    """A prediction PNG's values, HW uint8 (bool for mode 1), decoded by PIL once its format and mode are checked."""
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise _Unscorable(f"{where} is a {image.format}, not a PNG")
            if image.mode not in PREDICTION_MODES:
                raise _Unscorable(
                    f"{where} has mode {image.mode} ({len(image.getbands())} channel(s)): expected a single-channel "
                    "8-bit PNG (mode L, P or 1)"
                )
            values = np.asarray(image)
    except (OSError, SyntaxError, ValueError, PIL.Image.DecompressionBombError) as e:
        raise _Unscorable(f"{where} cannot be read as a PNG ({e})") from None
    return values  # mode 1 gives bool: 0/1


class _ArrayPredictions:
    """A mapping image_id -> HxW integer array, for predictions held in memory."""

    label = ""

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        self.arrays = arrays

    def check_names(self, image_ids: list[str]) -> None:
        known = set(image_ids)
        extra = [str(key) if isinstance(key, str) else repr(key) for key in self.arrays if key not in known]
        missing = [image_id for image_id in image_ids if image_id not in self.arrays]
        _names_error(
            missing, extra, "prediction (key of the mapping)", "key(s) of the mapping name no image of the split"
        )

    def where(self, image_id: str) -> str:
        return f"predictions[{image_id!r}]"

    def class_ids(self, image_id: str, shape: tuple[int, int], with_filter_bytes: bool) -> tuple[np.ndarray, bool]:
        """The array's class ids (HxW, never with filter bytes)."""
        where, values = self.where(image_id), self.arrays[image_id]
        if not isinstance(values, np.ndarray):
            raise _Unscorable(f"{where} is a {type(values).__name__}: expected an HxW numpy array of class ids")
        if values.ndim != 2 or values.dtype.kind not in "biu":
            raise _Unscorable(
                f"{where} has shape {values.shape} and dtype {values.dtype}: expected an HxW integer array of class ids"
            )
        if values.shape != shape:
            raise _Unscorable(f"{where} has shape {values.shape}, its mask {shape} (height, width)")
        if values.dtype != np.uint8 and values.dtype != bool:
            if values.min() < 0 or values.max() > 255:
                raise _Unscorable(f"{where} holds {_values_text(np.unique(values))}: expected 0/1 or 0/255")
            values = values.astype(np.uint8)
        return _class_ids(values, where), False
