"""The sister datasets on the engine: MLT_S (nine image zips, JPEG/PNG/GIF photos, EXIF tags) and
COCO_TS (one huge image zip read only where labelled, flat labels, COCO-Text's splits)."""

import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import zipfile

import numpy as np
import PIL.Image
import pytest

import coco_ts
import mlt_s
from scene_text_seg import inputs, pixels, synthetic
from tests.conftest import raw

BUILDERS = {mlt_s: mlt_s.MltS, coco_ts: coco_ts.CocoTs}


@pytest.fixture(scope="module")
def mlt_inputs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("mlt"))
    return root, synthetic.write_mlt_s_inputs(root)


@pytest.fixture(scope="module")
def coco_inputs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("coco"))
    return root, synthetic.write_coco_ts_inputs(root)


def load(module, data_dir, cache_dir, **options):
    return module.load(data_dir, cache_dir=cache_dir, verification_mode="no_checks", **options)


# ---- MLT_S ------------------------------------------------------------------------------------------------


def test_mlt_photos_of_every_format_sit_on_their_mask_grid(mlt_inputs, cache_dir):
    _, expected = mlt_inputs
    dataset = load(mlt_s, mlt_inputs[0], cache_dir, config="with_unlabeled")
    formats = set()
    for split in ("train", "validation"):
        for row, stored in zip(dataset[split], raw(dataset[split]), strict=True):
            item = expected[split][row["image_id"]]
            formats.add(pixels.image_header(stored["image"]["bytes"], "x").format)
            if item.orientation in (None, 1) or item.grid in ("oriented", None):
                assert stored["image"]["bytes"] == item.photo  # every format passes through as its bytes
            if row["mask"] is None:
                continue
            image, mask = np.asarray(row["image"].convert("L"), float), np.asarray(row["mask"])
            assert image.shape == mask.shape
            assert image[mask == 1].mean() > 150 > 90 > image[mask == 0].mean()
            np.testing.assert_array_equal(mask, item.mask)
    assert formats == {"JPEG", "PNG", "GIF"}


def test_a_png_photo_with_exif_has_its_tag_neutralised_in_place(mlt_inputs, cache_dir):
    _, expected = mlt_inputs
    rows = {r["image_id"]: r for r in raw(load(mlt_s, mlt_inputs[0], cache_dir)["train"])}
    cases = [k for k, v in expected["train"].items() if v.extension == ".png" and v.orientation and v.grid == "raw"]
    assert cases, "the stand-ins hold a PNG photo with an EXIF orientation and a raw-grid mask"
    for image_id in cases:
        before, after = expected["train"][image_id].photo, rows[image_id]["image"]["bytes"]
        assert len(before) == len(after) and sum(a != b for a, b in zip(before, after, strict=True)) <= 5
        assert PIL.Image.open(io.BytesIO(after)).getexif()[0x0112] == 1
        assert PIL.Image.open(io.BytesIO(after)).tobytes() == PIL.Image.open(io.BytesIO(before)).tobytes()


def test_a_gif_of_several_frames_is_logged_and_decodes_to_its_first(mlt_inputs, cache_dir, caplog):
    with caplog.at_level("INFO", logger="datasets.scene_text_seg"):
        train = load(mlt_s, mlt_inputs[0], cache_dir)["train"]
    assert re.search(
        r"ch8_training_images_4\.zip:img_7\.gif: a GIF of 2 frames; datasets\.Image decodes the first", caplog.text
    )
    row = next(r for r in train if r["image_id"] == "img_7")
    first = PIL.Image.open(io.BytesIO(mlt_inputs[1]["train"]["img_7"].photo))
    np.testing.assert_array_equal(np.asarray(row["image"].convert("RGB")), np.asarray(first.convert("RGB")))


def test_a_stem_in_two_image_zips_names_both(mlt_inputs, tmp_path, cache_dir):
    from tests.conftest import copy_with

    data_dir = copy_with(mlt_inputs, tmp_path, "ch8_training_images_8.zip", add={"img_1.PNG": b"x"})
    with pytest.raises(
        mlt_s.InvalidInputError,
        match=r"share the name 'img_1'.*images_1\.zip:img_1\.jpg and ch8_training_images_8\.zip:img_1\.PNG",
    ):
        load(mlt_s, data_dir, cache_dir)


