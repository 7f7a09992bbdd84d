"""Reporters: pure functions from a RunReport to text."""

from __future__ import annotations

FORMATS = ("text", "json", "github", "sarif")


def render(fmt: str, run, *, color: bool = False, registry=None) -> str:
    if fmt == "json":
        from .json import render as json_render

        return json_render(run)
    if fmt == "github":
        from .github import render as github_render

        return github_render(run)
    if fmt == "sarif":
        from .sarif import render as sarif_render

        return sarif_render(run, registry or {})
    from .text import render as text_render

    return text_render(run, color=color)
