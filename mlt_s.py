"""MLT_S: Multi-Lingual Scene Text Segmentation, as a Hugging Face `datasets` builder.

Pixel-level text masks (0 background, 1 text, 255 uncertain) for the ICDAR 2017 MLT
(Robust Reading Challenge 8) photos, training and validation label maps. Every
input is a manual download placed in one folder.

    import mlt_s
    ds = mlt_s.load("path/to/data")                    # DatasetDict with train/validation
    python mlt_s.py --help                             # the command line (`mlt-s` once installed)

This file holds what is MLT_S's own; the mechanism is the engine's (`scene_text_seg`).
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
@article{bonechi2020weak,
  title   = {Weak Supervision for Generating Pixel-Level Annotations in Scene Text Segmentation},
  author  = {Bonechi, Simone and Andreini, Paolo and Bianchini, Monica and Scarselli, Franco},
  journal = {Pattern Recognition Letters},
  year    = {2020},
  issn    = {0167-8655},
  doi     = {10.1016/j.patrec.2020.06.023}
}
@inproceedings{bonechi2019cocots,
  title     = {{COCO\\_TS} Dataset: Pixel-Level Annotations Based on Weak Supervision for Scene Text Segmentation},
  author    = {Bonechi, Simone and Andreini, Paolo and Bianchini, Monica and Scarselli, Franco},
  booktitle = {Artificial Neural Networks and Machine Learning -- ICANN 2019},
  pages     = {238--250},
  year      = {2019},
  publisher = {Springer, Cham}
}
@inproceedings{nayef2017icdar,
  title     = {{ICDAR2017} Robust Reading Challenge on Multi-Lingual Scene Text Detection and Script
               Identification -- {RRC-MLT}},
  author    = {Nayef, Nibal and Yin, Fei and Bizid, Imen and Choi, Hyunsoo and Feng, Yuan and Karatzas, Dimosthenis
               and Luo, Zhenbo and Pal, Umapada and Rigaud, Christophe and Chazalon, Joseph and Khlif, Wafa
               and Luqman, Muhammad Muzzamil and Burie, Jean-Christophe and Liu, Cheng-Lin and Ogier, Jean-Marc},
  booktitle = {14th IAPR International Conference on Document Analysis and Recognition (ICDAR)},
  pages     = {1454--1459},
  year      = {2017}
}
"""


_HOMEPAGE = "http://clem.diism.unisi.it/~coco_ts/downloads/mlt_s"
_LICENSE = (
    "Masks: CC BY 4.0. Images: the ICDAR 2017 Robust Reading Competition's own terms "
    "(registration at https://rrc.cvc.uab.es/?ch=8)."
)

MLT_DOWNLOADS = "https://rrc.cvc.uab.es/?ch=8&com=downloads (free registration)"
MLT_S_DOWNLOAD = _HOMEPAGE
InputFile = scene_text_seg.spec.InputFile
split_sizes_text = scene_text_seg.spec.split_sizes_text

# md5s of the ICDAR 2017 MLT archives as MMOCR's MLT preparer lists them (sizes not published).
# The labels zip has no published checksum: it is reported with its sha256 instead.
TRAINING_MD5S = (
    "7b26e10d949c00fb4411f40b4f1fce6e",
    "e992fb5a7621dd6329081a73e52a28e1",
    "044ea5fb1dcec8bbb874391c517b55ff",
    "344a657c1cc7cbb150547f1c76b5cc8e",
    "5c7ac0158e7189c0a634eaf7bdededc5",
    "3b479255a96d255680f51005b5232bac",
    "faa033fb9d2922d747bad9b0692c992e",
    "db8afa59ae520757151f6ce5acd489ef",
)
INPUTS = (
    *(
        InputFile(f"ch8_training_images_{n}", f"train_images_{n}", MLT_DOWNLOADS, digest=f"md5:{md5}")
        for n, md5 in enumerate(TRAINING_MD5S, start=1)
    ),
    InputFile(
        "ch8_validation_images", "validation_images", MLT_DOWNLOADS, digest="md5:3cfc7b440ab81b89a981d707786dbe83"
    ),
    InputFile("MLT_S_labels", "labels", MLT_S_DOWNLOAD),
    # The word polygons, scripts and transcriptions, read by the `words` config only.
    InputFile(
        "ch8_training_localization_transcription_gt_v2",
        "train_words",
        MLT_DOWNLOADS,
        digest="md5:2c9c3de30b5615f6846738bbd336c988",
        required=False,
        needed_by=("words",),
    ),
    InputFile(
        "ch8_validation_localization_transcription_gt_v2",
        "validation_words",
        MLT_DOWNLOADS,
        digest="md5:ecae7d433e6f103bb31e00d37254009c",
        required=False,
        needed_by=("words",),
    ),
)

# Rows per split on the genuine archives; checked whenever every registered input matched.
EXPECTED_SPLIT_SIZES = {
    "default": {"train": 5540, "validation": 1356},
    "with_unlabeled": {"train": 7200, "validation": 1800},
    "words": {"train": 7200, "validation": 1800},
}

