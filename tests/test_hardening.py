"""Hostile inputs, second round: each fails through the command line with one clean line naming the
culprit (exit 2), the same with num_proc 2, without hanging; or, where the input is valid, builds rows
that decode to exactly the pixels that were checked. Nothing half-written is left behind."""

import io
import os
import re
import stat
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import PIL.Image
import pytest

import ist_s
from scene_text_seg import publish
from tests.conftest import IMAGES, LABELS, MEMBER, build, cli, copy_with, png, raw

BUILD = ["--verification-mode", "no_checks"]
IMAGE = "img_3.jpg"  # a training image the synthetic zip holds, labelled


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def grey_png(mask: np.ndarray, rows: int | None = None, extra: bytes = b"", idat_crc=None, iend=True) -> bytes:
    """A hand-made 8-bit grey PNG: optionally only the first `rows` rows in a complete zlib stream,
    `extra` chunks before the pixel data, a wrong IDAT CRC, no IEND."""
    height, width = mask.shape
    raw_rows = b"".join(b"\x00" + mask[y].tobytes() for y in range(rows if rows is not None else height))
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    idat = chunk(b"IDAT", zlib.compress(raw_rows))
    if idat_crc is not None:
        idat = idat[:-4] + struct.pack(">I", idat_crc)
    return b"\x89PNG\r\n\x1a\n" + header + extra + idat + (chunk(b"IEND", b"") if iend else b"")


def exif_chunk(orientation: int) -> bytes:
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    return chunk(b"eXIf", tiff + b"\x00\x00\x00\x00")


def xmp_chunk(orientation: int) -> bytes:
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="{orientation}"/></x:xmpmeta>'
    return chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp.encode())


def expected_mask(zip_inputs) -> np.ndarray:
    return zip_inputs[1]["train"]["img_1"].mask


def build_cli(capsys, data_dir, cache_dir, *extra):
    return cli(capsys, "build", "--data-dir", data_dir, "--cache-dir", cache_dir, *BUILD, *extra)


def assert_one_clean_line(code, err, message):
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and re.search(message, lines[0]), err


# ---- rows that must never be silently wrong ---------------------------------------------------------


def test_a_mask_missing_rows_is_an_error(zip_inputs, tmp_path, cache_dir, capsys):
    short = grey_png(expected_mask(zip_inputs), rows=12)  # the zlib stream is whole; 12 of 24 rows
    data_dir = copy_with(zip_inputs, tmp_path, LABELS, replace={MEMBER: short})
    code, _, err = build_cli(capsys, data_dir, cache_dir)
    assert_one_clean_line(code, err, rf"{LABELS}:{MEMBER}: incomplete PNG: its pixel data inflates to 492 bytes")


@pytest.mark.parametrize(
    "damage",
    ["exif orientation", "xmp orientation", "bad idat crc", "no iend"],
)
def test_stored_masks_decode_to_the_checked_pixels(zip_inputs, tmp_path, cache_dir, damage):
    mask = expected_mask(zip_inputs)
    data = {
        "exif orientation": grey_png(mask, extra=exif_chunk(6)),
        "xmp orientation": grey_png(mask, extra=xmp_chunk(6)),
        "bad idat crc": grey_png(mask, idat_crc=0xDEADBEEF),
        "no iend": grey_png(mask, iend=False),
    }[damage]
    data_dir = copy_with(zip_inputs, tmp_path, LABELS, replace={MEMBER: data})
    train = build(data_dir, cache_dir)["train"]
    assert train[0]["image_id"] == "img_1"
    np.testing.assert_array_equal(np.asarray(train[0]["mask"]), mask)  # decoded through datasets.Image
    stored = raw(train)[0]["mask"]["bytes"]
    kinds, pos = [], 8
    while pos < len(stored):
        length, kind = struct.unpack(">I4s", stored[pos : pos + 8])
        assert zlib.crc32(stored[pos + 4 : pos + 8 + length]) == struct.unpack(">I", stored[pos + 8 + length :][:4])[0]
        kinds.append(kind)
        pos += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]  # a minimal PNG: no metadata to turn it on decode


