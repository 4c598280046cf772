"""Rows into trainer inputs, in transformers' conventions: the training transform and `for_training`.

Trainer-ready rows hold only `pixel_values` (float32 CHW) and `labels` (int64 HW, 255 = ignore), so
any mix of rows collates: masks with and without text, rows without a mask, images of different
sizes once a `size` is given. With `uint8=True` both stay uint8 until `feed.DeviceFeed` converts them
where the batch lands (a fifth of the bytes cross from DataLoader workers). Neither torch nor
transformers is imported here.
"""

from __future__ import annotations

import functools
import io
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional, Union

import datasets
import numpy as np
import PIL.Image
import PIL.ImageOps

from .memory import keep_freed_memory
from .pixels import EXIF_ORIENTATION, SWAPS_AXES, unfiltered_grey_pixels
from .spec import IGNORE_INDEX

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# An augmentation in albumentations' calling convention: augment(image=HWC uint8, mask=HW uint8)
# returns a dict with the transformed "image" and "mask".
Augment = Callable[..., dict]


def decode_image(value: Union[PIL.Image.Image, dict], target: Optional[tuple[int, int]] = None) -> PIL.Image.Image:
    """An image as `datasets.Image` decodes it: a PIL image as it is; stored bytes (rows cast to
    `Image(decode=False)` carry `{"bytes", "path"}`) opened and turned by their EXIF orientation.

    With `target` (width, height on the decoded grid), a JPEG is decoded at the smallest DCT scale
    (1/1, 1/2, 1/4, 1/8) that still covers it (libjpeg's scaling, `PIL.Image.draft`): a fraction of
    the work of a full decode when the training size is well below the photo's.
    """
    if isinstance(value, PIL.Image.Image):
        return value
    image = PIL.Image.open(io.BytesIO(value["bytes"]))
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    if target is not None and image.format == "JPEG":
        image.draft(image.mode, target[::-1] if orientation in SWAPS_AXES else target)
    return PIL.ImageOps.exif_transpose(image) if orientation != 1 else image


def decode_mask(value: Union[PIL.Image.Image, dict]) -> PIL.Image.Image:
    """A mask as `decode_image` gives it. The builder's masks (8-bit grey PNGs, rows unfiltered when
    the source's were) are inflated and reshaped directly, a quarter of the time PIL's PNG decoder
    takes (1.2-1.4 against 0.3-0.5 ms a 1280x720 stand-in mask with its resize); others go to PIL."""
    pixels = _stored_mask_pixels(value)
    return PIL.Image.fromarray(pixels) if pixels is not None else decode_image(value)


def _stored_mask_pixels(value: Union[PIL.Image.Image, dict]) -> Optional[np.ndarray]:
    """The pixels of an undecoded mask stored as the builder stores them (`unfiltered_grey_pixels`), else None."""
    return unfiltered_grey_pixels(value["bytes"]) if isinstance(value, dict) and value.get("bytes") else None


def resized_labels(value: Union[PIL.Image.Image, dict, None], size: tuple[int, int]) -> np.ndarray:
    """The label map of a mask resized to (height, width) `size` by nearest neighbour, uint8 HW (255
    everywhere for a row without a mask): what `decode_mask(value).resize(..., NEAREST)` holds.

    The builder's masks are not made into an image and resized: the labels are taken from the
    inflated rows at the positions PIL's nearest resize would take (`nearest_indices`), by slicing
    where those positions are evenly spaced (any whole-number reduction, e.g. 1280x720 to 640x360).
    That is 0.17 against 0.38 ms a 1280x720 stand-in mask, in both the decode and the resize.
    """
    if value is None:
        return np.full(size, IGNORE_INDEX, np.uint8)
    pixels = _stored_mask_pixels(value)
    if pixels is None:  # PIL decodes it (decode_mask would try the direct inflate again)
        return label_array(_resized(decode_image(value), size, PIL.Image.Resampling.NEAREST), size)
    rows = pixels[_positions(nearest_indices(pixels.shape[0], size[0]))]
    columns = _positions(nearest_indices(pixels.shape[1], size[1]))
    return rows[:, columns] if isinstance(columns, slice) else np.take(rows, columns, axis=1)


