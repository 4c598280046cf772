"""Seeded synthetic stand-ins for the inputs, for the demo, the tests and the benchmarks; never real images.

`write_inputs`: small IST_S inputs that mirror the real layout, and what they should load to.

Two looks. `look="boxes"` (the default, what the tests rely on): small noisy JPEGs with a bright
"word" rectangle; the mask marks the rectangle as text (1) with an uncertain (255) band around it.
`look="photo"` (the demos): real words drawn with Pillow's scalable font in several sizes, angles and
colours, on signs or straight on photo-like scenes; the mask is the glyph pixels (1) with an
uncertain ring (255) around them, and each word's polygon is its turned bounding quadrilateral.
Both looks: every few images carry an EXIF Orientation tag, with the mask drawn on the raw grid or
on the EXIF-oriented grid; masks are saved as grayscale, 8-bit palette (index colours differ from
the values), 1-bit and small-palette PNGs (those two without the 255 ring: they cannot hold it).
Some images have no mask. The labels zip has split folders and
`__MACOSX` / dot-file junk.

`write_stand_ins`: realistic IST_S stand-ins for benchmarks (1280x720 photo-like JPEGs of
100-200 KB with 8-bit palette masks, the real counts; `scale=10` writes 10x the pairs (names
img_1 … img_10000), reusing the JPEG and PNG bytes cyclically: what is measured is volume, not content).

    python -m scene_text_seg.synthetic OUT_DIR [--stand-ins [--scale 10]]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gzip
import hashlib
import io
import json
import multiprocessing
import os
import tarfile
import zipfile
from collections.abc import Callable
from typing import Optional

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFilter
import PIL.ImageFont

# PIL's own table for applying an EXIF orientation (what `datasets.Image` does on decode).
ORIENTATION_TRANSPOSE = {
    2: PIL.Image.Transpose.FLIP_LEFT_RIGHT,
    3: PIL.Image.Transpose.ROTATE_180,
    4: PIL.Image.Transpose.FLIP_TOP_BOTTOM,
    5: PIL.Image.Transpose.TRANSPOSE,
    6: PIL.Image.Transpose.ROTATE_270,
    7: PIL.Image.Transpose.TRANSVERSE,
    8: PIL.Image.Transpose.ROTATE_90,
}

# (orientation, grid the mask is drawn on), cycled over images.
ORIENTATION_CASES = [
    (None, "raw"),
    (None, "raw"),
    (6, "raw"),
    (None, "raw"),
    (6, "oriented"),
    (3, "raw"),
    (8, "oriented"),
]
MASK_MODES = ["L", "P", "L", "1", "P", "P2"]  # "P2": a 2-colour palette, saved 1-bit deep


@dataclasses.dataclass
class Expected:
    """What one image should load to."""

    photo: bytes  # the image as written into the archive
    orientation: Optional[int]
    grid: Optional[str]  # "raw" or "oriented": the grid its mask was drawn on; None if unlabeled
    mask: Optional[np.ndarray]  # the mask as it should decode (uint8, on the mask's grid)
    mask_mode: Optional[str]
    words: dict  # the ICDAR words, polygons on the raw pixel grid: {"polygon": [...], "text": [...], "ignore": [...]}
    extension: str = ".jpg"  # the image file's extension
    frames: int = 1


@dataclasses.dataclass
class Layout:
    """Where labels live inside the labels archive: f"{top}{folders[split]}/img_N.png"."""

    top: str = "IST_Segmentation_labels/"
    folders: dict = dataclasses.field(default_factory=lambda: {"train": "train", "test": "test"})

    def member(self, split: str, image_id: str) -> str:
        return f"{self.top}{self.folders[split]}/{image_id}.png"


def _photo(rng: np.random.Generator, size: tuple[int, int], box: tuple[int, int, int, int]) -> PIL.Image.Image:
    width, height = size
    pixels = rng.integers(10, 60, (height, width, 3), dtype=np.uint8)
    x0, y0, x1, y1 = box
    pixels[y0:y1, x0:x1] = rng.integers(215, 250, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
    return PIL.Image.fromarray(pixels, "RGB")


def _label_map(size: tuple[int, int], box: tuple[int, int, int, int], uncertain: bool) -> np.ndarray:
    width, height = size
    x0, y0, x1, y1 = box
    mask = np.zeros((height, width), np.uint8)
    if uncertain:
        mask[max(y0 - 1, 0) : y1 + 1, max(x0 - 1, 0) : x1 + 1] = 255
    mask[y0:y1, x0:x1] = 1
    return mask


def _png(mask: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    if mode == "L":
        PIL.Image.fromarray(mask, "L").save(buffer, "PNG")
    elif mode == "1":
        PIL.Image.fromarray(mask * 255, "L").convert("1", dither=PIL.Image.Dither.NONE).save(buffer, "PNG")
    else:
        image = PIL.Image.fromarray(mask, "P")
        colours = [(0, 0, 0), (220, 20, 60)] + ([(128, 128, 128)] * 253 + [(255, 255, 255)] if mode == "P" else [])
        image.putpalette([c for rgb in colours for c in rgb])
        image.save(buffer, "PNG")
    return buffer.getvalue()


# Photo formats: (PIL format, extension). "JPEG grey" is a one-channel JPEG, as COCO holds some.
EXTENSIONS = {"JPEG": ".jpg", "JPEG grey": ".jpg", "JPEG upper": ".JPG", "PNG": ".png", "GIF": ".gif", "GIF2": ".gif"}


def _encode(image: PIL.Image.Image, photo_format: str, orientation: Optional[int]) -> bytes:
    """The photo in `photo_format` ("GIF2": a GIF of two frames), with an EXIF Orientation if given."""
    buffer = io.BytesIO()
    options = {}
    if orientation is not None:
        exif = PIL.Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    if photo_format.startswith("JPEG"):
        image = image.convert("L") if photo_format == "JPEG grey" else image
        image.save(buffer, "JPEG", quality=92, **options)
    elif photo_format == "PNG":
        image.save(buffer, "PNG", **options)
    else:  # GIF: no EXIF; the second frame, when there is one, is the first turned upside down
        # The fast octree: PIL's default median cut takes about a second per 320x180 photo.
        image = image.quantize(256, method=PIL.Image.Quantize.FASTOCTREE)
        more = [image.transpose(PIL.Image.Transpose.ROTATE_180)] if photo_format == "GIF2" else []
        image.save(buffer, "GIF", save_all=bool(more), append_images=more)
    return buffer.getvalue()


def make_split(
    rng: np.random.Generator,
    count: int,
    unlabeled: set[int],
    size: tuple[int, int],
    index_offset: int = 0,
    text_free: frozenset[int] = frozenset(),
    format_of: Callable[[int], str] = lambda number: "JPEG",
    name_of: Callable[[int], str] = lambda number: f"img_{number}",
    look: str = "boxes",
) -> dict[str, Expected]:
    """`count` images named `name_of(1)` … (img_1 … img_N); indices in `unlabeled` get no mask, those in
    `text_free` a mask without text (all background, as IST_S has for some photos). `format_of` picks
    each photo's format (JPEG unless told); `look` how the photos and masks are drawn (see the module).

    Raises:
        ValueError: `look` is not one of LOOKS, or `size` is below MIN_PHOTO_SIZE for the photo look.
    """
    check_look(look, size)
    width, height = size
    out = {}
    for number in range(1, count + 1):
        case = number + index_offset
        orientation, grid = ORIENTATION_CASES[case % len(ORIENTATION_CASES)]
        photo_format = format_of(number)
        if photo_format.startswith("GIF"):
            orientation, grid = None, "raw"  # a GIF carries no EXIF
        if look == "photo":
            scene = _scene(rng, size, number, text_free=number in text_free)
            picture, words, label_map = scene.image, scene.words, scene.label_map
        else:
            x0, y0 = int(rng.integers(1, width // 2)), int(rng.integers(1, height // 2))
            box = (x0, y0, x0 + int(rng.integers(3, width // 3)), y0 + int(rng.integers(2, height // 3)))
            picture, words = _photo(rng, size, box), _words(number, box, text_free=number in text_free)
            label_map = functools.partial(_label_map, size, box)
        photo = _encode(picture, photo_format, orientation)
        kind = {"extension": EXTENSIONS[photo_format], "frames": 2 if photo_format == "GIF2" else 1}
        if number in unlabeled:
            out[name_of(number)] = Expected(photo, orientation, None, None, None, words, **kind)
            continue
        mode = MASK_MODES[case % len(MASK_MODES)]
        mask = label_map(uncertain=mode not in ("1", "P2"))  # 1-bit and 2-colour masks cannot hold 255
        if number in text_free:
            mask = np.zeros_like(mask)
        if grid == "oriented":
            mask = np.asarray(PIL.Image.fromarray(mask, "L").transpose(ORIENTATION_TRANSPOSE[orientation]))
        out[name_of(number)] = Expected(photo, orientation, grid, mask, mode, words, **kind)
    return out


def _words(number: int, box: tuple[int, int, int, int], text_free: bool) -> dict:
    """The ICDAR words of an image, from the same box its mask marks as text (so they agree by
    construction): the box's pixel corners clockwise from top-left; transcriptions with commas on
    every third image; a small don't-care word on even ones; a text-free image's word is don't care."""
    x0, y0, x1, y1 = box
    text = "###" if text_free else (f"a,b,{number}" if number % 3 == 0 else f"WORD{number}")
    words = {
        "polygon": [[x0, y0, x1 - 1, y0, x1 - 1, y1 - 1, x0, y1 - 1]],
        "text": [text],
        "ignore": [text == "###"],
        "language": [""],
        "class": [""],
    }
    if number % 2 == 0:
        for field, value in zip(words, ([0, 0, 2, 0, 2, 1, 0, 1], "###", True, "", ""), strict=True):
            words[field].append(value)
    return words