def test_a_failed_export_leaves_nothing_and_keeps_an_earlier_one(zip_inputs, tmp_path, cache_dir, capsys):
    # img_4 has no label: `default` builds, `with_unlabeled` reads it and fails, half-way through the export.
    data_dir = copy_with(zip_inputs, tmp_path, IMAGES, replace={"img_4.jpg": b"\xff\xd8 not a jpeg"})
    out = tmp_path / "hub"
    argv = ["export", "--data-dir", data_dir, "--out", str(out), "--cache-dir", cache_dir, *BUILD]
    code, _, err = cli(capsys, *argv)
    assert_one_clean_line(code, err, r"img_4\.jpg")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".hub")] == []
    assert cli(capsys, *argv[:2], zip_inputs[0], *argv[3:])[0] == 0  # a good export
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert cli(capsys, *argv)[0] == 2
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before


def test_files_are_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "card.md"
    path.write_text("old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        publish.write_atomically(str(path), "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["card.md"]


# ---- errors that keep their message -----------------------------------------------------------------


def _damaged(name, zip_inputs, folder):
    """A data_dir with one member-level fault, and the message that must name it."""
    with zipfile.ZipFile(os.path.join(zip_inputs[0], IMAGES)) as archive:
        jpeg = archive.read(IMAGE)
    if name == "mask value":
        data = png(np.full((24, 40), 7, np.uint8), "L")
        return copy_with(zip_inputs, folder, LABELS, replace={MEMBER: data}), rf"{MEMBER}: pixel values \[7\]"
    if name == "truncated jpeg":
        data_dir = copy_with(zip_inputs, folder, IMAGES, replace={IMAGE: jpeg[:300]})
        return data_dir, rf"{IMAGES}:{IMAGE}: truncated JPEG"
    if name == "incomplete mask":
        data = grey_png(np.zeros((24, 40), np.uint8), rows=3)
        return copy_with(zip_inputs, folder, LABELS, replace={MEMBER: data}), rf"{MEMBER}: incomplete PNG"
    raise AssertionError(name)


@pytest.mark.parametrize("damage", ["mask value", "truncated jpeg", "incomplete mask"])
def test_errors_read_the_same_whatever_num_proc(zip_inputs, tmp_path, capsys, damage):
    data_dir, message = _damaged(damage, zip_inputs, str(tmp_path / "d"))
    one = build_cli(capsys, data_dir, str(tmp_path / "c1"), "--num-proc", "1")
    two = build_cli(capsys, data_dir, str(tmp_path / "c2"), "--num-proc", "2")
    assert_one_clean_line(two[0], two[2], message)
    assert [line for line in one[2].splitlines() if line.startswith("error:")] == [
        line for line in two[2].splitlines() if line.startswith("error:")
    ]
    with pytest.raises(ist_s.InvalidInputError, match=message):
        ist_s.load(data_dir, cache_dir=str(tmp_path / "c3"), num_proc=2, verification_mode="no_checks")


def _rewrite_member_headers(path: str, member: str, flag_bits=None, method=None) -> None:
    """Set a member's flag bits or compression method in both its local and central headers."""
    with zipfile.ZipFile(path) as archive:
        local, pos = archive.getinfo(member).header_offset, archive.start_dir
    data = bytearray(open(path, "rb").read())
    while data[pos : pos + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack("<HHH", data[pos + 28 : pos + 34])
        if data[pos + 46 : pos + 46 + name_length] == member.encode():
            central = pos
        pos += 46 + name_length + extra_length + comment_length
    for flags_at in (local + 6, central + 8):  # the method follows the flags in both headers
        if flag_bits is not None:
            data[flags_at : flags_at + 2] = struct.pack("<H", flag_bits)
        if method is not None:
            data[flags_at + 2 : flags_at + 4] = struct.pack("<H", method)
    open(path, "wb").write(bytes(data))


def _rezip(zip_inputs, folder, compression):
    """The image zip written again with one compression method for every member."""
    data_dir = copy_with(zip_inputs, folder, IMAGES)
    path = os.path.join(data_dir, IMAGES)
    with zipfile.ZipFile(os.path.join(zip_inputs[0], IMAGES)) as original:
        members = {name: original.read(name) for name in original.namelist()}
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return data_dir, path


@pytest.mark.parametrize(
    "fault",
    ["encrypted", "deflate64", "corrupt lzma", "corrupt bzip2", "corrupt deflate", "name not utf-8"],
)
def test_odd_zip_archives_fail_cleanly(zip_inputs, tmp_path, cache_dir, capsys, fault):
    compression = {"corrupt lzma": zipfile.ZIP_LZMA, "corrupt bzip2": zipfile.ZIP_BZIP2}.get(
        fault, zipfile.ZIP_DEFLATED
    )
    data_dir, path = _rezip(zip_inputs, str(tmp_path / "d"), compression)
    member_message = rf"{IMAGES}:{IMAGE}: "
    if fault == "encrypted":
        with zipfile.ZipFile(path) as archive:
            flags = archive.getinfo(IMAGE).flag_bits
        _rewrite_member_headers(path, IMAGE, flag_bits=flags | 0x1)
        message = member_message + "encrypted"
    elif fault == "deflate64":
        _rewrite_member_headers(path, IMAGE, method=9)
        message = member_message + r"compressed with method 9 \(deflate64\)"
    elif fault == "name not utf-8":
        _rewrite_member_headers(path, IMAGE, flag_bits=0x800)
        data = open(path, "rb").read().replace(IMAGE.encode(), b"img_\xff.jpg")
        open(path, "wb").write(data)
        message = rf"{IMAGES}: the member name b'img_\\xff\.jpg' is not valid utf-8"
    else:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(IMAGE)
        data = bytearray(open(path, "rb").read())
        start = info.header_offset + 30 + len(IMAGE) + 20
        data[start : start + 64] = bytes(range(64))
        open(path, "wb").write(bytes(data))
        message = member_message + "cannot be read"
    code, _, err = build_cli(capsys, data_dir, cache_dir)
    assert_one_clean_line(code, err, message)


def test_member_names_are_printed_on_one_line(zip_inputs, tmp_path, cache_dir, capsys):
    forged = "IST_Segmentation_labels/train/img_99\nerror: all is well.png"
    data_dir = copy_with(zip_inputs, tmp_path, LABELS, add={forged: png(np.zeros((24, 40), np.uint8), "L")})
    code, _, err = build_cli(capsys, data_dir, cache_dir)
    assert_one_clean_line(code, err, r"img_99\\nerror: all is well\.png")


def test_backslash_separated_junk_is_skipped(zip_inputs, tmp_path, cache_dir):
    junk = "__MACOSX\\IST_Segmentation_labels\\train\\._img_1.png"
    data_dir = copy_with(zip_inputs, tmp_path, LABELS, add={junk: b"\x00\x05\x16\x07"})
    assert build(data_dir, cache_dir)["train"].num_rows == 10


# ---- extracted folders: regular files only, never blocking, never leaving the folder ---------------


def _folder_with(folder_inputs, tmp_path, make):
    import shutil

    data_dir = str(tmp_path / "inputs")
    shutil.copytree(folder_inputs[0], data_dir, symlinks=True)
    make(os.path.join(data_dir, "ch4_training_images"))
    return data_dir


def test_a_dangling_link_in_an_input_folder_is_named(folder_inputs, tmp_path, cache_dir, capsys):
    data_dir = _folder_with(folder_inputs, tmp_path, lambda d: os.symlink("/nonexistent/img", f"{d}/img_50.jpg"))
    code, _, err = build_cli(capsys, data_dir, cache_dir)
    assert_one_clean_line(code, err, r"ch4_training_images/img_50\.jpg: a link to nothing")


def test_a_link_leaving_the_input_folder_is_refused_unread(folder_inputs, tmp_path, cache_dir, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET CONTENT")
    data_dir = _folder_with(folder_inputs, tmp_path, lambda d: os.symlink(secret, f"{d}/img_50.jpg"))
    code, _, err = build_cli(capsys, data_dir, cache_dir)
    assert_one_clean_line(code, err, r"ch4_training_images/img_50\.jpg: a link that leaves the input folder")
    assert "SECRET" not in err


def test_a_named_pipe_in_an_input_folder_is_refused_without_blocking(folder_inputs, tmp_path, cache_dir):
    data_dir = _folder_with(folder_inputs, tmp_path, lambda d: os.mkfifo(f"{d}/img_3.jpg.tmp"))
    os.replace(f"{data_dir}/ch4_training_images/img_3.jpg.tmp", f"{data_dir}/ch4_training_images/img_3.jpg")
    assert stat.S_ISFIFO(os.stat(f"{data_dir}/ch4_training_images/img_3.jpg").st_mode)
    argv = [sys.executable, os.path.join(os.path.dirname(ist_s.__file__), "ist_s.py"), "build", "--data-dir"]
    result = subprocess.run(
        [*argv, data_dir, "--cache-dir", cache_dir, *BUILD], capture_output=True, text=True, timeout=120
    )
    assert_one_clean_line(result.returncode, result.stderr, r"ch4_training_images/img_3\.jpg: not a regular file")


def test_links_inside_the_folder_are_followed(folder_inputs, tmp_path, cache_dir):
    def relink(folder):
        os.rename(f"{folder}/img_1.jpg", f"{folder}/real_1.jpeg.bak")
        os.symlink("real_1.jpeg.bak", f"{folder}/img_1.jpg")

    data_dir = _folder_with(folder_inputs, tmp_path, relink)
    rows = raw(build(data_dir, cache_dir)["train"])
    assert rows[0]["image_id"] == "img_1" and rows[0]["image"]["bytes"] == folder_inputs[1]["train"]["img_1"].photo


# ---- the command line, as a new user meets it -------------------------------------------------------


def test_data_dir_pointing_at_a_zip_says_a_folder_is_expected(zip_inputs, cache_dir, capsys):
    code, _, err = build_cli(capsys, os.path.join(zip_inputs[0], IMAGES), cache_dir)
    assert_one_clean_line(code, err, rf"{IMAGES} is a file: expected the folder holding the downloads")


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["build", "--num-proc", "0"], "--num-proc"),
        (["build", "--num-proc", "-2"], "--num-proc"),
        (["preview", "--n", "0"], "--n"),
        (["preview", "--n", "-2"], "--n"),
    ],
)
def test_counts_are_validated_when_parsed(zip_inputs, capsys, argv, option):
    code, _, err = cli(capsys, *argv, "--data-dir", zip_inputs[0])
    assert code == 2 and f"argument {option}: expected at least 1" in err


