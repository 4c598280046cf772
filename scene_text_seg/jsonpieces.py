"""A large JSON document read in pieces, in flat memory, yet to its end and as strictly as `json.load`.

COCO-Text v2's `cocotext.v2.json` holds every annotation of 63,686 images; `json.load` would hold it
all, several times the file's size, for the few fields a build uses. `walk_sections` walks the two
outer levels here and hands each entry of the named top-level objects, decoded by the `json` module
itself, to a function of the caller's; errors name the file and the byte where reading failed.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from typing import IO

from .errors import InvalidInputError

JSON_PIECE = 4 << 20  # a document is read 4 MiB at a time
ENTRY_LOOKAHEAD = 1 << 20  # text held past an entry before it is decoded: COCO-Text's longest is a few KB
ENTRY_LIMIT = 64 << 20  # an entry still undecoded with this much text held is reported, never held whole
# The end of the text held may cut a number into a shorter one ("12." of 12.5, "1e+" of 1e+5 decode as 12
# and 1): a value is taken as whole only with more than this many characters after it.
NUMBER_CUT = 2
# A decoder error this close to the end of the text held may be a token the end cut ("-Infinit", "\\ud83d\\ude0"):
# read on before reporting it.
TOKEN_CUT = 16
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, exactly
_PUNCTUATION = re.compile(r"[ \t\n\r]*([][{}:,])")
# What comes between two entries of an object (a key without escapes, and its colon), or of an array.
_NEXT_MEMBER = re.compile(r'[ \t\n\r]*,[ \t\n\r]*"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
_NEXT_ELEMENT = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
# Numbers checked by json's grammar, then kept as text (for readers that use none of them), or as numbers.
NUMBERS_AS_TEXT = json.JSONDecoder(parse_float=str)
NUMBERS = json.JSONDecoder()


class JsonStream:
    """A JSON document read in pieces: its two outer levels walked here, each value below them decoded
    by the `json` module from the text held (a piece and a lookahead), so what is accepted is what
    `json.load` accepts, in flat memory. Errors name the file and the byte where reading failed."""

    def __init__(self, stream: IO[bytes], where: str, decoder: json.JSONDecoder = NUMBERS_AS_TEXT):
        self.stream, self.where, self.decoder = stream, where, decoder
        self.utf8 = codecs.getincrementaldecoder("utf-8")()  # a piece may end inside a character
        self.text, self.pos = "", 0  # the text held, and where reading is in it
        self.start = 0  # byte offset of text[0] in the file
        self.bytes_read, self.eof = 0, False

    def error(self, pos: int, problem: str) -> InvalidInputError:
        offset = self.start + len(self.text[:pos].encode())
        size = f" of {self.bytes_read:,}" if self.eof else ""
        return InvalidInputError(
            f"{self.where}: not valid JSON at byte {offset:,}{size}: {problem} (cut short or damaged? extract it again)"
        )

    def fill(self, ahead: int) -> None:
        """Hold at least `ahead` characters past `pos` (all that is left, near the end); drop what was read."""
        done = self.text[: self.pos]
        self.start += len(done) if done.isascii() else len(done.encode())
        parts, held = [self.text[self.pos :]], len(self.text) - self.pos
        while held < ahead and not self.eof:
            piece = self.stream.read(JSON_PIECE)
            pending = len(self.utf8.getstate()[0])  # bytes of a character the last piece cut
            try:
                parts.append(self.utf8.decode(piece, final=not piece))
            except UnicodeDecodeError as e:
                raise InvalidInputError(
                    f"{self.where}: not UTF-8 at byte {self.bytes_read - pending + e.start:,} ({e.reason})"
                ) from None
            self.bytes_read, self.eof = self.bytes_read + len(piece), not piece
            held += len(parts[-1])
        self.text, self.pos = "".join(parts), 0

    def next_char(self) -> str:
        """The character after any whitespace ("" at the end of the file), not consumed."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or self.eof:
                return self.text[self.pos : self.pos + 1]
            self.fill(ENTRY_LOOKAHEAD)

    def take(self, expected: str) -> str:
        """Consume the next character, which must be one of `expected`."""
        found = _PUNCTUATION.match(self.text, self.pos)
        if found is None:  # something else, or whitespace up to the end of the text held
            found = self.next_char()
        else:
            self.pos, found = found.start(1), found[1]
        if not found or found not in expected:
            raise self.error(self.pos, f"expected {' or '.join(map(repr, expected))}, found {self.shown(found)}")
        self.pos += 1
        return found

    @staticmethod
    def shown(found: str) -> str:
        return repr(found) if found else "the end of the file"

    def value(self) -> object:
        """The JSON value at the position, decoded whole by the `json` module."""
        while True:
            pos = self.pos = _SPACE.match(self.text, self.pos).end()
            try:
                value, end = self.decoder.raw_decode(self.text, pos)
            except json.JSONDecodeError as e:
                # More text helps only when the decoder stopped at the end of the text held.
                stopped_at_end = e.pos >= len(self.text) - TOKEN_CUT or e.msg.startswith("Unterminated string")
                if self.eof or not stopped_at_end or len(self.text) - pos > ENTRY_LIMIT:
                    raise self.error(e.pos, e.msg) from None
            else:
                if end + NUMBER_CUT < len(self.text) or self.eof:
                    self.pos = end
                    return value
            self.fill(len(self.text) - pos + JSON_PIECE)  # a value longer than the lookahead: read on

    def opened(self) -> tuple:
        """(opening, closing bracket) of the object or array at the position, consumed; (None, None), with
        the closing one consumed too, when it is empty."""
        opening = self.take("{[")
        closing = "}" if opening == "{" else "]"
        if self.next_char() == closing:
            self.pos += 1
            return None, None
        return opening, closing

    def keys(self):
        """The keys of the object at the position (indices of an array), each yielded when its value is
        next: the caller reads that value before asking for the next key."""
        opening, closing = self.opened()
        if opening is None:
            return
        index = 0
        while True:
            yield self.key(opening, index)
            index += 1
            if self.take(closing + ",") == closing:
                return

    def key(self, opening: str, index: int) -> str:
        """An object's next key (its colon consumed), or an array's next index."""
        if opening == "[":
            return str(index)
        if (found := self.next_char()) != '"':
            raise self.error(self.pos, f"expected a property name in double quotes, found {self.shown(found)}")
        key = self.value()
        self.take(":")
        return key

    def entries(self, use=None) -> None:
        """Decode every entry of the object (or array) at the position, handing each to `use` if given.
        Runs of entries within the text held are decoded by `run`; the rest, one by one, here."""
        opening, closing = self.opened()
        if opening is None:
            return
        index = 0
        while True:
            if len(self.text) - self.pos < ENTRY_LOOKAHEAD and not self.eof:
                self.fill(ENTRY_LOOKAHEAD)  # so that `run` finds most of a piece ahead
            key = self.key(opening, index)
            value = self.value()
            if use is not None:
                use(key, value)
            index = self.run(_NEXT_MEMBER if opening == "{" else _NEXT_ELEMENT, use, index + 1)
            if self.take(closing + ",") == closing:
                return

    def run(self, separator: re.Pattern, use, index: int) -> int:
        """Decode the following `, key: value` entries while they sit well inside the text held (most of
        the file: one match and one decode an entry); stop before anything else, for `entries` to
        read (or report). The index of the next entry."""
        text, pos, scan = self.text, self.pos, self.decoder.scan_once
        limit = len(text) if self.eof else len(text) - ENTRY_LOOKAHEAD
        while pos < limit:
            found = separator.match(text, pos)
            if found is None:
                break
            try:
                value, end = scan(text, found.end())
            except (StopIteration, json.JSONDecodeError):
                break
            if end + NUMBER_CUT >= len(text):
                break
            if use is not None:
                use(found[1] if separator.groups else str(index), value)
            pos, index = end, index + 1
        self.pos = pos
        return index

    def end(self) -> None:
        """Nothing but whitespace may follow the document."""
        if self.next_char():
            raise self.error(self.pos, f"extra data after the end ({self.text[self.pos : self.pos + 20]!r})")


def walk_sections(
    stream: IO[bytes],
    where: str,
    sections: dict[str, Callable[[str, object], None]],
    decoder: json.JSONDecoder = NUMBERS_AS_TEXT,
) -> None:
    """Read a JSON object in pieces, to its end, handing every entry of the named top-level objects
    (COCO-Text's `imgs`, `anns`, `imgToAnns`) to its section's function as (key, value); other values
    are decoded and dropped. What is accepted is what `json.load` accepts (a byte-order mark included).

    Raises:
        InvalidInputError: not UTF-8, or not JSON (naming the byte where reading failed), or anything
            after the document's end.
    """
    document = JsonStream(stream, where, decoder)
    document.fill(ENTRY_LOOKAHEAD)
    if document.text.startswith("\ufeff"):
        document.pos = 1  # a byte-order mark, which json.load accepts too
    if document.next_char() != "{":
        raise document.error(document.pos, "expected an object, {...}")
    for top in document.keys():
        if document.next_char() in ("{", "["):
            document.entries(sections.get(top))
        else:
            document.value()
    document.end()
