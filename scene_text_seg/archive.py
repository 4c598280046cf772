"""Zip archives read member by member, their member table kept compact.

`zipfile.ZipFile` holds a `ZipInfo` object for every member, about 640 bytes each: 53 MB for COCO's
`train2014.zip` of 82,783 members, kept for the whole build and not given back when freed (Python's
small-object arenas stay fragmented). A build reads some of them, by name. `ZipArchive` keeps one
40-byte record a member in numpy arrays (what reading needs, found by the name's hash), reads the
central directory again when names are listed, and reads a member from its local header on as
zipfile does: a stored member (a photo) is only checked, a deflated one (a mask) inflated in one call,
each against its size and CRC; any other, and any member whose bytes do not check, goes through
zipfile's own `ZipExtFile`, so that its errors are zipfile's.

What is parsed by hand is only the archive's index, as zipfile parses it (the end record, its
Zip64 form, the central directory entries and their Zip64 sizes); errors are zipfile's
`BadZipFile`. A plain directory (ASCII names, no Zip64 field: nearly every archive) is read in
whole-array steps: COCO's 82,783 entries in about 0.03 s. Any other is walked entry by entry with
plain struct reads, a `ZipInfo` made only for an entry with Zip64 fields (0.13 s for as many entries,
where a `ZipInfo` each took 0.4 s).
"""

from __future__ import annotations

import array
import bisect
import io
import os
import re
import struct
import threading
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, NamedTuple, Optional, Union

import numpy as np

try:  # the same CRC-32 and inflate, several times faster (a stored photo's check); the standard library's otherwise
    from zlib_ng.zlib_ng import crc32, decompressobj
except ImportError:
    from zlib import crc32, decompressobj

END_RECORD = struct.Struct("<4s4H2LH")  # end of central directory record
END_RECORD_SIGNATURE = b"PK\x05\x06"
ZIP64_LOCATOR = struct.Struct("<4sLQL")
ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")
ZIP64_END_RECORD_SIGNATURE = b"PK\x06\x06"
ENTRY = struct.Struct("<4s4B4HL2L5H2L")  # a central directory entry, before its name, extra and comment
ENTRY_SIGNATURE = b"PK\x01\x02"
LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
UTF8_NAME = 1 << 11
ENCRYPTED, PATCHED_DATA, STRONG_ENCRYPTION = 1, 1 << 5, 1 << 6
ZIP64_EXTRA = 0x0001
ZIP64_MARK = 0xFFFFFFFF  # a size or offset held in the Zip64 extra field instead
MAX_COMMENT = (1 << 16) - 1
LOCAL_NAME_AND_EXTRA = 512  # read with a local header: its name and extra field nearly always fit


def climbs_out(name: str) -> bool:
    """Whether an archive member's name would land outside the folder it were extracted to: absolute, or
    holding a `..` part (with either separator). Nothing is ever extracted, but such an archive is no release."""
    return name.startswith(("/", "\\")) or (".." in name and ".." in re.split(r"[/\\]", name))


class Member(NamedTuple):
    """What reading a member needs, named as `zipfile.ZipInfo` names it; `ZipArchive.member` gives one
    from the table without making a `ZipInfo`."""

    filename: str
    flag_bits: int
    compress_type: int
    CRC: int
    compress_size: int
    file_size: int
    header_offset: int


AnyInfo = Union[zipfile.ZipInfo, Member]


class PositionedFile:
    """A file read at given offsets, safely from several threads: `os.pread` (no shared file offset)
    where the system has it, a lock around seek and read elsewhere (Windows)."""

    def __init__(self, path: str):
        self._file = open(path, "rb")  # for the archive's life: closed with it
        self._lock = threading.Lock()
        self.size = os.fstat(self._file.fileno()).st_size

    def read_at(self, size: int, offset: int) -> bytes:
        if hasattr(os, "pread"):
            return os.pread(self._file.fileno(), size, offset)
        with self._lock:
            self._file.seek(offset)
            return self._file.read(size)

    def close(self) -> None:
        self._file.close()


