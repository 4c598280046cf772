"""Label decoders: a dataset's label files made into the family's masks (0 background, 1 text, 255 ignore).

Each decoder is data, declared in the dataset's spec (`scene_text_seg.spec`): a value table for label PNGs
(`ValueTable`, applied by `pixels.read_mask`, which reads PNGs without decoding them where it can), and here
the decoders of label images that are not value maps:

- `LuminanceThreshold`: masks of any mode, lossy JPEGs included (Total-Text): text where the luminance is
  above the level.
- `NonWhite`: colour on white (ICDAR 2013's test PNGs): white is background, any other colour text.
- `CharacterColours`: one colour per character on white, listed in a table beside each image (ICDAR 2013's
  training BMPs): white, listed, don't-care and unlisted colours each have their label.

Each label image is decoded once by PIL (whose JPEG, PNG and BMP decoders, and the conversions and PNG encoder
used here, release the GIL, so the builder's example threads decode several at once) and stored as a minimal
8-bit grey PNG (IHDR, IDAT, IEND only). What each rule mapped is counted, for `stats`.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import struct
import threading
import warnings
from collections.abc import Mapping
from typing import Any, Optional, Union

import numpy as np
import PIL.Image
import pyarrow as pa

try:  # zlib-ng deflates the masks faster than the system zlib (as in scene_text_seg.pixels)
    from zlib_ng import zlib_ng as zlib
except ImportError:  # the same interface, slower
    import zlib

from .errors import InvalidInputError
from .spec import (
    ID2LABEL,
    IGNORE_INDEX,
    CharacterColours,
    ColourTable,
    LabelDecoder,
    LuminanceThreshold,
    NonWhite,
)

# Only these decoders of PIL's are ever run on a label file: no other format's plugin sees the bytes.
LABEL_FORMATS = ("JPEG", "PNG", "BMP")
SIGNATURES = {"JPEG": b"\xff\xd8", "PNG": b"\x89PNG\r\n\x1a\n", "BMP": b"BM"}
WHITE = (255, 255, 255)
# What PIL raises for a file it cannot decode (warnings turned into errors: a decompression bomb's)
IMAGE_ERRORS = (OSError, SyntaxError, ValueError, PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning)
NOTHING = "nothing"  # the rule `stats` shows with 0 pixels for a decoder that maps no pixel to 255
Rule = tuple[str, int, int]  # (which pixels, their label, how many)


@dataclasses.dataclass(frozen=True)
class Mask:
    png: bytes  # single-channel 8-bit PNG, decodes to mode "L"
    size: tuple[int, int]
    classes: list[int]  # ClassLabel ids present
    native: dict[int, int] = dataclasses.field(default_factory=dict)  # pixels of each value the label file held
    # pixels each rule of a decoder that is not a value table mapped: "luminance 0-127 -> 0": n, ...
    decoded: dict[str, int] = dataclasses.field(default_factory=dict)


def value_lookup(values: Mapping[int, int]) -> np.ndarray:
    """A label decoder's value table as a 256-entry lookup (values it does not name stay as they are)."""
    lookup = np.arange(256, dtype=np.uint8)
    for native, label in values.items():
        lookup[native] = label
    return lookup


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_of_rows(width: int, height: int, rows: Union[bytes, np.ndarray]) -> bytes:
    """A minimal 8-bit grey PNG (IHDR, one IDAT, IEND) from its unfiltered rows (bytes, or a contiguous array).

    A decoded mask is mostly runs of a few values: zlib(-ng)'s run-length strategy at level 1 packs them
    as tightly as level 3 and faster (0.7 ms and 4 KB for a 1000x750 map, against 0.6 ms and 12 KB at
    level 1, where PIL's encoder, adaptive filters at level 6, took 27 ms for a 1024x768 mask). Rows
    unfiltered are also what `pixels.unfiltered_grey_pixels` reads back with one inflate (stats, evaluation).
    """
    packer = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey, not interlaced
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", packer.compress(rows) + packer.flush())
        + _png_chunk(b"IEND", b"")
    )


def value_names(values: Mapping[int, int]) -> str:
    """A decoder's table as errors show it: "0 background, 1 text, 255 uncertain", or with the native
    values it maps: "0 -> background, 100 -> text, 200 -> background, 255 -> uncertain"."""
    names = {**ID2LABEL, IGNORE_INDEX: "uncertain"}
    if all(label == value for value, label in values.items()):
        return ", ".join(f"{value} {names[value]}" for value in sorted(values))
    return ", ".join(f"{value} -> {names[label]}" for value, label in sorted(values.items()))


