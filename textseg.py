"""TextSeg, the fine-annotated text segmentation benchmark (CVPR 2021), as a Hugging Face `datasets` builder.

4,024 scene and design-text images with pixel-level text masks, read from the authors' downloads and
stored in the family's label encoding: 0 background, 1 text, 255 ignore (TextSeg's own word-effect
value, 200, becomes background).

    import textseg
    ds = textseg.load("path/to/data")                  # DatasetDict with train/validation/test
    python textseg.py --help                           # the command line (`textseg` once installed)

This file holds what is TextSeg's own: its texts, inputs, label values, split file and word files,
and the builder class on the engine (`scene_text_seg`). With datasets 3.x it is also the loading
script: `load_dataset("path/to/textseg.py", data_dir=..., trust_remote_code=True)`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from types import ModuleType
from typing import IO

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

logger = datasets.utils.logging.get_logger(f"datasets.{__name__}")

_CITATION = """\
@inproceedings{xu2021rethinking,
  title     = {Rethinking Text Segmentation: A Novel Dataset and A Text-Specific Refinement Approach},
  author    = {Xu, Xingqian and Zhang, Zhifei and Wang, Zhaowen and Price, Brian and Wang, Zhonghao and Shi, Humphrey},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages     = {12045--12055},
  year      = {2021}
}
"""

_HOMEPAGE = "https://github.com/SHI-Labs/Rethinking-Text-Segmentation"
_LICENSE = (
    "Academic research use only, granted by the authors on request (the dataset's request form); not redistributable."
)

TEXTSEG_REQUEST = "https://github.com/SHI-Labs/Rethinking-Text-Segmentation (request form; sent by email)"
InputFile = scene_text_seg.spec.InputFile
TAR = (".tar.gz", ".tar")  # as sent, or inflated once by hand (gunzip): both read the same

# The authors publish no checksums: every input is reported with its sha256.
INPUTS = (
    InputFile("image", "images", TEXTSEG_REQUEST, extensions=TAR),
    InputFile("semantic_label", "labels", TEXTSEG_REQUEST, extensions=TAR),
    InputFile("split", "split", TEXTSEG_REQUEST, extensions=(".json",), folder=False),
    # The paper's labels ("version 1"; the released semantic_label is version 2), for config `v1` only.
    InputFile("semantic_label_v1", "labels_v1", TEXTSEG_REQUEST, extensions=TAR, required=False, needed_by=("v1",)),
    # Word and character polygons, transcriptions: `<id>_anno.json`, for config `words` only.
    InputFile("annotation", "annotations", TEXTSEG_REQUEST, extensions=TAR, required=False, needed_by=("words",)),
)

# Not published per split; the builder logs each split's size. Total: 4,024 images.
EXPECTED_SPLIT_SIZES = {
    config: {"train": None, "validation": None, "test": None} for config in ("default", "words", "v1")
}

# The label decoder: `_maskfg.png` holds 0 background, 100 text, 200 word effect (shadows, outlines,
# 3-D extrusions drawn with the text) and 255 ignore. Both public training codebases train on text
# alone: TexRNet's loader (lib/data_factory/ds_textseg.py, TextSeg_SemlabelLoader) maps 100 to text and,
# in its released configs, 200 to background; Hi-SAM trains on `== 100`. So 200 is background here.
LABEL_VALUES = {0: 0, 100: 1, 200: 0, 255: 255}

_DESCRIPTION = """\
TextSeg is a text segmentation benchmark of 4,024 scene and design-text images with fine pixel-level
text masks, word and character polygons and transcriptions (Xu et al., CVPR 2021). Masks are stored in
the family's encoding: 0 background, 1 text, 255 ignore; TextSeg's word-effect pixels (value 200) are
background, as in both public training codebases.
"""

SPLIT_FILE_SPLITS = {"train": "train", "val": "validation", "test": "test"}

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Put these files (or the folders the archives extract to, same names) in one folder and pass it as
`data_dir`; TextSeg is sent by its authors on request, from {TEXTSEG_REQUEST}:
  - image.tar.gz           the images (image/<id>.jpg)
  - semantic_label.tar.gz  the text masks (semantic_label/<id>_maskfg.png)
  - split.json             the train / val / test lists
Config `words` also reads annotation.tar.gz (<id>_anno.json); config `v1` reads semantic_label_v1.tar.gz
(the paper's labels). A .tar.gz is inflated once into the datasets cache (as much disk as the archive
holds uncompressed); a plain .tar or an extracted folder is read in place.
"""


