"""IST_S: Incidental Scene Text Segmentation, as a Hugging Face `datasets` builder.

Pixel-level text masks (0 background, 1 text, 255 uncertain) for the ICDAR 2015
"Incidental Scene Text" photos. Every input is a manual download placed in one folder.

    import ist_s
    ds = ist_s.load("path/to/data")                    # DatasetDict with train/test
    python ist_s.py --help                             # the command line

Top to bottom: what the dataset is, how inputs are found and verified, how one example
is made, the builder, then the public helpers and the command line.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import types
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Optional, Union

import datasets
import numpy as np
import PIL.Image
import PIL.ImageDraw
from datasets.utils.py_utils import convert_file_size_to_int
from datasets.utils.tqdm import tqdm

logger = datasets.utils.logging.get_logger("ist_s")  # one name, however the file is imported

# --------------------------------------------------------------------------------------
# What the dataset is
# --------------------------------------------------------------------------------------

_CITATION = """\
@inproceedings{bonechi2019cocots,
  title     = {{COCO\\_TS} Dataset: Pixel-Level Annotations Based on Weak Supervision for Scene Text Segmentation},
  author    = {Bonechi, Simone and Andreini, Paolo and Bianchini, Monica and Scarselli, Franco},
  booktitle = {Artificial Neural Networks and Machine Learning -- ICANN 2019},
  pages     = {238--250},
  year      = {2019},
  publisher = {Springer, Cham}
}
@article{bonechi2020weak,
  title   = {Weak Supervision for Generating Pixel-Level Annotations in Scene Text Segmentation},
  author  = {Bonechi, Simone and Andreini, Paolo and Bianchini, Monica and Scarselli, Franco},
  journal = {Pattern Recognition Letters},
  year    = {2020},
  issn    = {0167-8655},
  doi     = {10.1016/j.patrec.2020.06.023}
}
@inproceedings{karatzas2015icdar,
  title     = {{ICDAR} 2015 Competition on Robust Reading},
  author    = {Karatzas, Dimosthenis and Gomez-Bigorda, Lluis and Nicolaou, Anguelos and Ghosh, Suman
               and Bagdanov, Andrew and Iwamura, Masakazu and Matas, Jiri and Neumann, Lukas
               and Chandrasekhar, Vijay Ramaseshan and Lu, Shijian and Shafait, Faisal
               and Uchida, Seiichi and Valveny, Ernest},
  booktitle = {13th International Conference on Document Analysis and Recognition (ICDAR)},
  pages     = {1156--1160},
  year      = {2015}
}
"""

_DESCRIPTION = """\
IST_S (Incidental Scene Text Segmentation) holds 1475 pixel-level text masks (979 train,
496 test) for the ICDAR 2015 Robust Reading "Incidental Scene Text" photos. The masks were
generated from the ICDAR 2015 word boxes by weak supervision. Pixel values: 0 background,
1 text, 255 uncertain (ignore in training and evaluation).
"""

_HOMEPAGE = "http://clem.diism.unisi.it/~coco_ts/downloads/ist_s"
_LICENSE = (
    "Masks: CC BY 4.0. Images: the ICDAR 2015 Robust Reading Competition's own terms "
    "(registration at https://rrc.cvc.uab.es/?ch=4)."
)

VERSION = datasets.Version("1.0.0")

CLASS_NAMES = ["background", "text"]
IGNORE_INDEX = 255
ID2LABEL = dict(enumerate(CLASS_NAMES))
MASK_VALUES = frozenset({*ID2LABEL, IGNORE_INDEX})

ICDAR_DOWNLOADS = "https://rrc.cvc.uab.es/?ch=4&com=downloads (free registration)"
IST_S_DOWNLOAD = "http://clem.diism.unisi.it/~coco_ts/download_ist_s.php"


@dataclasses.dataclass(frozen=True)
class InputFile:
    """One manual download: `{name}.zip`, or the folder `{name}/` it extracts to."""

    name: str
    role: str  # "train_images", "test_images", "labels", or "annotations" (not read)
    source: str
    size: Optional[int] = None
    digest: Optional[str] = None  # "md5:<hex>" or "sha256:<hex>", when published
    required: bool = True

    @property
    def filename(self) -> str:
        return f"{self.name}.zip"


# Sizes and md5s of the ICDAR 2015 archives as published (MMOCR's dataset zoo, public listings).
# The labels zip has no published checksum: it is reported with its sha256 instead.
INPUTS = (
    InputFile(
        "ch4_training_images",
        "train_images",
        ICDAR_DOWNLOADS,
        90_667_586,
        "md5:c51cbace155dcc4d98c8dd19d378f30d",
    ),
    InputFile("ch4_test_images", "test_images", ICDAR_DOWNLOADS, 44_359_601, "md5:97e4c1ddcf074ffcc75feff2b63c35dd"),
    InputFile("IST_Segmentation_labels", "labels", IST_S_DOWNLOAD),
    InputFile(
        "ch4_training_localization_transcription_gt",
        "annotations",
        ICDAR_DOWNLOADS,
        digest="md5:3bfaf1988960909014f7987d2343060b",
        required=False,
    ),
    InputFile(
        "Challenge4_Test_Task4_GT",
        "annotations",
        ICDAR_DOWNLOADS,
        digest="md5:8bce173b06d164b98c357b0eb96ef430",
        required=False,
    ),
)


def required_inputs() -> dict[str, InputFile]:
    """The inputs a build reads, by role: read from INPUTS each time, so it has one source of truth."""
    return {spec.role: spec for spec in INPUTS if spec.required}


# Rows per split on the genuine archives; checked whenever every registered input matched.
EXPECTED_SPLIT_SIZES = {
    "default": {"train": 979, "test": 496},
    "with_unlabeled": {"train": 1000, "test": 500},
}
SPLIT_IMAGES = {"train": "train_images", "test": "test_images"}

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Put these three files (or the folders they extract to, same names) in one folder and pass it
as `data_dir`:
  - ch4_training_images.zip  ICDAR 2015 task 4.1 training images, from {ICDAR_DOWNLOADS}
  - ch4_test_images.zip      ICDAR 2015 task 4.1 test images, from the same page
  - IST_Segmentation_labels.zip  the IST_S masks, from {IST_S_DOWNLOAD}
"""

PAIRS_PER_SHARD = 64  # ~10 MB of JPEGs: 16 train / 8 test shards on the full data
MAX_MEMBER_BYTES = 64 << 20  # a zip bomb's member is refused before it is inflated
EXAMPLE_THREADS = min(4, os.cpu_count() or 1)  # shared by the build processes; one stream uses them all


class IstSError(Exception):
    """Bad or missing input: the message names the file or archive member."""


class MissingInputError(IstSError, FileNotFoundError):
    """An expected input file is not in `data_dir`."""


class InvalidInputError(IstSError, ValueError):
    """An input exists but its content is not what IST_S holds."""


class ChecksumMismatchError(InvalidInputError):
    """An input's size or digest differs from the published one."""