@functools.lru_cache(maxsize=64)
def nearest_indices(source: int, target: int) -> np.ndarray:
    """The source position PIL's nearest resize takes for each of `target` positions along an axis of
    `source`. Asked of PIL itself, by resizing a one-row image that holds its own column numbers:
    PIL's nearest resize treats each axis on its own, so labels cut at these positions are exactly
    what it gives, whatever rounding a Pillow version uses."""
    numbers = PIL.Image.fromarray(np.arange(source, dtype=np.int32)[np.newaxis, :])  # mode "I"
    indices = np.asarray(numbers.resize((target, 1), PIL.Image.Resampling.NEAREST))[0].astype(np.intp)
    indices.setflags(write=False)  # shared through the cache
    return indices


def _positions(indices: np.ndarray) -> Union[slice, np.ndarray]:
    """`indices` as a slice when they are evenly spaced and increasing (a view, not a copy), else as they are."""
    steps = np.diff(indices)
    if len(indices) == 1 or (len(steps) and steps[0] > 0 and (steps == steps[0]).all()):
        step = int(steps[0]) if len(steps) else 1
        return slice(int(indices[0]), int(indices[-1]) + 1, step)
    return indices


def label_array(mask: Optional[PIL.Image.Image], shape: tuple[int, int]) -> np.ndarray:
    """The label map as uint8 HW; a row without a mask gets 255 (ignore) everywhere."""
    if mask is None:
        return np.full(shape, IGNORE_INDEX, np.uint8)
    return np.asarray(mask, dtype=np.uint8)


