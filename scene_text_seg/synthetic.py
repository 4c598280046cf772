"""Seeded synthetic stand-ins for the inputs, for the demo, the tests and the benchmarks; never real images.

`write_inputs`: small IST_S inputs that mirror the real layout, and what they should load to.

Images are small noisy JPEGs with a bright "word" rectangle; the mask marks the rectangle
as text (1) with an uncertain (255) band around it. Every few images carry an EXIF
Orientation tag, with the mask drawn on the raw grid or on the EXIF-oriented grid; masks
are saved as grayscale, 8-bit palette (index colours differ from the values), 1-bit and
small-palette PNGs. Some images have no mask. The labels zip has split folders and
`__MACOSX` / dot-file junk.

`write_stand_ins`: realistic IST_S stand-ins for benchmarks (1280x720 photo-like JPEGs of
100-200 KB with 8-bit palette masks, the real counts; `scale=10` writes 10x the pairs (names
img_1 … img_10000), reusing the JPEG and PNG bytes cyclically: what is measured is volume, not content).

    python -m scene_text_seg.synthetic OUT_DIR [--stand-ins [--scale 10]]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import multiprocessing
import os
import zipfile
from typing import Optional

import numpy as np
import PIL.Image

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

    jpeg: bytes  # as written into the archive
    orientation: Optional[int]
    grid: Optional[str]  # "raw" or "oriented": the grid its mask was drawn on; None if unlabeled
    mask: Optional[np.ndarray]  # the mask as it should decode (uint8, on the mask's grid)
    mask_mode: Optional[str]
    words: dict  # the ICDAR words, polygons on the raw pixel grid: {"polygon": [...], "text": [...], "ignore": [...]}


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


def _jpeg(image: PIL.Image.Image, orientation: Optional[int]) -> bytes:
    buffer = io.BytesIO()
    options = {}
    if orientation is not None:
        exif = PIL.Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    image.save(buffer, "JPEG", quality=92, **options)
    return buffer.getvalue()


def make_split(
    rng: np.random.Generator,
    count: int,
    unlabeled: set[int],
    size: tuple[int, int],
    index_offset: int = 0,
    text_free: frozenset[int] = frozenset(),
) -> dict[str, Expected]:
    """`count` images img_1 … img_N; indices in `unlabeled` get no mask, those in `text_free` a mask
    without text (all background, as IST_S has for some photos)."""
    width, height = size
    out = {}
    for number in range(1, count + 1):
        case = number + index_offset
        orientation, grid = ORIENTATION_CASES[case % len(ORIENTATION_CASES)]
        x0, y0 = int(rng.integers(1, width // 2)), int(rng.integers(1, height // 2))
        box = (x0, y0, x0 + int(rng.integers(3, width // 3)), y0 + int(rng.integers(2, height // 3)))
        jpeg = _jpeg(_photo(rng, size, box), orientation)
        words = _words(number, box, text_free=number in text_free)
        if number in unlabeled:
            out[f"img_{number}"] = Expected(jpeg, orientation, None, None, None, words)
            continue
        mode = MASK_MODES[case % len(MASK_MODES)]
        mask = _label_map(size, box, uncertain=mode not in ("1", "P2"))
        if number in text_free:
            mask = np.zeros_like(mask)
        if grid == "oriented":
            mask = np.asarray(PIL.Image.fromarray(mask, "L").transpose(ORIENTATION_TRANSPOSE[orientation]))
        out[f"img_{number}"] = Expected(jpeg, orientation, grid, mask, mode, words)
    return out


def _words(number: int, box: tuple[int, int, int, int], text_free: bool) -> dict:
    """The ICDAR words of an image, from the same box its mask marks as text (so they agree by
    construction): the box's pixel corners clockwise from top-left; transcriptions with commas on
    every third image; a small don't-care word on even ones; a text-free image's word is don't care."""
    x0, y0, x1, y1 = box
    text = "###" if text_free else (f"a,b,{number}" if number % 3 == 0 else f"WORD{number}")
    words = {"polygon": [[x0, y0, x1 - 1, y0, x1 - 1, y1 - 1, x0, y1 - 1]], "text": [text], "ignore": [text == "###"]}
    if number % 2 == 0:
        words["polygon"].append([0, 0, 2, 0, 2, 1, 0, 1])
        words["text"].append("###")
        words["ignore"].append(True)
    return words


