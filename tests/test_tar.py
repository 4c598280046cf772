"""The tar index: plain headers read field by field, every other tar by `tarfile`, with the same outcome."""

import io
import os
import tarfile

import pytest

from scene_text_seg import tar
from scene_text_seg.errors import InvalidInputError

LONG_FOLDER = "image/" + "f" * 90  # with a short name: the ustar prefix field holds the folder


def _member(name, data=b"", kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, len(data)
    return info, io.BytesIO(data) if data else None


def _tar(members, tar_format=tarfile.USTAR_FORMAT):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as archive:
        for name, data, *kind in members:
            archive.addfile(*_member(name, data, *kind))
    return buffer.getvalue()


PLAIN = [
    ("image", b"", tarfile.DIRTYPE),
    ("image/a00001.jpg", os.urandom(1000)),
    ("image/a00002.png", os.urandom(512)),  # exactly a block: no padding
    ("image/empty.txt", b""),
    (f"{LONG_FOLDER}/a00003.jpg", os.urandom(700)),
    ("old/", b"", tarfile.AREGTYPE),  # an old tar's folder: a file whose name ends in "/"
    ("last.json", b"{}"),
]


def _cut(whole, where):
    """The plain tar cut at a place named after the last member (last.json: a header, then 2 data bytes)."""
    with tarfile.open(fileobj=io.BytesIO(whole)) as archive:
        last = archive.getmembers()[-1]
    return {
        "no-end-blocks": whole[: last.offset_data + 512],
        "cut-in-padding": whole[: last.offset_data + 100],
        "cut-in-data": whole[: last.offset_data + 1],
        "cut-in-header": whole[: last.offset + 300],
    }[where]


def _second_header_damaged(whole):
    damaged = bytearray(whole)
    damaged[512 + 148] ^= 0x01  # the second header's checksum field
    return bytes(damaged)


def _with_field(whole, header, start, value):
    """The tar with bytes `value` written at `start` of the header at `header`, its checksum made right again."""
    patched = bytearray(whole)
    patched[header + start : header + start + len(value)] = value
    block = patched[header : header + 512]
    block[148:156] = b" " * 8
    patched[header + 148 : header + 156] = b"%06o\0 " % sum(block)
    return bytes(patched)


TWO_FILES = [("a.jpg", b"x"), ("b.jpg", b"y")]  # headers at 0 and 1024


SHAPES = {
    "plain": lambda: _tar(PLAIN),
    "gnu-format": lambda: _tar([m for m in PLAIN if not m[0].startswith(LONG_FOLDER)], tarfile.GNU_FORMAT),
    "gnu-long-name": lambda: _tar(PLAIN, tarfile.GNU_FORMAT),  # GNU has no prefix: a long name header instead
    "pax-non-ascii": lambda: _tar([*PLAIN, ("image/été.jpg", b"x")], tarfile.PAX_FORMAT),
    "no-end-blocks": lambda: _cut(_tar(PLAIN), "no-end-blocks"),
    "cut-in-padding": lambda: _cut(_tar(PLAIN), "cut-in-padding"),
    "cut-in-data": lambda: _cut(_tar(PLAIN), "cut-in-data"),
    "cut-in-header": lambda: _cut(_tar(PLAIN), "cut-in-header"),
    "damaged-second-header": lambda: _second_header_damaged(_tar(PLAIN)),
    "regular-file-named-like-a-folder": lambda: _tar([*PLAIN, ("x/", b"")]),
    "folder-holding-data": lambda: _tar([("image", b"abc", tarfile.DIRTYPE), *PLAIN]),
    "link": lambda: _tar([*PLAIN, ("image/link.jpg", b"", tarfile.SYMTYPE)]),
    "climbs-out": lambda: _tar([*PLAIN, ("../evil.jpg", b"x")]),
    "folder-climbs-out": lambda: _tar([("../evil", b"", tarfile.DIRTYPE), *PLAIN]),
    "absolute-folder": lambda: _tar([("/abs", b"", tarfile.DIRTYPE), *PLAIN]),
    "old-folder-climbs-out": lambda: _tar([("../old/", b"", tarfile.AREGTYPE), *PLAIN]),
    "prefixed-folder-climbs-out": lambda: _tar([(f"{LONG_FOLDER}/../../../evil", b"", tarfile.DIRTYPE), *PLAIN]),
    "bad-mode-first": lambda: _with_field(_tar(TWO_FILES), 0, 100, b"zzzzzzz\0"),
    "bad-mtime-second": lambda: _with_field(_tar(TWO_FILES), 1024, 136, b"9999999999\0"),
    "non-ascii-uid-second": lambda: _with_field(_tar(TWO_FILES), 1024, 108, b"\xc1\xc1\0"),
    "base-256-device-second": lambda: _with_field(_tar(TWO_FILES), 1024, 329, b"\xff" * 7 + b"\x01"),
    "zero-blocks-only": lambda: bytes(1024),
    "empty-file": lambda: b"",
    "not-a-tar": lambda: os.urandom(2048),
}
READ_BY_HAND = {
    "plain",
    "gnu-format",
    "no-end-blocks",
    "zero-blocks-only",
    "climbs-out",
    "folder-climbs-out",
    "absolute-folder",
    "old-folder-climbs-out",
    "prefixed-folder-climbs-out",
}


def _outcome(path):
    try:
        archive = tar.TarArchive(str(path))
    except InvalidInputError as e:
        return "refused", str(e)
    try:
        return "read", {name: archive.read(name) for name in archive.names()}
    finally:
        archive.close()


@pytest.mark.parametrize("shape", SHAPES)
def test_a_tar_is_indexed_alike_by_its_headers_read_by_hand_and_by_tarfile(shape, tmp_path, monkeypatch):
    path = tmp_path / "archive.tar"
    path.write_bytes(SHAPES[shape]())
    with open(path, "rb") as f:
        by_hand = tar._plain_members(f.fileno(), os.path.getsize(path))
    assert (by_hand is not None) == (shape in READ_BY_HAND)  # the rest is left to tarfile
    fast = _outcome(path)
    monkeypatch.setattr(tar, "_plain_members", lambda fd, size: None)
    assert fast == _outcome(path)
    if shape == "plain":
        expected = {name.rstrip("/"): data for name, data, *kind in PLAIN if not kind}
        assert fast == ("read", expected)