class TrainingTransform:
    """Rows -> {"pixel_values", "labels"}, batched, for `Dataset.set_transform` / `with_transform` and
    `IterableDataset.map(..., batched=True)`; an instance pickles, so DataLoader workers can run it.

    Every argument is checked here, when the transform is made, not when the first row is read.

    Args:
        size: (height, width) every example is resized to (bilinear image, nearest labels), so that
            images of different sizes collate: two positive ints, `(512, 512)` for a square. None keeps
            each image's size; a mask must then be on its image's pixel grid.
        mean, std: per-channel normalisation of the [0, 1] pixels, 3 finite numbers each (RGB), every
            std > 0, e.g. IMAGENET_MEAN / IMAGENET_STD for pretrained backbones. None leaves the pixels
            in [0, 1].
        augment: applied to the image and label arrays together before anything else, in
            albumentations' convention: `augment(image=HxWx3 uint8, mask=HxW uint8)` returns a dict
            holding "image" (HxWx3 uint8, RGB: a greyscale HxW image is refused, not converted) and
            "mask" (HxW integers 0-255 of the image's height and width); resize masks with nearest and
            pad them with 255 there. What it returns is checked on every row (shapes and dtypes only).
        image_processor: a transformers image processor (e.g. `SegformerImageProcessor(
            do_reduce_labels=False)`) used instead of the built-in resize and normalisation; it is
            called with `images=` and `segmentation_maps=`.
        dct_scaling: when rows arrive undecoded (`Image(decode=False)`, as `for_training` casts them)
            and a `size` is given without `augment`, decode JPEGs at a reduced DCT scale before the
            resize. The pixels then differ slightly from a full decode followed by the same resize
            (libjpeg's scaled inverse DCT averages 2, 4 or 8 pixels first); labels never change.
        uint8: deliver `pixel_values` as uint8 CHW (0-255, not normalised) and `labels` as uint8, for
            `DeviceFeed` to make float32 / int64 on the device: DataLoader workers then move 0.9 MB
            per 640x360 example instead of 4.6 MB. mean/std go to `DeviceFeed` then.
        image_column: the batch's column holding the photos.
        label_column: the batch's column holding the masks (e.g. "label" after
            `rename_columns({"mask": "label"})`). None: rows without labels (inference), given
            `pixel_values` only; `augment` is refused then, as it transforms pairs.

    Raises:
        ValueError: `size`, `mean`, `std` or a column name out of range, or options that contradict
            each other (uint8 with mean/std or an image_processor; an image_processor with size or
            mean, or one that reduces labels; augment without a label column).
        TypeError: `augment` not callable, `dct_scaling` / `uint8` not bools, column names not strings.
    """

    def __init__(
        self,
        size: Optional[tuple[int, int]] = None,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        augment: Optional[Augment] = None,
        image_processor: Any = None,
        dct_scaling: bool = True,
        uint8: bool = False,
        image_column: str = "image",
        label_column: Optional[str] = "mask",
    ):
        self.size = _checked_size(size)
        self.scale, self.offset = pixel_scale_and_offset(mean, std)
        for name, flag in (("dct_scaling", dct_scaling), ("uint8", uint8)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        if augment is not None and not callable(augment):
            raise TypeError(f"augment must be callable (augment(image=, mask=) -> dict) or None, got {_shown(augment)}")
        self.image_column, self.label_column = _checked_columns(image_column, label_column)
        if augment is not None and label_column is None:
            raise ValueError("augment transforms image and mask together: give a label_column, or no augment")
        if uint8 and (mean is not None or image_processor is not None):
            raise ValueError("with uint8=True pixels are normalised on the device: give mean/std to DeviceFeed")
        if image_processor is not None and (size is not None or mean is not None):
            raise ValueError("an image_processor resizes and normalises itself: give it, or size/mean/std")
        if image_processor is not None and getattr(image_processor, "do_reduce_labels", False):
            raise ValueError(
                "the image processor reduces labels (text would become background): set do_reduce_labels=False"
            )
        self.augment, self.image_processor = augment, image_processor
        self.dct_scaling, self.uint8 = bool(dct_scaling), bool(uint8)
        self.pixel_dtype, self.label_dtype = (np.uint8, np.uint8) if uint8 else (np.float32, np.int64)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the transform reads: the image column, and the label column when there is one."""
        return (self.image_column,) if self.label_column is None else (self.image_column, self.label_column)

    def __call__(self, batch: Mapping) -> dict:
        """A batch of rows (a dict of columns) as {"pixel_values", "labels"}: one array each when the rows
        share a size, lists otherwise; no "labels" with `label_column=None`."""
        images, masks = self._batch_columns(batch)
        keep_freed_memory()  # here, not in __init__: it is the process that runs this that counts
        ready = self._ready(images, masks)
        if self.label_column is None:  # rows without labels: the ignore-only labels are not handed over
            del ready["labels"]
        return ready

    def _batch_columns(self, batch: Mapping) -> tuple[Sequence, Sequence]:
        """The batch's images and masks (Nones where it has no label column), each column checked to be there."""
        if not isinstance(batch, Mapping):
            raise TypeError(f"the transform takes a batch, a dict of columns, got {type(batch).__name__}")
        for argument, column in (("image_column", self.image_column), ("label_column", self.label_column)):
            if column is not None and column not in batch:
                raise ValueError(
                    f"the batch has no column {column!r} ({argument}); its columns: {list(batch)}: "
                    f"pass {argument}= naming the column to read (a Trainer needs remove_unused_columns=False)"
                )
        images = batch[self.image_column]
        if isinstance(images, (PIL.Image.Image, Mapping)):  # dataset[i] gives one row, not a batch of one
            raise TypeError("the transform takes a batch (lists of values), got one row: pass dataset[i : i + 1]")
        return images, [None] * len(images) if self.label_column is None else batch[self.label_column]

    def _ready(self, images: Sequence, masks: Sequence) -> dict:
        pairs = [self._arrays(image, mask) for image, mask in zip(images, masks, strict=True)]
        if self.image_processor is not None:
            images, labels = [np.asarray(image) for image, _ in pairs], [label for _, label in pairs]
            encoded = self.image_processor(images=images, segmentation_maps=labels, return_tensors="np")
            return {
                "pixel_values": list(encoded["pixel_values"].astype(np.float32)),
                "labels": list(encoded["labels"].astype(np.int64)),
            }
        if len({(_height_width(image), label.shape) for image, label in pairs}) != 1:  # sizes differ, or no rows
            return {
                "pixel_values": [self._pixels(image) for image, _ in pairs],
                "labels": [label.astype(self.label_dtype) for _, label in pairs],
            }
        # One array a batch, its rows views of it: a batch's examples take fresh memory once, not once
        # an example (first touching memory is what costs, on the benchmark machine ~0.5 ms an example).
        height, width = _height_width(pairs[0][0])
        pixel_values = np.empty((len(pairs), 3, height, width), self.pixel_dtype)
        labels = np.empty((len(pairs), height, width), self.label_dtype)
        for index, (image, label) in enumerate(pairs):
            self._pixels(image, out=pixel_values[index])
            labels[index] = label
        return {"pixel_values": pixel_values, "labels": labels}

    def _pixels(self, image: Union[PIL.Image.Image, np.ndarray], out: Optional[np.ndarray] = None) -> np.ndarray:
        """RGB (a PIL image, or HWC uint8) -> CHW: uint8 as it is, or float32 scaled and normalised,
        x * scale - offset per channel (scale 1 / (255 std), offset mean / std), which is
        (x / 255 - mean) / std up to float rounding.

        A PIL image goes one channel at a time (`split`, then contiguous copies), never copied out
        whole (`tobytes`) and transposed: no 0.7 MB buffer to allocate a 640x360 row. Where the
        allocator gives such buffers back at once (the training process), that was 405 page faults
        and 1.2 ms of system time a row; in DataLoader workers (allocator tuned) both ways cost alike.
        """
        channels = image.split() if isinstance(image, PIL.Image.Image) else image.transpose(2, 0, 1)
        out = np.empty((3, *_height_width(image)), self.pixel_dtype) if out is None else out
        for index, channel in enumerate(channels):
            if self.uint8:
                out[index] = np.asarray(channel)
                continue
            np.multiply(np.asarray(channel), self.scale[index], out=out[index])
            if self.offset is not None:
                out[index] -= self.offset[index]
        return out

    def _arrays(self, image_value, mask_value) -> tuple[Union[PIL.Image.Image, np.ndarray], np.ndarray]:
        """(the RGB image, HW uint8 labels), augmented, then resized to `size`. The image stays a PIL
        image when nothing needs its pixels as an array before `_pixels`; otherwise it is HWC uint8."""
        if image_value is None:
            raise ValueError(f"a row's {self.image_column!r} is None: every row needs an image")
        reduced = self.dct_scaling and self.size is not None and self.augment is None
        image = decode_image(image_value, self.size[::-1] if reduced else None)
        image = image if image.mode == "RGB" else image.convert("RGB")  # convert would copy an RGB image
        if self.augment is None and self.size is not None:
            return _resized(image, self.size, PIL.Image.Resampling.BILINEAR), resized_labels(mask_value, self.size)
        labels = label_array(None if mask_value is None else decode_mask(mask_value), _height_width(image))
        if labels.shape != _height_width(image) and (self.augment is not None or self.image_processor is None):
            raise ValueError(  # nothing resizes the two apart: they would be handed over misaligned
                f"a row's {self.label_column!r} is {labels.shape[1]}x{labels.shape[0]}, its image "
                f"{image.width}x{image.height}: a mask must be on its image's pixel grid (give size= to resize both)"
            )
        if self.augment is None:
            return image, labels
        pixels, labels = _augmented(self.augment, np.asarray(image), labels)
        if self.size is not None:
            height, width = self.size
            pixels = np.asarray(PIL.Image.fromarray(pixels).resize((width, height), PIL.Image.Resampling.BILINEAR))
            labels = np.asarray(PIL.Image.fromarray(labels).resize((width, height), PIL.Image.Resampling.NEAREST))
        return pixels, labels


def _augmented(augment: Augment, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pixels HxWx3 uint8, labels HxW uint8) as `augment` returns them, its result checked by shape
    and dtype (metadata only; the values are read only for a mask not already uint8)."""
    out = augment(image=image, mask=mask)
    if not isinstance(out, Mapping) or "image" not in out or "mask" not in out:
        raise ValueError(f"augment must return a dict holding 'image' and 'mask'; it returned {_described(out)}")
    pixels, labels = np.asarray(out["image"]), np.asarray(out["mask"])
    expected = None
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        expected = "the image as uint8 HWC with 3 channels (RGB, 0-255)"
    elif labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        expected = "the mask as HW integer labels (2-D, one label a pixel)"
    elif labels.shape != pixels.shape[:2]:
        expected = "a mask of the image's height and width"
    elif labels.dtype != np.uint8 and labels.size and (labels.min() < 0 or labels.max() > 255):
        expected = "mask values that fit uint8 (0 background, 1 text, 255 ignore)"
    if expected is not None:
        raise ValueError(f"augment must return {expected}; it returned {_described(out)}")
    return pixels, labels.astype(np.uint8, copy=False)


def _described(value: Any) -> str:
    """What a callback returned, on one line: its type; for a dict its keys and each array's dtype and shape."""
    if not isinstance(value, Mapping):
        return _array_described(value)
    arrays = ", ".join(f"{key!r}: {_array_described(value[key])}" for key in ("image", "mask") if key in value)
    return f"{type(value).__name__} with keys {list(value)}" + (f" ({arrays})" if arrays else "")


def _array_described(value: Any) -> str:
    if value is None:
        return "None"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} {value.dtype} {tuple(value.shape)}"
    return type(value).__name__