# --------------------------------------------------------------------------------------
# Finding and verifying inputs
# --------------------------------------------------------------------------------------


def find_input(data_dir: str, spec: InputFile) -> Optional[str]:
    """The zip for `spec` in `data_dir`, else its extracted folder, else None."""
    archive, folder = os.path.join(data_dir, spec.filename), os.path.join(data_dir, spec.name)
    if os.path.isfile(archive):
        return archive
    return folder if os.path.isdir(folder) else None


def locate_inputs(data_dir: Optional[str]) -> dict[str, str]:
    """Path of every required input by role; one error lists all that are missing."""
    if data_dir is None:
        raise MissingInputError(
            f"IST_S needs `data_dir`: the folder holding its inputs.\n{MANUAL_DOWNLOAD_INSTRUCTIONS}"
        )
    required = required_inputs().values()
    found = {spec.role: find_input(data_dir, spec) for spec in required}
    missing = [spec for spec in required if found[spec.role] is None]
    if missing:
        lines = [f"  - {spec.filename} (or the extracted folder {spec.name}/), from {spec.source}" for spec in missing]
        present = sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else None
        if present is None:
            holds = "it does not exist"
        else:
            holds = "it holds: " + (", ".join(present[:20]) + (" ..." if len(present) > 20 else "") or "nothing")
        raise MissingInputError(f"IST_S inputs missing from {data_dir} ({holds}). Expected:\n" + "\n".join(lines))
    return found


def hash_file(
    path: str, algorithms: tuple[str, ...] = ("sha256",), chunk_size: int = 1 << 20, progress: bool = False
) -> dict[str, str]:
    """Hex digests of a file, read once in 1 MiB chunks: {"md5": ..., "sha256": ...}."""
    hashers = {name: hashlib.new(name) for name in algorithms}
    with (
        open(path, "rb") as f,
        tqdm(
            total=os.path.getsize(path), unit="B", unit_scale=True, desc=os.path.basename(path), disable=not progress
        ) as bar,
    ):
        while block := f.read(chunk_size):
            for hasher in hashers.values():
                hasher.update(block)
            bar.update(len(block))
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


@dataclasses.dataclass
class InputCheck:
    """What one input is: status "ok", "MISMATCH", "unregistered", "folder", "missing" or "absent" (optional)."""

    spec: InputFile
    path: Optional[str]
    status: str
    size: Optional[int] = None
    digests: dict = dataclasses.field(default_factory=dict)
    problem: str = ""  # for a MISMATCH: expected and found


def check_input(
    spec: InputFile, path: Optional[str], algorithms: tuple[str, ...] = (), progress: bool = False
) -> InputCheck:
    """Compare one located input with the table. Hashes what the table needs, plus `algorithms`.

    A size that differs is a MISMATCH without reading the file, unless `algorithms` asks for digests.
    """
    if path is None:
        return InputCheck(spec, None, "missing" if spec.required else "absent")
    if os.path.isdir(path):
        return InputCheck(spec, path, "folder")
    size = os.path.getsize(path)
    if spec.size is not None and size != spec.size and not algorithms:
        return InputCheck(spec, path, "MISMATCH", size, problem=f"expected {spec.size:,} bytes, found {size:,}")
    algorithm, expected = spec.digest.split(":") if spec.digest else ("sha256", None)
    digests = hash_file(path, tuple(dict.fromkeys((algorithm, *algorithms))), progress=progress)
    if expected is None:
        return InputCheck(spec, path, "unregistered", size, digests)
    if spec.size is not None and size != spec.size:
        return InputCheck(spec, path, "MISMATCH", size, digests, f"expected {spec.size:,} bytes, found {size:,}")
    if digests[algorithm] != expected:
        problem = f"expected {algorithm}:{expected}, got {algorithm}:{digests[algorithm]}"
        return InputCheck(spec, path, "MISMATCH", size, digests, problem)
    return InputCheck(spec, path, "ok", size, digests)


def check_inputs(data_dir: str, progress: bool = False) -> list[InputCheck]:
    """Every known input (the optional annotation zips too), with md5 and sha256 of each file."""
    return [check_input(spec, find_input(data_dir, spec), ("md5", "sha256"), progress) for spec in INPUTS]


def verify_inputs(paths: dict[str, str]) -> bool:
    """Check the located inputs before a build; True when every registered one is the published file.

    A mismatch raises ChecksumMismatchError. Folders and unregistered inputs cannot be checked:
    they are logged, unregistered ones with their sha256.
    """
    genuine = True
    required = required_inputs()
    for role, path in paths.items():
        check = check_input(required[role], path)
        if check.status == "MISMATCH":
            raise ChecksumMismatchError(
                f"{path}: {check.problem}: corrupt, truncated, or not the ICDAR 2015 release. "
                f"Download it again from {check.spec.source}."
            )
        if check.status == "folder":
            logger.info(f"{check.spec.name}/ is an extracted folder: there is no archive digest to check.")
        if check.status == "unregistered":
            logger.info(f"{check.spec.filename} has no published checksum; its sha256:{check.digests['sha256']}")
        genuine = genuine and (check.status == "ok" or check.spec.digest is None)
    return genuine


