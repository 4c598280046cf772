"""Nothing silently wrong after the build: a changed input is never served from a stale cache or a
stale open archive; an export writes only what it owns; a full cache folder is named as such and
leaves nothing half-written."""

import errno
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


# ---- export: only what it owns -----------------------------------------------------------------------

OWNED = ("data", "README.md", "id2label.json")
NO_CHECKS = {"verification_mode": "no_checks"}


def files_of(folder) -> dict[str, bytes]:
    """Every file under `folder`, by '/'-separated relative name, with its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }


def git_clone(folder) -> dict[str, bytes]:
    """The layout `git clone` leaves for a new Hub dataset repo, plus the user's notes."""
    for name, data in {
        ".git/HEAD": b"ref: refs/heads/main\n",
        ".git/config": b"[core]\n\trepositoryformatversion = 0\n",
        ".git/objects/4b/825dc642cb6eb9a060e54bf8d69288fbee4904": bytes(range(256)),
        ".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n",
        "NOTES.md": b"# my notes\n",
    }.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return files_of(folder)


def not_ours(files: dict[str, bytes]) -> dict[str, bytes]:
    return {name: data for name, data in files.items() if name.split("/")[0] not in OWNED}


def leftovers(folder) -> list[str]:
    """Staging or retired folders left beside an export folder."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


@pytest.fixture(scope="module")
def export_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("export_cache"))


def test_export_into_a_git_clone_and_over_it_again_keeps_what_is_not_its_own(zip_inputs, tmp_path, export_cache):
    import ist_s

    repo = tmp_path / "repo"
    theirs = git_clone(repo)
    ist_s.export(zip_inputs[0], str(repo), configs=("default", "with_unlabeled"), cache_dir=export_cache, **NO_CHECKS)
    first = files_of(repo)
    assert not_ours(first) == theirs
    assert {name.split("/")[0] for name in first} == {*OWNED, ".git", ".gitattributes", "NOTES.md"}
    assert any(name.startswith("data/with_unlabeled/") for name in first)
    # Again, over the earlier export: one config only, with a new note beside it.
    (repo / "NOTES.md").write_bytes(b"# my notes, edited\n")
    theirs = not_ours(files_of(repo))
    ist_s.export(zip_inputs[0], str(repo), configs=("default",), cache_dir=export_cache, **NO_CHECKS)
    fresh = tmp_path / "fresh"
    ist_s.export(zip_inputs[0], str(fresh), configs=("default",), cache_dir=export_cache, **NO_CHECKS)
    second = files_of(repo)
    assert not_ours(second) == theirs
    assert {name: data for name, data in second.items() if name not in theirs} == files_of(fresh)
    assert not any(name.startswith("data/with_unlabeled/") for name in second)  # data/ is ours whole
    assert leftovers(repo) == [] and leftovers(fresh) == []


def test_export_refuses_a_folder_holding_one_of_its_names(zip_inputs, tmp_path, export_cache):
    import ist_s

    repo = tmp_path / "repo"
    git_clone(repo)
    (repo / "data").mkdir()
    (repo / "data" / "mine.csv").write_bytes(b"a,b\n")
    before = files_of(repo)
    with pytest.raises(ist_s.PublishError, match=r"repo is not an earlier export \(it has no id2label.json\) and "):
        ist_s.export(zip_inputs[0], str(repo), configs=("default",), cache_dir=export_cache, **NO_CHECKS)
    with pytest.raises(ist_s.PublishError, match=r"and holds data, which an export writes: move them away"):
        ist_s.export(zip_inputs[0], str(repo), configs=("default",), cache_dir=export_cache, **NO_CHECKS)
    assert files_of(repo) == before and leftovers(repo) == []


def fail_while_writing(monkeypatch, repo):
    """The card fails after every shard is written."""
    from scene_text_seg import publish

    def render_card(*args, **kwargs):
        raise RuntimeError("stop after the shards")

    monkeypatch.setattr(publish, "render_card", render_card)
    return RuntimeError


def fail_while_swapping(monkeypatch, repo):
    """Moving the new README.md into place fails once, after the new data/ went in."""
    rename, failed = os.rename, []

    def failing_rename(source, destination, *args, **kwargs):
        if os.fspath(destination) == os.path.join(os.path.realpath(repo), "README.md") and not failed:
            failed.append(source)
            raise OSError(5, "Input/output error")
        return rename(source, destination, *args, **kwargs)

    monkeypatch.setattr(os, "rename", failing_rename)
    return OSError


@pytest.mark.parametrize("earlier", ["export", "git clone"])
@pytest.mark.parametrize("fail", [fail_while_writing, fail_while_swapping])
def test_a_failed_export_leaves_the_folder_as_it_was(zip_inputs, tmp_path, export_cache, monkeypatch, earlier, fail):
    import ist_s

    repo = tmp_path / "repo"
    git_clone(repo)
    if earlier == "export":
        ist_s.export(
            zip_inputs[0], str(repo), configs=("default", "with_unlabeled"), cache_dir=export_cache, **NO_CHECKS
        )
        (repo / "data" / "default" / "train-00000-of-00002.parquet").write_bytes(b"an older shard")
    before = files_of(repo)
    error = fail(monkeypatch, repo)
    with pytest.raises(error):
        ist_s.export(zip_inputs[0], str(repo), configs=("default",), cache_dir=export_cache, **NO_CHECKS)
    assert files_of(repo) == before
    assert leftovers(repo) == []


def test_a_full_disk_during_an_export_names_the_folder(zip_inputs, tmp_path, export_cache, monkeypatch):
    import datasets

    import ist_s

    repo = tmp_path / "repo"
    before = git_clone(repo)

    def to_parquet(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(datasets.Dataset, "to_parquet", to_parquet)
    message = rf"the disk of {tmp_path} ran out of space while the export was written beside {repo} \(ENOSPC: "
    with pytest.raises(ist_s.PublishError, match=message):
        ist_s.export(zip_inputs[0], str(repo), configs=("default",), cache_dir=export_cache, **NO_CHECKS)
    assert files_of(repo) == before and leftovers(repo) == []


# ---- a cache folder out of space ---------------------------------------------------------------------

FILE_SIZE_LIMIT = 4096  # bytes: above what a build writes before its rows, below either split's Arrow file

BUILD_UNDER_A_FILE_SIZE_LIMIT = """
import resource, signal, sys
import ist_s
data_dir, cache_dir, num_proc, limit = sys.argv[1], sys.argv[2], eval(sys.argv[3]), int(sys.argv[4])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    ist_s.load(data_dir, cache_dir=cache_dir, num_proc=num_proc, verification_mode="no_checks")
except ist_s.SceneTextSegError as e:
    print(type(e).__name__)
    print(e)
    sys.exit(3)
