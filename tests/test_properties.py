"""Property-based tests: the EXIF Orientation rewrite, the label-layout detection, names, and value tables."""

import io
import re
import struct

import numpy as np
import PIL.Image
from hypothesis import given, settings
from hypothesis import strategies as st

import ist_s
from scene_text_seg import layout, pixels

# Inline SHORT tags that may sit beside Orientation in IFD0 (value, not offset, in the entry).
OTHER_SHORT_TAGS = [0x0100, 0x0101, 0x0128, 0x0213, 0xA001]


def exif_segment(order: str, orientation: int, others: dict[int, int], kind: int) -> bytes:
    """An APP1 Exif segment whose IFD0 holds `others` and Orientation (stored as SHORT or LONG)."""
    tags = dict(others)
    tags[0x0112] = orientation
    entries = b""
    for tag in sorted(tags):
        entry_kind = kind if tag == 0x0112 else 3
        value = struct.pack(order + ("H" if entry_kind == 3 else "I"), tags[tag]).ljust(4, b"\0")
        entries += struct.pack(order + "HHI", tag, entry_kind, 1) + value
    tiff = (b"II*\0" if order == "<" else b"MM\0*") + struct.pack(order + "I", 8)
    tiff += struct.pack(order + "H", len(tags)) + entries + struct.pack(order + "I", 0)
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


@st.composite
def tagged_jpegs(draw):
    width, height = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PIL.Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=draw(st.integers(50, 95)))
    plain = buffer.getvalue()
    others = draw(st.dictionaries(st.sampled_from(OTHER_SHORT_TAGS), st.integers(0, 65535), max_size=4))
    orientation = draw(st.integers(2, 8))
    segment = exif_segment(draw(st.sampled_from("<>")), orientation, others, draw(st.sampled_from([3, 4])))
    # After SOI, or after the JFIF APP0 segment as cameras write it.
    position = draw(st.sampled_from([2, 2 + 2 + struct.unpack(">H", plain[4:6])[0]]))
    return plain[:position] + segment + plain[position:], others


@settings(max_examples=150, deadline=None)
@given(tagged_jpegs())
def test_neutralising_orientation_changes_only_the_tag(case):
    jpeg, others = case
    out = pixels.neutralise_orientation(jpeg)
    assert len(out) == len(jpeg)
    changed = [i for i, (a, b) in enumerate(zip(jpeg, out, strict=True)) if a != b]
    assert len(changed) <= 4 and changed and changed[-1] - changed[0] < 4  # inside one value field
    before, after = PIL.Image.open(io.BytesIO(jpeg)), PIL.Image.open(io.BytesIO(out))
    assert after.getexif()[0x0112] == 1
    assert {t: v for t, v in after.getexif().items() if t != 0x0112} == others
    np.testing.assert_array_equal(np.asarray(after), np.asarray(before))  # the same pixels, not re-encoded


NEUTRAL_WORDS = st.sampled_from(["IST_S", "labels", "png", "Segmentation", "maps", "v2", "ist", "data"])
SPLIT_FOLDER_WORDS = {
    "train": ["train", "training", "Train", "Training", "TRAINING"],
    "test": ["test", "testing", "Test", "TESTING", "validation", "Val"],
}


@st.composite
def label_paths(draw):
    split = draw(st.sampled_from(["train", "test"]))
    word = draw(st.sampled_from(SPLIT_FOLDER_WORDS[split]))
    templates = ["{w}", "{w}_labels", "ist_{w}", "{w}-set", "IST_S {w}", "{w}Set", "{w}labels", "{w}2015"]
    folder = draw(st.sampled_from(templates)).format(w=word)
    above = draw(st.lists(NEUTRAL_WORDS, max_size=3))
    below = draw(st.lists(NEUTRAL_WORDS, max_size=2))
    number = draw(st.integers(1, 1000))
    return "/".join([*above, folder, *below, f"img_{number}.png"]), split


