"""Plain data passed between the stages: files, statements, findings, risk."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value.lower())
        except ValueError:
            raise ValueError(f"unknown severity {value!r} (expected one of: info, warning, error)") from None


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Risk(str, enum.Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @property
    def rank(self) -> int:
        return _RISK_RANK[self]

    @staticmethod
    def max(*risks: Risk) -> Risk:
        best = Risk.LOW
        for risk in risks:
            if risk.rank > best.rank:
                best = risk
        return best


_RISK_RANK = {Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2}


@dataclass
class MigrationFile:
    """One migration as found on disk (or read from stdin)."""

    path: Path | None
    display: str
    framework: str = "plain"
    name: str | None = None
    version: str | None = None
    group: Path | None = None
    text: str | None = None  # content already read (tests, tools)
    data: bytes | None = None  # raw content read from stdin, decoded like a file
    stands_for: Path | None = None  # stdin with --stdin-filename: the file on disk whose new content it is
    dbmate_no_transaction: bool = False
    direction: str = "up"
    change: str | None = None  # since the --diff base: "added", "modified", "renamed" or "deleted"
    trace: Any = None  # what `migration-lint trace` observed, one dict per statement (see trace.Step)
    size: int | None = None  # bytes on disk when discovered (sizes the work for parallel runs)
    prisma_version: str | None = None  # from the package.json nearest its folder, when the configuration sets none


@dataclass
class Comment:
    start: int  # character offset of the comment's first character
    end: int  # character offset just past the comment
    text: str  # the comment body without its -- or /* */ markers, stripped
    line: int
    end_line: int
    column: int


@dataclass
class Statement:
    """One top-level SQL statement with its parse tree (pglast JSON form)."""

    index: int
    node_type: str
    node: dict[str, Any]
    start: int  # character offset of the first token
    end: int  # character offset just past the last token (before ';')
    line: int
    column: int
    end_line: int
    end_column: int
    sql: str
    kind: str = ""
    parent: int | None = None  # the DO block it runs in (its index), None for a statement of the file itself
    conditional: bool = False  # in a DO block, under IF/CASE/a loop or an EXCEPTION handler: it may not run
    variables: frozenset[str] = frozenset()  # in a DO block, the PL/pgSQL variables it can name (values, not columns)
    source: Any = None  # what its offsets and the parse tree's locations refer to (None: the file's text)


@dataclass
class Edit:
    """Replace the text from (line, column) up to (end_line, end_column) (1-based, end exclusive, columns in
    characters) with `text`. `path` names another file (a migration the fix creates: it starts empty)."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str
    path: str | None = None


@dataclass
class Fix:
    """A machine-applicable change that removes the finding. Safe: the migration's resulting schema is the same
    (the change only takes weaker or shorter locks); unsafe: it changes more than that and needs a review
    (another transaction boundary, a new migration file)."""

    title: str
    edits: list[Edit]
    safe: bool = True


@dataclass
class Finding:
    rule: str
    severity: Severity
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    help: str = ""
    url: str = ""
    statement: int | None = None  # index of the statement it is about
    risk: Risk | None = None  # the risk this finding implies for its statement
    suppressed: bool = False
    fails: bool = False  # the statement fails when deployed (its rule says so)
    fix: Fix | None = None

    def sort_key(self) -> tuple[int, int, str]:
        return (self.line, self.column, self.rule)


@dataclass
class Lock:
    relation: str
    mode: str
    until_commit: bool = True  # False: released when the statement ends


@dataclass
class StatementReport:
    statement: Statement
    locks: list[Lock]
    blocks: list[str]
    rewrites: bool
    scans: bool
    risk: Risk
    risk_reason: str = ""
    known: bool = True
    in_transaction: bool = False
    estimate: dict[str, Any] | None = None


@dataclass
class FileReport:
    file: MigrationFile
    statements: list[StatementReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    risk: Risk = Risk.LOW
    risk_reason: str = ""
    error: str | None = None  # the file could not be read, decoded or parsed


@dataclass
class RunReport:
    files: list[FileReport]

    @property
    def risk(self) -> Risk:
        return Risk.max(*(f.risk for f in self.files)) if self.files else Risk.LOW

    def counts(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for report in self.files:
            for finding in report.findings:
                counts[finding.severity.value] += 1
        return counts