def test_an_unwritable_cache_folder_is_named(zip_inputs, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    cache = str(blocker / "cache")  # under a file: not writable, even by root
    code, _, err = build_cli(capsys, zip_inputs[0], cache)
    assert_one_clean_line(code, err, rf"cannot write to the cache folder {re.escape(cache)}")


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--data-dir", "x"],
        ["demo", "--num-proc", "2"],
        ["demo", "--verification-mode", "no_checks"],
        ["verify", "--num-proc", "2"],
        ["verify", "--verification-mode", "no_checks"],
        ["card", "--data-dir", "x"],
    ],
)
def test_verbs_refuse_options_they_would_ignore(capsys, argv):
    code, _, err = cli(capsys, *argv)
    assert code == 2 and "unrecognized arguments" in err


@pytest.mark.parametrize("offline", [False, True])
def test_push_without_the_hub_is_one_line(zip_inputs, cache_dir, capsys, monkeypatch, offline):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens: connection refused
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    argv = ["push", "--data-dir", zip_inputs[0], "--repo-id", "org/x", "--token", "hf_x", "--cache-dir", cache_dir]
    code, _, err = cli(capsys, *argv, *BUILD)
    assert_one_clean_line(code, err, r"the Hub could not be reached \(")


def test_a_checksum_mismatch_says_how_to_build_modified_inputs(zip_inputs, cache_dir, capsys):
    code, _, err = cli(capsys, "build", "--data-dir", zip_inputs[0], "--cache-dir", cache_dir)
    assert_one_clean_line(code, err, r"build with verification_mode='no_checks' \(--verification-mode no_checks\)")


def test_the_labels_link_is_the_current_page(tmp_path):
    with pytest.raises(ist_s.MissingInputError, match=r"download_ist_s\.html"):
        ist_s.load(str(tmp_path))
    assert "download_ist_s.php" not in ist_s.MANUAL_DOWNLOAD_INSTRUCTIONS


def test_pil_is_not_what_decides_a_mask_is_whole():
    """The fault the inflate check exists for: PIL fills missing rows with 0 and says nothing."""
    short = grey_png(np.ones((24, 40), np.uint8), rows=12)
    decoded = np.asarray(PIL.Image.open(io.BytesIO(short)))
    assert decoded.shape == (24, 40) and (decoded[12:] == 0).all()