"""


def incomplete_builds(cache: str) -> list[str]:
    return [os.path.join(root, d) for root, dirs, _ in os.walk(cache) for d in dirs if d.endswith(".incomplete")]


@pytest.mark.parametrize("num_proc", [None, 2])
def test_a_file_size_limit_during_a_build_names_the_cache_folder_and_a_rerun_builds_whole(
    zip_inputs, tmp_path, cache_dir, num_proc
):
    import subprocess
    import sys

    reference = str(tmp_path / "reference")
    expected = build(zip_inputs[0], reference)
    written = {
        name: os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(reference) for name in names
    }
    assert min(size for name, size in written.items() if name.endswith(".arrow")) > FILE_SIZE_LIMIT
    assert max(size for name, size in written.items() if not name.endswith(".arrow")) < FILE_SIZE_LIMIT
    argv = [zip_inputs[0], cache_dir, repr(num_proc), str(FILE_SIZE_LIMIT)]
    worktree = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", BUILD_UNDER_A_FILE_SIZE_LIMIT, *argv],
        cwd=worktree,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3, result.stderr[-3000:]
    kind, message = result.stdout.strip().splitlines()
    assert kind == "CacheFolderFullError"
    assert message == (
        f"the cache folder {cache_dir} ran out of space during the build (EFBIG: a file passed the file-size "
        f"limit, ulimit -f): free space there or pass a cache_dir on another disk (--cache-dir), then build "
        f"again; nothing half-written was kept"
    )
    assert incomplete_builds(cache_dir) == []
    again = build(zip_inputs[0], cache_dir)  # the same cache folder, with room now
    for split in ("train", "test"):
        assert raw(again[split]) == raw(expected[split])


@pytest.mark.parametrize("code", ["ENOSPC", "EDQUOT"])
@pytest.mark.parametrize("num_proc", [None, 2])
def test_a_full_disk_while_rows_are_written_names_the_cache_folder(zip_inputs, cache_dir, monkeypatch, code, num_proc):
    import datasets

    import ist_s

    def write(*args, **kwargs):
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))

    monkeypatch.setattr(datasets.arrow_writer.ArrowWriter, "write", write)  # forked build processes too
    why = {"ENOSPC": "the disk is full", "EDQUOT": "the disk quota is spent"}[code]
    message = rf"^the cache folder {cache_dir} ran out of space during the build \({code}: {why}\): free space"
    with pytest.raises(ist_s.CacheFolderError, match=message) as raised:
        build(zip_inputs[0], cache_dir, num_proc=num_proc)
    assert type(raised.value).__name__ == "CacheFolderFullError"
    assert incomplete_builds(cache_dir) == []


def test_a_full_disk_after_the_rows_names_the_cache_folder(zip_inputs, tmp_path, cache_dir, monkeypatch):
    # dataset_info.json is written by this process once the rows are, outside datasets' wrapping.
    import datasets

    import ist_s

    def write_to_directory(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(datasets.DatasetInfo, "write_to_directory", write_to_directory)
        with pytest.raises(ist_s.CacheFolderError, match=rf"^the cache folder {cache_dir} ran out of space .*ENOSPC"):
            build(zip_inputs[0], cache_dir)
    assert incomplete_builds(cache_dir) == []
    rows = build(zip_inputs[0], cache_dir)["train"]
    assert raw(rows) == raw(build(zip_inputs[0], str(tmp_path / "reference"))["train"])
