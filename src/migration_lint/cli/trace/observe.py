"""What one statement did: the locks it took (read in its transaction, or watched from a second session
while blockers and an event trigger hold it at each phase), the relations it rewrote, the objects it
created and dropped, how long it ran."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from migration_lint.cli.trace.catalog import (
    HELPER_SCHEMA,
    counted,
    display_name,
    fold_locks,
    lock_rows,
    objects,
    quote_ident,
    relations,
    rewritten_relations,
    statement_names,
)
from migration_lint.cli.trace.database import Database, NotRunnable, error_dict, execute
from migration_lint.cli.trace.results import Step
from migration_lint.facts.locks import STRENGTH
from migration_lint.syntax import ast

if TYPE_CHECKING:  # pragma: no cover - typing only
    from migration_lint.model import Statement

STALL_KEY = 727_274_001  # advisory lock key of the end-of-statement stall
POLL = 0.002  # seconds between two looks at pg_locks while a statement runs on its own
STUCK = 1.0  # a wait that lasts this long after a release gets the next release

_STALL_INSTALL = f"""
CREATE SCHEMA IF NOT EXISTS {HELPER_SCHEMA};
CREATE OR REPLACE FUNCTION {HELPER_SCHEMA}.stall() RETURNS event_trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_advisory_xact_lock({STALL_KEY}); END $$;
CREATE EVENT TRIGGER migration_lint_trace_drop ON sql_drop EXECUTE FUNCTION {HELPER_SCHEMA}.stall();
CREATE EVENT TRIGGER migration_lint_trace_end ON ddl_command_end EXECUTE FUNCTION {HELPER_SCHEMA}.stall();
"""
_STALL_REMOVE = f"""
DROP EVENT TRIGGER IF EXISTS migration_lint_trace_drop;
DROP EVENT TRIGGER IF EXISTS migration_lint_trace_end;
DROP SCHEMA IF EXISTS {HELPER_SCHEMA} CASCADE;
"""


def run_bare(conn: Any, stmt: Statement, step: Step) -> None:
    """Run a statement that must not be wrapped (LOCK TABLE & co. outside a transaction block); no locks read."""
    start = time.perf_counter()
    try:
        step.rows = execute(conn, stmt)
    except NotRunnable as exc:
        step.reason = f"not run: {exc}"
        return
    except Exception as exc:
        step.error = error_dict(exc)
    step.ran = True
    step.duration_ms = round((time.perf_counter() - start) * 1000, 3)

def observe_in_transaction(conn: Any, stmt: Statement, step: Step) -> None:
    """Run the statement inside the open transaction and read what it did before the transaction ends."""
    pid = conn.info.backend_pid
    before = relations(conn)
    objects_before = objects(conn)
    held_rows = [r for r in lock_rows(conn, pid) if r[0] == "relation"]
    held_pairs = {(r[1], r[2]) for r in held_rows}
    start = time.perf_counter()
    try:
        step.rows = execute(conn, stmt)
    except NotRunnable as exc:
        step.reason = f"not run: {exc}"
        return
    except Exception as exc:
        step.ran = True
        step.duration_ms = round((time.perf_counter() - start) * 1000, 3)
        step.error = error_dict(exc)
        step.observed = "transaction"
        return
    step.ran = True
    step.duration_ms = round((time.perf_counter() - start) * 1000, 3)
    step.observed = "transaction"
    rows = lock_rows(conn, pid)
    after = relations(conn)
    objects_after = objects(conn)
    named = statement_names(stmt)
    fold_locks(rows, before, named, stmt.sql, step.locks, skip=held_pairs)
    held: dict[str, set[str]] = {}
    for _, oid, mode, _granted in held_rows:
        if oid in before and counted(before[oid], named):
            held.setdefault(display_name(before[oid], stmt.sql), set()).add(mode)
    step.held = {name: sorted(modes, key=STRENGTH.__getitem__) for name, modes in held.items()}
    step.rewritten = rewritten_relations(before, after, stmt)
    step.created = sorted(objects_after - objects_before)
    step.dropped = sorted(objects_before - objects_after)

# -- statements that cannot run in a transaction block ----------------------------------------------
def blockers(obs: Any, stmt: Statement) -> list[str]:
    """LOCK TABLE statements that make the statement wait at each of its phases."""
    node, kind = stmt.node, stmt.node_type

    def rel(rangevar: Any) -> str:
        _, rv = ast.unwrap(rangevar)
        name = quote_ident(rv.get("relname", "?"))
        return f"{quote_ident(rv['schemaname'])}.{name}" if rv.get("schemaname") else name

    def table_of(index: str) -> str | None:
        row = obs.execute("SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = to_regclass(%s)",
                          (index,)).fetchone()
        return row[0] if row else None

    out: list[tuple[str, str]] = []
    if kind == "IndexStmt" and node.get("concurrent") and node.get("relation"):
        out.append((rel(node["relation"]), "ROW EXCLUSIVE"))
    elif kind == "ReindexStmt" and node.get("relation"):
        target = rel(node["relation"])
        table = table_of(target) if node.get("kind") == "REINDEX_OBJECT_INDEX" else target
        if table:
            out.append((table, "ROW EXCLUSIVE"))
    elif kind == "DropStmt" and node.get("concurrent") and node.get("removeType") == "OBJECT_INDEX":
        for obj in node.get("objects") or ():
            okind, value = ast.unwrap(obj)
            names = ast.strings(value.get("items")) if okind == "List" else ast.strings([obj])
            table = table_of(".".join(quote_ident(n) for n in names))
            if table:
                out.append((table, "ACCESS SHARE"))
    elif kind == "AlterTableStmt" and node.get("relation"):
        out.append((rel(node["relation"]), "ACCESS SHARE"))
    elif kind == "VacuumStmt" and node.get("is_vacuumcmd"):
        # VACUUM first opens each table ACCESS SHARE to list it (and its partitions): the blocker must
        # let that pass and stop the real lock (SHARE UPDATE EXCLUSIVE, or ACCESS EXCLUSIVE for FULL)
        options = ast.def_elems(node.get("options"))
        value = options.get("full")
        words = {w.lower() for w in ast.strings([value])} if value is not None else set()
        full = "full" in options and not words & {"false", "off", "0"}
        for item in node.get("rels") or ():
            _, vrel = ast.unwrap(item)
            if vrel.get("relation"):
                out.append((rel(vrel["relation"]), "ACCESS SHARE" if full else "SHARE UPDATE EXCLUSIVE"))
    return [f"LOCK TABLE {table} IN {mode} MODE" for table, mode in out]

def observe_from_session(db: Database, stmt: Statement, step: Step, wait_timeout: float) -> None:
    """Run the statement on its own while the observer reads its locks at every wait."""
    obs = db.observer
    mig = db.conn
    pid = mig.info.backend_pid
    releases: list[tuple[str, Callable[[], None]]] = []
    opened: list[Any] = []
    stalled = False
    try:
        for sql in blockers(obs, stmt):
            blocker = db.connect()
            opened.append(blocker)
            try:
                blocker.execute("BEGIN")
                blocker.execute(sql)
            except Exception:
                blocker.close()
                continue
            releases.append(("lock", blocker.close))
        if db.can_stall:
            obs.execute(_STALL_INSTALL)
            stalled = True
            obs.execute("SELECT pg_advisory_lock(%s)", (STALL_KEY,))
            releases.append(("advisory", lambda: obs.execute("SELECT pg_advisory_unlock(%s)", (STALL_KEY,))))
        before = relations(obs)
        objects_before = objects(obs)
        named = statement_names(stmt)
        outcome: dict[str, Any] = {}

        def run() -> None:
            started = time.perf_counter()
            try:
                outcome["rows"] = execute(mig, stmt)
            except BaseException as exc:
                outcome["error"] = exc
            outcome["seconds"] = time.perf_counter() - started

        thread = threading.Thread(target=run, name="migration-lint-trace", daemon=True)
        thread.start()
        last_wait: frozenset[Any] = frozenset()
        released_at = time.monotonic()
        while thread.is_alive():
            rows = lock_rows(obs, pid)
            fold_locks(rows, before, named, stmt.sql, step.locks)
            waiting = frozenset((r[0], r[1], r[2]) for r in rows if not r[3])
            now = time.monotonic()
            if waiting and (waiting != last_wait or now - released_at > STUCK):
                advisory = any(w[0] == "advisory" for w in waiting)
                pick = next((i for i, (what, _) in enumerate(releases) if (what == "advisory") == advisory), None)
                if pick is None and releases and now - released_at > STUCK:
                    pick = 0
                if pick is not None:
                    releases.pop(pick)[1]()
                    released_at = now
                    last_wait = waiting
                elif now - released_at > wait_timeout:
                    obs.execute("SELECT pg_cancel_backend(%s)", (pid,))
                    step.notes.append(f"cancelled by the trace: it waited {wait_timeout:g} s for "
                                      f"{', '.join(sorted(str(w[0]) for w in waiting))}")
                    released_at = now
            time.sleep(POLL)
        thread.join()
        while releases:
            releases.pop(0)[1]()
        step.ran = True
        step.observed = "session"
        step.duration_ms = round(outcome.get("seconds", 0.0) * 1000, 3)
        step.rows = outcome.get("rows")
        error = outcome.get("error")
        if isinstance(error, NotRunnable):
            step.ran, step.reason, step.observed, step.duration_ms = False, f"not run: {error}", "", None
            return
        if error is not None:
            if not isinstance(error, Exception):
                raise error
            step.error = error_dict(error)
            return
        after = relations(obs)
        objects_after = objects(obs)
        step.rewritten = rewritten_relations(before, after, stmt)
        step.created = sorted(objects_after - objects_before)
        step.dropped = sorted(objects_before - objects_after)
    finally:
        while releases:
            try:
                releases.pop(0)[1]()
            except Exception:
                pass
        for blocker in opened:
            try:
                blocker.close()
            except Exception:
                pass
        if stalled:
            try:
                obs.execute(_STALL_REMOVE)
            except Exception:
                pass
