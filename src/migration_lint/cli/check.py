"""The check command: `migration-lint PATH…` lints migrations and reports findings, locks and risk."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from migration_lint.cli.common import (
    EXIT_USAGE,
    UsageError,
    _check_parser,
    _err,
    build_linter,
    emit,
    exit_code,
    quiet_gc,
    use_color,
)


def cmd_check(argv: list[str]) -> int:
    from migration_lint.config import ConfigError
    from migration_lint.risk.estimate import StatsError
    from migration_lint.rules.registry import RegistryError

    args = _check_parser().parse_args(argv)
    if not args.paths:
        raise UsageError("no path given: try `migration-lint prisma/migrations/` (or - for stdin); see --help")
    if args.jobs is not None and args.jobs < 0:
        raise UsageError("--jobs: give 1 or more (0 = one per CPU)")
    try:
        linter, config, registry = build_linter(args)
    except (ConfigError, RegistryError, StatsError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    with quiet_gc():
        return _check(args, linter, config, registry)


def _check(args: argparse.Namespace, linter, config, registry) -> int:
    from migration_lint.ingest.discover import classify, discover
    from migration_lint.model import MigrationFile

    files: list[MigrationFile] = []
    problems: list[tuple[str, str]] = []
    walked: list[Path] = []
    paths = [p for p in args.paths if p != "-"]
    if paths:
        found = discover(paths, include_down=config.include_down, framework=config.framework, exclude=config.exclude)
        files.extend(found.files)
        problems.extend(found.problems)
        walked = found.walked
    if "-" in args.paths:
        data = sys.stdin.buffer.read()
        from migration_lint.ingest.source import decode

        text, _ = decode(data)
        name = args.stdin_filename or "<stdin>"
        item = classify(Path(name), head=text[:65536]) if args.stdin_filename else MigrationFile(None, name)
        item.path = None
        item.display = name
        item.data = data  # decoded by the linter like a file (a decoding error is a finding)
        if config.framework != "auto":
            item.framework = config.framework
        files.append(item)

    cache = None
    if config.cache and not args.no_cache and not os.environ.get("MIGRATION_LINT_NO_CACHE"):
        from migration_lint.pipeline.cache import Cache, default_directory

        cache = Cache(default_directory(), linter, history=not args.no_history)
    run = linter.run(files, history=not args.no_history, jobs=args.jobs or None, walked=walked,
                     keep_trees=False, cache=cache)
    for path, message in problems:
        run.files.append(linter.problem_report(path, message))
    if not run.files:
        _err("no migration files found")

    fmt = args.format or "text"
    from migration_lint.report import render

    if fmt == "json":  # bytes: the text of a large report is big (see report.json.render_bytes)
        from migration_lint.report.json import render_bytes

        output: str | bytes = render_bytes(run)
    else:
        output = render(fmt, run, color=use_color(args, fmt), registry=registry)
    if not emit(output, args):
        return EXIT_USAGE
    return exit_code(run, config.fail_on)