def _checked_size(size: Any) -> Optional[tuple[int, int]]:
    """`size` as (height, width) ints, or None.

    Raises:
        ValueError: `size` is not None nor two positive ints (a single number, floats, bools, zeros).
    """
    if size is None:
        return None
    if isinstance(size, numbers.Real) and not isinstance(size, (bool, np.bool_)):
        side = int(size) if math.isfinite(size) and size >= 1 and size == int(size) else 512
        raise ValueError(
            f"size must be (height, width), two positive ints; got the single number {size!r}: "
            f"give ({side}, {side}) for a square"
        )
    if (
        isinstance(size, (Sequence, np.ndarray))
        and not isinstance(size, str)
        and len(size) == 2
        and all(_is_int(v) and v > 0 for v in size)
    ):
        return int(size[0]), int(size[1])
    raise ValueError(
        f"size must be None or (height, width), two positive ints, e.g. (512, 512) for a square; got {_shown(size)}"
    )


def _shown(value: Any) -> str:
    """`repr(value)` on one line (a numpy array's repr breaks lines)."""
    return " ".join(repr(value).split())


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _checked_columns(image_column: Any, label_column: Any) -> tuple[str, Optional[str]]:
    for name, column in (("image_column", image_column), ("label_column", label_column)):
        if not isinstance(column, str) and not (name == "label_column" and column is None):
            raise TypeError(
                f"{name} must be a column name (a str{' or None' if name == 'label_column' else ''}), got {column!r}"
            )
    if image_column == label_column:
        raise ValueError(f"image_column and label_column must differ, both are {image_column!r}")
    return image_column, label_column