class ZipArchive:
    """A zip archive's members by name, as `zipfile.ZipFile` lists and reads them; safe from several
    threads (reads are positioned, with no shared file offset).

    Per member only what reading needs is kept, as arrays in the order of the names' hashes: flags,
    method, CRC, sizes and offset (Zip64 values applied), 40 bytes. The names themselves (a plain
    directory's as the directory and where each name lies in it) are kept only until they are first
    listed, or a member is looked up; the central directory is read again for each later listing. A
    name is found by its hash; the member's local header, which holds its name again, is checked
    against the name asked for before anything is read, as zipfile checks it against the directory.
    """

    def __init__(self, path: str):
        self.path = path
        self._file = PositionedFile(path)
        # The names read for the index wait for the first listing (planning's, nearly always), which
        # takes them (a plain directory's as the directory and where each name lies, decoded as they are
        # listed: `_PlainNames`): listing COCO's 82,783 again would find them in the directory again.
        # Later listings read it again, and the first member looked up lets them go unlisted, so an open
        # archive does not hold them (7 MB) for its whole life.
        self._unlisted: Optional[Iterable[str]] = None
        try:
            self._unlisted, self._hashes, self._index = _member_index(self._directory())
        except BaseException:
            self._file.close()
            raise

    def reopened(self) -> ZipArchive:
        """The same archive on a file of its own (a forked process must not share its parent's), its
        member table shared instead of read again: a build process finds its archives' tables in what
        it inherited. The caller makes sure the file is still the version this one read."""
        archive = object.__new__(ZipArchive)
        archive.path, archive._hashes, archive._index = self.path, self._hashes, self._index
        archive._unlisted = None
        archive._file = PositionedFile(self.path)
        return archive

    def names(self) -> Iterator[str]:
        """Every member name (directories too), in the archive's order."""
        names, self._unlisted = self._unlisted, None
        if names is not None:
            return iter(names)
        return iter(_directory_table(self._directory())[0])

    def getinfo(self, name: str) -> zipfile.ZipInfo:
        """The member's `ZipInfo` (`KeyError` when there is none); of several under one name, the last,
        as zipfile keeps it."""
        return _zipinfo(self.member(name))

    def member(self, name: str) -> Member:
        """What `getinfo` says of the member, as a `Member` (`KeyError` when there is none)."""
        self._unlisted = None  # members are read once planned: a reader (a spawned worker) keeps no names
        hashes, key = self._hashes, hash(name)
        # bisect, not numpy's searchsorted: that one lets go of the GIL, and a thread that lets go of it
        # while another runs Python code waits up to the switch interval (5 ms) to take it back
        at = bisect.bisect_right(hashes, key) - 1  # equal hashes keep directory order
        if at < 0 or hashes[at] != key:
            raise KeyError(f"There is no item named {name!r} in the archive")
        flags, method, crc, compressed, size, offset = self._index[at].item()
        return Member(name, flags, method, crc, compressed, size, offset)

    def read(self, info: AnyInfo) -> bytes:
        """A member's bytes (`info` from `getinfo` or `member`), inflated and checked against its CRC and size.

        Its local header and its bytes are nearly always taken in one read: each read lets go of the GIL,
        and a thread taking it back while another runs Python code waits up to the switch interval (5 ms).
        """
        ahead = LOCAL_HEADER.size + LOCAL_NAME_AND_EXTRA
        header_and_data = self._file.read_at(ahead + info.compress_size, info.header_offset)
        skip = self._data_start(info, header_and_data) - info.header_offset
        if skip <= ahead:  # the read covered the member's bytes, or the file ends inside them
            compressed = header_and_data[skip : skip + info.compress_size]
        else:  # a local extra field longer than the read ahead
            compressed = self._file.read_at(info.compress_size, info.header_offset + skip)
        if not info.flag_bits & ENCRYPTED:
            if info.compress_type == zipfile.ZIP_STORED:
                return _checked_stored(compressed, info)
            if info.compress_type == zipfile.ZIP_DEFLATED and (data := _inflated(compressed, info)) is not None:
                return data
        with zipfile.ZipExtFile(io.BytesIO(compressed), "r", _zipinfo(info)) as member:
            return member.read()

    def open(self, info: AnyInfo) -> IO[bytes]:
        """A member as a stream (read in pieces from a file of its own)."""
        start = self._data_start(info)
        stream = open(self.path, "rb")  # the member stream closes it
        stream.seek(start)
        return zipfile.ZipExtFile(stream, "r", _zipinfo(info), close_fileobj=True)

    def close(self) -> None:
        self._file.close()

    def _directory(self) -> _Directory:
        return _central_directory(self._file)

    def _data_start(self, info: AnyInfo, header: Optional[bytes] = None) -> int:
        """Where the member's compressed bytes begin, past its local header, checked as zipfile does;
        `header`: the bytes from the header on, when already read (else its header, name and nearly
        always its extra field are taken in one read)."""
        if header is None:
            header = self._file.read_at(LOCAL_HEADER.size + LOCAL_NAME_AND_EXTRA, info.header_offset)
        if len(header) < LOCAL_HEADER.size:
            raise zipfile.BadZipFile("Truncated file header")
        fields = LOCAL_HEADER.unpack_from(header)
        if fields[0] != LOCAL_HEADER_SIGNATURE:
            raise zipfile.BadZipFile("Bad magic number for file header")
        name_length, extra_length = fields[10:12]
        raw = header[LOCAL_HEADER.size : LOCAL_HEADER.size + name_length]
        if len(raw) < name_length:  # a name longer than the read ahead, or the file ends inside it
            raw = self._file.read_at(name_length, info.header_offset + LOCAL_HEADER.size)
        if info.flag_bits & PATCHED_DATA:
            raise zipfile.BadZipFile("compressed patched data (flag bit 5) is not supported")
        if info.flag_bits & STRONG_ENCRYPTION:
            raise zipfile.BadZipFile("strong encryption (flag bit 6) is not supported")
        if _normalised(_decoded(raw, fields[3])) != info.filename:
            raise zipfile.BadZipFile(f"File name in directory {info.filename!r} and header {raw!r} differ.")
        return info.header_offset + LOCAL_HEADER.size + name_length + extra_length


