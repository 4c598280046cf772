"""Nothing silently wrong after the build: COCO-Text's sets read whole and checked, a split assignment
that names no labelled image, archives nested in inputs, word files' line breaks and coordinate range,
and EXIF orientations outside 1-8."""

import io
import json
import os
import random
import shutil
import zipfile

import datasets
import numpy as np
import PIL.Image
import PIL.PngImagePlugin
import pytest

import coco_ts
import ist_s
import mlt_s
from scene_text_seg import builder, jsonpieces, pixels, synthetic, words
from tests.conftest import build, copy_with, raw

COCOTEXT = "cocotext.v2.zip:cocotext.v2.json"
TRAIN_WORDS = "ch4_training_localization_transcription_gt.zip"


def load(module, data_dir, cache_dir, **options):
    return module.load(data_dir, cache_dir=cache_dir, verification_mode="no_checks", **options)


class Trickle(io.RawIOBase):
    """A stream that hands out `step` bytes a read, so pieces end at every possible place."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step = data, step

    def read(self, size=-1):
        size = self.step if size < 0 else min(size, self.step)
        piece, self.data = self.data[:size], self.data[size:]
        return piece


def read_sets(data: bytes, step: int = 1 << 22) -> dict:
    return coco_ts.read_cocotext_sets(Trickle(data, step), "x.json")


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of 7 characters and a lookahead of 5: every entry and most strings span pieces."""
    monkeypatch.setattr(jsonpieces, "JSON_PIECE", 7)
    monkeypatch.setattr(jsonpieces, "ENTRY_LOOKAHEAD", 5)


def document(imgs_first: bool, strings=("STOP", "{weird}")) -> bytes:
    """A COCO-Text-shaped document: anns with nested lists, imgToAnns, imgs at the start or the end."""
    anns = {
        str(n): {
            "mask": [1.5, 2.25, 3e2, -4.0, 5, 6.0],
            "bbox": [1.0, 2.0, 3.0, 4.0],
            "utf8_string": strings[n % len(strings)],
            "legibility": "legible",
            "class": "machine printed",
            "language": "english",
            "area": 12.5,
            "image_id": 9 * n,
            "id": n,
            "nested": {"deeper": [[1, [2]], {"x": None}], "flag": True},
        }
        for n in range(1, 1 + max(4, len(strings)))
    }
    imgs = {
        str(9 * n): {"id": 9 * n, "set": "val" if n % 3 == 0 else "train", "file_name": synthetic.coco_name(n) + ".jpg"}
        for n in range(1, 5)
    }
    parts = [
        ("anns", anns),
        ("imgToAnns", {"9": [1], "18": [2, 3]}),
        ("cats", {}),
        ("info", {"v": "2.0", "year": 20170, "rate": -1.5e-3}),
    ]
    parts = [("imgs", imgs), *parts] if imgs_first else [*parts, ("imgs", imgs)]
    return json.dumps(dict(parts)).encode()


def reference(data: bytes) -> dict:
    """What read_cocotext_sets must return, from json.loads of the whole document."""
    sets = {"train": "train", "val": "validation"}
    imgs = json.loads(data.decode("utf-8-sig"))["imgs"].values()
    return {e["file_name"].rsplit(".", 1)[0].lower(): sets[e["set"]] for e in imgs}


# ---- read_cocotext_sets on its own ---------------------------------------------------------------------------


@pytest.mark.parametrize("imgs_first", [True, False])
@pytest.mark.parametrize("step", [1, 3, 64, 1 << 22])
def test_a_valid_document_gives_every_image_with_imgs_anywhere(imgs_first, step, monkeypatch):
    data = document(imgs_first)
    expected = reference(data)
    assert len(expected) == 4 and set(expected.values()) == {"train", "validation"}
    assert read_sets(data, step) == expected
    assert read_sets(json.dumps(json.loads(data), indent=2).encode(), step) == expected  # whitespace everywhere
    monkeypatch.setattr(jsonpieces, "JSON_PIECE", 7)
    monkeypatch.setattr(jsonpieces, "ENTRY_LOOKAHEAD", 5)
    assert read_sets(data, step) == expected


