"""TextSeg on the engine: its tar.gz inputs, split file, label values, word files and configs, on stand-ins."""

import gzip
import io
import json
import os
import re
import shutil
import struct
import tarfile
import zlib

import numpy as np
import PIL.Image
import PIL.PngImagePlugin
import pytest

import textseg
from scene_text_seg import inputs, synthetic
from scene_text_seg.errors import InvalidInputError, MissingInputError
from tests.conftest import copy_of, raw


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("textseg"))
    return folder, synthetic.write_textseg_inputs(folder, seed=7, n_images=12)


def load(data_dir, cache_dir, config="default", **kwargs):
    return textseg.load(data_dir, config=config, cache_dir=cache_dir, verification_mode="no_checks", **kwargs)


def decoded(png_bytes):
    return np.asarray(PIL.Image.open(io.BytesIO(png_bytes)))


def check_rows(dataset, expected, mask_of=lambda item: item.mask):
    assert set(dataset) == {"train", "validation", "test"}
    for split, rows in dataset.items():
        rows = raw(rows)
        assert sorted(row["image_id"] for row in rows) == sorted(k for k, v in expected.items() if v.split == split)
        for row in rows:
            item = expected[row["image_id"]]
            assert row["image"]["bytes"] == item.photo  # untouched
            np.testing.assert_array_equal(decoded(row["mask"]["bytes"]), mask_of(item))
            assert row["mask_classes"] == [label for label in (0, 1) if (mask_of(item) == label).any()]


def test_default_decodes_every_value_and_splits_as_the_file_says(stand_ins, tmp_path):
    folder, expected = stand_ins
    assert {200, 100, 255} <= set(np.unique(np.concatenate([e.native.ravel() for e in expected.values()])))
    check_rows(load(folder, str(tmp_path)), expected)


def test_v1_reads_the_papers_labels(stand_ins, tmp_path):
    folder, expected = stand_ins
    check_rows(load(folder, str(tmp_path), "v1"), expected, mask_of=lambda item: item.mask_v1)


def test_words_come_from_the_anno_files(stand_ins, tmp_path):
    folder, expected = stand_ins
    dataset = load(folder, str(tmp_path), "words")
    checked = 0
    for rows in dataset.values():
        for row in rows.select_columns(["image_id", "words"]):
            words = expected[row["image_id"]].words
            assert row["words"]["text"] == words["text"]
            assert row["words"]["ignore"] == [False] * len(words["text"])
            assert [list(map(float, p)) for p in words["polygon"]] == row["words"]["polygon"]
            checked += len(words["text"])
    assert checked > 5


@pytest.mark.parametrize("form", ["tar", "folder"])
def test_a_plain_tar_and_the_extracted_folders_load_the_same(form, tmp_path):
    expected = synthetic.write_textseg_inputs(str(tmp_path / "in"), seed=7, n_images=12, form=form)
    check_rows(load(str(tmp_path / "in"), str(tmp_path / "cache")), expected)


def rewrite_tar(path, change):
    """Rewrite a .tar.gz with `change(members)` applied to its [(TarInfo, bytes)] list."""
    with tarfile.open(path) as archive:
        members = [(info, archive.extractfile(info).read() if info.isfile() else b"") for info in archive]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info, data in change(members):
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    with open(path, "wb") as f:
        f.write(gzip.compress(buffer.getvalue()))


def test_a_value_outside_the_table_is_an_error_naming_the_member(stand_ins, tmp_path):
    data_dir = copy_of(stand_ins[0], tmp_path)

    def paint_50(members):
        for info, data in members:
            if info.name.endswith("a00001_maskfg.png"):
                values = decoded(data).copy()
                values[0, 0] = 50
                buffer = io.BytesIO()
                PIL.Image.fromarray(values, "L").save(buffer, "PNG")
                data, info.size = buffer.getvalue(), len(buffer.getvalue())
            yield info, data

    rewrite_tar(os.path.join(data_dir, "semantic_label.tar.gz"), paint_50)
    with pytest.raises(InvalidInputError) as error:
        load(data_dir, str(tmp_path / "cache"))
    message = str(error.value)
    assert "semantic_label.tar.gz:semantic_label/a00001_maskfg.png" in message and "[50]" in message
    assert "200 -> background" in message


def hostile(member):
    info = tarfile.TarInfo(member["name"])
    for key, value in member.items():
        if key != "name":
            setattr(info, key, value)
    return info


