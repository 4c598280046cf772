"""The `words` config: ICDAR word files parsed exactly, paired with their images, put on the decoded
grid, checked like the other inputs; `default` and `with_unlabeled` untouched."""

import os
import re
import shutil
import zipfile

import datasets
import numpy as np
import PIL.Image
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ist_s
from scene_text_seg import inputs, synthetic, words
from tests.conftest import build, cli, copy_with, raw, register_synthetic_images

TRAIN_WORDS = "ch4_training_localization_transcription_gt.zip"
TEST_WORDS = "Challenge4_Test_Task4_GT.zip"


@pytest.fixture(scope="module")
def word_inputs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("word_inputs"))
    return root, synthetic.write_inputs(root, words=True)


@pytest.fixture(scope="module")
def built_words(word_inputs, tmp_path_factory):
    return build(word_inputs[0], str(tmp_path_factory.mktemp("cache")), config="words")


# ---- parsing the real format -------------------------------------------------------------------------


def test_parse_every_quirk_of_the_real_files():
    data = (
        "\ufeff377,117,463,117,465,130,378,130,Genaxis Theatre\r\n"
        "374,155,409,155,409,170,374,170,###\r\n"
        "-2,10,30,10,30,20,-2,20,A,B,,C\r\n"
        "\r\n"
    ).encode()
    parsed = words.parse_words(data, "gt_img_1.txt")
    assert parsed == {
        "polygon": [
            [377, 117, 463, 117, 465, 130, 378, 130],
            [374, 155, 409, 155, 409, 170, 374, 170],
            [-2, 10, 30, 10, 30, 20, -2, 20],
        ],
        "text": ["Genaxis Theatre", "###", "A,B,,C"],
        "ignore": [False, True, False],
        "language": ["", "", ""],
        "class": ["", "", ""],
    }
    assert all(isinstance(v, float) for polygon in parsed["polygon"] for v in polygon)
    assert words.parse_words(data.replace(b"\r\n", b"\n")[3:], "x") == parsed  # no BOM, LF
    assert words.parse_words(b"", "x") == words.empty_words()


def test_parse_mlt_lines_with_their_script():
    data = "\ufeff1,2,3,2,3,4,1,4,Arabic,نص,x\r\n5,6,7,6,7,8,5,8,None,###\r\n9,9,12,9,12,11,9,11,Latin,\r\n".encode()
    parsed = words.parse_words(data, "gt_img_1.txt", script=True)
    assert parsed["text"] == ["نص,x", "###", ""] and parsed["language"] == ["Arabic", "None", "Latin"]
    assert parsed["ignore"] == [False, True, False]
    # Read as ICDAR 2015, the same line keeps the script in the transcription.
    assert words.parse_words(data, "x")["text"][0] == "Arabic,نص,x"
    with pytest.raises(ist_s.InvalidInputError, match=r"gt_img_2\.txt: line 2: unknown script 'Klingon'"):
        words.parse_words(b"1,2,3,2,3,4,1,4,Latin,a\n1,2,3,2,3,4,1,4,Klingon,b\n", "gt_img_2.txt", script=True)
    with pytest.raises(ist_s.InvalidInputError, match=r"x: line 1: expected 8 coordinates .*script,text"):
        words.parse_words(b"1,2,3,2,3,4,1,4,Latin\n", "x", script=True)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"1,2,3,4,5,6,7,text", "seven numbers"),
        (b"1,2,3,4,5,6,7,8e5,text", "not a plain number"),
        (b"1,2,3,4,5,6,7,nan,text", "not a number"),
        (b"1,2,3,4,5,6,7," + b"9" * 40 + b",text", "beyond float32"),
        (b"hello", "no numbers"),
    ],
)
def test_a_malformed_line_names_the_member_and_line(word_inputs, tmp_path, cache_dir, capsys, line, why):
    with zipfile.ZipFile(os.path.join(word_inputs[0], TRAIN_WORDS)) as archive:
        good = archive.read("gt_img_2.txt")
    data_dir = copy_with(word_inputs, tmp_path, TRAIN_WORDS, replace={"gt_img_2.txt": good + line + b"\r\n"})
    code, _, err = cli(
        capsys,
        "build",
        "--config",
        "words",
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--verification-mode",
        "no_checks",
    )
    assert code == 2, why
    expected = "does not fit float32" if why == "beyond float32" else "expected 8 coordinates"
    assert re.search(rf"{TRAIN_WORDS}:gt_img_2\.txt: line 3: .*{expected}", err), err


