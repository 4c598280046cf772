"""Looking at a built dataset: per-split statistics and a preview grid with the masks overlaid."""

from __future__ import annotations

import collections
import concurrent.futures
import io
import math
import os
from collections.abc import Iterable, Mapping
from typing import Optional

import datasets
import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont

from .builder import config_named, plan
from .inputs import Source, locate_inputs, readable_inputs
from .labels import decode_label
from .layout import Pair
from .pixels import decoded_size, image_header, native_value_counts
from .spec import IGNORE_INDEX, ValueTable


def compute_stats(dataset: datasets.Dataset) -> dict:
    """Rows, unlabeled images, image sizes and formats (and GIFs of several frames), text and uncertain
    pixel fractions, images without text; with a `words` column also the words, words per image, the
    don't-care words (COCO-Text: the illegible ones) and their share, and the words per language or
    script (MLT's scripts, COCO-Text's languages) and per class (COCO-Text's). Photos are read from
    their headers only."""
    rows = dataset.cast_column("image", datasets.Image(decode=False)).cast_column("mask", datasets.Image(decode=False))
    sizes: dict[str, int] = {}
    formats: dict[str, int] = {}
    counts = np.zeros(256, np.int64)
    multi_frame = 0
    labelled = without_text = word_count = dont_care = 0
    languages: collections.Counter = collections.Counter()
    classes: collections.Counter = collections.Counter()
    for row in rows:
        if "words" in row:
            word_count += len(row["words"]["ignore"])
            dont_care += sum(row["words"]["ignore"])
            languages.update(language for language in row["words"].get("language") or [] if language)
            classes.update(category for category in row["words"].get("class") or [] if category)
        header = image_header(row["image"]["bytes"], row["image_id"])
        formats[header.format] = formats.get(header.format, 0) + 1
        multi_frame += header.frames > 1
        if row["mask"] is None:
            size = decoded_size(header.size, header.orientation)
        else:
            with PIL.Image.open(io.BytesIO(row["mask"]["bytes"])) as mask:  # stored masks are 8-bit L
                size, histogram = mask.size, np.asarray(mask.histogram(), np.int64)
            counts += histogram
            labelled += 1
            without_text += histogram[1] == 0
        key = f"{size[0]}x{size[1]}"
        sizes[key] = sizes.get(key, 0) + 1
    pixels = max(int(counts.sum()), 1)
    words = {}
    if "words" in dataset.features:
        words = {
            "words": word_count,
            "words_per_image": round(word_count / max(dataset.num_rows, 1), 3),
            "dont_care_words": dont_care,
            "dont_care_word_share": round(dont_care / max(word_count, 1), 6),
            "words_by_language": dict(languages.most_common()),
            "words_by_class": dict(classes.most_common()),
        }
    return {
        "rows": labelled,
        "unlabeled_images": dataset.num_rows - labelled,
        "image_sizes": dict(sorted(sizes.items(), key=lambda item: -item[1])),
        "image_formats": dict(sorted(formats.items(), key=lambda item: -item[1])),
        "gifs_with_several_frames": multi_frame,
        "text_pixel_fraction": round(int(counts[1]) / pixels, 6),
        "uncertain_pixel_fraction": round(int(counts[IGNORE_INDEX]) / pixels, 6),
        "images_without_text": int(without_text),
        **words,
    }


def decoded_label_values(builder_cls: type, data_dir: str, config: str, cache_dir: Optional[str] = None) -> dict:
    """What the dataset's label decoders mapped, per split. For a value table (`DatasetSpec.label_values`): pixels
    of each value the label files hold, as "value -> label" (e.g. TextSeg's "200 -> 0"). For a split whose labels
    have another decoder (`DatasetSpec.split_labels`): pixels of each of its rules, as "rule -> label" (e.g.
    Total-Text's "luminance 0-127 -> 0", ICDAR 2013's "unlisted colours -> 255"), every rule listed, and
    "nothing -> 255": 0 for a decoder that gives no 255. Each label file is read again from the inputs (the
    stored masks hold only the labels); nothing else is decoded.

    Args:
        builder_cls: the dataset's builder.
        data_dir: the folder holding the inputs.
        config: the config whose labels count.
        cache_dir: where an inflated `.tar.gz` is kept (the `datasets` cache when None).

    Returns:
        split -> {"100 -> 1": pixels, ...}, values (or rules) in order; {} for a dataset whose labels are stored
        as read.
    """
    spec = builder_cls.SPEC
    if not spec.split_labels and all(label == value for value, label in spec.label_values.items()):
        return {}
    chosen = config_named(builder_cls, config)
    paths = readable_inputs(locate_inputs(spec, data_dir, config), cache_dir)
    found = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for split, pairs in plan(spec, paths, chosen).items():
            labels = Source(paths[spec.label_files_of(split, chosen.labels_role).role])
            labelled = [pair for pair in pairs if pair.label_member is not None]
            decoder = labelled[0].label_decoder if labelled else None
            if decoder is None or isinstance(decoder, ValueTable):
                values = spec.label_values if decoder is None else decoder.values
                members = [pair.label_member for pair in labelled]
                counts = sum(
                    pool.map(lambda m, labels=labels: native_value_counts(labels.read(m), labels.where(m)), members),
                    np.zeros(256, np.int64),
                )
                found[split] = {f"{v} -> {values.get(v, v)}": int(counts[v]) for v in np.flatnonzero(counts)}
            else:
                found[split] = sum_rules(pool.map(lambda pair, labels=labels: rules_of(pair, labels), labelled))
    return found