# ---- the photo look: words drawn with a real font on photo-like scenes -----------------------------------

LOOKS = ("boxes", "photo")
MIN_PHOTO_SIZE = (24, 16)  # the smallest font's shortest word fits here, unturned
SIGN_WORDS = (
    "EXIT", "OPEN", "SALE", "Hotel", "CAFE", "STOP", "Bus 12", "PARKING", "Station", "Bakery", "24h",
    "Welcome", "Taxi", "Market", "BANK", "Gate 3", "Pizza", "Metro", "Books", "NO ENTRY", "Tickets", "Park",
)  # fmt: skip
SHORTEST_WORD = "24h"
# (panel, text) colours of signs: light text on dark panels and the other way round
SIGN_COLOURS = (
    ((24, 70, 160), (245, 245, 240)),
    ((0, 110, 70), (250, 250, 250)),
    ((190, 30, 35), (255, 240, 220)),
    ((245, 205, 40), (20, 20, 25)),
    ((236, 236, 230), (30, 40, 120)),
    ((28, 28, 32), (255, 200, 60)),
)


def check_look(look: str, size: tuple[int, int]) -> None:
    """Check that the writers can draw `look` at `size`.

    Args:
        look: one of LOOKS: "boxes" (bright rectangles) or "photo" (words drawn on photo-like scenes).
        size: (width, height) of the photos; the photo look needs at least MIN_PHOTO_SIZE.

    Raises:
        ValueError: naming `look` (not one of LOOKS) or `size` (too small for the photo look).
    """
    if look not in LOOKS:
        raise ValueError(f"look: expected one of {', '.join(map(repr, LOOKS))}, found {look!r}")
    if look == "photo" and (size[0] < MIN_PHOTO_SIZE[0] or size[1] < MIN_PHOTO_SIZE[1]):
        low = "x".join(map(str, MIN_PHOTO_SIZE))
        raise ValueError(f"size: look='photo' needs at least {low} pixels, found {size[0]}x{size[1]}")


@functools.cache
def _font(size: int) -> PIL.ImageFont.FreeTypeFont:
    return PIL.ImageFont.load_default(size=size)


@dataclasses.dataclass
class _Glyphs:
    """One word drawn, turned, on its own canvas: coverage in [0, 1] and its polygon on that canvas."""

    coverage: np.ndarray  # float32 (h, w): how much of each pixel the glyphs cover
    polygon: np.ndarray  # int (4, 2): the turned bounding quadrilateral, clockwise from top-left
    panel: np.ndarray  # float (4, 2): a sign's outline around the word


def _glyphs(text: str, font_size: int, angle: float, blur: float = 0.0) -> Optional[_Glyphs]:
    """`text` drawn anti-aliased and turned by `angle` degrees (anticlockwise); None if no pixel is covered
    by half. The polygon bounds the pixels covered by at least half (the mask's text pixels) with a
    margin, in the word's own direction."""
    font = _font(font_size)
    left, top, right, bottom = font.getbbox(text)
    pad = 2 + int(blur * 2)
    canvas = PIL.Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    PIL.ImageDraw.Draw(canvas).text((pad - left, pad - top), text, fill=255, font=font)
    if blur:
        canvas = canvas.filter(PIL.ImageFilter.GaussianBlur(blur))
    turned = canvas.rotate(angle, resample=PIL.Image.Resampling.BICUBIC, expand=True)
    coverage = np.asarray(turned, np.float32) / 255
    ys, xs = np.nonzero(coverage >= 0.5)
    if not len(xs):
        return None
    theta = np.deg2rad(angle)
    along, across = np.array([np.cos(theta), -np.sin(theta)]), np.array([np.sin(theta), np.cos(theta)])
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    u, v = points @ along, points @ across

    def quadrilateral(margin: float) -> np.ndarray:
        u0, u1, v0, v1 = u.min() - margin, u.max() + margin, v.min() - margin, v.max() + margin
        return np.array([u0 * along + v0 * across for u0, v0 in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))])

    # Rounding moves a corner by at most 0.71 pixel: a margin of 1 keeps every covered pixel inside.
    margin = max(1.0, 0.1 * font_size)
    return _Glyphs(coverage, np.round(quadrilateral(margin)).astype(int), quadrilateral(margin + 0.3 * font_size))


