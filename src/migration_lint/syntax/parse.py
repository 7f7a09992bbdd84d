"""Parse a migration's text into statements and comments with pglast.

The parse tree is pglast's JSON form (``parse_sql_json``) read with orjson:
plain dicts and lists, several times cheaper to build than pglast's node
objects. A node is a one-key dict ``{"IndexStmt": {...}}`` where the field's
type is generic, and a bare dict where the field has a fixed type (e.g.
``IndexStmt.relation`` is a bare RangeVar). Fields with default values (false,
0, empty) are omitted, so rules read them with ``.get``.

Comments are not part of the tree. Between two top-level statements there can
only be white space, semicolons and comments, so the gaps are scanned with a
tiny exact lexer; comments inside a statement are read with pglast's scanner
only when the statement mentions a directive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from migration_lint.ingest.source import Source
from migration_lint.model import Comment, Statement

try:  # orjson is a declared dependency; the fallback keeps a broken install usable
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads  # type: ignore[assignment]


@dataclass
class ParseFailure:
    message: str
    line: int
    column: int
    hint: str = ""


@dataclass
class Parsed:
    source: Source
    statements: list[Statement] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    failure: ParseFailure | None = None


_TEMPLATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\{\{.*?\}\}", re.S), "Go/Jinja template tags {{ ... }}"),
    (re.compile(r"\$\{[A-Za-z_][\w.:-]*\}"), "Flyway-style placeholders ${...}"),
    (re.compile(r"(?<![:\w]):['\"]?[A-Za-z_]\w*['\"]?(?=[\s,;)])"), "psql variables :name / :'name'"),
    (re.compile(r"(?m)^\s*\\[a-zA-Z!]"), "psql meta-commands (\\connect, \\set, \\i, ...)"),
)


def looks_templated(text: str, near: int | None = None) -> str | None:
    """Describe the template syntax the text seems to use, if any.

    With `near`, only look at the line of the error and the lines around it,
    so that a template tag far away from the error does not mislead.
    """
    sample = text
    if near is not None:
        start = text.rfind("\n", 0, max(0, near - 200))
        sample = text[max(0, start) : near + 200]
    for pattern, description in _TEMPLATE_PATTERNS:
        if pattern.search(sample):
            return description
    return None


# Words that make up a statement's kind (its leading keywords).
_KIND_WORDS = frozenset(
    """CREATE ALTER DROP OR REPLACE UNIQUE TEMP TEMPORARY UNLOGGED GLOBAL LOCAL MATERIALIZED
    RECURSIVE FOREIGN DATA DEFAULT EVENT TEXT SEARCH ACCESS LARGE SECURITY PROCEDURAL TRUSTED
    COMMENT ON REFRESH START RELEASE PREPARE SET RESET""".split()
)
_OBJECT_WORDS = frozenset(
    """TABLE INDEX VIEW TYPE SEQUENCE FUNCTION PROCEDURE TRIGGER EXTENSION SCHEMA POLICY ROLE
    USER GROUP DOMAIN DATABASE COLUMN CONSTRAINT RULE AGGREGATE OPERATOR COLLATION PUBLICATION
    SUBSCRIPTION SERVER WRAPPER STATISTICS CONFIGURATION DICTIONARY PARSER TEMPLATE CAST
    CONVERSION LANGUAGE TABLESPACE PRIVILEGES METHOD OBJECT LABEL MAPPING ROUTINE TRANSFORM
    FAMILY CLASS TRANSACTION SAVEPOINT""".split()
)
_WORD = re.compile(r"[A-Za-z_]+")


def statement_kind(sql: str) -> str:
    """The statement's leading keywords, e.g. ``CREATE UNIQUE INDEX``, ``SET``, ``BEGIN``."""
    words: list[str] = []
    for match in _WORD.finditer(sql, 0, 120):
        word = match.group().upper()
        if not words:
            words.append(word)
            if word not in ("CREATE", "ALTER", "DROP", "COMMENT", "REFRESH", "START", "SECURITY", "REINDEX", "PREPARE"):
                break
            continue
        if word in _OBJECT_WORDS:
            words.append(word)
            break
        if word in _KIND_WORDS:
            words.append(word)
            continue
        break
    return " ".join(words) if words else "UNKNOWN"


_COMMENT_START = re.compile(r"--|/\*")
_LINE_END = re.compile(r"[\r\n]")
_BLOCK_MARK = re.compile(r"/\*|\*/")
_SKIP = re.compile(r"[ \t\r\n\f\v;]*")


def _comment_end(text: str, i: int, end: int) -> tuple[int, int]:
    """For a comment starting at i (before `end`): (offset just past it, offset just past its body)."""
    if text.startswith("--", i):
        match = _LINE_END.search(text, i + 2, end)
        j = match.start() if match else end
        return j, j
    depth = 1
    for match in _BLOCK_MARK.finditer(text, i + 2, end):  # block comments nest
        depth += 1 if match.group() == "/*" else -1
        if not depth:
            return match.end(), match.start()
    return end, end


def _gap_comments(source: Source, start: int, end: int, out: list[Comment]) -> None:
    """Append the comments found in text[start:end], which holds no SQL tokens."""
    text = source.text
    i = start
    while i < end:
        match = _COMMENT_START.search(text, i, end)
        if match is None:
            return
        i = match.start()
        j, body_end = _comment_end(text, i, end)
        _add_comment(source, i, j, text[i + 2 : body_end], out)
        i = j


def _add_comment(source: Source, start: int, end: int, body: str, out: list[Comment]) -> None:
    begin = source.position(start)
    out.append(
        Comment(
            start=start,
            end=end,
            text=body.strip(),
            line=begin.line,
            end_line=source.position(max(start, end - 1)).line,
            column=begin.column,
        )
    )