def test_piece_ends_inside_strings_with_escaped_quotes_and_braces(small_pieces):
    strings = ('a\\"}{\\', '"}]', "\\", 'x"', "caf\u00e9 \u6587\u5b57 \U0001f600", "\u2028")
    data = document(imgs_first=False, strings=strings)
    assert rb"\\\"" in data and b"}{" in data  # escaped backslash before an escaped quote, braces in strings
    expected = reference(data)
    raw_utf8 = json.dumps(json.loads(data), ensure_ascii=False).encode()  # multi-byte characters cut by pieces
    for step in range(1, 12):
        assert read_sets(data, step) == expected
        assert read_sets(raw_utf8, step) == expected


def test_long_strings_and_numbers_across_every_piece_boundary(monkeypatch):
    """Strings longer than the text held, and numbers that the end of the text held could cut short."""
    long = 'x\\"{}[], ' * 40 + "\u00e9"
    data = json.dumps(
        {
            "version": 20170,
            "info": {"year": 20170, "v": long, "rate": -1.5e-3, "n": 12345678901234567890},
            "anns": {str(n): {"utf8_string": long, "area": 1234.5678} for n in range(3)} | {"3": 98765},
            "imgs": {str(n): {"file_name": f"{long}{n}.jpg", "set": ["train", "val"][n % 2]} for n in range(3)},
            "last": 31415,
        }
    ).encode()
    expected = reference(data)
    for lookahead in (1, 4, 16, 1 << 20):
        monkeypatch.setattr(jsonpieces, "ENTRY_LOOKAHEAD", lookahead)
        for piece in range(1, 40):
            monkeypatch.setattr(jsonpieces, "JSON_PIECE", piece)
            assert read_sets(data) == expected, (lookahead, piece)


@pytest.mark.parametrize("pieces", ["large", "small"])
def test_a_document_cut_anywhere_is_an_error_never_fewer_images(pieces, monkeypatch):
    if pieces == "small":
        monkeypatch.setattr(jsonpieces, "JSON_PIECE", 5)
        monkeypatch.setattr(jsonpieces, "ENTRY_LOOKAHEAD", 3)
    data = document(imgs_first=True, strings=('q\\"}', "x"))
    assert data.rstrip() == data  # the last byte closes the document: every shorter prefix is invalid
    for cut in range(len(data)):
        with pytest.raises(coco_ts.InvalidInputError, match=r"^x\.json: not valid JSON at byte [\d,]+ of [\d,]+: "):
            read_sets(data[:cut], 4096)


def test_the_error_names_the_byte_where_reading_failed():
    data = document(imgs_first=False)
    for bad in [
        data + b" {}",  # garbage after the end
        data[:-1] + b"]",  # unbalanced: ] closes the document's {
        data.replace(b'"legibility"', b'"legibility', 1),  # a quote lost
        data.replace(b"12.5", b"12..5", 1),  # a number damaged
        data.replace(b"true", b"True", 1),
    ]:
        with pytest.raises(json.JSONDecodeError) as expected:
            json.loads(bad)
        at = expected.value.pos  # where json stops (the document is ASCII: characters are bytes)
        with pytest.raises(coco_ts.InvalidInputError, match=rf"x\.json: not valid JSON at byte {at:,} of "):
            read_sets(bad)
    with pytest.raises(coco_ts.InvalidInputError, match=r"x\.json: not UTF-8 at byte 40 "):
        read_sets(data[:40] + b"\xff" + data[40:])


@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_byte_offsets_count_bytes_of_multibyte_characters(piece, monkeypatch):
    monkeypatch.setattr(jsonpieces, "JSON_PIECE", piece)
    monkeypatch.setattr(jsonpieces, "ENTRY_LOOKAHEAD", 5)
    text = json.dumps(json.loads(document(False, ("caf\u00e9 \u6587\u5b57 \U0001f600",))), ensure_ascii=False)
    data = text.encode()
    assert len(data) > len(text)
    with pytest.raises(coco_ts.InvalidInputError, match=rf"x\.json: not valid JSON at byte {len(data) + 1:,}(:| of )"):
        read_sets(data + b" {}")
    cut = data.index("\u6587".encode()) + 1  # inside a three-byte character
    with pytest.raises(coco_ts.InvalidInputError, match=rf"x\.json: not UTF-8 at byte {cut - 1:,} "):
        read_sets(data[:cut] + b"A" + data[cut + 1 :])


