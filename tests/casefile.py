"""Loads the table-driven rule cases in tests/rules/<rule-id>.yaml.

Each case: `sql` in, `expect` out: the exact list of "line:col" positions
where the rule fires (an empty list means "must not fire"). Optional keys:
`config` (Config fields, e.g. pg_version), `framework`, `path` (a file path
that sets the migration name and framework, e.g.
prisma/migrations/20240101000000_add_x/migration.sql), `history` (SQL of an
earlier migration, replayed into the schema model first), `messages`
(substrings that the messages must contain, in order), `change` (how the
file changed since the --diff base: added, modified, renamed, deleted),
`trace` (what `migration-lint trace` observed: a list of per-statement
entries, set as MigrationFile.trace).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from migration_lint.config import Config
from migration_lint.facts.schema import Schema
from migration_lint.ingest.discover import classify
from migration_lint.model import FileReport, MigrationFile
from migration_lint.pipeline.engine import Linter
from migration_lint.rules.registry import all_rules
from migration_lint.syntax.parse import parse

CASES_DIR = Path(__file__).parent / "rules"


def load_cases(rule_id: str) -> list[dict[str, Any]]:
    path = CASES_DIR / f"{rule_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["cases"]


def lint_case(case: dict[str, Any], rule_id: str | None = None) -> FileReport:
    settings = dict(case.get("config") or {})
    if rule_id is not None and "select" not in settings:
        settings["select"] = [rule_id, "invalid-suppression"] if rule_id != "invalid-suppression" else None
    config = Config(**settings)
    registry = all_rules()
    linter = Linter(config, registry)
    path = case.get("path")
    if path:
        file = classify(Path(path), head=case["sql"])
        file.path = None
        file.text = case["sql"]
    else:
        file = MigrationFile(None, "case.sql", case.get("framework", "plain"), case.get("migration"), text=case["sql"])
    if case.get("framework"):
        file.framework = case["framework"]
    file.change = case.get("change")
    file.trace = case.get("trace")
    schema = Schema()
    for history in case.get("history") or ():
        for stmt in parse(history).statements:
            schema.apply(stmt.node_type, stmt.node, "history")
    return linter.lint_file(file, schema)


def positions(report: FileReport, rule_id: str) -> list[str]:
    return [f"{f.line}:{f.column}" for f in report.findings if f.rule == rule_id]


def example_case(sql: str) -> dict[str, Any]:
    """A docs example: a first comment line naming a .sql path sets the migration's path."""
    first = sql.lstrip().splitlines()[0] if sql.strip() else ""
    case: dict[str, Any] = {"sql": sql}
    if first.startswith("--") and first.rstrip().endswith(".sql"):
        case["path"] = first[2:].strip()
    change = re.search(r"^--\s*change:\s*(added|modified|renamed|deleted)\b", sql, re.M)
    if change:
        case["change"] = change.group(1)
    traced = [json.loads(m.group(1)) for m in re.finditer(r"^--\s*trace:\s*(\{.*\})\s*$", sql, re.M)]
    if traced:
        case["trace"] = traced
    return case