@pytest.mark.parametrize(
    "member, expected",
    [
        ({"name": "../evil.jpg", "size": 0}, "climbs out of the archive: '../evil.jpg'"),
        ({"name": "/etc/evil.jpg", "size": 0}, "climbs out of the archive: '/etc/evil.jpg'"),
        ({"name": "image/link.jpg", "type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}, "a link (to '/etc/passwd')"),
        ({"name": "image/hard.jpg", "type": tarfile.LNKTYPE, "linkname": "image/a00001.jpg"}, "a link"),
        ({"name": "image/pipe", "type": tarfile.FIFOTYPE}, "image/pipe: not a regular file"),
        ({"name": "image/dev", "type": tarfile.CHRTYPE}, "image/dev: not a regular file"),
        ({"name": "image/sparse.jpg", "type": tarfile.GNUTYPE_SPARSE, "size": 0}, "image/sparse.jpg: a sparse file"),
    ],
    ids=["dot-dot", "absolute", "symlink", "hard-link", "fifo", "device", "sparse"],
)
def test_hostile_tar_members_are_refused_by_name(stand_ins, tmp_path, member, expected):
    data_dir = copy_of(stand_ins[0], tmp_path)
    rewrite_tar(os.path.join(data_dir, "image.tar.gz"), lambda members: [*members, (hostile(member), b"")])
    with pytest.raises(InvalidInputError) as error:
        load(data_dir, str(tmp_path / "cache"))
    assert expected in str(error.value) and "image.tar.gz" in str(error.value)
    assert not os.path.exists(tmp_path / "evil.jpg") and not os.path.exists("/etc/evil.jpg")


def test_a_truncated_tar_gz_is_an_error_and_leaves_no_partial_copy(stand_ins, tmp_path):
    data_dir = copy_of(stand_ins[0], tmp_path)
    path = os.path.join(data_dir, "image.tar.gz")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(InvalidInputError, match=r"image\.tar\.gz: cannot be inflated, it ends early: truncated"):
        load(data_dir, str(tmp_path / "cache"))
    leftovers = [name for _, _, names in os.walk(tmp_path / "cache") for name in names if "image" in name]
    assert leftovers == []


def test_a_tar_that_ends_inside_a_member_is_an_error_naming_it(stand_ins, tmp_path):
    data_dir = copy_of(stand_ins[0], tmp_path)
    path = os.path.join(data_dir, "image.tar.gz")
    with gzip.open(path) as f:
        whole = f.read()
    os.remove(path)
    with tarfile.open(fileobj=io.BytesIO(whole)) as archive:
        last = archive.getmembers()[-1]
    with open(os.path.join(data_dir, "image.tar"), "wb") as f:
        f.write(whole[: last.offset_data + last.size - 10])  # the last member's data cut short
    with pytest.raises(InvalidInputError, match=rf"image\.tar:{last.name}: the archive ends inside this member"):
        load(data_dir, str(tmp_path / "cache"))


def inflated_copies(cache):
    return sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(cache)
        for name in names
        if name.endswith(".inflated.tar")
    )


def test_a_tar_gz_is_inflated_once_and_again_when_replaced(stand_ins, tmp_path):
    data_dir, cache = copy_of(stand_ins[0], tmp_path), str(tmp_path / "cache")
    load(data_dir, cache)
    first = inflated_copies(cache)
    assert [os.path.basename(p) for p in first] == ["image.tar.gz.inflated.tar", "semantic_label.tar.gz.inflated.tar"]
    stamps = [os.stat(p).st_mtime_ns for p in first]
    load(data_dir, cache, "v1")  # another config: the same copies serve it
    assert [os.stat(p).st_mtime_ns for p in first] == stamps
    other = synthetic.write_textseg_inputs(str(tmp_path / "other"), seed=8, n_images=12)
    shutil.copy(str(tmp_path / "other" / "image.tar.gz"), os.path.join(data_dir, "image.tar.gz"))
    rows = raw(load(data_dir, cache, split="test"))  # the same names and sizes: only the bytes tell them apart
    assert [row["image"]["bytes"] for row in rows] == [other[row["image_id"]].photo for row in rows]
    images = [p for p in inflated_copies(cache) if "image.tar.gz" in os.path.basename(p)]
    assert len(images) == 1 and images != first[:1]  # the old copy went with the old archive
    with open(images[0], "rb") as f, gzip.open(os.path.join(data_dir, "image.tar.gz")) as g:
        assert f.read() == g.read()


def test_split_file_must_name_only_built_images_once_each(stand_ins, tmp_path):
    data_dir = copy_of(stand_ins[0], tmp_path)
    split_file = os.path.join(data_dir, "split.json")
    with open(split_file) as f:
        splits = json.load(f)
    cache = str(tmp_path / "cache")

    def write(document):
        with open(split_file, "w") as f:
            json.dump(document, f)

    write({**splits, "test": [*splits["test"], "a09999"]})
    with pytest.raises(
        InvalidInputError, match=r"split\.json: names 1 image\(s\) that have no image .*a09999 \(test\)"
    ):
        load(data_dir, cache)
    write({**splits, "test": [*splits["test"], splits["train"][0]]})
    with pytest.raises(InvalidInputError, match=rf"'{splits['train'][0]}' is in two splits \(train and test\)"):
        load(data_dir, cache)
    write({"train": splits["train"], "test": splits["test"]})
    with pytest.raises(InvalidInputError, match=r"'val' must be a non-empty list of image ids, found nothing"):
        load(data_dir, cache)


def test_missing_inputs_are_listed_in_every_form_they_may_take(tmp_path):
    with pytest.raises(MissingInputError) as error:
        load(str(tmp_path), str(tmp_path / "cache"))
    message = str(error.value)
    assert "image.tar.gz (or image.tar, or the extracted folder image/)" in message
    assert "split.json, from" in message and "annotation" not in message


def test_stats_count_what_the_decoder_mapped(stand_ins, tmp_path, capsys):
    folder, expected = stand_ins
    code = textseg.main(
        ["stats", "--json", "--data-dir", folder, "--cache-dir", str(tmp_path), "--verification-mode", "no_checks"]
    )
    stats = json.loads(capsys.readouterr().out)
    assert code == 0
    for split in ("train", "validation", "test"):
        values = np.concatenate([e.native.ravel() for e in expected.values() if e.split == split])
        counts = dict(zip(*np.unique(values, return_counts=True), strict=True))
        mapped = {f"{v} -> {textseg.LABEL_VALUES[v]}": int(n) for v, n in sorted(counts.items())}
        assert stats[split]["label_values_decoded"] == mapped


def test_evaluate_scores_perfect_predictions_as_perfect(stand_ins, tmp_path):
    folder, expected = stand_ins
    predictions = tmp_path / "predicted"
    predictions.mkdir()
    test = [k for k, v in expected.items() if v.split == "test"]
    for image_id in test:
        PIL.Image.fromarray((expected[image_id].mask == 1).astype(np.uint8), "L").save(predictions / f"{image_id}.png")
    split = load(folder, str(tmp_path / "cache"), split="test")
    scores = textseg.evaluate(split, str(predictions))
    assert scores["iou_text"] == 1.0 and scores["text_fscore"] == 1.0


@pytest.mark.parametrize("inflate", ["gzip_ng", "gzip"])
@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda whole: b"<html>login</html>", "not gzip data"),
        (lambda whole: whole[: len(whole) // 2], "it ends early: truncated"),
        (lambda whole: whole[:10] + b"\xff" * 40 + whole[50:], "not gzip data"),  # the deflate stream itself
    ],
    ids=["not-gzip", "truncated", "corrupt"],
)
def test_inflate_once_refuses_a_broken_archive_whichever_gzip_inflates_it(
    inflate, damage, message, tmp_path, monkeypatch
):
    """zlib-ng's threaded gzip reader (a requirement) and the standard library's gzip (the fallback) refuse
    alike, leaving nothing."""
    from scene_text_seg import tar

    if inflate == "gzip":
        monkeypatch.setattr(tar, "gzip", gzip)
        monkeypatch.setattr(tar, "open_gzip", gzip.open)
    else:  # installed with the requirements, so used
        assert tar.gzip.__name__ == "zlib_ng.gzip_ng" and tar.open_gzip.__module__ == "zlib_ng.gzip_ng_threaded"
    path = tmp_path / "image.tar.gz"
    path.write_bytes(damage(gzip.compress(os.urandom(200_000) + bytes(300_000))))
    with pytest.raises(InvalidInputError, match=rf"^{re.escape(str(path))}: cannot be inflated, {message}"):
        inputs.readable_inputs({"images": str(path)}, str(tmp_path / "cache"))
    assert not any(name.endswith(".partial") for _, _, names in os.walk(tmp_path) for name in names)


