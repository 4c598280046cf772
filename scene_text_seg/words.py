"""Word-level ground truth beside the masks, on one schema for the whole family, put on the decoded grid.

One word is a flat polygon `x1, y1, x2, y2, ...` (three vertices or more), its transcription, a don't-care
flag, the dataset's language or script label and COCO-Text's class ("" where a dataset has none).

ICDAR word files (`gt_img_N.txt`, IST_S and MLT_S): one word a line, `x1,y1,...,x4,y4,transcription`,
or with MLT 2017's script before the transcription (`x1,...,y4,script,transcription`); the
transcription may hold commas; UTF-8 with or without a BOM, CRLF or LF; `###` marks a don't-care word.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Union

import datasets
import numpy as np

from .errors import InvalidInputError
from .inputs import printable

DONT_CARE = "###"
NUMBER = re.compile(r"\s*[-+]?[0-9]+(?:\.[0-9]+)?\s*")  # an ICDAR coordinate: ASCII digits, no exponent, no nan/inf
LINE_BREAK = re.compile(r"\r?\n")  # only these end a line: U+2028, NEL, form feed belong to the text
FLOAT32_MAX = float(np.finfo(np.float32).max)
FIELDS = ("polygon", "text", "ignore", "language", "class")
# The scripts ICDAR 2017 MLT's ground truth names (its `None`: a don't-care word of no script).
MLT_SCRIPTS = frozenset({"Latin", "Arabic", "Chinese", "Japanese", "Korean", "Bangla", "Symbols", "Mixed", "None"})


def feature() -> datasets.Sequence:
    """The `words` column, the same for every dataset: per row, the words in file order (a dict of
    lists, as `datasets` stores it). `polygon` is flat float32 `x1, y1, x2, y2, ...` on the decoded
    image grid; `language` the dataset's language or script label and `class` COCO-Text's class
    ("machine printed", "handwritten", "others"), "" where a dataset has none."""
    return datasets.Sequence(
        {
            "polygon": datasets.Sequence(datasets.Value("float32")),
            "text": datasets.Value("string"),
            "ignore": datasets.Value("bool"),
            "language": datasets.Value("string"),
            "class": datasets.Value("string"),
        }
    )


def empty_words() -> dict[str, list]:
    """No words, in the column's form."""
    return {field: [] for field in FIELDS}


def add_word(
    words: dict[str, list], polygon: list[float], text: str, ignore: bool, language: str = "", category: str = ""
) -> None:
    """Append one word to `words` (in the column's form)."""
    for field, value in zip(FIELDS, (polygon, text, ignore, language, category), strict=True):
        words[field].append(value)


def check_polygon(values: Any, where: str) -> list[float]:
    """A polygon as the schema stores it: an even number (>= 6) of numbers, finite in float32."""
    if not isinstance(values, (list, tuple)) or len(values) < 6 or len(values) % 2:
        count = len(values) if isinstance(values, (list, tuple)) else type(values).__name__
        raise InvalidInputError(f"{where}: expected a polygon of 3 or more x, y pairs (6+ numbers), found {count}")
    polygon = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInputError(f"{where}: a polygon coordinate is {value!r}, expected a number")
        if not (math.isfinite(value) and abs(value) <= FLOAT32_MAX):
            raise InvalidInputError(f"{where}: the polygon coordinate {value!r} does not fit float32")
        polygon.append(float(value))
    return polygon


