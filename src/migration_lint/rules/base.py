"""The rule contract.

A rule is a small stateless class in its own module under
``migration_lint/rules/``. Its metadata are plain class attributes, its
documentation is its docstring (Markdown sections, see ``DOC_SECTIONS``), and
``check(node, ctx)`` yields findings for the parse-tree nodes it targets,
made with ``ctx.finding(...)`` so position, severity and docs link are filled
in. Rules that judge the migration as a whole target ``"Migration"`` and
implement ``check_migration(ctx)``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from migration_lint.model import Finding, Risk, Severity

if TYPE_CHECKING:
    from migration_lint.facts.context import Context

DOC_SECTIONS = ("Why is this bad?", "Example", "Use instead", "When it's fine", "References")
DOCS_BASE_URL = "https://github.com/pg-migration-lint/pg-migration-lint/blob/main/rules/"

_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$")


class Rule:
    #: stable kebab-case id naming the risky pattern
    id: ClassVar[str] = ""
    #: one line, shown in `migration-lint rules` and the docs index
    summary: ClassVar[str] = ""
    #: default severity; configurable per rule
    severity: ClassVar[Severity] = Severity.WARNING
    #: parse-tree node types handed to `check`; "Migration" for `check_migration`
    targets: ClassVar[tuple[str, ...]] = ()
    #: the risk a finding of this rule gives its statement (None: the lock model decides)
    risk: ClassVar[Risk | None] = None
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

    def check(self, node: dict[str, Any], ctx: "Context") -> Iterable[Finding]:
        return ()

    def check_migration(self, ctx: "Context") -> Iterable[Finding]:
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
        if not cls.targets:
            problems.append("targets is empty")
        sections = cls.doc_sections()
        for name in DOC_SECTIONS:
            if not sections.get(name):
                problems.append(f"docstring lacks a non-empty '## {name}' section")
        return problems