def _zipinfo(info: AnyInfo) -> zipfile.ZipInfo:
    """A `ZipInfo` for zipfile's own readers."""
    if isinstance(info, zipfile.ZipInfo):
        return info
    zipinfo = zipfile.ZipInfo(info.filename)
    zipinfo.flag_bits, zipinfo.compress_type, zipinfo.CRC = info.flag_bits, info.compress_type, info.CRC
    zipinfo.compress_size, zipinfo.file_size = info.compress_size, info.file_size
    zipinfo.header_offset = info.header_offset
    return zipinfo


def _inflated(compressed: bytes, info: AnyInfo) -> Optional[bytes]:
    """A deflated member's bytes in one inflate when its stream is whole and they check (size and CRC):
    then what `ZipExtFile` gives. None otherwise, for `ZipExtFile` to read it and raise what it raises."""
    inflater = decompressobj(-15)
    try:
        data = inflater.decompress(compressed, info.file_size + 1)
    except Exception:  # zlib's error or zlib-ng's: ZipExtFile raises the one zipfile's users expect
        return None
    if not inflater.eof or len(data) != info.file_size or crc32(data) != info.CRC:
        return None
    return data


def _checked_stored(data: bytes, info: AnyInfo) -> bytes:
    """A stored member's bytes as `ZipExtFile` gives them (its size read, its CRC checked; zipfile's
    errors), without passing them through its buffers: 20 against 70 us a 140 KB photo, most of it
    the CRC, which zlib-ng computes about 15 times faster than the system zlib."""
    if len(data) < min(info.compress_size, info.file_size):
        raise EOFError  # the archive ends inside the member: what ZipExtFile raises
    data = data[: info.file_size]  # as many as both sizes allow (the same object when that is all of it)
    if crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return data


class _Directory(NamedTuple):
    data: bytes  # the central directory as stored
    shift: int  # added to every offset it gives: bytes prepended to the archive (a self-extractor's)


MEMBER_INDEX = np.dtype(
    [
        ("flags", np.uint16),
        ("method", np.uint16),
        ("crc", np.uint32),
        ("compressed", np.uint64),
        ("size", np.uint64),
        ("offset", np.uint64),
    ]
)


def _member_index(directory: _Directory) -> tuple[Iterable[str], array.array, np.ndarray]:
    """The member names, in the archive's order (for the first listing: see `_PlainNames`), the hashes of
    the names, sorted (stable: entries under one name stay in the archive's order), and in the same order
    what reading needs of each member (MEMBER_INDEX). The hashes are an `array` of their own, searched by
    `bisect`. Columns are filled as machine integers, never as a Python object a member."""
    names, index, hashes = _directory_table(directory, hashed=True)
    order = np.argsort(hashes, kind="stable")
    return names, array.array("q", hashes[order].tobytes()), index[order]


