"""Rule documentation, rendered with jinja2 from the rule classes (the `rules/` folder)."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

from migration_lint.rules.base import DOC_SECTIONS, Rule


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("migration_lint.report", "templates"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def _options(rule: type[Rule]) -> list[dict[str, str]]:
    if rule.Options is None or not dataclasses.is_dataclass(rule.Options):
        return []
    source = inspect.getsource(rule.Options)
    docs = dict(re.findall(r"#:\s*(.+)\n\s*(\w+)\s*:", source)[::1]) if source else {}
    comments = {name: doc for doc, name in re.findall(r"#:\s*(.+)\n\s*(\w+)\s*:", source)}
    instance = rule.Options()
    out: list[dict[str, str]] = []
    for field in dataclasses.fields(rule.Options):
        default = getattr(instance, field.name)
        shown = repr(default)
        if len(shown) > 60:
            shown = shown[:57] + "…"
        out.append({"name": field.name, "default": shown.replace("|", "\\|"), "doc": comments.get(field.name, docs.get(field.name, "")) or ""})
    return out


def rule_markdown(rule: type[Rule]) -> str:
    sections = rule.doc_sections()
    return _environment().get_template("rule.md.j2").render(
        rule=rule, sections=sections, order=[s for s in DOC_SECTIONS if s in sections],
        options=_options(rule), module=rule.__module__,
    )


def index_markdown(registry: dict[str, type[Rule]]) -> str:
    rules = sorted(registry.values(), key=lambda r: r.id)
    return _environment().get_template("index.md.j2").render(rules=rules)


def render_all(registry: dict[str, type[Rule]]) -> dict[str, str]:
    """File name → content of the whole rule reference."""
    builtin = {k: v for k, v in registry.items() if v.__module__.startswith("migration_lint.")}
    pages = {f"{rule_id}.md": rule_markdown(rule) for rule_id, rule in builtin.items()}
    pages["README.md"] = index_markdown(builtin)
    return pages


def write_docs(registry: dict[str, type[Rule]], folder: Path, *, check: bool = False) -> list[str]:
    """Write (or with check, compare) the rule reference; return the names that were stale."""
    pages = render_all(registry)
    stale = []
    for name, content in sorted(pages.items()):
        path = folder / name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != content:
            stale.append(name)
            if not check:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
    if folder.is_dir():
        for extra in sorted(folder.glob("*.md")):
            if extra.name not in pages:
                stale.append(extra.name)
                if not check:
                    extra.unlink()
    return stale
