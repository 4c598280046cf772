"""Tar archives read member by member: a `.tar` in place, a `.tar.gz` inflated once into the cache.

A gzip stream cannot be read from the middle, and a build reads members by name, in the order of
the pairs, from two or three archives at once (TextSeg's images, labels and annotations). So a
`.tar.gz` is inflated once, whole, into a plain `.tar` in the `datasets` cache (`inflate_once`):
one file, written under a temporary name and renamed when complete, keyed by the archive's
identity (size, mtime, inode, ctime), so a replaced archive is inflated again and an interrupted
inflate is never taken for a finished one. Its members are then read at their offsets, like a
zip's stored members; nothing is ever extracted to a folder.

Why not `datasets`' own extraction (`DownloadManager.extract`): it extracts every member to a
folder keyed by the archive's path alone (a replaced archive is served the old folder), takes a
non-empty folder left by an interrupted extraction as finished, and only logs the members it
blocks (names that climb out, links leaving the folder) before going on without them.

`TarArchive` indexes the headers once (`tarfile`'s own parser, which handles GNU and PAX long
names and sizes) and refuses, naming the member: a name that climbs out of the archive, a link
(symbolic or hard), any member that is not a regular file or a folder (device, FIFO), a sparse
file, and an archive that ends inside a member.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple, Optional

try:  # zlib-ng's gzip (inflate and CRC) inflated a 505 MB archive of JPEGs in ~2.5 s, the standard library's in ~3.0 s
    from zlib_ng import gzip_ng as gzip
    from zlib_ng.gzip_ng_threaded import open as open_gzip  # inflates in a thread of its own: see inflate_once
    from zlib_ng.zlib_ng import error as inflate_error
except ImportError:  # the same interface, slower
    import gzip
    from gzip import open as open_gzip
    from zlib import error as inflate_error

from .archive import PositionedFile, climbs_out
from .errors import InvalidInputError

INFLATED_SUFFIX = ".inflated.tar"  # `image.tar.gz` is inflated to `image.tar.gz.inflated.tar`
INFLATE_PIECE = 1 << 20


def is_tar_name(path: str) -> bool:
    """A name the engine reads as a tar archive: `.tar`, `.tar.gz` or `.tgz` (any case)."""
    return path.lower().endswith((".tar", ".tar.gz", ".tgz"))


def is_gzipped(path: str) -> bool:
    return path.lower().endswith((".tar.gz", ".tgz"))


def display_name(path: str) -> str:
    """How messages name an archive: an inflated copy by the archive the user gave (`image.tar.gz`)."""
    name = os.path.basename(path)
    return name[: -len(INFLATED_SUFFIX)] if name.endswith(INFLATED_SUFFIX) else name


def inflate_once(path: str, folder: str, identity: tuple[int, ...]) -> str:
    """The plain tar of a `.tar.gz`, inflated into `folder` on first use and reused after.

    Args:
        path: the `.tar.gz` (or `.tgz`).
        folder: where inflated archives are kept (`<cache_dir>/downloads/extracted`).
        identity: the archive's `inputs.file_identity`; a new one inflates again (and removes the
            copy of the old version).

    Returns:
        The path of the inflated `.tar` (its size is the archive's uncompressed size).

    Raises:
        InvalidInputError: the archive is not gzip data, or ends early (truncated).
    """
    name = os.path.basename(path)
    key = "-".join(str(part) for part in identity)
    target = os.path.join(folder, f"{name}-{key}", name + INFLATED_SUFFIX)
    if os.path.isfile(target):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    partial = f"{target}.{os.getpid()}.partial"
    try:
        # zlib-ng's threaded reader inflates the next piece while this thread writes the last one (both without
        # the GIL): 505 MB of JPEGs in 1.8-1.9 s, against 2.5-3.0 s inflating and writing in turn. Its errors
        # are gzip's, raised here.
        with open_gzip(path, "rb") as source, open(partial, "wb") as copy:
            shutil.copyfileobj(source, copy, INFLATE_PIECE)
        os.replace(partial, target)  # whole, or not there at all
    except (OSError, EOFError, zlib.error, inflate_error) as e:
        with contextlib.suppress(OSError):
            os.remove(partial)
        if isinstance(e, OSError) and not isinstance(e, gzip.BadGzipFile) and e.errno is not None:
            raise  # the disk, not the archive: the builder names the cache folder
        problem = "it ends early: truncated" if isinstance(e, EOFError) else f"not gzip data ({e})"
        raise InvalidInputError(f"{path}: cannot be inflated, {problem}; download it again") from None
    for stale in os.listdir(folder):  # the copies of earlier versions of the same archive
        if stale.startswith(f"{name}-") and stale != f"{name}-{key}":
            shutil.rmtree(os.path.join(folder, stale), ignore_errors=True)
    return target


BLOCK = tarfile.BLOCKSIZE
FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)  # a regular file: "0", or "\\0" (pre-POSIX)


def _plain_members(fd: int, size: int) -> Optional[list[tuple[str, Optional[int], int]]]:
    """(name, data offset, size) of each member of a tar whose every header is a plain one, in order, read header
    by header as `tarfile` reads them and named as it names them (a folder: offset None); None for any other tar,
    which `tarfile` then reads.

    A plain header: a regular file or a folder, its checksum the unsigned sum `tarfile` takes first, each number
    in octal digits; the archive ends with a zero block or at a header's place. Anything else (a link, a device, a
    PAX or GNU extension, a number in base 256, a damaged or cut header) is left to `tarfile`, whose errors and
    member kinds `TarArchive._add` refuses as before. `tarfile` parses all sixteen fields of each header, in
    Python: TextSeg's two tars (8,048 members) took 0.28-0.49 s, these few fields 0.08-0.14 s.
    """
    members: list[tuple[str, Optional[int], int]] = []
    offset = 0
    while offset + BLOCK <= size:
        block = os.pread(fd, BLOCK, offset)
        if len(block) < BLOCK:
            return None
        if not any(block):  # the end-of-archive block: `tarfile` stops at the first
            return members
        try:  # every number `tarfile` reads (a bad one ends its listing there, or refuses the archive)
            numbers = {field: _octal(block[start:end]) for field, (start, end) in NUMBERS.items()}
        except ValueError:
            return None
        length = numbers["size"]
        if numbers["checksum"] != 256 + sum(block[:148]) + sum(block[156:]):  # the checksum field counted as 8 spaces
            return None
        kind, name, prefix = block[156:157], _text(block[:100]), _text(block[345:500])
        if kind in FILE_TYPES and not name.endswith("/"):
            members.append((f"{prefix}/{name}" if prefix else name, offset + BLOCK, length))
            offset += BLOCK + -(-length // BLOCK) * BLOCK
        elif kind == tarfile.DIRTYPE or kind == tarfile.AREGTYPE:  # a folder (an old tar's: "x/"), as tarfile
            name = name.rstrip("/")  # names it and skips no data after it
            members.append((f"{prefix}/{name}" if prefix else name, None, 0))
            offset += BLOCK
        else:
            return None
    # Ended where a header would begin, with no end-of-archive block; any other end is `tarfile`'s to judge
    return members if 0 < offset == size else None


# Where each number of a header is
NUMBERS = {
    "mode": (100, 108),
    "uid": (108, 116),
    "gid": (116, 124),
    "size": (124, 136),
    "mtime": (136, 148),
    "checksum": (148, 156),
    "device major": (329, 337),
    "device minor": (337, 345),
}


def _octal(field: bytes) -> int:
    """A header's number as `tarfile` reads it (`nti`): octal digits up to the first NUL, spaces around them;
    ValueError for anything else, a number in base 256 (first byte 0x80 or 0xff) included."""
    if field[0] & 0x80:
        raise ValueError("a number in base 256")
    return int(field.split(b"\0", 1)[0].decode("ascii").strip() or "0", 8)


def _text(field: bytes) -> str:
    """A header's string as `tarfile` reads it (`nts`), in its default encoding."""
    return field.split(b"\0", 1)[0].decode(tarfile.ENCODING, "surrogateescape")