def parse_words(data: bytes, where: str, script: bool = False) -> dict[str, list]:
    """The words of one ICDAR ground-truth file, in file order, in the column's form.

    Args:
        data: the file's bytes: UTF-8 with or without a BOM, lines ending in LF or CRLF (only those:
            any other line-break character is part of the transcription).
        where: how errors name the file (archive and member).
        script: the lines carry a script before the transcription (ICDAR 2017 MLT); it goes to `language`.

    Returns:
        {"polygon": [[8 floats]], "text": [...], "ignore": [...], "language": [...], "class": [""...]}.

    Raises:
        InvalidInputError: text that is not UTF-8, or a malformed line (naming `where` and the line).
    """
    try:
        text = data.decode("utf-8-sig")  # a leading BOM (the training files have one) is not part of the text
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"{where}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    words = empty_words()
    fields_before_text = 9 if script else 8
    form = "x1,y1,...,x4,y4,script,text" if script else "x1,y1,...,x4,y4,text"
    for number, line in enumerate(LINE_BREAK.split(text), start=1):
        if not line.strip():
            continue
        fields = line.split(",", fields_before_text)
        if len(fields) <= fields_before_text or not all(NUMBER.fullmatch(field) for field in fields[:8]):
            raise InvalidInputError(
                f"{where}: line {number}: expected 8 coordinates then the transcription ({form}), "
                f"found {printable(line[:80])!r}"
            )
        language = fields[8].strip() if script else ""
        if script and language not in MLT_SCRIPTS:
            raise InvalidInputError(
                f"{where}: line {number}: unknown script {printable(language[:40])!r}, "
                f"expected one of {', '.join(sorted(MLT_SCRIPTS))}"
            )
        polygon = check_polygon([float(field) for field in fields[:8]], f"{where}: line {number}")
        transcription = fields[fields_before_text]
        add_word(words, polygon, transcription, transcription == DONT_CARE, language)
    return words


def orient(x: float, y: float, width: int, height: int, orientation: int) -> tuple[float, float]:
    """Where raw pixel (x, y) lands once an image of (width, height) is turned by its EXIF orientation,
    as PIL's `exif_transpose` (and so `datasets.Image`) turns it."""
    right, bottom = width - 1, height - 1
    return {
        1: (x, y),
        2: (right - x, y),
        3: (right - x, bottom - y),
        4: (x, bottom - y),
        5: (y, x),
        6: (bottom - y, x),
        7: (bottom - y, right - x),
        8: (y, right - x),
    }[orientation]


def orient_words(
    words: dict[str, list], raw_size: tuple[int, int], orientation: int, where: str = "the words"
) -> dict[str, list]:
    """The words with their polygons moved from the raw pixel grid onto the decoded one (vertex order kept).

    Args:
        words: as `parse_words` returns them.
        raw_size: (width, height) of the stored pixel grid.
        orientation: the EXIF orientation `datasets.Image` applies, 1 to 8.
        where: how errors name the word file.

    Raises:
        InvalidInputError: a coordinate moved outside what float32 holds (a flip of a huge negative one).
    """
    if orientation == 1:
        return words
    width, height = raw_size
    polygons = []
    for number, polygon in enumerate(words["polygon"], start=1):
        points = [orient(x, y, width, height, orientation) for x, y in zip(polygon[::2], polygon[1::2], strict=True)]
        polygons.append([coordinate for point in points for coordinate in point])
        check_polygon(polygons[-1], f"{where}: word {number} (turned by EXIF orientation {orientation})")
    return {**words, "polygon": polygons}


def _as_columns(words: Union[Mapping[str, Any], Sequence]) -> dict[str, list]:
    if isinstance(words, Mapping):
        missing = [field for field in ("polygon", "text", "ignore") if field not in words]
        if missing:
            raise ValueError(f"words: expected a row's `words` (polygon, text, ignore, ...), missing {missing}")
        columns = {field: list(words.get(field) or [""] * len(words["text"])) for field in FIELDS}
    elif isinstance(words, Sequence) and not isinstance(words, (str, bytes)):
        if not all(isinstance(word, Mapping) and "polygon" in word for word in words):
            raise ValueError("words: expected a list of word dicts (polygon, text, ignore, ...)")
        columns = {field: [word.get(field, "") for word in words] for field in FIELDS}
    else:
        raise ValueError(
            f"words: expected a row's `words` (a dict of lists or a list of dicts), got {type(words).__name__}"
        )
    lengths = {field: len(values) for field, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"words: its fields hold different numbers of words: {lengths}")
    for index, polygon in enumerate(columns["polygon"]):
        if len(polygon) < 6 or len(polygon) % 2:
            raise ValueError(f"words: polygon {index} holds {len(polygon)} numbers, expected an even number >= 6")
    return columns