def _height_width(image: Union[PIL.Image.Image, np.ndarray]) -> tuple[int, int]:
    return image.size[::-1] if isinstance(image, PIL.Image.Image) else image.shape[:2]


def _resized(image: PIL.Image.Image, size: tuple[int, int], resample: int) -> PIL.Image.Image:
    """`image` resized to (height, width) `size`; as it is when it already has that size (where
    `resize` would return a copy: a DCT-scaled decode often lands on the size exactly)."""
    return image if image.size == size[::-1] else image.resize(size[::-1], resample)


def pixel_scale_and_offset(
    mean: Optional[Sequence[float]], std: Optional[Sequence[float]]
) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """(scale, offset), each (3, 1, 1) float32, such that pixels * scale - offset is (pixels / 255 - mean) / std
    (offset None without mean/std: pixels / 255).

    Raises:
        ValueError: only one of mean and std given; either not 3 finite numbers (one per RGB channel);
            a std that is not > 0 (pixels are divided by it).
    """
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std, or neither")
    if mean is None:
        return np.full((3, 1, 1), 1 / 255, np.float32), None
    mean64, std64 = _channel_values("mean", mean), _channel_values("std", std)
    if not (std64 > 0).all():
        raise ValueError(f"std must be > 0 for every channel (pixels are divided by it), got {list(std)}")
    return (1 / (255 * std64)).astype(np.float32), (mean64 / std64).astype(np.float32)


def _channel_values(name: str, values: Any) -> np.ndarray:
    """`values` as (3, 1, 1) float64, after checking they are 3 finite real numbers."""
    is_sequence = isinstance(values, (Sequence, np.ndarray)) and not isinstance(values, (str, bytes))
    numbers_given = is_sequence and all(
        isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) for value in values
    )
    if not numbers_given or len(values) != 3 or not all(math.isfinite(value) for value in values):
        raise ValueError(
            f"{name} must be 3 finite numbers, one per RGB channel (e.g. IMAGENET_{name.upper()}), got {_shown(values)}"
        )
    return np.asarray(values, np.float64).reshape(3, 1, 1)


def training_transform(batch: Mapping, size: Optional[tuple[int, int]] = None, **options) -> dict:
    """Rows -> trainer inputs: `TrainingTransform(size, **options)(batch)`.

    `pixel_values`: float32 CHW in [0, 1] (normalised when `mean`/`std` are given); `labels`:
    int64 HW holding 0 background, 1 text and 255 uncertain, kept as the ignore index
    (`do_reduce_labels=False`, `ignore_index=255`). A row without a mask gets labels of 255 only.

    Args:
        batch: a batch of rows, a dict of columns (as `set_transform` and `map(batched=True)` pass it).
        size: see `TrainingTransform`.
        **options: `TrainingTransform`'s other arguments, e.g. `label_column="label"`.

    Returns:
        {"pixel_values": ..., "labels": ...} (no "labels" with `label_column=None`).

    Raises:
        ValueError, TypeError: as `TrainingTransform` raises them, before any row is decoded; a batch
            without the image or label column.
    """
    return TrainingTransform(size, **options)(batch)


