"""One example's pixels: JPEG headers and EXIF orientation, PNG masks checked and stored as 8-bit L.

Nothing here decodes a photo: image bytes pass through untouched but for the EXIF Orientation
value; each mask is decoded once to check it.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import warnings
import zlib
from collections.abc import Iterator
from typing import Optional

import numpy as np
import PIL.Image

from .errors import InvalidInputError
from .inputs import Source
from .layout import Pair, stem
from .spec import ID2LABEL, MASK_VALUES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXIF_ORIENTATION = 0x0112
SWAPS_AXES = {5, 6, 7, 8}  # orientations that turn the image by 90 degrees


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, body start, body length) of each header segment, up to and including the first
    start-of-scan (whose body is where the compressed image begins)."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        yield marker, pos + 4, length - 2
        if marker == 0xDA:
            return
        pos += 2 + length


def decoded_size(raw_size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size `datasets.Image` decodes to: EXIF orientations 5-8 swap the axes."""
    return raw_size[::-1] if orientation in SWAPS_AXES else raw_size


def jpeg_header(data: bytes, where: str) -> tuple[tuple[int, int], int]:
    """(width, height) of the stored pixel grid and the EXIF orientation, from headers only."""
    if not data.startswith(b"\xff\xd8"):
        raise InvalidInputError(f"{where}: not a JPEG (starts with {data[:8]!r})")
    segments = list(_jpeg_segments(data))
    scan = next((start for marker, start, _ in segments if marker == 0xDA), None)
    if scan is None:
        header_end = segments[-1][1] + segments[-1][2] if segments else 2
        problem = "truncated JPEG (it ends inside its header)" if header_end + 4 > len(data) else "corrupt JPEG"
        raise InvalidInputError(f"{where}: {problem}: its header segments do not lead to image data")
    # Compressed data never holds FF D9 (an FF there is followed by 00 or a restart marker), so
    # the end-of-image marker must follow the main scan; an EXIF thumbnail's comes before it.
    if data.find(b"\xff\xd9", scan) < 0:
        raise InvalidInputError(f"{where}: truncated JPEG (no end-of-image marker after the image data)")
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                raise InvalidInputError(f"{where}: expected a JPEG, found {image.format}")
            return image.size, int(image.getexif().get(EXIF_ORIENTATION) or 1)
    except (OSError, SyntaxError, ValueError, struct.error, PIL.Image.DecompressionBombError) as e:
        if isinstance(e, InvalidInputError):
            raise
        detail = str(e) if isinstance(e, PIL.Image.DecompressionBombError) else "its header cannot be parsed"
        raise InvalidInputError(f"{where}: corrupt JPEG ({detail})") from None


def neutralise_orientation(data: bytes) -> bytes:
    """The same JPEG with its EXIF Orientation set to 1: two bytes change, nothing is re-encoded."""
    for marker, body, _ in _jpeg_segments(data):
        if marker == 0xE1 and data[body : body + 6] == b"Exif\x00\x00":
            return _patch_exif_orientation(data, body + 6)
    raise ValueError("no EXIF segment")


def _patch_exif_orientation(data: bytes, tiff: int) -> bytes:
    order = {b"II": "<", b"MM": ">"}[data[tiff : tiff + 2]]
    ifd = tiff + struct.unpack(order + "I", data[tiff + 4 : tiff + 8])[0]
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag == EXIF_ORIENTATION:
            value = struct.pack(order + ("H" if kind == 3 else "I"), 1)  # SHORT (3) as specified, LONG tolerated
            return data[: entry + 8] + value + data[entry + 8 + len(value) :]
    raise ValueError("no Orientation tag in IFD0")


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        yield kind, data[pos : pos + 12 + length]
        pos += 12 + length


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def palette_png_as_grayscale(data: bytes) -> bytes:
    """An 8-bit palette PNG as an 8-bit grayscale PNG whose values are the palette indices.

    Both store one byte per pixel, so the compressed pixel data is reused as it is: only the
    header's colour type changes and the palette chunks go. No decode, no re-encode.
    """
    out = [PNG_SIGNATURE]
    for kind, chunk in _png_chunks(data):
        if kind == b"IHDR":
            header = bytearray(chunk[8:-4])
            header[9] = 0  # colour type: grayscale
            out.append(_png_chunk(b"IHDR", bytes(header)))
        elif kind in (b"IDAT", b"IEND"):
            out.append(chunk)
    return b"".join(out)


