"""Total-Text, the curved scene text benchmark (ICDAR 2017 / IJDAR 2020), as a Hugging Face `datasets` builder.

1,555 scene photos (1,255 train, 300 test) rich in curved text, with the authors' pixel-level text masks
("Character Level Mask") stored in the family's label encoding: 0 background, 1 text. Total-Text's masks are
lossy JPEGs: text is where a mask's luminance is above 127, as every public loader reads them; no pixel is
ignore (255).

    import total_text
    ds = total_text.load("path/to/data")              # DatasetDict with train/test
    python total_text.py --help                        # the command line (`total-text` once installed)

This file holds what is Total-Text's own: its texts, inputs, label decoder and word files, and the builder
class on the engine (`scene_text_seg`). With datasets 3.x it is also the loading script:
`load_dataset("path/to/total_text.py", data_dir=..., trust_remote_code=True)`.
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
@article{chng2020totaltext,
  title   = {Total-Text: Toward Orientation Robustness in Scene Text Detection},
  author  = {Ch'ng, Chee-Kheng and Chan, Chee Seng and Liu, Cheng-Lin},
  journal = {International Journal on Document Analysis and Recognition (IJDAR)},
  volume  = {23},
  pages   = {31--52},
  year    = {2020}
}
@inproceedings{chng2017totaltext,
  title     = {Total-Text: A Comprehensive Dataset for Scene Text Detection and Recognition},
  author    = {Ch'ng, Chee Kheng and Chan, Chee Seng},
  booktitle = {14th IAPR International Conference on Document Analysis and Recognition (ICDAR)},
  pages     = {935--942},
  year      = {2017}
}
"""

_HOMEPAGE = "https://github.com/cs-chan/Total-Text-Dataset"
_LICENSE = (
    "Total-Text Dataset Research Use Terms (DATASET_TERMS.md of the dataset's repository): non-commercial academic "
    "research only; no redistribution or repackaging without the authors' written permission."
)

InputFile = scene_text_seg.spec.InputFile
# The authors publish no checksums, and their Drive names are not stable: each input says what it must hold. (MMOCR's
# dataset_zoo/totaltext mirrors the images as totaltext.zip, md5 5b56d71a4005a333cf200ff35ce87f75, and the polygons
# as txt_format.zip, md5 53377a83420b4a0244304467512134e8: not registered here, as not confirmed to be the authors'.)
INPUTS = (
    InputFile(
        "totaltext",
        "images",
        f"the images archive (folders Images/Train and Images/Test, 1,255 and 300 JPEGs) of {_HOMEPAGE} (Dataset/)",
    ),
    InputFile(
        "groundtruth_pixel",
        "labels",
        f"the pixel ground truth, 'Character Level Mask' (folders Train and Test, a JPEG mask named like each "
        f"image) of {_HOMEPAGE} (Groundtruth/Pixel/)",
    ),
    # The polygons, `poly_gt_img<N>.txt` in folders Train and Test: for config `words` only.
    InputFile(
        "txt_format",
        "words",
        f"the polygon ground truth in .txt format (folders Train and Test, poly_gt_img<N>.txt) of {_HOMEPAGE} "
        f"(Groundtruth/Text/)",
        required=False,
        needed_by=("words",),
    ),
)

EXPECTED_SPLIT_SIZES = {config: {"train": 1255, "test": 300} for config in ("default", "words")}
SPLIT_WORDS = {"train": "train", "training": "train", "test": "test", "testing": "test"}

# The label decoder: the masks are lossy JPEGs (grey or RGB), text drawn bright. TexRNet
# (lib/data_factory/ds_totaltext.py, TotalText_SeglabelLoader) keeps `> 127` of the mask as PIL decodes it;
# Hi-SAM (hi_sam/data/dataloader.py) keeps `> 127` of channel 0 of what skimage reads. Here: the luminance
# PIL converts to (a grey mask's own value) above 127 is text, anything else background; no ignore label.
LABEL_DECODER = scene_text_seg.spec.LuminanceThreshold(level=127)
LABEL_FILES = scene_text_seg.spec.LabelFiles(role="labels", extensions=(".jpg", ".jpeg"), decoder=LABEL_DECODER)

