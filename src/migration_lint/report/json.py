"""The JSON report (the contract other tools read)."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..model import FileReport, Finding, RunReport
from .sanitize import utf8
from .words import impact


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {
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
        statements.append(entry)
    return {
        "path": utf8(report.file.display),
        "migration": utf8(report.file.name) if report.file.name is not None else None,
        "framework": report.file.framework,
        "risk": report.risk.value,
        "risk_reason": utf8(report.risk_reason),
        "statements": statements,
        "findings": [finding_dict(f) for f in report.findings],
    }


def report_dict(run: RunReport) -> dict[str, Any]:
    return {
        "tool": {"name": "migration-lint", "version": __version__},
        "files": [file_dict(r) for r in run.files],
        "summary": {"files": len(run.files), "risk": run.risk.value, "findings": run.counts()},
    }


def render(run: RunReport) -> str:
    try:
        import orjson

        return orjson.dumps(report_dict(run), option=orjson.OPT_INDENT_2).decode() + "\n"
    except ImportError:  # pragma: no cover
        import json

        return json.dumps(report_dict(run), indent=2, ensure_ascii=False) + "\n"
