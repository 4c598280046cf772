"""Nothing silently wrong after the build: a changed input is never served from a stale cache or a
stale open archive; an export writes only what it owns; a full cache folder is named as such and
leaves nothing half-written."""

import io
import os
import shutil
import zipfile

import numpy as np
import PIL.Image
import PIL.PngImagePlugin
import pytest

from tests.conftest import LABELS, MEMBER, build, copy_with, raw

# ---- caches: an input changed under its old size and mtime ------------------------------------------


def blank_mask_like(mask: bytes) -> bytes:
    """An all-background mask of the same grid as `mask`, padded with a text chunk to its exact length."""
    size = PIL.Image.open(io.BytesIO(mask)).size

    def encoded(padding: int) -> bytes:
        info = PIL.PngImagePlugin.PngInfo()
        info.add_text("pad", "x" * padding)
        buffer = io.BytesIO()
        PIL.Image.fromarray(np.zeros(size[::-1], np.uint8), "L").save(buffer, "PNG", pnginfo=info)
        return buffer.getvalue()

    blank = encoded(len(mask) - len(encoded(0)))
    assert len(blank) == len(mask) and blank != mask
    return blank


def pad_comment(path: str, size: int) -> None:
    """Grow a zip to `size` bytes with an archive comment (which no reader of members sees)."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.comment = b" " * (size - os.path.getsize(path))


def labels_zip_versions(zip_inputs, tmp_path) -> tuple[str, str]:
    """(data_dir, path of a labels zip of other content): same size, one mask blanked."""
    with zipfile.ZipFile(os.path.join(zip_inputs[0], LABELS)) as archive:
        blank = blank_mask_like(archive.read(MEMBER))
    data_dir = copy_with(zip_inputs, str(tmp_path / "v1"), LABELS)
    other_dir = copy_with(zip_inputs, str(tmp_path / "v2"), LABELS, replace={MEMBER: blank})
    old, new = os.path.join(data_dir, LABELS), os.path.join(other_dir, LABELS)
    size = max(os.path.getsize(old), os.path.getsize(new))
    pad_comment(old, size)
    pad_comment(new, size)
    return data_dir, new


def replace_keeping_size_and_mtime(path: str, content: bytes, how: str) -> None:
    """Put `content` at `path` as a copying tool that keeps dates would, then set the old mtime back."""
    before = os.stat(path)
    assert len(content) == before.st_size
    if how == "rename-over":  # a new file (new inode) moved onto the old name: unzip, rsync, a download tool
        temporary = path + ".part"
        with open(temporary, "wb") as f:
            f.write(content)
        os.utime(temporary, ns=(before.st_atime_ns, before.st_mtime_ns))
        os.replace(temporary, path)
    else:  # the same inode written again: `cp -p` onto an existing file, an editor saving in place
        with open(path, "r+b") as f:
            f.write(content)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert (after.st_ino != before.st_ino) == (how == "rename-over")


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


HOW = ["rename-over", "in-place"]


@pytest.mark.parametrize("how", HOW)
def test_a_same_size_archive_with_its_mtime_kept_is_rebuilt(zip_inputs, tmp_path, cache_dir, how):
    data_dir, other = labels_zip_versions(zip_inputs, tmp_path)
    expected = raw(build(os.path.dirname(other), str(tmp_path / "reference"))["train"])
    before = raw(build(data_dir, cache_dir)["train"])
    assert before != expected
    replace_keeping_size_and_mtime(os.path.join(data_dir, LABELS), read_bytes(other), how)
    assert raw(build(data_dir, cache_dir)["train"]) == expected


@pytest.mark.parametrize("how", HOW)
def test_a_replaced_archive_is_reopened_in_the_same_process(zip_inputs, tmp_path, how):
    # A notebook: the first build leaves the archive open in this process; the next build, into a
    # new cache folder (so no Arrow file can be stale), must read the new archive.
    data_dir, other = labels_zip_versions(zip_inputs, tmp_path)
    expected = raw(build(os.path.dirname(other), str(tmp_path / "reference"))["train"])
    assert raw(build(data_dir, str(tmp_path / "first"))["train"]) != expected
    replace_keeping_size_and_mtime(os.path.join(data_dir, LABELS), read_bytes(other), how)
    assert raw(build(data_dir, str(tmp_path / "second"))["train"]) == expected


@pytest.mark.parametrize("how", HOW)
def test_a_mask_edited_in_an_extracted_folder_with_its_mtime_kept_is_rebuilt(folder_inputs, tmp_path, cache_dir, how):
    data_dir = str(tmp_path / "inputs")
    shutil.copytree(folder_inputs[0], data_dir)
    mask = os.path.join(data_dir, "IST_Segmentation_labels", *MEMBER.split("/"))
    before = {row["image_id"]: row for row in build(data_dir, cache_dir)["train"]}
    assert before["img_1"]["mask_classes"] == [0, 1]
    replace_keeping_size_and_mtime(mask, blank_mask_like(read_bytes(mask)), how)
    after = {row["image_id"]: row for row in build(data_dir, cache_dir)["train"]}
    assert after["img_1"]["mask_classes"] == [0]
    assert not np.asarray(after["img_1"]["mask"]).any()
    assert {k: v["mask_classes"] for k, v in after.items() if k != "img_1"} == {
        k: v["mask_classes"] for k, v in before.items() if k != "img_1"
    }
