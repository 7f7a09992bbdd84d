"""Source text of one migration and the mapping from offsets to line and column.

pglast reports two kinds of offsets: the JSON parse tree and parse errors use
byte offsets into the UTF-8 encoding, the scanner uses character offsets.
`Source` converts both into 1-based (line, column) pairs, where the column
counts characters. Line breaks are ``\\n``, ``\\r\\n`` and a lone ``\\r``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

BOM = "\ufeff"


@dataclass(frozen=True)
class Position:
    line: int
    column: int


def decode(data: bytes) -> tuple[str, str | None]:
    """Decode migration bytes. Returns (text, error).

    UTF-8 (with or without BOM) is the only encoding PostgreSQL tools agree on;
    anything else is decoded with replacement characters so that the file can
    still be reported on, and `error` describes the first bad byte.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        return text, f"invalid UTF-8 byte 0x{data[exc.start]:02x} at byte offset {exc.start}"


_CHARACTER_STARTS = bytes(0 if 0x80 <= b < 0xC0 else 1 for b in range(256))


@dataclass
class Source:
    """The text of a migration with a line table.

    `text` never contains a BOM. Offsets are character offsets unless the
    method name says bytes.
    """

    text: str
    _line_starts: list[int] = field(default_factory=list, repr=False)
    _ascii: bool = field(default=True, repr=False)
    _byte_to_char: list[int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.text.startswith(BOM):
            self.text = self.text[1:]
        text = self.text
        starts = [0]
        if "\r" in text:
            i, n = 0, len(text)
            while i < n:
                c = text[i]
                if c == "\n":
                    starts.append(i + 1)
                elif c == "\r":
                    if i + 1 < n and text[i + 1] == "\n":
                        i += 1
                    starts.append(i + 1)
                i += 1
        else:
            find = text.find
            i = find("\n")
            while i != -1:
                starts.append(i + 1)
                i = find("\n", i + 1)
        self._line_starts = starts
        self._ascii = text.isascii()

    # -- offsets -----------------------------------------------------------
    def char_offset(self, byte_offset: int) -> int:
        """Convert a UTF-8 byte offset into a character offset."""
        if self._ascii or byte_offset <= 0:
            return byte_offset
        table = self._byte_table()
        if byte_offset >= len(table):
            return len(self.text)
        return table[byte_offset]

    def byte_offset(self, char_offset: int) -> int:
        """Convert a character offset into a UTF-8 byte offset."""
        if self._ascii or char_offset <= 0:
            return char_offset
        from bisect import bisect_left

        return bisect_left(self._byte_table(), min(char_offset, len(self.text)))

    def _byte_table(self) -> list[int]:
        """The character each UTF-8 byte of the text belongs to (one more entry: the end)."""
        table = self._byte_to_char
        if table is None:
            from itertools import accumulate

            # 1 for the first byte of a character, 0 for continuation bytes; the running sum - 1 is
            # the character index (lone surrogates encode as 3 bytes, as the parser sees them)
            starts = self.text.encode("utf-8", "surrogatepass").translate(_CHARACTER_STARTS)
            table = list(accumulate(starts, initial=-1))[1:]
            table.append(len(self.text))
            self._byte_to_char = table
        return table

    def position(self, offset: int) -> Position:
        """1-based line and column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset)
        return Position(line, offset - self._line_starts[line - 1] + 1)

    def position_of_byte(self, byte_offset: int) -> Position:
        return self.position(self.char_offset(byte_offset))

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    @property
    def file_text(self) -> str:
        """The text as the file has it (the one lines and positions refer to)."""
        return self.text

    def line_text(self, line: int) -> str:
        """The text of a 1-based line without its line break."""
        if line < 1 or line > len(self._line_starts):
            return ""
        text = self.file_text
        start = self._line_starts[line - 1]
        end = self._line_starts[line] if line < len(self._line_starts) else len(text)
        return text[start:end].rstrip("\r\n")

    def line_start(self, line: int) -> int:
        return self._line_starts[max(1, min(line, len(self._line_starts))) - 1]


class MappedSource(Source):
    """The text that is parsed (placeholders substituted) whose positions are reported in the file's text.

    `edits` are (start in the parsed text, length there, start in the file, length there), in order.
    An offset inside a substituted value maps to the start of its placeholder.
    """

    def __init__(self, text: str, original: str, edits: list[tuple[int, int, int, int]]) -> None:
        super().__init__(original)  # line table of the file
        self._file_text = self.text
        self.text = text  # statements are sliced out of the parsed text
        self._ascii = text.isascii()
        self._edits = edits
        self._edit_starts = [e[0] for e in edits]

    def _to_file(self, offset: int) -> int:
        index = bisect.bisect_right(self._edit_starts, offset) - 1
        if index < 0:
            return offset
        start, length, file_start, file_length = self._edits[index]
        if offset < start + length:
            return file_start
        return offset - (start + length) + (file_start + file_length)

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        file_offset = max(0, min(self._to_file(offset), len(self._file_text)))
        line = bisect.bisect_right(self._line_starts, file_offset)
        return Position(line, file_offset - self._line_starts[line - 1] + 1)

    @property
    def file_text(self) -> str:
        return self._file_text
