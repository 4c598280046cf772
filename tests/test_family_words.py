"""Words for the whole family: MLT_S's ICDAR 2017 MLT words (scripts in `language`), COCO_TS's COCO-Text v2
words (read from one JSON in pieces, to its end), all on one schema whose rows concatenate across datasets."""

import io
import json
import os
import shutil
import zipfile

import datasets
import numpy as np
import PIL.Image
import pytest

import coco_ts
import ist_s
import mlt_s
from scene_text_seg import inspect, jsonpieces, synthetic, words
from tests.conftest import raw

MLT_TRAIN_WORDS = "ch8_training_localization_transcription_gt_v2.zip"
COCOTEXT = "cocotext.v2.zip"


@pytest.fixture(scope="module")
def mlt_inputs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("mlt_words"))
    return root, synthetic.write_mlt_s_inputs(root, seed=3, size=(64, 40))


@pytest.fixture(scope="module")
def coco_inputs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("coco_words"))
    return root, synthetic.write_coco_ts_inputs(root, seed=4, size=(64, 40))


def _load(module, data_dir, cache_dir, **kwargs):
    return module.load(data_dir, config="words", cache_dir=cache_dir, verification_mode="no_checks", **kwargs)


@pytest.fixture(scope="module")
def mlt_words(mlt_inputs, tmp_path_factory):
    return _load(mlt_s, mlt_inputs[0], str(tmp_path_factory.mktemp("mlt_cache")))


@pytest.fixture(scope="module")
def coco_words(coco_inputs, tmp_path_factory):
    return _load(coco_ts, coco_inputs[0], str(tmp_path_factory.mktemp("coco_cache")))


def _bounds(mask):
    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max(), ys.max()


def _check_rows(built, expected_by_id, fields=("text", "ignore", "language", "class")) -> set:
    """Every row's words are its image's, the polygons on the decoded grid: the first word's box is where
    the bright word and the mask's text are once decoded. Returns the (format, orientation, grid) seen."""
    seen = set()
    for row in built:
        item = expected_by_id[row["image_id"]]
        for field in fields:
            assert row["words"][field] == item.words[field], (row["image_id"], field)
        if item.orientation is None or item.grid == "raw":
            assert row["words"]["polygon"] == item.words["polygon"], row["image_id"]
        if row["words"]["polygon"]:
            polygon = np.array(row["words"]["polygon"][0]).reshape(-1, 2)
            box = (*polygon.min(axis=0), *polygon.max(axis=0))
            assert box == _bounds(np.asarray(row["image"].convert("L")) > 180), row["image_id"]
            if row["mask"] is not None:
                assert box == _bounds(np.asarray(row["mask"]) == 1), row["image_id"]
        seen.add((item.orientation, item.grid))
    return seen


# ---- MLT_S -----------------------------------------------------------------------------------------------


def test_mlt_words_are_the_files_words_on_the_decoded_grid(mlt_words, mlt_inputs):
    _, expected = mlt_inputs
    cases = set()
    for split in ("train", "validation"):
        assert mlt_words[split]["image_id"] == list(expected[split])  # every photo, labelled or not
        cases |= _check_rows(mlt_words[split], expected[split])
    assert {(6, "raw"), (6, "oriented"), (3, "raw"), (8, "oriented"), (None, "raw")} <= cases
    assert any(orientation and grid is None for orientation, grid in cases)  # a tagged photo with no mask
    languages = {language for split in mlt_words.values() for row in split for language in row["words"]["language"]}
    assert languages == words.MLT_SCRIPTS  # every script of the ground truth, None for don't-care words
    texts = [text for row in mlt_words["train"] for text in row["words"]["text"]]
    assert any("," in text for text in texts) and any("文字" in text for text in texts)


def test_mlt_polygons_follow_photos_of_every_format(mlt_words, mlt_inputs):
    _, expected = mlt_inputs
    formats = {}
    for split in ("train", "validation"):
        for row in mlt_words[split]:
            item = expected[split][row["image_id"]]
            formats.setdefault(item.extension.lower(), set()).add(item.orientation)
    assert set(formats) == {".jpg", ".png", ".gif"}
    assert formats[".png"] - {None}, "no EXIF-tagged PNG among the stand-ins"
    # The first test checked every row's polygons against its decoded photo, whatever its format.


