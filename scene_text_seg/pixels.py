"""One example's pixels: JPEG headers and EXIF orientation, PNG masks checked and stored as 8-bit L.

Nothing here decodes a photo: image bytes pass through untouched but for the EXIF Orientation
value; each mask is decoded once to check it. Label files that are not value maps (JPEG, BMP, colour
on white) are decoded by `scene_text_seg.labels`.
"""

from __future__ import annotations

import dataclasses
import io
import re
import struct
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Optional

import datasets
import numpy as np
import PIL.Image

try:  # zlib-ng inflates masks ~6x faster than the system zlib (PIL's wheels bundle it for the same reason)
    from zlib_ng import zlib_ng as zlib
except ImportError:  # the same interface, slower
    import zlib

from .errors import InvalidInputError
from .inputs import Source
from .labels import (
    IMAGE_ERRORS,
    Mask,
    decode_label,
    image_pixels,
    png_of_rows,
    scratch,
    scratch_rows,
    value_lookup,
    value_names,
)
from .layout import Pair
from .spec import ID2LABEL, IDENTITY_VALUES, IGNORE_INDEX, MASK_VALUES, ValueTable
from .words import orient_words, parse_words

logger = datasets.utils.logging.get_logger(f"datasets.{__name__}")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXIF_ORIENTATION = 0x0112
SWAPS_AXES = {5, 6, 7, 8}  # orientations that turn the image by 90 degrees
ORIENTATIONS = frozenset(range(1, 9))


def normalised_orientation(value: object) -> int:
    """The orientation `datasets.Image` applies for a tag's value: PIL's `exif_transpose` looks the value
    up among 2-8 and leaves the image as it is for anything else (0, 9, 65535, a tuple), as if it were 1."""
    try:
        return int(value) if value in ORIENTATIONS else 1
    except TypeError:  # an unhashable value: never an orientation
        return 1


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
    if data.rfind(b"\xff\xd9", scan) < 0:  # searched from the end, where the marker normally is
        raise InvalidInputError(f"{where}: truncated JPEG (no end-of-image marker after the image data)")
    size = plain_jpeg_size(data, segments)
    if size is not None:
        return size, 1
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                raise InvalidInputError(f"{where}: expected a JPEG, found {image.format}")
            return image.size, normalised_orientation(image.getexif().get(EXIF_ORIENTATION, 1))
    except (OSError, SyntaxError, ValueError, struct.error, PIL.Image.DecompressionBombError) as e:
        if isinstance(e, InvalidInputError):
            raise
        detail = str(e) if isinstance(e, PIL.Image.DecompressionBombError) else "its header cannot be parsed"
        raise InvalidInputError(f"{where}: corrupt JPEG ({detail})") from None


# The header segments that PIL's JPEG plugin only stores or skips once they are well formed (JpegImagePlugin's
# APP, DQT, SOF and Skip handlers, Pillow 10-13): JFIF, quantization and Huffman tables, restart interval,
# one 8-bit baseline, extended or progressive frame of 1, 3 or 4 components, the scan.
PLAIN_FRAMES = frozenset({0xC0, 0xC1, 0xC2})
SKIPPED_SEGMENTS = frozenset({0xC4, 0xDD, 0xDA})  # DHT, DRI, SOS


def plain_jpeg_size(data: bytes, segments: list[tuple[int, int, int]]) -> Optional[tuple[int, int]]:
    """(width, height) of a JPEG whose header holds nothing but the plain segments above, each checked as PIL
    checks it: such a file opens in PIL as that size with no EXIF and no XMP (they live in APP1), so its
    orientation is 1. None for any other header (EXIF, XMP, ICC, Adobe, MPO, another frame, a segment PIL
    would refuse, an image over PIL's pixel limit): PIL reads it. PIL's own JPEGs and the COCO stand-ins'
    have plain headers: COCO_TS's build at COCO's count took 0.85 of its time without opening PIL for them."""
    size = None
    for marker, body, length in segments:
        if length < 0 or body + length > len(data):
            return None
        if marker == 0xE0:  # APP0: PIL reads a JFIF segment's version
            if length < 7 and data.startswith(b"JFIF", body):
                return None
        elif marker == 0xDB:  # DQT: whole tables of 64 8-bit or 16-bit values
            end, pos = body + length, body
            while pos < end:
                pos += 1 + 64 * (1 if data[pos] < 16 else 2)
            if pos != end:
                return None
        elif marker in PLAIN_FRAMES:
            components = data[body + 5] if length >= 6 else 0
            if size is not None or length != 6 + 3 * components or data[body] != 8 or components not in (1, 3, 4):
                return None  # PIL: 8-bit samples, 1, 3 or 4 components, 3 bytes each
            height, width = struct.unpack(">HH", data[body + 1 : body + 5])
            size = (width, height)
        elif marker not in SKIPPED_SEGMENTS:
            return None
    limit = PIL.Image.MAX_IMAGE_PIXELS
    if size is None or 0 in size or (limit is not None and size[0] * size[1] > limit):
        return None
    return size


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