def test_mlt_layout_reads_validation_as_its_own_split(tmp_path, cache_dir):
    layout = synthetic.Layout("labels/", {"train": "TrainingSet", "validation": "val"})
    synthetic.write_mlt_s_inputs(str(tmp_path / "a"), layout=layout)
    assert set(load(mlt_s, str(tmp_path / "a"), cache_dir)) == {"train", "validation"}
    wrong = synthetic.Layout("labels/", {"train": "train", "validation": "test"})
    synthetic.write_mlt_s_inputs(str(tmp_path / "b"), layout=wrong)
    with pytest.raises(
        mlt_s.InvalidInputError, match=r"cannot tell the split of 4 label\(s\): MLT_S_labels\.zip:labels/test/"
    ):
        load(mlt_s, str(tmp_path / "b"), cache_dir)


def _register(monkeypatch, module, data_dir, roles):
    """Make the stand-in archives of `roles` the 'published' ones: their md5 in the table."""
    table = []
    for spec in module.SPEC.inputs:
        if spec.role in roles:
            md5 = inputs.hash_file(os.path.join(data_dir, spec.filename), ("md5",))["md5"]
            spec = dataclasses.replace(spec, size=None, digest=f"md5:{md5}")
        table.append(spec)
    monkeypatch.setattr(BUILDERS[module], "SPEC", dataclasses.replace(module.SPEC, inputs=tuple(table)))


def test_genuine_mlt_archives_must_give_the_published_counts(mlt_inputs, cache_dir, monkeypatch):
    roles = [spec.role for spec in mlt_s.SPEC.inputs if spec.digest]
    _register(monkeypatch, mlt_s, mlt_inputs[0], roles)
    with pytest.raises(mlt_s.InvalidInputError, match=r"gives 14 train rows, expected 5540 .*MLT_S labels zip"):
        mlt_s.load(mlt_inputs[0], cache_dir=cache_dir)


# ---- COCO_TS ----------------------------------------------------------------------------------------------


def test_coco_reads_only_the_labelled_members(coco_inputs, cache_dir, monkeypatch):
    _, expected = coco_inputs
    read = []
    real = inputs.Source.read

    def counting(self, member):
        read.append((self.label, member))
        return real(self, member)

    monkeypatch.setattr(inputs.Source, "read", counting)
    dataset = load(coco_ts, coco_inputs[0], cache_dir)
    labelled = [k for k, v in expected["train"].items() if v.mask is not None]
    assert dataset["train"]["image_id"] == labelled
    images_read = sorted(member for label, member in read if label == "train2014.zip")
    assert images_read == sorted(f"train2014/{k}.jpg" for k in labelled)


def test_coco_grey_photos_pass_through(coco_inputs, cache_dir):
    _, expected = coco_inputs
    dataset = load(coco_ts, coco_inputs[0], cache_dir)["train"]
    modes = {row["image"].mode for row in dataset}
    assert modes == {"L", "RGB"}
    for row in raw(dataset):
        item = expected["train"][row["image_id"]]
        if item.orientation in (None, 1) or item.grid == "oriented":
            assert row["image"]["bytes"] == item.photo
    ready = coco_ts.for_training(dataset, size=(24, 40))
    assert all(row["pixel_values"].shape == (3, 24, 40) for row in ready)


def test_cocotext_splits_divide_by_set_and_log_the_rest(coco_inputs, cache_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="datasets.scene_text_seg"):
        dataset = load(coco_ts, coco_inputs[0], cache_dir, config="cocotext_splits")
    with zipfile.ZipFile(os.path.join(coco_inputs[0], "cocotext.v2.zip")) as archive:
        sets = {e["file_name"][:-4]: e["set"] for e in json.loads(archive.read("cocotext.v2.json"))["imgs"].values()}
    labelled = [k for k, v in coco_inputs[1]["train"].items() if v.mask is not None]
    assert dataset["train"]["image_id"] == [k for k in labelled if sets.get(k) == "train"]
    assert dataset["validation"]["image_id"] == [k for k in labelled if sets.get(k) == "val"]
    outside = [k for k in labelled if k not in sets]
    assert (
        outside
        and f"{len(outside)} labelled image(s) are in no split of cocotext.v2.zip:cocotext.v2.json" in caplog.text
    )


