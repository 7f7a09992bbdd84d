"""A migration under review, run the way its tool runs it: the framework's transaction or none, the file's
own BEGIN/COMMIT, savepoints inside the one transaction of ``--database-url``; each statement observed
where its locks can be seen (:mod:`migration_lint.cli.trace.observe`); the first failure stops the file."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from migration_lint.cli.trace.database import NEEDS_BLOCK, SERVER_WIDE, Database, error_dict
from migration_lint.cli.trace.observe import observe_from_session, observe_in_transaction, run_bare
from migration_lint.cli.trace.options import TraceOptions
from migration_lint.cli.trace.results import Step
from migration_lint.facts.transactions import non_transactional

if TYPE_CHECKING:  # pragma: no cover - typing only
    from migration_lint.model import FileReport, Statement


class Runner:
    def __init__(self, db: Database, options: TraceOptions, pg_version: float) -> None:
        self.db = db
        self.options = options
        self.pg_version = pg_version

    # -- the migrations under review -------------------------------------------------------------------
    def run_file(self, statements: list[Statement], report: FileReport, implicit: bool) -> tuple[list[Step], int | None]:
        """Trace one migration; returns its steps and the line of the statement that failed (None: none)."""
        db = self.db
        steps: list[Step] = []
        failed_line: int | None = None
        aborted = False  # the rest of the failed statement's transaction
        framework = False  # a transaction is open (the framework's, or the file's BEGIN) – outer mode: a savepoint
        for stmt in statements:
            step = Step(stmt.index)
            steps.append(step)
            facts = report.statements[stmt.index] if stmt.index < len(report.statements) else None
            wants = bool(facts.in_transaction) if facts is not None else False
            if failed_line is not None:
                if aborted and (wants or stmt.node_type == "TransactionStmt"):
                    step.reason = "transaction aborted"
                    if stmt.node_type == "TransactionStmt" and stmt.node.get("kind") in (
                            "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK"):
                        aborted = False
                    continue
                aborted = False
                step.reason = f"the migration stopped at line {failed_line}"
                continue
            db.notices.clear()
            try:
                if stmt.node_type == "TransactionStmt":
                    framework = self._transaction_statement(stmt, step, framework)
                else:
                    if wants and not (framework if db.outer else db.in_transaction):
                        self._begin()  # the framework's transaction around the file
                        framework = True
                    if db.outer:
                        framework = self._run_outer(stmt, step, framework)
                    else:
                        framework = self._run_real(stmt, step, framework)
            finally:
                step.notes.extend(n for n in db.notices if n not in step.notes)
            if step.error:
                failed_line = stmt.line
                aborted = framework or (not db.outer and db.in_transaction)
                framework = self._abort(framework)
        # the end of the file: the framework commits its transaction
        if failed_line is None:
            self._end_of_file(framework, implicit, steps)
        elif not db.outer and db.in_transaction:
            db.conn.execute("ROLLBACK")
        return steps, failed_line

    def _begin(self) -> None:
        if self.db.outer:
            self.db.conn.execute("SAVEPOINT migration_lint_tx")
        else:
            self.db.conn.execute("BEGIN")

    def _abort(self, framework: bool) -> bool:
        db = self.db
        if db.outer:
            if framework:
                db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_tx")
                db.conn.execute("RELEASE SAVEPOINT migration_lint_tx")
        elif db.in_transaction:
            db.conn.execute("ROLLBACK")
        return False

    def _end_of_file(self, framework: bool, implicit: bool, steps: list[Step]) -> None:
        """The framework commits its transaction; psql rolls back one the file left open."""
        db = self.db
        still_open = framework if db.outer else db.in_transaction
        if not still_open:
            return
        if implicit:
            db.conn.execute("RELEASE SAVEPOINT migration_lint_tx" if db.outer else "COMMIT")
            return
        if db.outer:
            db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_tx")
            db.conn.execute("RELEASE SAVEPOINT migration_lint_tx")
        else:
            db.conn.execute("ROLLBACK")
        if steps:
            steps[-1].notes.append("the file leaves its transaction open: it was rolled back at the end of the "
                                   "file, as psql does when it exits")

    def _transaction_statement(self, stmt: Statement, step: Step, framework: bool) -> bool:
        db = self.db
        kind = stmt.node.get("kind", "")
        start = time.perf_counter()
        try:
            if not db.outer:
                db.conn.execute(stmt.sql)
                step.ran = True
                framework = db.in_transaction
            elif kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START"):
                if not framework:
                    db.conn.execute("SAVEPOINT migration_lint_tx")
                    framework = True
                else:
                    step.notes.append("WARNING: there is already a transaction in progress")
                step.ran = True
            elif kind == "TRANS_STMT_COMMIT":
                if framework:
                    db.conn.execute("RELEASE SAVEPOINT migration_lint_tx")
                    framework = False
                else:
                    step.notes.append("WARNING: there is no transaction in progress")
                step.ran = True
            elif kind == "TRANS_STMT_ROLLBACK":
                if framework:
                    db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_tx")
                    db.conn.execute("RELEASE SAVEPOINT migration_lint_tx")
                    framework = False
                step.ran = True
            elif kind in ("TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO") and framework:
                db.conn.execute(stmt.sql)
                step.ran = True
            else:
                step.reason = ("not run: outside a transaction block it behaves differently than inside the trace's "
                               "transaction (it would need --commit or a disposable server)")
        except Exception as exc:
            step.error = error_dict(exc)
            step.ran = True
        if step.ran:
            step.duration_ms = round((time.perf_counter() - start) * 1000, 3)
            step.observed = "transaction"
        return framework

    def _run_outer(self, stmt: Statement, step: Step, framework: bool) -> bool:
        """Inside the one transaction of --database-url: a savepoint per statement outside a framework transaction."""
        db = self.db
        if stmt.node_type in SERVER_WIDE:
            step.reason = f"not run: {stmt.kind} acts beyond the named database (only on a disposable server)"
            return framework
        if not framework:
            if non_transactional(stmt, self.pg_version):
                step.reason = (f"not run: {stmt.kind} cannot run inside a transaction block; it would need --commit "
                               "or a disposable server")
                return framework
            if stmt.node_type in NEEDS_BLOCK:
                step.reason = (f"not run: outside a transaction block {stmt.kind} fails (25P01), inside the trace's "
                               "transaction it would not; it would need --commit or a disposable server")
                return framework
            db.conn.execute("SAVEPOINT migration_lint_stmt")
            observe_in_transaction(db.conn, stmt, step)
            if step.error:
                db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_stmt")
            db.conn.execute("RELEASE SAVEPOINT migration_lint_stmt")
            if step.error:
                step.notes.append("rolled back to a savepoint: the trace's transaction goes on")
            return framework
        observe_in_transaction(db.conn, stmt, step)
        return framework

    def _run_real(self, stmt: Statement, step: Step, framework: bool) -> bool:
        db = self.db
        if stmt.node_type in SERVER_WIDE and not db.server_wide:
            step.reason = f"not run: {stmt.kind} acts beyond the named database (only on a disposable server)"
            return framework
        if db.in_transaction:
            observe_in_transaction(db.conn, stmt, step)
            return True
        if non_transactional(stmt, self.pg_version):
            observe_from_session(db, stmt, step, self.options.wait_timeout)
            return False
        if stmt.node_type in NEEDS_BLOCK:
            run_bare(db.conn, stmt, step)
            return False
        db.conn.execute("BEGIN")  # a wrapper, only to read the locks before they are released
        observe_in_transaction(db.conn, stmt, step)
        if step.error and step.error.get("sqlstate") == "25001":
            db.conn.execute("ROLLBACK")
            retry = Step(step.index)
            observe_from_session(db, stmt, retry, self.options.wait_timeout)
            retry.notes.insert(0, "refused inside a transaction block (SQLSTATE 25001) although the lock model "
                                  "says it can run in one: ran again on its own")
            step.__dict__.update(retry.__dict__)
            return False
        if step.error:
            db.conn.execute("ROLLBACK")
        else:
            db.conn.execute("COMMIT")
        return False
