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

    parser = _check_parser()
    fixes = parser.add_argument_group("fixes")
    fixes.add_argument("--fix", action="store_true", help="apply the fixes of the findings to the files (safe ones only, "
                       "unless --unsafe-fixes), then report what is left")
    fixes.add_argument("--unsafe-fixes", action="store_true",
                       help="with --fix: also apply fixes that change more than locks (a new migration file, another "
                       "transaction boundary): review them")
    fixes.add_argument("--diff", nargs="?", const="", default=None, metavar="BASE",
                       help="lint only the migrations changed since the git revision BASE (earlier ones are still read "
                       "as history); with --fix and no BASE: show the fixes as a unified diff and change nothing")
    args = parser.parse_args(argv)
    if args.unsafe_fixes and not args.fix:
        raise UsageError("--unsafe-fixes needs --fix")
    if args.diff:
        from migration_lint.cli.scope import is_revision

        # `--diff prisma/migrations --fix`: the value is the path, and --diff has none
        if not is_revision(args.diff) and Path(args.diff).exists():
            args.paths.insert(0, args.diff)
            args.diff = ""
    if args.diff == "" and not args.fix:
        raise UsageError("--diff without BASE shows the changes --fix would make: give --fix too, "
                         "or a git revision as BASE to lint only the migrations changed since it")
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
    from migration_lint.ingest.prisma import assign_versions
    from migration_lint.model import MigrationFile

    files: list[MigrationFile] = []
    problems: list[tuple[str, str]] = []
    walked: list[Path] = []
    paths = [p for p in args.paths if p != "-"]
    gone: list[MigrationFile] = []
    unsupported: list = []
    if paths:
        from migration_lint.cli.scope import unsupported_providers

        found = discover(paths, include_down=config.include_down, framework=config.framework, exclude=config.exclude)
        assign_versions(found.files)
        problems.extend(found.problems)
        walked = found.walked
        candidates, unsupported = unsupported_providers(found.files, linter)
        if args.diff:
            from migration_lint.cli.scope import GitError, changed

            try:
                scope = changed(args.diff, candidates, paths, config)
            except GitError as exc:
                _err(str(exc))
                return EXIT_USAGE
            if scope.warning:
                _err("warning: " + scope.warning)
            else:
                walked = []  # the unchanged migrations are not linted: the engine reads them as history
            files.extend(scope.files)
            gone = scope.gone
        else:
            files.extend(candidates)
    if "-" in args.paths:
        data = sys.stdin.buffer.read()
        from migration_lint.ingest.source import decode

        text, _ = decode(data)
        name = args.stdin_filename or "<stdin>"
        item = classify(Path(name), head=text[:65536]) if args.stdin_filename else MigrationFile(None, name)
        if args.stdin_filename:
            item.stands_for = Path(name)  # the earlier migrations of its folder are read from disk as history
        item.path = None
        item.display = name
        item.data = data  # decoded by the linter like a file (a decoding error is a finding)
        if config.framework != "auto":
            item.framework = config.framework
        if args.stdin_filename:
            assign_versions([item])
        files.append(item)

    if args.fix:
        return _fix(args, linter, config, registry, files, problems, walked)

    cache = None
    if config.cache and not args.no_cache and not os.environ.get("MIGRATION_LINT_NO_CACHE"):
        from migration_lint.pipeline.cache import Cache, default_directory

        cache = Cache(default_directory(), linter, history=not args.no_history)
    run = linter.run(files, history=not args.no_history, jobs=args.jobs or None, walked=walked,
                     keep_trees=False, cache=cache)
    if gone:
        from migration_lint.ingest.gitdiff import deleted_reports

        run.files.extend(deleted_reports(linter, gone))
    run.files.extend(unsupported)
    for path, message in problems:
        run.files.append(linter.problem_report(path, message))
    if not run.files:
        _err(f"no migration changed since {args.diff}" if args.diff else "no migration files found")

    fmt = args.format or "text"
    from migration_lint.report import render

    if fmt == "json":  # bytes: the text of a large report is big (see report.json.render_bytes)
        from migration_lint.report.json import render_bytes

        output: str | bytes = render_bytes(run)
    else:
        output = render(fmt, run, color=use_color(args, fmt), registry=registry, quiet=args.quiet)
    if not emit(output, args):
        return EXIT_USAGE
    return exit_code(run, config.fail_on)


def _fix(args: argparse.Namespace, linter, config, registry, files, problems, walked) -> int:
    """--fix: fix, write (or show the diff), then report what is left like a plain run."""
    from migration_lint.cli.fix import fix
    from migration_lint.model import RunReport

    if any(f.path is None for f in files):
        raise UsageError("--fix changes files: it cannot fix standard input (-)")

    def lint(items) -> RunReport:
        return linter.run(items, history=not args.no_history, jobs=1, walked=walked)

    preview = args.diff == ""
    outcome = fix(files, lint, unsafe=args.unsafe_fixes, preview=preview)
    for problem in outcome.problems:
        _err(problem)
    more = (f"; {outcome.unsafe_left} more with --unsafe-fixes" if outcome.unsafe_left and not args.unsafe_fixes else "")
    count = len([p for p in outcome.finals if outcome.finals[p] != outcome.originals[p]])
    if preview:
        text = outcome.diff()
        sys.stdout.write(text)
        sys.stdout.flush()
        _err(f"{outcome.applied} fix{'es' if outcome.applied != 1 else ''} would change "
             f"{count} file{'s' if count != 1 else ''}{more}")
        return 1 if text else 0
    run = outcome.run
    for path, message in problems:
        run.files.append(linter.problem_report(path, message))
    fmt = args.format or "text"
    from migration_lint.report import render

    if not emit(render(fmt, run, color=use_color(args, fmt), registry=registry, quiet=args.quiet), args):
        return EXIT_USAGE
    _err(f"applied {outcome.applied} fix{'es' if outcome.applied != 1 else ''} to "
         f"{count} file{'s' if count != 1 else ''}{more}")
    return exit_code(run, config.fail_on)