def test_mlt_word_archives_are_needed_by_words_only_and_listed(mlt_inputs, tmp_path):
    data_dir = str(tmp_path / "inputs")
    shutil.copytree(mlt_inputs[0], data_dir)
    os.remove(os.path.join(data_dir, MLT_TRAIN_WORDS))
    assert mlt_s.load(data_dir, cache_dir=str(tmp_path / "c"), verification_mode="no_checks")["train"].num_rows == 14
    with pytest.raises(mlt_s.MissingInputError) as error:
        _load(mlt_s, data_dir, str(tmp_path / "c"))
    expected = str(error.value).split("Expected:", 1)[1]
    assert MLT_TRAIN_WORDS in expected and "validation_localization" not in expected


def test_an_unknown_mlt_script_names_the_member_and_line(mlt_inputs, tmp_path):
    data_dir = str(tmp_path / "inputs")
    shutil.copytree(mlt_inputs[0], data_dir)
    path = os.path.join(data_dir, MLT_TRAIN_WORDS)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["gt_img_4.txt"] += b"1,1,5,1,5,5,1,5,Latin-ish,word\r\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    line = files["gt_img_4.txt"].count(b"\n")
    with pytest.raises(mlt_s.InvalidInputError, match=rf"{MLT_TRAIN_WORDS}:gt_img_4\.txt: line {line}: unknown script"):
        _load(mlt_s, data_dir, str(tmp_path / "c"))


# ---- COCO_TS ---------------------------------------------------------------------------------------------


def test_coco_words_are_cocotext_annotations_divided_by_set(coco_words, coco_inputs, tmp_path):
    _, expected = coco_inputs
    splits = coco_ts.load(
        coco_inputs[0], config="cocotext_splits", cache_dir=str(tmp_path / "c"), verification_mode="no_checks"
    )
    cases = set()
    for split in ("train", "validation"):
        assert coco_words[split]["image_id"] == splits[split]["image_id"]  # the same photos, divided alike
        cases |= _check_rows(coco_words[split], expected["train"])
    # COCO photos carry no EXIF orientation in practice; the stand-ins do, and their words are turned too.
    assert {(6, "oriented"), (8, "oriented")} & cases and (None, "raw") in cases
    rows = [row for split in coco_words.values() for row in split]
    found = {field: [v for row in rows for v in row["words"][field]] for field in words.FIELDS}
    assert sum(not row["words"]["text"] for row in rows) == 2  # labelled images COCO-Text annotates with nothing
    assert {len(polygon) for polygon in found["polygon"]} == {8, 10}  # masks of several lengths, and bboxes
    assert {"machine printed", "handwritten", "others"} == set(found["class"])
    assert {"english", "not english", "na"} == set(found["language"])
    illegible = [text for text, ignore in zip(found["text"], found["ignore"], strict=True) if ignore]
    assert illegible and set(illegible) == {""}  # illegible words: don't care, no utf8_string


def _cocotext_json(coco_inputs) -> bytes:
    with zipfile.ZipFile(os.path.join(coco_inputs[0], COCOTEXT)) as archive:
        return archive.read("cocotext.v2.json")


def _wanted(coco_inputs) -> set:
    return {name.lower() for name, item in coco_inputs[1]["train"].items() if item.mask is not None}


@pytest.mark.parametrize("piece", [1, 7, 64])
def test_cocotext_words_are_read_in_pieces(coco_inputs, monkeypatch, piece):
    data = _cocotext_json(coco_inputs)
    whole = coco_ts.read_cocotext_words(io.BytesIO(data), "x", _wanted(coco_inputs))
    monkeypatch.setattr(jsonpieces, "JSON_PIECE", piece)
    monkeypatch.setattr(jsonpieces, "ENTRY_LOOKAHEAD", piece)
    assert coco_ts.read_cocotext_words(io.BytesIO(data), "x", _wanted(coco_inputs)) == whole
    # A BOM, and the sections in another order, read the same.
    document = json.loads(data)
    reordered = {key: document[key] for key in ("imgToAnns", "info", "imgs", "anns", "cats")}
    again = "\ufeff" + json.dumps(reordered, indent=1)
    assert coco_ts.read_cocotext_words(io.BytesIO(again.encode()), "x", _wanted(coco_inputs)) == whole


def _every_annotation(data: bytes, **changes) -> bytes:
    return _edited(data, lambda doc: [annotation.update(changes) for annotation in doc["anns"].values()])


