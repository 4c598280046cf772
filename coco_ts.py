"""COCO_TS: COCO-Text Segmentation, as a Hugging Face `datasets` builder.

Pixel-level text masks (0 background, 1 text, 255 uncertain) for the MSCOCO 2014 training
photos (those COCO-Text annotates with text). Every input is a download placed in one folder;
only the labelled images are read from COCO's 13.5 GB `train2014.zip`.

    import coco_ts
    ds = coco_ts.load("path/to/data")                  # DatasetDict with train
    python coco_ts.py --help                           # the command line (`coco-ts` once installed)

This file holds what is COCO_TS's own; the mechanism is the engine's (`scene_text_seg`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Container
from types import ModuleType
from typing import IO, Any

import datasets

# ---- The engine, found beside this file (written by `python -m scene_text_seg.engine_lines`: edit them there) ----


def _engine_folder() -> str:
    """The folder whose `scene_text_seg/` belongs with this file: the folder this file was loaded from.

    Imported as a module, that is this file's own folder. datasets 3.x runs a loading script from a copy
    in its modules cache, one copy for all identical scripts, so the copy's folder (and the `.json` beside
    it, which names whichever original came first) may belong to another checkout. The folder of the
    script this load names reaches the builder as `base_path`, held by the `DatasetModule` of the
    datasets frame that imports the copy (3.x is the last series that runs scripts: this does not move).
    """
    frame = sys._getframe(1)
    while frame is not None:
        kwargs = getattr(frame.f_locals.get("dataset_module"), "builder_kwargs", None)
        if isinstance(kwargs, dict) and kwargs.get("base_path"):
            return os.path.realpath(kwargs["base_path"])
        frame = frame.f_back
    return os.path.dirname(os.path.realpath(__file__))


def _import_engine() -> ModuleType:
    """The engine beside this file; the installed one, said in a log line, when there is none beside it.

    Imported inside a function on purpose: datasets 3.x reads a script's unindented import lines as
    PyPI requirements and would refuse a checkout that was never `pip install`ed.
    """
    folder = _engine_folder()
    beside = os.path.isfile(os.path.join(folder, "scene_text_seg", "__init__.py"))
    loaded = sys.modules.get("scene_text_seg")
    if beside and loaded is not None and os.path.dirname(os.path.dirname(os.path.realpath(loaded.__file__))) != folder:
        raise ImportError(
            f"{__name__} from {folder} needs the engine beside it, {os.path.join(folder, 'scene_text_seg')}, but this "
            f"process already runs the one in {os.path.dirname(loaded.__file__)}: load it in a new process"
        )
    if beside and sys.path[:1] != [folder]:
        sys.path.insert(0, folder)  # first, so that no other copy of the engine on the path is taken
    import scene_text_seg

    engine = os.path.dirname(os.path.realpath(scene_text_seg.__file__))
    if beside and os.path.dirname(engine) != folder:
        raise ImportError(f"{__name__} from {folder} needs the engine beside it, but {engine} was imported")
    if not beside:
        logging.getLogger(f"datasets.{__name__}").info(f"no engine beside {folder}: using the installed one, {engine}")
    return scene_text_seg


scene_text_seg = _import_engine()
if scene_text_seg:  # always; indented because datasets 3.x reads unindented imports as requirements (see above)
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


_HOMEPAGE = "http://clem.diism.unisi.it/~coco_ts/downloads/coco_ts"
_LICENSE = (
    "Masks: CC BY 4.0. Images: the MSCOCO terms of use (each photo under its Flickr licence, "
    "https://cocodataset.org/#termsofuse); COCO-Text annotations: CC BY 4.0."
)

COCO_DOWNLOAD = "http://images.cocodataset.org/zips/train2014.zip"
COCO_TEXT_DOWNLOAD = "https://bgshih.github.io/cocotext/ (cocotext.v2.zip)"
COCO_TS_DOWNLOAD = _HOMEPAGE
InputFile = scene_text_seg.spec.InputFile
split_sizes_text = scene_text_seg.spec.split_sizes_text

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
        needed_by=("cocotext_splits", "words"),
    ),
)

# Rows on the genuine archives; COCO-Text's per-split counts are not published, so not checked.
EXPECTED_SPLIT_SIZES = {
    "default": {"train": 14_690},
    "cocotext_splits": {"train": None, "validation": None},
    "words": {"train": None, "validation": None},
}

_DESCRIPTION = f"""\
COCO_TS (COCO-Text Segmentation) holds {EXPECTED_SPLIT_SIZES["default"]["train"]:,} pixel-level text masks for
MSCOCO 2014 training photos, generated from the COCO-Text word boxes by weak supervision. Pixel values:
0 background, 1 text, 255 uncertain (ignore in training and evaluation).
"""

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Put these files (or the folders they extract to, same names) in one folder and pass it as `data_dir`:
  - train2014.zip         MSCOCO 2014 training images (13.5 GB), from {COCO_DOWNLOAD}
  - COCO_TS_labels.zip    the COCO_TS masks, from {COCO_TS_DOWNLOAD}
The `cocotext_splits` and `words` configs also read COCO-Text v2 (its sets, and for `words` its annotations):
  - cocotext.v2.zip       from {COCO_TEXT_DOWNLOAD}
"""

