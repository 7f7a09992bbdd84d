"""The contract every registered rule must keep: metadata, docs, examples, docs freshness."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from casefile import example_case, lint_case, positions

from migration_lint.report.docs import render_all
from migration_lint.rules.base import DOC_SECTIONS
from migration_lint.rules.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
RULES = sorted(all_rules().values(), key=lambda r: r.id)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_metadata(rule):
    assert rule.validate_metadata() == []
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", rule.id)
    for section in DOC_SECTIONS:
        assert rule.doc_sections().get(section), f"{rule.id}: '## {section}' is empty"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_example_fires_and_use_instead_does_not(rule):
    example = rule.example_sql("Example")
    if not rule.example_fires:
        assert example and rule.made_by_pipeline, f"{rule.id}: only a pipeline finding may have an Example that cannot fire"
        return
    fixed = rule.example_sql("Use instead")
    assert example, f"{rule.id}: the Example section has no ```sql block"
    assert fixed, f"{rule.id}: the Use instead section has no ```sql block"
    fired = lint_case(example_case(example), rule.id)
    assert positions(fired, rule.id), f"{rule.id}: the Example does not fire the rule"
    clean = lint_case(example_case(fixed), rule.id)
    assert positions(clean, rule.id) == [], f"{rule.id}: the Use instead SQL fires the rule: {clean.findings}"


def test_rules_folder_is_up_to_date():
    pages = render_all(all_rules())
    folder = ROOT / "rules"
    stale = [name for name, content in pages.items()
             if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != content]
    extra = [p.name for p in folder.glob("*.md") if p.name not in pages]
    assert not stale and not extra, (
        f"rules/ is stale ({', '.join(stale + extra)}): regenerate it with `migration-lint docs --output rules`"
    )


def test_finding_urls_point_at_the_rule_pages():
    for rule in RULES:
        assert rule.url().endswith(f"/rules/{rule.id}.md")
        assert (ROOT / "rules" / f"{rule.id}.md").is_file()
