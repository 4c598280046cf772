"""COCO_TS: COCO-Text Segmentation, as a Hugging Face `datasets` builder.

Pixel-level text masks (0 background, 1 text, 255 uncertain) for 14,690 MSCOCO 2014 training
photos (those COCO-Text annotates with text). Every input is a download placed in one folder;
only the labelled images are read from COCO's 13.5 GB `train2014.zip`.

    import coco_ts
    ds = coco_ts.load("path/to/data")                  # DatasetDict with train
    python coco_ts.py --help                           # the command line (`coco-ts` once installed)

This file holds what is COCO_TS's own; the mechanism is the engine's (`scene_text_seg`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import IO

import datasets


def _checkout_folder() -> str:
    """The folder holding this script's engine when `scene_text_seg` is not installed: a checkout.

    datasets 3.x runs a loading script from a copy in its modules cache and writes, beside the
    copy, a `.json` naming the original file; the engine sits beside that original.
    """
    here = os.path.abspath(__file__)
    candidates = [os.path.dirname(here)]
    record = os.path.splitext(here)[0] + ".json"
    if os.path.isfile(record):
        with open(record, encoding="utf-8") as f:
            candidates.append(os.path.dirname(json.load(f)["original file path"]))
    for folder in candidates:
        if os.path.isfile(os.path.join(folder, "scene_text_seg", "__init__.py")):
            return folder
    raise ImportError("coco_ts needs its engine, the scene_text_seg package: run `pip install .` in the ist_s checkout")


# The engine is imported inside this block on purpose: datasets 3.x reads a script's unindented
# import lines as PyPI requirements and refuses to run it when one is not installed, which would
# refuse a plain checkout that was never `pip install`ed.
try:
    import scene_text_seg
except ModuleNotFoundError:
    sys.path.insert(0, _checkout_folder())
    import scene_text_seg
    from scene_text_seg.api import *  # noqa: F403 (the same names, once the checkout is on the path)
else:
    from scene_text_seg.api import *  # noqa: F403 (constants, errors, training helpers: scene_text_seg/api.py)

# ---------------------------------------------------------------------------------------------
# What the dataset is
# ---------------------------------------------------------------------------------------------

_CITATION = """\
@inproceedings{bonechi2019cocots,
  title     = {{COCO\\_TS} Dataset: Pixel-Level Annotations Based on Weak Supervision for Scene Text Segmentation},
  author    = {Bonechi, Simone and Andreini, Paolo and Bianchini, Monica and Scarselli, Franco},
  booktitle = {Artificial Neural Networks and Machine Learning -- ICANN 2019},
  pages     = {238--250},
  year      = {2019},
  publisher = {Springer, Cham}
}
@inproceedings{lin2014coco,
  title     = {Microsoft {COCO}: Common Objects in Context},
  author    = {Lin, Tsung-Yi and Maire, Michael and Belongie, Serge and Hays, James and Perona, Pietro
               and Ramanan, Deva and Doll{\\'a}r, Piotr and Zitnick, C. Lawrence},
  booktitle = {Computer Vision -- ECCV 2014},
  pages     = {740--755},
  year      = {2014}
}
@article{veit2016cocotext,
  title   = {{COCO-Text}: Dataset and Benchmark for Text Detection and Recognition in Natural Images},
  author  = {Veit, Andreas and Matera, Tomas and Neumann, Lukas and Matas, Jiri and Belongie, Serge},
  journal = {arXiv preprint arXiv:1601.07140},
  year    = {2016}
}
"""

_DESCRIPTION = """\
COCO_TS (COCO-Text Segmentation) holds 14,690 pixel-level text masks for MSCOCO 2014 training
photos, generated from the COCO-Text word boxes by weak supervision. Pixel values: 0 background,
1 text, 255 uncertain (ignore in training and evaluation).
"""

_HOMEPAGE = "http://clem.diism.unisi.it/~coco_ts/downloads/coco_ts"
_LICENSE = (
    "Masks: CC BY 4.0. Images: the MSCOCO terms of use (each photo under its Flickr licence, "
    "https://cocodataset.org/#termsofuse); COCO-Text annotations: CC BY 4.0."
)

COCO_DOWNLOAD = "http://images.cocodataset.org/zips/train2014.zip"
COCO_TEXT_DOWNLOAD = "https://bgshih.github.io/cocotext/ (cocotext.v2.zip)"
COCO_TS_DOWNLOAD = _HOMEPAGE
InputFile = scene_text_seg.spec.InputFile

# MSCOCO's train2014.zip as published (size, and its sha256 beside the md5 DESIGN §1b lists);
# COCO-Text v2's md5 from MMOCR's preparer. The labels zip has no published checksum.
INPUTS = (
    InputFile(
        "train2014",
        "train_images",
        COCO_DOWNLOAD,
        13_510_573_713,
        "sha256:247c711a14321253a4f48a9d55b41f3edd86d036dbe2e16204b52097404f035f",
    ),
    InputFile("COCO_TS_labels", "labels", COCO_TS_DOWNLOAD),
    InputFile(
        "cocotext.v2",
        "cocotext",
        COCO_TEXT_DOWNLOAD,
        digest="md5:5e39f7d6f2f11324c6451e63523c440c",
        required=False,
        needed_by=("cocotext_splits",),
    ),
)

# Rows on the genuine archives; COCO-Text's per-split counts are not published, so not checked.
EXPECTED_SPLIT_SIZES = {"default": {"train": 14_690}, "cocotext_splits": {"train": None, "validation": None}}

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Put these files (or the folders they extract to, same names) in one folder and pass it as `data_dir`:
  - train2014.zip         MSCOCO 2014 training images (13.5 GB), from {COCO_DOWNLOAD}
  - COCO_TS_labels.zip    the COCO_TS masks, from {COCO_TS_DOWNLOAD}
The `cocotext_splits` config also reads COCO-Text v2's sets:
  - cocotext.v2.zip       from {COCO_TEXT_DOWNLOAD}
"""

# COCO-Text names its sets "train" and "val"; the second is our `validation`.
COCO_TEXT_SETS = {"train": "train", "val": "validation"}
# An image entry of cocotext.v2.json: a flat object holding "file_name" and "set".
_FLAT_OBJECT = re.compile(rb"\{[^{}]*\}")
_FILE_NAME = re.compile(rb'"file_name"\s*:\s*"([^"]*)"')
_SET = re.compile(rb'"set"\s*:\s*"([^"]*)"')


def read_cocotext_sets(stream: IO[bytes], where: str) -> dict[str, str]:
    """Lower-cased image stem -> split, from cocotext.v2.json's `imgs` entries (`file_name`, `set`).

    Read in 4 MiB pieces, never parsed whole: the file holds every annotation too, and `json`
    would hold it all in memory, several times its size, for the few fields used here.
    """
    sets: dict[str, str] = {}
    carry = b""
    while piece := stream.read(4 << 20):
        buffer = carry + piece
        end = 0
        for found in _FLAT_OBJECT.finditer(buffer):
            name, split = _FILE_NAME.search(found[0]), _SET.search(found[0])
            if name and split:
                if split[1].decode() not in COCO_TEXT_SETS:
                    raise scene_text_seg.errors.InvalidInputError(
                        f"{where}: image {name[1].decode()!r} is in set {split[1].decode()!r}, expected train or val"
                    )
                sets[name[1].decode().rsplit(".", 1)[0].lower()] = COCO_TEXT_SETS[split[1].decode()]
            end = found.end()
        opening = buffer.rfind(b"{", end)
        carry = buffer[opening:] if opening >= 0 else b""  # an object cut by the piece's end
    if not sets:
        raise scene_text_seg.errors.InvalidInputError(f"{where}: no image entries (file_name and set) found")
    return sets


def write_demo_inputs(folder: str) -> None:
    """Write small synthetic stand-ins of the downloads into `folder` (never real images): a train2014
    zip of mostly unlabelled photos (some grey), the labels, and COCO-Text's sets."""
    scene_text_seg.synthetic.write_coco_ts_inputs(folder, seed=2014, n_images=40, size=(320, 240))


SPEC = scene_text_seg.spec.DatasetSpec(
    name="coco_ts",
    pretty_name="COCO_TS: COCO-Text Segmentation",
    description=_DESCRIPTION,
    citation=_CITATION,
    homepage=_HOMEPAGE,
    license=_LICENSE,
    inputs=INPUTS,
    split_images={"train": ("train_images",)},
    split_words={"train": "train", "training": "train"},
    expected_split_sizes=EXPECTED_SPLIT_SIZES,
    manual_download_instructions=MANUAL_DOWNLOAD_INSTRUCTIONS,
    labels_download=COCO_TS_DOWNLOAD,
    card_file="coco_ts.md",
    tags=("scene-text", "text-segmentation", "coco", "coco-text", "weak-supervision"),
    write_demo_inputs=write_demo_inputs,
    split_assignment=scene_text_seg.spec.SplitAssignment("cocotext", read_cocotext_sets, "cocotext.v2.json"),
)


# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------

VERSION = datasets.Version("1.0.0")
CocoTsConfig = scene_text_seg.builder.SceneTextSegConfig


class CocoTs(scene_text_seg.builder.SceneTextSegBuilder):
    """COCO_TS image + text-mask pairs: the labelled MSCOCO 2014 training photos and their masks."""

    SPEC = SPEC
    VERSION = VERSION
    BUILDER_CONFIGS = [
        CocoTsConfig(name="default", version=VERSION, description="Every labelled image in one split: 14,690 train."),
        CocoTsConfig(
            name="cocotext_splits",
            version=VERSION,
            assign_splits=True,
            description="The labelled images divided into train and validation by COCO-Text v2's sets.",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# What users call: `coco_ts.load(...)` and friends, bound to CocoTs
# ---------------------------------------------------------------------------------------------

CocoTsError = scene_text_seg.errors.SceneTextSegError
load, prepare, inventory, export, push, main = scene_text_seg.api.bind(CocoTs)

if __name__ == "__main__":
    # Import by name so the builder's module is `coco_ts`, not `__main__` (it names the cache folder).
    import coco_ts

    sys.exit(coco_ts.main())
