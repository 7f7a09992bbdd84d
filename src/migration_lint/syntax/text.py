"""The migration's own SQL text around a node, for help messages and fixes: a clause as written, a
keyword's parenthesised group, a column type's span (to replace it in the user's spelling)."""

from __future__ import annotations

from pglast.parser import scan

from migration_lint.ingest.source import Source
from migration_lint.model import Statement

_OPEN = {"ASCII_40", "ASCII_91"}
_CLOSE = {"ASCII_41", "ASCII_93"}
COLUMN_CONSTRAINT_WORDS = frozenset(
    {"NOT", "NOT_LA", "NULL_P", "CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "REFERENCES", "COLLATE", "GENERATED",
     "DEFAULT", "DEFERRABLE", "INITIALLY", "USING"}
)


def clause_end(source: Source, stmt: Statement, byte_location: int | None) -> int | None:
    """The offset just past the last token of the clause that starts at a node's location (see clause_text)."""
    if byte_location is None or byte_location < 0:
        return None
    start = source.char_offset(byte_location)
    end = stmt.start + len(stmt.sql)
    if not stmt.start <= start < end:
        return None
    try:
        tokens = [t for t in scan(source.text[start:end]) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    except Exception:  # pragma: no cover - the statement parsed
        return None
    depth = 0
    last = None
    for token in tokens:
        if depth == 0 and token.name in ("ASCII_44", "ASCII_59"):
            break
        if token.name in _OPEN:
            depth += 1
        elif token.name in _CLOSE:
            if depth == 0:
                break
            depth -= 1
        last = token
    return start + last.end + 1 if last is not None else None


def clause_text(source: Source, stmt: Statement, byte_location: int | None, stops: frozenset[str] = frozenset(),
                skip_first: int = 0) -> str:
    """The source text of the clause that starts at a node's location in the statement.

    It ends before a top-level `,`, `;` or unmatched `)`, or before a token in `stops`;
    `skip_first` tokens are dropped from the front (e.g. the DEFAULT keyword). "" if unknown.
    """
    if byte_location is None or byte_location < 0:
        return ""
    text = source.text
    start = source.char_offset(byte_location)
    end = stmt.start + len(stmt.sql)
    if not stmt.start <= start < end:
        return ""
    piece = text[start:end]
    try:
        tokens = scan(piece)
    except Exception:  # pragma: no cover - the statement parsed
        return ""
    depth = 0
    begin: int | None = None
    stop_at = len(piece)
    comments: list[tuple[int, int]] = []
    for position, token in enumerate(tokens):
        if token.name in ("SQL_COMMENT", "C_COMMENT"):
            comments.append((token.start, token.end + 1))
            continue
        if position < skip_first:
            continue
        if begin is None:
            begin = token.start
        elif depth == 0 and (token.name in ("ASCII_44", "ASCII_59") or token.name in stops):
            stop_at = token.start
            break
        if token.name in _OPEN:
            depth += 1
        elif token.name in _CLOSE:
            if depth == 0:
                stop_at = token.start
                break
            depth -= 1
    if begin is None:
        return ""
    return _without_comments(piece, begin, stop_at, comments)


def _without_comments(piece: str, begin: int, end: int, comments: list[tuple[int, int]]) -> str:
    """piece[begin:end] on one line, without the comments in it (a `--` would swallow the rest)."""
    parts, at = [], begin
    for start, stop in comments:
        if stop <= begin or start >= end:
            continue
        parts.append(piece[at:start])
        at = stop
    parts.append(piece[at:end])
    return " ".join(" ".join(parts).split())


def keyword_group(source: Source, stmt: Statement, byte_location: int | None, keyword: str) -> str:
    """From a node's location: the first `keyword` token and the parenthesised group after it
    (``CHECK (a > 0)``). "" if not found."""
    if byte_location is None or byte_location < 0:
        return ""
    start = source.char_offset(byte_location)
    piece = source.text[start: stmt.start + len(stmt.sql)]
    try:
        tokens = scan(piece)
    except Exception:  # pragma: no cover
        return ""
    begin = None
    depth = 0
    comments: list[tuple[int, int]] = []
    for token in tokens:
        if token.name in ("SQL_COMMENT", "C_COMMENT"):
            comments.append((token.start, token.end + 1))
            continue
        if begin is None:
            if token.name == keyword:
                begin = token.start
            continue
        if token.name in _OPEN:
            depth += 1
        elif token.name in _CLOSE:
            depth -= 1
            if depth == 0:
                return _without_comments(piece, begin, token.end + 1, comments)
    return ""


_TYPE_WORDS = frozenset({"VARYING", "PRECISION", "WITH", "WITH_LA", "WITHOUT", "WITHOUT_LA", "TIME", "ZONE", "ARRAY"})


def type_span(source: Source, stmt: Statement, type_node: dict) -> tuple[int, int] | None:
    """Character offsets in the file of a type as written (`timestamp(3) without time zone`)."""
    loc = type_node.get("location")
    if not isinstance(loc, int) or loc < 0:
        return None
    start = source.char_offset(loc)
    text = source.text[start: stmt.end]
    try:
        tokens = [t for t in scan(text) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    except Exception:  # the scanner rejects the fragment: no ready-made fix
        return None
    if not tokens:
        return None
    i = 1
    while i + 1 < len(tokens) and tokens[i].name == "ASCII_46":  # schema-qualified: pg_catalog.json
        i += 2
    while i < len(tokens):
        name = tokens[i].name
        if name in _TYPE_WORDS:
            i += 1
        elif name in ("ASCII_40", "ASCII_91"):
            close = "ASCII_41" if name == "ASCII_40" else "ASCII_93"
            depth, j = 0, i
            while j < len(tokens):
                if tokens[j].name == name:
                    depth += 1
                elif tokens[j].name == close:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(tokens):
                return None
            i = j + 1
        else:
            break
    return start, start + tokens[i - 1].end + 1


def replace_type(source: Source, stmt: Statement, type_node: dict, new: str, suffix: str = "") -> str | None:
    """The statement with the column's type replaced by `new` (in the user's letter case) + `suffix`."""
    span = type_span(source, stmt, type_node)
    if span is None:
        return None
    text = source.text
    written = text[span[0]: span[1]]
    if written[:1].isupper():
        new = new.upper()
    new += "[]" * len(type_node.get("arrayBounds") or ()) + suffix
    return (text[stmt.start: span[0]] + new + text[span[1]: stmt.end]).strip() + ";"