def open_label_image(data: bytes, where: str, allowed_sizes: Optional[set[tuple[int, int]]]) -> PIL.Image.Image:
    """A label image decoded by PIL (JPEG, PNG or BMP only), its size checked from the header first (a small
    file declaring a huge image is refused before it is decoded); None `allowed_sizes` checks no size.

    Raises:
        InvalidInputError: not one of those formats, another size, a decompression bomb, or a truncated or
            corrupt file (PIL's reason given), naming `where`.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            image = PIL.Image.open(io.BytesIO(data), formats=LABEL_FORMATS)
            if allowed_sizes is not None and image.size not in allowed_sizes:
                expected = " or ".join(f"{w}x{h}" for w, h in sorted(allowed_sizes))
                found = "x".join(map(str, image.size))
                raise InvalidInputError(f"{where}: mask is {found}, expected the image's size {expected}")
            image.load()
            return image
    except PIL.UnidentifiedImageError:
        kind = next((name for name, signature in SIGNATURES.items() if data.startswith(signature)), None)
        if kind is not None:
            raise InvalidInputError(f"{where}: corrupt or truncated {kind} (its header cannot be read)") from None
        raise InvalidInputError(f"{where}: not a JPEG, PNG or BMP image (starts with {data[:8]!r})") from None
    except IMAGE_ERRORS as e:
        if isinstance(e, InvalidInputError):
            raise
        raise InvalidInputError(f"{where}: corrupt or truncated label image ({e})") from None


def decode_label(
    data: bytes,
    where: str,
    allowed_sizes: Optional[set[tuple[int, int]]],
    decoder: LabelDecoder,
    table: Optional[tuple[bytes, str]] = None,
) -> Mask:
    """A label image decoded by its dataset's decoder into a minimal 0/1/255 grey PNG, with what each rule mapped.

    Args:
        data: the label file's bytes (JPEG, PNG or BMP).
        where: how errors name it (archive and member).
        allowed_sizes: the (width, height) it may have (its image's raw and decoded grids); None: any.
        decoder: a LuminanceThreshold, NonWhite or CharacterColours (a ValueTable is `pixels.read_mask`'s).
        table: (bytes, where) of the table beside the label, for CharacterColours.

    Returns:
        The mask: its PNG, size, classes present and `decoded` ("rule -> label": pixels, in the rules' order).

    Raises:
        InvalidInputError: an unreadable label or table, another size, or a table listing white (naming it).
        ValueError: a ValueTable, or CharacterColours without its table (the caller's mistake).
    """
    image = open_label_image(data, where, allowed_sizes)
    if isinstance(decoder, CharacterColours):
        if table is None:
            raise ValueError(f"{where}: CharacterColours needs the label's colour table")
        rows, rules = character_colour_labels(image, decoder, decoder.read_table(*table), table[1])
    else:
        rows, rules = apply_rules(image, decoder)
    classes = [label for label in ID2LABEL if any(pixels for _, value, pixels in rules if value == label)]
    return Mask(png_of_rows(image.width, image.height, rows), image.size, classes, decoded=rule_counts(rules))


def apply_rules(image: PIL.Image.Image, decoder: LabelDecoder) -> tuple[np.ndarray, list[Rule]]:
    """The PNG rows (`two_valued_rows`: this thread's scratch, valid until its next mask) of a decoder that
    needs no table, and its rules' counts."""
    if isinstance(decoder, LuminanceThreshold):
        return threshold_rows(image, decoder)
    if isinstance(decoder, NonWhite):
        return non_white_rows(image, decoder)
    raise ValueError(f"decoder: expected LuminanceThreshold, NonWhite or CharacterColours, got {decoder!r}")


def rule_counts(rules: list[Rule]) -> dict[str, int]:
    """The rules as `stats` shows them, "luminance 128-255 -> 1": pixels, in order; a decoder whose rules give no
    255 says so with "nothing -> 255": 0."""
    counts = {f"{name} -> {label}": pixels for name, label, pixels in rules}
    if all(label != IGNORE_INDEX for _, label, _ in rules):
        counts[f"{NOTHING} -> {IGNORE_INDEX}"] = 0
    return counts


def two_valued_rows(
    values: np.ndarray, decide: np.ufunc, operand: int, when_true: int, when_false: int
) -> tuple[np.ndarray, int]:
    """A label per pixel (HW `values`), `when_true` where `decide(value, operand)` holds, else `when_false`,
    written as a PNG's unfiltered rows (HxW+1, a zero filter byte before each row); and how many pixels held.

    One pass of numpy over the pixels, straight into the rows: PIL's `point` and `histogram` and a copy into
    rows took 1.4 ms for a 1000x750 mask, this 0.4 ms. The rows are this thread's `scratch`: valid until its
    next mask.
    """
    rows = scratch_rows(*values.shape)
    labels = rows[:, 1:]
    decide(values, operand, out=labels.view(bool))  # 1 where it holds, 0 elsewhere
    held = int(np.count_nonzero(rows))  # the filter bytes are 0
    if (when_true, when_false) != (1, 0):
        labels[...] = np.where(labels.view(bool), np.uint8(when_true), np.uint8(when_false))
    return rows, held


def threshold_rows(image: PIL.Image.Image, decoder: LuminanceThreshold) -> tuple[np.ndarray, list[Rule]]:
    """Labels by luminance: PIL's "L" conversion (a grey image's values as they are), above the level or not."""
    grey = image_pixels(image if image.mode == "L" else image.convert("L"))
    rows, above = two_valued_rows(grey, np.greater, decoder.level, decoder.above, decoder.at_or_below)
    level = decoder.level
    return rows, [
        (f"luminance 0-{level}", decoder.at_or_below, grey.size - above),
        (f"luminance {level + 1}-255", decoder.above, above),
    ]


def non_white_rows(image: PIL.Image.Image, decoder: NonWhite) -> tuple[np.ndarray, list[Rule]]:
    """Labels by colour: pure white (255 in a grey image, 255 in each channel of any other) or not."""
    values, white = (image_pixels(image), 255) if image.mode == "L" else (colour_words(image), WHITE_WORD)
    rows, other = two_valued_rows(values, np.not_equal, white, decoder.other, decoder.white)
    return rows, [("white", decoder.white, values.size - other), ("other colours", decoder.other, other)]


WHITE_WORD = 0xFFFFFF  # white as `colour_words` gives it


def colour_words(image: PIL.Image.Image) -> np.ndarray:
    """Each pixel's RGB colour as one integer, R + G << 8 + B << 16 (HW uint32, this thread's `scratch`), read
    from PIL's own 4-byte pixels (RGBX): half the time of splitting the channels and comparing them (0.9
    against 1.9 ms for a 1000x750 image)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    words = scratch("words", (rgb.height, rgb.width), np.uint32)
    return np.bitwise_and(image_pixels(rgb), np.uint32(WHITE_WORD), out=words)  # the pad byte is no colour


def image_pixels(image: PIL.Image.Image) -> np.ndarray:
    """An "L" image's pixels (HW uint8) or an "RGB" image's (HW little-endian uint32: R, G, B, a pad byte), in
    PIL's own memory where Pillow lends it (its Arrow export, no copy), else copied out.

    A label is decoded, read once and dropped: a copy of a 1000x750 RGB label is 3 MB of fresh memory, and
    fresh memory costs a page fault every 4 KiB (ICDAR 2013's build took 934,000 faults, 4.4 s of system
    time, where the floor took 123,000)."""
    dtype = np.uint8 if image.mode == "L" else np.dtype("<u4")
    image.load()  # a decoding error is the caller's to name: the ValueError caught below is only the export's
    try:  # Pillow 11.2 and later; images of over one 16 MB block of Pillow's have no contiguous rows
        data = pa.array(image).buffers()[-1] if hasattr(image, "__arrow_c_array__") else None
    except ValueError:
        data = None
    if data is None:
        data = image.tobytes("raw", "L" if image.mode == "L" else "RGBX")
    return np.frombuffer(data, dtype, count=image.width * image.height).reshape(image.height, image.width)


_scratch = threading.local()
SCRATCH_KEPT_BYTES = 32 << 20  # a 2800x2800 label's colour words; what a thread keeps stays below this a buffer


def scratch(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An array of this thread's, reused from mask to mask (it holds what the last one left). Each label's
    temporaries are megabytes: taken fresh each time, they cost a page fault every 4 KiB. Grows to the
    largest label a thread has seen, up to SCRATCH_KEPT_BYTES; a larger one is taken fresh and not kept."""
    size = math.prod(shape) * np.dtype(dtype).itemsize  # math's: numpy's prod of a tuple takes 5 us
    if size > SCRATCH_KEPT_BYTES:
        return np.empty(shape, dtype)
    buffers = _scratch.__dict__.setdefault("buffers", {})
    if name not in buffers or buffers[name].size < size:
        buffers[name] = np.empty(size, np.uint8)
    return buffers[name][:size].view(dtype).reshape(shape)


def scratch_rows(height: int, width: int) -> np.ndarray:
    """This thread's `scratch` PNG rows for a label of this size (HxW+1), each row's filter byte 0 (none); the
    labels after it are whatever the last label left."""
    rows = scratch("rows", (height, width + 1), np.uint8)
    rows[:, 0] = 0
    return rows


def packed_colours(colours: frozenset) -> np.ndarray:
    """(R, G, B) triples as sorted integers, packed as `colour_words` packs a pixel."""
    return np.asarray(sorted(r | (g << 8) | (b << 16) for r, g, b in colours), np.uint32)


def character_colour_labels(
    image: PIL.Image.Image, decoder: CharacterColours, table: ColourTable, table_where: str
) -> tuple[np.ndarray, list[Rule]]:
    """Labels by each pixel's colour against the label's table: white, a listed character's colour, a don't-care
    character's colour (a colour listed both ways is don't care), or a colour the table does not list. As PNG
    rows (`scratch_rows`: valid until this thread's next mask), and the rules' counts."""
    if WHITE in table.listed or WHITE in table.dont_care:
        raise InvalidInputError(f"{table_where}: lists white (255 255 255), the background, as a character's colour")
    words = colour_words(image).reshape(-1)
    # Each inked pixel's rule: 1 listed, 2 don't care, 3 unlisted. Most of a BMP is white: only the other
    # pixels are looked up, each by one binary search in the sorted table.
    inked = np.flatnonzero(words != WHITE_WORD)
    packed = words[inked]
    listed = table.listed - table.dont_care
    keys = np.concatenate([packed_colours(listed), packed_colours(table.dont_care)])
    kinds = np.repeat(np.asarray([1, 2], np.uint8), [len(listed), len(table.dont_care)])
    order = np.argsort(keys)
    keys, kinds = keys[order], kinds[order]
    found_kinds = np.full(len(packed), 3, np.uint8)
    if len(keys):
        position = np.minimum(np.searchsorted(keys, packed), len(keys) - 1)
        found = keys[position] == packed
        found_kinds[found] = kinds[position[found]]
    counts = np.bincount(found_kinds, minlength=4)
    counts[0] = words.size - len(inked)
    lookup = np.asarray([decoder.white, decoder.listed, decoder.dont_care, decoder.unlisted], np.uint8)
    rows = scratch_rows(image.height, image.width)
    rows[:, 1:] = decoder.white
    rows.reshape(-1)[inked + inked // image.width + 1] = lookup[found_kinds]  # pixel i: row i // width, past a byte
    names = ("white", "listed colours", "don't-care colours", "unlisted colours")
    return rows, [(name, int(label), int(pixels)) for name, label, pixels in zip(names, lookup, counts, strict=True)]


# ---- ICDAR 2013's character tables (`<id>_GT.txt` beside `<id>_GT.bmp`) ------------------------------------------
# One character a line, `R G B cx cy x1 y1 x2 y2 "c"`: its colour in the BMP, its centre, its box and itself;
# a line starting with `#` is a don't-care character; blank lines separate words. Read as TexRNet's
# Icdar13_CharBboxLoader_Original (lib/data_factory/ds_icdar13.py) and keras-ocr's
# get_icdar_2013_detector_dataset read them: fields split at spaces, the colour the first three. A quote
# character is written `"""` (tormentor's examples/text_segmentation/rr_ds.py reads it so).
CHARACTER_LINE = re.compile(r"(#?)\s*((?:-?[0-9]+\s+){9})(\".*\")\s*")


def read_character_colours(data: bytes, where: str) -> ColourTable:
    """The colours an ICDAR 2013 `<id>_GT.txt` lists: those of its characters and those of its don't-care
    (`#`) characters. The characters themselves are not read (any encoding is accepted: the file is read as
    Latin-1, whose every byte is a character, and the fields are ASCII).

    Args:
        data: the table's bytes.
        where: how errors name it.

    Returns:
        ColourTable(listed, dont_care), each a frozenset of (R, G, B).

    Raises:
        InvalidInputError: a line that is not 9 integers and a quoted character, or a colour channel above 255,
            naming `where` and the line.
    """
    listed, dont_care = set(), set()
    for number, line in enumerate(re.split(r"\r?\n", data.decode("latin-1")), start=1):
        if not line.strip():
            continue  # between words
        found = CHARACTER_LINE.fullmatch(line)
        if found is None:
            raise InvalidInputError(
                f'{where}: line {number}: expected R G B cx cy x1 y1 x2 y2 "c" (a # before it for a don\'t-care '
                f"character), found {line[:80]!r}"
            )
        red, green, blue = (int(value) for value in found[2].split()[:3])
        if not all(0 <= channel <= 255 for channel in (red, green, blue)):
            raise InvalidInputError(f"{where}: line {number}: the colour {red} {green} {blue} is not 0-255 RGB")
        (dont_care if found[1] else listed).add((red, green, blue))
    return ColourTable(frozenset(listed), frozenset(dont_care))
