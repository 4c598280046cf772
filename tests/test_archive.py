"""`ZipArchive` lists and reads members exactly as `zipfile.ZipFile` does, holding far less a member."""

import concurrent.futures
import io
import os
import re
import tracemalloc
import warnings
import zipfile

import pytest

from scene_text_seg import archive as archive_module
from scene_text_seg.archive import ZipArchive

MEMBERS = {
    "stored.png": (b"\x89PNG stored" * 50, zipfile.ZIP_STORED),
    "deflated.jpg": (bytes(range(256)) * 40, zipfile.ZIP_DEFLATED),
    "bzip2.txt": (b"bzip2 " * 300, zipfile.ZIP_BZIP2),
    "lzma.txt": (b"lzma " * 300, zipfile.ZIP_LZMA),
    "t\u00ebxt/\u00fcn\u00efcode.png": (b"utf-8 name", zipfile.ZIP_DEFLATED),
    "folder/": (b"", zipfile.ZIP_STORED),
    "empty.txt": (b"", zipfile.ZIP_DEFLATED),
}


def write_archive(path, prefix: bytes = b"", duplicate: bool = True) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the duplicate name
        for name, (data, method) in MEMBERS.items():
            archive.writestr(name, data, compress_type=method)
        if duplicate:
            archive.writestr("stored.png", b"the later one", compress_type=zipfile.ZIP_DEFLATED)
        archive.comment = b"an archive comment"
    path.write_bytes(prefix + buffer.getvalue())


def assert_same_as_zipfile(path) -> None:
    ours = ZipArchive(str(path))
    with zipfile.ZipFile(path) as theirs:
        listed = [info.filename for info in theirs.infolist()]
        # The first listing gives the names kept from reading the table, later ones read them again.
        assert list(ours.names()) == listed and list(ours.names()) == listed
        assert list(ours.reopened().names()) == listed
        for name in theirs.namelist():
            info, expected = ours.getinfo(name), theirs.getinfo(name)  # of duplicates, both the last
            fields = ("filename", "CRC", "compress_size", "file_size", "compress_type", "flag_bits", "header_offset")
            assert [getattr(info, f) for f in fields] == [getattr(expected, f) for f in fields], name
            assert ours.read(info) == theirs.read(name), name
            with ours.open(info) as stream:
                assert stream.read() == theirs.read(name), name
    ours.close()


@pytest.mark.parametrize("prefix", [b"", b"#!/bin/sh\nexit 0\n" * 10], ids=["plain", "with bytes prepended"])
def test_members_list_and_read_as_zipfile_lists_and_reads_them(tmp_path, prefix):
    write_archive(tmp_path / "a.zip", prefix)
    assert_same_as_zipfile(tmp_path / "a.zip")
    assert ZipArchive(str(tmp_path / "a.zip")).read(ZipArchive(str(tmp_path / "a.zip")).getinfo("stored.png")) == (
        b"the later one"
    )


def test_zip64_records_and_fields_are_read_as_zipfile_reads_them(tmp_path, monkeypatch):
    # Written as an archive past 4 GiB or 65,535 members would be: Zip64 end records, and sizes and
    # offsets in Zip64 extra fields.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 100)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 3)
    write_archive(tmp_path / "zip64.zip")
    data = bytearray((tmp_path / "zip64.zip").read_bytes())
    end = data.rindex(b"PK\x05\x06")
    assert data[end - 20 : end - 16] == b"PK\x06\x07"  # a Zip64 end record, found through its locator
    data[end + 8 : end + 20] = b"\xff" * 12  # the count, size and offset only the Zip64 record holds
    (tmp_path / "zip64.zip").write_bytes(data)
    with zipfile.ZipFile(tmp_path / "zip64.zip") as archive:
        assert any(info.extra.startswith(b"\x01\x00") for info in archive.infolist())  # Zip64 extras
    assert_same_as_zipfile(tmp_path / "zip64.zip")


