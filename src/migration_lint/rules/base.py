"""The rule contract.

A rule is a small stateless class in its own module under
``migration_lint/rules/builtin/`` (or a plugin's). Its metadata are plain class
attributes, its documentation is its docstring (Markdown sections, see
``DOC_SECTIONS``), and what it looks at is declared, each with its method:

* ``statements``: top-level statement types (``"IndexStmt"``), handed to
  ``check_statement(stmt, ctx)`` once per statement of that type;
* ``nodes``: parse-tree node types anywhere in a statement (``"ColumnDef"``,
  or ``"UpdateStmt"`` to see a data-modifying statement inside a WITH too),
  handed to ``check_node(node, ctx)``;
* ``alter_commands``: ALTER TABLE subcommands (``"AT_SetNotNull"``), handed to
  ``check_alter(cmd, ctx)`` with a :class:`~migration_lint.syntax.ast.AlterCommand`;
  only on the kinds of relation in ``alter_objects`` (tables by default);
* ``migration = True``: the whole file, ``check_migration(ctx)``, after every
  statement was seen.

Findings are made with ``ctx.finding(anchor, message, help=..., at=stmt)``,
which fills in position, severity and the docs link; ``at`` names the statement
a finding is about when it is not the one being checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from migration_lint.model import Finding, Risk, Severity

if TYPE_CHECKING:
    from migration_lint.facts.context import Context
    from migration_lint.model import Statement
    from migration_lint.syntax.ast import AlterCommand

DOC_SECTIONS = ("Why is this bad?", "Example", "Use instead", "When it's fine", "References")
DOCS_BASE_URL = "https://github.com/pg-migration-lint/pg-migration-lint/blob/main/rules/"

#: what a reviewer should make sure of, in the order the pull-request checklist lists them; rules name
#: the items their findings call for in `checklist`
CHECKLIST_ITEMS = {
    "backup": "A backup of the data being destroyed exists, and the migration says where it is (`-- backup: …`).",
    "deploy-first": "The application change that stops using the old name, column, default or object is deployed before this migration.",
    "batch": "Data backfills run in batches (by key, a few thousand rows each), outside the schema migration's transaction.",
    "lock-timeout": "`SET lock_timeout` (e.g. `'5s'`) comes before statements that take strong locks, so a queued lock fails fast instead of stalling every query behind it; the deploy retries.",
    "long-lock": "Statements that rewrite or scan a large table under a lock use the safe alternative, or run in a maintenance window.",
    "outside-transaction": "`CONCURRENTLY` statements run outside a transaction (a migration of their own, with the tool's no-transaction option).",
    "new-migration": "Migrations already applied stay unchanged: the change is a new migration.",
    "parse": "The migration parses as PostgreSQL SQL (templates rendered, placeholders configured).",
}

_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$")
_CHECKS = {"statements": "check_statement", "nodes": "check_node", "alter_commands": "check_alter"}


class Rule:
    #: stable kebab-case id naming the risky pattern
    id: ClassVar[str] = ""
    #: one line, shown in `migration-lint rules` and the docs index
    summary: ClassVar[str] = ""
    #: default severity; configurable per rule
    severity: ClassVar[Severity] = Severity.WARNING
    #: top-level statement types handed to `check_statement`
    statements: ClassVar[tuple[str, ...]] = ()
    #: node types anywhere in a statement handed to `check_node`
    nodes: ClassVar[tuple[str, ...]] = ()
    #: ALTER TABLE subcommand types (AT_*) handed to `check_alter`
    alter_commands: ClassVar[tuple[str, ...]] = ()
    #: the relation kinds (AlterTableStmt.objtype) whose ALTER subcommands are handed to `check_alter`
    alter_objects: ClassVar[tuple[str, ...]] = ("OBJECT_TABLE",)
    #: `check_migration` judges the file as a whole
    migration: ClassVar[bool] = False
    #: its findings are made by the pipeline itself (unreadable files, suppressions), not by a check
    made_by_pipeline: ClassVar[bool] = False
    #: the risk a finding of this rule gives its statement (None: the lock model decides)
    risk: ClassVar[Risk | None] = None
    #: a finding means the statement fails when deployed: HIGH even on tables created in the migration
    fails_deploy: ClassVar[bool] = False
    #: SQLSTATEs of the failures a finding predicts (a trace's error is then "predicted")
    predicts: ClassVar[tuple[str, ...]] = ()
    #: keys of CHECKLIST_ITEMS the pull-request checklist asks about when the rule fires
    checklist: ClassVar[tuple[str, ...]] = ()
    #: the lock the pattern takes, for the docs index ("" if none)
    lock: ClassVar[str] = ""
    #: rules that are off unless selected
    enabled_by_default: ClassVar[bool] = True
    #: optional stdlib dataclass of options, validated from the config
    Options: ClassVar[type | None] = None

    def __init__(self, options: Any = None) -> None:
        if options is None and self.Options is not None:
            options = self.Options()
        self.options = options

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        return ()

    def check_node(self, node: dict[str, Any], ctx: Context) -> Iterable[Finding]:
        return ()

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        return ()

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        return ()

    # -- documentation ---------------------------------------------------
    @classmethod
    def url(cls) -> str:
        return f"{DOCS_BASE_URL}{cls.id}.md"

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docstring split into its ``## Section`` parts (plus "" for the intro)."""
        import inspect

        doc = inspect.cleandoc(cls.__doc__ or "")
        sections: dict[str, str] = {}
        current = ""
        lines: list[str] = []
        for line in doc.splitlines():
            if line.startswith("## "):
                sections[current] = "\n".join(lines).strip()
                current, lines = line[3:].strip(), []
            else:
                lines.append(line)
        sections[current] = "\n".join(lines).strip()
        return sections

    @classmethod
    def example_sql(cls, section: str) -> str:
        """The SQL of a docs section's first ```sql block."""
        text = cls.doc_sections().get(section, "")
        match = re.search(r"```sql\n(.*?)```", text, re.S)
        return match.group(1) if match else ""

    @classmethod
    def validate_metadata(cls) -> list[str]:
        """Problems with the rule's metadata and docs (used by the contract test and the registry)."""
        problems = []
        if not _ID.match(cls.id):
            problems.append(f"id {cls.id!r} is not kebab-case with at least two words")
        if not cls.summary or len(cls.summary) > 100:
            problems.append("summary must be one line of at most 100 characters")
        if "targets" in vars(cls) or "check" in vars(cls):
            problems.append("`targets` and `check` were replaced by `statements` / `nodes` / `alter_commands` / "
                            "`migration` and their check_statement / check_node / check_alter / check_migration")
        declared = [kind for kind in _CHECKS if getattr(cls, kind)]
        if not declared and not cls.migration and not cls.made_by_pipeline:
            problems.append("the rule looks at nothing: declare statements, nodes, alter_commands or migration = True")
        for kind in declared:
            if getattr(cls, _CHECKS[kind]) is getattr(Rule, _CHECKS[kind]):
                problems.append(f"`{kind}` is declared but {_CHECKS[kind]} is not implemented")
        for kind, method in _CHECKS.items():
            if getattr(cls, method) is not getattr(Rule, method) and not getattr(cls, kind):
                problems.append(f"{method} is implemented but `{kind}` is empty: it is never called")
        if cls.migration and cls.check_migration is Rule.check_migration:
            problems.append("`migration = True` but check_migration is not implemented")
        for key in cls.checklist:
            if key not in CHECKLIST_ITEMS:
                problems.append(f"checklist item {key!r} is not one of {', '.join(CHECKLIST_ITEMS)}")
        sections = cls.doc_sections()
        for name in DOC_SECTIONS:
            if not sections.get(name):
                problems.append(f"docstring lacks a non-empty '## {name}' section")
        return problems