def read_split_file(stream: IO[bytes], where: str) -> dict[str, str]:
    """Lower-cased image id -> split, from TextSeg's `split.json` (`{"train": [ids], "val": [...], "test": [...]}`).

    Read as TexRNet's loader reads it (`split[m]` for m in train / val / test); `val` becomes `validation`.
    Other keys are logged and passed over.

    Raises:
        InvalidInputError: not a JSON object; a split missing, not a list of strings, or empty; an id in two splits.
    """
    try:
        document = json.loads(stream.read().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise scene_text_seg.errors.InvalidInputError(f"{where}: not a JSON file ({e})") from None
    if not isinstance(document, dict):
        raise scene_text_seg.errors.InvalidInputError(
            f"{where}: expected an object of train / val / test id lists, found a {type(document).__name__}"
        )
    others = sorted(set(document) - set(SPLIT_FILE_SPLITS))
    if others:
        logger.warning(f"{where}: passed over the lists {', '.join(map(repr, others))}: not train, val or test")
    assigned: dict[str, str] = {}
    for key, split in SPLIT_FILE_SPLITS.items():
        ids = document.get(key)
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            found = "nothing" if ids is None else json.dumps(ids)[:60]
            raise scene_text_seg.errors.InvalidInputError(
                f"{where}: {key!r} must be a non-empty list of image ids, found {found}"
            )
        for image_id in ids:
            if image_id.lower() in assigned:
                raise scene_text_seg.errors.InvalidInputError(
                    f"{where}: {image_id!r} is in two splits ({assigned[image_id.lower()]} and {split})"
                )
            assigned[image_id.lower()] = split
    return assigned


def read_word_file(data: bytes, where: str) -> dict[str, list]:
    """The words of one `<id>_anno.json`, in file order, in the `words` column's form.

    Read as TexRNet's loader reads these files (lib/data_factory/ds_textseg.py, CharBboxSpLoader): an object
    of words, each an object with its `text` and, here, its flat polygon `bbox` (x1, y1, x2, y2, ...); its
    `char` entries (characters) are not part of the schema. TextSeg marks no word don't-care: `ignore` is
    False; `language` and `class` are empty.

    Raises:
        InvalidInputError: not JSON, not an object of word objects, a word without a string `text`, or a
            `bbox` that is not a polygon of 3 or more points (naming the word's key).
    """
    try:
        document = json.loads(data.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise scene_text_seg.errors.InvalidInputError(f"{where}: not a JSON file ({e})") from None
    if not isinstance(document, dict):
        raise scene_text_seg.errors.InvalidInputError(
            f"{where}: expected an object of words, found a {type(document).__name__}"
        )
    words = scene_text_seg.words.empty_words()
    for key, word in document.items():
        text = word.get("text") if isinstance(word, dict) else None
        if not isinstance(text, str):
            raise scene_text_seg.errors.InvalidInputError(f"{where}: word {key!r} has no string text")
        polygon = scene_text_seg.words.check_polygon(word.get("bbox"), f"{where}: word {key!r} bbox")
        scene_text_seg.words.add_word(words, polygon, text, False)
    return words


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a coordinate")


def write_demo_inputs(folder: str) -> None:
    """Write small synthetic stand-ins of the downloads into `folder` (never real images): 20 photo-like
    images in TextSeg's tar.gz layout with all four mask values, the word files, the v1 labels and a split file."""
    scene_text_seg.synthetic.write_textseg_inputs(folder, seed=2021, n_images=20, size=(320, 200))


SPEC = scene_text_seg.spec.DatasetSpec(
    name="textseg",
    short_name="TextSeg",
    pretty_name="TextSeg: fine-annotated text segmentation",
    description=_DESCRIPTION,
    citation=_CITATION,
    homepage=_HOMEPAGE,
    license=_LICENSE,
    inputs=INPUTS,
    # One pool of pairs (every mask PNG, wherever it lies), divided by split.json.
    split_images={"all": ("images",)},
    split_words={},
    expected_split_sizes=EXPECTED_SPLIT_SIZES,
    manual_download_instructions=MANUAL_DOWNLOAD_INSTRUCTIONS,
    labels_download=TEXTSEG_REQUEST,
    card_file="textseg.md",
    tags=("scene-text", "text-segmentation", "textseg", "benchmark"),
    write_demo_inputs=write_demo_inputs,
    stand_in_split_sizes={config: {"train": 12, "validation": 3, "test": 5} for config in ("default", "words", "v1")},
    split_assignment=scene_text_seg.spec.SplitAssignment("split", read_split_file, None, complete=True),
    words_roles={"all": "annotations"},
    word_files=scene_text_seg.spec.WordFilesPerImage(prefix="", suffix="_anno.json", parse=read_word_file),
    label_values=LABEL_VALUES,
    label_suffix="_maskfg",
    hub_license="other",
    hub_license_name="textseg-academic-research",
)

# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------

VERSION = datasets.Version("1.0.0")
TextSegConfig = scene_text_seg.builder.SceneTextSegConfig


class TextSeg(scene_text_seg.builder.SceneTextSegBuilder):
    """TextSeg image + text-mask pairs from the authors' archives, split by split.json."""

    SPEC = SPEC
    VERSION = VERSION
    BUILDER_CONFIGS = [
        TextSegConfig(
            name="default",
            version=VERSION,
            assign_splits=True,
            description="Every image with its mask (semantic_label, version 2), split as split.json says.",
        ),
        TextSegConfig(
            name="words",
            version=VERSION,
            assign_splits=True,
            with_words=True,
            description="As default, each image with its words from <id>_anno.json: polygons on the decoded "
            "grid and transcriptions.",
        ),
        TextSegConfig(
            name="v1",
            version=VERSION,
            assign_splits=True,
            labels_role="labels_v1",
            description="As default, with the paper's labels (semantic_label_v1) in place of the released ones.",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# What users call: `textseg.load(...)` and friends, bound to TextSeg
# ---------------------------------------------------------------------------------------------

TextSegError = scene_text_seg.errors.SceneTextSegError
_functions = scene_text_seg.api.DatasetFunctions(TextSeg)
load, prepare, inventory = _functions.load, _functions.prepare, _functions.inventory
export, push, main = _functions.export, _functions.push, _functions.main

# What `from textseg import *` gives, and what help(textseg) lists: this dataset's own names, then the shared ones.
__all__ = [
    "TextSeg",
    "TextSegConfig",
    "TextSegError",
    "EXPECTED_SPLIT_SIZES",
    "INPUTS",
    "LABEL_VALUES",
    "SPEC",
    "VERSION",
    "export",
    "inventory",
    "load",
    "main",
    "prepare",
    "push",
    "read_split_file",
    "read_word_file",
    "write_demo_inputs",
    *scene_text_seg.api.__all__,
]

if __name__ == "__main__":
    # Import by name so the builder's module is `textseg`, not `__main__` (it names the cache folder).
    import textseg

    sys.exit(textseg.main())
