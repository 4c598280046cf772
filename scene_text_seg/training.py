"""Rows into trainer inputs, in transformers' semantic-segmentation convention."""

from __future__ import annotations

from typing import Optional

import numpy as np
import PIL.Image

from .spec import IGNORE_INDEX


def training_transform(batch: dict, size: Optional[tuple[int, int]] = None) -> dict:
    """Rows -> trainer inputs, in transformers' semantic-segmentation convention.

    `pixel_values`: float32 CHW in [0, 1]; `labels`: int64 HW holding 0 background, 1 text and
    255 uncertain, kept as the ignore index (`do_reduce_labels=False`, `ignore_index=255`).
    A row without a mask (config `with_unlabeled`) gets labels of 255 only. Batched, so it
    serves `Dataset.set_transform` and `IterableDataset.map(..., batched=True)`; `size` =
    (height, width) resizes, bilinear for the image, nearest for the labels.
    """
    pixel_values, labels = [], []
    for image, mask in zip(batch["image"], batch["mask"], strict=True):
        image = image.convert("RGB")
        if size is not None:
            image = image.resize(size[::-1], PIL.Image.Resampling.BILINEAR)
        if mask is None:
            target = np.full((image.height, image.width), IGNORE_INDEX, np.int64)
        else:
            if size is not None:
                mask = mask.resize(size[::-1], PIL.Image.Resampling.NEAREST)
            target = np.asarray(mask, dtype=np.int64)
        pixel_values.append(np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0)
        labels.append(target)
    return {"pixel_values": pixel_values, "labels": labels}