def _directory_table(directory: _Directory, hashed: bool = False) -> tuple[Iterable[str], np.ndarray, np.ndarray]:
    """Every entry's name, in the archive's order, what reading needs of it (MEMBER_INDEX), as
    `_directory_entries` gives them, and with `hashed` the names' hashes (else an empty array): read in
    whole-array steps from a plain directory (`_plain_directory_table`), else entry by entry."""
    plain = _plain_directory_table(directory, hashed)
    if plain is not None:
        return plain
    names, columns = [], [array.array(code) for code in "HHIQQQ"]  # MEMBER_INDEX's columns, in order
    name_of = names.append
    flags_of, method_of, crc_of, compressed_of, size_of, offset_of = [column.append for column in columns]
    for name, flags, method, crc, compressed, size, offset in _directory_entries(directory):
        name_of(name)
        flags_of(flags)
        method_of(method)
        crc_of(crc)
        compressed_of(compressed)
        size_of(size)
        offset_of(offset)
    index = np.empty(len(names), MEMBER_INDEX)
    for field, column in zip(MEMBER_INDEX.names, columns, strict=True):
        index[field] = np.asarray(column)
    hashes = np.fromiter(map(hash, names), np.int64, count=len(names)) if hashed else np.empty(0, np.int64)
    return names, index, hashes


class _PlainNames:
    """A plain directory's member names (`_plain_directory_table`), decoded from it one at a time as they are
    listed. Listing COCO's 82,783 names, of which planning keeps 14,690, leaves no list of them behind: held
    as a list, their small objects, freed around the few kept, stayed in the process's memory (the build's
    peak at COCO's count: 201 MB, now 196 MB; 182 MB at a tenth of it, as before)."""

    __slots__ = ("data", "ends", "starts")

    def __init__(self, data: bytes, starts: np.ndarray, ends: np.ndarray):
        self.data, self.starts, self.ends = data, starts, ends

    def __len__(self) -> int:
        return len(self.starts)

    def __iter__(self) -> Iterator[str]:
        data = self.data
        for at in range(0, len(self.starts), NAMES_A_STEP):
            starts, ends = self.starts[at : at + NAMES_A_STEP].tolist(), self.ends[at : at + NAMES_A_STEP].tolist()
            for start, end in zip(starts, ends, strict=True):
                yield data[start:end].decode("ascii")


NAMES_A_STEP = 4096  # offsets made Python integers a few thousand at a time


