"""Suppression comments (`-- migration-lint: ignore <rule> -- <reason>`) applied to a file's findings."""

from __future__ import annotations

from migration_lint.model import Finding
from migration_lint.pipeline.ruleset import RuleSet
from migration_lint.syntax.directives import Directives, Suppression


def apply_suppressions(directives: Directives, findings: list[Finding], ruleset: RuleSet) -> list[Finding]:
    """Mark suppressed findings; return findings about the suppressions themselves."""
    extra: list[Finding] = []
    known = ruleset.known_ids
    for suppression in directives.suppressions:
        unused: list[str] = []
        for rule_id in suppression.rules:
            if rule_id not in known:
                extra.append(_about(ruleset, suppression, f"suppression names unknown rule `{rule_id}`"))
                continue
            used = False
            for finding in findings:
                if finding.rule != rule_id or finding.rule == "invalid-suppression":
                    continue
                if suppression.file_level or directives.owner(finding.statement) == suppression.statement:
                    if suppression.reason:
                        finding.suppressed = True
                    used = True
            if not used:
                unused.append(rule_id)
        if not suppression.rules:
            extra.append(_about(ruleset, suppression, "suppression names no rule"))
        elif not suppression.reason:
            extra.append(_about(
                ruleset, suppression, "suppression without a reason does not count: add `-- <why this is safe>`"))
        elif unused:
            where = "in this file" if suppression.file_level else "on this statement"
            extra.append(_about(ruleset, suppression, f"suppression of {', '.join(unused)} suppresses nothing {where}"))
    for line, column, message in directives.malformed:
        extra.append(ruleset.meta("invalid-suppression", message, line, column))
    return extra


def _about(ruleset: RuleSet, suppression: Suppression, message: str) -> Finding:
    finding = ruleset.meta("invalid-suppression", message, suppression.line, suppression.column)
    finding.end_column = max(finding.end_column, suppression.end_column)
    return finding