def gt_file(words: dict, bom: bool) -> bytes:
    """An ICDAR 2015 ground-truth file: `x1,...,y4,text` lines, CRLF, UTF-8 (the training files with a BOM)."""
    lines = [
        ",".join(map(str, polygon)) + "," + text for polygon, text in zip(words["polygon"], words["text"], strict=True)
    ]
    return ("\ufeff" if bom else "").encode() + "".join(line + "\r\n" for line in lines).encode("utf-8")


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
) -> dict[str, dict[str, Expected]]:
    """Write the three inputs into `root` (as zips or extracted folders); return split -> image_id -> Expected."""
    rng = np.random.default_rng(seed)
    layout = layout or Layout()
    unlabeled = unlabeled if unlabeled is not None else {"train": {4, 9}, "test": {3}}
    text_free = text_free or {}
    expected = {
        "train": make_split(rng, n_train, unlabeled["train"], size, 0, frozenset(text_free.get("train", ()))),
        "test": make_split(rng, n_test, unlabeled["test"], size, 3, frozenset(text_free.get("test", ()))),
    }
    os.makedirs(root, exist_ok=True)
    labels = {}
    for split, image_name in (("train", "ch4_training_images"), ("test", "ch4_test_images")):
        _write(os.path.join(root, image_name), {f"{k}.jpg": v.jpeg for k, v in expected[split].items()}, form)
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


def _pair(seed: int) -> tuple[bytes, bytes]:
    """One photo-like JPEG and its palette mask."""
    rng = np.random.default_rng(seed)
    low = PIL.Image.fromarray(rng.integers(0, 256, (9, 16, 3), dtype=np.uint8))
    texture = PIL.Image.fromarray(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8))
    pixels = 0.75 * np.asarray(low.resize((WIDTH, HEIGHT), PIL.Image.Resampling.BICUBIC), np.float32)
    pixels += 0.25 * np.asarray(texture.resize((WIDTH, HEIGHT), PIL.Image.Resampling.BILINEAR), np.float32)
    pixels += rng.normal(0, 3, pixels.shape)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    for _ in range(int(rng.integers(1, 8))):
        w, h = int(rng.integers(40, 240)), int(rng.integers(16, 60))
        x, y = int(rng.integers(4, WIDTH - w - 4)), int(rng.integers(4, HEIGHT - h - 4))
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
    root: str, scale: int = 1, seed: int = 0, processes: int = 2, counts: dict = REAL_COUNTS
) -> dict[str, int]:
    """Write the three zips into `root`; returns the number of labelled pairs per split."""
    os.makedirs(root, exist_ok=True)
    total = sum(images for images, _ in counts.values())
    with multiprocessing.Pool(processes) as pool:
        pairs = pool.map(_pair, range(seed * 100_000, seed * 100_000 + total), chunksize=16)
    labelled = {}
    stored = zipfile.ZIP_STORED  # as JPEG zips usually are: deflate gains nothing on JPEG bytes
    with zipfile.ZipFile(os.path.join(root, "IST_Segmentation_labels.zip"), "w", zipfile.ZIP_DEFLATED) as labels:
        offset = 0
        for split, (count, without_label) in counts.items():
            unlabeled = set(np.random.default_rng(seed).choice(count * scale, without_label * scale, replace=False))
            with zipfile.ZipFile(os.path.join(root, ARCHIVES[split] + ".zip"), "w", stored) as images:
                for index in range(count * scale):
                    jpeg, png = pairs[offset + index % count]
                    images.writestr(f"img_{index + 1}.jpg", jpeg)
                    if index not in unlabeled:
                        labels.writestr(f"IST_Segmentation_labels/{split}/img_{index + 1}.png", png)
            labelled[split] = count * scale - len(unlabeled)
            offset += count
    return labelled


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
