"""The history of a migration folder: its migrations in order, and the earlier ones applied untraced
to build the schema the migrations under review run on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from migration_lint.cli.trace.database import (
    NEEDS_BLOCK,
    SERVER_WIDE,
    Database,
    NotRunnable,
    error_dict,
    execute,
)
from migration_lint.cli.trace.results import GroupResult
from migration_lint.facts.transactions import non_transactional
from migration_lint.ingest.discover import _sort_key, discover

if TYPE_CHECKING:  # pragma: no cover - typing only
    from migration_lint.model import MigrationFile, Statement


def folders(files: list[MigrationFile]) -> list[tuple[Path | None, list[MigrationFile]]]:
    """The files by migration folder (a database each), in their order."""
    out: dict[Path | None, list[MigrationFile]] = {}
    for file in files:
        key = file.group.resolve() if file.group is not None else None
        out.setdefault(key, []).append(file)
    return list(out.items())


def schedule(group: Path | None, reviewed: list[MigrationFile], history: bool) -> list[tuple[MigrationFile, bool]]:
    """The folder's migrations in order, each with "under review?": earlier ones first, then the rest."""
    reviewed_keys = {f.path.resolve() for f in reviewed if f.path is not None}
    if group is None:
        return [(f, True) for f in reviewed]
    found = discover([str(group)], framework=None).files
    first = min(_sort_key(f) for f in reviewed)
    last = max(_sort_key(f) for f in reviewed)
    out: list[tuple[MigrationFile, bool]] = []
    for other in sorted(found, key=_sort_key):
        if other.direction != "up" or other.path is None:
            continue
        key = other.path.resolve()
        if key in reviewed_keys or _sort_key(other) > last:
            continue
        if _sort_key(other) < first and not history:
            continue
        out.append((other, False))
    for file in reviewed:
        out.append((file, True))
    return sorted(out, key=lambda item: _sort_key(item[0]))


def apply(db: Database, statements: list[Statement], label: str, out: GroupResult, pg_version: float) -> int:
    """Apply a migration untraced (schema building): statement by statement; failures are noted."""
    done = 0
    for stmt in statements:
        if stmt.node_type == "TransactionStmt" or stmt.node_type in NEEDS_BLOCK:
            continue  # no schema of their own; history runs statement by statement
        sql = stmt.sql
        if (db.outer and stmt.node_type in ("IndexStmt", "DropStmt", "ReindexStmt")
                and re.search(r"\bconcurrently\b", sql, re.I)):
            sql = re.sub(r"\bconcurrently\b", "", sql, count=1, flags=re.I)  # the same schema, in a transaction
        elif db.outer and (non_transactional(stmt, pg_version) or stmt.node_type in SERVER_WIDE):
            out.notes.append(f"{label}:{stmt.line}: not applied ({stmt.kind} cannot run inside the trace's transaction)")
            continue
        if not db.server_wide and stmt.node_type in SERVER_WIDE:
            out.notes.append(f"{label}:{stmt.line}: not applied ({stmt.kind} acts beyond the named database)")
            continue
        try:
            if db.outer:
                db.conn.execute("SAVEPOINT migration_lint_history")
            try:
                if sql is stmt.sql:
                    execute(db.conn, stmt)
                else:
                    db.conn.execute(sql)
            except NotRunnable as exc:
                out.notes.append(f"{label}:{stmt.line}: not applied ({exc})")
            else:
                done += 1
            if db.outer:
                db.conn.execute("RELEASE SAVEPOINT migration_lint_history")
        except Exception as exc:
            if db.outer:
                db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_history")
                db.conn.execute("RELEASE SAVEPOINT migration_lint_history")
            elif db.in_transaction:
                db.conn.execute("ROLLBACK")
            error = error_dict(exc)
            out.notes.append(f"{label}:{stmt.line}: failed while building the schema: "
                             f"{error['sqlstate']} {error['message']}")
    return done
