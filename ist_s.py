"""IST_S: Incidental Scene Text Segmentation, as a Hugging Face `datasets` builder.

Pixel-level text masks (0 background, 1 text, 255 uncertain) for the ICDAR 2015
"Incidental Scene Text" photos. Every input is a manual download placed in one folder.

    import ist_s
    ds = ist_s.load("path/to/data")                    # DatasetDict with train/test
    python ist_s.py --help                             # the command line (`ist-s` once installed)

This file holds what is IST_S's own: its texts, its input table and counts, and the builder
class on the engine (`scene_text_seg`). With datasets 3.x it is also the loading script:
`load_dataset("path/to/ist_s.py", data_dir=..., trust_remote_code=True)`.
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


_HOMEPAGE = "http://clem.diism.unisi.it/~coco_ts/downloads/ist_s"
_LICENSE = (
    "Masks: CC BY 4.0. Images: the ICDAR 2015 Robust Reading Competition's own terms "
    "(registration at https://rrc.cvc.uab.es/?ch=4)."
)


ICDAR_DOWNLOADS = "https://rrc.cvc.uab.es/?ch=4&com=downloads (free registration)"
IST_S_DOWNLOAD = "http://clem.diism.unisi.it/~coco_ts/download_ist_s.html"
InputFile = scene_text_seg.spec.InputFile
split_sizes_text = scene_text_seg.spec.split_sizes_text

# Sizes and md5s of the ICDAR 2015 archives as published (MMOCR's dataset zoo, public listings).
# The labels zip has no published checksum: it is reported with its sha256 instead.
INPUTS = (
    InputFile(
        "ch4_training_images", "train_images", ICDAR_DOWNLOADS, 90_667_586, "md5:c51cbace155dcc4d98c8dd19d378f30d"
    ),
    InputFile("ch4_test_images", "test_images", ICDAR_DOWNLOADS, 44_359_601, "md5:97e4c1ddcf074ffcc75feff2b63c35dd"),
    InputFile("IST_Segmentation_labels", "labels", IST_S_DOWNLOAD),
    # The word boxes and transcriptions, read by the `words` config only. The test words are published
    # twice, as Task 4 and as Task 1 ground truth, with the same files; only Task 4's md5 is published.
    InputFile(
        "ch4_training_localization_transcription_gt",
        "train_words",
        ICDAR_DOWNLOADS,
        digest="md5:3bfaf1988960909014f7987d2343060b",
        required=False,
        needed_by=("words",),
    ),
    InputFile(
        "Challenge4_Test_Task4_GT",
        "test_words",
        ICDAR_DOWNLOADS,
        digest="md5:8bce173b06d164b98c357b0eb96ef430",
        required=False,
        needed_by=("words",),
        aliases=("Challenge4_Test_Task1_GT",),
    ),
)

# Rows per split on the genuine archives; checked whenever every registered input matched.
EXPECTED_SPLIT_SIZES = {
    "default": {"train": 979, "test": 496},
    "with_unlabeled": {"train": 1000, "test": 500},
    "words": {"train": 1000, "test": 500},
}

_DESCRIPTION = f"""\
IST_S (Incidental Scene Text Segmentation) holds {sum(EXPECTED_SPLIT_SIZES["default"].values()):,} pixel-level text
masks ({split_sizes_text(EXPECTED_SPLIT_SIZES["default"])}) for the ICDAR 2015 Robust Reading "Incidental Scene
Text" photos. The masks were generated from the ICDAR 2015 word boxes by weak supervision. Pixel values:
0 background, 1 text, 255 uncertain (ignore in training and evaluation).
"""

# Folder words that name a split. ICDAR 2015 has no validation split; the sister set MLT_S
# calls its second split `validation_labels`, so those words are read as test.
SPLIT_WORDS = {"train": "train", "training": "train", "test": "test", "testing": "test"}
SPLIT_WORDS.update({"val": "test", "validation": "test"})

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Put these three files (or the folders they extract to, same names) in one folder and pass it
as `data_dir`:
  - ch4_training_images.zip  ICDAR 2015 task 4.1 training images, from {ICDAR_DOWNLOADS}
  - ch4_test_images.zip      ICDAR 2015 task 4.1 test images, from the same page
  - IST_Segmentation_labels.zip  the IST_S masks, from {IST_S_DOWNLOAD}
The `words` config also reads the word boxes and transcriptions, from the ICDAR page:
  - ch4_training_localization_transcription_gt.zip  training words (task 4.1 ground truth)
  - Challenge4_Test_Task4_GT.zip  test words (or Challenge4_Test_Task1_GT.zip, the same files)
"""


