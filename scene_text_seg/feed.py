"""Batches from DataLoader workers to the model: `collate` (no stacked copy of a batch made whole)
and `DeviceFeed` (uint8 batches made float32 and normalised where they land). torch is imported
only when these run: it is a training dependency, never the package's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Optional

import numpy as np

from .memory import dataloader_worker
from .transform import pixel_scale_and_offset


def collate(rows: Sequence[Any]) -> Any:
    """`DataLoader(collate_fn=ist_s.collate)` (or `Trainer(data_collator=...)`): torch's `default_collate`,
    except that a column whose rows are the consecutive rows of one array (as the transform returns a
    batch of same-sized rows) becomes a tensor over that array instead of a stacked copy. The copy
    is ~0.8 ms a 640x360 float row on the benchmark machine, paid in the training process when the
    loader has no workers (the Trainer's default); in a worker the batch goes into shared memory,
    which is one copy either way, so workers collate as torch does.
    """
    import torch
    from torch.utils.data import default_collate

    if dataloader_worker() is not None or not rows or not all(isinstance(row, dict) for row in rows):
        return default_collate(rows)
    batch = {}
    for key in rows[0]:
        column = [row[key] for row in rows]
        whole = _one_array(column)
        batch[key] = torch.from_numpy(whole) if whole is not None else default_collate(column)
    return batch


def _one_array(column: list) -> Optional[np.ndarray]:
    """The array whose rows, in order and all of them, are `column`'s arrays; None when there is none."""
    whole = getattr(column[0], "base", None)
    if not isinstance(whole, np.ndarray) or not whole.flags.c_contiguous or whole.shape[0] != len(column):
        return None
    start, step = whole.__array_interface__["data"][0], whole.strides[0]
    for index, row in enumerate(column):
        is_row = isinstance(row, np.ndarray) and row.base is whole and row.strides == whole.strides[1:]
        if not is_row or row.__array_interface__["data"][0] != start + index * step:
            return None
    return whole


class DeviceFeed:
    """Batches onto a device, made model-ready there: uint8 `pixel_values` (`uint8=True`) become
    float32 scaled to [0, 1] and normalised with `mean`/`std`, `labels` become int64.

    The same move as timm's prefetching loader: workers hand over uint8 (0.9 MB per 640x360 example
    instead of 4.6 MB of float32 and int64, whose hand-over cost the workers of the 2-core benchmark
    machine about as much as the decode), and the conversion runs where the batch lands, on the
    accelerator's time. Batches already float (the default transform) are only moved. Other keys are
    moved when they are tensors.

        loader = DataLoader(ist_s.for_training(train, size=(360, 640), uint8=True), batch_size=8, num_workers=2)
        for batch in ist_s.DeviceFeed(loader, "cuda", mean=ist_s.IMAGENET_MEAN, std=ist_s.IMAGENET_STD):
            loss = loss_fn(model(batch["pixel_values"]), batch["labels"])
    """

    def __init__(
        self,
        batches: Iterable[dict],
        device: Any = None,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
    ):
        import torch  # a training dependency, not the package's

        scale, offset = pixel_scale_and_offset(mean, std)
        self.batches, self.device = batches, torch.device(device or "cpu")
        self.scale = torch.from_numpy(scale).unsqueeze(0).to(self.device)
        self.offset = None if offset is None else torch.from_numpy(offset).unsqueeze(0).to(self.device)

    def __len__(self) -> int:
        return len(self.batches)  # TypeError for a loader without a length, as the loader itself raises

    def __iter__(self) -> Iterator[dict]:
        for batch in self.batches:
            yield self.convert(batch)

    def convert(self, batch: dict) -> dict:
        """One batch: every tensor moved to the device; uint8 pixels to normalised float32, labels to int64."""
        import torch

        moved = {
            key: value.to(self.device, non_blocking=True) if isinstance(value, torch.Tensor) else value
            for key, value in batch.items()
        }
        pixels = moved["pixel_values"]
        if pixels.dtype == torch.uint8:
            pixels = pixels.float().mul_(self.scale)  # in place after the one copy the dtype needs
            moved["pixel_values"] = pixels.sub_(self.offset) if self.offset is not None else pixels
        if "labels" in moved:
            moved["labels"] = moved["labels"].long()
        return moved
