"""The faster reading paths of `ZipArchive` give what zipfile gives, and raise what it raises."""

import multiprocessing
import os
import re
import zipfile

import pytest

from scene_text_seg import archive as archive_module
from scene_text_seg import inputs
from scene_text_seg.archive import Member, ZipArchive

DEFLATED = bytes(range(256)) * 40


def write(path, members: dict) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, method) in members.items():
            archive.writestr(name, data, compress_type=method)
    return path.read_bytes()


def raises_as_zipfile(path, name: str) -> None:
    """Ours raises what zipfile raises reading `name`, or both give the same bytes."""
    ours = ZipArchive(str(path))
    with zipfile.ZipFile(path) as theirs:
        try:
            expected = theirs.read(name)
        except Exception as e:
            with pytest.raises(type(e), match=f"^{re.escape(str(e))}$"):
                ours.read(ours.member(name))
        else:
            assert ours.read(ours.member(name)) == expected


@pytest.mark.parametrize("damage", ["a byte of its stream", "its CRC", "its size", "its stream cut short"])
def test_a_deflated_member_that_does_not_check_raises_what_zipfile_raises(tmp_path, damage):
    data = bytearray(write(tmp_path / "a.zip", {"mask.png": (DEFLATED, zipfile.ZIP_DEFLATED)}))
    entry = data.index(b"PK\x01\x02")
    if damage == "a byte of its stream":
        data[30 + len("mask.png") + 5] ^= 0xFF
    elif damage == "its CRC":
        data[entry + 16] ^= 0xFF
    elif damage == "its size":
        data[entry + 24 : entry + 28] = (len(DEFLATED) - 1).to_bytes(4, "little")
    else:
        data[entry + 20 : entry + 24] = (int.from_bytes(data[entry + 20 : entry + 24], "little") // 2).to_bytes(
            4, "little"
        )
    (tmp_path / "damaged.zip").write_bytes(bytes(data))
    raises_as_zipfile(tmp_path / "damaged.zip", "mask.png")


def test_a_whole_deflated_member_is_inflated_in_one_call_without_zipfile(tmp_path, monkeypatch):
    write(tmp_path / "a.zip", {"mask.png": (DEFLATED, zipfile.ZIP_DEFLATED), "empty": (b"", zipfile.ZIP_DEFLATED)})
    archive = ZipArchive(str(tmp_path / "a.zip"))

    def refused(*args, **kwargs):
        raise AssertionError("ZipExtFile used for a member that checks")

    monkeypatch.setattr(zipfile, "ZipExtFile", refused)
    assert archive.read(archive.member("mask.png")) == DEFLATED
    assert archive.read(archive.member("empty")) == b""


def test_a_member_is_what_getinfo_says_and_reads_alike(tmp_path):
    members = {f"dir/img_{index}.png": (bytes([index]) * 100, zipfile.ZIP_DEFLATED) for index in range(30)}
    write(tmp_path / "a.zip", {**members, "dir/": (b"", zipfile.ZIP_STORED)})
    archive = ZipArchive(str(tmp_path / "a.zip"))
    for name in archive.names():
        member, info = archive.member(name), archive.getinfo(name)
        assert isinstance(member, Member) and tuple(member) == tuple(getattr(info, field) for field in Member._fields)
        assert archive.read(member) == archive.read(info)
        with archive.open(member) as stream:
            assert stream.read() == archive.read(info)
    with pytest.raises(KeyError, match="img_99"):
        archive.member("dir/img_99.png")


def test_a_name_with_a_nul_is_cut_there_as_zipfile_cuts_it(tmp_path):
    write(tmp_path / "a.zip", {"img_1.png": (b"one", zipfile.ZIP_STORED)})
    data = (tmp_path / "a.zip").read_bytes().replace(b"img_1.png", b"img_1\x00png")
    (tmp_path / "nul.zip").write_bytes(data)
    with zipfile.ZipFile(tmp_path / "nul.zip") as theirs:
        assert list(ZipArchive(str(tmp_path / "nul.zip")).names()) == theirs.namelist() == ["img_1"]
    raises_as_zipfile(tmp_path / "nul.zip", "img_1")


def test_a_reopened_archive_shares_the_member_table_on_a_file_of_its_own(tmp_path):
    write(tmp_path / "a.zip", {"mask.png": (DEFLATED, zipfile.ZIP_DEFLATED)})
    first = ZipArchive(str(tmp_path / "a.zip"))
    again = first.reopened()
    assert again._index is first._index and again._hashes is first._hashes
    assert again._file._file.fileno() != first._file._file.fileno()
    first.close()
    assert again.read(again.member("mask.png")) == DEFLATED


def _child_opens(path: str, connection) -> None:
    read = []
    reading = archive_module._member_index
    archive_module._member_index = lambda *args: read.append(args) or reading(*args)
    source = inputs.Source(path)
    connection.send((len(read), source.read("mask.png") == DEFLATED, source._zip._file._file.fileno()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_process_takes_its_parents_member_table_and_opens_its_own_file(tmp_path):
    write(tmp_path / "a.zip", {"mask.png": (DEFLATED, zipfile.ZIP_DEFLATED)})
    path = str(tmp_path / "a.zip")
    parent = inputs.Source(path)
    receiving, sending = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_child_opens, args=(path, sending))
    child.start()
    sending.close()  # the child's end only: a child that dies unheard makes recv raise
    reads, same, descriptor = receiving.recv()
    child.join()
    assert (reads, same) == (0, True)
    assert descriptor != parent._zip._file._file.fileno()  # its own file, not the inherited one
    os.utime(path, ns=(0, 0))  # another version of the file: its table is read anew
    assert inputs.Source(path)._zip is not parent._zip


def test_a_member_whose_local_name_and_extra_pass_the_read_ahead_reads_as_zipfile_reads_it(tmp_path):
    long_name = "folder/" + "n" * 700 + ".png"
    padded = zipfile.ZipInfo("padded.png")
    padded.extra = b"\xfe\xca" + (1000).to_bytes(2, "little") + b"\x00" * 1000  # an unknown extra record
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr(padded, DEFLATED, compress_type=zipfile.ZIP_STORED)
        archive.writestr(long_name, DEFLATED, compress_type=zipfile.ZIP_DEFLATED)
    assert archive_module.LOCAL_NAME_AND_EXTRA < min(1000, len(long_name))
    for name in ("padded.png", long_name):
        raises_as_zipfile(tmp_path / "a.zip", name)
        archive = ZipArchive(str(tmp_path / "a.zip"))
        assert archive.read(archive.member(name)) == DEFLATED
        with archive.open(archive.member(name)) as stream:  # its header read alone
            assert stream.read() == DEFLATED