_DESCRIPTION = f"""\
MLT_S (Multi-Lingual Scene Text Segmentation) holds {sum(EXPECTED_SPLIT_SIZES["default"].values()):,} pixel-level
text masks ({split_sizes_text(EXPECTED_SPLIT_SIZES["default"])}) for the ICDAR 2017 MLT photos,
generated from the word boxes by weak supervision. Pixel values: 0 background, 1 text, 255 uncertain
(ignore in training and evaluation).
"""

# Folder words that name a split: MLT's second split is its own `validation` (MLT_S has no test labels).
SPLIT_WORDS = {"train": "train", "training": "train", "val": "validation", "validation": "validation"}

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Put these ten files (or the folders they extract to, same names) in one folder and pass it
as `data_dir`:
  - ch8_training_images_1.zip … ch8_training_images_8.zip  ICDAR 2017 MLT training images,
    from {MLT_DOWNLOADS}
  - ch8_validation_images.zip  ICDAR 2017 MLT validation images, from the same page
  - MLT_S_labels.zip           the MLT_S masks, from {MLT_S_DOWNLOAD}
The `words` config also reads the word polygons, scripts and transcriptions, from the ICDAR page:
  - ch8_training_localization_transcription_gt_v2.zip    training words
  - ch8_validation_localization_transcription_gt_v2.zip  validation words
"""


def write_demo_inputs(folder: str) -> None:
    """Write small synthetic stand-ins of the twelve downloads into `folder` (never real images): JPEG,
    PNG and GIF photos, some EXIF-tagged, some without a mask, and the word files (every script)."""
    scene_text_seg.synthetic.write_mlt_s_inputs(
        folder, seed=2017, per_zip=3, n_validation=8, size=(320, 180), look="photo"
    )


SPEC = scene_text_seg.spec.DatasetSpec(
    name="mlt_s",
    pretty_name="MLT_S: Multi-Lingual Scene Text Segmentation",
    description=_DESCRIPTION,
    citation=_CITATION,
    homepage=_HOMEPAGE,
    license=_LICENSE,
    inputs=INPUTS,
    split_images={
        "train": tuple(f"train_images_{n}" for n in range(1, len(TRAINING_MD5S) + 1)),
        "validation": ("validation_images",),
    },
    split_words=SPLIT_WORDS,
    expected_split_sizes=EXPECTED_SPLIT_SIZES,
    manual_download_instructions=MANUAL_DOWNLOAD_INSTRUCTIONS,
    labels_download=MLT_S_DOWNLOAD,
    card_file="mlt_s.md",
    tags=("scene-text", "text-segmentation", "icdar2017", "mlt", "multilingual", "weak-supervision"),
    write_demo_inputs=write_demo_inputs,
    stand_in_split_sizes={
        "default": {"train": 22, "validation": 7},
        "with_unlabeled": {"train": 24, "validation": 8},
        "words": {"train": 24, "validation": 8},
    },
    words_roles={"train": "train_words", "validation": "validation_words"},
    words_script=True,  # `x1,...,y4,script,transcription`: the script goes to `language`
    image_extensions=(".jpg", ".jpeg", ".png", ".gif"),
    languages=("ar", "bn", "zh", "en", "fr", "de", "it", "ja", "ko"),  # ICDAR 2017 MLT's nine languages
)

# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------

VERSION = datasets.Version("1.0.0")
MltSConfig = scene_text_seg.builder.SceneTextSegConfig


class MltS(scene_text_seg.builder.SceneTextSegBuilder):
    """MLT_S image + text-mask pairs from the manually downloaded archives."""

    SPEC = SPEC
    VERSION = VERSION
    BUILDER_CONFIGS = [
        MltSConfig(
            name="default",
            version=VERSION,
            description=f"Labelled pairs only: {split_sizes_text(EXPECTED_SPLIT_SIZES['default'])}.",
        ),
        MltSConfig(
            name="with_unlabeled",
            version=VERSION,
            with_unlabeled=True,
            description=f"Every ICDAR 2017 MLT image ({split_sizes_text(EXPECTED_SPLIT_SIZES['with_unlabeled'])}); "
            "mask is None where MLT_S has none.",
        ),
        MltSConfig(
            name="words",
            version=VERSION,
            with_unlabeled=True,
            with_words=True,
            description="Every image with its mask (None where MLT_S has none) and its ICDAR 2017 MLT words: "
            "polygons on the decoded grid, transcriptions, don't-care flags, scripts (in `language`).",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# What users call: `mlt_s.load(...)` and friends, bound to MltS
# ---------------------------------------------------------------------------------------------

MltSError = scene_text_seg.errors.SceneTextSegError
_functions = scene_text_seg.api.DatasetFunctions(MltS)
load, prepare, inventory = _functions.load, _functions.prepare, _functions.inventory
export, push, main = _functions.export, _functions.push, _functions.main

# What `from mlt_s import *` gives, and what help(mlt_s) lists: this dataset's own names, then the shared ones.
__all__ = [
    "MltS",
    "MltSConfig",
    "MltSError",
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
    # Import by name so the builder's module is `mlt_s`, not `__main__` (it names the cache folder).
    import mlt_s

    sys.exit(mlt_s.main())
