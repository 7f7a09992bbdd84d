"""Applying fixes' text edits to migration files, and showing them as a unified diff."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from migration_lint.ingest.source import Source
from migration_lint.model import Edit, Fix


def _offset(source: Source, line: int, column: int) -> int:
    if line > source.line_count:
        return len(source.text)
    return min(source.line_start(line) + column - 1, len(source.text))


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """`text` with the edits applied (positions refer to `text`; edits must not overlap)."""
    source = Source(text)
    spans = sorted(((_offset(source, e.line, e.column), _offset(source, e.end_line, e.end_column), e.text) for e in edits),
                   reverse=True)
    out = source.text
    for start, end, replacement in spans:
        out = out[:start] + replacement + out[end:]
    return out


def _span(edit: Edit) -> tuple[tuple[int, int], tuple[int, int]]:
    return (edit.line, edit.column), (edit.end_line, edit.end_column)


def overlaps(a: Edit, b: Edit) -> bool:
    """Two edits of the same file that touch the same characters (or insert at the same place)."""
    (a_start, a_end), (b_start, b_end) = _span(a), _span(b)
    if a_start == a_end and b_start == b_end:
        return a_start == b_start
    return a_start < b_end and b_start < a_end or a_start == b_start


def choose(fixes: Iterable[tuple[str, Fix]], taken: dict[str, list[Edit]]) -> list[tuple[str, Fix]]:
    """The fixes (each with the path of the file it was found in) that can be applied together: a fix is all
    or nothing, and skipped when one of its edits overlaps an edit already chosen (it is retried after the
    others are applied) or creates a file another fix creates."""
    chosen = []
    for where, fix in fixes:
        edits = [(e.path or where, e) for e in fix.edits]
        if any(any(overlaps(e, other) for other in taken.get(path, ())) for path, e in edits):
            continue
        if any(e.path is not None and e.path in taken for _, e in edits):
            continue
        for path, e in edits:
            taken.setdefault(path, []).append(e)
        chosen.append((where, fix))
    return chosen


def unified_diff(path: str, old: str | None, new: str) -> str:
    """A `diff -u` of one file (a new file is diffed against /dev/null)."""
    lines = difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile="/dev/null" if old is None else f"a/{path}", tofile=f"b/{path}")
    out = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return out