TrainableDataset = Union[datasets.Dataset, datasets.IterableDataset, datasets.DatasetDict, datasets.IterableDatasetDict]


def for_training(dataset: TrainableDataset, batch_size: int = 16, **options) -> TrainableDataset:
    """The one way to make rows trainer-ready: only `pixel_values` and `labels`, any mix of rows collates.

    The image and label columns (`image_column`, `label_column`: "image" and "mask" unless given, e.g.
    `label_column="label"` after `rename_columns({"mask": "label"})`) are cast to `Image(decode=False)`,
    so the transform decodes them itself (at a reduced DCT scale when it can; see `TrainingTransform`)
    instead of `datasets` decoding every photo whole first. A `Dataset` gets `with_transform` (rows
    are transformed when read, in DataLoader workers); an `IterableDataset` gets `map(...,
    batched=True)` with every original column removed, formatted as numpy. With transformers'
    `Trainer`, set `remove_unused_columns=False` for a `Dataset`: the Trainer drops the columns the
    model does not name (`image`, `mask`) before the transform would read them.

    Args:
        dataset: a `Dataset`, `IterableDataset`, or a dict of them (every split made ready).
        batch_size: rows an `IterableDataset`'s map transforms at once (a positive int).
        **options: `TrainingTransform`'s arguments (`size`, `mean`, `std`, `augment`, `image_processor`,
            `dct_scaling`, `uint8`, `image_column`, `label_column`).

    Returns:
        The dataset (or dict) of the same type, giving `pixel_values` and `labels` rows.

    Raises:
        ValueError: an option out of range (see `TrainingTransform`); `batch_size` not a positive int;
            the image or label column missing or not a `datasets.Image`; an `IterableDataset` whose
            features are unknown (`features is None`, as after a `map` without `features=`).
        TypeError: `dataset` not one of the four types; an option of the wrong type.
    """
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return _ready_for_training(dataset, TrainingTransform(**options), int(batch_size))


def _ready_for_training(
    dataset: TrainableDataset, transform: TrainingTransform, batch_size: int, split: Optional[str] = None
) -> TrainableDataset:
    if isinstance(dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        parts = {name: _ready_for_training(part, transform, batch_size, name) for name, part in dataset.items()}
        return type(dataset)(parts)
    if not isinstance(dataset, (datasets.Dataset, datasets.IterableDataset)):
        raise TypeError(
            f"dataset must be a datasets Dataset, IterableDataset or a dict of them, got {type(dataset).__name__}"
        )
    _check_columns(dataset.features, transform, "the dataset" if split is None else f"split {split!r}")
    for column in transform.columns:  # a cast of the column type only: no data is touched
        dataset = dataset.cast_column(column, datasets.Image(decode=False))
    if isinstance(dataset, datasets.IterableDataset):
        mapped = dataset.map(transform, batched=True, batch_size=batch_size, remove_columns=list(dataset.column_names))
        # The transform's arrays as they are; "numpy" formatting would make uint8 arrays int64 (8x the bytes)
        return mapped if transform.uint8 else mapped.with_format("numpy")
    return dataset.with_transform(transform)


def _check_columns(features: Optional[datasets.Features], transform: TrainingTransform, where: str) -> None:
    """Refuse, before any cast, a dataset whose image or label column is missing or not an `Image`
    (`cast_column` would add a missing column as all None: labels of 255 only, silently)."""
    if features is None:  # IterableDataset after a map without features=; only reading rows would tell
        raise ValueError(
            f"{where} has unknown features (IterableDataset.features is None, as after a map() without "
            f"features=): give them back with dataset.cast(features) or map(..., features=...), with "
            f"{' and '.join(map(repr, transform.columns))} as datasets.Image()"
        )
    images = [name for name, feature in features.items() if isinstance(feature, datasets.Image)]
    for argument, column in (("image_column", transform.image_column), ("label_column", transform.label_column)):
        if column is None:
            continue
        holds = "photos" if argument == "image_column" else "masks (or label_column=None for rows without labels)"
        if column not in features:
            raise ValueError(
                f"{where} has no column {column!r} ({argument}); its columns: {list(features)}, of which Image "
                f"columns: {images}: pass {argument}= naming the column that holds the {holds}"
            )
        if not isinstance(features[column], datasets.Image):
            raise ValueError(
                f"{where}'s column {column!r} ({argument}) is {features[column]!r}, not a datasets.Image(); "
                f"Image columns: {images}: pass {argument}= naming the column that holds the {holds}"
            )
