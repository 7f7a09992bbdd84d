"""The SQL a `DO` block runs, as statements of their own: parsed, and placed in the file.

A PL/pgSQL body's SQL statements (and each `EXECUTE` / `FOR … IN EXECUTE` of a constant string)
become :class:`~migration_lint.model.Statement`\\ s that follow their `DO` in the statement list
(`parent` = the DO's index), with positions in the file as written: the body is unquoted
(`$$…$$`, `'…'` with doubled quotes) and every offset of the inner SQL maps back to the character
it came from. What cannot be resolved is recorded on the block (:class:`DoBlock`): another
language, a body that does not parse, SQL built at run time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from migration_lint.ingest.source import Position, Source
from migration_lint.model import Statement
from migration_lint.syntax import ast
from migration_lint.syntax.parse import looks_templated, parse

MAX_DEPTH = 3  # DO blocks whose EXECUTE strings hold DO blocks: expanded this deep


@dataclass
class Unresolved:
    position: Position
    what: str  # "EXECUTE", "FOR … IN EXECUTE": SQL built at run time


@dataclass
class DoBlock:
    """What a DO block runs, as far as it can be known without running it."""

    language: str = "plpgsql"
    error: str = ""  # the body does not parse (the reason)
    templated: str = ""  # the body looks templated (what the template syntax is)
    dynamic: list[Unresolved] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)  # indexes of its statements in the file's list

    @property
    def resolved(self) -> bool:
        """Every statement it can run is known."""
        return self.language == "plpgsql" and not self.error and not self.dynamic


class EmbeddedSource(Source):
    """The text of SQL found inside a string (a DO body, an EXECUTE literal), with positions in the file.

    `offsets[i]` is the character offset, in the file's parsed text, of character i of `text`
    (one more entry for the end).
    """

    def __init__(self, text: str, file: Source, offsets: list[int]) -> None:
        super().__init__(text)
        self._file = file
        self._offsets = offsets

    def file_offset(self, offset: int) -> int:
        return self._offsets[max(0, min(offset, len(self._offsets) - 1))]

    def position(self, offset: int) -> Position:
        return self._file.position(self.file_offset(offset))

    @property
    def file_text(self) -> str:
        return self._file.file_text

    def line_text(self, line: int) -> str:
        return self._file.line_text(line)


_DOLLAR = re.compile(r"\$([A-Za-z_\x80-\uffff][\w\x80-\uffff]*)?\$")


def unquote(text: str, start: int) -> tuple[str, list[int]] | None:
    """The content of the string literal at `start` in `text` and, for each of its characters (and the end),
    its offset in `text`: `$tag$…$tag$` verbatim, `'…'` with `''` for a quote. None for other forms (E'…'
    escapes, U&'…') or when no literal starts there."""
    dollar = _DOLLAR.match(text, start)
    if dollar:
        tag = dollar.group()
        end = text.find(tag, dollar.end())
        if end < 0:
            return None
        return text[dollar.end():end], list(range(dollar.end(), end + 1))
    if not text.startswith("'", start):
        return None
    chars: list[str] = []
    offsets: list[int] = []
    i = start + 1
    while i < len(text):
        if text[i] == "'":
            if text.startswith("'", i + 1):
                chars.append("'")
                offsets.append(i)
                i += 2
                continue
            offsets.append(i)
            return "".join(chars), offsets
        chars.append(text[i])
        offsets.append(i)
        i += 1
    return None


def _body(stmt: Statement, source: Source) -> tuple[str, list[int]] | None:
    """The DO block's body and the file offset of each of its characters."""
    for item in stmt.node.get("args") or ():
        arg = ast.inner(item)
        if arg.get("defname") == "as" and isinstance(arg.get("arg_location"), int) and arg["arg_location"] >= 0:
            start = source.char_offset(arg["arg_location"])
            return unquote(source.text, start)
    return None


def _line_start(text: str, lineno: int) -> int:
    """Offset of 1-based line `lineno` of `text` (line breaks as PL/pgSQL counts them: \\n)."""
    offset = 0
    for _ in range(max(lineno, 1) - 1):
        found = text.find("\n", offset)
        if found < 0:
            return offset
        offset = found + 1
    return offset