def test_decimal_coordinates_are_read_as_they_are():
    assert words.parse_words(b"1.5,2,3,2,3,4.25,1,4,x\n", "x")["polygon"] == [[1.5, 2, 3, 2, 3, 4.25, 1, 4]]


def test_word_files_and_images_must_pair(word_inputs, tmp_path, cache_dir):
    missing = copy_with(word_inputs, tmp_path / "a", TRAIN_WORDS, drop={"gt_img_7.txt"})
    with pytest.raises(ist_s.InvalidInputError, match=r"1 train image\(s\) have no word file .*: img_7\.jpg"):
        build(missing, cache_dir, config="words")
    extra = copy_with(word_inputs, tmp_path / "b", TEST_WORDS, add={"gt_img_99.txt": b"1,1,2,1,2,2,1,2,x\r\n"})
    with pytest.raises(
        ist_s.InvalidInputError, match=rf"1 test word file\(s\) describe no image .*{TEST_WORDS}:gt_img_99\.txt"
    ):
        build(extra, cache_dir, config="words")


def test_missing_word_archives_are_listed_with_where_to_get_them(zip_inputs, cache_dir):
    with pytest.raises(ist_s.MissingInputError) as error:
        build(zip_inputs[0], cache_dir, config="words")
    message = str(error.value)
    assert TRAIN_WORDS in message and TEST_WORDS in message and "Challenge4_Test_Task1_GT.zip" in message
    assert "rrc.cvc.uab.es" in message and "ch4_training_images.zip (" not in message


def test_the_task1_copy_of_the_test_words_is_accepted(word_inputs, tmp_path, cache_dir, built_words):
    data_dir = str(tmp_path / "inputs")
    shutil.copytree(word_inputs[0], data_dir)
    os.rename(os.path.join(data_dir, TEST_WORDS), os.path.join(data_dir, "Challenge4_Test_Task1_GT.zip"))
    assert raw(build(data_dir, cache_dir, config="words")["test"]) == raw(built_words["test"])
    by_name = {
        check.path and os.path.basename(check.path): check.status for check in inputs.check_inputs(ist_s.SPEC, data_dir)
    }
    assert by_name["Challenge4_Test_Task1_GT.zip"] == "unregistered"  # only Task 4's md5 is published


def test_word_archives_are_checked_against_their_md5(word_inputs, cache_dir, monkeypatch):
    register_synthetic_images(monkeypatch, word_inputs[0])  # the image zips pass; the word zips do not
    with pytest.raises(ist_s.ChecksumMismatchError, match=rf"{TRAIN_WORDS}: expected md5:3bfaf198"):
        ist_s.load(word_inputs[0], config="words", cache_dir=cache_dir)


# ---- the rows ------------------------------------------------------------------------------------------------


def test_words_are_the_files_words_in_file_order(built_words, word_inputs):
    _, expected = word_inputs
    for split in ("train", "test"):
        rows = built_words[split]
        assert rows["image_id"] == list(expected[split])  # every image, labelled or not
        for row in rows:
            item = expected[split][row["image_id"]]
            assert row["words"]["text"] == item.words["text"] and row["words"]["ignore"] == item.words["ignore"]
            if item.orientation is None or item.grid == "raw":
                assert row["words"]["polygon"] == item.words["polygon"]  # the decoded grid is the raw one
    assert any("," in text for row in built_words["train"] for text in row["words"]["text"])


def _bounds(mask):
    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max(), ys.max()