PLAIN_READ = {  # how each archive's directory is read: in whole-array steps (True) or entry by entry
    "ASCII names": True,
    "bytes prepended": True,
    "extra fields and entry comments": True,
    "a name holding the entry signature": False,
    "a non-ASCII name": False,
    "Zip64 fields": False,
}


@pytest.mark.parametrize("case", PLAIN_READ)
def test_a_plain_directory_is_read_in_whole_array_steps_and_every_other_entry_by_entry_alike(
    tmp_path, monkeypatch, case
):
    if case == "Zip64 fields":
        monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 100)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if case == "a name holding the entry signature":
            # An entry header inside the name, whose name, extra and comment (257 bytes each) end where the real
            # entry does: everything but the chain of entries would take it for one.
            looks_like_an_entry = "PK\x01\x02" + "x" * 24 + "\x01" * 6 + "x" * 12 + "x" * 3 * 257
            archive.writestr(looks_like_an_entry, b"a name that looks like an entry")
        for number in range(40):
            info = zipfile.ZipInfo(f"folder/img_{number}.png")
            if case == "extra fields and entry comments" and number % 3:
                info.extra = b"\xfe\xca" + (number).to_bytes(2, "little") + b"x" * number  # an unknown record
                info.comment = b"c" * (number % 5)
            method = zipfile.ZIP_STORED if number % 4 == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(info, bytes(range(number * 7 % 256)) * 3, compress_type=method)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the duplicate name: of two, the later is read
            archive.writestr("folder/img_7.png", b"the later one")
        if case == "a non-ASCII name":
            archive.writestr("\u00fcn\u00efcode.png", b"utf-8 name")
    prefix = b"#!/bin/sh\nexit 0\n" * 10 if case == "bytes prepended" else b""
    (tmp_path / "a.zip").write_bytes(prefix + buffer.getvalue())
    plain, reading = [], archive_module._plain_directory_table
    monkeypatch.setattr(archive_module, "_plain_directory_table", lambda *a: plain.append(reading(*a)) or plain[-1])
    assert_same_as_zipfile(tmp_path / "a.zip")
    assert plain and all((table is not None) == PLAIN_READ[case] for table in plain)


@pytest.mark.parametrize("name", ["plain.png", "\u00fcn\u00efcode.png"], ids=["whole-array", "entry by entry"])
def test_an_extra_field_whose_record_runs_past_it_is_refused_as_zipfile_refuses_it(tmp_path, name):
    info = zipfile.ZipInfo(name)
    info.extra = b"\x55\x54\x01\x00a" + b"\xfe\xca\x10\x00ab"  # a whole record, then one declaring 16 bytes of 2
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr("first.png", b"fine")
        archive.writestr(info, b"its extra field is damaged")
    with pytest.raises(zipfile.BadZipFile, match=r"^Corrupt extra field cafe \(size=16\)$"):
        zipfile.ZipFile(tmp_path / "a.zip")
    with pytest.raises(zipfile.BadZipFile, match=r"^Corrupt extra field cafe \(size=16\)$"):
        ZipArchive(str(tmp_path / "a.zip"))


def test_damaged_archives_raise_what_zipfile_raises(tmp_path):
    (tmp_path / "page.zip").write_bytes(b"<!doctype html><html>not found</html>")
    with pytest.raises(zipfile.BadZipFile, match="not a zip file"):
        ZipArchive(str(tmp_path / "page.zip"))

    write_archive(tmp_path / "a.zip", duplicate=False)
    data = (tmp_path / "a.zip").read_bytes()
    directory = data.index(b"PK\x01\x02")
    (tmp_path / "cut.zip").write_bytes(data[: directory + 20] + data[-22:])  # the directory cut short
    with pytest.raises(zipfile.BadZipFile):
        ZipArchive(str(tmp_path / "cut.zip"))

    local = data.index(b"deflated.jpg")  # the local header's copy of the name comes first
    (tmp_path / "renamed.zip").write_bytes(data[:local] + b"Deflated.jpg" + data[local + 12 :])
    archive = ZipArchive(str(tmp_path / "renamed.zip"))
    with pytest.raises(zipfile.BadZipFile, match="differ"):
        archive.read(archive.getinfo("deflated.jpg"))

    stored = data.index(b"\x89PNG stored")
    (tmp_path / "crc.zip").write_bytes(data[:stored] + b"X" + data[stored + 1 :])
    archive = ZipArchive(str(tmp_path / "crc.zip"))
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        archive.read(archive.getinfo("stored.png"))
    with pytest.raises(KeyError, match=r"absent\.png"):
        archive.getinfo("absent.png")