# COCO-Text names its sets "train" and "val"; the second is our `validation`.
COCO_TEXT_SETS = {"train": "train", "val": "validation"}


def read_cocotext_sets(stream: IO[bytes], where: str) -> dict[str, str]:
    """Lower-cased image stem -> split, from cocotext.v2.json's `imgs` entries (`file_name`, `set`).

    Read in 4 MiB pieces, never parsed whole (`json.load` would hold every annotation too, several
    times the file's size), yet read to its end and checked: the file must be JSON as the `json`
    module reads it, an object whose `imgs` entries are objects with a string `file_name` and `set`;
    each of COCO-Text's sets must hold an image, and no image may be in two.

    Args:
        stream: the file's bytes, read with `read(size)` until it returns b"".
        where: how errors name the file, e.g. "cocotext.v2.zip:cocotext.v2.json".

    Returns:
        Lower-cased file-name stem (e.g. "coco_train2014_000000000009") -> "train" or "validation".

    Raises:
        InvalidInputError: not UTF-8 or not JSON (naming the byte where it fails); an `imgs` entry
            without a string `file_name` and `set`; a set other than train and val; an image in two
            sets (naming it and both); a set with no image.
    """
    found: dict[str, tuple[str, str]] = {}  # stem -> (file name, set), as the file names them
    scene_text_seg.jsonpieces.walk_sections(
        stream, where, {"imgs": lambda key, entry: _add_image(found, key, entry, where)}
    )
    if not found:
        raise scene_text_seg.errors.InvalidInputError(f"{where}: no image entries (an imgs object) found")
    empty = [name for name in COCO_TEXT_SETS if name not in {split for _, split in found.values()}]
    if empty:
        raise scene_text_seg.errors.InvalidInputError(
            f"{where}: no image in set {' or '.join(map(repr, empty))} among its {len(found):,} images: "
            f"expected COCO-Text v2's train and val sets"
        )
    return {stem: COCO_TEXT_SETS[split] for stem, (_, split) in found.items()}


