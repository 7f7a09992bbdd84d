"""What the commands share: exit codes, the lint options, configuration, and writing a report."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from migration_lint import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="configuration file (default: nearest migration-lint.toml or pyproject.toml)")
    parser.add_argument("--no-config", action="store_true", help="ignore configuration files")


def _check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migration-lint",
        description="Lint PostgreSQL migrations: lock impact, risk and safe alternatives.",
        epilog="Other commands: `migration-lint rules`, `migration-lint explain RULE-ID`. "
        "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or configuration error.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="migration files, directories (recursive) or globs; - for stdin")
    parser.add_argument("--format", "-f", choices=("text", "json", "github", "sarif"), default=None, help="output format (default: text)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of standard output")
    parser.add_argument("--fail-on", choices=("error", "warning", "info", "never"), help="lowest severity that makes the exit code 1 (default: error)")
    parser.add_argument("--select", metavar="IDS", help="comma-separated rule ids to run (ALL for every rule)")
    parser.add_argument("--ignore", metavar="IDS", help="comma-separated rule ids to skip")
    parser.add_argument("--pg-version", metavar="N", help="PostgreSQL major version the migrations run on (default 15)")
    parser.add_argument("--framework", choices=("auto", "prisma", "drizzle", "flyway", "golang-migrate", "dbmate", "supabase", "diesel", "plain"), help="migration tool (default: detected from the layout)")
    parser.add_argument("--prisma-version", metavar="V", help="Prisma version (before 7.4 a migration.sql runs as one transaction)")
    parser.add_argument("--include-down", action="store_true", default=None, help="also lint down migrations found in directories")
    parser.add_argument("--stdin-filename", metavar="NAME", help="the name to report for SQL read from stdin (-)")
    parser.add_argument("--no-history", action="store_true", help="do not replay earlier migrations of the directory")
    parser.add_argument("--no-cache", action="store_true", help="lint every file again instead of reusing the reports of unchanged ones")
    parser.add_argument("--jobs", "-j", type=int, metavar="N", help="processes to lint with (default: one per CPU for large runs; 1 = no extra process)")
    parser.add_argument("--new", action="append", metavar="PATH",
                        help="migrations not deployed anywhere yet (files, folders, globs; repeatable): the tables they "
                        "create count as empty for the migrations after them")
    parser.add_argument("--stats", metavar="FILE", help="table sizes from `migration-lint stats`: size-aware risk and duration estimates")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="text report: only the findings (no help, no statement risks, no per-rule counts) and the summary line")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour in text output (default: auto, honours NO_COLOR)")
    parser.add_argument("--version", action="version", version=f"migration-lint {__version__}")
    _common(parser)
    return parser


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _linted_paths(args: argparse.Namespace) -> list[str]:
    """The paths the run lints, the file stdin stands for included: where its configuration and its
    package.json are looked for."""
    paths = list(getattr(args, "paths", None) or [])
    if getattr(args, "stdin_filename", None):
        paths.append(args.stdin_filename)
    return paths


def _load_config(args: argparse.Namespace):
    from migration_lint.config import Config, load_config

    if args.no_config:
        return Config()
    return load_config(Path(args.config) if args.config else None, search=not args.config, paths=_linted_paths(args))


def _registry():
    from migration_lint.rules.registry import all_rules

    return all_rules()


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect garbage rarely while linting: a run allocates millions of small parse-tree objects that
    hold no reference cycles, and the default thresholds spend a quarter of the run tracing them. The
    caller's settings are restored afterwards (tests and tools call main() in their own process)."""
    import gc

    threshold = gc.get_threshold()
    gc.freeze()  # what exists now (modules, rules) lives on: never traced during the run
    gc.set_threshold(50_000, 50, 50)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _err(message: str) -> None:
    sys.stderr.write(f"migration-lint: {message}\n")


def build_linter(args: argparse.Namespace):
    """The Linter, Config and rule registry from the lint options (check and review share this)."""
    from migration_lint.config import check_rule_ids, parse_pg_version

    config = _load_config(args)
    registry = _registry()
    if args.select:
        config.select = _split(args.select)
    if args.ignore:
        config.ignore = list(config.ignore) + _split(args.ignore)
    if args.fail_on:
        config.fail_on = args.fail_on
    if args.pg_version:
        try:
            config.pg_version = parse_pg_version(args.pg_version)
        except ValueError as exc:
            raise UsageError(f"--pg-version: {exc}") from None
    if args.framework:
        config.framework = args.framework
    if args.prisma_version:
        config.prisma_version = args.prisma_version
        config.prisma_version_from = "--prisma-version"
    elif config.prisma_version_from is None:
        from migration_lint.ingest.prisma import detect_prisma_version

        detected, warning = detect_prisma_version(_linted_paths(args))
        if warning:
            _err("warning: " + warning)
        if detected is not None:
            config.prisma_version = detected.value
            config.prisma_version_from = str(detected.path)
    if args.include_down:
        config.include_down = True
    check_rule_ids(config, set(registry))
    stats = None
    stats_path = args.stats or config.stats
    if stats_path:
        from migration_lint.risk.estimate import load_stats

        stats = load_stats(Path(stats_path))
    new_paths: set[Path] = set()
    if getattr(args, "new", None):
        from migration_lint.ingest.discover import discover

        found = discover(args.new, include_down=True)
        for path, message in found.problems:
            raise UsageError(f"--new {path}: {message}")
        new_paths = {f.path for f in found.files if f.path is not None}
    from migration_lint.pipeline.engine import Linter

    return Linter(config, registry, stats=stats, new_paths=new_paths), config, registry


def use_color(args: argparse.Namespace, fmt: str) -> bool:
    """Colour only for text on a terminal (never with --output or NO_COLOR), unless forced."""
    return args.color == "always" or (
        args.color == "auto" and fmt == "text" and not args.output and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    )


def emit(output: str | bytes, args: argparse.Namespace) -> bool:
    """Write the report (text, or UTF-8 bytes) to --output or standard output; False (after saying why)
    if it cannot be written."""
    if args.output:
        try:
            if isinstance(output, bytes):
                Path(args.output).write_bytes(output)
            else:
                Path(args.output).write_text(output, encoding="utf-8")
        except OSError as exc:
            _err(f"cannot write {args.output}: {exc.strerror}")
            return False
    elif isinstance(output, bytes):
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(output)
            buffer.flush()
        else:  # a text-only stream (an embedding tool's)
            sys.stdout.write(output.decode())
            sys.stdout.flush()
    else:
        sys.stdout.write(output)
        sys.stdout.flush()
    return True


def exit_code(run, fail_on: str) -> int:
    if fail_on == "never":
        return EXIT_OK
    from migration_lint.model import Severity

    threshold = Severity(fail_on).rank
    for report in run.files:
        for finding in report.findings:
            if finding.severity.rank >= threshold:
                return EXIT_FINDINGS
    return EXIT_OK
