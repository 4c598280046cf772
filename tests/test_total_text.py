"""Total-Text on the engine: lossy JPEG masks thresholded by luminance, one archive for both splits, `.JPG` names,
curved polygons, on stand-ins in the real formats and hand-written files."""

import io
import json
import os
import zipfile

import numpy as np
import PIL.Image
import pytest

import total_text
from scene_text_seg import labels, pixels, synthetic, words
from scene_text_seg.errors import InvalidInputError, MissingInputError
from scene_text_seg.spec import LuminanceThreshold, NonWhite
from tests.conftest import copy_of, raw, rewrite_zip


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("total_text"))
    return folder, synthetic.write_total_text_inputs(folder, seed=5, n_train=10, n_test=5)


def load(data_dir, cache_dir, config="default", **kwargs):
    return total_text.load(data_dir, config=config, cache_dir=cache_dir, verification_mode="no_checks", **kwargs)


def decoded(png_bytes):
    return np.asarray(PIL.Image.open(io.BytesIO(png_bytes)))


def masks_in_the_zip(folder):
    """image id -> (the mask JPEG's bytes, its name): what the test decodes itself."""
    with zipfile.ZipFile(os.path.join(folder, "groundtruth_pixel.zip")) as archive:
        return {
            os.path.splitext(os.path.basename(name))[0]: (archive.read(name), name)
            for name in archive.namelist()
            if not name.startswith("__MACOSX")
        }


def luminance_above_127(jpeg: bytes) -> np.ndarray:
    with PIL.Image.open(io.BytesIO(jpeg)) as image:
        return (np.asarray(image.convert("L")) > 127).astype(np.uint8)


def test_the_stand_ins_hold_what_the_real_masks_do(stand_ins):
    folder, expected = stand_ins
    masks = masks_in_the_zip(folder)
    tables = {str(PIL.Image.open(io.BytesIO(data)).quantization) for data, _ in masks.values()}
    assert len(tables) >= 4  # written at several JPEG qualities
    modes = {PIL.Image.open(io.BytesIO(data)).mode for data, _ in masks.values()}
    assert modes == {"L", "RGB"}
    assert any(name.endswith(".JPG") for _, name in masks.values())
    with zipfile.ZipFile(os.path.join(folder, "totaltext.zip")) as archive:
        assert any(name.endswith(".JPG") for name in archive.namelist())
    # Lossy: each mask with text holds values other than 0 and 255 (ringing), on both sides of the threshold.
    for image_id, (data, _) in masks.items():
        values = set(np.unique(np.asarray(PIL.Image.open(io.BytesIO(data)).convert("L"))))
        if expected[image_id].mask.any():
            assert {v for v in values if 0 < v <= 127} and {v for v in values if 127 < v < 255}


def test_default_thresholds_each_jpeg_mask_as_pil_decodes_it(stand_ins, tmp_path):
    folder, expected = stand_ins
    masks = masks_in_the_zip(folder)
    dataset = load(folder, str(tmp_path))
    assert set(dataset) == {"train", "test"}
    seen = 0
    for split, rows in dataset.items():
        rows = raw(rows)
        assert sorted(row["image_id"] for row in rows) == sorted(k for k, v in expected.items() if v.split == split)
        for row in rows:
            mask = luminance_above_127(masks[row["image_id"]][0])
            stored = decoded(row["mask"]["bytes"])
            np.testing.assert_array_equal(stored, mask)
            assert PIL.Image.open(io.BytesIO(row["mask"]["bytes"])).mode == "L"
            assert row["mask_classes"] == [label for label in (0, 1) if (mask == label).any()]
            assert row["image"]["bytes"] == expected[row["image_id"]].photo  # untouched
            seen += 1
    assert seen == 15


def test_the_stored_mask_is_a_minimal_png(stand_ins, tmp_path):
    folder, _ = stand_ins
    png = raw(load(folder, str(tmp_path), split="test"))[0]["mask"]["bytes"]
    assert png.startswith(b"\x89PNG") and b"eXIf" not in png and b"tEXt" not in png and b"pHYs" not in png
    assert png.count(b"IDAT") == 1 and pixels.unfiltered_grey_pixels(png) is not None  # rows unfiltered


