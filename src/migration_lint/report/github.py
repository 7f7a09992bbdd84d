"""GitHub Actions workflow commands (::error file=…,line=…::message)."""

from __future__ import annotations

from migration_lint.model import RunReport, Severity
from migration_lint.report.fixes import RepositoryPaths
from migration_lint.report.sanitize import terminal, utf8

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """A workflow command's message: one line, valid UTF-8, no raw control character for the log to interpret."""
    text = terminal(utf8(text).replace("\r\n", "\n").replace("\r", "\n"))
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(run: RunReport) -> str:
    lines = []
    paths = RepositoryPaths()  # GitHub reads file= from the repository's root, not the working directory
    for report in run.files:
        path = paths.name(report)
        for finding in report.findings:
            props = (
                f"file={escape_property(path)},line={finding.line},col={finding.column},"
                f"endLine={finding.end_line},endColumn={finding.end_column},"
                f"title={escape_property('migration-lint ' + finding.rule)}"
            )
            body = finding.message + (f"\n\n{finding.help}" if finding.help else "") + (f"\n{finding.url}" if finding.url else "")
            lines.append(f"::{_LEVEL[finding.severity]} {props}::{escape_data(body)}")
    return "\n".join(lines) + ("\n" if lines else "")
