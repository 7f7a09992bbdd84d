"""Comments that mean something: suppressions, backup notes, file switches.

* ``-- migration-lint: ignore rule-a, rule-b -- reason`` on the line(s) before
  a statement, or trailing it on the line where it ends;
* ``-- migration-lint: ignore-file rule-a -- reason`` in the comments before
  the first statement;
* ``-- backup: <where the backup is>`` before a statement (covers it) or in the
  comments before the first statement (covers the whole file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from migration_lint.model import Comment, Statement

_DIRECTIVE = re.compile(r"^migration-lint\s*:\s*(?P<verb>[\w-]+)\s*(?P<rest>.*)$", re.I | re.S)
_BACKUP = re.compile(r"^backup\s*:\s*(?P<where>.*)$", re.I | re.S)
_PLACEHOLDERS = frozenset(
    {"", "todo", "tbd", "tba", "n/a", "na", "none", "null", "-", "--", "?", "??", "...", "…", "xxx", "x",
     "fixme", "later", "pending", "<where>", "<where the backup is>", "<location>", "placeholder", "no", "nope"}
)


@dataclass
class Suppression:
    rules: list[str]
    reason: str
    line: int
    column: int
    end_column: int
    file_level: bool = False
    statement: int | None = None  # index of the statement it applies to
    used: bool = False
    raw: str = ""


@dataclass
class BackupNote:
    where: str
    line: int
    valid: bool


@dataclass
class Directives:
    suppressions: list[Suppression] = field(default_factory=list)
    file_backup: BackupNote | None = None
    statement_backup: dict[int, BackupNote] = field(default_factory=dict)
    malformed: list[tuple[int, int, str]] = field(default_factory=list)  # (line, column, message)
    parents: dict[int, int] = field(default_factory=dict)  # a DO block's statements → the DO: its notes cover them

    def owner(self, statement: int | None) -> int | None:
        """The statement of the file whose comments speak for `statement` (the DO block it runs in, or itself)."""
        return self.parents.get(statement, statement) if statement is not None else None

    def backup_for(self, statement: int) -> BackupNote | None:
        """The valid backup note that covers a statement, if any."""
        note = self.statement_backup.get(self.owner(statement))  # type: ignore[arg-type]
        if note is not None and note.valid:
            return note
        if self.file_backup is not None and self.file_backup.valid:
            return self.file_backup
        return None

    def placeholder_backup_for(self, statement: int) -> BackupNote | None:
        """A backup note that covers the statement but only names a placeholder."""
        note = self.statement_backup.get(self.owner(statement))  # type: ignore[arg-type]
        if note is not None and not note.valid:
            return note
        if self.file_backup is not None and not self.file_backup.valid:
            return self.file_backup
        return None


def is_placeholder(where: str) -> bool:
    value = where.strip().strip(".").strip().lower()
    return value in _PLACEHOLDERS or bool(re.fullmatch(r"<[^>]*>|\[[^\]]*\]|\(?to ?do\)?:?.*", value))


def _owner(comment: Comment, statements: list[Statement], cursor: int) -> tuple[int | None, bool]:
    """Which statement a comment belongs to: (index, header?).

    A comment on the line where a statement ends (after it) belongs to that
    statement; a comment inside a statement belongs to it; any other comment
    belongs to the next statement. Comments before the first statement are
    the file header.
    """
    # cursor: index of the first statement that starts after the comment
    if cursor > 0:
        previous = statements[cursor - 1]
        if comment.start < previous.end:  # inside the statement
            return previous.index, False
        if comment.line == previous.end_line:
            return previous.index, False
    if cursor < len(statements):
        return statements[cursor].index, cursor == 0
    return None, cursor == 0


def collect(comments: list[Comment], statements: list[Statement]) -> Directives:
    directives = Directives()
    cursor = 0
    n = len(statements)
    for comment in comments:
        while cursor < n and statements[cursor].start < comment.start:
            cursor += 1
        text = comment.text
        lowered = text[:20].lower()
        if lowered.startswith("backup"):
            match = _BACKUP.match(text)
            if match:
                where = match.group("where").strip()
                note = BackupNote(where, comment.line, not is_placeholder(where))
                owner, header = _owner(comment, statements, cursor)
                if header or owner is None:
                    directives.file_backup = note
                else:
                    directives.statement_backup[owner] = note
            continue
        if not lowered.startswith("migration-lint"):
            continue
        match = _DIRECTIVE.match(text)
        if not match:
            directives.malformed.append((comment.line, comment.column, f"unrecognised directive: {text!r}"))
            continue
        verb = match.group("verb").lower()
        rest = match.group("rest")
        if verb not in ("ignore", "ignore-file"):
            directives.malformed.append(
                (comment.line, comment.column, f"unknown directive `{verb}` (expected `ignore` or `ignore-file`)")
            )
            continue
        rule_part, _, reason = rest.partition("--")
        rules = [r.strip() for r in re.split(r"[,\s]+", rule_part) if r.strip()]
        owner, header = _owner(comment, statements, cursor)
        suppression = Suppression(
            rules=rules,
            reason=reason.strip(),
            line=comment.line,
            column=comment.column,
            end_column=comment.column + (comment.end - comment.start),
            file_level=verb == "ignore-file",
            statement=owner,
            raw=text,
        )
        if suppression.file_level and not header and owner is not None:
            directives.malformed.append(
                (comment.line, comment.column, "`ignore-file` must stand in the comments before the first statement")
            )
            continue
        directives.suppressions.append(suppression)
    return directives