def detection_targets(
    words: Union[Mapping[str, Any], Sequence], *, keep_ignored: bool = True, keep_degenerate: bool = True
) -> dict[str, Any]:
    """A row's `words` as detection pipelines take them.

    Args:
        words: the column as `datasets` gives it (a dict of lists) or a list of word dicts; polygons
            of any even length >= 6.
        keep_ignored: keep don't-care words (their `ignore` is True); False drops them.
        keep_degenerate: keep words whose box has zero width or height; False drops them (torchvision's
            detectors refuse such boxes).

    Returns:
        `boxes` (N, 4) float32 xyxy from each polygon's extremes, `polygons` a list of (K, 2) float32
        arrays, `texts`, `ignore` (N,) bool, `languages` and `classes`, for the words kept.

    Raises:
        ValueError: `words` is not a row's words, or a flag is not a bool.
    """
    for name, flag in (("keep_ignored", keep_ignored), ("keep_degenerate", keep_degenerate)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name}: expected True or False, got {flag!r}")
    columns = _as_columns(words)
    polygons = [np.asarray(polygon, np.float32).reshape(-1, 2) for polygon in columns["polygon"]]
    boxes = np.asarray([[*p.min(axis=0), *p.max(axis=0)] for p in polygons], np.float32).reshape(-1, 4)
    ignore = np.asarray(columns["ignore"], bool).reshape(-1)
    keep = np.ones(len(polygons), bool)
    if not keep_ignored:
        keep &= ~ignore
    if not keep_degenerate:
        keep &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    kept = np.flatnonzero(keep)
    return {
        "boxes": boxes[kept],
        "polygons": [polygons[i] for i in kept],
        "texts": [columns["text"][i] for i in kept],
        "ignore": ignore[kept],
        "languages": [columns["language"][i] for i in kept],
        "classes": [columns["class"][i] for i in kept],
    }


# ---- Total-Text's polygon files (`poly_gt_img<N>.txt`) ----------------------------------------------------------
# As the Total-Text repository describes them (Groundtruth/Text/README.md: x coordinates, y coordinates, text,
# orientation c / h / m / # = don't care) and as MMOCR's TotaltextTextDetAnnParser reads them
# (mmocr/datasets/preparers/parsers/totaltext_parser.py): one word a record,
#   x: [[115 503 494 115]], y: [[322 346 426 404]], ornt: [u'm'], transcriptions: [u'nauGHTY']
# a record may wrap onto following lines (they do not start with "x:"); the lists are MATLAB's export, the
# strings Python literals (u'...', or u"..." holding a quote).
TOTAL_TEXT_RECORD = re.compile(
    r"x:\s*\[\[(?P<x>[^\]]*)\]\]\s*,\s*y:\s*\[\[(?P<y>[^\]]*)\]\]\s*,\s*ornt:\s*(?P<ornt>\[[^\]]*\])\s*,"
    r"\s*transcriptions:\s*(?P<text>\[.*\])\s*"
)
TOTAL_TEXT_DONT_CARE = "#"


