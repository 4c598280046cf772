"""Finding the manual downloads, verifying them against the published checksums, reading their members."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import lzma
import os
import stat
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import IO, Optional

import datasets
from datasets.utils.tqdm import tqdm

from .archive import Member, ZipArchive, climbs_out
from .errors import ChecksumMismatchError, InvalidInputError, MissingInputError
from .spec import DatasetSpec, InputFile, SplitAssignment
from .tar import TarArchive, inflate_once, is_gzipped, is_tar_name

logger = datasets.utils.logging.get_logger(f"datasets.{__name__}")

MAX_MEMBER_BYTES = 64 << 20  # a zip bomb's member is refused before it is inflated
READABLE_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
COMPRESSION_NAMES = {9: "deflate64", 6: "implode", 93: "zstandard", 95: "xz", 98: "ppmd", 99: "AES encryption"}


def printable(name: str) -> str:
    """A file or member name fit for a one-line message: control characters escaped, repr-style."""
    if name.isprintable():  # nearly always: one C call, no per-character work
        return name
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in name)


def some(names: Iterable[str], limit: int = 5) -> str:
    """The first `limit` names, comma-separated, and " ..." when there are more: errors stay one short line."""
    names = list(names)
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


def folder_files(root: str) -> list[str]:
    """The regular files under an extracted input folder, as sorted '/'-separated relative names.

    Never blocks and never leaves the folder: a link pointing outside it, a dangling link and a
    special file (named pipe, socket, device) are errors naming them; nothing of theirs is read.
    """
    top = os.path.realpath(root)
    files, seen, pending = [], {top}, [top]
    while pending:
        folder = pending.pop()
        for entry in os.scandir(folder):
            relative = os.path.relpath(entry.path, top).replace(os.sep, "/")
            shown = f"{os.path.basename(root.rstrip(os.sep))}/{printable(relative)}"
            target = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
            if target != entry.path:
                if not os.path.exists(target):
                    raise InvalidInputError(f"{shown}: a link to nothing ({printable(os.readlink(entry.path))})")
                if os.path.commonpath([top, target]) != top:
                    raise InvalidInputError(f"{shown}: a link that leaves the input folder; refusing to follow it")
            mode = os.stat(target).st_mode
            if stat.S_ISDIR(mode):
                if target not in seen:  # a link back up the tree is read once
                    seen.add(target)
                    pending.append(entry.path)
            elif stat.S_ISREG(mode):
                files.append(relative)
            else:
                raise InvalidInputError(f"{shown}: not a regular file (a named pipe, socket or device); refusing it")
    return sorted(files)


def find_input(data_dir: str, spec: InputFile) -> Optional[str]:
    """The file for `spec` in `data_dir` (`name` and each of its extensions in turn), else its extracted
    folder, else the same under an alias, else None."""
    for name in spec.names:
        for extension in spec.extensions:
            archive = os.path.join(data_dir, f"{name}{extension}")
            if os.path.isfile(archive):
                return archive
        folder = os.path.join(data_dir, name)
        if spec.folder and os.path.isdir(folder):
            return folder
    return None


def input_choices(spec: InputFile) -> str:
    """How the missing-input error lists what may stand for `spec`: `image.tar.gz (or image.tar, or the
    extracted folder image/)`."""
    others = [f"{spec.name}{extension}" for extension in spec.extensions[1:]]
    others += [f"the extracted folder {spec.name}/"] if spec.folder else []
    others += [f"{alias}{spec.extensions[0]}" for alias in spec.aliases]
    return spec.filename + (f" (or {', or '.join(others)})" if others else "")


def locate_inputs(dataset: DatasetSpec, data_dir: Optional[str], config: str = "default") -> dict[str, str]:
    """Path of every input a build of `config` reads, by role; one error lists all that are missing."""
    if data_dir is None:
        raise MissingInputError(
            f"{dataset.title} needs `data_dir`: the folder holding its inputs.\n{dataset.manual_download_instructions}"
        )
    if os.path.isfile(data_dir):
        raise MissingInputError(
            f"{data_dir} is a file: expected the folder holding the downloads (e.g. {os.path.dirname(data_dir) or '.'})"
        )
    required = dataset.inputs_for(config).values()
    found = {spec.role: find_input(data_dir, spec) for spec in required}
    missing = [spec for spec in required if found[spec.role] is None]
    if missing:
        lines = [f"  - {input_choices(spec)}, from {spec.source}" for spec in missing]
        present = sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else None
        if present is None:
            holds = "it does not exist"
        else:
            holds = "it holds: " + (some(present, 20) or "nothing")
        raise MissingInputError(
            f"{dataset.title} inputs missing from {data_dir} ({holds}). Expected:\n" + "\n".join(lines)
        )
    return found


def hash_file(
    path: str, algorithms: tuple[str, ...] = ("sha256",), chunk_size: int = 1 << 20, progress: bool = False
) -> dict[str, str]:
    """Hex digests of a file, read once in 1 MiB chunks: {"md5": ..., "sha256": ...}."""
    # A checksum, not security: FIPS-mode machines refuse md5 unless told so.
    hashers = {name: hashlib.new(name, usedforsecurity=False) for name in algorithms}
    with (
        open(path, "rb") as f,
        tqdm(
            total=os.path.getsize(path), unit="B", unit_scale=True, desc=os.path.basename(path), disable=not progress
        ) as bar,
    ):
        while block := f.read(chunk_size):
            for hasher in hashers.values():
                hasher.update(block)
            bar.update(len(block))
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


@dataclasses.dataclass
class InputCheck:
    """What one input is: status "ok", "MISMATCH", "unregistered", "folder", "missing" or "absent" (optional)."""

    spec: InputFile
    path: Optional[str]
    status: str
    size: Optional[int] = None
    digests: dict = dataclasses.field(default_factory=dict)
    problem: str = ""  # for a MISMATCH: expected and found


def check_input(
    spec: InputFile, path: Optional[str], algorithms: tuple[str, ...] = (), progress: bool = False
) -> InputCheck:
    """Compare one located input with the table. Hashes what the table needs, plus `algorithms`.

    A size that differs is a MISMATCH without reading the file, unless `algorithms` asks for digests.
    """
    if path is None:
        return InputCheck(spec, None, "missing" if spec.required else "absent")
    if os.path.isdir(path):
        return InputCheck(spec, path, "folder")
    if os.path.basename(path) != spec.filename:  # another name or form: no published digest for it
        name = os.path.basename(path)
        extension = next(e for e in sorted(spec.extensions, key=len, reverse=True) if name.endswith(e))
        spec = dataclasses.replace(spec, name=name[: -len(extension)], extensions=(extension,), size=None, digest=None)
    size = os.path.getsize(path)
    if spec.size is not None and size != spec.size and not algorithms:
        return InputCheck(spec, path, "MISMATCH", size, problem=f"expected {spec.size:,} bytes, found {size:,}")
    algorithm, expected = spec.digest.split(":") if spec.digest else ("sha256", None)
    digests = hash_file(path, tuple(dict.fromkeys((algorithm, *algorithms))), progress=progress)
    if expected is None:
        return InputCheck(spec, path, "unregistered", size, digests)
    if spec.size is not None and size != spec.size:
        return InputCheck(spec, path, "MISMATCH", size, digests, f"expected {spec.size:,} bytes, found {size:,}")
    if digests[algorithm] != expected:
        problem = f"expected {algorithm}:{expected}, got {algorithm}:{digests[algorithm]}"
        return InputCheck(spec, path, "MISMATCH", size, digests, problem)
    return InputCheck(spec, path, "ok", size, digests)


def check_inputs(dataset: DatasetSpec, data_dir: str, progress: bool = False) -> list[InputCheck]:
    """Every known input (the optional ones too), with md5 and sha256 of each file."""
    return [check_input(spec, find_input(data_dir, spec), ("md5", "sha256"), progress) for spec in dataset.inputs]


def verify_inputs(dataset: DatasetSpec, paths: dict[str, str]) -> bool:
    """Check the located inputs before a build; True when every registered one is the published file.

    A mismatch raises ChecksumMismatchError. Folders and unregistered inputs cannot be checked:
    they are logged, unregistered ones with their sha256.
    """
    genuine = True
    by_role = {spec.role: spec for spec in dataset.inputs}
    for role, path in paths.items():
        check = check_input(by_role[role], path)
        if check.status == "MISMATCH":
            raise ChecksumMismatchError(
                f"{path}: {check.problem}: corrupt, truncated, or not the published release. "
                f"Download it again from {check.spec.source}; synthetic or modified inputs build with "
                f"verification_mode='no_checks' (--verification-mode no_checks)."
            )
        if check.status == "folder":
            logger.info(f"{check.spec.name}/ is an extracted folder: there is no archive digest to check.")
        if check.status == "unregistered":
            logger.info(f"{check.spec.filename} has no published checksum; its sha256:{check.digests['sha256']}")
        genuine = genuine and (check.status == "ok" or check.spec.digest is None)
    return genuine


def file_identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """What tells one version of a file from another without reading it: size, mtime, inode and ctime.

    A copy keeping its source's date (`cp -p`, `rsync -t`, unzip, a download tool), or `os.utime`,
    can give different content the old size and mtime; it cannot set the ctime back, which the
    kernel stamps on every write and every change of the inode, and a file renamed over the old
    one has another inode. (A chmod also changes the ctime: a needless rebuild, never a stale one.)

    Args:
        info: the file's `os.stat` result.

    Returns:
        (size, mtime, inode, ctime), times in nanoseconds.
    """
    return info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns


def inputs_fingerprint(dataset: DatasetSpec, data_dir: str, config: str = "default") -> str:
    """An identity of the inputs that keys the Arrow cache: each archive's and each extracted file's
    name and `file_identity`, read with one stat per file (no content is read).

    `datasets` keys its cache by config and `data_dir` only, so an archive replaced in place
    would otherwise be served from the stale cache.

    Args:
        dataset: the dataset's spec.
        data_dir: the folder holding the inputs.
        config: the config whose inputs count.

    Returns:
        16 hex digits.
    """
    parts = []
    for spec in dataset.inputs_for(config).values():
        path = find_input(data_dir, spec)
        if path is None:
            parts.append(f"{spec.name}:missing")
        elif os.path.isfile(path):
            parts.append(f"{os.path.basename(path)}:{file_identity(os.stat(path))}")
        else:
            entries = []
            for name in folder_files(path):
                entries.append(f"{name}:{file_identity(os.stat(os.path.join(path, *name.split('/'))))}")
            parts.append(f"{spec.name}/:" + hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


# The archive last opened for each file version (path and `file_identity`), in any process: a forked
# process (num_proc, DataLoader workers) inherits it and reopens it instead of reading its directory.
_opened_versions: dict[tuple[str, tuple[int, int, int, int]], ZipArchive] = {}


@functools.lru_cache(maxsize=4)
def open_zip(path: str, identity: tuple[int, int, int, int], pid: int) -> ZipArchive:
    """An open archive, its central directory read once per file version.

    A streamed split opens its archives once per shard, and reading COCO's directory of 82,783
    members takes a fraction of a second. Reads are safe from several threads. The process id is
    part of the key: a forked worker (num_proc, DataLoader) opens its own file, and takes the member
    table of the archive its parent opened (`ZipArchive.reopened`); `identity` (`file_identity`)
    makes a replaced or rewritten archive a new entry, even one whose size and mtime were kept.

    Args:
        path: the archive.
        identity: its `file_identity` now.
        pid: this process's id.

    Returns:
        The open archive.
    """
    version = (path, identity)
    inherited = _opened_versions.get(version)
    archive = inherited.reopened() if inherited is not None else ZipArchive(path)
    _opened_versions.pop(version, None)
    _opened_versions[version] = archive  # the newest last: the oldest go first
    while len(_opened_versions) > open_zip.cache_info().maxsize:
        del _opened_versions[next(iter(_opened_versions))]
    return archive


@functools.lru_cache(maxsize=8)
def open_tar(path: str, identity: tuple[int, int, int, int], pid: int) -> TarArchive:
    """An open plain tar, its headers indexed once per process and file version (as `open_zip`)."""
    return TarArchive(path)


class Source:
    """A zip or plain tar archive, or an extracted folder, read member by member, never extracted. Nothing to
    close: an archive stays open in `open_zip`'s (`open_tar`'s) cache for the next shard; a folder holds no
    handle. A `.tar.gz` is read through its inflated copy (`scene_text_seg.tar.inflate_once`)."""

    def __init__(self, path: str):
        self.path = path
        self.label = os.path.basename(path.rstrip("/\\")) + ("" if os.path.isfile(path) else "/")
        self._zip: Optional[ZipArchive] = None
        self._tar: Optional[TarArchive] = None
        if os.path.isfile(path) and is_tar_name(path):
            if is_gzipped(path):
                raise ValueError(f"{path}: a .tar.gz is read through its inflated copy (inflate_once), not in place")
            self._tar = open_tar(path, file_identity(os.stat(path)), os.getpid())
            self.label = self._tar.label
        elif os.path.isfile(path):
            try:
                self._zip = open_zip(path, file_identity(os.stat(path)), os.getpid())
            except UnicodeDecodeError as e:
                raise InvalidInputError(
                    f"{path}: the member name {e.object!r} is not valid {e.encoding}, the encoding its flags "
                    f"declare; the archive is damaged or was written by a faulty tool"
                ) from None
            except (zipfile.BadZipFile, OSError) as e:
                with open(path, "rb") as f:
                    head = f.read(64)
                looks_like = " (it looks like an HTML page: a login or error page saved under the zip's name?)"
                raise InvalidInputError(
                    f"{path} is not a readable zip archive ({e}); it starts with {head[:32]!r}"
                    + (looks_like if head.lstrip().lower().startswith((b"<!doctype", b"<html")) else "")
                ) from None

    def members(self) -> Iterator[str]:
        """Every file inside, as a relative '/'-separated name, one at a time: a listing is read once
        and mostly passed over (COCO's images archive names 82,783 members, a build wants 14,690)."""
        if self._tar is not None:
            yield from self._tar.names()  # names and member kinds checked when indexed
            return
        if self._zip is None:
            yield from folder_files(self.path)
            return
        for name in self._zip.names():
            if name.endswith("/"):
                continue
            if climbs_out(name):
                raise InvalidInputError(f"{self.path}: a member name climbs out of the archive: {name!r}")
            yield name

    def where(self, member: str) -> str:
        """How messages name a member: `archive.zip:inner/name` or `folder/inner/name`, on one line."""
        archive = self._zip is not None or self._tar is not None
        return f"{self.label}:{printable(member)}" if archive else f"{self.label}{printable(member)}"

    def read(self, member: str) -> bytes:
        try:
            if self._tar is not None:
                self._refuse_oversized(member, self._tar.size(member))
                return self._tar.read(member)
            return self._read_zip(member) if self._zip is not None else self._read_file(member)
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, KeyError) as e:
            # bz2 reports a corrupt stream as OSError, lzma as LZMAError, deflate as zlib.error.
            raise InvalidInputError(
                f"{self.where(member)}: cannot be read ({printable(str(e))}); the archive is corrupt or truncated"
            ) from None

    def size(self, member: str) -> int:
        """A member's size in bytes, as its archive's listing declares it (a folder's file: as it is now)."""
        try:
            if self._tar is not None:
                return self._tar.size(member)
            if self._zip is not None:
                return self._zip.member(member).file_size
            return os.stat(os.path.join(self.path, *member.split("/"))).st_size
        except (OSError, KeyError) as e:
            raise InvalidInputError(f"{self.where(member)}: cannot be read ({printable(str(e))})") from None

    def _refuse_oversized(self, member: str, size: int) -> None:
        if size > MAX_MEMBER_BYTES:
            raise InvalidInputError(
                f"{self.where(member)}: {size:,} bytes, more than any image or mask of the dataset "
                f"({MAX_MEMBER_BYTES:,}): refusing to read it"
            )

    def _read_zip(self, member: str) -> bytes:
        info = self._check_zip_member(member)
        # As declared; a longer stream fails its CRC. Compressed bytes are read whole, so they count too.
        self._refuse_oversized(member, max(info.file_size, info.compress_size))
        return self._zip.read(info)

    def _check_zip_member(self, member: str) -> Member:
        info = self._zip.member(member)
        if info.flag_bits & 0x1:
            raise InvalidInputError(
                f"{self.where(member)}: encrypted (password-protected), which the published archives are not; "
                f"extract it with its password and pass the folder instead"
            )
        if info.compress_type not in READABLE_COMPRESSION:
            method = COMPRESSION_NAMES.get(info.compress_type, "unknown")
            raise InvalidInputError(
                f"{self.where(member)}: compressed with method {info.compress_type} ({method}), which Python's "
                f"zipfile cannot read; extract it with another tool and pass the folder instead"
            )
        return info

    def _read_file(self, member: str) -> bytes:
        with self._open_file(member) as f:
            self._refuse_oversized(member, os.fstat(f.fileno()).st_size)
            return f.read()

    def _open_file(self, member: str) -> IO[bytes]:
        # Non-blocking, and only a regular file: a named pipe swapped in since listing cannot hang us.
        descriptor = os.open(os.path.join(self.path, *member.split("/")), os.O_RDONLY | os.O_NONBLOCK)
        f = open(descriptor, "rb")
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            f.close()
            raise InvalidInputError(f"{self.where(member)}: not a regular file; refusing it")
        return f

    def open(self, member: str) -> IO[bytes]:
        """A member as a stream, for the one large file read whole (a split assignment): no size cap."""
        if self._tar is not None:
            return self._tar.open(member)
        if self._zip is None:
            return self._open_file(member)
        return self._zip.open(self._check_zip_member(member))


