"""ICDAR 2013 Focused Scene Text (Robust Reading Challenge 2, Task 2.2: text segmentation) as a Hugging Face
`datasets` builder.

462 focused scene photos (229 train, 233 test) with the challenge's pixel-level text ground truth, stored in
the family's label encoding: 0 background, 1 text, 255 ignore. The training ground truth is an RGB BMP with
one colour per character and a table of the colours (don't-care characters marked `#`); the test ground
truth a PNG of text in colour on white. Both are converted here, by rules stated below and in the card.

    import icdar13_fst
    ds = icdar13_fst.load("path/to/data")             # DatasetDict with train/test
    python icdar13_fst.py --help                       # the command line (`icdar13-fst` once installed)

This file holds what is ICDAR 2013's own: its texts, inputs, label decoders and word files, and the builder
class on the engine (`scene_text_seg`). With datasets 3.x it is also the loading script:
`load_dataset("path/to/icdar13_fst.py", data_dir=..., trust_remote_code=True)`.
"""

from __future__ import annotations

import logging
import os
import sys
from types import ModuleType

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
@inproceedings{karatzas2013icdar,
  title     = {ICDAR 2013 Robust Reading Competition},
  author    = {Karatzas, Dimosthenis and Shafait, Faisal and Uchida, Seiichi and Iwamura, Masakazu and
               i Bigorda, Lluis Gomez and Mestre, Sergi Robles and Mas, Joan and Mota, David Fernandez and
               Almazan, Jon Almazan and de las Heras, Lluis Pere},
  booktitle = {12th International Conference on Document Analysis and Recognition (ICDAR)},
  pages     = {1484--1493},
  year      = {2013}
}
"""

_HOMEPAGE = "https://rrc.cvc.uab.es/?ch=2"
_LICENSE = (
    "The Robust Reading Competition's terms of use, accepted when registering at the RRC site to download: "
    "research use; this loader grants no right to the data."
)

RRC_DOWNLOADS = "https://rrc.cvc.uab.es/?ch=2&com=downloads (registration), files at https://rrc.cvc.uab.es/downloads/"
InputFile = scene_text_seg.spec.InputFile
# md5s of the images and of the Task 1 ground truth from MMOCR's dataset_zoo/icdar2013 (textdet.py). The Task 2
# ground truth's are not published (keras-ocr pins sha256
# 4cedd5b1e33dc4354058f5967221ac85dbdf91a99b30f3ab1ecdf42786a9d027 for its own copy of the training file, not
# confirmed to be the RRC's): both are reported with their sha256.
INPUTS = (
    InputFile(
        "Challenge2_Training_Task12_Images",
        "train_images",
        RRC_DOWNLOADS,
        digest="md5:a443b9649fda4229c9bc52751bad08fb",
    ),
    InputFile(
        "Challenge2_Test_Task12_Images", "test_images", RRC_DOWNLOADS, digest="md5:af2e9f070c4c6a1c7bdb7b36bacf23e3"
    ),
    InputFile("Challenge2_Training_Task2_GT", "train_labels", RRC_DOWNLOADS),
    InputFile("Challenge2_Test_Task2_GT", "test_labels", RRC_DOWNLOADS),
    # Task 1 (localisation) word boxes and transcriptions: for config `words` only.
    InputFile(
        "Challenge2_Training_Task1_GT",
        "train_words",
        RRC_DOWNLOADS,
        digest="md5:f3a425284a66cd67f455d389c972cce4",
        required=False,
        needed_by=("words",),
    ),
    InputFile(
        "Challenge2_Test_Task1_GT",
        "test_words",
        RRC_DOWNLOADS,
        digest="md5:3191c34cd6ac28b60f5a7db7030190fb",
        required=False,
        needed_by=("words",),
    ),
)

EXPECTED_SPLIT_SIZES = {config: {"train": 229, "test": 233} for config in ("default", "words")}

# The label decoders, one a split. Training: `<id>_GT.bmp`, each character in its own colour on white, and
# `<id>_GT.txt` listing each character's colour (`R G B cx cy x1 y1 x2 y2 "c"`, `#` before a don't-care one).
# TexRNet (lib/data_factory/ds_icdar13.py, Icdar13_SeglabelLoader_Original with Icdar13_CharBboxLoader_Original,
# then SemanticFormatter) maps white to background, a listed character's colour to text, a don't-care one's
# and any colour the table does not list to ignore: so here. Test: `gt_img_<N>.png`, text in colour on white,
# no table: white is background, every other colour text (tormentor's examples/text_segmentation/rr_ds.py
# thresholds the grey value at 0.99 instead: see the card).
TRAIN_DECODER = scene_text_seg.spec.CharacterColours(
    table_extension=".txt", read_table=scene_text_seg.labels.read_character_colours
)
TEST_DECODER = scene_text_seg.spec.NonWhite()
SPLIT_LABELS = {
    "train": scene_text_seg.spec.LabelFiles(
        role="train_labels", suffix="_GT", extensions=(".bmp",), decoder=TRAIN_DECODER
    ),
    "test": scene_text_seg.spec.LabelFiles(
        role="test_labels", prefix="gt_", extensions=(".png",), decoder=TEST_DECODER
    ),
}

_DESCRIPTION = """\
ICDAR 2013 Focused Scene Text (Robust Reading Competition, Challenge 2) is 462 photos of focused,
mostly horizontal scene text (229 train, 233 test) with word boxes and transcriptions (Task 1) and
pixel-level text ground truth (Task 2: text segmentation). Masks are stored in the family's encoding:
0 background, 1 text, 255 ignore (training: don't-care characters and colours the table does not list).
"""

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Put these files (or the folders they extract to, same names) in one folder and pass it as `data_dir`;
they are downloaded from the Robust Reading Competition site after registering, {RRC_DOWNLOADS}:
  - Challenge2_Training_Task12_Images.zip  the 229 training images (100.jpg ...)
  - Challenge2_Test_Task12_Images.zip      the 233 test images (img_1.jpg ...)
  - Challenge2_Training_Task2_GT.zip       the training segmentation: <id>_GT.bmp and its colour table <id>_GT.txt
  - Challenge2_Test_Task2_GT.zip           the test segmentation: gt_img_<N>.png
Config `words` also reads Challenge2_Training_Task1_GT.zip and Challenge2_Test_Task1_GT.zip (gt_<image>.txt).
"""


def write_demo_inputs(folder: str) -> None:
    """Write small synthetic stand-ins of the downloads into `folder` (never real images): 10 photo-like images,
    their per-character colour BMPs with colour tables, test PNGs and Task 1 word files."""
    scene_text_seg.synthetic.write_icdar13_inputs(folder, seed=2013, n_train=6, n_test=4, size=(160, 112))


SPEC = scene_text_seg.spec.DatasetSpec(
    name="icdar13_fst",
    short_name="ICDAR 2013 FST",
    pretty_name="ICDAR 2013 Focused Scene Text: text segmentation",
    description=_DESCRIPTION,
    citation=_CITATION,
    homepage=_HOMEPAGE,
    license=_LICENSE,
    inputs=INPUTS,
    split_images={"train": ("train_images",), "test": ("test_images",)},
    split_words={"train": "train", "training": "train", "test": "test"},
    expected_split_sizes=EXPECTED_SPLIT_SIZES,
    manual_download_instructions=MANUAL_DOWNLOAD_INSTRUCTIONS,
    labels_download=RRC_DOWNLOADS,
    card_file="icdar13_fst.md",
    tags=("scene-text", "text-segmentation", "icdar2013", "benchmark"),
    write_demo_inputs=write_demo_inputs,
    stand_in_split_sizes={config: {"train": 6, "test": 4} for config in ("default", "words")},
    labels_role="train_labels",
    words_roles={"train": "train_words", "test": "test_words"},
    word_files=scene_text_seg.spec.WordFilesPerImage(
        prefix="gt_", suffix=".txt", parse=scene_text_seg.words.parse_icdar2013_words
    ),
    split_labels=SPLIT_LABELS,
    hub_license="other",
    hub_license_name="icdar2013-rrc-terms",
)

# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------

VERSION = datasets.Version("1.0.0")
Icdar13FstConfig = scene_text_seg.builder.SceneTextSegConfig


class Icdar13Fst(scene_text_seg.builder.SceneTextSegBuilder):
    """ICDAR 2013 Focused Scene Text image + text-mask pairs from the RRC's archives."""

    SPEC = SPEC
    VERSION = VERSION
    BUILDER_CONFIGS = [
        Icdar13FstConfig(
            name="default",
            version=VERSION,
            description="Every image with its mask: training BMPs by their colour tables, test PNGs non-white = text.",
        ),
        Icdar13FstConfig(
            name="words",
            version=VERSION,
            with_words=True,
            description="As default, each image with its Task 1 words: boxes as 4-vertex polygons, transcriptions.",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# What users call: `icdar13_fst.load(...)` and friends, bound to ICDAR 2013 FST
# ---------------------------------------------------------------------------------------------

Icdar13FstError = scene_text_seg.errors.SceneTextSegError
_functions = scene_text_seg.api.DatasetFunctions(Icdar13Fst)
load, prepare, inventory = _functions.load, _functions.prepare, _functions.inventory
export, push, main = _functions.export, _functions.push, _functions.main

# What `from icdar13_fst import *` gives and help(icdar13_fst) lists: this dataset's own names, then the shared ones.
__all__ = [
    "Icdar13Fst",
    "Icdar13FstConfig",
    "Icdar13FstError",
    "EXPECTED_SPLIT_SIZES",
    "INPUTS",
    "SPLIT_LABELS",
    "SPEC",
    "TEST_DECODER",
    "TRAIN_DECODER",
    "VERSION",
    "export",
    "inventory",
    "load",
    "main",
    "prepare",
    "push",
    "write_demo_inputs",
    *scene_text_seg.api.__all__,
]

if __name__ == "__main__":
    # Import by name so the builder's module is `icdar13_fst`, not `__main__` (it names the cache folder).
    import icdar13_fst

    sys.exit(icdar13_fst.main())