def _edited(data: bytes, edit) -> bytes:
    document = json.loads(data)
    edit(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d[: len(d) // 2], r"not valid JSON at byte \d+"),
        (lambda d: d[:-1], r"not valid JSON at byte [\d,]+ of [\d,]+: expected '}' or ','"),
        (lambda d: d + b'{"more": 1}', r"extra data after the end"),
        (lambda d: b"[" + d + b"]", r"expected an object"),
        (lambda d: d.replace(b'"imgs": {', b'"imgs": {"bad" ', 1), r"expected ':'"),
        (
            lambda d: _edited(d, lambda doc: [ids.append(99) for ids in doc["imgToAnns"].values()]),
            r"imgToAnns\['\d+'\] names annotation 99, which anns does not hold",
        ),
        (
            lambda d: _every_annotation(d, mask=[1, 2, 3, 4, 5]),
            r"anns\['\d+'\]: mask: expected a polygon of 3 or more x, y pairs \(6\+ numbers\), found 5",
        ),
        (
            lambda d: _every_annotation(d, mask=[1, 2, 3, 4, 5, 1e39]),
            r"anns\['\d+'\]: mask: the polygon coordinate 1e\+39 does not fit float32",
        ),
        (
            lambda d: _every_annotation(d, mask=[1, 2, 3, 4, True, 6]),
            r"anns\['\d+'\]: mask: a polygon coordinate is True, expected a number",
        ),
        (
            lambda d: _every_annotation(d, mask=[], bbox=[1, 2, 3]),
            r"anns\['\d+'\]: no mask polygon, and its bbox is \[1, 2, 3\]",
        ),
        (lambda d: _every_annotation(d, legibility="blurry"), r"anns\['\d+'\]: legibility 'blurry'"),
        (lambda d: _every_annotation(d, utf8_string=7), r"anns\['\d+'\]: its utf8_string is 7, expected a string"),
        (
            lambda d: _every_annotation(d, image_id=1),
            r"annotation \d+ is listed under image \d+ but belongs to image 1",
        ),
    ],
)
def test_a_damaged_cocotext_file_is_an_error_naming_it(coco_inputs, monkeypatch, damage, message):
    monkeypatch.setattr(jsonpieces, "JSON_PIECE", 64)  # damage near a piece's end is found too
    monkeypatch.setattr(jsonpieces, "ENTRY_LOOKAHEAD", 16)
    data = damage(_cocotext_json(coco_inputs))
    with pytest.raises(coco_ts.InvalidInputError, match=rf"^cocotext\.v2\.json: .*{message}"):
        coco_ts.read_cocotext_words(io.BytesIO(data), "cocotext.v2.json", _wanted(coco_inputs))


def test_a_truncated_cocotext_zip_member_fails_the_words_build(coco_inputs, tmp_path):
    data_dir = str(tmp_path / "inputs")
    shutil.copytree(coco_inputs[0], data_dir)
    with zipfile.ZipFile(os.path.join(data_dir, COCOTEXT), "w") as archive:
        archive.writestr("cocotext.v2.json", _cocotext_json(coco_inputs)[:-40])
    with pytest.raises(
        coco_ts.InvalidInputError, match=r"cocotext\.v2\.zip:cocotext\.v2\.json: .*not valid JSON at byte"
    ):
        _load(coco_ts, data_dir, str(tmp_path / "c"))


# ---- the family mixed ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ist_words(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("ist_words"))
    synthetic.write_inputs(root, words=True)
    return root, ist_s.load(
        root, config="words", cache_dir=str(tmp_path_factory.mktemp("ist_cache")), verification_mode="no_checks"
    )


def test_words_of_all_three_datasets_concatenate_and_interleave(
    ist_words, mlt_words, coco_words, mlt_inputs, coco_inputs
):
    parts = [ist_words[1]["train"], mlt_words["train"], coco_words["train"]]
    assert parts[0].features == parts[1].features == parts[2].features
    mixed = datasets.concatenate_datasets(parts)
    assert mixed.num_rows == sum(part.num_rows for part in parts)
    assert mixed["image_id"] == [i for part in parts for i in part["image_id"]]
    assert [len(p) for row in mixed for p in row["words"]["polygon"]].count(10) > 0  # COCO's pentagons kept
    streams = [
        ist_s.load(ist_words[0], config="words", streaming=True)["train"],
        mlt_s.load(mlt_inputs[0], config="words", streaming=True)["train"],
        coco_ts.load(coco_inputs[0], config="words", streaming=True)["train"],
    ]
    interleaved = datasets.interleave_datasets(streams, stopping_strategy="all_exhausted")
    rows = list(interleaved)
    ids = {row["image_id"] for row in rows}
    assert all(set(part["image_id"]) <= ids for part in parts)
    assert interleaved.features == parts[0].features