def rules_of(pair: Pair, labels: Source) -> dict[str, int]:
    """Pixels each rule of the pair's label decoder mapped (its label decoded again, its size not checked)."""
    table = (labels.read(pair.label_table), labels.where(pair.label_table)) if pair.label_table else None
    data, where = labels.read(pair.label_member), labels.where(pair.label_member)
    return decode_label(data, where, None, pair.label_decoder, table).decoded


def sum_rules(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """The rules' pixels summed over label files, in the rules' order."""
    total: dict[str, int] = {}
    for rules in counts:
        for rule, pixels in rules.items():
            total[rule] = total.get(rule, 0) + pixels
    return total


TEXT_COLOUR = (0, 230, 64)
WORD_COLOUR = (0, 190, 255)  # word polygons
DONT_CARE_COLOUR = (255, 150, 0)  # don't-care (###) word polygons
UNCERTAIN_COLOUR = (255, 0, 200)


def overlay(image: PIL.Image.Image, mask: Optional[PIL.Image.Image], alpha: float = 0.55) -> PIL.Image.Image:
    """The image with text pixels tinted green and uncertain pixels magenta."""
    out = np.asarray(image.convert("RGB"), dtype=np.float32)
    if mask is not None:
        labels = np.asarray(mask)
        for value, colour in ((1, TEXT_COLOUR), (IGNORE_INDEX, UNCERTAIN_COLOUR)):
            where = labels == value
            out[where] = (1 - alpha) * out[where] + alpha * np.asarray(colour, np.float32)
    return PIL.Image.fromarray(out.round().astype(np.uint8), "RGB")


NOTE_COLOUR = (255, 215, 90)  # a caption's notes ("no text", "unlabelled", "EXIF-turned")


def tile_notes(row: Mapping) -> list[str]:
    """What a reader would otherwise misread in a row's preview tile: "unlabelled" (no mask), "no text"
    (a mask without a text pixel), "EXIF-turned" (the stored photo keeps an EXIF orientation, which
    `datasets.Image` applied on decode, so the tile shows it turned).

    Args:
        row: a dataset row with `image_id`, `image` in its stored form ({"bytes": ..., "path": ...}: cast
            the column with `datasets.Image(decode=False)`; a decoded photo no longer holds its orientation)
            and `mask` (stored, decoded or None).

    Returns:
        The notes that apply, in that order; empty for a labelled, upright photo with text.

    Raises:
        TypeError: `row` is not a mapping, or its image is not in the stored form.
        ValueError: `row` lacks `image_id`, `image` or `mask`.
    """
    if not isinstance(row, Mapping):
        raise TypeError(f"row: expected a dataset row (a mapping), got {type(row).__name__}")
    missing = [column for column in ("image_id", "image", "mask") if column not in row]
    if missing:
        raise ValueError(f"row: expected the columns image_id, image and mask, missing {', '.join(missing)}")
    image, mask = row["image"], row["mask"]
    if not isinstance(image, Mapping) or not isinstance(image.get("bytes"), bytes):
        raise TypeError(
            f"row['image']: expected the stored form {{'bytes': ..., 'path': ...}} (cast the column with "
            f"datasets.Image(decode=False)), got {type(image).__name__}"
        )
    notes = []
    if mask is None:
        notes.append("unlabelled")
    elif not _has_text(mask):
        notes.append("no text")
    if image_header(image["bytes"], row["image_id"]).orientation != 1:
        notes.append("EXIF-turned")
    return notes


def tile_caption(row: Mapping) -> str:
    """A preview tile's caption: the row's image_id, then its notes (see `tile_notes`).

    Args:
        row: as for `tile_notes`.

    Returns:
        For example "img_12", "img_3: unlabelled", "img_7: no text, EXIF-turned".

    Raises:
        TypeError, ValueError: as `tile_notes`.
    """
    notes = tile_notes(row)
    return f"{row['image_id']}: {', '.join(notes)}" if notes else str(row["image_id"])


def _has_text(mask: object) -> bool:
    if isinstance(mask, Mapping) and isinstance(mask.get("bytes"), bytes):
        with PIL.Image.open(io.BytesIO(mask["bytes"])) as image:
            return bool((np.asarray(image) == 1).any())
    if isinstance(mask, (PIL.Image.Image, np.ndarray)):
        return bool((np.asarray(mask) == 1).any())
    raise TypeError(f"row['mask']: expected None, a stored or a decoded image, got {type(mask).__name__}")


def render_preview(dataset: datasets.Dataset, n: int = 8, seed: int = 0, cell: int = 320) -> PIL.Image.Image:
    """A grid of `n` random rows (seeded), mask overlaid, each captioned with its image_id and the notes a
    reader needs (`tile_notes`: unlabelled, no text, EXIF-turned); word polygons outlined (don't-care
    words in another colour) when the rows have words.

    Args:
        dataset: a built split with the columns image_id, image and mask (every config has them).
        n: how many rows, at least 1 (fewer if the split is smaller).
        seed: which rows (a seeded choice), at least 0.
        cell: the width of a tile in pixels, at least 64.

    Returns:
        The grid, an RGB image.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a column missing, an empty split, or `n`, `seed` or `cell` out of range.
    """
    _check_preview_arguments(dataset, n, seed, cell)
    chosen = np.random.default_rng(seed).choice(dataset.num_rows, min(n, dataset.num_rows), replace=False)
    columns = min(4, len(chosen))
    box = (cell, cell * 3 // 4)  # each tile fits here, aspect kept; portrait photos stay small
    step_x, step_y = box[0] + 4, box[1] + 22
    grid = PIL.Image.new("RGB", (4 + columns * step_x, 4 + math.ceil(len(chosen) / columns) * step_y), (40, 40, 40))
    draw = PIL.ImageDraw.Draw(grid)
    # The rows as stored: the captions read the photo's EXIF orientation, which decoding applies and drops.
    stored = dataset.select(sorted(int(i) for i in chosen))
    for column in ("image", "mask"):
        stored = stored.cast_column(column, datasets.Image(decode=False))
    for number, stored_row in enumerate(stored):
        row = dataset.features.decode_example(stored_row)  # decoded as `dataset[index]` decodes it
        tile = overlay(row["image"], row["mask"])
        width = tile.width
        tile.thumbnail(box, PIL.Image.Resampling.NEAREST)  # nearest: mask edges stay crisp
        x, y = 4 + (number % columns) * step_x, 4 + (number // columns) * step_y
        left, top = x + (box[0] - tile.width) // 2, y + (box[1] - tile.height) // 2
        grid.paste(tile, (left, top))
        if row.get("words"):
            draw_words(draw, row["words"], tile.width / width, (left, top))
        _draw_caption(draw, (x + 2, y + box[1] + 3), row["image_id"], tile_notes(stored_row))
    return grid


def _draw_caption(draw: PIL.ImageDraw.ImageDraw, at: tuple[int, int], image_id: str, notes: list[str]) -> None:
    font = PIL.ImageFont.load_default(size=13)
    draw.text(at, image_id, fill="white", font=font)
    if notes:
        offset = draw.textlength(image_id + "  ", font=font)
        draw.text((at[0] + offset, at[1]), ", ".join(notes), fill=NOTE_COLOUR, font=font)


def _check_preview_arguments(dataset: object, n: object, seed: object, cell: object) -> None:
    if not isinstance(dataset, datasets.Dataset):
        raise TypeError(f"dataset: expected a datasets.Dataset (one split), got {type(dataset).__name__}")
    missing = [column for column in ("image_id", "image", "mask") if column not in dataset.column_names]
    if missing:
        raise ValueError(
            f"dataset: expected the columns image_id, image and mask, missing {', '.join(missing)} "
            f"(found {', '.join(dataset.column_names)})"
        )
    if dataset.num_rows == 0:
        raise ValueError("dataset: expected at least one row to preview, found none")
    for name, value, low in (("n", n, 1), ("seed", seed, 0), ("cell", cell, 64)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
        if value < low:
            raise ValueError(f"{name}: expected at least {low}, got {value}")


def draw_words(draw: PIL.ImageDraw.ImageDraw, words: dict, scale: float, offset: tuple[int, int]) -> None:
    """Outline each word polygon, of any number of vertices (pixel coordinates scaled to the tile, then
    moved to its place); don't-care words in their own colour."""
    for polygon, ignore in zip(words["polygon"], words["ignore"], strict=True):
        points = [
            (offset[0] + px * scale, offset[1] + py * scale) for px, py in zip(polygon[::2], polygon[1::2], strict=True)
        ]
        if points:
            draw.line([*points, points[0]], fill=DONT_CARE_COLOUR if ignore else WORD_COLOUR, width=1)
