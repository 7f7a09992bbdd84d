"""One migration through the stages: load → statements → facts → rules → suppressions → risk → report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from migration_lint.config import Config
from migration_lint.facts.context import Context
from migration_lint.facts.schema import Schema
from migration_lint.model import FileReport, Finding, Lock, MigrationFile, Risk, StatementReport
from migration_lint.pipeline.load import Loaded, load
from migration_lint.pipeline.ruleset import RuleSet
from migration_lint.pipeline.suppress import apply_suppressions
from migration_lint.risk.levels import file_risk, statement_risk
from migration_lint.syntax.directives import collect
from migration_lint.syntax.plpgsql import expand_all

if TYPE_CHECKING:
    from migration_lint.risk.estimate import Stats


def load_file(file: MigrationFile, config: Config) -> Loaded:
    return load(file, config.placeholders)


def lint_file(file: MigrationFile, schema: Schema, ruleset: RuleSet, config: Config, *,
              stats: Stats | None = None, new_tables: set[str] | None = None, is_new: bool = False) -> FileReport:
    """Lint one migration on `schema` (the model of the migrations before it, brought up to date as the
    statements are applied). `new_tables`: tables created by earlier undeployed migrations (they are
    empty); when `is_new`, this migration's own tables are added to it for the ones that follow."""
    report = FileReport(file=file)
    loaded = load_file(file, config)
    if loaded.error is not None:
        failure = loaded.error
        error = ruleset.meta("parse-error", failure.message, failure.line, failure.column, help=failure.help)
        if error.rule in ruleset.severities:
            report.findings.append(error)
        report.error = error.message
        report.risk, report.risk_reason = Risk.HIGH, "the file cannot be analysed: " + error.message
        return report
    parsed = loaded.parsed
    assert parsed is not None
    statements, do_blocks = expand_all(parsed.statements, parsed.source)
    directives = collect(parsed.comments, [s for s in statements if s.parent is None])
    directives.parents = {s.index: s.parent for s in statements if s.parent is not None}
    ctx = Context(file, parsed.source, statements, config, schema, directives, do_blocks)
    if new_tables:
        ctx.new_tables = set(new_tables)
    if is_new and new_tables is not None:
        new_tables |= ctx.created.all()

    findings: list[Finding] = []
    migration = file.display
    for stmt in statements:
        ctx._visit(stmt.index)
        # the lock model sees the schema as it stands before the statement
        ctx.effects.append(ctx.locks.effect(stmt.node_type, stmt.node))
        ruleset.check_statement(stmt, ctx, findings)
        schema.apply(stmt.node_type, stmt.node, migration)
    for index, block in do_blocks.items():  # a DO block holds the locks of what it runs
        ctx.effects[index].merge([ctx.effects[i] for i in block.statements], block.resolved)
    ctx._visit(0)
    ruleset.check_migration(ctx, findings)

    findings.extend(apply_suppressions(directives, findings, ruleset))
    from migration_lint.facts.secrets import scrub

    scrub(statements, findings)  # no report shows a recognised secret, whichever rules ran
    for finding in findings:  # one line each: identifiers and literals can hold line breaks
        if not finding.message.isprintable():
            finding.message = _printable(finding.message)
    report.findings = sorted((f for f in findings if not f.suppressed and ruleset.reported(f)), key=Finding.sort_key)
    _assess(report, ctx, findings, stats)
    return report


def _assess(report: FileReport, ctx: Context, findings: list[Finding], stats: Stats | None) -> None:
    """Each statement's locks and risk, and the file's risk."""
    per_statement: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.statement is not None:
            per_statement.setdefault(finding.statement, []).append(finding)
    risks = []
    for stmt in ctx.statements:
        effect = ctx.effects[stmt.index]
        targets = effect.targets
        on_new = bool(targets) and all(ctx.is_new_table(t, at=stmt.index) for t in targets)
        stmt_findings = per_statement.get(stmt.index, [])
        risk, reason = statement_risk(stmt, effect, stmt_findings, on_new)
        estimate = None
        if stats is not None and not on_new:
            from migration_lint.risk.estimate import estimate as estimate_duration
            from migration_lint.risk.estimate import sized_risk

            estimate = estimate_duration(stmt, effect, stats)
            decided_by_finding = any(f.risk is Risk.HIGH and not f.suppressed for f in stmt_findings)
            if estimate is not None and not decided_by_finding:
                sized = sized_risk(effect, estimate, risk)
                if sized is not None:
                    risk, reason = sized
        risks.append((risk, reason))
        report.statements.append(
            StatementReport(
                statement=stmt,
                locks=[Lock(lock.relation, lock.mode, lock.until_commit) for lock in effect.locks],
                blocks=effect.blocked(),
                rewrites=effect.rewrites,
                scans=effect.scans,
                risk=risk,
                risk_reason=reason,
                known=effect.known,
                in_transaction=ctx.transactions[stmt.index].active,
                estimate=estimate,
            )
        )
    report.risk, report.risk_reason = file_risk(risks, report.findings)


def _printable(text: str) -> str:
    """Control characters (line breaks included) shown escaped, so a message stays on one line."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)