def _inner_comments(source: Source, stmt: Statement, out: list[Comment]) -> None:
    """Comments inside a statement, read with pglast's scanner (character offsets)."""
    from pglast.parser import scan  # local import: rarely needed

    try:
        tokens = scan(stmt.sql)
    except Exception:  # the statement parsed, so this is not expected
        return
    for token in tokens:
        if token.name == "SQL_COMMENT":
            body = stmt.sql[token.start + 2 : token.end + 1]
        elif token.name == "C_COMMENT":
            body = stmt.sql[token.start + 2 : token.end - 1]
        else:
            continue
        _add_comment(source, stmt.start + token.start, stmt.start + token.end + 1, body, out)


# The parse tree in memory takes about 20 bytes per character of its JSON form: beyond this (a dense data
# load: a million values in one INSERT, hundreds of thousands of statements) a file is reported, not
# analysed, so that every file under the size limit (engine.MAX_FILE_BYTES) stays within 1.5 GiB.
MAX_TREE_CHARS = 64 * 2**20


def parse(text: str, *, source: Source | None = None) -> Parsed:
    """Parse SQL text. Never raises for bad SQL: the failure is in the result.

    `source` (optional) maps positions of `text` to another text (placeholders substituted).
    """
    from pglast import parser

    source = source if source is not None else Source(text)
    parsed = Parsed(source=source)
    text = source.text
    if "\x00" in text:
        offset = text.index("\x00")
        pos = source.position(offset)
        parsed.failure = ParseFailure(
            "cannot be parsed: the file contains a NUL byte (binary data?)", pos.line, pos.column
        )
        return parsed
    try:
        raw = parser.parse_sql_json(text)
    except parser.ParseError as exc:
        message = " ".join(str(exc.args[0]).split()) if exc.args else "syntax error"
        if len(message) > 200:
            message = message[:199] + "…"
        offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        # pglast reports a character offset, sometimes 1-based; clamp it to the text
        offset = max(0, min(offset, len(text)))
        pos = source.position(offset)
        hint = ""
        templated = looks_templated(text, offset)
        if templated:
            message = f"cannot be parsed: looks templated ({templated}); {message}"
            hint = (
                "Render the template before linting, or configure `placeholders` so that "
                "migration-lint substitutes values before parsing."
            )
        else:
            message = f"cannot be parsed: {message}"
        parsed.failure = ParseFailure(message, pos.line, pos.column, hint)
        return parsed
    except RecursionError:
        parsed.failure = ParseFailure("cannot be parsed: statement nesting is too deep", 1, 1)
        return parsed
    except Exception as exc:  # pglast raises plain exceptions for a few internal limits
        parsed.failure = ParseFailure(f"cannot be parsed: {exc}", 1, 1)
        return parsed

    if len(raw) > MAX_TREE_CHARS:
        parsed.failure = ParseFailure(
            f"too large to analyse: its parse tree takes {len(raw) / 2**20:,.0f} MiB as JSON (the limit is "
            f"{MAX_TREE_CHARS // 2**20} MiB, about {MAX_TREE_CHARS // 2**20 * 20 // 1000 + 1} GB once loaded); "
            "a data load this big is better checked another way", 1, 1,
            "Split it into several migrations, or keep bulk data out of schema migrations.")
        return parsed
    try:
        tree = _loads(raw)
    except RecursionError:
        parsed.failure = ParseFailure("cannot be parsed: statement nesting is too deep", 1, 1)
        return parsed
    except ValueError as exc:  # orjson refuses documents nested deeper than 1024 levels
        parsed.failure = ParseFailure(f"cannot be parsed: statement nesting is too deep ({exc})", 1, 1)
        return parsed

    statements = parsed.statements
    comments = parsed.comments
    char_offset = source.char_offset
    position = source.position
    text_len = len(text)
    previous_end = 0
    for raw_stmt in tree.get("stmts", ()):
        stmt_node = raw_stmt.get("stmt")
        if not stmt_node:
            continue
        node_type, node = next(iter(stmt_node.items()))
        byte_start = raw_stmt.get("stmt_location", 0)
        byte_len = raw_stmt.get("stmt_len", 0)
        start = char_offset(byte_start)
        end = char_offset(byte_start + byte_len) if byte_len else text_len
        # stmt_location can point before leading white space and comments
        # (older grammars, or the first statement): move to the first token
        if start < previous_end:
            start = previous_end
        probe = start
        while True:
            probe = _SKIP.match(text, probe, max(probe, end)).end()  # type: ignore[union-attr]  # matches the empty string
            if probe < end and (text.startswith("--", probe) or text.startswith("/*", probe)):
                probe = _comment_end(text, probe, end)[0]
                continue
            break
        _gap_comments(source, previous_end, probe, comments)
        start = probe
        sql = text[start:end].rstrip(" \t\r\n\f\v")
        end = start + len(sql)
        begin = position(start)
        finish = position(max(start, end - 1))
        stmt = Statement(
            index=len(statements),
            node_type=node_type,
            node=node,
            start=start,
            end=end,
            line=begin.line,
            column=begin.column,
            end_line=finish.line,
            end_column=finish.column + 1,
            sql=sql,
            kind=statement_kind(sql),
        )
        statements.append(stmt)
        if "migration-lint" in sql:
            _inner_comments(source, stmt, comments)
        previous_end = end
    _gap_comments(source, previous_end, text_len, comments)
    comments.sort(key=lambda c: c.start)
    return parsed