class _Member(NamedTuple):
    offset: int  # of its data in the tar
    size: int


class TarArchive:
    """A plain tar's regular files by name, read at their offsets (positioned reads, safe from threads)."""

    def __init__(self, path: str):
        self.path = path
        self.label = display_name(path)
        self._members: dict[str, _Member] = {}
        self._index()
        self._file = PositionedFile(path)  # for the archive's life: positioned reads, as a zip's

    def _index(self) -> None:
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            plain = _plain_members(f.fileno(), size)
            if plain is not None:
                for name, offset, length in plain:
                    self._check_name(name)
                    if offset is not None:  # a file, not a folder
                        self._add_file(name, offset, length, size)
                return
            try:
                with tarfile.open(fileobj=f, mode="r:") as archive:
                    for info in archive:
                        self._add(info, size)
            except tarfile.ReadError as e:
                raise InvalidInputError(f"{self.label}: not a readable tar archive ({e})") from None

    def _add(self, info: tarfile.TarInfo, size: int) -> None:
        name = info.name
        self._check_name(name)
        if info.issym() or info.islnk():
            raise InvalidInputError(
                f"{self.label}:{name}: a link (to {info.linkname!r}), which the published archives do not hold; "
                f"refusing it"
            )
        if info.isdir():
            return
        if not info.isreg():
            raise InvalidInputError(f"{self.label}:{name}: not a regular file (a device or FIFO); refusing it")
        if info.issparse():  # its stored bytes are not its content: never in a published archive
            raise InvalidInputError(f"{self.label}:{name}: a sparse file, which is not read; refusing it")
        self._add_file(name, info.offset_data, info.size, size)

    def _check_name(self, name: str) -> None:
        if climbs_out(name):
            raise InvalidInputError(f"{self.label}: a member name climbs out of the archive: {name!r}")

    def _add_file(self, name: str, offset: int, length: int, size: int) -> None:
        """A regular file (its name checked) whose data is `length` bytes at `offset` of the tar's `size` bytes."""
        if offset + length > size:
            raise InvalidInputError(
                f"{self.label}:{name}: the archive ends inside this member ({length:,} bytes declared, "
                f"{max(0, size - offset):,} present): truncated"
            )
        self._members[name] = _Member(offset, length)

    def names(self) -> Iterator[str]:
        """Every regular file's name, in the archive's order."""
        return iter(self._members)

    def size(self, name: str) -> int:
        return self._members[name].size

    def read(self, name: str) -> bytes:
        offset, size = self._members[name]
        return self._file.read_at(size, offset)

    def open(self, name: str) -> _Window:
        """A member as a stream (read in pieces from a file of its own)."""
        offset, size = self._members[name]
        stream = open(self.path, "rb")
        stream.seek(offset)
        return _Window(stream, size)

    def close(self) -> None:
        self._file.close()


class _Window:
    """`size` bytes of a file from where it stands: a member of a tar as a stream (`read` and `close`)."""

    def __init__(self, stream: BinaryIO, size: int):
        self._stream, self._left = stream, size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._stream.read(n)
        self._left -= len(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> _Window:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
