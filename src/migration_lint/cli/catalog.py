"""The rule catalogue commands: `rules`, `explain RULE-ID` and `docs` (the generated reference)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from migration_lint.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, _err, _registry


def cmd_rules(argv: list[str]) -> int:
    from migration_lint.rules.registry import RegistryError

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
    from migration_lint.rules.registry import RegistryError

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
    from migration_lint.report.docs import rule_markdown

    sys.stdout.write(rule_markdown(rule))
    return EXIT_OK


def cmd_docs(argv: list[str]) -> int:
    from migration_lint.rules.registry import RegistryError

    parser = argparse.ArgumentParser(prog="migration-lint docs", description="Generate the rule reference (rules/ folder).")
    parser.add_argument("--output", "-o", default="rules", metavar="DIR")
    parser.add_argument("--check", action="store_true", help="exit 1 if the folder is not up to date")
    args = parser.parse_args(argv)
    try:
        registry = _registry()
    except RegistryError as exc:
        _err(str(exc))
        return EXIT_USAGE
    from migration_lint.report.docs import write_docs

    stale = write_docs(registry, Path(args.output), check=args.check)
    if args.check and stale:
        _err(f"{args.output}/ is out of date ({', '.join(stale)}): run `migration-lint docs --output {args.output}`")
        return EXIT_FINDINGS
    return EXIT_OK