def _add_image(found: dict[str, tuple[str, str]], key: str, entry: object, where: str) -> None:
    """Record one `imgs` entry: stem -> (file name, set); a second set for the same image is an error."""
    name, split = (entry.get("file_name"), entry.get("set")) if isinstance(entry, dict) else (None, None)
    if not isinstance(name, str) or not isinstance(split, str):
        shown = json.dumps(entry)
        raise scene_text_seg.errors.InvalidInputError(
            f"{where}: imgs entry {key!r} is {shown[:80] + ('...' if len(shown) > 80 else '')}: "
            f"expected an object with a string file_name and set"
        )
    if split not in COCO_TEXT_SETS:
        raise scene_text_seg.errors.InvalidInputError(
            f"{where}: image {name!r} is in set {split!r}, expected train or val"
        )
    first = found.setdefault(name.rsplit(".", 1)[0].lower(), (name, split))
    if first[1] != split:
        named = repr(name) if first[0] == name else f"{first[0]!r} (and as {name!r})"
        raise scene_text_seg.errors.InvalidInputError(
            f"{where}: image {named} is in two sets, {first[1]!r} and {split!r}"
        )


# ---- COCO-Text's words, read by the same walk of cocotext.v2.json ----------------------------------------


def cocotext_word(annotation: Any, where: str) -> tuple[list[float], str, bool, str, str]:
    """One annotation as a word: (polygon, text, ignore, language, class). The polygon is its `mask`, or
    its `bbox` [x, y, w, h] as four corners where the mask is absent or empty."""
    if not isinstance(annotation, dict):
        raise scene_text_seg.errors.InvalidInputError(f"{where}: expected an annotation object, found {annotation!r}")
    mask = annotation.get("mask")
    if mask:
        polygon = scene_text_seg.words.check_polygon(mask, f"{where}: mask")
    else:
        box = annotation.get("bbox")
        if not isinstance(box, list) or len(box) != 4:
            raise scene_text_seg.errors.InvalidInputError(
                f"{where}: no mask polygon, and its bbox is {box!r}, expected [x, y, width, height]"
            )
        x, y, w, h = scene_text_seg.words.check_polygon([*box, 0, 0], f"{where}: bbox")[:4]
        polygon = scene_text_seg.words.check_polygon([x, y, x + w, y, x + w, y + h, x, y + h], f"{where}: bbox")
    fields = {}
    for field in ("utf8_string", "legibility", "language", "class"):
        value = annotation.get(field, "")
        if not isinstance(value, str):
            raise scene_text_seg.errors.InvalidInputError(f"{where}: its {field} is {value!r}, expected a string")
        fields[field] = value
    if fields["legibility"] not in ("legible", "illegible"):
        raise scene_text_seg.errors.InvalidInputError(
            f"{where}: legibility {fields['legibility']!r}, expected legible or illegible"
        )
    ignore = fields["legibility"] == "illegible"
    return polygon, fields["utf8_string"], ignore, fields["language"], fields["class"]


def read_cocotext_words(stream: IO[bytes], where: str, wanted: Container[str]) -> dict[str, dict[str, list]]:
    """Lower-cased image stem -> its words, for the `wanted` images cocotext.v2.json annotates.

    Each word is an annotation in `imgToAnns` order: polygon from `mask` (`bbox` where there is none),
    text from `utf8_string` ("" where absent), `ignore` for illegible words, `language`, `class`. An image
    with no annotations gets no words. Read in pieces to the end (`scene_text_seg.jsonpieces.walk_sections`);
    only the wanted images' annotations are kept.

    Raises:
        InvalidInputError: a malformed or truncated file, or an annotation that is missing or does not fit.
    """
    stems: dict[str, str] = {}  # COCO-Text image id -> wanted stem
    listed: dict[str, list] = {}  # image id -> its annotation ids
    words: dict[str, tuple] = {}  # annotation id -> (image id, word)

    def image(key: str, value: object) -> None:
        name = value.get("file_name") if isinstance(value, dict) else None
        if not isinstance(name, str):
            raise scene_text_seg.errors.InvalidInputError(f"{where}: imgs[{key!r}] has no file_name")
        stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
        if stem in wanted:
            stems[key] = stem

    def annotations_of(key: str, value: object) -> None:
        if not isinstance(value, list):
            raise scene_text_seg.errors.InvalidInputError(f"{where}: imgToAnns[{key!r}] is not a list")
        listed[key] = value

    def annotation(key: str, value: object) -> None:
        # Kept as words until the wanted images are known: the file may list anns before imgs.
        owner = value.get("image_id") if isinstance(value, dict) else None
        words[key] = (str(owner), cocotext_word(value, f"{where}: anns[{key!r}]"))

    sections = {"imgs": image, "imgToAnns": annotations_of, "anns": annotation}
    scene_text_seg.jsonpieces.walk_sections(stream, where, sections, scene_text_seg.jsonpieces.NUMBERS)
    found = {}
    for image, stem in stems.items():
        image_words = scene_text_seg.words.empty_words()
        for annotation in listed.get(image, []):
            owner, word = words.get(str(annotation), (None, None))
            if word is None:
                raise scene_text_seg.errors.InvalidInputError(
                    f"{where}: imgToAnns[{image!r}] names annotation {annotation!r}, which anns does not hold"
                )
            if owner != image:
                raise scene_text_seg.errors.InvalidInputError(
                    f"{where}: annotation {annotation!r} is listed under image {image} but belongs to image {owner}"
                )
            scene_text_seg.words.add_word(image_words, *word)
        found[stem] = image_words
    return found