def test_a_filtered_mask_is_read_by_its_rows_and_refused_where_pil_decodes_its_bad_metadata(monkeypatch):
    """A filtered grey mask with a zTXt chunk over Pillow's text limit. Up to ONE_PIECE_BYTES its rows are
    unfiltered from the data already inflated, and its metadata is never read (as an unfiltered mask's is
    not); larger, PIL decodes the PNG and refuses it: PIL's error, named."""
    from scene_text_seg import pixels

    native = np.tile(np.array([0, 100, 200, 255], np.uint8), (23, 10))[:, :37]
    data = synthetic._value_png(native, "L")
    text = b"Comment\0\0" + zlib.compress(b"x" * (PIL.PngImagePlugin.MAX_TEXT_CHUNK + 1))
    chunk = struct.pack(">I", len(text)) + b"zTXt" + text + struct.pack(">I", zlib.crc32(b"zTXt" + text))
    damaged = data[:-12] + chunk + data[-12:]  # before IEND
    mask = pixels.read_mask(damaged, "m.png", {(37, 23)}, textseg.LABEL_VALUES)
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(mask.png))), synthetic._decode_textseg(native))
    monkeypatch.setattr(pixels, "ONE_PIECE_BYTES", 0)
    with pytest.raises(InvalidInputError, match=r"^m\.png: corrupt PNG \(Decompressed data too large"):
        pixels.read_mask(damaged, "m.png", {(37, 23)}, textseg.LABEL_VALUES)


