"""Table-driven rule cases: tests/rules/<rule-id>.yaml, exact positions, empty list = must not fire."""

from __future__ import annotations

import pytest
from casefile import CASES_DIR, lint_case, load_cases, positions

from migration_lint.rules.registry import all_rules


def _all_cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        rule_id = path.stem
        for case in load_cases(rule_id):
            yield pytest.param(rule_id, case, id=f"{rule_id}: {case['name']}")


@pytest.mark.parametrize(("rule_id", "case"), list(_all_cases()))
def test_rule_case(rule_id, case):
    report = lint_case(case, rule_id)
    assert positions(report, rule_id) == case["expect"], [
        (f.rule, f.line, f.column, f.message) for f in report.findings
    ]
    for finding in report.findings:
        assert "\n" not in finding.message and "\r" not in finding.message, finding.message
        assert finding.url.endswith(f"/rules/{finding.rule}.md")
    wanted = case.get("messages")
    if wanted:
        messages = [f.message + " " + f.help for f in report.findings if f.rule == rule_id]
        assert len(messages) == len(wanted)
        for text, fragment in zip(messages, wanted):
            assert fragment in text


def test_every_rule_has_a_case_file_with_a_must_not_fire_case():
    for rule_id in all_rules():
        path = CASES_DIR / f"{rule_id}.yaml"
        assert path.is_file(), f"{rule_id} has no case file {path}"
        cases = load_cases(rule_id)
        assert any(case["expect"] == [] for case in cases), f"{rule_id} has no must-not-fire case"
        rule = all_rules()[rule_id]
        if rule.example_fires:  # internal-error: no SQL makes a rule crash; tests/test_cli.py makes one crash
            assert any(case["expect"] for case in cases), f"{rule_id} has no case where it fires"


def test_no_case_file_for_an_unknown_rule():
    known = set(all_rules())
    for path in CASES_DIR.glob("*.yaml"):
        assert path.stem in known, f"{path.name} names no registered rule"