def test_image_entries_are_json_objects_checked_whole():
    data = document(imgs_first=False)
    name = synthetic.coco_name(3) + ".jpg"  # in val
    twice = data.replace(
        b'"cats": {}', b'"cats": {}, "imgs": {"1": {"set": "train", "file_name": "%s"}}' % name.encode()
    )
    with pytest.raises(coco_ts.InvalidInputError, match=rf"x\.json: image '{name}' is in two sets, 'train' and 'val'"):
        read_sets(twice)
    upper = data[:-2] + b', "999": {"set": "train", "file_name": "%s"}}}' % name.upper().encode()
    with pytest.raises(coco_ts.InvalidInputError, match=r"in two sets, 'val' and 'train'"):
        read_sets(upper)
    regex_bait = data.replace(b'"v": "2.0"', b'"v": {"file_name": "a.jpg", "set": "test"}')  # not an imgs entry
    assert read_sets(regex_bait) == reference(data)
    no_set = data.replace(b'"set": "train", ', b"", 1)
    with pytest.raises(coco_ts.InvalidInputError, match=r"x\.json: imgs entry '9' is \{.*expected an object with"):
        read_sets(no_set)
    no_val = data.replace(b'"set": "val"', b'"set": "train"')
    with pytest.raises(coco_ts.InvalidInputError, match=r"x\.json: no image in set 'val' among its 4 images"):
        read_sets(no_val)


def test_random_damage_is_caught_exactly_as_json_would(small_pieces):
    """A damaged byte either leaves what json.loads reads (same result) or is an error; never another answer."""
    data = document(imgs_first=True, strings=('a\\"}{', "b"))
    expected, rng = reference(data), random.Random(0)
    for _ in range(400):
        at = rng.randrange(len(data))
        damaged = data[:at] + bytes([rng.choice(b'{}[]",:\\ 0a.-e')]) + data[at + 1 :]
        try:
            json.loads(damaged)
            readable = True
        except ValueError:
            readable = False
        try:
            found = read_sets(damaged, rng.choice([1, 5, 4096]))
        except coco_ts.InvalidInputError:
            continue
        assert readable, damaged
        assert found == reference(damaged)
        damaged_imgs = at > data.index(b'"imgs"') and at < data.index(b'"anns"')
        assert found == expected or damaged_imgs


def write_cocotext_like(path: str, n_images: int = 63_686, n_anns: int = 240_000, seed: int = 0) -> None:
    """A file shaped like COCO-Text v2 (anns with mask, bbox, utf8_string, ...; imgToAnns; imgs last):
    at the default size ~86 MB, what the reader's time was measured on."""
    rng = random.Random(seed)
    ids = [9 * (n + 1) for n in range(n_images)]
    owner: dict = {}
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"cats": {}, "anns": {')
        for number in range(1, n_anns + 1):
            image = ids[rng.randrange(n_images)]
            owner.setdefault(image, []).append(number)
            box = [round(rng.uniform(0, 600), 1), round(rng.uniform(0, 400), 1), round(rng.uniform(1, 90), 1), 9.5]
            ann = {
                "mask": [round(rng.uniform(0, 640), 1) for _ in range(2 * rng.randint(4, 12))],
                "class": "machine printed",
                "bbox": box,
                "image_id": image,
                "id": number,
                "language": "english",
                "area": round(rng.uniform(1, 3000), 2),
                "utf8_string": rng.choice(["STOP", 'say "hi"', "{brace}", "caf\u00e9", "a\\b", "}]"]),
                "legibility": "legible",
            }
            f.write(("" if number == 1 else ", ") + f'"{number}": ' + json.dumps(ann))
        f.write('}, "imgToAnns": {' + ", ".join(f'"{i}": {json.dumps(owner.get(i, []))}' for i in ids))
        imgs = (
            {
                "id": i,
                "set": "val" if n % 5 == 0 else "train",
                "width": 640,
                "file_name": f"COCO_train2014_{i:012d}.jpg",
            }
            for n, i in enumerate(ids)
        )
        f.write('}, "imgs": {' + ", ".join(f'"{e["id"]}": {json.dumps(e)}' for e in imgs))
        f.write('}, "info": {"version": "2.0", "author": "stand-in"}}')


def test_a_cocotext_shaped_file_reads_as_json_reads_it(tmp_path):
    path = str(tmp_path / "cocotext.v2.json")
    write_cocotext_like(path, n_images=600, n_anns=2400)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "rb") as f:
        assert coco_ts.read_cocotext_sets(f, "x.json") == reference(data)


# ---- COCO_TS builds ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coco_inputs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("coco"))
    return root, synthetic.write_coco_ts_inputs(root)