def test_polygons_sit_on_the_decoded_grid(built_words, word_inputs):
    """Image, mask and words agree once decoded, whatever the EXIF orientation and the mask's grid."""
    _, expected = word_inputs
    cases = set()
    for split in ("train", "test"):
        for row in built_words[split]:
            item = expected[split][row["image_id"]]
            polygon = np.array(row["words"]["polygon"][0]).reshape(4, 2)
            box = (*polygon.min(axis=0), *polygon.max(axis=0))
            image = np.asarray(row["image"].convert("L"))
            if row["mask"] is not None:
                assert box == _bounds(np.asarray(row["mask"]) == 1)
            assert box == _bounds(image > 180)  # the bright word, where datasets.Image puts it
            cases.add((item.orientation, item.grid))
    assert {(6, "raw"), (6, "oriented"), (3, "raw"), (8, "oriented"), (6, None)} <= cases


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(1, 9), st.integers(1, 9), st.data())
def test_orient_moves_a_pixel_where_pil_turns_it(orientation, width, height, data):
    x, y = data.draw(st.integers(0, width - 1)), data.draw(st.integers(0, height - 1))
    marked = np.zeros((height, width), np.uint8)
    marked[y, x] = 255
    image = PIL.Image.fromarray(marked)
    if orientation != 1:
        image = image.transpose(synthetic.ORIENTATION_TRANSPOSE[orientation])
    ((found_y, found_x),) = np.argwhere(np.asarray(image))
    assert words.orient(x, y, width, height, orientation) == (found_x, found_y)


def test_default_and_with_unlabeled_are_unchanged_by_word_archives(word_inputs, zip_inputs, tmp_path):
    for config in ("default", "with_unlabeled"):
        with_words = build(word_inputs[0], str(tmp_path / "a"), config=config)
        without = build(zip_inputs[0], str(tmp_path / "b"), config=config)
        assert "words" not in with_words["train"].features
        for split in ("train", "test"):
            assert raw(with_words[split]) == raw(without[split])


def test_streaming_and_the_training_transform_ignore_nothing_they_need(word_inputs, built_words):
    streamed = ist_s.load(word_inputs[0], config="words", streaming=True)
    for split in ("train", "test"):
        assert raw(streamed[split]) == raw(built_words[split])
    ready = ist_s.for_training(built_words["train"], size=(24, 40))
    assert set(ready[0]) == {"pixel_values", "labels"}


def test_detection_targets(built_words):
    row = next(r for r in built_words["train"] if len(r["words"]["text"]) == 2)
    targets = ist_s.detection_targets(row["words"])
    polygon = np.array(row["words"]["polygon"], np.float32).reshape(-1, 4, 2)
    assert len(targets["polygons"]) == 2
    for found, expected in zip(targets["polygons"], polygon, strict=True):
        np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(targets["boxes"], np.concatenate([polygon.min(1), polygon.max(1)], axis=1))
    assert targets["texts"] == row["words"]["text"] and targets["ignore"].tolist() == row["words"]["ignore"]
    assert targets["languages"] == targets["classes"] == ["", ""]
    as_list = [dict(zip(row["words"], values, strict=True)) for values in zip(*row["words"].values(), strict=True)]
    np.testing.assert_array_equal(ist_s.detection_targets(as_list)["boxes"], targets["boxes"])
    empty = ist_s.detection_targets(words.empty_words())
    assert empty["boxes"].shape == (0, 4) and empty["polygons"] == [] and empty["ignore"].shape == (0,)


def test_detection_targets_drop_ignored_and_degenerate_words_when_told():
    given = {
        "polygon": [
            [0, 0, 4, 0, 4, 3, 0, 3],
            [5, 5, 9, 5, 9, 5, 5, 5],
            [1, 1, 6, 1, 8, 4, 3, 6, 0, 4],
            [2, 2, 3, 2, 3, 3],
        ],
        "text": ["a", "flat", "b", "###"],
        "ignore": [False, False, False, True],
        "language": ["Latin", "Latin", "Arabic", "None"],
        "class": ["", "", "", ""],
    }
    kept = ist_s.detection_targets(given)
    assert kept["boxes"].tolist() == [[0, 0, 4, 3], [5, 5, 9, 5], [0, 1, 8, 6], [2, 2, 3, 3]]
    assert [p.shape for p in kept["polygons"]] == [(4, 2), (4, 2), (5, 2), (3, 2)]
    assert ist_s.detection_targets(given, keep_ignored=False)["texts"] == ["a", "flat", "b"]
    assert ist_s.detection_targets(given, keep_degenerate=False)["texts"] == ["a", "b", "###"]
    both = ist_s.detection_targets(given, keep_ignored=False, keep_degenerate=False)
    assert both["texts"] == ["a", "b"] and both["languages"] == ["Latin", "Arabic"]
    assert both["boxes"].dtype == np.float32 and both["boxes"].shape == (2, 4)
    # A column from before `language` and `class` existed still reads, with "" for them.
    old = {field: given[field] for field in ("polygon", "text", "ignore")}
    assert ist_s.detection_targets(old)["languages"] == ["", "", "", ""]