@dataclasses.dataclass(frozen=True)
class Mask:
    png: bytes  # single-channel 8-bit PNG, decodes to mode "L"
    size: tuple[int, int]
    classes: list[int]  # ClassLabel ids present


def read_mask(data: bytes, where: str, allowed_sizes: set[tuple[int, int]]) -> Mask:
    """Check a label map and return it as an 8-bit grayscale PNG, converting by value.

    The size is checked from the header before any pixel is decoded, so a tiny PNG that
    declares a huge image is refused without being inflated.
    """
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise InvalidInputError(f"{where}: not a PNG (starts with {data[:8]!r})")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if channels != 1:
        raise InvalidInputError(
            f"{where}: expected a single-channel mask, found {channels or '?'} channels (PNG colour type {colour})"
        )
    if (width, height) not in allowed_sizes:
        expected = " or ".join(f"{w}x{h}" for w, h in sorted(allowed_sizes))
        raise InvalidInputError(f"{where}: mask is {width}x{height}, expected the image's size {expected}")
    values = None  # the pixels as numbers, needed only when the PNG must be re-encoded
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(io.BytesIO(data)) as image:
                if depth == 8:  # grey or palette, one byte a pixel: PIL counts the values in C
                    image.load()
                    counts = np.asarray(image.histogram(), np.int64)
                else:
                    values = np.asarray(image)
    except (
        OSError,
        SyntaxError,
        ValueError,
        PIL.Image.DecompressionBombError,
        PIL.Image.DecompressionBombWarning,
    ) as e:
        raise InvalidInputError(f"{where}: corrupt PNG ({e})") from None
    if values is not None:
        if colour == 0 and depth in (2, 4):
            values = values // (255 // (2**depth - 1))  # Pillow scales 2/4-bit grey to 0-255
        counts = np.bincount(values.ravel().astype(np.int64), minlength=256)
    bad = [int(v) for v in np.flatnonzero(counts) if v not in MASK_VALUES]
    if bad:
        raise InvalidInputError(
            f"{where}: pixel values {bad[:8]} outside {{0 background, 1 text, 255 uncertain}} "
            f"({int(counts[bad].sum())} pixels)"
        )
    if colour == 0 and depth == 8:
        png = data  # already what we store: byte for byte
    elif colour == 3 and depth == 8:
        png = palette_png_as_grayscale(data)
    else:
        buffer = io.BytesIO()
        PIL.Image.fromarray(values.astype(np.uint8), mode="L").save(buffer, format="PNG")
        png = buffer.getvalue()
    return Mask(png, (width, height), [label for label in ID2LABEL if counts[label]])


def make_example(pair: Pair, images: Source, labels: Optional[Source]) -> dict:
    """One row. The image keeps its bytes; only an EXIF Orientation that would turn it off
    its mask's pixel grid is neutralised (`datasets.Image` applies it on decode)."""
    image_bytes = images.read(pair.image_member)
    where = images.where(pair.image_member)
    raw_size, orientation = jpeg_header(image_bytes, where)
    example = {
        "image_id": pair.image_id,
        "image": None,
        "mask": None,
        "mask_classes": [],
    }
    if pair.label_member is not None:
        allowed = {raw_size, decoded_size(raw_size, orientation)}
        mask = read_mask(labels.read(pair.label_member), labels.where(pair.label_member), allowed)
        # The raw grid wins when both fit (orientations that do not swap the axes).
        if mask.size == raw_size and orientation != 1:
            try:
                image_bytes = neutralise_orientation(image_bytes)
            except (ValueError, KeyError, struct.error) as e:
                raise InvalidInputError(f"{where}: cannot clear its EXIF orientation ({e})") from None
            if jpeg_header(image_bytes, where)[1] != 1:
                raise InvalidInputError(f"{where}: its orientation is also set outside EXIF (XMP); not supported")
        example["mask"] = {"path": stem(pair.label_member) + ".png", "bytes": mask.png}
        example["mask_classes"] = mask.classes
    example["image"] = {"path": pair.image_member.rsplit("/", 1)[-1], "bytes": image_bytes}
    return example
