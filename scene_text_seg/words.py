"""Word-level ground truth beside the masks: ICDAR `gt_img_N.txt` files parsed, put on the decoded grid.

One word a line: `x1,y1,x2,y2,x3,y3,x4,y4,transcription` (the transcription may hold commas),
UTF-8 with or without a BOM, CRLF or LF; `###` marks a word to ignore ("don't care").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Union

import datasets
import numpy as np

from .errors import InvalidInputError
from .inputs import printable

DONT_CARE = "###"
COORDINATE = re.compile(r"\s*-?\d+\s*")
LINE_BREAK = re.compile(r"\r?\n")  # only these end a line: U+2028, NEL, form feed belong to the text
POLYGON_VALUE = datasets.Value("int32")  # one polygon coordinate, as stored


def _value_range(value: datasets.Value) -> tuple:
    """The smallest and largest number a numeric `datasets.Value` stores."""
    dtype = np.dtype(value.dtype)
    if dtype.kind in "iu":
        return int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    return float(np.finfo(dtype).min), float(np.finfo(dtype).max)


COORDINATE_RANGE = _value_range(POLYGON_VALUE)


def feature() -> datasets.Sequence:
    """The `words` column: per row, the words in file order (a dict of lists, as `datasets` stores it)."""
    return datasets.Sequence(
        {
            "polygon": datasets.Sequence(POLYGON_VALUE, length=8),
            "text": datasets.Value("string"),
            "ignore": datasets.Value("bool"),
        }
    )


def parse_words(data: bytes, where: str) -> dict[str, list]:
    """The words of one ground-truth file, in file order.

    Args:
        data: the file's bytes: UTF-8 with or without a BOM, lines ending in LF or CRLF (only those:
            any other line-break character is part of the transcription).
        where: how errors name the file, e.g. "gt.zip:gt_img_1.txt".

    Returns:
        {"polygon": [[x1, y1, ..., x4, y4], ...], "text": [...], "ignore": [...]}.

    Raises:
        InvalidInputError: not UTF-8; a line that is not 8 integers and a transcription; a coordinate
            the `words` column cannot store (outside COORDINATE_RANGE). The message names the line.
    """
    try:
        text = data.decode("utf-8-sig")  # a leading BOM (the training files have one) is not part of the text
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"{where}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    words: dict[str, list] = {"polygon": [], "text": [], "ignore": []}
    for number, line in enumerate(LINE_BREAK.split(text), start=1):
        if not line.strip():
            continue
        fields = line.split(",", 8)
        if len(fields) < 9 or not all(COORDINATE.fullmatch(field) for field in fields[:8]):
            raise InvalidInputError(
                f"{where}: line {number}: expected 8 integer coordinates then the transcription "
                f"(x1,y1,...,x4,y4,text), found {printable(line[:80])!r}"
            )
        transcription = fields[8]
        polygon = [int(field) for field in fields[:8]]
        check_coordinates(polygon, f"{where}: line {number}")
        words["polygon"].append(polygon)
        words["text"].append(transcription)
        words["ignore"].append(transcription == DONT_CARE)
    return words


def check_coordinates(polygon: list[int], where: str) -> None:
    """Every coordinate must fit the `words` column's type, or writing the row would fail far from here.

    Raises:
        InvalidInputError: a coordinate outside COORDINATE_RANGE, naming `where` (file and line).
    """
    low, high = COORDINATE_RANGE
    outside = [value for value in polygon if not low <= value <= high]
    if outside:
        raise InvalidInputError(
            f"{where}: coordinate {outside[0]} outside the range the words column stores "
            f"({POLYGON_VALUE.dtype}: {low} to {high})"
        )


def orient(x: int, y: int, width: int, height: int, orientation: int) -> tuple[int, int]:
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
        InvalidInputError: a coordinate moved outside COORDINATE_RANGE (a flip of a huge negative one).
    """
    if orientation == 1:
        return words
    width, height = raw_size
    polygons = []
    for number, polygon in enumerate(words["polygon"], start=1):
        points = [orient(x, y, width, height, orientation) for x, y in zip(polygon[::2], polygon[1::2], strict=True)]
        polygons.append([coordinate for point in points for coordinate in point])
        check_coordinates(polygons[-1], f"{where}: word {number} (turned by EXIF orientation {orientation})")
    return {**words, "polygon": polygons}


def detection_targets(words: Union[Mapping[str, Any], list]) -> dict[str, Any]:
    """A row's `words` as detection pipelines take them: `boxes` (N, 4) xyxy float32 from the polygons'
    extremes, `polygons` (N, 4, 2) float32, `texts`, and `ignore` (N,) bool for don't-care words.

    Accepts the column as `datasets` gives it (a dict of lists) or a list of word dicts.
    """
    if isinstance(words, Mapping):
        polygons, texts, ignore = words["polygon"], list(words["text"]), words["ignore"]
    else:
        polygons, texts, ignore = (
            [w["polygon"] for w in words],
            [w["text"] for w in words],
            [w["ignore"] for w in words],
        )
    points = np.asarray(polygons, np.float32).reshape(-1, 4, 2)
    boxes = (
        np.concatenate([points.min(axis=1), points.max(axis=1)], axis=1)
        if len(points)
        else np.zeros((0, 4), np.float32)
    )
    return {"boxes": boxes, "polygons": points, "texts": texts, "ignore": np.asarray(ignore, bool).reshape(-1)}