def write_demo_inputs(folder: str) -> None:
    """Write small synthetic stand-ins of the downloads into `folder` (never real images): a train2014
    zip of mostly unlabelled photos (some grey), the labels, and COCO-Text's sets and annotations."""
    scene_text_seg.synthetic.write_coco_ts_inputs(folder, seed=2014, n_images=40, size=(320, 240), look="photo")


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
    stand_in_split_sizes={
        "default": {"train": 20},
        "cocotext_splits": {"train": 12, "validation": 7},
        "words": {"train": 12, "validation": 7},
    },
    split_assignment=scene_text_seg.spec.SplitAssignment("cocotext", read_cocotext_sets, "cocotext.v2.json"),
    # The words config's splits are COCO-Text's sets too; both read the one annotation file.
    words_roles={"train": "cocotext", "validation": "cocotext"},
    words_file=scene_text_seg.spec.WordsFile("cocotext.v2.json", read_cocotext_words),
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
        CocoTsConfig(
            name="default",
            version=VERSION,
            description=f"Every labelled image in one split: {split_sizes_text(EXPECTED_SPLIT_SIZES['default'])}.",
        ),
        CocoTsConfig(
            name="cocotext_splits",
            version=VERSION,
            assign_splits=True,
            description="The labelled images divided into train and validation by COCO-Text v2's sets.",
        ),
        CocoTsConfig(
            name="words",
            version=VERSION,
            assign_splits=True,
            with_words=True,
            description="The labelled images, divided as in cocotext_splits, each with its COCO-Text v2 words: "
            "polygons on the decoded grid, transcriptions, illegible words as don't-care, language and class.",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# What users call: `coco_ts.load(...)` and friends, bound to CocoTs
# ---------------------------------------------------------------------------------------------

CocoTsError = scene_text_seg.errors.SceneTextSegError
_functions = scene_text_seg.api.DatasetFunctions(CocoTs)
load, prepare, inventory = _functions.load, _functions.prepare, _functions.inventory
export, push, main = _functions.export, _functions.push, _functions.main

# What `from coco_ts import *` gives, and what help(coco_ts) lists: this dataset's own names, then the shared ones.
__all__ = [
    "CocoTs",
    "CocoTsConfig",
    "CocoTsError",
    "EXPECTED_SPLIT_SIZES",
    "INPUTS",
    "SPEC",
    "VERSION",
    "export",
    "inventory",
    "load",
    "main",
    "prepare",
    "push",
    "read_cocotext_sets",
    "read_cocotext_words",
    "write_demo_inputs",
    *scene_text_seg.api.__all__,
]

if __name__ == "__main__":
    # Import by name so the builder's module is `coco_ts`, not `__main__` (it names the cache folder).
    import coco_ts

    sys.exit(coco_ts.main())