def _string_constant(expr: str) -> str | None:
    """`'CREATE INDEX …'` → the SQL text; None when the expression is built at run time."""
    from pglast import parser

    try:
        tree = json.loads(parser.parse_sql_json(f"SELECT {expr}"))
        target = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
    except Exception:
        return None
    if len(target) != 1:
        return None
    value = ast.const_value(ast.inner(target[0]).get("val"))
    return value if isinstance(value, str) else None


@dataclass
class _Found:
    lineno: int
    query: str | None  # the SQL text as written in the body; None for SQL built at run time
    literal: bool = False  # `query` is a string literal whose content is the SQL (EXECUTE 'SQL')
    dynamic: str = ""
    conditional: bool = False
    keyword: str = ""  # the statement's text starts with it, written differently in the body (PERFORM for SELECT)


# statements whose bodies run only when a condition holds (or again and again)
_CONDITIONAL = frozenset({"PLpgSQL_stmt_if", "PLpgSQL_stmt_case", "PLpgSQL_stmt_loop", "PLpgSQL_stmt_while",
                          "PLpgSQL_stmt_fori", "PLpgSQL_stmt_fors", "PLpgSQL_stmt_forc", "PLpgSQL_stmt_foreach_a",
                          "PLpgSQL_stmt_dynfors"})


# other statements that run a query of their own: where the parse tree keeps it
_QUERIES = {"PLpgSQL_stmt_fors": "query", "PLpgSQL_stmt_perform": "expr", "PLpgSQL_stmt_call": "expr",
            "PLpgSQL_stmt_open": "query", "PLpgSQL_stmt_return_query": "query"}


def _found(tree: Any) -> list[_Found]:
    """The SQL statements a PL/pgSQL function tree runs, in body order; `conditional` when an IF, CASE or
    loop decides whether they run, or an EXCEPTION handler catches their failure."""
    stack: list[tuple[Any, bool]] = [(tree, False)]
    out: list[_Found] = []
    while stack:
        value, conditional = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "PLpgSQL_stmt_execsql" and isinstance(child, dict):
                    query = ast.inner(child.get("sqlstmt") or {}).get("query")
                    out.append(_Found(child.get("lineno", 1), query, conditional=conditional))
                elif key in _QUERIES and isinstance(child, dict):  # FOR … IN query, PERFORM, CALL
                    query = ast.inner(child.get(_QUERIES[key]) or {}).get("query")
                    keyword = "SELECT " if key == "PLpgSQL_stmt_perform" else ""
                    out.append(_Found(child.get("lineno", 1), query, conditional=conditional, keyword=keyword))
                elif key in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors") and isinstance(child, dict):
                    expr = ast.inner(child.get("query") or {}).get("query", "")
                    how = "EXECUTE" if key == "PLpgSQL_stmt_dynexecute" else "FOR … IN EXECUTE"
                    if _string_constant(expr) is None:
                        out.append(_Found(child.get("lineno", 1), None, dynamic=how))
                    else:
                        out.append(_Found(child.get("lineno", 1), expr, literal=True, conditional=conditional))
                if isinstance(child, (dict, list)):
                    guarded = conditional or key in _CONDITIONAL or (
                        key == "PLpgSQL_stmt_block" and isinstance(child, dict) and bool(child.get("exceptions")))
                    stack.append((child, guarded))
        elif isinstance(value, list):
            stack.extend((item, conditional) for item in reversed(value))
    out.sort(key=lambda f: f.lineno)
    return out


def _locate(body: str, body_offsets: list[int], found: _Found, after: int) -> tuple[str, list[int], int] | None:
    """The SQL of `found` and the file offset of each of its characters; the body offset to search from next."""
    assert found.query is not None
    written = found.query[len(found.keyword):]  # PERFORM f() is SELECT f(): the rest is as written
    at = body.find(written, max(after, _line_start(body, found.lineno)))
    if at < 0:
        at = body.find(written, after)
    if at < 0:
        return None
    offsets = body_offsets[at: at + len(written) + 1]
    if found.keyword:
        keyword_at = body.rfind(found.keyword.strip().replace("SELECT", "PERFORM"), 0, at)
        offsets = [body_offsets[max(keyword_at, 0)]] * len(found.keyword) + offsets
    if not found.literal:
        return found.query, offsets, at + len(written)
    inner = unquote(found.query, 0)
    if inner is None or inner[0] != _string_constant(found.query):
        return None  # E'…' and the like: the SQL is known, its characters' places are not
    text, places = inner
    return text, [offsets[p] for p in places], at + len(found.query)


