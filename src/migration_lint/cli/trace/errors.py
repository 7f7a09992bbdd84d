"""The errors of the trace and of the PostgreSQL server it runs on."""

from __future__ import annotations

LOG_TAIL_LINES = 40


class TraceError(Exception):
    """The trace cannot run (no server, no psycopg, a bad database URL); exit status 2."""


class PostgresError(RuntimeError):
    """A PostgreSQL server could not be found, installed or run."""


class PostgresUnavailable(PostgresError):
    """No PostgreSQL server binaries were found and none could be installed."""


class PostgresStartError(PostgresError):
    """``initdb`` or the postmaster failed; the message includes the log tail."""


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last *lines* lines of *text* (a log or a program's output, shown in an error)."""
    return "\n".join(text.rstrip().splitlines()[-lines:])
