"""The JSON report (the contract other tools read)."""

from __future__ import annotations

from typing import Any

from migration_lint import __version__
from migration_lint.model import FileReport, Finding, RunReport
from migration_lint.report.fixes import fix_dict
from migration_lint.report.sanitize import utf8
from migration_lint.report.words import impact


def finding_dict(finding: Finding, report: FileReport | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "message": utf8(finding.message),
        "help": utf8(finding.help),
        "url": finding.url,
    }
    if finding.fix is not None and report is not None:
        entry["fix"] = fix_dict(report, finding.fix)
    return entry


def file_dict(report: FileReport) -> dict[str, Any]:
    statements = []
    for item in report.statements:
        stmt = item.statement
        entry: dict[str, Any] = {
            "line": stmt.line,
            "column": stmt.column,
            "end_line": stmt.end_line,
            "kind": stmt.kind,
            "sql": utf8(stmt.sql),
            "locks": [{"relation": utf8(lock.relation), "mode": lock.mode} for lock in item.locks],
            "locks_known": item.known,
            "blocks": item.blocks,
            "impact": utf8(impact(item)),
            "rewrites": item.rewrites,
            "scans": item.scans,
            "in_transaction": item.in_transaction,
            "risk": item.risk.value,
            "risk_reason": utf8(item.risk_reason),
        }
        if item.estimate is not None:
            entry["estimate"] = item.estimate
        if stmt.parent is not None:  # run by the DO block at this index of `statements`
            entry["parent"] = stmt.parent
        statements.append(entry)
    return {
        "path": utf8(report.file.display),
        "migration": utf8(report.file.name) if report.file.name is not None else None,
        "framework": report.file.framework,
        "risk": report.risk.value,
        "risk_reason": utf8(report.risk_reason),
        "statements": statements,
        "findings": [finding_dict(f, report) for f in report.findings],
    }


def report_dict(run: RunReport, files: Any = None) -> dict[str, Any]:
    return {
        "tool": {"name": "migration-lint", "version": __version__},
        "files": [file_dict(r) for r in run.files] if files is None else files,
        "summary": {"files": len(run.files), "risk": run.risk.value, "findings": run.counts()},
    }


_FILES = "<files>"  # stands for the list of files while the rest of the report is dumped


def render(run: RunReport) -> str:
    return render_bytes(run).decode()


def render_bytes(run: RunReport) -> bytes:
    """The report as indented JSON, UTF-8. Files are dumped one at a time, so that the whole report never
    exists as Python objects besides its text (the same text as dumping `report_dict(run)`), and as
    bytes: a str of it would take four bytes per character as soon as one emoji is in a migration."""
    try:
        import orjson
    except ImportError:  # pragma: no cover
        import json

        return (json.dumps(report_dict(run), indent=2, ensure_ascii=False) + "\n").encode()
    text = orjson.dumps(report_dict(run, files=_FILES), option=orjson.OPT_INDENT_2)
    if not run.files:
        return text.replace(f'"{_FILES}"'.encode(), b"[]") + b"\n"
    before, after = text.split(f'"{_FILES}"'.encode(), 1)
    parts = [before, b"[\n"]
    for number, report in enumerate(run.files):
        if number:
            parts.append(b",\n")
        parts.append(b"    " + orjson.dumps(file_dict(report), option=orjson.OPT_INDENT_2).replace(b"\n", b"\n    "))
    parts += [b"\n  ]", after, b"\n"]
    return b"".join(parts)