def expand(stmt: Statement, source: Source, depth: int = 0) -> tuple[DoBlock, list[Statement]]:
    """The block's description and the statements it runs (indexes and `parent` not set yet)."""
    from pglast import parser

    options = ast.def_elems(stmt.node.get("args"))
    language = (ast.inner(options.get("language") or {}).get("sval") or "plpgsql").lower()
    block = DoBlock(language=language)
    if language != "plpgsql":
        return block, []
    try:
        tree = json.loads(parser.parse_plpgsql_json(stmt.sql))
    except Exception as exc:  # pglast raises ParseError, and plain errors for some bodies
        block.error = str(exc.args[0]) if getattr(exc, "args", None) else type(exc).__name__
        block.templated = looks_templated(stmt.sql) or ""
        return block, []
    body = _body(stmt, source)
    variables = frozenset(_variables(tree))
    out: list[Statement] = []
    after = 0
    for found in _found(tree):
        if found.query is None:
            block.dynamic.append(Unresolved(_line_position(stmt, source, body, found.lineno), found.dynamic))
            continue
        placed = _locate(body[0], body[1], found, after) if body is not None else None
        if placed is None:  # known SQL, unknown place: every position is the start of its line
            text = _string_constant(found.query) if found.literal else found.query
            if text is None:
                continue
            anchor = _line_offset(stmt, source, body, found.lineno)
            placed = (text, [anchor] * (len(text) + 1), after)
        text, offsets, after = placed
        parsed = parse(text, source=EmbeddedSource(text, source, offsets))
        if parsed.failure is not None:
            continue  # PL/pgSQL accepted it: a fragment with variables in it, not ours to judge
        for inner in parsed.statements:
            inner.source = parsed.source
            inner.conditional = found.conditional
            inner.variables = variables
            out.append(inner)
            if inner.node_type == "DoStmt" and depth < MAX_DEPTH:
                nested, more = expand(inner, parsed.source, depth + 1)
                block.dynamic.extend(nested.dynamic)
                block.error = block.error or nested.error
                out.extend(more)
    return block, out


def _variables(tree: Any) -> set[str]:
    """The names of the block's variables (DECLAREd, loop records, FOUND)."""
    names: set[str] = set()
    for function in tree if isinstance(tree, list) else [tree]:
        for datum in ast.inner(function).get("datums") or () if isinstance(function, dict) else ():
            name = ast.inner(datum).get("refname") if isinstance(datum, dict) else None
            if isinstance(name, str):
                names.add(name)
    return names


def _line_offset(stmt: Statement, source: Source, body: tuple[str, list[int]] | None, lineno: int) -> int:
    """File offset of the first non-blank character of body line `lineno` (the DO's start if unknown)."""
    if body is None:
        return stmt.start
    text, offsets = body
    at = _line_start(text, lineno)
    while at < len(text) and text[at] in " \t":
        at += 1
    return offsets[min(at, len(offsets) - 1)]


def _line_position(stmt: Statement, source: Source, body: tuple[str, list[int]] | None, lineno: int) -> Position:
    return source.position(_line_offset(stmt, source, body, lineno))


def expand_all(statements: list[Statement], source: Source) -> tuple[list[Statement], dict[int, DoBlock]]:
    """The file's statements with each DO block's statements after it (indexes renumbered), and the blocks
    by the index of their DO statement."""
    if not any(s.node_type == "DoStmt" for s in statements):
        return statements, {}
    out: list[Statement] = []
    blocks: dict[int, DoBlock] = {}
    for stmt in statements:
        stmt.index = len(out)
        out.append(stmt)
        if stmt.node_type != "DoStmt":
            continue
        block, inner = expand(stmt, source)
        blocks[stmt.index] = block
        for child in inner:
            child.index = len(out)
            child.parent = stmt.index
            block.statements.append(child.index)
            out.append(child)
    return out, blocks
