"""Command line: arguments and exit codes, nothing else.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it;
2 usage, configuration or plugin error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator, Sequence

from . import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
COMMANDS = ("check", "rules", "explain", "docs", "stats", "review", "trace")


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
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour in text output (default: auto, honours NO_COLOR)")
    parser.add_argument("--version", action="version", version=f"migration-lint {__version__}")
    _common(parser)
    return parser


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _load_config(args: argparse.Namespace):
    from .config import Config, load_config

    if args.no_config:
        return Config()
    return load_config(Path(args.config) if args.config else None, search=not args.config)


def _registry():
    from .registry import all_rules

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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            command, rest = argv[0], argv[1:]
            if command == "rules":
                return cmd_rules(rest)
            if command == "explain":
                return cmd_explain(rest)
            if command == "docs":
                return cmd_docs(rest)
            if command == "stats":
                return cmd_stats(rest)
            if command == "review":
                from .review import cmd_review

                return cmd_review(rest)
            if command == "trace":
                from .trace import cmd_trace

                return cmd_trace(rest)
            return cmd_check(rest)
        return cmd_check(argv)
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK


def build_linter(args: argparse.Namespace):
    """The Linter, Config and rule registry from the lint options (check and review share this)."""
    from .config import check_rule_ids, parse_pg_version

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
    if args.include_down:
        config.include_down = True
    check_rule_ids(config, set(registry))
    stats = None
    stats_path = args.stats or config.stats
    if stats_path:
        from .estimate import load_stats

        stats = load_stats(Path(stats_path))
    new_paths: set[Path] = set()
    if getattr(args, "new", None):
        from .discover import discover

        found = discover(args.new, include_down=True)
        for path, message in found.problems:
            raise UsageError(f"--new {path}: {message}")
        new_paths = {f.path for f in found.files if f.path is not None}
    from .engine import Linter

    return Linter(config, registry, stats=stats, new_paths=new_paths), config, registry


def cmd_check(argv: list[str]) -> int:
    from .config import ConfigError
    from .estimate import StatsError
    from .registry import RegistryError

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
    from .discover import classify, discover
    from .model import Finding, FileReport, MigrationFile, Risk, Severity

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
        from .source import decode

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
        from .cache import Cache, default_directory

        cache = Cache(default_directory(), linter, history=not args.no_history)
    run = linter.run(files, history=not args.no_history, jobs=args.jobs or None, walked=walked,
                     keep_trees=False, cache=cache)
    for path, message in problems:
        bad = FileReport(file=MigrationFile(None, path), risk=Risk.HIGH, risk_reason=message, error=message)
        rule = registry.get("parse-error")
        bad.findings.append(Finding("parse-error", Severity.ERROR, 1, 1, 1, 2, message, "", rule.url() if rule else ""))
        run.files.append(bad)
    if not run.files:
        _err("no migration files found")

    fmt = args.format or "text"
    from .report import render

    if fmt == "json":  # bytes: the text of a large report is big (see report.json.render_bytes)
        from .report.json import render_bytes

        output: str | bytes = render_bytes(run)
    else:
        output = render(fmt, run, color=use_color(args, fmt), registry=registry)
    if not emit(output, args):
        return EXIT_USAGE
    return exit_code(run, config.fail_on)


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
    from .model import Severity

    threshold = Severity(fail_on).rank
    for report in run.files:
        for finding in report.findings:
            if finding.severity.rank >= threshold:
                return EXIT_FINDINGS
    return EXIT_OK


def cmd_rules(argv: list[str]) -> int:
    from .registry import RegistryError

    parser = argparse.ArgumentParser(prog="migration-lint rules", description="List every rule.")
    parser.add_argument("--format", "-f", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    try:
        registry = _registry()
    except RegistryError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.format == "json":
        import orjson

        data = [
            {"id": r.id, "severity": r.severity.value, "summary": r.summary, "lock": r.lock,
             "enabled_by_default": r.enabled_by_default, "url": r.url()}
            for r in sorted(registry.values(), key=lambda r: r.id)
        ]
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    width = max(len(r.id) for r in registry.values())
    for rule in sorted(registry.values(), key=lambda r: r.id):
        off = "" if rule.enabled_by_default else " (off by default)"
        sys.stdout.write(f"{rule.id:<{width}}  {rule.severity.value:<7}  {rule.summary}{off}\n")
    return EXIT_OK


def cmd_explain(argv: list[str]) -> int:
    from .registry import RegistryError

    parser = argparse.ArgumentParser(prog="migration-lint explain", description="Print a rule's documentation.")
    parser.add_argument("rule", metavar="RULE-ID")
    args = parser.parse_args(argv)
    try:
        registry = _registry()
    except RegistryError as exc:
        _err(str(exc))
        return EXIT_USAGE
    rule = registry.get(args.rule)
    if rule is None:
        import difflib

        close = difflib.get_close_matches(args.rule, list(registry), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(f"unknown rule `{args.rule}`{hint}; see `migration-lint rules`")
    from .docs import rule_markdown

    sys.stdout.write(rule_markdown(rule))
    return EXIT_OK


def cmd_docs(argv: list[str]) -> int:
    from .registry import RegistryError

    parser = argparse.ArgumentParser(prog="migration-lint docs", description="Generate the rule reference (rules/ folder).")
    parser.add_argument("--output", "-o", default="rules", metavar="DIR")
    parser.add_argument("--check", action="store_true", help="exit 1 if the folder is not up to date")
    args = parser.parse_args(argv)
    try:
        registry = _registry()
    except RegistryError as exc:
        _err(str(exc))
        return EXIT_USAGE
    from .docs import write_docs

    stale = write_docs(registry, Path(args.output), check=args.check)
    if args.check and stale:
        _err(f"{args.output}/ is out of date ({', '.join(stale)}): run `migration-lint docs --output {args.output}`")
        return EXIT_FINDINGS
    return EXIT_OK


def cmd_stats(argv: list[str]) -> int:
    from .estimate import STATS_QUERY, StatsError, collect_stats

    parser = argparse.ArgumentParser(
        prog="migration-lint stats",
        description="Write table row estimates and sizes (read-only) as JSON, for --stats. "
        "Only pg_class.reltuples and pg_total_relation_size are read; nothing is stored but the numbers.",
    )
    parser.add_argument("--database-url", metavar="URL", help="libpq URL or conninfo (default: $MIGRATION_LINT_DATABASE_URL)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument("--print-query", action="store_true", help="print the SQL query, to run it yourself, and exit")
    args = parser.parse_args(argv)
    if args.print_query:
        sys.stdout.write(f"SELECT json_agg(t) FROM (\n{STATS_QUERY}\n) t;\n")
        return EXIT_OK
    url = args.database_url or os.environ.get("MIGRATION_LINT_DATABASE_URL")
    if not url:
        raise UsageError("stats needs --database-url URL (or $MIGRATION_LINT_DATABASE_URL)")
    try:
        document = collect_stats(url)
    except StatsError as exc:
        _err(str(exc))
        return EXIT_USAGE
    import json

    text = json.dumps(document, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