_DESCRIPTION = """\
Total-Text is a scene text benchmark of 1,555 photos (1,255 train, 300 test) in which curved text is common,
with word polygons, transcriptions and pixel-level text masks (Ch'ng and Chan, ICDAR 2017; IJDAR 2020). The
masks, lossy JPEGs, are stored in the family's encoding: 1 where the mask's luminance is above 127, else 0
(background); Total-Text has no ignore label, so no pixel is 255.
"""

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Put these files (or the folders they extract to, same names) in one folder and pass it as `data_dir`;
Total-Text is shared by its authors through the links in {_HOMEPAGE}, whose file names change:
rename each download to the name here.
  - totaltext.zip          the images: Images/Train (1,255) and Images/Test (300), img<N>.jpg (some .JPG)
  - groundtruth_pixel.zip  the pixel masks ("Character Level Mask"): Train and Test folders, one JPEG per image
Config `words` also reads txt_format.zip (the polygons: Train and Test folders of poly_gt_img<N>.txt).
Files are paired by name ignoring case (img61.JPG is img61.jpg) and split by the Train / Test folders,
wherever they lie in each archive.
"""


def write_demo_inputs(folder: str) -> None:
    """Write small synthetic stand-ins of the downloads into `folder` (never real images): 12 photo-like images
    in Total-Text's layout, their lossy JPEG masks (grey and RGB, several qualities) and their polygon files."""
    scene_text_seg.synthetic.write_total_text_inputs(folder, seed=2017, n_train=8, n_test=4, size=(160, 112))


SPEC = scene_text_seg.spec.DatasetSpec(
    name="total_text",
    short_name="Total-Text",
    pretty_name="Total-Text: curved scene text, pixel-level masks",
    description=_DESCRIPTION,
    citation=_CITATION,
    homepage=_HOMEPAGE,
    license=_LICENSE,
    inputs=INPUTS,
    # One images archive and one masks archive for both splits, divided by their Train / Test folders.
    split_images={"train": ("images",), "test": ("images",)},
    split_words=SPLIT_WORDS,
    expected_split_sizes=EXPECTED_SPLIT_SIZES,
    manual_download_instructions=MANUAL_DOWNLOAD_INSTRUCTIONS,
    labels_download=_HOMEPAGE,
    card_file="total_text.md",
    tags=("scene-text", "text-segmentation", "total-text", "curved-text", "benchmark"),
    write_demo_inputs=write_demo_inputs,
    stand_in_split_sizes={config: {"train": 8, "test": 4} for config in ("default", "words")},
    words_roles={"train": "words", "test": "words"},
    word_files=scene_text_seg.spec.WordFilesPerImage(
        prefix="poly_gt_", suffix=".txt", parse=scene_text_seg.words.parse_total_text_words
    ),
    split_labels={"train": LABEL_FILES, "test": LABEL_FILES},
    hub_license="other",
    hub_license_name="total-text-research-use-terms",
)

# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------

VERSION = datasets.Version("1.0.0")
TotalTextConfig = scene_text_seg.builder.SceneTextSegConfig


class TotalText(scene_text_seg.builder.SceneTextSegBuilder):
    """Total-Text image + text-mask pairs from the authors' archives, split by their Train / Test folders."""

    SPEC = SPEC
    VERSION = VERSION
    BUILDER_CONFIGS = [
        TotalTextConfig(
            name="default",
            version=VERSION,
            description="Every image with its mask: the JPEG mask's luminance above 127 is text.",
        ),
        TotalTextConfig(
            name="words",
            version=VERSION,
            with_words=True,
            description="As default, each image with its words from poly_gt_img<N>.txt: curved polygons of any "
            "number of vertices, transcriptions, '#' words don't care.",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# What users call: `total_text.load(...)` and friends, bound to Total-Text
# ---------------------------------------------------------------------------------------------

TotalTextError = scene_text_seg.errors.SceneTextSegError
_functions = scene_text_seg.api.DatasetFunctions(TotalText)
load, prepare, inventory = _functions.load, _functions.prepare, _functions.inventory
export, push, main = _functions.export, _functions.push, _functions.main

# What `from total_text import *` gives and help(total_text) lists: this dataset's own names, then the shared ones.
__all__ = [
    "TotalText",
    "TotalTextConfig",
    "TotalTextError",
    "EXPECTED_SPLIT_SIZES",
    "INPUTS",
    "LABEL_DECODER",
    "SPEC",
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
    # Import by name so the builder's module is `total_text`, not `__main__` (it names the cache folder).
    import total_text

    sys.exit(total_text.main())
