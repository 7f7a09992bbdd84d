"""The stats command: table row estimates and sizes from a database, for size-aware risk."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from migration_lint.cli.common import EXIT_OK, EXIT_USAGE, UsageError, _err


def cmd_stats(argv: list[str]) -> int:
    from migration_lint.risk.estimate import STATS_QUERY, StatsError, collect_stats

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