def with_cocotext(coco_inputs, folder, change) -> str:
    """A copy of the COCO_TS inputs whose cocotext.v2.json is `change(original bytes)`."""
    data_dir = os.path.join(folder, "inputs")
    shutil.copytree(coco_inputs[0], data_dir)
    path = os.path.join(data_dir, "cocotext.v2.zip")
    with zipfile.ZipFile(path) as archive:
        original = archive.read("cocotext.v2.json")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("cocotext.v2.json", change(original))
    return data_dir


def test_a_truncated_cocotext_file_fails_the_build_naming_it(coco_inputs, tmp_path, cache_dir):
    data_dir = with_cocotext(coco_inputs, tmp_path, lambda data: data[: len(data) * 2 // 3])
    with pytest.raises(coco_ts.InvalidInputError, match=rf"^{COCOTEXT}: not valid JSON at byte [\d,]+ of [\d,]+"):
        load(coco_ts, data_dir, cache_dir, config="cocotext_splits")


def test_an_image_in_two_sets_fails_the_build_naming_both(coco_inputs, tmp_path, cache_dir):
    name = synthetic.coco_name(3) + ".jpg"  # in val

    def twice(data):
        again = b', "99999": {"set": "train", "file_name": "%s"}}, "imgToAnns"' % name.encode()
        return data.replace(b'}, "imgToAnns"', again)

    with pytest.raises(
        coco_ts.InvalidInputError, match=rf"{COCOTEXT}: image '{name}' is in two sets, 'val' and 'train'"
    ):
        load(coco_ts, with_cocotext(coco_inputs, tmp_path, twice), cache_dir, config="cocotext_splits")


def test_a_cocotext_file_for_other_images_is_a_clear_error(coco_inputs, tmp_path, cache_dir):
    def other(data):
        return data.replace(b"COCO_train2014_", b"COCO_val2014_")

    labelled = sum(item.mask is not None for item in coco_inputs[1]["train"].values())
    with pytest.raises(
        coco_ts.InvalidInputError,
        match=rf"^{COCOTEXT}: none of the {labelled} labelled image\(s\) \(COCO_train2014_\d+.*\) is in its splits, "
        r"which name \d+ other image\(s\) \(coco_val2014_\d+.*is it the split file for these images\?",
    ):
        load(coco_ts, with_cocotext(coco_inputs, tmp_path, other), cache_dir, config="cocotext_splits")


def test_a_split_left_empty_by_the_assignment_is_a_clear_error(coco_inputs, tmp_path, cache_dir):
    labelled = {k for k, v in coco_inputs[1]["train"].items() if v.mask is not None}

    def no_labelled_val(data):
        document = json.loads(data)
        for entry in document["imgs"].values():
            if entry["file_name"][:-4] in labelled:
                entry["set"] = "train"
        return json.dumps(document).encode()

    with pytest.raises(
        coco_ts.InvalidInputError,
        match=rf"^{COCOTEXT}: puts none of the {len(labelled)} labelled image\(s\) in validation "
        r"\(\d+ in train, 1 in no split\)",
    ):
        load(coco_ts, with_cocotext(coco_inputs, tmp_path, no_labelled_val), cache_dir, config="cocotext_splits")


# ---- archives inside the inputs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlt_inputs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("mlt"))
    return root, synthetic.write_mlt_s_inputs(root)


def test_a_double_zipped_image_archive_is_named_not_dropped(mlt_inputs, tmp_path, cache_dir):
    data_dir = os.path.join(tmp_path, "inputs")
    shutil.copytree(mlt_inputs[0], data_dir)
    path = os.path.join(data_dir, "ch8_training_images_1.zip")
    with open(path, "rb") as f:
        inner = f.read()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ch8_training_images_1.zip", inner)
    for config in ("with_unlabeled", "default"):
        with pytest.raises(
            mlt_s.InvalidInputError,
            match=r"^ch8_training_images_1\.zip:ch8_training_images_1\.zip: an archive inside "
            r"ch8_training_images_1\.zip, whose files are not read: extract it and pass the inner archive or folder",
        ):
            load(mlt_s, data_dir, cache_dir, config=config)


@pytest.mark.parametrize("name", ["foo.zip", "more/Foo.ZIP", "x.tar", "x.TAR.GZ", "x.tgz", "x.rar", "x.7z"])
def test_every_kind_of_nested_archive_is_named(mlt_inputs, tmp_path, cache_dir, name):
    data_dir = copy_with(mlt_inputs, tmp_path, "ch8_validation_images.zip", add={name: b"PK\x03\x04"})
    with pytest.raises(mlt_s.InvalidInputError, match=rf"^ch8_validation_images\.zip:{name}: an archive inside"):
        load(mlt_s, data_dir, cache_dir, config="with_unlabeled")


def test_nested_archives_in_labels_and_folders_are_named_junk_is_not(zip_inputs, tmp_path, cache_dir):
    labels = copy_with(zip_inputs, tmp_path / "a", "IST_Segmentation_labels.zip", add={"extra/test.zip": b"PK"})
    with pytest.raises(ist_s.InvalidInputError, match=r"IST_Segmentation_labels\.zip:extra/test\.zip: an archive"):
        build(labels, cache_dir)
    folder = os.path.join(tmp_path, "b")
    synthetic.write_inputs(folder, form="folder")
    with open(os.path.join(folder, "ch4_test_images", "more.7z"), "wb") as f:
        f.write(b"7z")
    with pytest.raises(ist_s.InvalidInputError, match=r"ch4_test_images/more\.7z: an archive inside ch4_test_images/"):
        build(folder, cache_dir)
    junk = {"__MACOSX/._img.zip": b"x", ".hidden.zip": b"x", "sub/.cache/a.tar": b"x"}
    data_dir = copy_with(zip_inputs, tmp_path / "c", "ch4_training_images.zip", add=junk)
    assert build(data_dir, cache_dir)["train"].num_rows == 10


def test_a_listing_is_checked_whole_before_two_images_of_one_name_are_named(zip_inputs, tmp_path, cache_dir):
    """A nested archive anywhere in the listing is the error, before a stem named twice earlier in it."""
    add = {"IMG_1.JPG": b"x", "zz/inner.zip": b"PK"}
    data_dir = copy_with(zip_inputs, tmp_path, "ch4_training_images.zip", add=add)
    with pytest.raises(ist_s.InvalidInputError, match=r"ch4_training_images\.zip:zz/inner\.zip: an archive inside"):
        build(data_dir, cache_dir)
    data_dir = copy_with(zip_inputs, tmp_path / "b", "ch4_training_images.zip", add={"IMG_1.JPG": b"x"})
    with pytest.raises(ist_s.InvalidInputError, match=r"two files share the name 'IMG_1' \(ignoring case\)"):
        build(data_dir, cache_dir)


# ---- word files --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def word_inputs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("word_inputs"))
    return root, synthetic.write_inputs(root, words=True)


def test_line_breaks_other_than_lf_and_crlf_stay_in_the_transcription(word_inputs, tmp_path, cache_dir):
    endings = ["\u2028", "\x85", "\x0c", "a\rb", "\u2029", "\x1c"]
    lines = "".join(f"1,2,3,2,3,4,1,4,word{ending}\r\n" for ending in endings) + "5,6,7,6,7,8,5,8,last\n"
    assert words.parse_words(lines.encode(), "x")["text"] == [f"word{e}" for e in endings] + ["last"]
    data_dir = copy_with(word_inputs, tmp_path, TRAIN_WORDS, replace={"gt_img_1.txt": lines.encode()})
    row = build(data_dir, cache_dir, config="words")["train"][0]
    assert row["image_id"] == "img_1" and row["words"]["text"] == [f"word{e}" for e in endings] + ["last"]


@pytest.mark.parametrize("number", ["1" + "0" * 39, "-" + "9" * 40])
def test_a_coordinate_beyond_the_column_type_names_the_file_and_line(word_inputs, tmp_path, cache_dir, number):
    with zipfile.ZipFile(os.path.join(word_inputs[0], TRAIN_WORDS)) as archive:
        good = archive.read("gt_img_2.txt")
    line = f"1,2,3,2,3,4,1,{number},word\r\n".encode()
    data_dir = copy_with(word_inputs, tmp_path, TRAIN_WORDS, replace={"gt_img_2.txt": good + line})
    expected = rf"^{TRAIN_WORDS}:gt_img_2\.txt: line 3: the polygon coordinate -?[0-9.e+]+ does not fit float32"
    with pytest.raises(Exception, match=expected) as error:
        build(data_dir, cache_dir, config="words")
    assert isinstance(builder.input_error_in(error.value), ist_s.InvalidInputError)


def test_coordinates_beyond_int32_are_stored_now_that_polygons_are_float32():
    parsed = words.parse_words(b"1,2,3,2,3,4,1,2147483648,word\r\n", "gt.txt")
    assert parsed["polygon"] == [[1.0, 2.0, 3.0, 2.0, 3.0, 4.0, 1.0, 2147483648.0]]
    largest = float(np.finfo(np.float32).max)
    flipped = {**words.empty_words(), "polygon": [[-largest, 0, 0, 0, 0, 1, -largest, 1]]}
    assert words.orient_words(flipped, (10, 10), 2, "gt.txt")["polygon"][0][0] == 9 + largest


# ---- EXIF orientations outside 1-8 -------------------------------------------------------------------------


def with_orientation(photo: bytes, orientation: int) -> bytes:
    """The photo re-saved with an EXIF Orientation tag of `orientation` (any 16-bit value)."""
    exif = PIL.Image.Exif()
    exif[pixels.EXIF_ORIENTATION] = orientation
    buffer = io.BytesIO()
    PIL.Image.open(io.BytesIO(photo)).save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_an_orientation_outside_1_to_8_is_no_orientation(word_inputs, tmp_path, cache_dir, orientation):
    item = word_inputs[1]["train"]["img_1"]
    assert item.orientation is None and item.grid == "raw" and item.mask.shape[0] != item.mask.shape[1]
    photo = with_orientation(item.photo, orientation)
    assert PIL.Image.open(io.BytesIO(photo)).getexif()[pixels.EXIF_ORIENTATION] == orientation
    decoded = datasets.Image().decode_example({"path": None, "bytes": photo})
    assert decoded.size == (item.mask.shape[1], item.mask.shape[0])  # datasets leaves it as it is
    assert pixels.jpeg_header(photo, "x") == (decoded.size, 1)
    data_dir = copy_with(word_inputs, tmp_path, "ch4_training_images.zip", replace={"img_1.jpg": photo})
    for config in ("default", "words"):
        dataset = build(data_dir, os.path.join(cache_dir, config), config=config)["train"]
        row, stored = dataset[0], raw(dataset)[0]
        assert row["image_id"] == "img_1"
        assert stored["image"]["bytes"] == photo  # passed through: no tag to neutralise
        assert row["image"].size == row["mask"].size
        np.testing.assert_array_equal(np.asarray(row["mask"]), item.mask)
        if config == "words":
            assert row["words"]["polygon"] == item.words["polygon"]  # raw grid = decoded grid


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_png_and_xmp_orientations_read_as_pil_reads_them(orientation):
    image = PIL.Image.new("RGB", (5, 3))
    exif = PIL.Image.Exif()
    exif[pixels.EXIF_ORIENTATION] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif.tobytes())
    assert pixels.image_header(buffer.getvalue(), "x").orientation == 1
    # An EXIF tag, even 1 or out of range, hides XMP's (PIL reads XMP only when EXIF has no tag).
    info = PIL.PngImagePlugin.PngInfo()
    info.add_text("XML:com.adobe.xmp", '<x tiff:Orientation="6"/>')
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif.tobytes(), pnginfo=info)
    decoded = datasets.Image().decode_example({"path": None, "bytes": buffer.getvalue()})
    assert decoded.size == (5, 3) and pixels.image_header(buffer.getvalue(), "x").orientation == 1
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", xmp=f'<x tiff:Orientation="{orientation % 10}"/>'.encode())
    turned = datasets.Image().decode_example({"path": None, "bytes": jpeg.getvalue()})
    assert pixels.jpeg_header(jpeg.getvalue(), "x") == ((5, 3), 5 if orientation == 65535 else 1)
    assert turned.size == ((3, 5) if orientation == 65535 else (5, 3))  # XMP "5" turns it, "0" and "9" do not


def test_a_gif_orientation_is_what_datasets_applies():
    """An XMP application block in a GIF, as some tools write it: the installed PIL ignores it."""
    plain = io.BytesIO()
    PIL.Image.new("RGB", (5, 3)).save(plain, "GIF")
    data, xmp = plain.getvalue(), b'<x tiff:Orientation="6"/>'
    at = 13 + 3 * 2 ** ((data[10] & 7) + 1)  # after the header and global colour table
    gif = data[:at] + b"\x21\xff\x0bXMP DataXMP" + bytes([len(xmp)]) + xmp + b"\x00" + data[at:]
    decoded = datasets.Image().decode_example({"path": None, "bytes": gif})
    header = pixels.image_header(gif, "x")
    assert header.size == (5, 3) and pixels.decoded_size(header.size, header.orientation) == decoded.size