def _names_are_plain(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
    """Whether every name (`raw[start:end]`) is ASCII without a NUL (nor the system's separator, where it
    is not '/'), told in whole-array steps: each name's largest and smallest byte (`reduceat` over the
    names and the gaps between them, every other result kept), no name decoded."""
    named = starts < ends  # an empty name has no byte to test
    starts, ends = starts[named], ends[named]
    if not len(starts):
        return True
    bounds = np.column_stack((starts, ends)).reshape(-1)
    bounds = bounds[:-1] if bounds[-1] == len(raw) else bounds  # the last name ends where the bytes do
    if np.maximum.reduceat(raw, bounds)[::2].max() >= 0x80 or np.minimum.reduceat(raw, bounds)[::2].min() == 0:
        return False
    if os.sep != "/":
        separators = (raw == ord(os.sep)).view(np.uint8)
        return not np.maximum.reduceat(separators, bounds)[::2].any()
    return True


# A central directory entry's fields that reading needs, where ENTRY has them (little-endian)
ENTRY_FIELDS = np.dtype(
    {
        "names": ["signature", "flags", "method", "crc", "compressed", "size", "name", "extra", "comment", "offset"],
        "formats": ["<u4", "<u2", "<u2", "<u4", "<u4", "<u4", "<u2", "<u2", "<u2", "<u4"],
        "offsets": [0, 8, 10, 16, 20, 24, 28, 30, 32, 42],
        "itemsize": ENTRY.size,
    }
)


def _plain_directory_table(
    directory: _Directory, hashed: bool = False
) -> Optional[tuple[_PlainNames, np.ndarray, np.ndarray]]:
    """`_directory_table` of a directory whose names are ASCII without a NUL (or the system's separator,
    where it is not '/') and whose entries need no Zip64 field: nearly every archive. Read in
    whole-array steps (COCO's 82,783 entries in ~0.03 s, where one at a time took ~0.13 s); None for
    any other, which is read entry by entry, with zipfile's errors.

    The entries are found where the signature occurs and accepted only when they chain: the first at
    the start, each ending where the next begins, the last at the directory's end. A name holding the
    signature breaks the chain, and the directory is read entry by entry."""
    data = directory.data
    raw = np.frombuffer(data, np.uint8)
    if len(raw) < ENTRY.size:
        return None
    heads = np.flatnonzero(raw[: len(raw) - ENTRY.size + 1] == ENTRY_SIGNATURE[0])
    for at, byte in enumerate(ENTRY_SIGNATURE[1:], 1):
        heads = heads[raw[heads + at] == byte]
    if not len(heads) or heads[0] != 0:
        return None
    entries = np.lib.stride_tricks.sliding_window_view(raw, ENTRY.size)[heads].view(ENTRY_FIELDS)[:, 0]
    name_starts = heads + ENTRY.size
    ends = name_starts + entries["name"] + entries["extra"] + entries["comment"]
    if not np.array_equal(ends[:-1], heads[1:]) or ends[-1] != len(raw):
        return None
    if any((entries[field] == ZIP64_MARK).any() for field in ("compressed", "size", "offset")):
        return None
    name_ends = name_starts + entries["name"]
    if not _extra_records_whole(raw, name_ends, entries["extra"]):  # refused entry by entry, as zipfile does
        return None
    if not _names_are_plain(raw, name_starts, name_ends):
        return None
    offsets = entries["offset"].astype(np.int64) + directory.shift
    if len(offsets) and offsets.min() < 0:  # an offset before the archive's start: left to the entry-by-entry reading
        return None
    names = _PlainNames(data, name_starts, name_ends)
    # Each name decoded for its hash and let go at once: the first listing decodes it again
    hashes = np.fromiter(map(hash, names), np.int64, count=len(names)) if hashed else np.empty(0, np.int64)
    index = np.empty(len(names), MEMBER_INDEX)
    for field in ("flags", "method", "crc", "compressed", "size", "offset"):
        index[field] = offsets if field == "offset" else entries[field]
    return names, index, hashes


def _directory_entries(directory: _Directory) -> Iterator[tuple[str, int, int, int, int, int, int]]:
    """(name, flag bits, method, CRC, compressed size, size, local header offset) of each entry, one at
    a time, checked and completed as zipfile does: the name decoded (UTF-8 when flagged, else cp437)
    and normalised, Zip64 sizes and offset applied, the offset moved by bytes prepended to the archive."""
    data, position, end, shift, unpack = directory.data, 0, len(directory.data), directory.shift, ENTRY.unpack_from
    while position < end:
        if end - position < ENTRY.size:
            raise zipfile.BadZipFile("Truncated central directory")
        fields = unpack(data, position)
        if fields[0] != ENTRY_SIGNATURE:
            raise zipfile.BadZipFile("Bad magic number for central directory")
        name_length, extra_length, comment_length = fields[12:15]
        name_end = position + ENTRY.size + name_length
        name = _normalised(_decoded(data[position + ENTRY.size : name_end], fields[5]))
        if extra_length >= 4:
            _check_extra_records(data[name_end : name_end + extra_length])
        compressed, size, offset = fields[10], fields[11], fields[18]
        if ZIP64_MARK in (compressed, size, offset):
            info = zipfile.ZipInfo(name)
            info.compress_size, info.file_size, info.header_offset = compressed, size, offset
            info.extra = data[name_end : name_end + extra_length]
            _apply_zip64_extra(info)
            compressed, size, offset = info.compress_size, info.file_size, info.header_offset
        yield name, fields[5], fields[6], fields[9], compressed, size, offset + shift
        position = name_end + extra_length + comment_length


def _extra_records(extra: bytes) -> Iterator[tuple[int, int, bytes]]:
    """An extra field's records, (kind, declared length, body), as zipfile reads them; a record declaring
    more bytes than the field has left is refused as zipfile refuses it when it opens the archive."""
    position = 0
    while len(extra) - position >= 4:
        kind, length = struct.unpack_from("<2H", extra, position)
        if position + 4 + length > len(extra):
            raise zipfile.BadZipFile(f"Corrupt extra field {kind:04x} (size={length})")
        yield kind, length, extra[position + 4 : position + 4 + length]
        position += 4 + length


def _check_extra_records(extra: bytes) -> None:
    for _ in _extra_records(extra):
        pass


def _extra_records_whole(raw: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> bool:
    """Whether every extra field (at `starts`, of `lengths`, in `raw`) holds whole records, as
    `_check_extra_records` requires: the fields' first records read side by side, then their second, ..."""
    at, left = starts, lengths.astype(np.int64)
    while True:
        more = left >= 4
        if not more.any():
            return True
        at, left = at[more], left[more]
        sizes = raw[at + 2].astype(np.int64) | raw[at + 3].astype(np.int64) << 8
        if (sizes + 4 > left).any():
            return False
        at, left = at + 4 + sizes, left - 4 - sizes


def _decoded(raw: bytes, flag_bits: int) -> str:
    if raw.isascii():  # nearly every name; ASCII reads the same in both, and its codec is the fastest
        return raw.decode("ascii")
    return raw.decode("utf-8" if flag_bits & UTF8_NAME else "cp437")


def _normalised(name: str) -> str:
    """The name as `zipfile.ZipInfo` keeps it: cut at a NUL, the system's separator made '/'."""
    if "\0" in name or (os.sep != "/" and os.sep in name):
        return zipfile.ZipInfo(name).filename
    return name


def _central_directory(archive: PositionedFile) -> _Directory:
    """The central directory, found from the end record (or its Zip64 form) as zipfile finds it."""
    size = archive.size
    tail_start = max(0, size - END_RECORD.size - MAX_COMMENT)
    tail = archive.read_at(size - tail_start, tail_start)
    at = tail.rfind(END_RECORD_SIGNATURE, 0, len(tail) - END_RECORD.size + len(END_RECORD_SIGNATURE))  # a whole record
    if at < 0:
        raise zipfile.BadZipFile("File is not a zip file")
    fields = END_RECORD.unpack_from(tail, at)
    end_record = tail_start + at
    directory_size, directory_offset = fields[5], fields[6]
    records = 0  # bytes of Zip64 records between the directory and the end record
    locator_at = end_record - ZIP64_LOCATOR.size
    locator = archive.read_at(ZIP64_LOCATOR.size, locator_at) if locator_at >= 0 else b""
    if locator[:4] == ZIP64_LOCATOR_SIGNATURE:
        _, disk, _, disks = ZIP64_LOCATOR.unpack(locator)
        if disk != 0 or disks > 1:
            raise zipfile.BadZipFile("zipfiles that span multiple disks are not supported")
        record_at = locator_at - ZIP64_END_RECORD.size
        record = archive.read_at(ZIP64_END_RECORD.size, record_at) if record_at >= 0 else b""
        if len(record) != ZIP64_END_RECORD.size:
            raise zipfile.BadZipFile("Truncated Zip64 end of central directory record")
        zip64 = ZIP64_END_RECORD.unpack(record)
        if zip64[0] != ZIP64_END_RECORD_SIGNATURE:
            raise zipfile.BadZipFile("Zip64 end of central directory record not found")
        directory_size, directory_offset = zip64[8], zip64[9]
        records = ZIP64_LOCATOR.size + ZIP64_END_RECORD.size
    shift = end_record - records - directory_size - directory_offset
    if directory_offset + shift < 0:
        raise zipfile.BadZipFile("Bad offset for central directory")
    directory = archive.read_at(directory_size, directory_offset + shift)
    if len(directory) != directory_size:
        raise zipfile.BadZipFile("Truncated central directory")
    return _Directory(directory, shift)


def _apply_zip64_extra(info: zipfile.ZipInfo) -> None:
    """Sizes and offset that did not fit 32 bits, from the Zip64 extra field, in its fixed order."""
    for kind, length, body in _extra_records(info.extra):
        if kind == ZIP64_EXTRA:
            values = iter(struct.unpack_from(f"<{len(body) // 8}Q", body))
            try:
                for field in ("file_size", "compress_size", "header_offset"):
                    if getattr(info, field) == 0xFFFFFFFF:
                        setattr(info, field, next(values))
            except StopIteration:
                raise zipfile.BadZipFile(f"Corrupt extra field {kind:04x} (size={length})") from None