class Trickle(io.RawIOBase):
    """A stream that hands out a few bytes a read, so objects are cut at every possible place."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step = data, step

    def read(self, size=-1):
        piece, self.data = self.data[: self.step], self.data[self.step :]
        return piece


@pytest.mark.parametrize("step", [1, 7, 64, 1 << 22])
def test_cocotext_sets_are_read_in_pieces(step, monkeypatch):
    document = {
        "anns": {"1": {"id": 1, "bbox": [1, 2, 3, 4], "utf8_string": "{weird}"}},
        "imgs": {
            "9": {"id": 9, "set": "train", "file_name": "COCO_train2014_000000000009.jpg"},
            "18": {"file_name": "COCO_train2014_000000000018.jpg", "width": 3, "set": "val"},
        },
    }
    data = json.dumps(document, indent=1).encode()
    assert coco_ts.read_cocotext_sets(Trickle(data, step), "x.json") == {
        "coco_train2014_000000000009": "train",
        "coco_train2014_000000000018": "validation",
    }
    bad = data.replace(b'"val"', b'"test"')
    with pytest.raises(
        coco_ts.InvalidInputError, match=r"x\.json: image 'COCO_train2014_000000000018\.jpg' is in set 'test'"
    ):
        coco_ts.read_cocotext_sets(Trickle(bad, step), "x.json")


def test_cocotext_is_needed_by_its_config_only(coco_inputs, tmp_path, cache_dir):
    import shutil

    data_dir = str(tmp_path / "inputs")
    shutil.copytree(coco_inputs[0], data_dir)
    os.remove(os.path.join(data_dir, "cocotext.v2.zip"))
    assert load(coco_ts, data_dir, cache_dir)["train"].num_rows == 15
    with pytest.raises(
        coco_ts.MissingInputError,
        match=r"cocotext\.v2\.zip \(or the extracted folder cocotext\.v2/\), from https://bgshih",
    ):
        load(coco_ts, data_dir, cache_dir, config="cocotext_splits")


def test_genuine_coco_archives_must_give_the_published_count(coco_inputs, cache_dir, monkeypatch):
    _register(monkeypatch, coco_ts, coco_inputs[0], ["train_images"])
    with pytest.raises(coco_ts.InvalidInputError, match=r"gives 15 train rows, expected 14690"):
        coco_ts.load(coco_inputs[0], cache_dir=cache_dir)


# ---- one command line, one card generator ------------------------------------------------------------------


@pytest.mark.parametrize("module", [mlt_s, coco_ts], ids=lambda m: m.__name__)
def test_each_script_is_its_own_command_line(module, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = module.main(["demo", "--out", "demo.png"])
    out = capsys.readouterr().out
    assert code == 0 and f"$ python {module.__name__}.py preview" in out
    assert PIL.Image.open(tmp_path / "demo.png").size[0] > 600
    assert module.main(["card", "--check"]) == 0


@pytest.mark.parametrize("module", [mlt_s, coco_ts], ids=lambda m: m.__name__)
def test_each_card_says_what_users_need(module):
    from huggingface_hub import DatasetCard

    from scene_text_seg import publish

    card = DatasetCard.load(publish.card_path(module.SPEC))
    assert card.data.license == "cc-by-4.0" and card.data.pretty_name == module.SPEC.pretty_name
    assert [c["config_name"] for c in card.data.configs] == [c.name for c in BUILDERS[module].BUILDER_CONFIGS]
    text = card.text
    assert "| 255 | uncertain |" in text and "ignore index" in text and "private or gated" in text
    assert "@inproceedings{bonechi2019cocots" in text and f"{module.__name__}.load(" in text


def test_hash_names_are_what_the_tables_say():
    for module in (mlt_s, coco_ts):
        for spec in module.SPEC.inputs:
            if spec.digest:
                algorithm, value = spec.digest.split(":")
                assert len(value) == hashlib.new(algorithm).digest_size * 2, spec.name
