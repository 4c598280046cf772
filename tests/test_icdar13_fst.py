"""ICDAR 2013 Focused Scene Text on the engine: per-character colour BMPs decoded by their tables, test PNGs by
white or not, two label inputs named unlike their images, Task 1 words, on stand-ins and hand-written files."""

import io
import json
import os
import zipfile

import numpy as np
import PIL.Image
import pytest

import icdar13_fst
from scene_text_seg import labels, spec, synthetic, words
from scene_text_seg.errors import ChecksumMismatchError, InvalidInputError
from scene_text_seg.spec import CharacterColours, ColourTable, NonWhite
from tests.conftest import copy_of, raw, rewrite_zip

TRAIN_GT = "Challenge2_Training_Task2_GT.zip"


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("icdar13"))
    return folder, synthetic.write_icdar13_inputs(folder, seed=11, n_train=8, n_test=5)


def load(data_dir, cache_dir, config="default", **kwargs):
    return icdar13_fst.load(data_dir, config=config, cache_dir=cache_dir, verification_mode="no_checks", **kwargs)


def decoded(png_bytes):
    return np.asarray(PIL.Image.open(io.BytesIO(png_bytes)))


def members(folder, archive):
    with zipfile.ZipFile(os.path.join(folder, archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def test_the_stand_ins_hold_what_the_real_ground_truth_does(stand_ins):
    folder, _ = stand_ins
    gt = members(folder, TRAIN_GT)
    tables = [data.decode("latin-1") for name, data in gt.items() if name.endswith("_GT.txt")]
    assert any(line.startswith("#") for table in tables for line in table.splitlines())  # don't-care characters
    assert all("\r\n\r\n" in table for table in tables if table.strip())  # blank lines between words
    assert any('"""' in table for table in tables)  # the quote character
    modes = {PIL.Image.open(io.BytesIO(data)).mode for name, data in gt.items() if name.endswith(".bmp")}
    assert modes == {"RGB", "P"}
    bmps = {
        name: np.asarray(PIL.Image.open(io.BytesIO(data)).convert("RGB"))
        for name, data in gt.items()
        if name.endswith(".bmp")
    }
    assert any((bmp == synthetic.ICDAR13_UNLISTED).all(axis=2).any() for bmp in bmps.values())  # an unlisted colour
    for name, bmp in bmps.items():  # one colour a character: as many colours as listed characters, and white
        lines = [line for line in gt[name.replace(".bmp", ".txt")].decode("latin-1").splitlines() if line.strip()]
        colours = {tuple(c) for c in bmp.reshape(-1, 3)} - {(255, 255, 255), synthetic.ICDAR13_UNLISTED}
        assert len(colours) == len(lines)
    test_modes = {
        PIL.Image.open(io.BytesIO(data)).mode for data in members(folder, "Challenge2_Test_Task2_GT.zip").values()
    }
    assert test_modes == {"RGB", "P", "L"}


def test_default_decodes_the_colour_tables_and_the_test_pngs(stand_ins, tmp_path):
    folder, expected = stand_ins
    dataset = load(folder, str(tmp_path))
    assert {split: rows.num_rows for split, rows in dataset.items()} == {"train": 8, "test": 5}
    values = set()
    for split, rows in dataset.items():
        for row in raw(rows):
            item = expected[row["image_id"]]
            assert item.split == split and row["image"]["bytes"] == item.photo
            np.testing.assert_array_equal(decoded(row["mask"]["bytes"]), item.mask)
            assert row["mask_classes"] == [label for label in (0, 1) if (item.mask == label).any()]
            values |= set(np.unique(item.mask)) if split == "train" else set()
    assert values == {0, 1, 255}
    assert [row["image_id"] for row in raw(dataset["train"])][:3] == ["100", "101", "102"]


def colour_bmp(pixels):
    buffer = io.BytesIO()
    PIL.Image.fromarray(np.asarray(pixels, np.uint8), "RGB").save(buffer, "BMP")
    return buffer.getvalue()


TABLE = (
    b'10 20 30 1 1 0 0 2 2 "a"\r\n40 50 60 1 1 0 0 2 2 """\r\n\r\n'  # a word, a quote character, a blank line
    b'#70 80 90 1 1 0 0 2 2 "b"\r\n# 1 2 3 1 1 0 0 2 2 "c"\r\n'  # don't care, with and without a space after #
    b'10 10 10 1 1 0 0 2 2 ""\r\n#10 10 10 1 1 0 0 2 2 "d"\r\n'  # one colour listed both ways
)


def test_the_colour_rule_maps_white_listed_dont_care_and_unlisted_colours():
    colours = [
        [(255, 255, 255), (10, 20, 30), (40, 50, 60), (70, 80, 90), (1, 2, 3), (10, 10, 10), (9, 9, 9), (254, 255, 255)]
    ]
    decoder = CharacterColours(".txt", labels.read_character_colours)
    mask = labels.decode_label(colour_bmp(colours), "100_GT.bmp", {(8, 1)}, decoder, (TABLE, "100_GT.txt"))
    # white 0; listed 1; don't care (with or without a space after #) 255; listed both ways: don't care; others 255
    assert decoded(mask.png).tolist() == [[0, 1, 1, 255, 255, 255, 255, 255]]
    assert mask.decoded == {
        "white -> 0": 1,
        "listed colours -> 1": 2,
        "don't-care colours -> 255": 3,
        "unlisted colours -> 255": 2,
    }
    assert mask.classes == [0, 1]


def test_the_colour_table_parser_reads_a_hand_written_table():
    table = labels.read_character_colours(TABLE, "100_GT.txt")
    assert table == ColourTable(
        frozenset({(10, 20, 30), (40, 50, 60), (10, 10, 10)}), frozenset({(70, 80, 90), (1, 2, 3), (10, 10, 10)})
    )


@pytest.mark.parametrize(
    "line, message",
    [
        (b'10 20 30 1 1 0 0 2 "a"', r"line 2: expected R G B cx cy x1 y1 x2 y2 \"c\""),
        (b"10 20 30 1 1 0 0 2 2 a", r"line 2: expected R G B"),
        (b'10 20 300 1 1 0 0 2 2 "a"', r"line 2: the colour 10 20 300 is not 0-255 RGB"),
    ],
    ids=["eight-numbers", "unquoted", "channel-300"],
)
def test_a_malformed_table_line_is_an_error_naming_the_table_and_line(line, message):
    with pytest.raises(InvalidInputError, match=r"Challenge2_Training_Task2_GT\.zip:100_GT\.txt: " + message):
        labels.read_character_colours(b'1 2 3 1 1 0 0 2 2 "x"\n' + line, "Challenge2_Training_Task2_GT.zip:100_GT.txt")


def test_a_table_listing_white_is_an_error_naming_it():
    decoder = CharacterColours(".txt", labels.read_character_colours)
    with pytest.raises(InvalidInputError, match=r"100_GT\.txt: lists white"):
        labels.decode_label(
            colour_bmp([[(255, 255, 255)]]), "100_GT.bmp", None, decoder, (b'255 255 255 0 0 0 0 0 0 "a"', "100_GT.txt")
        )


@pytest.mark.parametrize("mode", ["RGB", "P", "L", "1"])
def test_non_white_is_text_and_only_pure_white_is_background(mode):
    colours = np.array([[(255, 255, 255), (255, 255, 254), (0, 0, 0), (200, 10, 10)]], np.uint8)
    image = PIL.Image.fromarray(colours, "RGB")
    image = {
        "RGB": image,
        "P": image.quantize(4, dither=PIL.Image.Dither.NONE),
        "L": image.convert("L"),
        "1": image.convert("1"),
    }[mode]
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    truth = (np.asarray(image.convert("RGB")) != 255).any(axis=2).astype(np.uint8)
    mask = labels.decode_label(buffer.getvalue(), "gt_img_1.png", {(4, 1)}, NonWhite())
    np.testing.assert_array_equal(decoded(mask.png), truth)
    if mode == "RGB":
        assert decoded(mask.png).tolist() == [[0, 1, 1, 1]]


def test_labels_without_their_colour_table_are_one_error_naming_them(stand_ins, tmp_path):
    data_dir = copy_of(stand_ins[0], tmp_path)
    rewrite_zip(
        os.path.join(data_dir, TRAIN_GT), lambda name, data: None if name in ("101_GT.txt", "103_GT.txt") else data
    )
    with pytest.raises(
        InvalidInputError,
        match=r"2 label\(s\) have no colour table beside them .*\.txt\): .*101_GT\.bmp, .*103_GT\.bmp",
    ):
        load(data_dir, str(tmp_path / "cache"))


@pytest.mark.parametrize(
    "archive, member, data, message",
    [
        (
            TRAIN_GT,
            "102_GT.bmp",
            lambda: colour_bmp([[(0, 0, 0)] * 3]),
            r"Challenge2_Training_Task2_GT\.zip:102_GT\.bmp: mask is 3x1",
        ),
        (
            TRAIN_GT,
            "102_GT.txt",
            lambda: b"garbage",
            r"Challenge2_Training_Task2_GT\.zip:102_GT\.txt: line 1: expected R G B",
        ),
        (
            "Challenge2_Test_Task2_GT.zip",
            "gt_img_2.png",
            lambda: b"\x89PNG\r\n\x1a\n",
            r"Task2_GT\.zip:gt_img_2\.png: corrupt or truncated PNG \(its header",
        ),
        ("Challenge2_Test_Task2_GT.zip", "gt_img_2.png", "half", r"Task2_GT\.zip:gt_img_2\.png: corrupt or truncated"),
    ],
    ids=["bmp-size", "table", "png-header-only", "png-half"],
)
def test_a_bad_label_is_an_error_naming_the_member(stand_ins, tmp_path, archive, member, data, message):
    data_dir = copy_of(stand_ins[0], tmp_path)
    change = (lambda old: old[: len(old) // 2]) if data == "half" else (lambda old: data())
    rewrite_zip(os.path.join(data_dir, archive), lambda name, old: change(old) if name == member else old)
    with pytest.raises(InvalidInputError, match=message):
        load(data_dir, str(tmp_path / "cache"))


def test_a_label_whose_image_is_missing_is_named(stand_ins, tmp_path):
    data_dir = copy_of(stand_ins[0], tmp_path)
    rewrite_zip(
        os.path.join(data_dir, "Challenge2_Test_Task12_Images.zip"),
        lambda name, data: None if name == "img_3.jpg" else data,
    )
    with pytest.raises(InvalidInputError, match=r"1 test label\(s\) have no image of the same name .*gt_img_3\.png"):
        load(data_dir, str(tmp_path / "cache"))


def test_images_that_are_not_the_published_archives_fail_their_md5(stand_ins, tmp_path):
    with pytest.raises(
        ChecksumMismatchError,
        match=r"Challenge2_Training_Task12_Images\.zip: expected md5:a443b9649fda4229c9bc52751bad08fb, got md5:",
    ):
        icdar13_fst.load(stand_ins[0], cache_dir=str(tmp_path))


def test_words_come_from_the_task1_files(stand_ins, tmp_path):
    folder, expected = stand_ins
    dataset = load(folder, str(tmp_path), "words")
    count = 0
    for rows in dataset.values():
        for row in rows.select_columns(["image_id", "words"]):
            assert row["words"] == expected[row["image_id"]].words
            count += len(row["words"]["text"])
    assert count > 5


def test_the_task1_parser_reads_both_forms():
    training = (
        b'\xef\xbb\xbf158 128 411 181 "Footpath"\r\n443 128 501 169 "To"\r\n\r\n'
        b'64 200 363 243 "say \\"hi\\", \\\\o/"\r\n'
    )
    test = b'38, 43, 920, 215, "Tiredness"\n275,264,665,450,"kills, fast"\n'
    parsed = words.parse_icdar2013_words(training, "gt_100.txt")
    assert parsed["polygon"][0] == [158, 128, 411, 128, 411, 181, 158, 181]
    assert parsed["text"] == ["Footpath", "To", 'say "hi", \\o/']
    assert parsed["ignore"] == [False] * 3
    parsed = words.parse_icdar2013_words(test, "gt_img_1.txt")
    assert parsed["polygon"] == [[38, 43, 920, 43, 920, 215, 38, 215], [275, 264, 665, 264, 665, 450, 275, 450]]
    assert parsed["text"] == ["Tiredness", "kills, fast"]


@pytest.mark.parametrize(
    "line, message",
    [
        (b'158 128 411 "Footpath"', r"line 2: expected left top right bottom \"text\""),
        (b"158 128 411 181 Footpath", r"line 2: expected left top"),
        (b'158, 128 411, 181, "x"', r"line 2: expected left top"),
        (b'\xff 1 2 3 "x"', r"not UTF-8 text"),
    ],
    ids=["three-numbers", "unquoted", "mixed-separators", "not-utf8"],
)
def test_a_malformed_task1_line_is_an_error_naming_the_file_and_line(line, message):
    with pytest.raises(InvalidInputError, match=r"Challenge2_Training_Task1_GT\.zip:gt_100\.txt: " + message):
        words.parse_icdar2013_words(b'1 2 3 4 "a"\n' + line, "Challenge2_Training_Task1_GT.zip:gt_100.txt")


def test_stats_count_each_rule_of_each_split(stand_ins, tmp_path, capsys):
    folder, expected = stand_ins
    argv = ["stats", "--json", "--data-dir", folder, "--cache-dir", str(tmp_path), "--verification-mode", "no_checks"]
    assert icdar13_fst.main(argv) == 0
    stats = json.loads(capsys.readouterr().out)
    for split in ("train", "test"):
        items = [item for item in expected.values() if item.split == split]
        summed = {rule: sum(item.rules[rule] for item in items) for rule in items[0].rules}
        if split == "test":
            summed["nothing -> 255"] = 0
        assert stats[split]["label_values_decoded"] == summed
    assert stats["train"]["label_values_decoded"]["unlisted colours -> 255"] > 0
    assert stats["train"]["label_values_decoded"]["don't-care colours -> 255"] > 0


def test_evaluate_scores_perfect_predictions_as_perfect(stand_ins, tmp_path):
    folder, expected = stand_ins
    predictions = tmp_path / "predicted"
    predictions.mkdir()
    for image_id, item in expected.items():
        if item.split == "test":
            PIL.Image.fromarray(item.mask, "L").save(predictions / f"{image_id}.png")
    scores = icdar13_fst.evaluate(load(folder, str(tmp_path / "cache"), split="test"), str(predictions))
    assert scores["iou_text"] == 1.0 and scores["text_fscore"] == 1.0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: spec.LuminanceThreshold(level=255), r"level: expected an integer 0-254"),
        (lambda: spec.LuminanceThreshold(above=2), r"above: expected a label 0, 1 or 255, found 2"),
        (lambda: spec.NonWhite(other=True), r"other: expected a label 0, 1 or 255, found True"),
        (
            lambda: spec.CharacterColours("txt", labels.read_character_colours),
            r"table_extension: expected an extension",
        ),
        (lambda: spec.CharacterColours(".txt", None), r"read_table: expected a function"),
        (lambda: spec.ValueTable({300: 1}), r"values: expected native values 0-255, found 300"),
        (lambda: spec.LabelFiles(extensions=("png",)), r"extensions: expected extensions such as"),
        (lambda: spec.LabelFiles(decoder={0: 0}), r"decoder: expected a ValueTable, LuminanceThreshold"),
    ],
    ids=["level", "label", "bool", "extension", "reader", "native", "label-extension", "decoder"],
)
def test_a_decoder_declared_wrong_is_refused_naming_the_field(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("mode", ["RGB", "P", "RGBA"])
@pytest.mark.parametrize("labels_of", [(0, 1, 255, 255), (255, 0, 1, 0)], ids=["icdar13", "other-labels"])
def test_character_colours_label_every_pixel_as_a_plain_lookup_does(mode, labels_of):
    rng = np.random.default_rng(5)
    palette = [(200, 10, 10), (10, 200, 10), (10, 10, 200), (1, 2, 3), (255, 255, 254), (255, 255, 255)]
    pixels = np.asarray(palette, np.uint8)[rng.integers(0, len(palette), (11, 7))]
    table = ColourTable(listed=frozenset(palette[:3]), dont_care=frozenset([palette[2], palette[3]]))
    white, listed, dont_care, unlisted = labels_of
    decoder = CharacterColours(".txt", lambda data, where: table, white, listed, dont_care, unlisted)
    image = PIL.Image.fromarray(pixels, "RGB").convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")  # lossless: the colours are exactly these
    mask = labels.decode_label(buffer.getvalue(), "1_GT.png", {(7, 11)}, decoder, (b"", "1_GT.txt"))

    def label_of(colour: tuple) -> int:  # the rule, one pixel at a time
        if colour == (255, 255, 255):
            return white
        if colour in table.dont_care:
            return dont_care
        return listed if colour in table.listed else unlisted

    colours = [[tuple(int(v) for v in pixel) for pixel in row] for row in np.asarray(image.convert("RGB"))]
    expected = [[label_of(colour) for colour in row] for row in colours]
    assert np.asarray(PIL.Image.open(io.BytesIO(mask.png))).tolist() == expected
    flat = [colour for row in colours for colour in row]
    white_pixels = flat.count((255, 255, 255))
    assert mask.decoded[f"white -> {white}"] == white_pixels
    assert mask.decoded[f"don't-care colours -> {dont_care}"] == sum(c in table.dont_care for c in flat)
    assert sum(mask.decoded.values()) == len(flat)


def test_labels_read_alike_from_pillows_memory_from_a_copy_and_one_after_another(monkeypatch):
    """Pillow lends a label's pixels when its rows lie in one block, else they are copied; each thread reuses
    its buffers from label to label, of any size."""
    rng = np.random.default_rng(8)
    table = ColourTable(listed=frozenset([(200, 10, 10)]), dont_care=frozenset([(1, 2, 3)]))
    characters = CharacterColours(".txt", lambda data, where: table)
    pngs = []
    for size in ((40, 30), (7, 5), (64, 3)):
        pixels = np.asarray([(255, 255, 255), (200, 10, 10), (1, 2, 3), (9, 9, 9)], np.uint8)
        buffer = io.BytesIO()
        PIL.Image.fromarray(pixels[rng.integers(0, 4, size[::-1])], "RGB").save(buffer, "PNG")
        pngs.append((buffer.getvalue(), size))
    pngs.insert(2, pngs[0])  # the first again, after a smaller one

    def decode_all():
        return [
            (
                labels.decode_label(png, "m.png", {size}, characters, (b"", "m.txt")).png,
                labels.decode_label(png, "m.png", {size}, NonWhite()).png,
            )
            for png, size in pngs
        ]

    lent = decode_all()
    block_size = PIL.Image.core.get_block_size()
    monkeypatch.setattr(labels.pa, "array", lambda image: (_ for _ in ()).throw(ValueError("rows not contiguous")))
    try:
        PIL.Image.core.set_block_size(4096)  # a 40x30 RGB image spans blocks
        copied = decode_all()
    finally:
        PIL.Image.core.set_block_size(block_size)
    monkeypatch.setattr(labels, "SCRATCH_KEPT_BYTES", 64)  # every label larger: its buffers are taken fresh
    labels._scratch.__dict__.pop("buffers", None)
    assert decode_all() == lent and all(b.size <= 64 for b in labels._scratch.__dict__.get("buffers", {}).values())
    assert lent == copied and lent[0] == lent[2] and len({png for pair in lent for png in pair}) == 6
    for (png, _size), (characters_png, _) in zip(pngs, lent, strict=True):  # and what a fresh decode gives
        rgb = np.asarray(PIL.Image.open(io.BytesIO(png)))
        expected = np.select([(rgb == 255).all(2), (rgb == (200, 10, 10)).all(2)], [0, 1], 255)
        assert np.asarray(PIL.Image.open(io.BytesIO(characters_png))).tolist() == expected.tolist()
