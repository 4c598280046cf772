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
from collections.abc import Callable, Sequence
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

    Args:
        size: (height, width) every example is resized to (bilinear image, nearest labels), so that
            images of different sizes collate. None keeps each image's size.
        mean, std: per-channel normalisation of the [0, 1] pixels, e.g. IMAGENET_MEAN / IMAGENET_STD
            for pretrained backbones. None leaves the pixels in [0, 1].
        augment: applied to the image and label arrays together before anything else, in
            albumentations' convention (`augment(image=..., mask=...)` -> dict): resize masks with
            nearest and pad them with 255 there.
        image_processor: a transformers image processor (e.g. `SegformerImageProcessor(
            do_reduce_labels=False)`) used instead of the built-in resize and normalisation; it is
            called with `images=` and `segmentation_maps=`.
        uint8: deliver `pixel_values` as uint8 CHW (0-255, not normalised) and `labels` as uint8, for
            `DeviceFeed` to make float32 / int64 on the device: DataLoader workers then move 0.9 MB
            per 640x360 example instead of 4.6 MB. mean/std go to `DeviceFeed` then.
        dct_scaling: when rows arrive undecoded (`Image(decode=False)`, as `for_training` casts them)
            and a `size` is given without `augment`, decode JPEGs at a reduced DCT scale before the
            resize. The pixels then differ slightly from a full decode followed by the same resize
            (libjpeg's scaled inverse DCT averages 2, 4 or 8 pixels first); labels never change.
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
    ):
        self.scale, self.offset = pixel_scale_and_offset(mean, std)  # checks them first
        if uint8 and (mean is not None or image_processor is not None):
            raise ValueError("with uint8=True pixels are normalised on the device: give mean/std to DeviceFeed")
        if image_processor is not None and (size is not None or mean is not None):
            raise ValueError("an image_processor resizes and normalises itself: give it, or size/mean/std")
        if image_processor is not None and getattr(image_processor, "do_reduce_labels", False):
            raise ValueError(
                "the image processor reduces labels (text would become background): set do_reduce_labels=False"
            )
        self.size, self.augment, self.image_processor = size, augment, image_processor
        self.dct_scaling, self.uint8 = dct_scaling, uint8
        self.pixel_dtype, self.label_dtype = (np.uint8, np.uint8) if uint8 else (np.float32, np.int64)

    def __call__(self, batch: dict) -> dict:
        keep_freed_memory()  # here, not in __init__: it is the process that runs this that counts
        pairs = [self._arrays(image, mask) for image, mask in zip(batch["image"], batch["mask"], strict=True)]
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
        reduced = self.dct_scaling and self.size is not None and self.augment is None
        image = decode_image(image_value, self.size[::-1] if reduced else None)
        image = image if image.mode == "RGB" else image.convert("RGB")  # convert would copy an RGB image
        if self.augment is None and self.size is not None:
            return _resized(image, self.size, PIL.Image.Resampling.BILINEAR), resized_labels(mask_value, self.size)
        mask = None if mask_value is None else decode_mask(mask_value)
        if self.augment is None:
            return image, label_array(mask, _height_width(image))
        out = self.augment(image=np.asarray(image), mask=label_array(mask, _height_width(image)))
        pixels, label = np.asarray(out["image"]), np.asarray(out["mask"])
        if pixels.dtype != np.uint8:
            raise ValueError(f"augment must return the image as uint8 HWC (0-255), got {pixels.dtype}")
        if self.size is not None:
            height, width = self.size
            pixels = np.asarray(PIL.Image.fromarray(pixels).resize((width, height), PIL.Image.Resampling.BILINEAR))
            label = np.asarray(PIL.Image.fromarray(label).resize((width, height), PIL.Image.Resampling.NEAREST))
        return pixels, label


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
    (offset None without mean/std: pixels / 255)."""
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std, or neither")
    if mean is None:
        return np.full((3, 1, 1), 1 / 255, np.float32), None
    mean64, std64 = np.asarray(mean, np.float64).reshape(3, 1, 1), np.asarray(std, np.float64).reshape(3, 1, 1)
    return (1 / (255 * std64)).astype(np.float32), (mean64 / std64).astype(np.float32)


def training_transform(batch: dict, size: Optional[tuple[int, int]] = None, **options) -> dict:
    """Rows -> trainer inputs: `TrainingTransform(size, **options)(batch)`.

    `pixel_values`: float32 CHW in [0, 1] (normalised when `mean`/`std` are given); `labels`:
    int64 HW holding 0 background, 1 text and 255 uncertain, kept as the ignore index
    (`do_reduce_labels=False`, `ignore_index=255`). A row without a mask gets labels of 255 only.
    """
    return TrainingTransform(size, **options)(batch)


TrainableDataset = Union[datasets.Dataset, datasets.IterableDataset, datasets.DatasetDict, datasets.IterableDatasetDict]


def for_training(dataset: TrainableDataset, batch_size: int = 16, **options) -> TrainableDataset:
    """The one way to make rows trainer-ready: only `pixel_values` and `labels`, any mix of rows collates.

    `image` and `mask` are cast to `Image(decode=False)`, so the transform decodes them itself (at a
    reduced DCT scale when it can; see `TrainingTransform`) instead of `datasets` decoding every
    photo whole first. A `Dataset` gets `with_transform` (rows are transformed when read, in
    DataLoader workers); an `IterableDataset` gets `map(..., batched=True)` with every original column
    removed, formatted as numpy. `options` are `TrainingTransform`'s. With transformers' `Trainer`, set
    `remove_unused_columns=False` for a `Dataset`: the Trainer drops the columns the model does not
    name (`image`, `mask`) before the transform would read them.
    """
    if isinstance(dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        return type(dataset)({split: for_training(part, batch_size, **options) for split, part in dataset.items()})
    transform = TrainingTransform(**options)
    for column in ("image", "mask"):  # a cast of the column type only: no data is touched
        dataset = dataset.cast_column(column, datasets.Image(decode=False))
    if isinstance(dataset, datasets.IterableDataset):
        columns = list(dataset.column_names or ["image_id", "image", "mask", "mask_classes"])
        mapped = dataset.map(transform, batched=True, batch_size=batch_size, remove_columns=columns)
        # The transform's arrays as they are; "numpy" formatting would make uint8 arrays int64 (8x the bytes)
        return mapped if transform.uint8 else mapped.with_format("numpy")
    return dataset.with_transform(transform)
