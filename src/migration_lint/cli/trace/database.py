"""The database the trace works in: its connections, and how one statement runs there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from migration_lint.cli.trace.errors import TraceError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from migration_lint.model import Statement

# statements that must run inside a transaction block (outside one they fail with 25P01)
NEEDS_BLOCK = frozenset({"LockStmt", "DeclareCursorStmt"})
# statements that reach beyond the named database: only on a disposable server
SERVER_WIDE = frozenset({"CreatedbStmt", "DropdbStmt", "AlterDatabaseStmt", "AlterDatabaseSetStmt",
                         "AlterDatabaseRefreshCollStmt", "CreateTableSpaceStmt", "DropTableSpaceStmt",
                         "AlterTableSpaceOptionsStmt", "AlterSystemStmt"})


class NotRunnable(Exception):
    """A statement the trace cannot reproduce (the message says why)."""


class Database:
    """The database the trace works in, and how statements run there."""

    def __init__(self, connect: Callable[[], Any], *, outer: bool, can_stall: bool, server_wide: bool) -> None:
        self.connect = connect  # a new autocommit connection to the same database
        self.outer = outer  # everything inside one transaction (savepoints) that is rolled back
        self.can_stall = can_stall  # may create the helper event triggers (disposable server only)
        self.server_wide = server_wide  # may run CREATE DATABASE & co. (disposable server only)
        self.conn = connect()
        self.notices: list[str] = []
        self.conn.add_notice_handler(self._notice)
        self._observer: Any = None
        if outer:
            self.conn.execute("BEGIN")

    def _notice(self, diag: Any) -> None:
        text = f"{diag.severity or 'NOTICE'}: {diag.message_primary or ''}".strip()
        self.notices.append(text)

    @property
    def observer(self) -> Any:
        if self._observer is None:
            self._observer = self.connect()
        return self._observer

    @property
    def in_transaction(self) -> bool:
        import psycopg  # optional (pg-migration-lint[db]): there once a connection is open

        return self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        """Close the connections; the one transaction of --database-url is rolled back."""
        for conn in (self._observer, self.conn):
            if conn is None:
                continue
            try:
                if conn is self.conn and self.outer and not conn.closed:
                    conn.execute("ROLLBACK")
            except Exception:
                pass
            try:
                conn.close()
            except Exception:
                pass


_DATA = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})


def execute(conn: Any, stmt: Statement) -> int | None:
    """Run the statement; returns the rows a data statement wrote (None for the others)."""
    node = stmt.node
    if stmt.node_type == "CopyStmt" and not node.get("filename") and not node.get("is_program"):
        if node.get("is_from"):
            raise NotRunnable("COPY … FROM STDIN reads data the migration tool sends after it; the trace has none")
        with conn.cursor() as cur, cur.copy(stmt.sql) as copy:
            for _ in copy:
                pass
        return None
    cursor = conn.execute(stmt.sql)
    return cursor.rowcount if stmt.node_type in _DATA and cursor.rowcount >= 0 else None


def error_dict(exc: BaseException) -> dict[str, Any]:
    """A failed statement's error as ``MigrationFile.trace`` holds it (``predicted_by`` filled in later)."""
    diag = getattr(exc, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(exc)).strip()
    return {"sqlstate": getattr(exc, "sqlstate", None) or "", "message": message, "predicted_by": None}


def load_psycopg() -> Any:
    """The psycopg module, or a TraceError saying how to install it."""
    try:
        import psycopg  # an optional dependency (pg-migration-lint[db])
    except ImportError as exc:
        raise TraceError(f"trace needs psycopg 3: pip install 'pg-migration-lint[db]' ({exc})") from None
    return psycopg
