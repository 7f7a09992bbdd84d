"""Inline review comments with GitHub ```suggestion blocks: the fix of a finding, one click to commit.

A fix becomes a suggestion when all its edits are in the finding's own file (a fix that creates a new
migration cannot be suggested: the pull request comment has it) and the lines it replaces are in one
hunk of the pull request's diff (GitHub only accepts comments there). Each comment carries a hidden key
(file, lines, rule, new text): a run posts one review with the suggestions not posted yet, leaves those
already there alone and deletes the ones that no longer apply (fixed, or the file changed), so re-runs
never duplicate them. Failing to post (a fork's read-only token, an old GitHub Enterprise) is a warning:
the pull request comment and annotations are the report.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_lint.ingest.edits import apply_edits
from migration_lint.ingest.source import decode
from migration_lint.model import RunReport

MARKER = "<!-- migration-lint:suggestion"
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass
class Suggestion:
    path: str  # relative to the repository root, with forward slashes
    start_line: int
    line: int
    rule: str
    title: str
    safe: bool
    text: str  # what replaces lines start_line..line
    url: str = ""

    @property
    def key(self) -> str:
        raw = "\0".join([self.path, str(self.start_line), str(self.line), self.rule, self.text])
        return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:16]

    def body(self) -> str:
        fence = "```"
        while fence in self.text:
            fence += "`"
        note = "" if self.safe else " *(changes where a transaction ends: review before committing)*"
        docs = f" · [{self.rule}]({self.url})" if self.url else ""
        content = self.text[:-1] if self.text.endswith("\n") else self.text
        return (f"{MARKER} {self.key} -->\n**migration-lint**: {self.title}{note}{docs}\n\n"
                f"{fence}suggestion\n{content}\n{fence}\n")

    def comment(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"path": self.path, "line": self.line, "side": "RIGHT", "body": self.body()}
        if self.start_line != self.line:
            entry.update(start_line=self.start_line, start_side="RIGHT")
        return entry


def _repo_path(path: Path, root: Path | None) -> str | None:
    absolute = path.resolve()
    if root is not None:
        try:
            return absolute.relative_to(root).as_posix()
        except ValueError:
            return None
    return Path(os.path.relpath(absolute)).as_posix()


def suggestions(run: RunReport, root: Path | None) -> list[Suggestion]:
    """The suggestions the run's fixes make, in file order."""
    found: list[Suggestion] = []
    for report in run.files:
        fixes = [f for f in report.findings if f.fix is not None and f.fix.edits and not f.suppressed
                 and all(e.path is None for e in f.fix.edits)]
        if not fixes or report.file.path is None:
            continue
        path = _repo_path(report.file.path, root)
        try:
            text, error = decode(report.file.path.read_bytes())
        except OSError:
            continue
        if path is None or error:
            continue
        lines = text.splitlines(keepends=True)
        for finding in fixes:
            assert finding.fix is not None
            edits = finding.fix.edits
            first = min(e.line for e in edits)
            # an edit that ends at column 1 of a line leaves that line alone
            last = max(e.end_line if e.end_column > 1 or e.end_line == e.line else e.end_line - 1 for e in edits)
            last = max(first, min(last, len(lines)))
            prefix, suffix = "".join(lines[:first - 1]), "".join(lines[last:])
            new = apply_edits(text, edits)
            if not (new.startswith(prefix) and new.endswith(suffix)) or len(new) < len(prefix) + len(suffix):
                continue
            found.append(Suggestion(path, first, last, finding.rule, finding.fix.title, finding.fix.safe,
                                    new[len(prefix):len(new) - len(suffix)], finding.url))
    return found


def commentable(patch: str | None) -> dict[int, int]:
    """The new-side lines of a file's diff that a review comment may be on: line → its hunk's number."""
    lines: dict[int, int] = {}
    hunk = 0
    current = 0
    for row in (patch or "").splitlines():
        match = _HUNK.match(row)
        if match:
            hunk += 1
            current = int(match.group(1))
            continue
        if not hunk or row.startswith(("-", "\\")):
            continue
        lines[current] = hunk  # " " context or "+" added
        current += 1
    return lines


def in_diff(suggestion: Suggestion, diff: dict[str, dict[int, int]]) -> bool:
    lines = diff.get(suggestion.path)
    if not lines:
        return False
    hunks = {lines.get(n) for n in range(suggestion.start_line, suggestion.line + 1)}
    return None not in hunks and len(hunks) == 1


def key_of(body: str) -> str | None:
    if not body.startswith(MARKER):
        return None
    rest = body[len(MARKER):].split("-->", 1)[0].strip()
    return rest or None


@dataclass
class Plan:
    create: list[Suggestion]
    delete: list[Any]  # the posted comments that no longer apply
    kept: int


def plan(wanted: list[Suggestion], diff: dict[str, dict[int, int]], posted: list[Any]) -> Plan:
    """What to post and what to delete, from the comments already on the pull request (`.body`)."""
    usable = {s.key: s for s in wanted if in_diff(s, diff)}
    present: dict[str, Any] = {}
    stale: list[Any] = []
    for comment in posted:
        key = key_of(comment.body or "")
        if key is None:
            continue
        if key in usable and key not in present:
            present[key] = comment
        else:
            stale.append(comment)  # no longer suggested, or a second copy
    return Plan([s for k, s in usable.items() if k not in present], stale, len(present))
