"""The names every dataset module offers its users, in one place.

Each script (`ist_s.py`, `mlt_s.py`, `coco_ts.py`) takes them with `from scene_text_seg.api import *`
and binds the engine's functions to its builder with `bind`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from . import builder, cli, publish
from .errors import (
    CacheFolderError,
    ChecksumMismatchError,
    InvalidInputError,
    MissingInputError,
    PublishError,
    SceneTextSegError,
)
from .feed import DeviceFeed, collate
from .metrics import compute_metrics, segmentation_metrics
from .spec import CLASS_NAMES, ID2LABEL, IGNORE_INDEX, LABEL2ID
from .transform import IMAGENET_MEAN, IMAGENET_STD, TrainingTransform, for_training, training_transform
from .words import detection_targets

__all__ = [
    "CLASS_NAMES",
    "ID2LABEL",
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LABEL2ID",
    "CacheFolderError",
    "ChecksumMismatchError",
    "DeviceFeed",
    "InvalidInputError",
    "MissingInputError",
    "PublishError",
    "SceneTextSegError",
    "TrainingTransform",
    "collate",
    "compute_metrics",
    "detection_targets",
    "for_training",
    "segmentation_metrics",
    "training_transform",
]


def bind(builder_cls: type[builder.SceneTextSegBuilder]) -> tuple[Callable, ...]:
    """`load`, `prepare`, `inventory`, `export`, `push` and `main`, bound to one dataset's builder."""
    functions = (builder.load, builder.prepare, builder.inventory, publish.export, publish.push, cli.main)
    return tuple(_bound(function, builder_cls) for function in functions)


def _bound(function: Callable, builder_cls: type) -> functools.partial:
    bound = functools.partial(function, builder_cls)
    bound.__name__, bound.__doc__ = function.__name__, function.__doc__  # help(ist_s.load) reads as load's
    bound.__module__ = builder_cls.__module__
    return bound
