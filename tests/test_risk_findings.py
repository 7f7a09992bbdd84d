"""A statement the risk model rates HIGH always ends with a finding that says why: a reviewer is
never shown HIGH with nothing to act on. Checked on every statement of the lock-model cases (each
kind of statement the model knows, on tables that exist and hold rows), with the default rules."""

from __future__ import annotations

import pytest
from lock_cases import CASES

from migration_lint.config import Config
from migration_lint.facts.schema import Schema
from migration_lint.model import MigrationFile, Risk
from migration_lint.pipeline.engine import Linter
from migration_lint.rules.registry import all_rules
from migration_lint.syntax.parse import parse

LINTER = Linter(Config(ignore=["missing-lock-timeout"]), all_rules())


def _lint(case):
    schema = Schema()
    history = case.setup if case.schema_sql is None else case.schema_sql
    for stmt in parse(history).statements:
        schema.apply(stmt.node_type, stmt.node, "history")
    for table in case.schema_tables:
        schema.apply("CreateStmt", {"relation": {"relname": table, "inh": True, "relpersistence": "p"}}, "history")
    return LINTER.lint_file(MigrationFile(None, "case.sql", text=case.sql), schema)


@pytest.mark.parametrize("case", [c for c in CASES if not c.unknown], ids=lambda c: c.id)
def test_a_high_risk_statement_has_a_finding(case):
    report = _lint(case)
    for item in report.statements:
        if item.risk is Risk.HIGH:
            on_it = [f for f in report.findings if f.statement == item.statement.index]
            assert on_it, f"{item.statement.sql!r} is HIGH ({item.risk_reason}) without a finding"