@pytest.mark.parametrize(
    ("words_arg", "options", "message"),
    [
        ("abc", {}, r"words: expected a row's `words`"),
        ({"polygon": [[1, 2, 3, 4]], "text": ["a"], "ignore": [False]}, {}, r"polygon 0 holds 4 numbers"),
        ({"polygon": [[1, 2, 3, 4, 5, 6]], "text": [], "ignore": [False]}, {}, r"different numbers of words"),
        ({"polygon": [], "text": []}, {}, r"missing \['ignore'\]"),
        (words.empty_words(), {"keep_ignored": "no"}, r"keep_ignored: expected True or False, got 'no'"),
    ],
)
def test_detection_targets_name_what_is_wrong(words_arg, options, message):
    with pytest.raises(ValueError, match=message):
        ist_s.detection_targets(words_arg, **options)


# ---- stats, preview, export --------------------------------------------------------------------------------


def test_stats_count_words_and_dont_care(word_inputs, cache_dir, capsys):
    import json

    _, expected = word_inputs
    code, out, _ = cli(
        capsys,
        "stats",
        "--json",
        "--config",
        "words",
        "--data-dir",
        word_inputs[0],
        "--cache-dir",
        cache_dir,
        "--verification-mode",
        "no_checks",
    )
    assert code == 0
    stats = json.loads(out)
    for split, items in expected.items():
        counts = [len(item.words["text"]) for item in items.values()]
        ignored = sum(sum(item.words["ignore"]) for item in items.values())
        assert stats[split]["words_per_image"] == round(sum(counts) / len(counts), 3)
        assert stats[split]["dont_care_word_share"] == round(ignored / sum(counts), 6)


def test_preview_outlines_words_and_dont_care_apart(word_inputs, cache_dir, tmp_path, capsys):
    from scene_text_seg import inspect

    out = str(tmp_path / "p.png")
    argv = ["preview", "--config", "words", "--data-dir", word_inputs[0], "--cache-dir", cache_dir]
    assert cli(capsys, *argv, "--verification-mode", "no_checks", "--out", out, "--n", "6", "--seed", "2")[0] == 0
    colours = {tuple(c) for c in np.asarray(PIL.Image.open(out).convert("RGB")).reshape(-1, 3)}
    assert inspect.WORD_COLOUR in colours and inspect.DONT_CARE_COLOUR in colours


def test_export_round_trip_with_words(word_inputs, built_words, tmp_path):
    out = str(tmp_path / "hub")
    sizes = ist_s.export(word_inputs[0], out, cache_dir=str(tmp_path / "c"), verification_mode="no_checks")
    assert list(sizes) == ["default", "with_unlabeled", "words"]
    loaded = datasets.load_dataset(out, "words", cache_dir=str(tmp_path / "load"))
    streamed = datasets.load_dataset(out, "words", streaming=True)
    for split in ("train", "test"):
        assert loaded[split].features == built_words[split].features
        assert raw(loaded[split]) == raw(built_words[split]) == raw(streamed[split])


def test_export_skips_configs_whose_inputs_are_absent(zip_inputs, tmp_path, caplog):
    with caplog.at_level("INFO", logger="datasets.scene_text_seg"):
        sizes = ist_s.export(
            zip_inputs[0], str(tmp_path / "hub"), cache_dir=str(tmp_path / "c"), verification_mode="no_checks"
        )
    assert list(sizes) == ["default", "with_unlabeled"]
    assert "config 'words' skipped: it needs ch4_training_localization_transcription_gt.zip" in caplog.text
