"""The names every dataset module offers its users, in one place.

Each dataset module (`ist_s.py`, `mlt_s.py`, `coco_ts.py`) takes the shared names with
`from scene_text_seg.api import *` and its own functions (`load`, `prepare`, `inventory`, `export`,
`push`, `main`) from a `DatasetFunctions` bound to its builder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Optional, Union

import datasets

from . import builder, cli, publish
from .errors import (
    CacheFolderError,
    CacheFolderFullError,
    ChecksumMismatchError,
    InvalidInputError,
    MissingInputError,
    PublishError,
    SceneTextSegError,
)
from .evaluation import evaluate
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
    "CacheFolderFullError",
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
    "evaluate",
    "for_training",
    "segmentation_metrics",
    "training_transform",
]


PathLike = Union[str, "os.PathLike[str]"]
Loaded = Union[datasets.DatasetDict, datasets.Dataset, datasets.IterableDatasetDict, datasets.IterableDataset]


class DatasetFunctions:
    """What a dataset module offers its users, bound to its builder: `ist_s.load`, `ist_s.prepare`, ...

    Each dataset module makes one (`_functions = DatasetFunctions(IstS)`) and exports its methods under
    their own names, so `help(ist_s.load)`, `inspect.signature` and an IDE show every parameter.
    Arguments are checked here, where they are given, and an error names the argument.

    Args:
        builder_cls: the dataset's builder (a `SceneTextSegBuilder` subclass with its `SPEC`).
    """

    def __init__(self, builder_cls: type[builder.SceneTextSegBuilder]):
        self.builder_cls = builder_cls

    def load(
        self,
        data_dir: PathLike,
        *,
        split: Optional[str] = None,
        streaming: bool = False,
        config: str = "default",
        cache_dir: Optional[PathLike] = None,
        num_proc: Optional[int] = None,
        verification_mode: Optional[str] = None,
    ) -> Loaded:
        """Load the dataset from the folder holding its downloads: what `load_dataset(script, config,
        data_dir=...)` returns, on any `datasets` version.

        Args:
            data_dir: the folder holding the downloads (each a zip or the folder it extracts to).
            split: one split (a `Dataset`); None for all of them (a `DatasetDict`).
            streaming: read the archives in place, row by row (an `IterableDataset`); no Arrow cache is
                written and the downloads are not hashed.
            config: the config's name (`default`, `with_unlabeled`, `words`, ... as the dataset has them).
            cache_dir: the `datasets` cache folder; None for `datasets`' own.
            num_proc: processes for the build (its shards are divided between them); None for one.
            verification_mode: `"no_checks"` skips hashing the downloads (synthetic stand-ins, or
                modified inputs, need it); None or `"basic_checks"` / `"all_checks"` hash them once
                while building and compare them with the published checksums.

        Returns:
            A `DatasetDict` (or `Dataset` for one split); their `Iterable` forms when streaming.

        Raises:
            MissingInputError: a download is not in `data_dir` (the message lists every expected file).
            InvalidInputError: an input is not what the dataset holds (named, with what was found).
            ChecksumMismatchError: a download differs from the published file.
            ValueError, TypeError: an argument is not one this function takes (named in the message).
        """
        options = {"split": split, "config": config, "cache_dir": cache_dir, "num_proc": num_proc}
        data_dir = self._checked(data_dir, **options, verification_mode=verification_mode)
        _check_flag("streaming", streaming)
        return builder.load(
            self.builder_cls, data_dir, split, streaming, config, _path(cache_dir), num_proc, verification_mode
        )

    def prepare(
        self,
        data_dir: PathLike,
        *,
        config: str = "default",
        cache_dir: Optional[PathLike] = None,
        num_proc: Optional[int] = None,
        verification_mode: Optional[str] = None,
    ) -> builder.SceneTextSegBuilder:
        """Build (or find in the cache) the Arrow files of one config and return the ready builder.

        Args:
            data_dir: the folder holding the downloads.
            config: the config's name.
            cache_dir: the `datasets` cache folder; None for `datasets`' own.
            num_proc: processes for the build; None for one.
            verification_mode: `"no_checks"` skips hashing the downloads (see `load`).

        Returns:
            The builder, prepared: `.as_dataset()`, `.info`, `.cache_dir`.

        Raises:
            MissingInputError, InvalidInputError, ChecksumMismatchError: as `load` raises them.
            ValueError, TypeError: an argument is not one this function takes.
        """
        options = {"config": config, "cache_dir": cache_dir, "num_proc": num_proc}
        data_dir = self._checked(data_dir, **options, verification_mode=verification_mode)
        return builder.prepare(self.builder_cls, data_dir, config, _path(cache_dir), num_proc, verification_mode)

    def inventory(self, data_dir: PathLike) -> dict[str, dict[str, int]]:
        """Images, labelled and unlabeled images per split, from the archives' listings (nothing is decoded).

        Args:
            data_dir: the folder holding the downloads.

        Returns:
            `{split: {"images": n, "labelled": n, "unlabeled": n}}`.

        Raises:
            MissingInputError, InvalidInputError: as `load` raises them.
        """
        return builder.inventory(self.builder_cls, self._checked(data_dir))

    def export(
        self,
        data_dir: PathLike,
        out_dir: PathLike,
        *,
        configs: Optional[Sequence[str]] = None,
        cache_dir: Optional[PathLike] = None,
        num_proc: Optional[int] = None,
        verification_mode: Optional[str] = None,
        max_shard_size: Union[str, int] = "500MB",
    ) -> dict[str, dict[str, dict]]:
        """Write a Hub dataset repo folder (Parquet shards with the bytes embedded, the card with its YAML,
        `id2label.json`) that `datasets.load_dataset(out_dir)` reads with no script, on any version.

        Args:
            data_dir: the folder holding the downloads.
            out_dir: the folder to write: new, empty, or an earlier export.
            configs: the configs to export; None for every config whose inputs are all present.
            cache_dir: the `datasets` cache folder the configs are built in; None for `datasets`' own.
            num_proc: processes for the builds; None for one.
            verification_mode: `"no_checks"` skips hashing the downloads (see `load`).
            max_shard_size: the largest Parquet file, e.g. `"500MB"` or a number of bytes.

        Returns:
            `{config: {split: {"num_examples": n, "num_bytes": b}}}`, as the card states them.

        Raises:
            PublishError: `out_dir` cannot be written as an export.
            MissingInputError, InvalidInputError, ChecksumMismatchError: as `load` raises them.
        """
        data_dir = self._checked(data_dir, cache_dir=cache_dir, num_proc=num_proc, verification_mode=verification_mode)
        _check_type("out_dir", out_dir, (str, os.PathLike), "a folder path")
        options = self._publish_options(configs, cache_dir, num_proc, verification_mode, max_shard_size)
        return publish.export(self.builder_cls, data_dir, os.fspath(out_dir), **options)

    def push(
        self,
        data_dir: PathLike,
        repo_id: str,
        *,
        private: bool = False,
        token: Optional[str] = None,
        revision: Optional[str] = None,
        configs: Optional[Sequence[str]] = None,
        cache_dir: Optional[PathLike] = None,
        num_proc: Optional[int] = None,
        verification_mode: Optional[str] = None,
        max_shard_size: Union[str, int] = "500MB",
    ) -> str:
        """Export to a temporary folder and upload it as the Hub dataset repo `repo_id` (created if needed).

        Args:
            data_dir: the folder holding the downloads.
            repo_id: `"org/name"` on the Hub.
            private: create the repo private.
            token: a Hub token; None for the logged-in one.
            revision: the branch to push to (created if needed); None for the default branch.
            configs: the configs to push; None for every config whose inputs are all present.
            cache_dir: the `datasets` cache folder the configs are built in; None for `datasets`' own.
            num_proc: processes for the builds; None for one.
            verification_mode: `"no_checks"` skips hashing the downloads (see `load`).
            max_shard_size: the largest Parquet file, e.g. `"500MB"` or a number of bytes.

        Returns:
            The URL of the commit.

        Raises:
            PublishError: no token, the Hub refused the repo, or it could not be reached.
        """
        data_dir = self._checked(data_dir, cache_dir=cache_dir, num_proc=num_proc, verification_mode=verification_mode)
        _check_type("repo_id", repo_id, str, '"org/name"')
        _check_flag("private", private)
        for name, value in (("token", token), ("revision", revision)):
            if value is not None:
                _check_type(name, value, str, "a string")
        options = self._publish_options(configs, cache_dir, num_proc, verification_mode, max_shard_size)
        return publish.push(self.builder_cls, data_dir, repo_id, private, token, revision, **options)

    def main(self, argv: Optional[Sequence[str]] = None) -> int:
        """The dataset's command line (`ist-s VERB ...`, `python ist_s.py VERB ...`).

        Args:
            argv: the arguments after the command; None for `sys.argv[1:]`.

        Returns:
            The exit status: 0, 2 for bad input or usage, 1 for anything else, 130 when interrupted.
        """
        if argv is not None and (isinstance(argv, str) or not all(isinstance(a, str) for a in argv)):
            raise TypeError(f"argv: expected a list of strings, e.g. ['build', '--num-proc', '2'], got {argv!r}")
        return cli.main(self.builder_cls, None if argv is None else list(argv))

    def _checked(self, data_dir: PathLike, **options) -> str:
        """`data_dir` as a string, once every argument in `options` is checked."""
        _check_type("data_dir", data_dir, (str, os.PathLike), "the path of the folder holding the downloads")
        names = builder.config_names(self.builder_cls)
        if "config" in options:
            _check_choice("config", options["config"], names)
        if options.get("split") is not None:
            _check_choice("split", options["split"], self.builder_cls.SPEC.splits_of(options["config"]))
        if options.get("cache_dir") is not None:
            _check_type("cache_dir", options["cache_dir"], (str, os.PathLike), "a folder path")
        num_proc = options.get("num_proc")
        if num_proc is not None and (isinstance(num_proc, bool) or not isinstance(num_proc, int) or num_proc < 1):
            raise ValueError(f"num_proc: expected None or a whole number of at least 1, got {num_proc!r}")
        _check_verification_mode(options.get("verification_mode"))
        return os.fspath(data_dir)

    def _publish_options(
        self,
        configs: Optional[Sequence[str]],
        cache_dir: Optional[PathLike],
        num_proc: Optional[int],
        verification_mode: Optional[str],
        max_shard_size: Union[str, int],
    ) -> dict:
        """The options `export` and `push` share, checked, as `publish.export` takes them."""
        _check_type("max_shard_size", max_shard_size, (str, int), 'a size such as "500MB" or a number of bytes')
        return {
            "configs": self._checked_configs(configs),
            "cache_dir": _path(cache_dir),
            "num_proc": num_proc,
            "verification_mode": verification_mode,
            "max_shard_size": max_shard_size,
        }

    def _checked_configs(self, configs: Optional[Sequence[str]]) -> Optional[tuple[str, ...]]:
        if configs is None:
            return None
        if isinstance(configs, str):
            raise TypeError(f"configs: expected a list of config names, e.g. [{configs!r}], got the string {configs!r}")
        names = builder.config_names(self.builder_cls)
        for config in configs:
            _check_choice("configs", config, names)
        return tuple(configs)


def _path(value: Optional[PathLike]) -> Optional[str]:
    return None if value is None else os.fspath(value)


def _check_type(name: str, value: object, types: Union[type, tuple[type, ...]], expected: str) -> None:
    if isinstance(value, bool) or not isinstance(value, types):
        raise TypeError(f"{name}: expected {expected}, got {type(value).__name__} {value!r}")


def _check_flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")


def _check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    """The message of torchvision's verify_str_arg: the value, the argument, the valid values."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"Unknown value {value!r} for argument {name}. Valid values are {', '.join(choices)}.")


def _check_verification_mode(value: object) -> None:
    modes = [mode.value for mode in datasets.VerificationMode]
    if value is not None and not isinstance(value, datasets.VerificationMode):
        _check_choice("verification_mode", value, modes)
