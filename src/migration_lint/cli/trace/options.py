"""What a trace is asked to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TraceOptions:
    database_url: str | None = None
    commit: bool = False
    rows: int = 0
    install: bool = False
    keep_going: bool = False
    history: bool = True
    pg_version: int | None = None  # the major version the disposable server must be (None: the default one)
    wait_timeout: float = 60.0  # a statement observed from a second session that waits this long is cancelled