def test_the_threshold_is_luminance_above_127_exactly():
    grey = np.array([[0, 126, 127, 128, 200, 255]], np.uint8)
    colours = np.array([[(255, 0, 0), (0, 0, 255), (128, 128, 128), (127, 127, 127), (0, 255, 0), (255, 255, 255)]])
    for values, mode, text in ((grey, "L", [0, 0, 0, 1, 1, 1]), (colours.astype(np.uint8), "RGB", [0, 0, 1, 0, 1, 1])):
        buffer = io.BytesIO()
        PIL.Image.fromarray(values, mode).save(buffer, "PNG")  # lossless: the values are exactly these
        mask = labels.decode_label(buffer.getvalue(), "m.png", {(6, 1)}, LuminanceThreshold())
        assert decoded(mask.png).tolist() == [text]
        assert mask.decoded == {
            "luminance 0-127 -> 0": text.count(0),
            "luminance 128-255 -> 1": text.count(1),
            "nothing -> 255": 0,
        }


@pytest.mark.parametrize("mode", ["L", "RGB", "1", "P", "LA", "RGBA"])
@pytest.mark.parametrize(
    "decoder",
    [LuminanceThreshold(), LuminanceThreshold(level=0, above=255, at_or_below=1), NonWhite(), NonWhite(255, 0)],
    ids=["threshold", "threshold-other-labels", "non-white", "non-white-other-labels"],
)
def test_each_decoder_labels_every_pixel_as_its_rule_says_in_any_mode(mode, decoder):
    rng = np.random.default_rng(3)
    values = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    values[::2, ::3] = 255  # white pixels, for the non-white rule
    image = PIL.Image.fromarray(values, "RGB").convert(mode)
    if isinstance(decoder, LuminanceThreshold):
        held = np.asarray(image.convert("L")) > decoder.level
        rules = {f"luminance 0-{decoder.level} -> {decoder.at_or_below}": int((~held).sum())}
        rules[f"luminance {decoder.level + 1}-255 -> {decoder.above}"] = int(held.sum())
        expected = np.where(held, decoder.above, decoder.at_or_below)
    else:
        held = (np.asarray(image.convert("RGB")) != 255).any(axis=2)
        rules = {f"white -> {decoder.white}": int((~held).sum()), f"other colours -> {decoder.other}": int(held.sum())}
        expected = np.where(held, decoder.other, decoder.white)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    mask = labels.decode_label(buffer.getvalue(), "m.png", {(13, 9)}, decoder)
    assert np.array_equal(decoded(mask.png), expected)
    assert {key: n for key, n in mask.decoded.items() if key != "nothing -> 255"} == rules
    assert mask.classes == [label for label in (0, 1) if (expected == label).any()]


def jpeg(size, mode="L"):
    buffer = io.BytesIO()
    PIL.Image.new(mode, size, 255).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda data: jpeg((5, 5)), r"groundtruth_pixel\.zip:groundtruth_pixel/Train/img7\.jpg: mask is 5x5, expected"),
        (lambda data: data[: len(data) // 2], r"groundtruth_pixel\.zip:groundtruth_pixel/Train/img7\.jpg: corrupt or"),
        (lambda data: b"not an image", r"groundtruth_pixel/Train/img7\.jpg: not a JPEG, PNG or BMP image"),
    ],
    ids=["wrong-size", "truncated", "not-an-image"],
)
def test_a_bad_mask_is_an_error_naming_the_member(stand_ins, tmp_path, change, message):
    data_dir = copy_of(stand_ins[0], tmp_path)
    target = "groundtruth_pixel/Train/img7.jpg"
    rewrite_zip(
        os.path.join(data_dir, "groundtruth_pixel.zip"),
        lambda name, data: change(data) if name == target else data,
    )
    with pytest.raises(InvalidInputError, match=message):
        load(data_dir, str(tmp_path / "cache"))


