"""The rules of a run: which ones are selected, how their findings are reported, and handing each
statement to the rules that look at it.

One walk per statement: the rules that look at its type get the statement, the ALTER TABLE rules
get each of its subcommands, and the statement's tree is walked only where a rule wants a nested
node type that can occur in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from migration_lint.config import Config, effective_severity, rule_options
from migration_lint.facts.context import Context, Reporter
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast

# Statements that can hold other statements (data-modifying WITH is caught by its withClause).
_EMBEDS_STATEMENTS = frozenset({"SelectStmt", "ExplainStmt", "PrepareStmt", "CreateTableAsStmt", "CopyStmt", "RuleStmt"})

# Where a nested node type can occur: statements are only walked when they can hold a wanted node.
# A nested target missing here makes every statement walked (always correct, only slower).
_CONTAINERS = {
    "ColumnDef": {"CreateStmt", "AlterTableStmt", "CompositeTypeStmt", "CreateForeignTableStmt", "ViewStmt",
                  "CreateTableAsStmt"},
    "Constraint": {"CreateStmt", "AlterTableStmt", "CreateForeignTableStmt", "CreateDomainStmt", "AlterDomainStmt"},
}


@dataclass
class RuleSet:
    """The selected rules, indexed by what they look at, with their effective severity and docs link."""

    rules: list[Rule]
    registry: dict[str, type[Rule]]
    docs_base: str | None = None
    statement_rules: dict[str, list[Rule]] = field(default_factory=dict)
    node_rules: dict[str, list[Rule]] = field(default_factory=dict)
    alter_rules: dict[str, list[Rule]] = field(default_factory=dict)
    migration_rules: list[Rule] = field(default_factory=list)
    severities: dict[str, Severity] = field(default_factory=dict)
    _reporters: dict[str, Reporter] = field(default_factory=dict)
    _urls: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rule in self.rules:
            for node_type in rule.statements:
                self.statement_rules.setdefault(node_type, []).append(rule)
            for node_type in rule.nodes:
                self.node_rules.setdefault(node_type, []).append(rule)
            for subtype in rule.alter_commands:
                self.alter_rules.setdefault(subtype, []).append(rule)
            if rule.migration:
                self.migration_rules.append(rule)
        # nested node types some rule wants, and the statements that can hold them
        nested = set(self.node_rules)
        self._walk_always = any(t not in _CONTAINERS and not t.endswith("Stmt") for t in nested)
        self._walk_in = set().union(*(_CONTAINERS[t] for t in nested if t in _CONTAINERS))
        self._nested_statements = any(t.endswith("Stmt") for t in nested)

    @property
    def known_ids(self) -> set[str]:
        return set(self.registry)

    def url(self, rule_id: str) -> str:
        url = self._urls.get(rule_id)
        if url is None:
            rule = self.registry.get(rule_id)
            if rule is None:
                url = ""
            elif self.docs_base:
                url = self.docs_base.rstrip("/") + f"/{rule_id}.md"
            else:
                url = rule.url()
            self._urls[rule_id] = url
        return url

    def reporter(self, rule: Rule) -> Reporter:
        reporter = self._reporters.get(rule.id)
        if reporter is None:
            reporter = self._reporters[rule.id] = Reporter(
                rule.id, self.severities[rule.id], self.url(rule.id), rule.risk, rule.fails_deploy)
        return reporter

    def meta(self, rule_id: str, message: str, line: int = 1, column: int = 1, help: str = "") -> Finding:
        """A finding the pipeline makes itself (parse-error, invalid-suppression, …)."""
        rule = self.registry.get(rule_id)
        severity = self.severities.get(rule_id, rule.severity if rule else Severity.ERROR)
        return Finding(rule_id, severity, line, column, line, column + 1, message, help,
                       self.url(rule_id), None, rule.risk if rule else None)

    def reported(self, finding: Finding) -> bool:
        """Selected rules' findings are reported, and findings of ids no rule has (internal ones)."""
        return finding.rule in self.severities or finding.rule not in self.registry

    # -- running the rules ---------------------------------------------------
    def check_statement(self, stmt: Statement, ctx: Context, out: list[Finding]) -> None:
        """Hand one statement (and what is in it) to every rule that looks at it."""
        node_type, node = stmt.node_type, stmt.node
        rules = self.statement_rules.get(node_type)
        if rules:
            for rule in rules:
                self._run(rule, rule.check_statement, stmt, ctx, out)
        rules = self.node_rules.get(node_type)
        if rules:
            for rule in rules:
                self._run(rule, rule.check_node, node, ctx, out)
        if node_type == "AlterTableStmt" and self.alter_rules:
            objtype = node.get("objtype", "OBJECT_TABLE")
            for cmd in ast.alter_commands(node):
                for rule in self.alter_rules.get(cmd.subtype, ()):
                    if objtype in rule.alter_objects:
                        self._run(rule, rule.check_alter, cmd, ctx, out)
        if self.node_rules and (self._walk_always or node_type in self._walk_in or (
                self._nested_statements and (node_type in _EMBEDS_STATEMENTS or "withClause" in node))):
            for nested_type, nested in ast.walk(node):
                for rule in self.node_rules.get(nested_type, ()):
                    self._run(rule, rule.check_node, nested, ctx, out)

    def check_migration(self, ctx: Context, out: list[Finding]) -> None:
        for rule in self.migration_rules:
            ctx._report_as(self.reporter(rule))
            try:
                out.extend(rule.check_migration(ctx))
            except Exception as exc:  # a broken rule must not hide the other findings
                out.append(self.meta("parse-error", f"internal error in rule {rule.id}: {type(exc).__name__}: {exc}"))

    def _run(self, rule: Rule, check, target, ctx: Context, out: list[Finding]) -> None:
        ctx._report_as(self.reporter(rule))
        try:
            out.extend(check(target, ctx))
        except Exception as exc:  # a broken rule must not hide the other findings
            out.append(ctx.finding(ctx.statement, f"internal error in rule {rule.id}: {type(exc).__name__}: {exc}"))


def build_ruleset(config: Config, registry: dict[str, type[Rule]]) -> RuleSet:
    selected = config.select
    chosen: list[Rule] = []
    for rule_id, cls in registry.items():
        if selected is not None and "ALL" not in selected and rule_id not in selected:
            continue
        if selected is None and not cls.enabled_by_default:
            continue
        if rule_id in config.ignore:
            continue
        chosen.append(cls(rule_options(config, cls)))
    ruleset = RuleSet(chosen, registry, docs_base=config.docs_url)
    for rule in chosen:
        ruleset.severities[rule.id] = effective_severity(config, rule)
    return ruleset