def read_split_assignment(assignment: SplitAssignment, path: str) -> dict[str, str]:
    """Lower-cased image stem -> split, from the assignment file: the input at `path` itself when
    `assignment.member` is None, else that member found (at any depth) in it."""
    if assignment.member is None:
        where = os.path.basename(path)
        try:
            with open(path, "rb") as stream:
                return assignment.read(stream, where)
        except OSError as e:
            raise InvalidInputError(f"{where}: cannot be read ({printable(str(e))})") from None
    source = Source(path)
    members = [m for m in source.members() if m.replace("\\", "/").rsplit("/", 1)[-1] == assignment.member]
    if not members:
        raise InvalidInputError(f"{source.label} holds no {assignment.member}")
    where = source.where(members[0])
    try:
        with source.open(members[0]) as stream:
            return assignment.read(stream, where)
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as e:
        raise InvalidInputError(f"{where}: cannot be read ({printable(str(e))})") from None


def readable_inputs(paths: dict[str, str], cache_dir: Optional[str] = None) -> dict[str, str]:
    """The located inputs as the build reads them: each `.tar.gz` replaced by its inflated `.tar` (made on
    first use in `<cache_dir>/downloads/extracted`, where `datasets` keeps what it extracts; see
    `scene_text_seg.tar`), every other input as it is.

    Args:
        paths: role -> located input (`locate_inputs`).
        cache_dir: the `datasets` cache folder (HF_DATASETS_CACHE when None), as the build is given it.

    Returns:
        role -> the path to read.
    """
    root = os.path.expanduser(cache_dir or datasets.config.HF_DATASETS_CACHE)
    extracted = os.path.join(root, datasets.config.DOWNLOADED_DATASETS_DIR, datasets.config.EXTRACTED_DATASETS_DIR)
    return {
        role: inflate_once(path, extracted, file_identity(os.stat(path)))
        if os.path.isfile(path) and is_gzipped(path)
        else path
        for role, path in paths.items()
    }