def test_two_masks_of_one_image_differing_in_case_are_an_error(stand_ins, tmp_path):
    data_dir = copy_of(stand_ins[0], tmp_path)
    path = os.path.join(data_dir, "groundtruth_pixel.zip")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("groundtruth_pixel/Train/IMG7.JPG", archive.read("groundtruth_pixel/Train/img7.jpg"))
    with pytest.raises(InvalidInputError, match=r"two files share the name 'IMG7'.*img7\.jpg and .*IMG7\.JPG"):
        load(data_dir, str(tmp_path / "cache"))


def test_an_image_under_no_split_folder_is_an_error_naming_it(stand_ins, tmp_path):
    data_dir = copy_of(stand_ins[0], tmp_path)
    path = os.path.join(data_dir, "totaltext.zip")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("totaltext/Images/img999.jpg", jpeg((8, 8), "RGB"))
    with pytest.raises(
        InvalidInputError, match=r"cannot tell the split of 1 file\(s\) of totaltext\.zip: .*img999\.jpg"
    ):
        load(data_dir, str(tmp_path / "cache"))


def test_the_extracted_folders_load_the_same(tmp_path):
    expected = synthetic.write_total_text_inputs(str(tmp_path / "zip"), seed=3, n_train=4, n_test=2)
    synthetic.write_total_text_inputs(str(tmp_path / "folder"), seed=3, n_train=4, n_test=2, form="folder")
    assert sorted(os.listdir(tmp_path / "folder")) == ["__MACOSX", "groundtruth_pixel", "totaltext", "txt_format"]
    zipped, extracted = (
        load(str(tmp_path / "zip"), str(tmp_path / "c1")),
        load(str(tmp_path / "folder"), str(tmp_path / "c2")),
    )
    for split in ("train", "test"):
        assert raw(zipped[split]) == raw(extracted[split])
        assert [row["image_id"] for row in raw(zipped[split])] == [k for k, v in expected.items() if v.split == split]


def test_missing_inputs_say_what_each_must_hold(tmp_path):
    with pytest.raises(MissingInputError) as error:
        load(str(tmp_path), str(tmp_path / "cache"))
    message = str(error.value)
    assert "totaltext.zip (or the extracted folder totaltext/)" in message and "Images/Train and Images/Test" in message
    assert "groundtruth_pixel.zip" in message and "Character Level Mask" in message
    assert "txt_format" not in message  # the words config's only


