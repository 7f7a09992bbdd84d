"""The whole trace: a database per migration folder (on a disposable server, or the one of
``--database-url``), the earlier migrations applied, tables seeded, the migrations under review run and
their steps attached to ``MigrationFile.trace``; :func:`retrace` lints a run again with the trace."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migration_lint.cli.trace.database import Database, load_psycopg
from migration_lint.cli.trace.errors import PostgresError, TraceError
from migration_lint.cli.trace.history import apply, folders, schedule
from migration_lint.cli.trace.options import TraceOptions
from migration_lint.cli.trace.results import GroupResult, Step, TraceResult
from migration_lint.cli.trace.runner import Runner
from migration_lint.cli.trace.seed import Seeder
from migration_lint.cli.trace.server import PostgresServer
from migration_lint.facts.observed import predicted_by
from migration_lint.facts.transactions import implicit_transaction
from migration_lint.model import RunReport
from migration_lint.pipeline import lint

if TYPE_CHECKING:  # pragma: no cover - typing only
    from migration_lint.model import FileReport, MigrationFile
    from migration_lint.pipeline.engine import Linter


def trace_files(files: list[MigrationFile], linter: Linter, options: TraceOptions,
                static: RunReport | None = None) -> TraceResult:
    """Run the migrations and attach each one's steps to ``file.trace``. Raises TraceError."""
    psycopg = load_psycopg()
    if options.rows < 0:
        raise TraceError("--rows must be 0 or more")
    traced = [f for f in files if f.path is not None or f.text is not None]
    if static is None:
        static = linter.run(traced, history=options.history)
    reports = {id(r.file): r for r in static.files}
    groups = folders(traced)
    if options.database_url and len(groups) > 1:
        raise TraceError("--database-url traces one migration folder at a time")
    result = TraceResult(mode="disposable", rows=options.rows)
    config = linter.config
    server: PostgresServer | None = None

    def open_database(name: str | None) -> Database:
        if options.database_url:
            url = options.database_url
            connect = lambda: psycopg.connect(url, autocommit=True, prepare_threshold=None)  # noqa: E731
            return Database(connect, outer=not options.commit, can_stall=False, server_wide=False)
        assert server is not None and name is not None
        started = server
        connect = lambda: started.connect(dbname=name, prepare_threshold=None)  # noqa: E731
        return Database(connect, outer=False, can_stall=True, server_wide=True)

    # the disposable server is stopped and its directory removed however this block is left: an error,
    # an exception from a migration's statement, KeyboardInterrupt (the context manager, and try/finally)
    stack = contextlib.ExitStack()
    try:
        if options.database_url:
            result.mode = "database-url (committed)" if options.commit else "database-url"
        else:
            server = stack.enter_context(PostgresServer(version=options.pg_version, install=options.install))
        for number, (group, members) in enumerate(groups, start=1):
            name = None
            if server is not None:
                name = f"migration_lint_trace_{number}"
                with server.connect() as admin:
                    admin.execute(f'CREATE DATABASE "{name}"')
            try:
                db = open_database(name)
            except psycopg.Error as exc:
                raise TraceError(f"cannot connect to the database: {exc}") from None
            try:
                if not result.server:
                    version = db.conn.execute("SHOW server_version").fetchone()[0]
                    result.server = f"PostgreSQL {version.split()[0]}"
                    number = int(db.conn.execute("SHOW server_version_num").fetchone()[0])
                    if options.pg_version is not None and number // 10000 != options.pg_version:
                        raise TraceError(f"the database is {result.server}, but --pg-version is {options.pg_version}: "
                                         "trace it with the version it runs, or leave --pg-version out")
                outcome = GroupResult(str(group) if group is not None else "")
                result.groups.append(outcome)
                _trace_group(db, group, members, linter, config, options, reports, outcome)
            finally:
                db.close()
    except PostgresError as exc:
        hint = ""
        if not options.install and not options.database_url and "not found" in str(exc):
            hint = " (--install-postgres installs it)"
        raise TraceError(f"{exc}{hint}") from None
    except psycopg.OperationalError as exc:
        raise TraceError(f"the database connection failed: {exc}") from None
    finally:
        stack.close()
    return result


def _trace_group(db: Database, group: Path | None, members: list[MigrationFile], linter: Linter, config: Any,
                 options: TraceOptions, reports: dict[int, FileReport], out: GroupResult) -> None:
    runner = Runner(db, options, float(config.pg_version))
    seeder = Seeder(db, options.rows)
    stopped: str | None = None
    seeded_once = False
    for file, under_review in schedule(group, members, options.history):
        loaded = lint.load_file(file, linter.config)
        statements = loaded.parsed.statements if loaded.parsed is not None and loaded.error is None else None
        if not under_review:
            if stopped is not None and not options.keep_going:
                continue
            if statements is None:
                out.notes.append(f"{file.display}: not applied (it cannot be parsed)")
                continue
            apply(db, statements, file.display, out, runner.pg_version)
            if not seeded_once:
                out.history.append(file.display)
                out.history_statements += len(statements)
            continue
        seeded_once = True
        report = reports.get(id(file))
        if statements is None or report is None:
            file.trace = []
            if stopped is None:
                stopped = file.display
            continue
        if stopped is not None and not options.keep_going:
            file.trace = [Step(s.index, reason=f"not run: an earlier migration failed ({stopped})").as_dict()
                          for s in statements]
            continue
        seeder.seed(out)
        before = seeder.table_oids() if linter.is_new(file) else None
        implicit = bool(implicit_transaction(file, statements, config))
        steps, failed = runner.run_file(statements, report, implicit)
        if before is not None:
            seeder.unseeded |= seeder.table_oids() - before
        by_index: dict[int, list[Any]] = {}
        for finding in report.findings:
            if finding.statement is not None:
                by_index.setdefault(finding.statement, []).append(finding)
        for step in steps:
            if step.error:
                step.error["predicted_by"] = predicted_by(step.error, by_index.get(step.index, ()), linter.registry)
        file.trace = [step.as_dict() for step in steps]
        if failed is not None and stopped is None:
            stopped = f"{file.display}:{failed}"


def retrace(run: RunReport, linter: Linter, options: TraceOptions) -> tuple[RunReport, TraceResult]:
    """Trace the migrations of a lint run and lint them again with the trace attached.

    Reports of files that were not traced (deleted migrations, unreadable paths) are kept as they are.
    """
    files = [r.file for r in run.files if r.file.path is not None and r.file.change != "deleted"]
    traced_ids = {id(f) for f in files}
    result = trace_files(files, linter, options, static=RunReport([r for r in run.files if id(r.file) in traced_ids]))
    again = linter.run(files, history=options.history)
    again.files.extend(r for r in run.files if id(r.file) not in traced_ids)
    return again, result