@settings(max_examples=300, deadline=None)
@given(label_paths())
def test_layout_detection_finds_the_named_split(case):
    member, split = case
    assert layout.split_of(member, ist_s.SPLIT_WORDS) == split


@settings(max_examples=200, deadline=None)
@given(st.lists(NEUTRAL_WORDS, max_size=4), st.integers(1, 1000))
def test_layout_detection_never_guesses(folders, number):
    member = "/".join([*folders, f"img_{number}.png"])
    assert layout.split_of(member, ist_s.SPLIT_WORDS) is None
    both = "/".join([*folders, "train", "test", f"img_{number}.png"])
    assert layout.split_of(both, ist_s.SPLIT_WORDS) is None


NAME_PIECES = st.sampled_from(["a", "img_1", ".", "..", "/", "\\", "_", "__MACOSX", ".jpg", ".JPG", " ", "x.y"])


@settings(max_examples=500, deadline=None)
@given(st.lists(NAME_PIECES, max_size=8).map("".join))
def test_names_are_told_junk_and_cut_to_stems_as_their_plain_definitions_do(member):
    """`is_junk` and `stem` run for every member of a listing, so they take shortcuts; these are what they mean."""
    import os

    parts = member.replace("\\", "/").split("/")
    assert layout.is_junk(member) == any(part.startswith(".") or part == "__MACOSX" for part in parts)
    assert layout.stem(member) == os.path.splitext(parts[-1])[0]


@st.composite
def value_tables_and_maps(draw):
    """A decoder's value table (it keeps 0 most of the time, as the inflated rows' filter bytes need), a map
    of its values (sometimes one it does not name), and whether the target is a view of PNG rows."""
    named = draw(st.sets(st.integers(1, 255), max_size=5))
    table = {value: draw(st.sampled_from([0, 1, 255])) for value in named}
    table[0] = draw(st.sampled_from([0, 0, 0, 1, 255]))
    stranger = draw(st.one_of(st.none(), st.integers(0, 255).filter(lambda v: v not in table)))
    height, width = draw(st.integers(1, 30)), draw(st.integers(1, 30))
    pool = sorted(table) + ([stranger] if stranger is not None else [])
    seed = draw(st.integers(0, 2**32 - 1))
    values = np.random.default_rng(seed).choice(pool, (height, width)).astype(np.uint8)
    return table, values, draw(st.booleans())


@settings(max_examples=400, deadline=None)
@given(value_tables_and_maps())
def test_values_are_counted_and_mapped_as_a_lookup_table_and_a_full_count_give_them(case):
    table, values, into_rows = case
    rows = np.full((values.shape[0], values.shape[1] + 1), 7, np.uint8)
    target = rows[:, 1:] if into_rows else np.full(values.shape, 7, np.uint8)
    counts = pixels.counted_and_mapped(values, target, table)
    assert counts.tolist() == np.bincount(values.ravel(), minlength=256).tolist()
    if set(np.unique(values).tolist()) <= set(table):  # else the map is not asked for: the error comes first
        lookup = np.zeros(256, np.uint8)
        lookup[list(table)] = list(table.values())
        assert target.tolist() == lookup[values].tolist()
        assert not into_rows or rows[:, 0].tolist() == [7] * len(rows)  # the filter bytes are the caller's


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["img_", "2", "10", "\u00b2", "\u0663", "a", "B", "_", "."]), max_size=6).map("".join))
def test_natural_order_reads_runs_of_decimal_digits_as_numbers_and_nothing_else(name):
    """Superscript two is a digit to `str.isdigit` but no number to `int`: a name holding one sorts as text."""
    key = layout.natural_key(name)
    numbers = [part for part in key if isinstance(part, int)]
    assert numbers == [int(run) for run in re.findall(r"\d+", name.lower())]
    assert "".join(str(part) for part in key) == re.sub(r"\d+", lambda run: str(int(run.group())), name.lower())
