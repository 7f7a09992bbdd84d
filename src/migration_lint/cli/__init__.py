"""Command line: the check command and the side commands (rules, explain, docs, stats, review, trace, lsp).

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it;
2 usage, configuration or plugin error. Each command is imported only when it runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from migration_lint.cli.common import EXIT_OK, EXIT_USAGE, UsageError, _err

COMMANDS = ("check", "rules", "explain", "docs", "stats", "review", "trace", "lsp")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        command, rest = (argv[0], argv[1:]) if argv and argv[0] in COMMANDS else ("check", argv)
        if command == "rules":
            from migration_lint.cli.catalog import cmd_rules

            return cmd_rules(rest)
        if command == "explain":
            from migration_lint.cli.catalog import cmd_explain

            return cmd_explain(rest)
        if command == "docs":
            from migration_lint.cli.catalog import cmd_docs

            return cmd_docs(rest)
        if command == "stats":
            from migration_lint.cli.stats import cmd_stats

            return cmd_stats(rest)
        if command == "review":
            from migration_lint.cli.review.command import cmd_review

            return cmd_review(rest)
        if command == "trace":
            from migration_lint.cli.trace.command import cmd_trace

            return cmd_trace(rest)
        if command == "lsp":
            from migration_lint.cli.lsp import cmd_lsp

            return cmd_lsp(rest)
        from migration_lint.cli.check import cmd_check

        return cmd_check(rest)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