PIECES = {"one-piece": ((37, 23), None), "one-large-piece": ((801, 700), None), "several-pieces": ((801, 700), 0)}


@pytest.fixture(params=list(PIECES))
def size(request, monkeypatch):
    """A mask's size, inflated in one piece (masks up to 4 MiB are) or in 256 KiB pieces, cut mid-row."""
    from scene_text_seg import pixels

    size, one_piece_bytes = PIECES[request.param]
    if one_piece_bytes is not None:
        monkeypatch.setattr(pixels, "ONE_PIECE_BYTES", one_piece_bytes)
    return size


@pytest.mark.parametrize("mode", ["L", "P"])
def test_a_value_outside_the_table_is_refused_whatever_the_rows_filters(mode, size):
    """Counted as the rows inflate (palette rows) or after PIL's decode (grey rows): 50 is named, never mapped."""
    from scene_text_seg import pixels

    native = np.random.default_rng(5).choice(sorted(textseg.LABEL_VALUES), size=size[::-1]).astype(np.uint8)
    native[-1, -1] = 50  # in the last piece
    with pytest.raises(
        InvalidInputError,
        match=r"^m\.png: pixel values \[50\] outside \{0 -> background, 100 -> text, .*\} \(1 pixels\)$",
    ):
        pixels.read_mask(synthetic._value_png(native, mode), "m.png", {size}, textseg.LABEL_VALUES)


def test_a_value_table_maps_a_16_bit_mask():
    """Samples PIL decodes to wider than a byte are checked against the table, then mapped (`mapped_png`)."""
    from scene_text_seg import pixels

    native = np.random.default_rng(4).choice(sorted(textseg.LABEL_VALUES), size=(23, 37)).astype(np.uint16)
    buffer = io.BytesIO()
    PIL.Image.fromarray(native).save(buffer, "PNG")  # 16-bit grey
    mask = pixels.read_mask(buffer.getvalue(), "m.png", {(37, 23)}, textseg.LABEL_VALUES)
    with PIL.Image.open(io.BytesIO(mask.png)) as stored:
        np.testing.assert_array_equal(np.asarray(stored), pixels.value_lookup(textseg.LABEL_VALUES)[native])
    native[0, 0] = 300  # beyond a byte: named, never wrapped to 44
    buffer = io.BytesIO()
    PIL.Image.fromarray(native).save(buffer, "PNG")
    with pytest.raises(InvalidInputError, match=r"^m\.png: pixel values \[300\] outside"):
        pixels.read_mask(buffer.getvalue(), "m.png", {(37, 23)}, textseg.LABEL_VALUES)


MANY_MAPPED = {0: 0, 10: 1, 20: 1, 30: 1, 40: 1, 50: 1, 60: 0, 255: 255}  # many values, several to each label


@pytest.mark.parametrize("mode", ["L", "P"])  # PIL writes grey rows filtered, palette rows unfiltered
@pytest.mark.parametrize(
    "table", [textseg.LABEL_VALUES, {0: 1, 7: 0, 255: 255}, MANY_MAPPED], ids=["textseg", "zero-mapped", "many"]
)
def test_a_value_table_maps_every_pixel_whatever_the_rows_filters(mode, table, size):
    from scene_text_seg import pixels

    rng = np.random.default_rng(3)
    native = rng.choice(sorted(table), size=size[::-1]).astype(np.uint8)
    mask = pixels.read_mask(synthetic._value_png(native, mode), "m.png", {size}, table)
    lookup = pixels.value_lookup(table)
    with PIL.Image.open(io.BytesIO(mask.png)) as stored:
        assert stored.mode == "L"
        np.testing.assert_array_equal(np.asarray(stored), lookup[native])
    assert mask.native == {int(v): int((native == v).sum()) for v in np.unique(native)}
    assert mask.classes == [label for label in (0, 1) if (lookup[native] == label).any()]
