"""Reporters: pure functions from a RunReport to text."""

from __future__ import annotations

FORMATS = ("text", "json", "github", "sarif")


def render(fmt: str, run, *, color: bool = False, registry=None, quiet: bool = False) -> str:
    if fmt == "json":
        from migration_lint.report.json import render as json_render

        return json_render(run)
    if fmt == "github":
        from migration_lint.report.github import render as github_render

        return github_render(run)
    if fmt == "sarif":
        from migration_lint.report.sarif import render as sarif_render

        return sarif_render(run, registry or {})
    from migration_lint.report.text import render as text_render

    return text_render(run, color=color, quiet=quiet)
