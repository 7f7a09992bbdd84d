"""What a trace found: per statement (:class:`Step`), per migration folder and for the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Step:
    """What happened to one statement; :meth:`as_dict` is what ``MigrationFile.trace`` holds."""

    index: int
    ran: bool = False
    reason: str = ""  # why it did not run
    locks: dict[str, str] = field(default_factory=dict)  # relation → strongest mode it took
    held: dict[str, list[str]] = field(default_factory=dict)  # modes its transaction held before it
    rewritten: list[str] = field(default_factory=list)
    duration_ms: float | None = None
    rows: int | None = None  # rows it inserted, updated or deleted (None: not a data statement)
    error: dict[str, Any] | None = None
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    observed: str = ""  # "transaction" (read before the commit) or "session" (watched from a second session)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "ran": self.ran, "reason": self.reason, "locks": dict(self.locks),
            "held": {k: list(v) for k, v in self.held.items()}, "rewrites": bool(self.rewritten),
            "rewritten": list(self.rewritten), "duration_ms": self.duration_ms, "rows": self.rows, "error": self.error,
            "created": list(self.created), "dropped": list(self.dropped), "observed": self.observed,
            "notes": list(self.notes),
        }


@dataclass
class GroupResult:
    """What the trace did in one folder's database."""

    folder: str
    history: list[str] = field(default_factory=list)  # files applied before the first one under review
    history_statements: int = 0
    notes: list[str] = field(default_factory=list)
    seeded: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass
class TraceResult:
    server: str = ""
    mode: str = "disposable"  # disposable, database-url, database-url (committed)
    rows: int = 0
    groups: list[GroupResult] = field(default_factory=list)

    def headline(self) -> str:
        where = {"disposable": "a disposable PostgreSQL server",
                 "database-url": "the named database, in one transaction that was rolled back",
                 "database-url (committed)": "the named database, committed"}.get(self.mode, self.mode)
        rows = f"{self.rows} rows seeded per table" if self.rows else "no rows seeded"
        return f"Traced on {where} ({self.server}; {rows})"