def _muted(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` colours as photos hold them: mostly grey, brown, olive and sky tones, little saturation."""
    colours = rng.integers(30, 225, (count, 3)).astype(np.float32)
    grey = colours.mean(axis=1, keepdims=True)
    return grey + rng.uniform(0.2, 0.5, (count, 1)) * (colours - grey)


def _backdrop(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A photo-like scene, float32 (h, w, 3): a smooth muted colour field lit from above, a few
    soft-edged blocks (walls, windows, shop fronts) and a mild texture."""
    width, height = size
    # Drawn at a quarter of the size: scaling it up softens the blocks' edges as a blur would, in less time.
    small = (max(width // 4, 4), max(height // 4, 3))
    low = PIL.Image.fromarray(_muted(rng, 12).reshape(3, 4, 3).astype(np.uint8))
    field = np.asarray(low.resize(small, PIL.Image.Resampling.BICUBIC), np.float32)
    field += np.linspace(30, -30, small[1], dtype=np.float32)[:, None, None]
    scene = PIL.Image.fromarray(np.clip(field, 0, 255).astype(np.uint8))
    draw = PIL.ImageDraw.Draw(scene)
    for colour in _muted(rng, int(rng.integers(2, 6))):
        x0, y0 = int(rng.integers(-small[0] // 4, small[0])), int(rng.integers(-small[1] // 4, small[1]))
        x1 = x0 + int(rng.integers(small[0] // 8, small[0] // 2 + 2))
        y1 = y0 + int(rng.integers(small[1] // 8, small[1]))
        draw.rectangle((x0, y0, x1, y1), fill=tuple(int(c) for c in colour))
    scene = scene.resize(size, PIL.Image.Resampling.BICUBIC)
    # A grey texture (surfaces vary in brightness more than in hue), a third of the size scaled up.
    texture = PIL.Image.fromarray(rng.integers(0, 256, (height // 3 + 1, width // 3 + 1), dtype=np.uint8), "L")
    grain = np.asarray(texture.resize(size, PIL.Image.Resampling.BILINEAR), np.float32) * 0.1 - 12.8
    return np.asarray(scene, np.float32) + grain[:, :, None]


def _paint(pixels: np.ndarray, coverage: np.ndarray, colour: tuple, at: tuple[int, int]) -> None:
    """Blend `colour` into `pixels` where `coverage` says, with the canvas's top-left at `at` (clipped)."""
    height, width = pixels.shape[:2]
    x, y = at
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + coverage.shape[1], width), min(y + coverage.shape[0], height)
    if left >= right or top >= bottom:
        return
    alpha = coverage[top - y : bottom - y, left - x : right - x, None]
    region = pixels[top:bottom, left:right]
    region[...] = (1 - alpha) * region + alpha * np.asarray(colour, np.float32)


def _stamp(target: np.ndarray, glyphs: _Glyphs, at: tuple[int, int]) -> None:
    """Mark the pixels the glyphs cover by at least half, on `target` (bool, image-sized)."""
    ys, xs = np.nonzero(glyphs.coverage >= 0.5)
    target[ys + at[1], xs + at[0]] = True  # inside the image: the polygon holding them was placed inside


@dataclasses.dataclass
class _Scene:
    """A drawn photo, the pixels of its legible and its don't-care words, and its ICDAR words."""

    image: PIL.Image.Image
    text: np.ndarray  # bool (h, w): glyph pixels of legible words
    dont_care: np.ndarray  # bool (h, w): glyph pixels of don't-care (###) words
    words: dict
    ring: int  # the uncertain ring's width, in pixels

    def label_map(self, uncertain: bool) -> np.ndarray:
        """Text (1) where legible glyphs are drawn; with `uncertain`, 255 on don't-care glyphs and on a
        ring of `ring` pixels around every glyph."""
        mask = np.zeros(self.text.shape, np.uint8)
        if uncertain:
            drawn = PIL.Image.fromarray((self.text | self.dont_care).astype(np.uint8) * 255, "L")
            # On a 0/255 map a box blur is non-zero exactly where a max filter of the same square is,
            # and PIL's box blur is ten times faster than its max filter.
            mask[np.asarray(drawn.filter(PIL.ImageFilter.BoxBlur(self.ring))) > 0] = 255
        mask[self.text] = 1
        return mask


class _Layout:
    """Places words on an image of `size` so that their polygons lie inside it and their signs do not overlap."""

    def __init__(self, rng: np.random.Generator, size: tuple[int, int]):
        self.rng, self.size, self.taken = rng, size, []

    def place(self, glyphs: _Glyphs, tries: int = 12) -> Optional[tuple[int, int]]:
        """An offset putting the canvas's polygon inside the image, its sign clear of earlier ones."""
        width, height = self.size
        low, high = -glyphs.polygon.min(axis=0), np.array([width - 1, height - 1]) - glyphs.polygon.max(axis=0)
        if (low > high).any():
            return None
        for _ in range(tries):
            at = (int(self.rng.integers(low[0], high[0] + 1)), int(self.rng.integers(low[1], high[1] + 1)))
            outline = glyphs.panel + at
            box = (*outline.min(axis=0) - 2, *outline.max(axis=0) + 2)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in self.taken):
                self.taken.append(box)
                return at
        return None


def _legible_word(rng: np.random.Generator, number: int, first: bool) -> str:
    # A transcription holding a comma (a price) on every third image, as ICDAR's files have some.
    if first and number % 3 == 0:
        return f"{int(rng.integers(1, 10))},{int(rng.integers(10, 100))}"
    return SIGN_WORDS[int(rng.integers(len(SIGN_WORDS)))]


def _scene(rng: np.random.Generator, size: tuple[int, int], number: int, text_free: bool) -> _Scene:
    """A photo-like scene with one to three legible words (on signs or straight on the scene), a small
    blurred don't-care word on even images; a text-free image gets only the don't-care word."""
    width, height = size
    pixels, layout = _backdrop(rng, size), _Layout(rng, size)
    text, dont_care = np.zeros((height, width), bool), np.zeros((height, width), bool)
    words: dict = {"polygon": [], "text": [], "ignore": [], "language": [], "class": []}
    small, large = max(7, height // 14), max(8, height // 4)
    for index in range(0 if text_free else int(rng.integers(1, 4))):
        word = _legible_word(rng, number, first=index == 0)
        font_size = int(rng.integers(small, large + 1))
        angle = float(rng.uniform(-30, 30)) if rng.random() < 0.6 else 0.0
        # The first word must fit: unturned, then smaller, then the shortest word (tiny images).
        attempts = [(word, font_size, angle)]
        if index == 0:
            attempts += [(word, smaller, 0.0) for smaller in range(font_size, 5, -1)]
            attempts += [(SHORTEST_WORD, smaller, 0.0) for smaller in range(font_size, 5, -1)]
        for word, font_size, angle in attempts:
            glyphs = _glyphs(word, font_size, angle)
            at = layout.place(glyphs) if glyphs else None
            if at:
                break
        else:
            if index == 0:
                raise ValueError(f"size: {width}x{height} holds no word")  # check_look keeps this away
            continue
        on_sign = rng.random() < 0.65
        panel, colour = SIGN_COLOURS[int(rng.integers(len(SIGN_COLOURS)))]
        if on_sign:
            corner = np.floor(glyphs.panel.min(axis=0)).astype(int)
            extent = np.ceil(glyphs.panel.max(axis=0)).astype(int) - corner + 1
            outline = PIL.Image.new("L", tuple(int(e) for e in extent), 0)
            PIL.ImageDraw.Draw(outline).polygon([tuple(p) for p in glyphs.panel - corner], fill=255)
            _paint(pixels, np.asarray(outline, np.float32) / 255, panel, tuple(int(c) for c in corner + at))
        else:  # straight on the scene: light on dark, dark on light
            x0, y0 = glyphs.polygon.min(axis=0) + at
            x1, y1 = glyphs.polygon.max(axis=0) + at
            light = pixels[y0 : y1 + 1, x0 : x1 + 1].mean() < 120
            colour = tuple(int(c) for c in (rng.integers(215, 256, 3) if light else rng.integers(0, 45, 3)))
        _paint(pixels, glyphs.coverage, colour, at)
        _stamp(text, glyphs, at)
        _add_word(words, (glyphs.polygon + at).reshape(-1).tolist(), word, False)
    if text_free or number % 2 == 0:
        _dont_care_word(rng, pixels, layout, dont_care, words)
    pixels += rng.integers(-4, 5, pixels.shape, dtype=np.int8)  # sensor noise
    image = PIL.Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")
    return _Scene(image, text, dont_care, words, ring=1 if min(size) < 400 else 2)


def _dont_care_word(
    rng: np.random.Generator, pixels: np.ndarray, layout: _Layout, dont_care: np.ndarray, words: dict
) -> None:
    """A small, faint, blurred word (illegible: don't care); where none fits, a don't-care polygon in a
    corner over nothing drawn, as the boxes look has."""
    word = SIGN_WORDS[int(rng.integers(len(SIGN_WORDS)))]
    glyphs = _glyphs(word, max(6, pixels.shape[0] // 18), float(rng.uniform(-20, 20)), blur=0.8)
    at = layout.place(glyphs) if glyphs else None
    if at:
        x0, y0 = glyphs.polygon.min(axis=0) + at
        x1, y1 = glyphs.polygon.max(axis=0) + at
        under = pixels[y0 : y1 + 1, x0 : x1 + 1].mean(axis=(0, 1))
        _paint(pixels, glyphs.coverage, tuple(under + (45 if under.mean() < 128 else -45)), at)
        _stamp(dont_care, glyphs, at)
        polygon = (glyphs.polygon + at).reshape(-1).tolist()
    else:
        polygon = [0, 0, 2, 0, 2, 1, 0, 1]
    _add_word(words, polygon, "###", True)


def _add_word(words: dict, polygon: list, text: str, ignore: bool) -> None:
    """One word in the column's form (no language or class: the writers that have them set them)."""
    for field, value in zip(words, (polygon, text, ignore, "", ""), strict=True):
        words[field].append(value)


def gt_file(words: dict, bom: bool, script: bool = False, newline: str = "\r\n") -> bytes:
    """An ICDAR ground-truth file: `x1,...,y4,text` lines (ICDAR 2017 MLT: `x1,...,y4,script,text`), UTF-8,
    CRLF unless told (the ICDAR 2015 training files with a BOM)."""
    lines = [
        ",".join(map(str, polygon)) + "," + (f"{language}," if script else "") + text
        for polygon, text, language in zip(words["polygon"], words["text"], words["language"], strict=True)
    ]
    return ("\ufeff" if bom else "").encode() + "".join(line + newline for line in lines).encode("utf-8")


def _write(path: str, files: dict[str, bytes], form: str) -> None:
    if form == "zip":
        with zipfile.ZipFile(path + ".zip", "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                # A fixed timestamp keeps the archives, and their checksums, reproducible.
                archive.writestr(zipfile.ZipInfo(name, date_time=(2015, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    else:
        for name, data in files.items():
            target = os.path.join(path, *name.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(data)


def write_inputs(
    root: str,
    *,
    seed: int = 0,
    n_train: int = 12,
    n_test: int = 7,
    unlabeled: Optional[dict[str, set[int]]] = None,
    size: tuple[int, int] = (40, 24),
    layout: Optional[Layout] = None,
    form: str = "zip",
    junk: bool = True,
    text_free: Optional[dict[str, set[int]]] = None,
    words: bool = False,
    look: str = "boxes",
) -> dict[str, dict[str, Expected]]:
    """Write the three inputs into `root` (as zips or extracted folders); return split -> image_id -> Expected.

    `look` is "boxes" (bright rectangles, the tests' default) or "photo" (words drawn on photo-like
    scenes, the demo's; `size` at least MIN_PHOTO_SIZE).

    Raises:
        ValueError: `look` is not one of LOOKS, or `size` is too small for the photo look.
    """
    check_look(look, size)
    rng = np.random.default_rng(seed)
    layout = layout or Layout()
    unlabeled = unlabeled if unlabeled is not None else {"train": {4, 9}, "test": {3}}
    text_free = text_free or {}
    expected = {
        "train": make_split(
            rng, n_train, unlabeled["train"], size, 0, frozenset(text_free.get("train", ())), look=look
        ),
        "test": make_split(rng, n_test, unlabeled["test"], size, 3, frozenset(text_free.get("test", ())), look=look),
    }
    os.makedirs(root, exist_ok=True)
    labels = {}
    for split, image_name in (("train", "ch4_training_images"), ("test", "ch4_test_images")):
        _write(os.path.join(root, image_name), {k + v.extension: v.photo for k, v in expected[split].items()}, form)
        for image_id, item in expected[split].items():
            if item.mask is not None:
                labels[layout.member(split, image_id)] = _png(item.mask, item.mask_mode)
    if junk:
        labels["__MACOSX/" + layout.member("train", "._img_1")] = b"\x00\x05\x16\x07 resource fork"
        labels[layout.top + ".DS_Store"] = b"\x00\x00\x00\x01Bud1"
        labels[layout.top + "readme.txt"] = b"IST_S labels"
    _write(os.path.join(root, "IST_Segmentation_labels"), labels, form)
    if words:  # the two ICDAR word archives: files at the root, training ones with a BOM as published
        for split, name in (
            ("train", "ch4_training_localization_transcription_gt"),
            ("test", "Challenge4_Test_Task4_GT"),
        ):
            files = {f"gt_{k}.txt": gt_file(v.words, bom=split == "train") for k, v in expected[split].items()}
            _write(os.path.join(root, name), files, form)
    return expected


def _labels(expected: dict[str, dict[str, Expected]], member: Callable[[str, str], str]) -> dict[str, bytes]:
    """The label PNGs of every labelled image, at `member(split, image_id)`."""
    return {
        member(split, image_id): _png(item.mask, item.mask_mode)
        for split, items in expected.items()
        for image_id, item in items.items()
        if item.mask is not None
    }


MLT_TRAINING_ZIPS = 8  # ch8_training_images_1.zip … _8.zip, 1000 images each (the 8th 200)


def mlt_format(number: int) -> str:
    """MLT's photo formats, mixed: PNGs, GIFs (one of two frames), an upper-case extension, JPEGs."""
    if number % 5 == 0:
        return "PNG"
    if number % 7 == 0:
        return "GIF2" if number == 7 else "GIF"
    return "JPEG upper" if number % 11 == 0 else "JPEG"


def write_mlt_s_inputs(
    root: str,
    *,
    seed: int = 0,
    per_zip: int = 2,
    n_validation: int = 5,
    unlabeled: Optional[dict[str, set[int]]] = None,
    size: tuple[int, int] = (40, 24),
    form: str = "zip",
    layout: Optional[Layout] = None,
    look: str = "boxes",
    words: bool = True,
) -> dict[str, dict[str, Expected]]:
    """Stand-ins of MLT_S's ten inputs: eight training zips (img_1 … in order), the validation zip, the
    labels zip (`MLT_S_labels/training_labels/`, `.../validation_labels/`); mixed formats, EXIF tags; with
    `words`, the two word archives too (every image's words, with their scripts). `look` as for
    `write_inputs`.

    Raises:
        ValueError: `look` is not one of LOOKS, or `size` is too small for the photo look.
    """
    check_look(look, size)
    rng = np.random.default_rng(seed)
    layout = layout or Layout("MLT_S_labels/", {"train": "training_labels", "validation": "validation_labels"})
    unlabeled = unlabeled if unlabeled is not None else {"train": {3, 10}, "validation": {2}}
    expected = {
        "train": make_split(
            rng, MLT_TRAINING_ZIPS * per_zip, unlabeled["train"], size, 0, format_of=mlt_format, look=look
        ),
        "validation": make_split(rng, n_validation, unlabeled["validation"], size, 3, format_of=mlt_format, look=look),
    }
    os.makedirs(root, exist_ok=True)
    for index in range(MLT_TRAINING_ZIPS):
        names = list(expected["train"])[index * per_zip : (index + 1) * per_zip]
        files = {name + expected["train"][name].extension: expected["train"][name].photo for name in names}
        _write(os.path.join(root, f"ch8_training_images_{index + 1}"), files, form)
    files = {name + item.extension: item.photo for name, item in expected["validation"].items()}
    _write(os.path.join(root, "ch8_validation_images"), files, form)
    _write(os.path.join(root, "MLT_S_labels"), _labels(expected, layout.member), form)
    if words:
        _write_mlt_words(root, expected, form)
    return expected


# ICDAR 2017 MLT's scripts for words that are not don't-care (those are "None"), cycled over the words.
MLT_WORD_SCRIPTS = ("Latin", "Arabic", "Chinese", "Japanese", "Korean", "Bangla", "Symbols", "Mixed")
MLT_SAMPLE_TEXT = {"Arabic": "نص", "Chinese": "文字", "Japanese": "テキスト", "Korean": "글자", "Bangla": "লেখা"}


def _write_mlt_words(root: str, expected: dict[str, dict[str, Expected]], form: str) -> None:
    """MLT's two word archives (`gt_img_N.txt` at the root, `x1,...,y4,script,text`): every script, text in
    the script's letters (commas kept), the training files with a BOM and CRLF, the validation ones LF."""
    turn = 0
    for split, name in (
        ("train", "ch8_training_localization_transcription_gt_v2"),
        ("validation", "ch8_validation_localization_transcription_gt_v2"),
    ):
        files = {}
        for image_id, item in expected[split].items():
            for index, text in enumerate(item.words["text"]):
                script = "None"
                if text != "###":
                    script, turn = MLT_WORD_SCRIPTS[turn % len(MLT_WORD_SCRIPTS)], turn + 1
                    item.words["text"][index] = MLT_SAMPLE_TEXT.get(script, "") + text
                item.words["language"][index] = script
            newline = "\r\n" if split == "train" else "\n"
            files[f"gt_{image_id}.txt"] = gt_file(item.words, bom=split == "train", script=True, newline=newline)
        _write(os.path.join(root, name), files, form)


def coco_name(number: int) -> str:
    """COCO's image names: COCO_train2014_ and a 12-digit id (ids are not contiguous)."""
    return f"COCO_train2014_{number * 9:012d}"


def write_coco_ts_inputs(
    root: str,
    *,
    seed: int = 0,
    n_images: int = 30,
    labelled: Optional[set[int]] = None,
    size: tuple[int, int] = (40, 24),
    form: str = "zip",
    cocotext: bool = True,
    look: str = "boxes",
) -> dict[str, dict[str, Expected]]:
    """Stand-ins of COCO_TS's inputs: `train2014.zip` (`train2014/COCO_train2014_<id>.jpg`, most of them
    unlabelled, some grey), `COCO_TS_labels.zip` (flat `coco_ts_labels/<stem>.png`), and with
    `cocotext` the COCO-Text v2 annotations (`cocotext.v2.json`) whose sets divide the labelled images:
    every third in `val`, one labelled image in neither set; its `anns` give each image's words (see
    `_cocotext_annotations`; the returned words are what the `words` config should load), two labelled
    images have none. `look` as for `write_inputs`.

    Raises:
        ValueError: `look` is not one of LOOKS, or `size` is too small for the photo look.
    """
    check_look(look, size)
    rng = np.random.default_rng(seed)
    labelled = labelled if labelled is not None else set(range(1, n_images + 1, 2))
    images = make_split(
        rng,
        n_images,
        set(range(1, n_images + 1)) - labelled,
        size,
        format_of=lambda number: "JPEG grey" if number % 4 == 1 else "JPEG",
        name_of=coco_name,
        look=look,
    )
    expected = {"train": images}
    os.makedirs(root, exist_ok=True)
    _write(os.path.join(root, "train2014"), {f"train2014/{k}{v.extension}": v.photo for k, v in images.items()}, form)
    _write(os.path.join(root, "COCO_TS_labels"), _labels(expected, lambda _, k: f"coco_ts_labels/{k}.png"), form)
    if cocotext:
        sets = {number: "val" if number % 3 == 0 else "train" for number in range(1, n_images + 1)}
        sets.pop(min(labelled), None)  # a labelled image COCO-Text has in neither set
        entries = {
            str(number * 9): {"id": number * 9, "set": split, "width": size[0], "file_name": coco_name(number) + ".jpg"}
            for number, split in sets.items()
        }
        annotations, by_image = _cocotext_annotations(
            images, sets, no_annotations={min(labelled) + 4, min(labelled) + 6}
        )
        document = {
            "cats": {},
            "anns": annotations,
            "imgs": entries,
            "imgToAnns": by_image,
            "info": {"version": "2.0"},
        }
        _write(os.path.join(root, "cocotext.v2"), {"cocotext.v2.json": json.dumps(document).encode()}, form)
    return expected


def _cocotext_annotations(
    images: dict[str, Expected], sets: dict[int, str], no_annotations: set[int]
) -> tuple[dict[str, dict], dict[str, list[int]]]:
    """COCO-Text v2 `anns` and `imgToAnns` for the images in `sets`, from each image's words, which become
    what the `words` config should load: a `mask` polygon (a rectangle, or a pentagon with a vertex on its
    top edge) or only a `bbox` (no mask, or an empty one); don't-care words illegible with no text; every
    language and class. Of `no_annotations`, the first has an empty list, the others no entry."""
    annotations, by_image, counter = {}, {}, 0
    for number in sorted(sets):
        item = images[coco_name(number)]
        image_id = number * 9
        if number in no_annotations:
            item.words = {field: [] for field in item.words}
            if number == min(no_annotations):
                by_image[str(image_id)] = []
            continue
        words = {"polygon": [], "text": [], "ignore": [], "language": [], "class": []}
        ids = []
        given = list(zip(item.words["polygon"], item.words["text"], strict=True))
        if number % 4 == 3:  # an illegible word too (the small don't-care word of even images is on no labelled one)
            given.append(([0, 0, 3, 0, 3, 2, 0, 2], "###"))
        for polygon, text in given:
            x0, y0, x1, y1 = polygon[0], polygon[1], polygon[4], polygon[5]
            annotation = {"id": 1000 + counter * 7, "image_id": image_id, "bbox": [x0, y0, x1 - x0, y1 - y0]}
            if counter % 4 == 0:
                annotation["mask"] = [float(v) for v in polygon]
            elif counter % 4 == 1:
                annotation["mask"] = []
            elif counter % 4 == 3:
                polygon = [x0, y0, (x0 + x1) // 2, y0, x1, y0, x1, y1, x0, y1]
                annotation["mask"] = [float(v) for v in polygon]
            illegible = text == "###"
            annotation["legibility"] = "illegible" if illegible else "legible"
            annotation["language"] = "na" if illegible else ("not english" if counter % 5 == 4 else "english")
            annotation["class"] = ("machine printed", "handwritten", "others")[counter % 3]
            if not illegible:
                annotation["utf8_string"] = text
            annotations[str(annotation["id"])] = annotation
            ids.append(annotation["id"])
            for field, value in zip(
                words,
                (polygon, annotation.get("utf8_string", ""), illegible, annotation["language"], annotation["class"]),
                strict=True,
            ):
                words[field].append(value)
            counter += 1
        item.words = words
        by_image[str(image_id)] = ids
    return annotations, by_image


# ---- TextSeg: tar.gz archives, a split file, four mask values, a JSON of words per image ---------------

TEXTSEG_VALUES = {"background": 0, "text": 100, "effect": 200, "ignore": 255}  # _maskfg.png, as published


@dataclasses.dataclass
class TextSegExpected:
    """What one TextSeg stand-in image should load to."""

    split: str  # as the build names it: train, validation or test
    photo: bytes
    native: np.ndarray  # the _maskfg.png's values (0, 100, 200, 255)
    mask: np.ndarray  # what the default config loads: 100 -> 1, 200 -> 0, 255 kept
    native_v1: np.ndarray  # semantic_label_v1: word effects labelled as text
    mask_v1: np.ndarray
    words: dict  # the `words` config's words (polygons on the image grid)


def textseg_split(number: int) -> str:
    """A stand-in's split as split.json writes it: every fourth image in test, every fifth in val."""
    return "test" if number % 4 == 0 else "val" if number % 5 == 0 else "train"


def write_textseg_inputs(
    root: str,
    *,
    seed: int = 0,
    n_images: int = 16,
    size: tuple[int, int] = (64, 40),
    form: str = "tar.gz",
    v1: bool = True,
) -> dict[str, TextSegExpected]:
    """Stand-ins of TextSeg's downloads in its layout: `image.tar.gz` (`image/a00001.jpg` …),
    `semantic_label.tar.gz` (`semantic_label/<id>_maskfg.png`: 0 background, 100 text, 200 word effect
    on a ring around the glyphs of odd images, 255 on illegible words' glyphs), with `v1` the paper's
    labels `semantic_label_v1.tar.gz` (effects labelled text), `annotation.tar.gz`
    (`annotation/<id>_anno.json`: each word's `text` and flat `bbox`, its characters with a `mask_value`),
    and `split.json` (`train` / `val` / `test` lists). Photo-look scenes, seeded. `form` is "tar.gz",
    "tar" or "folder" (the extracted `image/` … folders).

    Returns:
        image id -> what it should load to.

    Raises:
        ValueError: `form` is not one of the three, or `size` is too small for a word.
    """
    if form not in ("tar.gz", "tar", "folder"):
        raise ValueError(f"Unknown value {form!r} for argument form. Valid values are tar.gz, tar, folder.")
    check_look("photo", size)
    rng = np.random.default_rng(seed)
    expected, images, labels, labels_v1, annotations = {}, {}, {}, {}, {}
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for number in range(1, n_images + 1):
        image_id = f"a{number:05d}"
        scene = _scene(rng, size, number, text_free=number % 7 == 0)
        native = np.zeros(scene.text.shape, np.uint8)
        if number % 2:  # a word effect (shadow, outline) on a ring around the glyphs
            ring = np.asarray(PIL.Image.fromarray(scene.text.astype(np.uint8) * 255).filter(PIL.ImageFilter.BoxBlur(1)))
            native[ring > 0] = TEXTSEG_VALUES["effect"]
        native[scene.dont_care] = TEXTSEG_VALUES["ignore"]
        native[scene.text] = TEXTSEG_VALUES["text"]
        native_v1 = np.where(native == TEXTSEG_VALUES["effect"], TEXTSEG_VALUES["text"], native).astype(np.uint8)
        legible = [i for i, ignore in enumerate(scene.words["ignore"]) if not ignore]
        words = {field: [scene.words[field][i] for i in legible] for field in scene.words}
        split = textseg_split(number)
        splits[split].append(image_id)
        expected[image_id] = TextSegExpected(
            split={"val": "validation"}.get(split, split),
            photo=_encode(scene.image, "JPEG", None),
            native=native,
            mask=_decode_textseg(native),
            native_v1=native_v1,
            mask_v1=_decode_textseg(native_v1),
            words=words,
        )
        mode = "P" if number % 3 == 0 else "L"  # most are grey; a palette PNG whose indices are the values
        images[f"image/{image_id}.jpg"] = expected[image_id].photo
        labels[f"semantic_label/{image_id}_maskfg.png"] = _value_png(native, mode)
        labels_v1[f"semantic_label_v1/{image_id}_maskfg.png"] = _value_png(native_v1, mode)
        annotations[f"annotation/{image_id}_anno.json"] = _textseg_anno(words)
    os.makedirs(root, exist_ok=True)
    archives = {"image": images, "semantic_label": labels, "annotation": annotations}
    if v1:
        archives["semantic_label_v1"] = labels_v1
    for name, files in archives.items():
        write_tar(os.path.join(root, name), files, form)
    with open(os.path.join(root, "split.json"), "w") as f:
        json.dump(splits, f)
    return expected


def _decode_textseg(native: np.ndarray) -> np.ndarray:
    lookup = np.zeros(256, np.uint8)
    lookup[TEXTSEG_VALUES["text"]], lookup[TEXTSEG_VALUES["ignore"]] = 1, 255
    return lookup[native]


def _value_png(values: np.ndarray, mode: str) -> bytes:
    """An 8-bit PNG holding `values` as grey levels ("L") or as palette indices ("P", colours unrelated)."""
    buffer = io.BytesIO()
    image = PIL.Image.fromarray(values, "L" if mode == "L" else "P")
    if mode == "P":
        image.putpalette([channel for index in range(256) for channel in ((index * 7) % 256, 255 - index, index)])
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _textseg_anno(words: dict) -> bytes:
    """An `_anno.json` as TextSeg's: words keyed "0000", "0001" …, each with its text, its flat `bbox`
    polygon and its characters (text and the `mask_value` of its pixels in the character mask)."""
    document = {}
    for index, (polygon, text) in enumerate(zip(words["polygon"], words["text"], strict=True)):
        characters = {f"{c:02d}": {"text": char, "mask_value": c + 1} for c, char in enumerate(text)}
        document[f"{index:04d}"] = {"text": text, "bbox": [int(v) for v in polygon], "char": characters}
    return json.dumps(document, indent=1).encode()


def write_tar(path: str, files: dict[str, bytes], form: str = "tar.gz") -> None:
    """`files` as `path`.tar.gz (reproducible: fixed times, gzip header without a name or time), as `path`.tar,
    or (form "folder") under the folder `path`'s parent, each at its name."""
    if form == "folder":
        _write(os.path.dirname(path), files, "folder")
        return
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_600_000_000, 0o644
            archive.addfile(info, io.BytesIO(data))
    if form == "tar":
        with open(path + ".tar", "wb") as f:
            f.write(buffer.getvalue())
        return
    with (
        open(path + ".tar.gz", "wb") as f,
        gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=1) as packed,
    ):
        packed.write(buffer.getvalue())


# ---- Total-Text: JPEG masks (lossy, grey or RGB), images and masks in split folders, curved polygons --------

TOTAL_TEXT_QUALITIES = (95, 75, 50, 30, 15)  # the masks' JPEG qualities, cycled: lossier and lossier edges


@dataclasses.dataclass
class BenchmarkExpected:
    """What one stand-in image of Total-Text or ICDAR 2013 should load to."""

    split: str
    photo: bytes
    mask: np.ndarray  # the stored mask (uint8 0/1/255), computed from the label file as PIL decodes it
    words: dict  # the `words` config's words
    rules: dict  # pixels each rule of the split's decoder maps: "luminance 0-127 -> 0": n, ...
    label_name: str  # the label file's name in its archive


def _curved(polygon: list, extra: int) -> list:
    """A quadrilateral as Total-Text writes a curved word: `extra` more vertices along its top and bottom edges
    (integers, clockwise from top-left), so polygons of 4, 6, 8 ... vertices."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = np.asarray(polygon, float).reshape(4, 2)
    steps = [i / (extra + 1) for i in range(1, extra + 1)]
    top = [(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t) for t in steps]
    bottom = [(x2 + (x3 - x2) * t, y2 + (y3 - y2) * t) for t in steps]
    points = [(x0, y0), *top, (x1, y1), (x2, y2), *bottom, (x3, y3)]
    return [round(v) for point in points for v in point]


def _total_text_record(polygon: list, text: str, ignore: bool, wrap: bool) -> str:
    """One word of a `poly_gt_img<N>.txt`, as MATLAB exported them (`wrap`: the x list broken onto a new line)."""
    xs, ys = " ".join(map(str, polygon[::2])), " ".join(map(str, polygon[1::2]))
    if wrap:
        cut = xs.find(" ", len(xs) // 2)
        xs = xs[:cut] + "\n" + xs[cut + 1 :] if cut > 0 else xs
    orientation = "#" if ignore else "cmh"[len(polygon) % 3]
    transcription = "#" if ignore else text
    return f"x: [[{xs}]], y: [[{ys}]], ornt: [u'{orientation}'], transcriptions: [u{transcription!r}]\n"


def _thresholded(data: bytes) -> np.ndarray:
    """A mask JPEG as PIL decodes it, converted to luminance and thresholded at 127 (Total-Text's rule)."""
    with PIL.Image.open(io.BytesIO(data)) as image:
        return (np.asarray(image.convert("L")) > 127).astype(np.uint8)


def write_total_text_inputs(
    root: str,
    *,
    seed: int = 0,
    n_train: int = 8,
    n_test: int = 4,
    size: tuple[int, int] = (96, 64),
    form: str = "zip",
) -> dict[str, BenchmarkExpected]:
    """Stand-ins of Total-Text's downloads: `totaltext.zip` (`totaltext/Images/Train/img<N>.jpg`, `.../Test/`),
    `groundtruth_pixel.zip` (`groundtruth_pixel/Train/img<N>.jpg`: the text drawn white on black as lossy JPEGs at
    the qualities TOTAL_TEXT_QUALITIES, grey or RGB; one of them named `.JPG` beside its image's `.jpg`, as the
    real `img61.JPG`, and one image named `.JPG`) and `txt_format.zip` (`txt_format/Train/poly_gt_img<N>.txt`:
    curved polygons of 4 to 8 vertices, a `#` don't-care word on even images, a record wrapped onto two lines
    on every third). Train and test images have distinct numbers, as Total-Text's. `form` is "zip" or "folder".

    Returns:
        image id -> what it should load to (the mask thresholded from the JPEG as PIL decodes it).
    """
    if form not in ("zip", "folder"):
        raise ValueError(f"Unknown value {form!r} for argument form. Valid values are zip, folder.")
    check_look("photo", size)
    rng = np.random.default_rng(seed)
    expected: dict[str, BenchmarkExpected] = {}
    images, masks, polygons = {}, {}, {}
    for number in range(1, n_train + n_test + 1):
        split, folder = ("train", "Train") if number <= n_train else ("test", "Test")
        image_id = f"img{number * 7}"  # sparse numbers, as Total-Text's
        scene = _scene(rng, size, number, text_free=number % 6 == 0)
        quality = TOTAL_TEXT_QUALITIES[number % len(TOTAL_TEXT_QUALITIES)]
        drawn = PIL.Image.fromarray(scene.text.astype(np.uint8) * 255, "L")
        if number % 3 == 0:  # an RGB mask, the text in a light colour
            drawn = PIL.Image.merge("RGB", (drawn, drawn.point(lambda v: v * 230 // 255), drawn))
        buffer = io.BytesIO()
        drawn.save(buffer, "JPEG", quality=quality)
        mask_bytes = buffer.getvalue()
        mask = _thresholded(mask_bytes)
        text_pixels = int(mask.sum())
        words: dict = {"polygon": [], "text": [], "ignore": [], "language": [], "class": []}
        lines = []
        for index, (polygon, text, ignore) in enumerate(
            zip(scene.words["polygon"], scene.words["text"], scene.words["ignore"], strict=True)
        ):
            curved = _curved(polygon, (number + index) % 3)
            lines.append(_total_text_record(curved, text, ignore, wrap=number % 3 == 0 and index == 0))
            _add_word(words, [float(v) for v in curved], "#" if ignore else text, ignore)
        image_extension = ".JPG" if number == 2 else ".jpg"
        mask_extension = ".JPG" if number == 3 else ".jpg"
        images[f"totaltext/Images/{folder}/{image_id}{image_extension}"] = _encode(scene.image, "JPEG", None)
        masks[f"groundtruth_pixel/{folder}/{image_id}{mask_extension}"] = mask_bytes
        polygons[f"txt_format/{folder}/poly_gt_{image_id}.txt"] = "".join(lines).encode()
        expected[image_id] = BenchmarkExpected(
            split=split,
            photo=images[f"totaltext/Images/{folder}/{image_id}{image_extension}"],
            mask=mask,
            words=words,
            rules={"luminance 0-127 -> 0": mask.size - text_pixels, "luminance 128-255 -> 1": text_pixels},
            label_name=f"{image_id}{mask_extension}",
        )
    masks["__MACOSX/groundtruth_pixel/Train/._img7.jpg"] = b"\x00\x05\x16\x07 resource fork"
    os.makedirs(root, exist_ok=True)
    for name, files in (("totaltext", images), ("groundtruth_pixel", masks), ("txt_format", polygons)):
        _write(os.path.join(root, name) if form == "zip" else root, files, form)
    return expected


# ---- ICDAR 2013 Focused Scene Text: per-character colours on white (BMP) with a table, test PNGs, Task 1 boxes ---

ICDAR13_UNLISTED = (3, 2, 1)  # a colour no table lists, painted on a few text pixels of odd training images
ICDAR13_NEAR_WHITE = (255, 255, 254)  # not white: text, on the test masks


def _character_regions(scene: _Scene, size: tuple[int, int]) -> list[tuple[bool, list[np.ndarray]]]:
    """For each word (don't care or not), its glyph pixels cut into one region a character, along its x range."""
    width, height = size
    regions = []
    for polygon, text, ignore in zip(scene.words["polygon"], scene.words["text"], scene.words["ignore"], strict=True):
        outline = PIL.Image.new("L", size, 0)
        PIL.ImageDraw.Draw(outline).polygon([tuple(p) for p in np.asarray(polygon).reshape(-1, 2)], fill=1)
        inside = (np.asarray(outline) > 0) & (scene.dont_care if ignore else scene.text)
        ys, xs = np.nonzero(inside)
        if not len(xs):
            continue
        count = max(1, min(len(text.replace(" ", "")), xs.max() - xs.min() + 1))
        cuts = ((xs - xs.min()) * count // (xs.max() - xs.min() + 1)).astype(int)
        characters = []
        for c in range(count):
            region = np.zeros((height, width), bool)
            region[ys[cuts == c], xs[cuts == c]] = True
            if region.any():
                characters.append(region)
        regions.append((bool(ignore), characters))
    return regions


def _box(polygon: list) -> tuple[int, int, int, int]:
    points = np.asarray(polygon).reshape(-1, 2)
    return (int(points[:, 0].min()), int(points[:, 1].min()), int(points[:, 0].max()), int(points[:, 1].max()))


def write_icdar13_inputs(
    root: str,
    *,
    seed: int = 0,
    n_train: int = 6,
    n_test: int = 4,
    size: tuple[int, int] = (96, 64),
    form: str = "zip",
) -> dict[str, BenchmarkExpected]:
    """Stand-ins of ICDAR 2013 Focused Scene Text's downloads: `Challenge2_Training_Task12_Images.zip` (`100.jpg`
    ...), `Challenge2_Test_Task12_Images.zip` (`img_1.jpg` ...), `Challenge2_Training_Task2_GT.zip` (`<id>_GT.bmp`:
    each character in a colour of its own on white, 24-bit or 8-bit palette BMPs; `<id>_GT.txt`: a line a
    character, `R G B cx cy x1 y1 x2 y2 "c"`, don't-care characters behind `#`, a blank line after each word; odd
    images have a few pixels of a colour no table lists), `Challenge2_Test_Task2_GT.zip` (`gt_img_<N>.png`: text
    in colour on white, RGB, palette or grey, some pixels (255, 255, 254)), and the Task 1 word boxes
    `Challenge2_Training_Task1_GT.zip` (`gt_100.txt`, spaces) and `Challenge2_Test_Task1_GT.zip` (`gt_img_1.txt`,
    commas). `form` is "zip" or "folder".

    Returns:
        image id -> what it should load to.
    """
    if form not in ("zip", "folder"):
        raise ValueError(f"Unknown value {form!r} for argument form. Valid values are zip, folder.")
    check_look("photo", size)
    rng = np.random.default_rng(seed)
    expected: dict[str, BenchmarkExpected] = {}
    archives: dict[str, dict[str, bytes]] = {
        name: {}
        for name in (
            "Challenge2_Training_Task12_Images",
            "Challenge2_Test_Task12_Images",
            "Challenge2_Training_Task2_GT",
            "Challenge2_Test_Task2_GT",
            "Challenge2_Training_Task1_GT",
            "Challenge2_Test_Task1_GT",
        )
    }
    for number in range(1, n_train + n_test + 1):
        train = number <= n_train
        image_id = str(99 + number) if train else f"img_{number - n_train}"
        scene = _scene(rng, size, number, text_free=number % 5 == 0)
        photo = _encode(scene.image, "JPEG", None)
        legible = [i for i, ignore in enumerate(scene.words["ignore"]) if not ignore]
        words = {"polygon": [], "text": [], "ignore": [], "language": [], "class": []}
        word_lines = []
        for i in legible:
            left, top, right, bottom = _box(scene.words["polygon"][i])
            text = scene.words["text"][i]
            _add_word(words, [float(v) for v in (left, top, right, top, right, bottom, left, bottom)], text, False)
            separator = " " if train else ", "
            word_lines.append(separator.join(map(str, (left, top, right, bottom))) + f'{separator}"{text}"\r\n')
        if train:
            pixels, rules, table, mask = _icdar13_training_label(rng, scene, size, number)
            archives["Challenge2_Training_Task12_Images"][f"{image_id}.jpg"] = photo
            archives["Challenge2_Training_Task2_GT"][f"{image_id}_GT.bmp"] = pixels
            archives["Challenge2_Training_Task2_GT"][f"{image_id}_GT.txt"] = table
            archives["Challenge2_Training_Task1_GT"][f"gt_{image_id}.txt"] = "".join(word_lines).encode()
            label_name = f"{image_id}_GT.bmp"
        else:
            pixels, rules = _icdar13_test_label(rng, scene, number)
            mask = _non_white(pixels)
            archives["Challenge2_Test_Task12_Images"][f"{image_id}.jpg"] = photo
            archives["Challenge2_Test_Task2_GT"][f"gt_{image_id}.png"] = pixels
            archives["Challenge2_Test_Task1_GT"][f"gt_{image_id}.txt"] = "".join(word_lines).encode()
            label_name = f"gt_{image_id}.png"
        expected[image_id] = BenchmarkExpected(
            split="train" if train else "test",
            photo=photo,
            mask=mask,
            words=words,
            rules=rules,
            label_name=label_name,
        )
    os.makedirs(root, exist_ok=True)
    for name, files in archives.items():
        _write(os.path.join(root, name), files, form)
    return expected


def _icdar13_training_label(
    rng: np.random.Generator, scene: _Scene, size: tuple[int, int], number: int
) -> tuple[bytes, dict, bytes, np.ndarray]:
    """A training `<id>_GT.bmp` and its `<id>_GT.txt`, the rules' counts and the mask they decode to."""
    width, height = size
    colours = np.full((height, width, 3), 255, np.uint8)
    mask = np.zeros((height, width), np.uint8)
    lines = []
    used = set()
    regions = _character_regions(scene, size)
    for word, (ignore, characters) in enumerate(regions):
        for index, region in enumerate(characters):
            # Even images: the last character of the last word marked don't care too (a # inside a word).
            ignore = ignore or (number % 2 == 0 and word == len(regions) - 1 and index == len(characters) - 1)
            while True:  # a colour of its own: never white, never the unlisted one, never one already used
                colour = tuple(int(c) for c in rng.integers(0, 250, 3))
                if colour not in used and colour != ICDAR13_UNLISTED:
                    used.add(colour)
                    break
            colours[region] = colour
            mask[region] = 255 if ignore else 1
            ys, xs = np.nonzero(region)
            box = (xs.min(), ys.min(), xs.max(), ys.max())
            centre = ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
            character = '"' if len(lines) == 1 else "a"  # one quote character, written """
            fields = " ".join(map(str, (*colour, *centre, *box)))
            lines.append(("#" if ignore else "") + f'{fields} "{character}"\r\n')
        lines.append("\r\n")  # a blank line after each word
    dont_care = int((mask == 255).sum())
    unlisted = 0
    if number % 2 and (mask == 1).any():  # a few text pixels of a colour the table does not list
        ys, xs = np.nonzero(mask == 1)
        colours[ys[:3], xs[:3]] = ICDAR13_UNLISTED
        mask[ys[:3], xs[:3]] = 255
        unlisted = len(ys[:3])
    rules = {
        "white -> 0": int((mask == 0).sum()),
        "listed colours -> 1": int((mask == 1).sum()),
        "don't-care colours -> 255": dont_care,
        "unlisted colours -> 255": unlisted,
    }
    image = PIL.Image.fromarray(colours, "RGB")
    if number % 3 == 0:  # an 8-bit palette BMP, when its colours fit a palette exactly
        palette = image.quantize(256, method=PIL.Image.Quantize.FASTOCTREE, dither=PIL.Image.Dither.NONE)
        if np.array_equal(np.asarray(palette.convert("RGB")), colours):
            image = palette
    buffer = io.BytesIO()
    image.save(buffer, "BMP")
    return buffer.getvalue(), rules, "".join(lines).encode("latin-1"), mask


def _icdar13_test_label(rng: np.random.Generator, scene: _Scene, number: int) -> tuple[bytes, dict]:
    """A test `gt_img_<N>.png`: every glyph (don't-care ones too) in a colour on white, and the rules' counts."""
    drawn = scene.text | scene.dont_care
    colours = np.full((*drawn.shape, 3), 255, np.uint8)
    colours[drawn] = [int(c) for c in rng.integers(0, 200, 3)]
    if drawn.any():
        ys, xs = np.nonzero(drawn)
        colours[ys[0], xs[0]] = ICDAR13_NEAR_WHITE
    image = PIL.Image.fromarray(colours, "RGB")
    mode = ("RGB", "P", "L")[number % 3]
    if mode == "P":  # palette indices 0 white, 1 the text's colour
        image = PIL.Image.fromarray(drawn.astype(np.uint8), "P")
        image.putpalette([255, 255, 255, *colours[drawn][0]] if drawn.any() else [255, 255, 255])
    elif mode == "L":
        image = PIL.Image.fromarray(np.where(drawn, 40, 255).astype(np.uint8), "L")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    mask = _non_white(buffer.getvalue())
    text = int(mask.sum())
    return buffer.getvalue(), {"white -> 0": mask.size - text, "other colours -> 1": text}


def _non_white(data: bytes) -> np.ndarray:
    """1 where a colour-on-white PNG, as PIL decodes it, is not pure white."""
    with PIL.Image.open(io.BytesIO(data)) as image:
        return (np.asarray(image.convert("RGB")) != 255).any(axis=2).astype(np.uint8)


def checksums(root: str) -> dict[str, str]:
    """md5 of each zip in `root`, as the builder's table writes them."""
    out = {}
    for name in sorted(os.listdir(root)):
        if name.endswith(".zip"):
            with open(os.path.join(root, name), "rb") as f:
                out[name] = "md5:" + hashlib.md5(f.read(), usedforsecurity=False).hexdigest()
    return out


# ---- realistic stand-ins, for benchmarks ---------------------------------------------------------------

WIDTH, HEIGHT = 1280, 720
ARCHIVES = {"train": "ch4_training_images", "test": "ch4_test_images"}
REAL_COUNTS = {"train": (1000, 21), "test": (500, 4)}  # (images, of which unlabeled), as on the real data
PALETTE = [0, 0, 0, 220, 20, 60] + [128, 128, 128] * 253 + [255, 255, 255]


def _pair(seed: int, size: tuple[int, int] = (WIDTH, HEIGHT)) -> tuple[bytes, bytes]:
    """One photo-like JPEG of `size` and its palette mask."""
    rng = np.random.default_rng(seed)
    width, height = size
    low = PIL.Image.fromarray(rng.integers(0, 256, (9, 16, 3), dtype=np.uint8))
    texture = PIL.Image.fromarray(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8))
    pixels = 0.75 * np.asarray(low.resize((width, height), PIL.Image.Resampling.BICUBIC), np.float32)
    pixels += 0.25 * np.asarray(texture.resize((width, height), PIL.Image.Resampling.BILINEAR), np.float32)
    pixels += rng.normal(0, 3, pixels.shape)
    mask = np.zeros((height, width), np.uint8)
    for _ in range(int(rng.integers(1, 8))):
        w, h = int(rng.integers(40, width // 5)), int(rng.integers(16, 60))
        x, y = int(rng.integers(4, width - w - 4)), int(rng.integers(4, height - h - 4))
        mask[y - 3 : y + h + 3, x - 3 : x + w + 3] = 255
        strokes = (np.arange(w) // max(2, h // 5)) % 2 == 0  # letter-like vertical strokes
        mask[y : y + h, x : x + w] = np.where(strokes, 1, 0)
        pixels[y : y + h, x : x + w][:, strokes] = 235
    jpeg, png = io.BytesIO(), io.BytesIO()
    PIL.Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(jpeg, "JPEG", quality=85)
    indexed = PIL.Image.fromarray(mask, "P")
    indexed.putpalette(PALETTE)
    indexed.save(png, "PNG")
    return jpeg.getvalue(), png.getvalue()


def write_stand_ins(
    root: str,
    scale: int = 1,
    seed: int = 0,
    processes: int = 2,
    counts: dict = REAL_COUNTS,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, int]:
    """Write IST_S's three zips into `root`; returns the number of labelled pairs per split."""
    os.makedirs(root, exist_ok=True)
    progress(f"encoding {sum(images for images, _ in counts.values())} photo-like 1280x720 pairs")
    total = sum(images for images, _ in counts.values())
    with multiprocessing.Pool(processes) as pool:
        pairs = pool.map(_pair, range(seed * 100_000, seed * 100_000 + total), chunksize=16)
    labelled = {}
    stored = zipfile.ZIP_STORED  # as JPEG zips usually are: deflate gains nothing on JPEG bytes
    with zipfile.ZipFile(os.path.join(root, "IST_Segmentation_labels.zip"), "w", zipfile.ZIP_DEFLATED) as labels:
        offset = 0
        for split, (count, without_label) in counts.items():
            unlabeled = set(np.random.default_rng(seed).choice(count * scale, without_label * scale, replace=False))
            progress(f"writing {ARCHIVES[split]}.zip ({count * scale} images)")
            with zipfile.ZipFile(os.path.join(root, ARCHIVES[split] + ".zip"), "w", stored) as images:
                for index in range(count * scale):
                    jpeg, png = pairs[offset + index % count]
                    images.writestr(f"img_{index + 1}.jpg", jpeg)
                    if index not in unlabeled:
                        labels.writestr(f"IST_Segmentation_labels/{split}/img_{index + 1}.png", png)
            labelled[split] = count * scale - len(unlabeled)
            offset += count
    return labelled


COCO_MEMBERS, COCO_LABELLED = 82_783, 14_690  # train2014.zip's images, and those COCO_TS labels


def write_coco_stand_ins(
    root: str,
    labelled: int = COCO_LABELLED,
    members: int = COCO_MEMBERS,
    unique: int = 64,
    processes: int = 2,
    progress: Callable[[str], None] = lambda message: None,
) -> int:
    """COCO_TS's two zips at COCO's scale: `members` images in `train2014.zip`, `labelled` of them
    COCO-sized (640x480 photo-like JPEGs of tens of KB, `unique` distinct ones reused cyclically: volume
    is what is measured) with 640x480 palette masks, the rest tiny (a build only lists them)."""
    os.makedirs(root, exist_ok=True)
    progress(f"encoding {unique} photo-like 640x480 pairs")
    with multiprocessing.Pool(processes) as pool:
        pairs = pool.starmap(_pair, [(seed, (640, 480)) for seed in range(unique)])
    tiny = io.BytesIO()
    PIL.Image.new("RGB", (8, 8), (90, 90, 90)).save(tiny, "JPEG")
    step = members / labelled  # labelled images spread evenly through the archive, as in COCO
    chosen = {round(index * step) for index in range(labelled)}
    progress(f"writing train2014.zip ({members:,} images, {labelled:,} labelled) and COCO_TS_labels.zip")
    with (
        zipfile.ZipFile(os.path.join(root, "train2014.zip"), "w", zipfile.ZIP_STORED) as images,
        zipfile.ZipFile(os.path.join(root, "COCO_TS_labels.zip"), "w", zipfile.ZIP_DEFLATED) as labels,
    ):
        for index in range(members):
            name = coco_name(index + 1)
            if index in chosen:
                jpeg, png = pairs[index % unique]
                images.writestr(f"train2014/{name}.jpg", jpeg)
                labels.writestr(f"coco_ts_labels/{name}.png", png)
            else:
                images.writestr(f"train2014/{name}.jpg", tiny.getvalue())
            if index and index % 20_000 == 0:
                progress(f"  {index:,} of {members:,} members written")
    return len(chosen)


TEXTSEG_IMAGES = 4_024


def _textseg_pair(seed: int, size: tuple[int, int]) -> tuple[bytes, bytes]:
    """A photo-like JPEG and its `_maskfg.png`: the stand-in pair's text as 100, its uncertain ring as 200
    (word effect), a corner block as 255; even seeds as a palette PNG (unfiltered rows), odd ones grey
    (PIL filters them)."""
    jpeg, png = _pair(seed, size)
    with PIL.Image.open(io.BytesIO(png)) as mask:
        values = np.asarray(mask)
    native = np.choose(np.searchsorted([0, 1, 255], values), [0, 100, 200]).astype(np.uint8)
    native[:8, :24] = 255
    return jpeg, _value_png(native, "P" if seed % 2 == 0 else "L")


def write_textseg_stand_ins(
    root: str,
    count: int = TEXTSEG_IMAGES,
    unique: int = 48,
    size: tuple[int, int] = (1024, 768),
    processes: int = 2,
    progress: Callable[[str], None] = lambda message: None,
) -> int:
    """TextSeg's downloads at TextSeg's count: `image.tar.gz`, `semantic_label.tar.gz` (masks with 0, 100,
    200 and 255) and `split.json`, `unique` distinct pairs of `size` reused cyclically (volume is what is
    measured). Returns the number of pairs."""
    os.makedirs(root, exist_ok=True)
    progress(f"encoding {unique} photo-like {size[0]}x{size[1]} pairs")
    with multiprocessing.Pool(processes) as pool:
        pairs = pool.starmap(_textseg_pair, [(seed, size) for seed in range(unique)])
    ids = [f"a{index + 1:05d}" for index in range(count)]
    progress(f"writing image.tar.gz and semantic_label.tar.gz ({count:,} pairs)")
    write_tar(os.path.join(root, "image"), {f"image/{i}.jpg": pairs[n % unique][0] for n, i in enumerate(ids)})
    write_tar(
        os.path.join(root, "semantic_label"),
        {f"semantic_label/{i}_maskfg.png": pairs[n % unique][1] for n, i in enumerate(ids)},
    )
    splits = {"train": [], "val": [], "test": []}
    for number, image_id in enumerate(ids, start=1):
        splits[textseg_split(number)].append(image_id)
    with open(os.path.join(root, "split.json"), "w") as f:
        json.dump(splits, f)
    return count


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--stand-ins", action="store_true", help="realistic 1280x720 stand-ins at the real counts")
    parser.add_argument("--scale", type=int, default=1, help="with --stand-ins: this many times the pairs")
    args = parser.parse_args()
    if args.stand_ins:
        print(write_stand_ins(args.out_dir, args.scale))
    else:
        write_inputs(args.out_dir)
        for name, digest in checksums(args.out_dir).items():
            print(f"{name}\t{os.path.getsize(os.path.join(args.out_dir, name))}\t{digest}")