@pytest.mark.parametrize(
    "shifts",
    [(-1, 0), (1, 0), (0, -1), (10**6, 10**6)],
    ids=["fewer bytes than its size", "more bytes than its size", "a size below its bytes", "past the archive's end"],
)
def test_a_stored_member_whose_sizes_disagree_reads_as_zipfile_reads_it(tmp_path, shifts):
    write_archive(tmp_path / "a.zip", duplicate=False)
    data = bytearray((tmp_path / "a.zip").read_bytes())
    entry = data.index(b"PK\x01\x02")  # stored.png's directory entry, the first
    for field, shift in zip((entry + 20, entry + 24), shifts, strict=True):  # its compressed size, then its size
        data[field : field + 4] = (int.from_bytes(data[field : field + 4], "little") + shift).to_bytes(4, "little")
    (tmp_path / "sizes.zip").write_bytes(data)
    archive = ZipArchive(str(tmp_path / "sizes.zip"))
    with zipfile.ZipFile(tmp_path / "sizes.zip") as theirs:
        try:
            expected = theirs.read("stored.png")
        except Exception as e:  # what zipfile raises, ours raises
            with pytest.raises(type(e), match=f"^{re.escape(str(e))}$"):
                archive.read(archive.getinfo("stored.png"))
        else:
            assert archive.read(archive.getinfo("stored.png")) == expected == MEMBERS["stored.png"][0]


@pytest.mark.parametrize("pread", [True, False], ids=["os.pread", "seek and read (Windows)"])
def test_members_are_read_alike_from_several_threads(tmp_path, monkeypatch, pread):
    if not pread:
        monkeypatch.delattr(os, "pread")
    write_archive(tmp_path / "a.zip", duplicate=False)
    archive = ZipArchive(str(tmp_path / "a.zip"))
    names = [name for name in MEMBERS if not name.endswith("/")] * 50
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        read = list(pool.map(lambda name: archive.read(archive.getinfo(name)), names))
    assert read == [MEMBERS[name][0] for name in names]


def test_the_member_table_holds_tens_of_bytes_a_member(tmp_path):
    members = 20_000
    with zipfile.ZipFile(tmp_path / "many.zip", "w") as archive:
        for index in range(members):
            archive.writestr(f"COCO_train2014_{index:012d}.jpg", b"")
    tracemalloc.start()
    try:
        archive = ZipArchive(str(tmp_path / "many.zip"))
        with_names = tracemalloc.get_traced_memory()[0]
        assert sum(1 for _ in archive.names()) == members  # the first listing takes the names read with the table
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert archive.getinfo("COCO_train2014_000000012345.jpg").file_size == 0
    assert held / members < 64  # zipfile.ZipFile holds ~600 (a ZipInfo, its name and numbers)
    assert with_names - held > 64 * members  # until then, the names (~80 bytes each) were held
    tracemalloc.start()
    try:  # a reader that never lists (a spawned worker) lets them go at its first member
        reader = ZipArchive(str(tmp_path / "many.zip"))
        assert reader.read(reader.getinfo("COCO_train2014_000000000007.jpg")) == b""
        assert tracemalloc.get_traced_memory()[0] / members < 64
    finally:
        tracemalloc.stop()
    assert sum(1 for _ in reader.names()) == members  # listed from the directory again