def inputs_fingerprint(data_dir: str) -> str:
    """A cheap identity of the inputs (names, sizes, mtimes) that keys the Arrow cache.

    `datasets` keys its cache by config and `data_dir` only, so an archive replaced in place
    would otherwise be served from the stale cache.
    """
    parts = []
    for spec in required_inputs().values():
        path = find_input(data_dir, spec)
        if path is None:
            parts.append(f"{spec.name}:missing")
        elif os.path.isfile(path):
            stat = os.stat(path)
            parts.append(f"{spec.filename}:{stat.st_size}:{stat.st_mtime_ns}")
        else:
            entries = []
            for root, _, files in os.walk(path):
                for name in files:
                    stat = os.stat(os.path.join(root, name))
                    entries.append(
                        f"{os.path.relpath(os.path.join(root, name), path)}:{stat.st_size}:{stat.st_mtime_ns}"
                    )
            parts.append(f"{spec.name}/:" + hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class Source:
    """A zip archive or its extracted folder, read member by member, never extracted."""

    def __init__(self, path: str):
        self.path = path
        self.label = os.path.basename(path.rstrip("/\\")) + ("" if os.path.isfile(path) else "/")
        self._zip: Optional[zipfile.ZipFile] = None
        if os.path.isfile(path):
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as e:
                with open(path, "rb") as f:
                    head = f.read(64)
                looks_like = " (it looks like an HTML page: a login or error page saved under the zip's name?)"
                raise InvalidInputError(
                    f"{path} is not a readable zip archive ({e}); it starts with {head[:32]!r}"
                    + (looks_like if head.lstrip().lower().startswith((b"<!doctype", b"<html")) else "")
                ) from None

    def members(self) -> list[str]:
        """Every file inside, as a relative '/'-separated name."""
        if self._zip is not None:
            names = [info.filename for info in self._zip.infolist() if not info.is_dir()]
            climbing = [n for n in names if n.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", n)]
            if climbing:
                # Nothing is ever extracted, but such an archive is not a release: refuse it.
                raise InvalidInputError(f"{self.path}: member names climb out of the archive: {climbing[:3]}")
            return names
        names = []
        for root, _, files in os.walk(self.path):
            names.extend(os.path.relpath(os.path.join(root, f), self.path).replace(os.sep, "/") for f in files)
        return sorted(names)

    def where(self, member: str) -> str:
        return f"{self.label}:{member}" if self._zip is not None else f"{self.label}{member}"

    def read(self, member: str) -> bytes:
        try:
            if self._zip is not None:
                size = self._zip.getinfo(member).file_size  # as declared; a longer stream fails its CRC
            else:
                path = os.path.join(self.path, *member.split("/"))
                size = os.path.getsize(path)
            if size > MAX_MEMBER_BYTES:
                raise InvalidInputError(
                    f"{self.where(member)}: {size:,} bytes, more than any IST_S image or mask "
                    f"({MAX_MEMBER_BYTES:,}): refusing to read it"
                )
            if self._zip is not None:
                return self._zip.read(member)
            with open(path, "rb") as f:
                return f.read()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as e:
            raise InvalidInputError(
                f"{self.where(member)}: cannot be read ({e}); the archive is corrupt or truncated"
            ) from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


# --------------------------------------------------------------------------------------
# The labels' layout, and the pairs of each split
# --------------------------------------------------------------------------------------

# Folder words that name a split. ICDAR 2015 has no validation split; the sister set
# MLT_S calls its second split `validation_labels`, so those words are read as test.
SPLIT_WORDS = {"train": "train", "training": "train", "test": "test", "testing": "test"}
SPLIT_WORDS.update({"val": "test", "validation": "test"})
# What may follow a split word inside one folder-name word: "trainset", "testlabels", "TrainingSet".
SPLIT_WORD_SUFFIXES = ("", "set", "sets", "data", "label", "labels", "gt", "mask", "masks", "map", "maps", "images")


def is_junk(member: str) -> bool:
    """macOS resource forks, dot-files and the like: never data."""
    return any(part.startswith(".") or part == "__MACOSX" for part in member.split("/"))


def _split_named_by(folder: str) -> set[str]:
    # Words of a folder name: split at non-letters and at camelCase humps ("TrainingSet" -> training, set).
    words = re.split(r"[^a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", folder).lower())
    return {
        split
        for word in words
        for name, split in SPLIT_WORDS.items()
        if word.startswith(name) and word[len(name) :] in SPLIT_WORD_SUFFIXES
    }


def split_of(member: str) -> Optional[str]:
    """The split a label belongs to, from the folders in its path; None if none or both."""
    named = set().union(*(_split_named_by(folder) for folder in member.replace("\\", "/").split("/")[:-1]))
    return named.pop() if len(named) == 1 else None


def stem(member: str) -> str:
    return os.path.splitext(member.replace("\\", "/").rsplit("/", 1)[-1])[0]


def natural_key(name: str) -> tuple:
    """img_2 before img_10: numeric order, never the archive's listing order."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name.lower()))


def files_by_stem(members: list[str], extensions: tuple[str, ...], where: Callable[[str], str]) -> dict[str, str]:
    """Lower-cased stem -> member, for the data files among `members`; duplicates are an error."""
    by_stem: dict[str, str] = {}
    for member in members:
        if is_junk(member) or not member.lower().endswith(extensions):
            continue
        key = stem(member).lower()
        if key in by_stem:
            raise InvalidInputError(
                f"two files share the name {stem(member)!r} (ignoring case): {where(by_stem[key])} and {where(member)}"
            )
        by_stem[key] = member
    return by_stem


def labels_by_split(labels: Source) -> dict[str, dict[str, str]]:
    """Detect the labels' layout: PNGs at any depth, the split named by a folder on the path."""
    by_split: dict[str, list[str]] = {"train": [], "test": []}
    undetermined = []
    for member in labels.members():
        if is_junk(member) or not member.lower().endswith(".png"):
            continue
        split = split_of(member)
        if split is None:
            undetermined.append(member)
        else:
            by_split[split].append(member)
    if undetermined:
        shown = ", ".join(labels.where(m) for m in undetermined[:5]) + (" ..." if len(undetermined) > 5 else "")
        raise InvalidInputError(
            f"cannot tell the split of {len(undetermined)} label(s): {shown}. Expected each label under a folder "
            f"naming its split (train/training, or test/testing/val/validation), e.g. IST_S/train/img_1.png"
        )
    for split, members in by_split.items():
        if not members:
            raise InvalidInputError(
                f"{labels.path} holds no {split} labels: expected PNGs under a folder naming the {split} split"
            )
    return {split: files_by_stem(members, (".png",), labels.where) for split, members in by_split.items()}


@dataclasses.dataclass(frozen=True)
class Pair:
    image_id: str
    image_member: str
    label_member: Optional[str]


def plan_split(split: str, images: Source, labels: dict[str, str], with_unlabeled: bool) -> list[Pair]:
    """Pair images and labels by stem within one split, in numeric order."""
    image_by_stem = files_by_stem(images.members(), (".jpg", ".jpeg"), images.where)
    orphans = sorted(set(labels) - set(image_by_stem), key=natural_key)
    if orphans:
        shown = ", ".join(labels[s] for s in orphans[:5]) + (" ..." if len(orphans) > 5 else "")
        raise InvalidInputError(
            f"{len(orphans)} {split} label(s) have no image of the same name in {images.label}: {shown}"
        )
    pairs = [
        Pair(stem(member), member, labels.get(key))
        for key, member in image_by_stem.items()
        if with_unlabeled or key in labels
    ]
    unlabeled = len(image_by_stem) - len(labels)
    if unlabeled and not with_unlabeled:
        logger.info(f"{split}: skipped {unlabeled} image(s) without a label (config 'with_unlabeled' keeps them)")
    return sorted(pairs, key=lambda pair: natural_key(pair.image_id))


def plan_pairs(paths: dict[str, str], with_unlabeled: bool) -> dict[str, list[Pair]]:
    """The pairs of every split, from the archives' listings (nothing is decoded)."""
    labels = Source(paths["labels"])
    try:
        labels_per_split = labels_by_split(labels)
    finally:
        labels.close()
    planned = {}
    for split, role in SPLIT_IMAGES.items():
        images = Source(paths[role])
        try:
            planned[split] = plan_split(split, images, labels_per_split[split], with_unlabeled)
        finally:
            images.close()
    return planned


def shard(pairs: list[Pair]) -> list[tuple[Pair, ...]]:
    """Contiguous shards: at least 2 when possible, so num_proc and DataLoader workers have work."""
    count = min(len(pairs), max(2, math.ceil(len(pairs) / PAIRS_PER_SHARD)))
    return [tuple(pairs[i * len(pairs) // count : (i + 1) * len(pairs) // count]) for i in range(count)]


# --------------------------------------------------------------------------------------
# One example: JPEG bytes untouched but for the Orientation tag, mask checked and stored as L
# --------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXIF_ORIENTATION = 0x0112
SWAPS_AXES = {5, 6, 7, 8}  # orientations that turn the image by 90 degrees


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, body start, body length) of each header segment, up to and including the first
    start-of-scan (whose body is where the compressed image begins)."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        yield marker, pos + 4, length - 2
        if marker == 0xDA:
            return
        pos += 2 + length


def decoded_size(raw_size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size `datasets.Image` decodes to: EXIF orientations 5-8 swap the axes."""
    return raw_size[::-1] if orientation in SWAPS_AXES else raw_size


def jpeg_header(data: bytes, where: str) -> tuple[tuple[int, int], int]:
    """(width, height) of the stored pixel grid and the EXIF orientation, from headers only."""
    if not data.startswith(b"\xff\xd8"):
        raise InvalidInputError(f"{where}: not a JPEG (starts with {data[:8]!r})")
    segments = list(_jpeg_segments(data))
    scan = next((start for marker, start, _ in segments if marker == 0xDA), None)
    if scan is None:
        header_end = segments[-1][1] + segments[-1][2] if segments else 2
        problem = "truncated JPEG (it ends inside its header)" if header_end + 4 > len(data) else "corrupt JPEG"
        raise InvalidInputError(f"{where}: {problem}: its header segments do not lead to image data")
    # Compressed data never holds FF D9 (an FF there is followed by 00 or a restart marker), so
    # the end-of-image marker must follow the main scan; an EXIF thumbnail's comes before it.
    if data.find(b"\xff\xd9", scan) < 0:
        raise InvalidInputError(f"{where}: truncated JPEG (no end-of-image marker after the image data)")
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                raise InvalidInputError(f"{where}: expected a JPEG, found {image.format}")
            return image.size, int(image.getexif().get(EXIF_ORIENTATION) or 1)
    except (OSError, SyntaxError, ValueError, struct.error, PIL.Image.DecompressionBombError) as e:
        if isinstance(e, InvalidInputError):
            raise
        detail = str(e) if isinstance(e, PIL.Image.DecompressionBombError) else "its header cannot be parsed"
        raise InvalidInputError(f"{where}: corrupt JPEG ({detail})") from None


def neutralise_orientation(data: bytes) -> bytes:
    """The same JPEG with its EXIF Orientation set to 1: two bytes change, nothing is re-encoded."""
    for marker, body, _ in _jpeg_segments(data):
        if marker == 0xE1 and data[body : body + 6] == b"Exif\x00\x00":
            return _patch_exif_orientation(data, body + 6)
    raise ValueError("no EXIF segment")


def _patch_exif_orientation(data: bytes, tiff: int) -> bytes:
    order = {b"II": "<", b"MM": ">"}[data[tiff : tiff + 2]]
    ifd = tiff + struct.unpack(order + "I", data[tiff + 4 : tiff + 8])[0]
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag == EXIF_ORIENTATION:
            value = struct.pack(order + ("H" if kind == 3 else "I"), 1)  # SHORT (3) as specified, LONG tolerated
            return data[: entry + 8] + value + data[entry + 8 + len(value) :]
    raise ValueError("no Orientation tag in IFD0")


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        yield kind, data[pos : pos + 12 + length]
        pos += 12 + length


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def palette_png_as_grayscale(data: bytes) -> bytes:
    """An 8-bit palette PNG as an 8-bit grayscale PNG whose values are the palette indices.

    Both store one byte per pixel, so the compressed pixel data is reused as it is: only the
    header's colour type changes and the palette chunks go. No decode, no re-encode.
    """
    out = [PNG_SIGNATURE]
    for kind, chunk in _png_chunks(data):
        if kind == b"IHDR":
            header = bytearray(chunk[8:-4])
            header[9] = 0  # colour type: grayscale
            out.append(_png_chunk(b"IHDR", bytes(header)))
        elif kind in (b"IDAT", b"IEND"):
            out.append(chunk)
    return b"".join(out)


@dataclasses.dataclass(frozen=True)
class Mask:
    png: bytes  # single-channel 8-bit PNG, decodes to mode "L"
    size: tuple[int, int]
    classes: list[int]  # ClassLabel ids present


def read_mask(data: bytes, where: str, allowed_sizes: set[tuple[int, int]]) -> Mask:
    """Check a label map and return it as an 8-bit grayscale PNG, converting by value.

    The size is checked from the header before any pixel is decoded, so a tiny PNG that
    declares a huge image is refused without being inflated.
    """
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise InvalidInputError(f"{where}: not a PNG (starts with {data[:8]!r})")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if channels != 1:
        raise InvalidInputError(
            f"{where}: expected a single-channel mask, found {channels or '?'} channels (PNG colour type {colour})"
        )
    if (width, height) not in allowed_sizes:
        expected = " or ".join(f"{w}x{h}" for w, h in sorted(allowed_sizes))
        raise InvalidInputError(f"{where}: mask is {width}x{height}, expected the image's size {expected}")
    values = None  # the pixels as numbers, needed only when the PNG must be re-encoded
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(io.BytesIO(data)) as image:
                if depth == 8:  # grey or palette, one byte a pixel: PIL counts the values in C
                    image.load()
                    counts = np.asarray(image.histogram(), np.int64)
                else:
                    values = np.asarray(image)
    except (
        OSError,
        SyntaxError,
        ValueError,
        PIL.Image.DecompressionBombError,
        PIL.Image.DecompressionBombWarning,
    ) as e:
        raise InvalidInputError(f"{where}: corrupt PNG ({e})") from None
    if values is not None:
        if colour == 0 and depth in (2, 4):
            values = values // (255 // (2**depth - 1))  # Pillow scales 2/4-bit grey to 0-255
        counts = np.bincount(values.ravel().astype(np.int64), minlength=256)
    bad = [int(v) for v in np.flatnonzero(counts) if v not in MASK_VALUES]
    if bad:
        raise InvalidInputError(
            f"{where}: pixel values {bad[:8]} outside {{0 background, 1 text, 255 uncertain}} "
            f"({int(counts[bad].sum())} pixels)"
        )
    if colour == 0 and depth == 8:
        png = data  # already what we store: byte for byte
    elif colour == 3 and depth == 8:
        png = palette_png_as_grayscale(data)
    else:
        buffer = io.BytesIO()
        PIL.Image.fromarray(values.astype(np.uint8), mode="L").save(buffer, format="PNG")
        png = buffer.getvalue()
    return Mask(png, (width, height), [label for label in ID2LABEL if counts[label]])


def make_example(pair: Pair, images: Source, labels: Optional[Source]) -> dict:
    """One row. The image keeps its bytes; only an EXIF Orientation that would turn it off
    its mask's pixel grid is neutralised (`datasets.Image` applies it on decode)."""
    image_bytes = images.read(pair.image_member)
    where = images.where(pair.image_member)
    raw_size, orientation = jpeg_header(image_bytes, where)
    example = {
        "image_id": pair.image_id,
        "image": None,
        "mask": None,
        "mask_classes": [],
    }
    if pair.label_member is not None:
        allowed = {raw_size, decoded_size(raw_size, orientation)}
        mask = read_mask(labels.read(pair.label_member), labels.where(pair.label_member), allowed)
        # The raw grid wins when both fit (orientations that do not swap the axes).
        if mask.size == raw_size and orientation != 1:
            try:
                image_bytes = neutralise_orientation(image_bytes)
            except (ValueError, KeyError, struct.error) as e:
                raise InvalidInputError(f"{where}: cannot clear its EXIF orientation ({e})") from None
            if jpeg_header(image_bytes, where)[1] != 1:
                raise InvalidInputError(f"{where}: its orientation is also set outside EXIF (XMP); not supported")
        example["mask"] = {"path": stem(pair.label_member) + ".png", "bytes": mask.png}
        example["mask_classes"] = mask.classes
    example["image"] = {"path": pair.image_member.rsplit("/", 1)[-1], "bytes": image_bytes}
    return example


# --------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class IstSConfig(datasets.BuilderConfig):
    """IST_S config.

    Args:
        with_unlabeled: keep the ICDAR images that have no IST_S mask (mask None).
        inputs_fingerprint: names, sizes and mtimes of the inputs; set by `IstS` so that a
            changed input gets a new cache instead of the stale one.
    """

    with_unlabeled: bool = False
    inputs_fingerprint: Optional[str] = None


class IstS(datasets.GeneratorBasedBuilder):
    """IST_S image + text-mask pairs from the manually downloaded archives."""

    VERSION = VERSION
    BUILDER_CONFIG_CLASS = IstSConfig
    BUILDER_CONFIGS = [
        IstSConfig(name="default", version=VERSION, description="Labelled pairs only: 979 train, 496 test."),
        IstSConfig(
            name="with_unlabeled",
            version=VERSION,
            with_unlabeled=True,
            description="Every ICDAR 2015 image (1000 train, 500 test); mask is None where IST_S has none.",
        ),
    ]
    DEFAULT_CONFIG_NAME = "default"
    DEFAULT_WRITER_BATCH_SIZE = 32  # ~5 MB of images per Arrow record batch: keeps peak memory flat

    def __init__(self, *args, data_dir: Optional[str] = None, **kwargs):
        if data_dir is not None:
            data_dir = os.path.abspath(os.path.expanduser(str(data_dir)))
            kwargs["inputs_fingerprint"] = inputs_fingerprint(data_dir)
        self._verify_inputs = False  # set by download_and_prepare; streaming reads without hashing
        self._example_threads = EXAMPLE_THREADS
        super().__init__(*args, data_dir=data_dir, **kwargs)

    @property
    def manual_download_instructions(self) -> str:
        return MANUAL_DOWNLOAD_INSTRUCTIONS

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=datasets.Features(
                {
                    "image_id": datasets.Value("string"),
                    "image": datasets.Image(),
                    "mask": datasets.Image(),
                    "mask_classes": datasets.Sequence(datasets.ClassLabel(names=CLASS_NAMES)),
                }
            ),
            homepage=_HOMEPAGE,
            license=_LICENSE,
            citation=_CITATION,
        )

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        self._verify_inputs = verification_mode != datasets.VerificationMode.NO_CHECKS
        self._example_threads = max(1, EXAMPLE_THREADS // (prepare_split_kwargs.get("num_proc") or 1))
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        paths = locate_inputs(self.config.data_dir)
        # Genuine inputs (every registered one is the published file) must give the published split sizes.
        genuine = self._verify_inputs and verify_inputs(paths)
        generators = []
        for split, pairs in plan_pairs(paths, self.config.with_unlabeled).items():
            role = SPLIT_IMAGES[split]
            expected = EXPECTED_SPLIT_SIZES[self.config.name][split]
            if genuine and len(pairs) != expected:
                raise InvalidInputError(
                    f"{paths['labels']}: gives {len(pairs)} {split} rows, expected {expected} on the published "
                    f"archives: is it the IST_S labels zip from {IST_S_DOWNLOAD}?"
                )
            generator = datasets.SplitGenerator(
                name=datasets.Split(split),
                # `shards` is the only list: datasets splits it between processes and streaming workers.
                gen_kwargs={"shards": shard(pairs), "images_path": paths[role], "labels_path": paths["labels"]},
            )
            generator.split_info.num_examples = len(pairs)  # progress bar total
            generators.append(generator)
        return generators

    def _generate_examples(self, shards: list[tuple[Pair, ...]], images_path: str, labels_path: str):
        # Archives are opened here, per job: an open ZipFile cannot be sent to another process.
        images, labels = Source(images_path), Source(labels_path)
        # Checking a mask means inflating it (zlib, which like PIL's decoders releases the GIL):
        # a few threads make the next examples while this one is written or consumed. The window
        # is bounded so memory stays flat, and rows keep their order.
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=self._example_threads)
        pending: collections.deque = collections.deque()
        try:
            for pair in (pair for pairs in shards for pair in pairs):
                pending.append((pair.image_id, pool.submit(make_example, pair, images, labels)))
                if len(pending) > 2 * self._example_threads:
                    image_id, example = pending.popleft()
                    yield image_id, example.result()
            while pending:
                image_id, example = pending.popleft()
                yield image_id, example.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            images.close()
            labels.close()


# --------------------------------------------------------------------------------------
# Public helpers
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _plain_input_errors() -> Iterator[None]:
    """`datasets` wraps errors raised while generating; surface ours as they were raised."""
    try:
        yield
    except datasets.exceptions.DatasetGenerationError as e:
        cause = e.__cause__
        while cause is not None and not isinstance(cause, IstSError):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        raise cause from None


def prepare(
    data_dir: str,
    config: str = "default",
    cache_dir: Optional[str] = None,
    num_proc: Optional[int] = None,
    verification_mode: Optional[str] = None,
) -> IstS:
    """Build (or find in the cache) the Arrow files of one config; returns the ready builder."""
    builder = IstS(config_name=config, data_dir=str(data_dir), cache_dir=cache_dir)
    with _plain_input_errors():
        builder.download_and_prepare(num_proc=num_proc, verification_mode=verification_mode)
    return builder


def load(
    data_dir: str,
    split: Optional[str] = None,
    streaming: bool = False,
    config: str = "default",
    cache_dir: Optional[str] = None,
    num_proc: Optional[int] = None,
    verification_mode: Optional[str] = None,
) -> Union[datasets.DatasetDict, datasets.Dataset, datasets.IterableDatasetDict, datasets.IterableDataset]:
    """What `load_dataset("ist_s.py", config, data_dir=...)` returns, on any `datasets` version.

    A `DatasetDict` (a `Dataset` when `split` is given); an `IterableDataset(Dict)` when
    streaming, which reads the archives in place and skips checksum verification.
    """
    if streaming:
        return IstS(config_name=config, data_dir=str(data_dir), cache_dir=cache_dir).as_streaming_dataset(split=split)
    return prepare(data_dir, config, cache_dir, num_proc, verification_mode).as_dataset(split=split)


def inventory(data_dir: str) -> dict[str, dict[str, int]]:
    """Images and labels per split, from the archives' listings (nothing is decoded)."""
    counts = {}
    for split, pairs in plan_pairs(locate_inputs(data_dir), with_unlabeled=True).items():
        labelled = sum(pair.label_member is not None for pair in pairs)
        counts[split] = {"images": len(pairs), "labelled": labelled, "unlabeled": len(pairs) - labelled}
    return counts


def compute_stats(dataset: datasets.Dataset) -> dict:
    """Rows, unlabeled images, image sizes, text and uncertain pixel fractions, images without text."""
    rows = dataset.cast_column("image", datasets.Image(decode=False)).cast_column("mask", datasets.Image(decode=False))
    sizes: dict[str, int] = {}
    counts = np.zeros(256, np.int64)
    labelled = without_text = 0
    for row in rows:
        if row["mask"] is None:
            size = decoded_size(*jpeg_header(row["image"]["bytes"], row["image_id"]))
        else:
            with PIL.Image.open(io.BytesIO(row["mask"]["bytes"])) as mask:  # stored masks are 8-bit L
                size, histogram = mask.size, np.asarray(mask.histogram(), np.int64)
            counts += histogram
            labelled += 1
            without_text += histogram[1] == 0
        key = f"{size[0]}x{size[1]}"
        sizes[key] = sizes.get(key, 0) + 1
    pixels = max(int(counts.sum()), 1)
    return {
        "rows": labelled,
        "unlabeled_images": dataset.num_rows - labelled,
        "image_sizes": dict(sorted(sizes.items(), key=lambda item: -item[1])),
        "text_pixel_fraction": round(int(counts[1]) / pixels, 6),
        "uncertain_pixel_fraction": round(int(counts[IGNORE_INDEX]) / pixels, 6),
        "images_without_text": int(without_text),
    }


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


TEXT_COLOUR = (0, 230, 64)
UNCERTAIN_COLOUR = (255, 0, 200)


def overlay(image: PIL.Image.Image, mask: Optional[PIL.Image.Image], alpha: float = 0.55) -> PIL.Image.Image:
    """The image with text pixels tinted green and uncertain pixels magenta."""
    out = np.asarray(image.convert("RGB"), dtype=np.float32)
    if mask is not None:
        labels = np.asarray(mask)
        for value, colour in ((1, TEXT_COLOUR), (IGNORE_INDEX, UNCERTAIN_COLOUR)):
            where = labels == value
            out[where] = (1 - alpha) * out[where] + alpha * np.asarray(colour, np.float32)
    return PIL.Image.fromarray(out.round().astype(np.uint8), "RGB")


def render_preview(dataset: datasets.Dataset, n: int = 8, seed: int = 0, cell: int = 320) -> PIL.Image.Image:
    """A grid of `n` random rows (seeded), mask overlaid, each captioned with its image_id."""
    chosen = np.random.default_rng(seed).choice(dataset.num_rows, min(n, dataset.num_rows), replace=False)
    columns = min(4, len(chosen))
    box = (cell, cell * 3 // 4)  # each tile fits here, aspect kept; portrait photos stay small
    step_x, step_y = box[0] + 4, box[1] + 22
    grid = PIL.Image.new("RGB", (4 + columns * step_x, 4 + math.ceil(len(chosen) / columns) * step_y), (40, 40, 40))
    draw = PIL.ImageDraw.Draw(grid)
    for number, index in enumerate(sorted(int(i) for i in chosen)):
        row = dataset[index]
        tile = overlay(row["image"], row["mask"])
        tile.thumbnail(box, PIL.Image.Resampling.NEAREST)  # nearest: mask edges stay crisp
        x, y = 4 + (number % columns) * step_x, 4 + (number // columns) * step_y
        grid.paste(tile, (x + (box[0] - tile.width) // 2, y + (box[1] - tile.height) // 2))
        draw.text((x + 2, y + box[1] + 4), row["image_id"], fill="white")
    return grid


def write_demo_inputs(folder: str) -> None:
    """Write the tests' synthetic input set (small photo-like stand-ins, never real images)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        from tests.synthetic import write_inputs
    finally:
        sys.path.pop(0)
    write_inputs(folder, seed=2015, n_train=24, n_test=12, size=(320, 180))


# --------------------------------------------------------------------------------------
# Publishing: the dataset card, a Hub repo folder that loads with no script, and push
# --------------------------------------------------------------------------------------

CARD_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dataset_card", "README.md")
CONFIG_NAMES = ("default", "with_unlabeled")


class PublishError(IstSError):
    """The export folder or the Hub refused the operation."""


def _portable_yaml_features(features: datasets.Features) -> list:
    """The features as card YAML that datasets 3.x and 5.x read back alike.

    5.x writes `list:` for what 3.x calls a Sequence, and 3.x reads `list:` as a plain
    Python list; both read `sequence:` as their own list-of-ClassLabel type.
    """

    def rename(node):
        if isinstance(node, dict):
            return {("sequence" if key == "list" else key): rename(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rename(item) for item in node]
        return node

    return rename(features._to_yaml_list())


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M"


def card_metadata(splits: dict[str, dict[str, dict]]) -> dict:
    """The card's YAML: Hub fields, `configs` (split -> Parquet files) and `dataset_info`, per config.

    `splits` maps config -> split -> {"num_examples": n[, "num_bytes": b]}; datasets 5.x only
    trusts (and verifies) split sizes that come with num_bytes, known after a build.
    """
    features = _portable_yaml_features(IstS(config_name="default").info.features)
    configs, infos = [], []
    for config, sizes in splits.items():
        files = [{"split": split, "path": f"data/{config}/{split}-*"} for split in sizes]
        configs.append(
            {"config_name": config, **({"default": True} if config == "default" else {}), "data_files": files}
        )
        split_list = [{"name": split, **info} for split, info in sizes.items()]
        # A fresh list per config: a shared one would be written as a YAML anchor and alias.
        infos.append({"config_name": config, "features": json.loads(json.dumps(features)), "splits": split_list})
    return {
        "license": "cc-by-4.0",
        "pretty_name": "IST_S: Incidental Scene Text Segmentation",
        "language": ["en"],
        "task_categories": ["image-segmentation"],
        "task_ids": ["semantic-segmentation"],
        "size_categories": [
            _size_category(max(sum(info["num_examples"] for info in sizes.values()) for sizes in splits.values()))
        ],
        "tags": ["scene-text", "text-segmentation", "icdar2015", "weak-supervision"],
        "configs": configs,
        "dataset_info": infos,
    }


def render_card(splits: dict[str, dict[str, dict]], body: Optional[str] = None) -> str:
    """The dataset card: YAML generated from the builder, the prose of `dataset_card/README.md`."""
    from huggingface_hub import DatasetCard, DatasetCardData

    if body is None:
        body = DatasetCard.load(CARD_PATH).text
    data = DatasetCardData(**card_metadata(splits))
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}"))


def export(
    data_dir: str,
    out_dir: str,
    configs: tuple[str, ...] = CONFIG_NAMES,
    cache_dir: Optional[str] = None,
    num_proc: Optional[int] = None,
    verification_mode: Optional[str] = None,
    max_shard_size: str = "500MB",
) -> dict[str, dict[str, dict]]:
    """Write a Hub dataset repo folder: Parquet shards with the bytes embedded, the card, id2label.json.

    `load_dataset(out_dir)` then needs no script on any `datasets` version. Returns the splits'
    sizes as the card states them.
    """
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not os.path.isfile(os.path.join(out_dir, "id2label.json")):
        raise PublishError(f"{out_dir} is not empty and is not an earlier export: choose an empty folder")
    shard_bytes = convert_file_size_to_int(max_shard_size)
    data_root = os.path.join(out_dir, "data")
    if os.path.isdir(data_root):
        shutil.rmtree(data_root)  # an earlier export's shards; their count may differ
    splits = {}
    for config in configs:
        builder = prepare(data_dir, config, cache_dir, num_proc, verification_mode)
        splits[config] = {}
        for split in SPLIT_IMAGES:
            dataset = builder.as_dataset(split=split)
            count = max(1, math.ceil(dataset.data.nbytes / shard_bytes))
            os.makedirs(os.path.join(data_root, config), exist_ok=True)
            for index in range(count):
                path = os.path.join(data_root, config, f"{split}-{index:05d}-of-{count:05d}.parquet")
                # Row groups of 100 rows (datasets' size for image data); bytes are copied as stored.
                dataset.shard(count, index, contiguous=True).to_parquet(path)
            splits[config][split] = {
                "num_examples": dataset.num_rows,
                "num_bytes": builder.info.splits[split].num_bytes,
            }
    with open(os.path.join(out_dir, "id2label.json"), "w", encoding="utf-8") as f:
        json.dump({str(k): v for k, v in ID2LABEL.items()}, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(render_card(splits))
    return splits


def push(
    data_dir: str,
    repo_id: str,
    private: bool = False,
    token: Optional[str] = None,
    revision: Optional[str] = None,
    **export_options,
) -> str:
    """Export to a temporary folder and upload it as the dataset repo `repo_id`; returns the commit URL.

    Re-pushing the same data uploads nothing new: the export is byte-for-byte reproducible and
    the Hub skips files it already holds.
    """
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError

    token = token or huggingface_hub.get_token()
    if not token:
        raise PublishError("no Hugging Face token: log in with `hf auth login`, or pass --token")
    with tempfile.TemporaryDirectory(prefix="ist_s_push_") as folder:
        export(data_dir, folder, **export_options)
        api = huggingface_hub.HfApi(token=token)
        try:
            api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
            if revision is not None:
                api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
            commit = api.upload_folder(
                repo_id=repo_id,
                repo_type="dataset",
                folder_path=folder,
                revision=revision,
                commit_message="Upload IST_S (python ist_s.py push)",
                delete_patterns=["data/**"],  # shards of an earlier push that this one does not have
            )
        except HfHubHTTPError as e:
            reason = str(e).splitlines()[0]
            raise PublishError(f"the Hub refused {repo_id}: {reason}") from None
    return str(getattr(commit, "commit_url", commit))


# --------------------------------------------------------------------------------------
# Command line: thin handlers over the functions above
# --------------------------------------------------------------------------------------


def _print_summary(builder: IstS, counts: dict, seconds: float) -> None:
    for split, info in builder.info.splits.items():
        unlabeled = counts[split]["unlabeled"]
        note = "kept, mask None" if builder.config.with_unlabeled else "skipped"
        print(f"{split:>5}: {info.num_examples:5d} rows  ({unlabeled} image(s) without a label {note})")
    print(f"cache: {builder.cache_dir}")
    print(f"took {seconds:.1f} s")


def _cmd_build(args) -> int:
    started = time.perf_counter()
    builder = prepare(args.data_dir, args.config, args.cache_dir, args.num_proc, args.verification_mode)
    _print_summary(builder, inventory(args.data_dir), time.perf_counter() - started)
    return 0


def _cmd_verify(args) -> int:
    checks = check_inputs(args.data_dir, progress=True)
    print(f"{'file':46} {'size':>12}  {'sha256':64}  {'md5':32}  status")
    for check in checks:
        name = check.spec.filename if check.path is None or os.path.isfile(check.path) else check.spec.name + "/"
        size = f"{check.size:,}" if check.size is not None else "-"
        sha256, md5 = check.digests.get("sha256", "-"), check.digests.get("md5", "-")
        print(f"{name:46} {size:>12}  {sha256:64}  {md5:32}  {check.status}")
        if check.problem:
            print(f"  {check.problem}")
    bad = [c for c in checks if c.status in ("MISMATCH", "missing")]
    if bad:
        print(f"error: {len(bad)} input(s) missing or not the published file", file=sys.stderr)
        return 2
    return 0


def _cmd_stats(args) -> int:
    dataset = load(args.data_dir, None, False, "with_unlabeled", args.cache_dir, args.num_proc, args.verification_mode)
    stats = {split: compute_stats(dataset[split]) for split in dataset}
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    for split, numbers in stats.items():
        sizes = ", ".join(f"{size} ({count})" for size, count in numbers["image_sizes"].items())
        print(f"{split}:")
        print(f"  rows (labelled pairs)   {numbers['rows']}")
        print(f"  unlabeled images        {numbers['unlabeled_images']}")
        print(f"  image sizes             {sizes}")
        print(f"  text pixels             {numbers['text_pixel_fraction']:.2%}")
        print(f"  uncertain pixels        {numbers['uncertain_pixel_fraction']:.2%}")
        print(f"  images without text     {numbers['images_without_text']}")
    return 0


def _cmd_preview(args) -> int:
    dataset = load(args.data_dir, args.split, False, args.config, args.cache_dir, args.num_proc, args.verification_mode)
    render_preview(dataset, args.n, args.seed).save(args.out)
    print(f"wrote {args.out} ({min(args.n, dataset.num_rows)} {args.split} images; text green, uncertain magenta)")
    return 0


def _cmd_demo(args) -> int:
    with tempfile.TemporaryDirectory(prefix="ist_s_demo_") as folder:
        data_dir, cache_dir = os.path.join(folder, "data"), args.cache_dir or os.path.join(folder, "cache")
        write_demo_inputs(data_dir)
        print(
            f"demo inputs (synthetic stand-ins for the three downloads) in {data_dir}: {sorted(os.listdir(data_dir))}"
        )
        # The stand-in archives are not the published ones: their checksums cannot match.
        common = {"data_dir": data_dir, "cache_dir": cache_dir, "num_proc": None, "verification_mode": "no_checks"}
        steps = [
            ("build", _cmd_build, {"config": "default"}),
            ("stats", _cmd_stats, {"json": False}),
            ("preview", _cmd_preview, {"config": "default", "split": "train", "n": 8, "seed": 0, "out": args.out}),
        ]
        for name, handler, options in steps:
            print(f"\n$ python ist_s.py {name}")
            handler(types.SimpleNamespace(**common, **options))
    return 0


def _export_options(args) -> dict:
    return {
        "configs": (args.config,) if args.config else CONFIG_NAMES,
        "cache_dir": args.cache_dir,
        "num_proc": args.num_proc,
        "verification_mode": args.verification_mode,
        "max_shard_size": args.max_shard_size,
    }


def _cmd_export(args) -> int:
    sizes = export(args.data_dir, args.out, **_export_options(args))
    for config, splits in sizes.items():
        print(f"{config}: " + ", ".join(f"{split} {info['num_examples']} rows" for split, info in splits.items()))
    print(f"wrote {args.out}: load it with datasets.load_dataset({args.out!r})")
    return 0


def _cmd_push(args) -> int:
    url = push(args.data_dir, args.repo_id, args.private, args.token, args.revision, **_export_options(args))
    print(f"pushed {args.repo_id}: {url}")
    return 0


def _cmd_card(args) -> int:
    published = {
        config: {split: {"num_examples": rows} for split, rows in sizes.items()}
        for config, sizes in EXPECTED_SPLIT_SIZES.items()
    }
    expected = render_card(published)
    with open(CARD_PATH, encoding="utf-8") as f:
        current = f.read()
    if args.check:
        if current != expected:
            print(f"{CARD_PATH} is out of date: run `python ist_s.py card`", file=sys.stderr)
            return 1
        print(f"{CARD_PATH} is up to date")
        return 0
    with open(CARD_PATH, "w", encoding="utf-8") as f:
        f.write(expected)
    print(f"wrote {CARD_PATH}")
    return 0


EXAMPLES = {
    "build": "python ist_s.py build --data-dir ~/ist_s_downloads --num-proc 2",
    "verify": "python ist_s.py verify --data-dir ~/ist_s_downloads",
    "stats": "python ist_s.py stats --data-dir ~/ist_s_downloads --json",
    "preview": "python ist_s.py preview --data-dir ~/ist_s_downloads --out grid.png --split test --n 8 --seed 1",
    "demo": "python ist_s.py demo --out demo_preview.png",
    "export": "python ist_s.py export --data-dir ~/ist_s_downloads --out ist_s_hub",
    "push": "python ist_s.py push --data-dir ~/ist_s_downloads --repo-id my-org/ist_s --private",
    "card": "python ist_s.py card --check",
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=os.environ.get("IST_S_DATA_DIR", "data"),
        help="folder holding the downloads (default: $IST_S_DATA_DIR, then ./data)",
    )
    common.add_argument("--cache-dir", help="datasets cache folder (default: datasets' own)")
    common.add_argument("--num-proc", type=int, help="processes for the build (shards are split between them)")
    common.add_argument(
        "--verification-mode",
        choices=[mode.value for mode in datasets.VerificationMode],
        help="no_checks skips hashing the inputs (default: basic_checks, which hashes them)",
    )
    common.add_argument("--debug", action="store_true", help="show the traceback on errors")

    parser = argparse.ArgumentParser(
        prog="python ist_s.py",
        description="IST_S (ICDAR 2015 scene text segmentation) as a Hugging Face dataset.",
        epilog="Start with `python ist_s.py demo`: it needs no download.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, handler, help: str, config: Optional[str] = "default"):
        sub = verbs.add_parser(name, parents=[common], help=help, description=help, epilog=f"example: {EXAMPLES[name]}")
        sub.set_defaults(handler=handler)
        if config is not None:
            sub.add_argument("--config", default=config, choices=CONFIG_NAMES, help=f"default: {config}")
        return sub

    def publishing(sub):
        sub.add_argument("--config", choices=CONFIG_NAMES, help="one config only (default: both)")
        sub.add_argument("--max-shard-size", default="500MB", help="largest Parquet file (default: 500MB)")

    verb("build", _cmd_build, "Prepare both splits in the datasets cache and summarise them.")
    verb("verify", _cmd_verify, "Hash every input and compare it with the published checksums.", config=None)
    stats = verb("stats", _cmd_stats, "Per split, over every image: rows, unlabeled, sizes, pixel fractions.", None)
    stats.add_argument("--json", action="store_true", help="print JSON for machines")
    preview = verb("preview", _cmd_preview, "Save a grid of images with their masks overlaid.")
    preview.add_argument("--out", default="ist_s_preview.png", help="PNG to write")
    preview.add_argument("--split", default="train", choices=list(SPLIT_IMAGES))
    preview.add_argument("--n", type=int, default=8, help="how many images")
    preview.add_argument("--seed", type=int, default=0, help="which images (seeded choice)")
    demo = verb("demo", _cmd_demo, "Run build, stats and preview on a small synthetic input set.", config=None)
    demo.add_argument("--out", default="ist_s_demo_preview.png", help="PNG the preview is written to")
    export_verb = verb(
        "export", _cmd_export, "Write a Hub dataset repo folder (Parquet + card) that needs no script.", None
    )
    export_verb.add_argument("--out", required=True, help="folder to write (empty, or an earlier export)")
    publishing(export_verb)
    push_verb = verb("push", _cmd_push, "Export, then upload to a Hub dataset repo (created if needed).", None)
    push_verb.add_argument("--repo-id", required=True, help="ORG/NAME on the Hub")
    push_verb.add_argument("--private", action="store_true", help="create the repo private")
    push_verb.add_argument("--token", help="Hub token (default: the logged-in one)")
    push_verb.add_argument("--revision", help="branch to push to (created if needed)")
    publishing(push_verb)
    card = verb("card", _cmd_card, "Regenerate dataset_card/README.md's YAML from the builder.", config=None)
    card.add_argument("--check", action="store_true", help="exit 1 if the checked-in card is out of date")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Run one verb; exit 2 for bad input or usage, 1 for anything else, no traceback unless --debug."""
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler()  # our INFO lines (skipped images, sha256 of the labels) on stderr
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        return args.handler(args)
    except (IstSError, datasets.exceptions.ManualDownloadError) as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        if args.debug:
            raise
        print(f"error: {type(e).__name__}: {e} (run with --debug for the traceback)", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)


if __name__ == "__main__":
    # Import by name so the builder's module is `ist_s`, not `__main__` (it names the cache folder).
    import ist_s

    sys.exit(ist_s.main())