def write_demo_inputs(folder: str) -> None:
    """Write small synthetic stand-ins of the three downloads into `folder` (never real images): 24 train
    and 12 test photos, some without a mask and some whose mask holds no text, as in IST_S."""
    scene_text_seg.synthetic.write_inputs(
        folder,
        seed=2015,
        n_train=24,
        n_test=12,
        size=(320, 180),
        text_free={"train": {5, 11}, "test": {4}},
        words=True,
        look="photo",
    )


SPEC = scene_text_seg.spec.DatasetSpec(
    name="ist_s",
    pretty_name="IST_S: Incidental Scene Text Segmentation",
    description=_DESCRIPTION,
    citation=_CITATION,
    homepage=_HOMEPAGE,
    license=_LICENSE,
    inputs=INPUTS,
    split_images={"train": ("train_images",), "test": ("test_images",)},
    split_words=SPLIT_WORDS,
    words_roles={"train": "train_words", "test": "test_words"},
    expected_split_sizes=EXPECTED_SPLIT_SIZES,
    manual_download_instructions=MANUAL_DOWNLOAD_INSTRUCTIONS,
    labels_download=IST_S_DOWNLOAD,
    card_file="ist_s.md",
    tags=("scene-text", "text-segmentation", "icdar2015", "weak-supervision"),
    write_demo_inputs=write_demo_inputs,
    stand_in_split_sizes={
        "default": {"train": 22, "test": 11},
        "with_unlabeled": {"train": 24, "test": 12},
        "words": {"train": 24, "test": 12},
    },
)

# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------

VERSION = datasets.Version("1.0.0")
IstSConfig = scene_text_seg.builder.SceneTextSegConfig


class IstS(scene_text_seg.builder.SceneTextSegBuilder):
    """IST_S image + text-mask pairs from the manually downloaded archives."""

    SPEC = SPEC
    VERSION = VERSION
    BUILDER_CONFIGS = [
        IstSConfig(
            name="default",
            version=VERSION,
            description=f"Labelled pairs only: {split_sizes_text(EXPECTED_SPLIT_SIZES['default'])}.",
        ),
        IstSConfig(
            name="with_unlabeled",
            version=VERSION,
            with_unlabeled=True,
            description=f"Every ICDAR 2015 image ({split_sizes_text(EXPECTED_SPLIT_SIZES['with_unlabeled'])}); "
            "mask is None where IST_S has none.",
        ),
        IstSConfig(
            name="words",
            version=VERSION,
            with_unlabeled=True,
            with_words=True,
            description="Every image with its mask (None where IST_S has none) and its ICDAR 2015 words: "
            "polygons on the decoded grid, transcriptions, don't-care flags.",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# What users call: `ist_s.load(...)` and friends, bound to IstS
# ---------------------------------------------------------------------------------------------

IstSError = scene_text_seg.errors.SceneTextSegError
_functions = scene_text_seg.api.DatasetFunctions(IstS)
load, prepare, inventory = _functions.load, _functions.prepare, _functions.inventory
export, push, main = _functions.export, _functions.push, _functions.main

# What `from ist_s import *` gives, and what help(ist_s) lists: this dataset's own names, then the shared ones.
__all__ = [
    "IstS",
    "IstSConfig",
    "IstSError",
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
    "write_demo_inputs",
    *scene_text_seg.api.__all__,
]

if __name__ == "__main__":
    # Import by name so the builder's module is `ist_s`, not `__main__` (it names the cache folder).
    import ist_s

    sys.exit(ist_s.main())