def test_words_come_from_the_polygon_files(stand_ins, tmp_path):
    folder, expected = stand_ins
    dataset = load(folder, str(tmp_path), "words")
    vertices = set()
    for rows in dataset.values():
        for row in rows.select_columns(["image_id", "words"]):
            assert row["words"] == expected[row["image_id"]].words
            vertices.update(len(polygon) // 2 for polygon in row["words"]["polygon"])
    assert {4, 5, 6} & vertices and max(vertices) >= 6  # curved words: more than four vertices


POLYGONS = (
    "x: [[115 503 494 115]], y: [[322 346 426 404]], ornt: [u'm'], transcriptions: [u'nauGHTY']\r\n"
    "x: [[259 313 389 427 354\r\n 302]], y: [[542 462 417 459 507 582]], ornt: [u'c'], transcriptions: [u'PAUL']\n"
    "x: [[400 478 494 436]], y: [[398 380 448 465]], ornt: [u'#'], transcriptions: [u'#']\n"
    "\n"
    "x: [[-3 10 10 -3]], y: [[0 0 9 9]], ornt: [u'h'], transcriptions: [u\"it's\"]\n"
    "x: [[1 2 3]], y: [[1 5 1]], ornt: [u'h'], transcriptions: []\n"
    "x: [[1 2 3]], y: [[1 5 1]], ornt: [u'h'], transcriptions: [u'5', u'99']\n"
)


def test_the_polygon_parser_reads_a_hand_written_file():
    parsed = words.parse_total_text_words(POLYGONS.encode(), "txt_format.zip:Train/poly_gt_img1.txt")
    assert parsed["polygon"] == [
        [115, 322, 503, 346, 494, 426, 115, 404],
        [259, 542, 313, 462, 389, 417, 427, 459, 354, 507, 302, 582],
        [400, 398, 478, 380, 494, 448, 436, 465],
        [-3, 0, 10, 0, 10, 9, -3, 9],
        [1, 1, 2, 5, 3, 1],
        [1, 1, 2, 5, 3, 1],
    ]
    assert parsed["text"] == ["nauGHTY", "PAUL", "#", "it's", "", "5,99"]
    assert parsed["ignore"] == [False, False, True, False, True, False]
    assert parsed["language"] == parsed["class"] == [""] * 6


@pytest.mark.parametrize(
    "record, message",
    [
        ("x: [[1 2 3 4]], y: [[1 2 3]], ornt: [u'h'], transcriptions: [u'a']", r"line 1: 4 x coordinates but 3 y"),
        ("x: [[1 2]], y: [[1 2]], ornt: [u'h'], transcriptions: [u'a']", r"line 1: expected a polygon of 3 or more"),
        ("x: [[1 2 z]], y: [[1 2 3]], ornt: [u'h'], transcriptions: [u'a']", r"line 1: x: the coordinate 'z' is not"),
        ("x: [[1 2 3]], y: [[1 2 3]], ornt: [u'h'], transcriptions: [__import__('os')]", r"line 1: transcriptions: "),
        ("x: [[1 2 3]], y: [[1 2 3]], transcriptions: [u'a']", r"line 1: expected x: \[\[\.\.\.\]\], y:"),
        ("poly: 1 2 3", r"line 1: expected x:"),
    ],
    ids=["lengths", "two-vertices", "not-a-number", "not-a-literal", "no-ornt", "other-format"],
)
def test_a_malformed_polygon_record_is_an_error_naming_the_file_and_line(record, message):
    with pytest.raises(InvalidInputError, match=r"txt_format\.zip:Train/poly_gt_img1\.txt: " + message):
        words.parse_total_text_words(record.encode(), "txt_format.zip:Train/poly_gt_img1.txt")


def test_a_polygon_file_that_is_not_utf8_is_an_error_naming_it():
    with pytest.raises(InvalidInputError, match=r"poly_gt_img1\.txt: not UTF-8 text"):
        words.parse_total_text_words(
            b"x: [[1 2 3]], y: [[1 2 3]], ornt: [u'h'], transcriptions: [u'\xe9']", "poly_gt_img1.txt"
        )


def test_stats_count_each_rule_and_say_no_pixel_is_ignore(stand_ins, tmp_path, capsys):
    folder, expected = stand_ins
    argv = ["stats", "--json", "--data-dir", folder, "--cache-dir", str(tmp_path), "--verification-mode", "no_checks"]
    assert total_text.main(argv) == 0
    stats = json.loads(capsys.readouterr().out)
    for split in ("train", "test"):
        items = [item for item in expected.values() if item.split == split]
        text = sum(int(item.mask.sum()) for item in items)
        pixels = sum(item.mask.size for item in items)
        assert stats[split]["label_values_decoded"] == {
            "luminance 0-127 -> 0": pixels - text,
            "luminance 128-255 -> 1": text,
            "nothing -> 255": 0,
        }
        assert stats[split]["uncertain_pixel_fraction"] == 0


def test_evaluate_scores_perfect_predictions_as_perfect(stand_ins, tmp_path):
    folder, expected = stand_ins
    predictions = tmp_path / "predicted"
    predictions.mkdir()
    for image_id, item in expected.items():
        if item.split == "test":
            PIL.Image.fromarray(item.mask, "L").save(predictions / f"{image_id}.png")
    scores = total_text.evaluate(load(folder, str(tmp_path / "cache"), split="test"), str(predictions))
    assert scores["iou_text"] == 1.0 and scores["text_fscore"] == 1.0