def parse_total_text_words(data: bytes, where: str) -> dict[str, list]:
    """The words of one Total-Text `poly_gt_img<N>.txt`, in file order, in the column's form.

    Each word's polygon has as many vertices as the file gives (3 or more: Total-Text's curved words have up to
    a dozen or more). A word is don't care (`ignore`) when its orientation or its transcription is `#` (MMOCR
    tests the transcription, the README names the orientation; the two go together in the files). An empty
    transcription list is an unknown text: "" and don't care; several strings are one transcription split at
    its commas by the export, joined again with "," (as MMOCR joins them).

    Args:
        data: the file's bytes, UTF-8 (a BOM allowed), LF or CRLF.
        where: how errors name the file.

    Returns:
        {"polygon": [[x1, y1, x2, y2, ...]], "text": [...], "ignore": [...], "language": [""...], "class": [""...]}.

    Raises:
        InvalidInputError: not UTF-8, or a record that is not of that form (x and y lists of different lengths,
            fewer than 3 vertices, a coordinate that is not a number, a string list that is not literals),
            naming `where` and the record's first line.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"{where}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    words = empty_words()
    for number, record in _total_text_records(text):
        found = TOTAL_TEXT_RECORD.fullmatch(record)
        if found is None:
            raise InvalidInputError(
                f"{where}: line {number}: expected x: [[...]], y: [[...]], ornt: [...], transcriptions: [...], "
                f"found {printable(record[:80])!r}"
            )
        xs, ys = (_total_text_numbers(found[axis], f"{where}: line {number}: {axis}") for axis in ("x", "y"))
        if len(xs) != len(ys):
            raise InvalidInputError(f"{where}: line {number}: {len(xs)} x coordinates but {len(ys)} y coordinates")
        polygon = check_polygon([v for point in zip(xs, ys, strict=True) for v in point], f"{where}: line {number}")
        orientation = _string_list(found["ornt"], f"{where}: line {number}: ornt")
        transcriptions = _string_list(found["text"], f"{where}: line {number}: transcriptions")
        transcription = ",".join(transcriptions)
        ignore = not transcriptions or TOTAL_TEXT_DONT_CARE in (transcription, "".join(orientation))
        add_word(words, polygon, transcription, ignore)
    return words


def _total_text_records(text: str) -> list[tuple[int, str]]:
    """(line number, record) for each record, a record's continuation lines joined to it with a space."""
    records: list[tuple[int, str]] = []
    for number, line in enumerate(LINE_BREAK.split(text), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("x:") or not records:
            records.append((number, line))
        else:
            records[-1] = (records[-1][0], records[-1][1] + " " + line)
    return records


def _total_text_numbers(values: str, where: str) -> list[float]:
    numbers = values.replace(",", " ").split()
    for value in numbers:
        if not NUMBER.fullmatch(value):
            raise InvalidInputError(f"{where}: the coordinate {printable(value[:20])!r} is not a number")
    return [float(value) for value in numbers]


def _string_list(literal: str, where: str) -> list[str]:
    """A list of Python string literals (`[u'a', u"b's"]`), read by `ast.literal_eval`: never code."""
    try:
        values = ast.literal_eval(literal)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        values = None
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise InvalidInputError(f"{where}: expected a list of quoted strings, found {printable(literal[:60])!r}")
    return values


# ---- ICDAR 2013 Focused Scene Text, Task 1 (`gt_<image>.txt`) ----------------------------------------------------
# One word a line, its box and its quoted transcription: training files space separated (`158 128 411 181
# "Footpath"`), test files comma separated (`38, 43, 920, 215, "Tiredness"`), as MMOCR's dataset_zoo/icdar2013
# sample_anno.md shows them. Inside the quotes, \" is a quote and \\ a backslash, as the Robust Reading
# Competition's evaluation scripts (rrc_evaluation_funcs.py) read them.
ICDAR2013_SPACED = re.compile(r"\s*(-?[0-9]+)\s+(-?[0-9]+)\s+(-?[0-9]+)\s+(-?[0-9]+)\s+\"(.*)\"\s*")
ICDAR2013_COMMAS = re.compile(r"\s*(-?[0-9]+)\s*,\s*(-?[0-9]+)\s*,\s*(-?[0-9]+)\s*,\s*(-?[0-9]+)\s*,\s*\"(.*)\"\s*")


def parse_icdar2013_words(data: bytes, where: str) -> dict[str, list]:
    """The words of one ICDAR 2013 Task 1 ground-truth file, in file order, in the column's form.

    Each line is `left top right bottom "transcription"`, separated by spaces (training) or commas (test); the
    box becomes the polygon (left, top), (right, top), (right, bottom), (left, bottom). ICDAR 2013 marks no
    word don't care: `ignore` is False.

    Args:
        data: the file's bytes, UTF-8 (a BOM allowed), LF or CRLF.
        where: how errors name the file.

    Returns:
        {"polygon": [[8 floats]], "text": [...], "ignore": [False...], "language": [""...], "class": [""...]}.

    Raises:
        InvalidInputError: not UTF-8, or a line of neither form (naming `where` and the line).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"{where}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    words = empty_words()
    for number, line in enumerate(LINE_BREAK.split(text), start=1):
        if not line.strip():
            continue
        found = ICDAR2013_SPACED.fullmatch(line) or ICDAR2013_COMMAS.fullmatch(line)
        if found is None:
            raise InvalidInputError(
                f'{where}: line {number}: expected left top right bottom "text" (spaces, or commas), '
                f"found {printable(line[:80])!r}"
            )
        left, top, right, bottom = (float(value) for value in found.groups()[:4])
        polygon = check_polygon([left, top, right, top, right, bottom, left, bottom], f"{where}: line {number}")
        add_word(words, polygon, _unescaped(found[5]), False)
    return words


def _unescaped(transcription: str) -> str:
    r"""A quoted transcription's text, unescaped as the RRC scripts do: \\ then \" replaced, in that order."""
    return transcription.replace("\\\\", "\\").replace('\\"', '"')
