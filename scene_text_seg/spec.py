"""What a dataset script declares: its inputs, splits, counts and texts. The engine reads only this.

The label-map format is shared by the whole family (IST_S, MLT_S, COCO_TS): 0 background,
1 text, 255 uncertain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Container, Mapping
from typing import IO, NamedTuple, Optional, Union

CLASS_NAMES = ["background", "text"]
IGNORE_INDEX = 255  # "uncertain": ignored in the loss and the metrics
ID2LABEL = dict(enumerate(CLASS_NAMES))
LABEL2ID = {name: index for index, name in ID2LABEL.items()}
MASK_VALUES = frozenset({*ID2LABEL, IGNORE_INDEX})
# A label decoder's value table for masks stored in the family's own encoding: every value kept as it is.
IDENTITY_VALUES = {value: value for value in sorted(MASK_VALUES)}


def split_sizes_text(sizes: dict[str, Optional[int]]) -> str:
    """Split sizes as a description says them: `{"train": 979, "test": 496}` -> "979 train, 496 test"."""
    return ", ".join(f"{rows:,} {split}" if rows is not None else split for split, rows in sizes.items())


@dataclasses.dataclass(frozen=True)
class InputFile:
    """One manual download: `{name}.zip` (or `{name}` with another of `extensions`), or the folder `{name}/`
    it extracts to."""

    name: str
    role: str  # which part of the dataset it holds: a key of DatasetSpec.split_images, "labels", ...
    source: str  # where to get it
    size: Optional[int] = None
    digest: Optional[str] = None  # "md5:<hex>" or "sha256:<hex>", when published (for `name` only)
    required: bool = True  # read by every config
    needed_by: tuple[str, ...] = ()  # the configs that read it when it is not required by all
    aliases: tuple[str, ...] = ()  # other names the same content is published under (no digest known)
    # How it is published, first the published form: ".zip", ".tar.gz", ".tar", ".json" (a plain file)
    extensions: tuple[str, ...] = (".zip",)
    folder: bool = True  # may be given as the folder it extracts to (not for a plain file)

    @property
    def filename(self) -> str:
        return f"{self.name}{self.extensions[0]}"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclasses.dataclass(frozen=True)
class SplitAssignment:
    """Splits given by a file of another dataset (COCO-Text's train/val sets for COCO_TS)."""

    role: str  # the input holding it
    read: Callable[[IO[bytes], str], dict[str, str]]  # (a stream of it, where) -> lower-cased image stem -> split
    member: Optional[str]  # the file inside that input; None when the input is the file itself (split.json)
    # Every image it names must be built (TextSeg's split.json lists the benchmark); COCO-Text's sets name far
    # more images than COCO_TS labels, so there an image it names but the labels lack is passed over.
    complete: bool = False


@dataclasses.dataclass(frozen=True)
class WordsFile:
    """Every image's words in one annotation file of the words input (COCO-Text's JSON), not a file per image."""

    member: str  # the file inside the words input (found at any depth)
    # (a stream of it, where, the lower-cased image stems wanted) -> stem -> words on the raw grid, in the
    # `words` column's form (scene_text_seg.words); a wanted image it does not annotate is left out
    read: Callable[[IO[bytes], str, Container[str]], dict[str, dict[str, list]]]


@dataclasses.dataclass(frozen=True)
class WordFilesPerImage:
    """Each image's words in a file of its own inside the words input: `{prefix}{image stem}{suffix}`."""

    prefix: str = "gt_"  # ICDAR: gt_img_12.txt
    suffix: str = ".txt"
    # (the file's bytes, where) -> its words on the raw grid, in the `words` column's form; None: ICDAR
    # word lines (scene_text_seg.words.parse_words, with the script when DatasetSpec.words_script)
    parse: Optional[Callable[[bytes, str], dict[str, list]]] = None


ICDAR_WORD_FILES = WordFilesPerImage()  # gt_<image>.txt, ICDAR word lines


# ---- label decoders: how a dataset's label files become the family's 0 / 1 / 255, stated as data -----------
# Each is applied by scene_text_seg.labels; `stats` counts the pixels each of its rules mapped.


@dataclasses.dataclass(frozen=True)
class ValueTable:
    """Label PNGs whose pixel values are looked up (TextSeg's 0/100/200/255): every value -> its label; a value
    the table does not name is an error naming the file."""

    values: Mapping[int, int] = dataclasses.field(default_factory=lambda: dict(IDENTITY_VALUES))

    def __post_init__(self) -> None:
        for native, label in self.values.items():
            if not (isinstance(native, int) and 0 <= native <= 255):
                raise ValueError(f"values: expected native values 0-255, found {native!r}")
            check_label("values", label)


def check_label(field: str, label: object) -> None:
    """A decoder's output must be one of the family's labels: 0, 1 or 255.

    Raises:
        ValueError: naming `field`, what was found and what is allowed.
    """
    if isinstance(label, bool) or label not in MASK_VALUES:
        raise ValueError(f"{field}: expected a label 0, 1 or 255, found {label!r}")


@dataclasses.dataclass(frozen=True)
class LuminanceThreshold:
    """Masks in any colour mode, lossy ones included (Total-Text's JPEGs): text where the luminance, as PIL
    converts to mode "L" (ITU-R 601-2: 299 R + 587 G + 114 B over 1000; a grey mask's value itself), is
    above `level`, background at or below it. No pixel becomes 255."""

    level: int = 127
    above: int = 1
    at_or_below: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.level, bool) or not isinstance(self.level, int) or not 0 <= self.level <= 254:
            raise ValueError(
                f"level: expected an integer 0-254 (a luminance above it is `above`), found {self.level!r}"
            )
        check_label("above", self.above)
        check_label("at_or_below", self.at_or_below)