# Adam7 interlacing: (first column, first row, column step, row step) of each of the seven passes.
ADAM7_PASSES = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


@dataclasses.dataclass(frozen=True)
class PngParts:
    """The chunks of a PNG that carry pixels: everything else (text, EXIF, XMP, gamma, palette) is metadata."""

    header: bytes  # IHDR body: width, height, depth, colour type, compression, filter, interlace
    pixel_data: bytes  # the IDAT bodies joined: one zlib stream


def png_chunks(data: bytes, where: str) -> Iterator[tuple[bytes, int, bytes]]:
    """(kind, offset, body) of each chunk of a PNG, up to and including IEND; a chunk cut short (but for
    IEND's CRC) is an error naming `where`. CRCs are not trusted: what is stored gets fresh ones."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if pos + 12 + length > len(data) and kind != b"IEND":
            raise InvalidInputError(f"{where}: truncated PNG (its {kind.decode('latin-1')!r} chunk is cut short)")
        yield kind, pos, data[pos + 8 : pos + 8 + length]
        if kind == b"IEND":
            return
        pos += 12 + length


def png_parts(data: bytes, where: str) -> PngParts:
    """The IHDR body and the joined IDAT data, from the chunk structure alone."""
    header, idat = b"", []
    for kind, _, body in png_chunks(data, where):
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
    if len(header) != 13 or not idat:
        raise InvalidInputError(f"{where}: corrupt PNG (no {'IDAT' if header else 'IHDR'} chunk)")
    return PngParts(header, b"".join(idat))


def inflated_size(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> int:
    """Bytes the PNG's pixel data must inflate to: one filter byte, then the packed samples, per row."""
    passes = ADAM7_PASSES if interlaced else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            total += rows * (1 + -(-columns * bits_per_pixel // 8))
    return total


INFLATE_PIECE = 1 << 18  # pixel data is inflated 256 KiB at a time: memory stays small and flat ...
# ... except where all of it is no larger than this (4 MiB: a 2047x2048 8-bit mask): then it is inflated in one
# piece, into one buffer of its declared size (plus the byte that tells a stream too long). A 640x480 mask
# took 190 us in 256 KiB pieces and ~110 us in one: zlib grows a piece's buffer from 16 KiB by doubling,
# an inflate call and a copy a step, and each piece is counted by its own few numpy calls.
ONE_PIECE_BYTES = 1 << 22


def scan_pixel_data(
    parts: PngParts,
    where: str,
    keep: Optional[list] = None,
    known: Collection[int] = MASK_VALUES,
    mapped: Optional[tuple[np.ndarray, Mapping[int, int]]] = None,
) -> Optional[np.ndarray]:
    """Inflate the pixel data once, in pieces, checking that the stream is whole and inflates to exactly
    the size the header declares; return the count of each value when the PNG can be read without
    unfiltering (8-bit, one channel, not interlaced, every row with filter 0), else None.

    PIL fills the rows of a stream that ends early with 0 (background) without a word: a mask missing
    rows would be silently wrong. Label maps are often written unfiltered (PIL writes palette images
    so): their check is then this one inflate and a count, with no second inflate and decode by PIL.
    With `keep`, the inflated pieces are appended to it (filtered rows are unfiltered from them, a label
    decoder that changes values maps them);
    `known` are the values the map is expected to hold (see `count_values`). With `mapped`, (rows, table):
    each piece's values are counted and mapped by the table into the same bytes of the flat `rows` as they
    inflate (`counted_and_mapped`; the table must keep 0, a filter byte); the rows are whole only when
    counts are returned.
    """
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", parts.header)
    expected = inflated_size(width, height, depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour], interlace == 1)
    counts = np.zeros(256, np.int64) if depth == 8 and interlace == 0 else None
    row, found, inflater, tail = width + 1, 0, zlib.decompressobj(), parts.pixel_data
    piece_size = expected + 1 if expected <= ONE_PIECE_BYTES else INFLATE_PIECE
    try:
        while found <= expected:
            piece = inflater.decompress(tail, piece_size)
            # After the stream's end, bytes past it stay in unconsumed_tail too: read no further (PIL ignores them)
            tail = inflater.unconsumed_tail if not inflater.eof else b""
            if not piece and not tail:
                break
            if keep is not None:
                keep.append(piece)
            if counts is not None:
                samples = np.frombuffer(piece, np.uint8)
                filters = samples[(-found) % row :: row]  # the filter bytes that fall in this piece
                if filters.any():
                    counts = None
                elif mapped is not None and found + samples.size <= expected:  # past that, the stream is too long
                    counts += counted_and_mapped(samples, mapped[0][found : found + samples.size], mapped[1])
                    counts[0] -= len(filters)
                else:
                    counts += count_values(samples, known)
                    counts[0] -= len(filters)
            found += len(piece)
    except zlib.error as e:
        raise InvalidInputError(f"{where}: corrupt PNG (its pixel data does not inflate: {e})") from None
    if found < expected:
        missing = "the compressed stream is cut short" if not inflater.eof else "the stream ends early"
        raise InvalidInputError(
            f"{where}: incomplete PNG: its pixel data inflates to {found:,} bytes, the header declares "
            f"{expected:,} ({missing}; rows are missing)"
        )
    if found > expected or not inflater.eof:
        raise InvalidInputError(f"{where}: corrupt PNG (its pixel data is longer than its header declares)")
    return counts


def _counted(
    decoded: np.ndarray, changes: bool, label_values: Mapping[int, int]
) -> tuple[Optional[np.ndarray], np.ndarray]:
    """A decoded 8-bit map's value counts, and its rows mapped by `label_values` (this thread's scratch)
    when the table changes a value (else None)."""
    if not changes:
        return None, count_values(decoded, label_values.keys())
    return mapped_rows(decoded, label_values)


def mapped_rows(pixels: np.ndarray, table: Mapping[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """HW uint8 `pixels` mapped by `table` into this thread's PNG rows (`scratch_rows`), and their value
    counts (`counted_and_mapped`: the rows are the map only when every value is the table's)."""
    rows = scratch_rows(*pixels.shape)
    return rows, counted_and_mapped(pixels, rows[:, 1:], table)


def check_filter_types(inflated: bytes, width: int, where: str) -> None:
    """Refuse rows of 8-bit one-channel samples (each a filter byte and `width` samples) whose filter type is
    none of PNG's five (0-4), naming the first such row."""
    filters = np.frombuffer(inflated, np.uint8)[:: width + 1]
    unknown = np.flatnonzero(filters > LAST_FILTER_TYPE)
    if unknown.size:
        row = int(unknown[0])
        raise InvalidInputError(
            f"{where}: corrupt PNG (row {row} has filter type {filters[row]}; PNG defines types 0-4)"
        )


def stored_zlib(data: bytes) -> np.ndarray:
    """`data` as a zlib stream of stored (uncompressed) deflate blocks, what an inflater copies out as it is:
    in this thread's `scratch` (valid until its next one), as a fresh 800 KB stream for each mask cost the
    build's threads a page fault every 4 KiB."""
    count = max(1, -(-len(data) // STORED_BLOCK))
    stream = scratch("stored", (len(data) + 6 + 5 * count,), np.uint8)
    stream[:2] = (0x78, 0x01)  # deflate, 32 KiB window, no dictionary, the check bits
    samples, at = np.frombuffer(data, np.uint8), 2
    for start in range(0, count * STORED_BLOCK, STORED_BLOCK):
        block = samples[start : start + STORED_BLOCK]
        last = start + STORED_BLOCK >= len(data)
        stream[at : at + 5] = np.frombuffer(struct.pack("<BHH", last, block.size, 0xFFFF ^ block.size), np.uint8)
        stream[at + 5 : at + 5 + block.size] = block
        at += 5 + block.size
    stream[at:] = np.frombuffer(struct.pack(">I", zlib.adler32(data)), np.uint8)
    return stream


STORED_BLOCK = 0xFFFF  # the most a stored deflate block holds
LAST_FILTER_TYPE = 4  # PNG's filter types: 0 none, 1 sub, 2 up, 3 average, 4 Paeth


def unfiltered_samples(inflated: bytes, width: int, height: int, mode: str) -> np.ndarray:
    """The HW samples of 8-bit one-channel PNG rows (`mode` "L" grey or "P" palette indices, not interlaced)
    from their inflated bytes, filters undone by PIL's own PNG decoder ("zip", through `Image.frombytes`).

    It is handed them as stored deflate blocks, so they are not inflated a second time: decoding the PNG
    again took 2.2 ms for a filtered 1024x768 mask (PIL inflates it a row at a time with the system zlib),
    this about 1 ms. An unknown filter type is PIL's error, as decoding the PNG gives it.
    """
    image = PIL.Image.frombytes(mode, (width, height), stored_zlib(inflated), "zip", mode)  # any buffer: Pillow 10.1+
    return image_pixels(image) if mode == "L" else np.asarray(image)


# A map this large is shifted into this thread's scratch: a fresh temporary as large as the inflated rows, freed
# with them, can leave a free top of the heap over glibc's trim threshold, which hands it back to the system
# and takes it again for the next map (IST_S's 1280x720: ~450 page faults and ~1 ms a map, 0.3 ms without).
# Smaller maps take theirs fresh, which is faster where it is not (COCO_TS's 640x480: 0.12 ms against 0.14).
# Like every `scratch` buffer, it stays with its thread, as large as the largest map it counted.
SCRATCH_FROM_BYTES = 1 << 19


def count_values(values: np.ndarray, known: Collection[int] = MASK_VALUES) -> np.ndarray:
    """How many samples hold each value 0-255, for a map expected to hold only the `known` values (its
    decoder's table). A map of the family's 0 and 1 alone is told by a max and counted by one non-zero
    count (0.02 ms a 640x480 map, against 0.05); with 255 too, one added to each (mod 256) become 1, 2 and
    0, so an add, a max and two non-zero counts count them (the first max is then ~0.01 ms more). Other
    tables are counted a comparison a value (TextSeg's four: 0.15 ms, against 1 ms for a full count). A
    full count runs only when something else is there."""
    if set(known) != MASK_VALUES and values.dtype == np.uint8:
        counts = np.zeros(256, np.int64)
        for value in known:
            counts[value] = np.count_nonzero(values == value)
        if counts.sum() == values.size:
            return counts
        return np.bincount(values.ravel(), minlength=256).astype(np.int64)
    if values.dtype != np.uint8:
        return np.bincount(values.ravel(), minlength=256).astype(np.int64)
    counts = np.zeros(256, np.int64)
    if values.max(initial=0) <= 1:  # no uncertain pixel
        counts[1] = np.count_nonzero(values)
        counts[0] = values.size - counts[1]
        return counts
    large = values.nbytes >= SCRATCH_FROM_BYTES
    shifted = np.add(values, np.uint8(1), out=scratch("shifted", values.shape, np.uint8) if large else None)
    if shifted.max(initial=0) > 2:
        return np.bincount(values.ravel(), minlength=256).astype(np.int64)
    nonzero, uncertain = np.count_nonzero(values), values.size - np.count_nonzero(shifted)
    counts[0], counts[1], counts[IGNORE_INDEX] = values.size - nonzero, nonzero - uncertain, uncertain
    return counts


def counted_and_mapped(samples: np.ndarray, target: np.ndarray, table: Mapping[int, int]) -> np.ndarray:
    """How many samples hold each value 0-255 (as `count_values`), writing each one's label by `table` into
    `target` (the same shape) on the way. Each value the table names, but a 0 it keeps (what is left), costs
    a comparison and a count. The first value with label 1 is compared straight into `target` (its 0/1 are
    the labels); each other one is compared into this thread's scratch and, when present with a label other
    than 0, takes one whole-array step: a label 1 is OR-ed in, a label 255 subtracted from the 0 there (0 - 1
    wraps to 255 in uint8). Masked copies (`np.copyto(where=)`) took 0.14 ms each on a 1024x768 map, these
    steps 0.02; TextSeg's four values: 0.87 ms -> ~0.3. A value the table does not name is counted by a full
    count, for its error; `target` is then not the map."""
    counts = np.zeros(256, np.int64)
    first = next((value for value, label in table.items() if label == 1), None)
    if first is None:
        target[...] = 0
    else:  # one pass fewer than zeroing the rows and OR-ing this in
        written = target.view(np.bool_)
        np.equal(samples, first, out=written)
        counts[first] = np.count_nonzero(written)
    equal = scratch("equal", samples.shape, np.bool_)
    for value, label in table.items():
        if value == first or (value == 0 and label == 0):
            continue
        np.equal(samples, value, out=equal)
        counts[value] = np.count_nonzero(equal)
        if not counts[value] or not label:
            continue
        if label == 1:
            np.bitwise_or(target, equal.view(np.uint8), out=target)
        else:  # IGNORE_INDEX, the only other label (spec.check_label); no other value set these pixels
            np.subtract(target, equal.view(np.uint8), out=target)
    if table.get(0) == 0:
        counts[0] = samples.size - np.count_nonzero(samples)
    if counts.sum() != samples.size:
        return np.bincount(samples.ravel(), minlength=256).astype(np.int64)
    return counts


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def minimal_grayscale_png(parts: PngParts) -> bytes:
    """An 8-bit one-channel PNG (grey, or palette whose indices are the values) as a minimal grey PNG.

    Only IHDR (colour type set to grey), one IDAT and IEND, with fresh CRCs: no metadata chunk can
    turn or recolour it on decode (`datasets.Image` applies an eXIf or XMP Orientation), and the
    compressed pixels are reused as they are, never re-encoded.
    """
    header = bytearray(parts.header)
    header[9] = 0  # colour type: grey; palette indices and grey values are both one byte a pixel
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", bytes(header))
        + _png_chunk(b"IDAT", parts.pixel_data)
        + _png_chunk(b"IEND", b"")
    )


def unfiltered_grey_pixels(data: bytes, palette_indices: bool = False) -> Optional[np.ndarray]:
    """The HW uint8 pixels of a PNG written as the builder stores masks (8-bit grey, not interlaced,
    only IHDR, IDAT and IEND, every row unfiltered), by one inflate and a reshape: what PIL decodes
    from it, in a quarter of the time, as a view of the inflated rows (each row's filter byte
    skipped, so not contiguous). None for any other PNG, or one that does not inflate to its
    declared size: PIL decodes (or refuses) those as it always has. With `palette_indices`, an 8-bit
    palette PNG's indices too (what PIL's mode "P" gives: its PLTE and tRNS chunks change no index),
    as predicted masks are often saved.
    """
    rows = unfiltered_grey_rows(data, palette_indices)
    return None if rows is None else rows[:, 1:]


def unfiltered_grey_rows(data: bytes, palette_indices: bool = False) -> Optional[np.ndarray]:
    """`unfiltered_grey_pixels` with each row's filter byte (0) kept in front: contiguous, H x (W + 1)."""
    rows = _inflated_grey_rows(data, palette_indices)
    if rows is None or rows[:, 0].any():  # a filtered row: PIL unfilters
        return None
    return rows


def grey_samples(data: bytes, palette_indices: bool = False) -> Optional[tuple[np.ndarray, bool]]:
    """The PNGs `unfiltered_grey_rows` reads, filtered rows too, by one inflate: (its rows, True) when no row
    is filtered, else (the HW samples, False), unfiltered by PIL from the inflated rows (`unfiltered_samples`:
    ~1 ms for 640x480 where decoding the PNG again took ~2). None as for `unfiltered_grey_rows`, and for a
    row of unknown filter type (PIL decodes the PNG, and names its error)."""
    rows = _inflated_grey_rows(data, palette_indices)
    if rows is None:
        return None
    filters = rows[:, 0]
    if not filters.any():
        return rows, True
    if filters.max() > LAST_FILTER_TYPE:
        return None
    height, width = rows.shape[0], rows.shape[1] - 1
    return unfiltered_samples(rows.reshape(-1), width, height, "L"), False  # indices unfilter as grey values do


def _inflated_grey_rows(data: bytes, palette_indices: bool) -> Optional[np.ndarray]:
    """The inflated rows (H x (W + 1), each row's filter byte in front) of the PNGs `unfiltered_grey_pixels`
    reads, whatever their rows' filters; None for any other, or one that does not inflate whole."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", data[16:29])
    too_large = PIL.Image.MAX_IMAGE_PIXELS is not None and width * height > PIL.Image.MAX_IMAGE_PIXELS
    palette = palette_indices and colour == 3
    # Any other header (or a decompression bomb) is PIL's to read or refuse
    if (depth, colour if not palette else 0, compression, filtering, interlace) != (8, 0, 0, 0, 0) or too_large:
        return None
    compressed = []
    try:
        for kind, _, body in png_chunks(data, "the PNG"):
            if kind == b"IDAT":
                compressed.append(body)
            elif kind not in (b"IHDR", b"IEND") and not (palette and kind in (b"PLTE", b"tRNS")):
                # eXIf would turn it, tRNS or sBIT might change a grey one: PIL's
                return None
    except InvalidInputError:
        return None
    expected, inflater = inflated_size(width, height, 8, interlaced=False), zlib.decompressobj()
    try:
        inflated = inflater.decompress(b"".join(compressed), expected + 1)
    except zlib.error:
        return None
    if len(inflated) != expected or not inflater.eof:
        return None
    return np.frombuffer(inflated, np.uint8).reshape(height, width + 1)


# ---- photos that are not JPEGs (MLT_S holds PNG and GIF photos): sizes and orientation from headers ----

XMP_ORIENTATION = re.compile(rb'tiff:Orientation(?:="|>)([0-9])')  # where PIL looks when EXIF has none


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What the headers of a stored photo say: no pixel is decoded."""

    format: str  # "JPEG", "PNG" or "GIF"
    size: tuple[int, int]  # (width, height) of the stored pixel grid
    orientation: int  # the EXIF orientation `datasets.Image` will apply (1: none)
    frames: int = 1  # a GIF's frames: `datasets.Image` decodes the first


def image_header(data: bytes, where: str) -> ImageHeader:
    """The header of a JPEG, PNG or GIF photo; a truncated or corrupt one is an error naming it."""
    if data.startswith(b"\xff\xd8"):
        return ImageHeader("JPEG", *jpeg_header(data, where))
    if data.startswith(PNG_SIGNATURE):
        return png_photo_header(data, where)
    if data.startswith((b"GIF87a", b"GIF89a")):
        return gif_header(data, where)
    raise InvalidInputError(f"{where}: not a JPEG, PNG or GIF image (starts with {data[:8]!r})")


def _exif_orientation(exif: bytes) -> Optional[object]:
    """The Orientation tag's value as stored (None without one)."""
    tags = PIL.Image.Exif()
    tags.load(exif)
    return tags.get(EXIF_ORIENTATION)


def _xmp_orientation(xmp: bytes) -> int:
    match = XMP_ORIENTATION.search(xmp)
    return normalised_orientation(int(match[1])) if match else 1


def png_photo_header(data: bytes, where: str) -> ImageHeader:
    """A PNG photo's size, and the orientation PIL finds: an eXIf chunk, a "Raw profile type exif"
    text chunk, else XMP. The chunk walk must reach IEND (a truncated PNG is an error)."""
    if data[12:16] != b"IHDR":
        raise InvalidInputError(f"{where}: corrupt PNG (no IHDR chunk first)")
    width, height = struct.unpack(">II", data[16:24])
    exif, xmp, iend = None, b"", None
    for kind, offset, body in png_chunks(data, where):
        if kind == b"eXIf":
            exif = body
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            key = body.split(b"\0", 1)[0]
            if key == b"XML:com.adobe.xmp":
                xmp = body
            elif key == b"Raw profile type exif" and exif is None:
                text = body[len(key) + 1 :]
                text = zlib.decompress(text[1:]) if kind == b"zTXt" else text
                exif = bytes.fromhex("".join(text.decode("latin-1").split("\n")[3:]))
        elif kind == b"IEND":
            iend = offset
    if iend is None or iend + 12 > len(data):  # a photo must be whole, IEND and its CRC included
        raise InvalidInputError(f"{where}: truncated PNG (it ends before its IEND chunk)")
    # As PIL: XMP is read only when EXIF has no Orientation tag at all (a tag of 1, or of 9, wins).
    tag = _exif_orientation(exif) if exif else None
    orientation = _xmp_orientation(xmp) if tag is None else normalised_orientation(tag)
    return ImageHeader("PNG", (width, height), orientation)


def gif_header(data: bytes, where: str) -> ImageHeader:
    """A GIF's logical screen size and frame count, from a walk of its blocks to the trailer."""

    def skip_sub_blocks(pos: int) -> int:
        while True:
            if pos >= len(data):
                raise InvalidInputError(f"{where}: truncated GIF (it ends inside a data block)")
            if data[pos] == 0:
                return pos + 1
            pos += 1 + data[pos]

    def colour_table(flags: int) -> int:
        return 3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0

    if len(data) < 13:
        raise InvalidInputError(f"{where}: truncated GIF (it ends inside its header)")
    width, height, flags = struct.unpack("<HHB", data[6:11])
    pos, frames = 13 + colour_table(flags), 0
    while True:
        if pos >= len(data):
            raise InvalidInputError(f"{where}: truncated GIF (no trailer after {frames} frame(s))")
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            pos = skip_sub_blocks(pos + 2)
        elif block == 0x2C:  # image: descriptor, local colour table, LZW code size, sub-blocks
            if pos + 10 > len(data):
                raise InvalidInputError(f"{where}: truncated GIF (it ends inside an image descriptor)")
            pos = skip_sub_blocks(pos + 10 + colour_table(data[pos + 9]) + 1)
            frames += 1
        else:
            raise InvalidInputError(f"{where}: corrupt GIF (unknown block {block:#04x} at byte {pos})")
    if frames == 0:
        raise InvalidInputError(f"{where}: corrupt GIF (no image in it)")
    return ImageHeader("GIF", (width, height), _gif_orientation(data, where), frames)


def _gif_orientation(data: bytes, where: str) -> int:
    """The orientation `datasets.Image` applies to a GIF: whatever the installed PIL finds (Pillow 13 reads
    no XMP from a GIF, so none), asked of PIL itself, which reads only the headers for it."""
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            return normalised_orientation(image.getexif().get(EXIF_ORIENTATION, 1))
    except (OSError, SyntaxError, ValueError, struct.error) as e:
        raise InvalidInputError(f"{where}: corrupt GIF ({e})") from None


def neutralise_photo_orientation(data: bytes, header: ImageHeader, where: str) -> bytes:
    """The photo with its orientation set to 1 in place (JPEG APP1 or PNG eXIf): nothing is re-encoded."""
    try:
        if header.format == "JPEG":
            data = neutralise_orientation(data)
        elif header.format == "PNG":
            data = _neutralise_png_exif(data)
        else:
            raise ValueError(f"a {header.format} has no EXIF block to change")
    except (ValueError, KeyError, struct.error) as e:
        raise InvalidInputError(f"{where}: cannot clear its EXIF orientation ({e})") from None
    if image_header(data, where).orientation != 1:
        raise InvalidInputError(f"{where}: its orientation is also set outside EXIF (XMP); not supported")
    return data


def _neutralise_png_exif(data: bytes) -> bytes:
    for kind, offset, body in png_chunks(data, "the PNG"):  # already checked whole by png_photo_header
        if kind == b"eXIf":
            patched = _png_chunk(b"eXIf", _patch_exif_orientation(body, 0))
            return data[:offset] + patched + data[offset + 12 + len(body) :]
    raise ValueError("no eXIf chunk")


def mapped_png(pixels: np.ndarray, table: Mapping[int, int]) -> bytes:
    """HW uint8 `pixels`, each of whose values `table` names (the caller has checked them), mapped by it into
    this thread's PNG rows (`scratch_rows`) as a minimal 8-bit grey PNG."""
    height, width = pixels.shape
    return png_of_rows(width, height, mapped_rows(pixels, table)[0])


def mask_pixels(data: bytes) -> np.ndarray:
    """The HW values of an 8-bit one-channel PNG (grey values or palette indices), as stored."""
    fast = unfiltered_grey_pixels(data)
    if fast is not None:
        return fast
    with PIL.Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def read_mask(
    data: bytes, where: str, allowed_sizes: set[tuple[int, int]], label_values: Mapping[int, int] = IDENTITY_VALUES
) -> Mask:
    """Check a label map and return it as a minimal 8-bit grayscale PNG, converting by value.

    The size is checked from the header before any pixel is decoded, so a tiny PNG that
    declares a huge image is refused without being inflated. What is returned decodes, through
    `datasets.Image`, to exactly the pixels that were checked, each replaced by its label in
    `label_values` (the dataset's label decoder, DatasetSpec.label_values): a value it does not name is
    an error naming the file. A map whose values all keep their value keeps its compressed pixels.
    """
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise InvalidInputError(f"{where}: not a PNG (starts with {data[:8]!r})")
    width, height, depth, colour, compression, filtering, interlaced = struct.unpack(">IIBBBBB", data[16:29])
    if compression or filtering or interlaced > 1:  # what PIL refuses to open; the stored mask would keep them
        raise InvalidInputError(
            f"{where}: corrupt PNG (its header declares compression method {compression}, filter method "
            f"{filtering}, interlace method {interlaced}; PNG defines 0, 0 and 0-1)"
        )
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if channels != 1:
        raise InvalidInputError(
            f"{where}: expected a single-channel mask, found {channels or '?'} channels (PNG colour type {colour})"
        )
    if (width, height) not in allowed_sizes:
        expected = " or ".join(f"{w}x{h}" for w, h in sorted(allowed_sizes))
        raise InvalidInputError(f"{where}: mask is {width}x{height}, expected the image's size {expected}")
    parts = png_parts(data, where)
    changes = any(label != value for value, label in label_values.items())  # a decoder that maps values
    # Unfiltered rows are counted and mapped as they inflate where the table keeps 0 (a filter byte), else
    # kept to map; 8-bit pixels PIL decodes are counted and mapped alike. `rows` then holds the mapped rows.
    in_stream = changes and depth == 8 and value_lookup(label_values)[0] == 0
    rows = scratch_rows(height, width) if in_stream else None
    # The inflated pixel data is kept where it is one piece (or must be mapped): filtered 8-bit rows are then
    # unfiltered from it (`unfiltered_samples`), not inflated again by PIL.
    one_piece = depth == 8 and interlaced == 0 and height * (width + 1) <= ONE_PIECE_BYTES
    pieces: Optional[list] = [] if one_piece or (changes and not in_stream) else None
    mapped = (rows.reshape(-1), label_values) if rows is not None else None
    counts = scan_pixel_data(parts, where, pieces, label_values.keys(), mapped)
    scanned = counts is not None  # unfiltered 8-bit one-channel rows: mapped into `rows`, or kept in `pieces`
    values = None  # 1, 2, 4 or 16-bit pixels PIL decoded, needed only when the PNG must be re-encoded
    filtered = counts is None and one_piece  # grey or palette filtered rows, inflated and checked whole
    if filtered:
        inflated = b"".join(pieces)
        check_filter_types(inflated, width, where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            if filtered:  # one byte a pixel, the value (or index) itself
                decoded = unfiltered_samples(inflated, width, height, "L" if colour == 0 else "P")
                rows, counts = _counted(decoded, changes, label_values)
            elif counts is None:
                with PIL.Image.open(io.BytesIO(data)) as image:
                    if depth == 8:  # interlaced, or larger than one piece; grey read in PIL's memory (no copy)
                        decoded = image_pixels(image) if image.mode == "L" else np.asarray(image)
                        rows, counts = _counted(decoded, changes, label_values)
                    else:
                        values = np.asarray(image)
    except IMAGE_ERRORS as e:
        raise InvalidInputError(f"{where}: corrupt PNG ({e})") from None
    if values is not None:
        if colour == 0 and depth in (2, 4):
            values = values // (255 // (2**depth - 1))  # Pillow scales 2/4-bit grey to 0-255
        # 16-bit samples may exceed 255: count them whole, so such a value is reported, never wrapped.
        wide = values.max(initial=0) > 255
        counts = np.bincount(values.ravel().astype(np.int64)) if wide else count_values(values.astype(np.uint8))
    bad = [int(v) for v in np.flatnonzero(counts) if v not in label_values]
    if bad:
        raise InvalidInputError(
            f"{where}: pixel values {bad[:8]} outside {{{value_names(label_values)}}} ({int(counts[bad].sum())} pixels)"
        )
    native = {int(value): int(counts[value]) for value in np.flatnonzero(counts)}
    if any(label_values[value] != value for value in native):  # a value the decoder changes is present
        labels = np.zeros(256, np.int64)
        np.add.at(labels, value_lookup(label_values)[list(native)], list(native.values()))
        if rows is not None:  # mapped as it inflated, or as PIL decoded it
            png = png_of_rows(width, height, rows)
        elif scanned:  # inflated once already; the filter bytes are left out, so the table need not keep 0
            png = mapped_png(np.frombuffer(b"".join(pieces), np.uint8).reshape(height, width + 1)[:, 1:], label_values)
        else:  # 1, 2, 4 or 16-bit samples, checked to be the table's values
            png = mapped_png(values.astype(np.uint8), label_values)
        return Mask(png, (width, height), [label for label in ID2LABEL if labels[label]], native)
    if depth == 8:
        png = minimal_grayscale_png(parts)
    else:
        buffer = io.BytesIO()
        PIL.Image.fromarray(values.astype(np.uint8), mode="L").save(buffer, format="PNG")
        png = buffer.getvalue()
    return Mask(png, (width, height), [label for label in ID2LABEL if counts[label]], native)


def native_value_counts(data: bytes, where: str) -> np.ndarray:
    """How many pixels of a label PNG hold each value 0-255 as stored (before the dataset's decoder), by one
    inflate where the PNG allows it (`scan_pixel_data`), else by PIL's decode; for `stats`."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise InvalidInputError(f"{where}: not a PNG (starts with {data[:8]!r})")
    counts = scan_pixel_data(png_parts(data, where), where)
    if counts is None:
        try:
            counts = np.bincount(mask_pixels(data).ravel(), minlength=256)
        except (OSError, SyntaxError, ValueError) as e:
            raise InvalidInputError(f"{where}: corrupt PNG ({e})") from None
    return counts


def read_label(pair: Pair, labels: Source, allowed: set[tuple[int, int]], label_values: Mapping[int, int]) -> Mask:
    """A pair's label decoded by its decoder (`Pair.label_decoder`: a value table, a threshold, a colour rule),
    or by `label_values` when the pair carries none; with the colour table beside it when the decoder reads one."""
    data, where, decoder = labels.read(pair.label_member), labels.where(pair.label_member), pair.label_decoder
    if decoder is None or isinstance(decoder, ValueTable):
        return read_mask(data, where, allowed, label_values if decoder is None else decoder.values)
    table = (labels.read(pair.label_table), labels.where(pair.label_table)) if pair.label_table else None
    return decode_label(data, where, allowed, decoder, table)


def make_example(
    pair: Pair,
    images: Source,
    labels: Optional[Source],
    words: Optional[Source] = None,
    *,
    label_values: Mapping[int, int] = IDENTITY_VALUES,
    parse_word_file: Optional[Callable[[bytes, str], dict]] = None,
) -> dict:
    """One row. The image keeps its bytes; only an EXIF Orientation that would turn it off
    its mask's pixel grid is neutralised (`datasets.Image` applies it on decode). The mask's values
    go through the dataset's decoder (the pair's `label_decoder`, else `label_values`: see `read_label`).
    Word polygons, read from the pair's word file with `parse_word_file` (ICDAR word lines when None),
    given on the raw grid, follow the image onto the grid it decodes to."""
    image_bytes = images.read(pair.image_member)
    where = images.where(pair.image_member)
    header = image_header(image_bytes, where)
    raw_size, orientation = header.size, header.orientation
    if header.frames > 1:
        logger.info(f"{where}: a GIF of {header.frames} frames; datasets.Image decodes the first")
    example = {
        "image_id": pair.image_id,
        "image": None,
        "mask": None,
        "mask_classes": [],
    }
    if pair.label_member is not None:
        allowed = {raw_size, decoded_size(raw_size, orientation)}
        mask = read_label(pair, labels, allowed, label_values)
        # The raw grid wins when both fit (orientations that do not swap the axes).
        if mask.size == raw_size and orientation != 1:
            image_bytes = neutralise_photo_orientation(image_bytes, header, where)
            orientation = 1
        example["mask"] = mask.png
        example["mask_classes"] = mask.classes
    # The bytes alone, which `datasets.Image` stores as {"path": None, "bytes": ...}, the form it walks fastest
    # (the writer casts every example's nested values one by one). No path: `datasets.Image` stores a path
    # *instead of* the bytes whenever it names a file from the working directory (`os.path.isfile`), so a
    # folder holding an `img_1.jpg` would have turned rows into references to that file. The stored bytes are
    # not the member's anyway when an orientation was neutralised or a mask converted; `image_id` names the pair.
    example["image"] = image_bytes
    if pair.words is not None:  # read with every other image's (one file for all: COCO-Text)
        example["words"] = orient_words(pair.words, raw_size, orientation, f"the words of {where}")
    elif words is not None:
        where = words.where(pair.words_member)
        data = words.read(pair.words_member)
        parsed = parse_word_file(data, where) if parse_word_file else parse_words(data, where, pair.words_script)
        example["words"] = orient_words(parsed, raw_size, orientation, where)
    return example
