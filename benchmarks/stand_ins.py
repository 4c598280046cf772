"""Seeded, realistic stand-ins for the three IST_S downloads, for benchmarks.

1280x720 photo-like JPEGs of 100-200 KB (smooth colour fields, texture, noise, bright word boxes),
8-bit palette masks holding 0/1/255 (text boxes with an uncertain band), 1000 train + 500 test
images of which 979 / 496 are labelled, as on the real data. `scale=10` writes 10x the pairs
(names img_1 … img_10000), reusing the JPEG and PNG bytes cyclically: what is measured is volume,
not content.

    python benchmarks/stand_ins.py OUT_DIR [--scale 10]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import zipfile

import numpy as np
import PIL.Image

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
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    print(write_stand_ins(args.out_dir, args.scale))