@dataclasses.dataclass(frozen=True)
class NonWhite:
    """Masks drawn in colour on white (ICDAR 2013's test PNGs): pure white (255, 255, 255) is `white`, every
    other colour `other`. No pixel becomes 255."""

    white: int = 0
    other: int = 1

    def __post_init__(self) -> None:
        check_label("white", self.white)
        check_label("other", self.other)


class ColourTable(NamedTuple):
    """The colours a label image's table lists, each (R, G, B)."""

    listed: frozenset  # colours of the characters that count
    dont_care: frozenset  # colours of don't-care characters


@dataclasses.dataclass(frozen=True)
class CharacterColours:
    """One colour per character on white, the colours listed in a table beside each label image (ICDAR 2013's
    `<id>_GT.bmp` and `<id>_GT.txt`): white -> `white`, a listed colour -> `listed`, a don't-care character's
    colour -> `dont_care`, any other colour -> `unlisted` (counted apart by `stats`)."""

    table_extension: str  # the table is the label's member with this extension in place of its own
    read_table: Callable[[bytes, str], ColourTable]  # (the table's bytes, where) -> its colours
    white: int = 0
    listed: int = 1
    dont_care: int = 255
    unlisted: int = 255

    def __post_init__(self) -> None:
        if not (isinstance(self.table_extension, str) and self.table_extension.startswith(".")):
            raise ValueError(f"table_extension: expected an extension such as '.txt', found {self.table_extension!r}")
        if not callable(self.read_table):
            raise ValueError(
                f"read_table: expected a function (bytes, where) -> ColourTable, found {self.read_table!r}"
            )
        for field in ("white", "listed", "dont_care", "unlisted"):
            check_label(field, getattr(self, field))


LabelDecoder = Union[ValueTable, LuminanceThreshold, NonWhite, CharacterColours]