def test_default_and_with_unlabeled_concatenate_across_the_family(ist_words, mlt_inputs, coco_inputs, tmp_path):
    cache = str(tmp_path / "c")
    for config, modules in (("default", (ist_s, mlt_s, coco_ts)), ("with_unlabeled", (ist_s, mlt_s))):
        roots = {ist_s: ist_words[0], mlt_s: mlt_inputs[0], coco_ts: coco_inputs[0]}
        parts = [
            m.load(roots[m], config=config, split="train", cache_dir=cache, verification_mode="no_checks")
            for m in modules
        ]
        assert datasets.concatenate_datasets(parts).num_rows == sum(p.num_rows for p in parts)


def test_stats_count_scripts_legibility_and_classes(mlt_words, coco_words, mlt_inputs, coco_inputs):
    _, expected = mlt_inputs
    stats = inspect.compute_stats(mlt_words["train"])
    scripts = [s for item in expected["train"].values() for s in item.words["language"]]
    assert stats["words_by_language"] == {s: scripts.count(s) for s in set(scripts)}
    assert stats["words"] == len(scripts) and stats["words_by_class"] == {}
    rows = list(coco_words["validation"])
    stats = inspect.compute_stats(coco_words["validation"])
    illegible = sum(sum(row["words"]["ignore"]) for row in rows)
    assert stats["dont_care_words"] == illegible
    classes = [c for row in rows for c in row["words"]["class"]]
    assert stats["words_by_class"] == {c: classes.count(c) for c in set(classes)}


def test_preview_outlines_polygons_of_any_length(coco_words):
    rows = coco_words["train"]
    assert any(len(p) == 10 for row in rows for p in row["words"]["polygon"])
    grid = inspect.render_preview(rows, n=rows.num_rows, cell=160)
    colours = {tuple(c) for c in np.asarray(grid.convert("RGB")).reshape(-1, 3)}
    assert inspect.WORD_COLOUR in colours and inspect.DONT_CARE_COLOUR in colours
    canvas = PIL.Image.new("RGB", (20, 20))
    inspect.draw_words(
        PIL.ImageDraw.Draw(canvas), {"polygon": [[2, 2, 10, 2, 12, 8, 6, 12, 2, 8]], "ignore": [False]}, 1.0, (0, 0)
    )
    assert np.asarray(canvas)[2, 6].tolist() == list(inspect.WORD_COLOUR)  # on the pentagon's top edge


def test_detection_targets_take_coco_rows(coco_words):
    row = next(r for r in coco_words["train"] if any(len(p) == 10 for p in r["words"]["polygon"]))
    targets = coco_ts.detection_targets(row["words"], keep_ignored=False)
    assert all(not ignore for ignore in targets["ignore"])
    assert any(polygon.shape == (5, 2) for polygon in targets["polygons"])
    assert targets["classes"] and all(c in ("machine printed", "handwritten", "others") for c in targets["classes"])


def test_raw_words_survive_arrow_unchanged(coco_words):
    for row in raw(coco_words["train"]):
        assert all(isinstance(v, float) for polygon in row["words"]["polygon"] for v in polygon)


@pytest.mark.parametrize("piece", [1, 2, 3])
def test_a_value_cut_by_a_piece_end_is_read_whole(monkeypatch, piece):
    monkeypatch.setattr(jsonpieces, "JSON_PIECE", piece)
    monkeypatch.setattr(jsonpieces, "ENTRY_LOOKAHEAD", piece)
    document = b'{"anns": {"5": 12345}, "imgs": {}, "imgToAnns": {}}'
    with pytest.raises(coco_ts.InvalidInputError, match=r"anns\['5'\]: expected an annotation object, found 12345$"):
        coco_ts.read_cocotext_words(io.BytesIO(document), "x", set())