@dataclasses.dataclass(frozen=True)
class LabelFiles:
    """One split's label files: the input holding them, how each is named after its image
    (`{prefix}{image stem}{suffix}{extension}`, any case) and how its pixels are decoded."""

    role: str = "labels"
    prefix: str = ""  # ICDAR 2013 test: gt_img_1.png
    suffix: str = ""  # ICDAR 2013 training: 100_GT.bmp
    extensions: tuple[str, ...] = (".png",)
    decoder: LabelDecoder = dataclasses.field(default_factory=ValueTable)

    def __post_init__(self) -> None:
        if not self.extensions or not all(isinstance(e, str) and e.startswith(".") for e in self.extensions):
            raise ValueError(f"extensions: expected extensions such as ('.png',), found {self.extensions!r}")
        if not isinstance(self.decoder, (ValueTable, LuminanceThreshold, NonWhite, CharacterColours)):
            raise ValueError(
                "decoder: expected a ValueTable, LuminanceThreshold, NonWhite or CharacterColours, "
                f"found {self.decoder!r}"
            )

    @property
    def pattern(self) -> str:
        """How messages show a label's name: `gt_<image>.png`, `<image>_GT.bmp`, `<image>.jpg`."""
        return f"{self.prefix}<image>{self.suffix}{'/'.join(self.extensions)}"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """The facts of one dataset, as its script states them."""

    name: str  # module and cache folder name, e.g. "ist_s"
    pretty_name: str
    description: str
    citation: str
    homepage: str
    license: str
    inputs: tuple[InputFile, ...]
    split_images: dict[str, tuple[str, ...]]  # split -> roles of the inputs holding its images
    split_words: dict[str, str]  # folder word -> split, for detecting the labels' layout
    # config -> split -> rows on the published inputs (None: a split whose size is not published)
    expected_split_sizes: dict[str, dict[str, Optional[int]]]
    manual_download_instructions: str
    labels_download: str  # where the labels come from, named when the counts disagree
    card_file: str  # the card's file name under dataset_card/
    tags: tuple[str, ...]
    write_demo_inputs: Callable[[str], object]  # writes synthetic stand-ins of every input into a folder
    # config -> split -> rows on the stand-ins `write_demo_inputs` writes (the contract tests check them)
    stand_in_split_sizes: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    image_extensions: tuple[str, ...] = (".jpg", ".jpeg")
    languages: tuple[str, ...] = ("en",)  # of the text in the photos, for the card
    labels_role: str = "labels"
    words_roles: dict[str, str] = dataclasses.field(default_factory=dict)  # split -> role of its word files
    split_assignment: Optional[SplitAssignment] = None  # for configs with `assign_splits`
    words_script: bool = False  # its ICDAR word lines carry a script before the transcription (ICDAR 2017 MLT)
    words_file: Optional[WordsFile] = None  # its words are in one file for every image, not in gt_<image>.txt files
    word_files: WordFilesPerImage = ICDAR_WORD_FILES  # how the per-image word files are named and read
    # The label decoder: each value the dataset's label PNGs hold -> the label stored (0, 1 or 255). Any value
    # not in it is an error naming the file; what was mapped is counted by `stats`.
    label_values: dict[int, int] = dataclasses.field(default_factory=lambda: dict(IDENTITY_VALUES))
    label_suffix: str = ""  # a label's stem is its image's stem and this (TextSeg: a00004_maskfg.png)
    # split -> its labels' input, names and decoder, for a dataset whose splits' labels differ in any of them
    # (ICDAR 2013: a BMP with a colour table for training, a PNG for test, in two inputs); the splits it does
    # not name read `labels_role` with `label_suffix` and `label_values`
    split_labels: dict[str, LabelFiles] = dataclasses.field(default_factory=dict)
    # The card's `license` (a Hub licence id); "other" with the name its `license_name` gives (TextSeg's terms)
    short_name: Optional[str] = None  # how messages name it when not the module's name in capitals (TextSeg)
    hub_license: str = "cc-by-4.0"
    hub_license_name: Optional[str] = None

    @property
    def title(self) -> str:
        """The dataset's name as people write it: `short_name`, else the module's in capitals (IST_S)."""
        return self.short_name or self.name.upper()

    @property
    def env_var(self) -> str:
        """The environment variable the command line reads `--data-dir` from, e.g. IST_S_DATA_DIR."""
        return f"{self.name.upper()}_DATA_DIR"

    def splits_of(self, config: str) -> list[str]:
        """The splits a build of `config` gives: those its published sizes name, else the images' splits
        (a config that divides the pairs anew, like COCO_TS's `cocotext_splits`, states its own)."""
        return list(self.expected_split_sizes.get(config) or self.split_images)

    def label_files_of(self, split: str, labels_role: Optional[str] = None) -> LabelFiles:
        """How a split's labels are found and decoded: its `split_labels` entry, else the labels of
        `labels_role` (a config's choice, TextSeg's `v1`; default the dataset's) named with `label_suffix`
        and decoded by `label_values`."""
        if split in self.split_labels:
            return self.split_labels[split]
        return LabelFiles(
            role=labels_role or self.labels_role, suffix=self.label_suffix, decoder=ValueTable(self.label_values)
        )

    def words_role_of(self, split: str) -> str:
        """The input holding a split's words: the one `words_roles` names, or, for a split made by a split
        assignment (TextSeg's validation), the dataset's only words input."""
        if split in self.words_roles:
            return self.words_roles[split]
        (role,) = set(self.words_roles.values())
        return role

    def required_inputs(self) -> dict[str, InputFile]:
        """The inputs every build reads, by role."""
        return {spec.role: spec for spec in self.inputs if spec.required}

    def inputs_for(self, config: str) -> dict[str, InputFile]:
        """The inputs a build of `config` reads, by role."""
        return {spec.role: spec for spec in self.inputs if spec.required or config in spec.needed_by}
