"""SARIF 2.1.0, ready for github/codeql-action/upload-sarif."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from migration_lint import __version__
from migration_lint.model import Edit, FileReport, Fix, RunReport, Severity
from migration_lint.report.fixes import RepositoryPaths, edit_path
from migration_lint.report.sanitize import utf8

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def artifact_uri(path: str) -> str:
    """The file as a relative URI reference: a `#`, `%`, `?` or space in a file name is percent-encoded
    (a bare `#` would start a fragment), and so is every byte of a name that is not valid UTF-8."""
    try:
        raw = os.fsencode(path.replace("\\", "/"))
    except UnicodeError:
        raw = utf8(path.replace("\\", "/")).encode("utf-8")
    return quote(raw, safe="/")


SRCROOT = "%SRCROOT%"


class _Locations:
    """Artifact locations: from the repository's root (`uriBaseId` %SRCROOT%, which GitHub code scanning
    resolves to the checkout) for the files of the first repository found, else relative to the working
    directory as the other reports name them."""

    def __init__(self) -> None:
        self.paths = RepositoryPaths()
        self.root: Path | None = None

    def _based(self, found: tuple[Path, str] | None) -> dict[str, Any] | None:
        if found is None:
            return None
        root, relative = found
        if self.root is None:
            self.root = root
        if root != self.root:
            return None
        return {"uri": artifact_uri(relative), "uriBaseId": SRCROOT}

    def of(self, report: FileReport) -> dict[str, Any]:
        return self._based(self.paths.of_file(report.file)) or {"uri": artifact_uri(report.file.display)}

    def of_edit(self, report: FileReport, e: Edit) -> dict[str, Any]:
        if e.path is None:
            return self.of(report)
        based = self._based(self.paths.locate(Path(e.path))) if self.paths.of_file(report.file) else None
        return based or {"uri": artifact_uri(edit_path(report, e))}

    def base_ids(self) -> dict[str, Any]:
        if self.root is None:
            return {}
        return {"originalUriBaseIds": {SRCROOT: {"uri": self.root.as_uri().rstrip("/") + "/"}}}


def _fix(report: FileReport, fix: Fix, where: _Locations) -> dict[str, Any]:
    """SARIF's fix: one artifactChange per file, each edit a replacement (an empty deletedRegion inserts; a
    migration the fix creates is an artifact that starts empty). Unsafe fixes say so: they need a review."""
    changes: dict[str, list[dict[str, Any]]] = {}
    locations: dict[str, dict[str, Any]] = {}
    for e in fix.edits:
        location = where.of_edit(report, e)
        key = location.get("uriBaseId", "") + ":" + location["uri"]
        locations[key] = location
        changes.setdefault(key, []).append({
            "deletedRegion": {"startLine": e.line, "startColumn": e.column, "endLine": e.end_line,
                              "endColumn": e.end_column},
            "insertedContent": {"text": utf8(e.text)},
        })
    title = fix.title if fix.safe else f"{fix.title} (unsafe: review before applying)"
    return {
        "description": {"text": utf8(title)},
        "artifactChanges": [{"artifactLocation": locations[key], "replacements": replacements}
                            for key, replacements in changes.items()],
        "properties": {"safe": fix.safe},
    }


def report_dict(run: RunReport, registry: dict) -> dict[str, Any]:
    used = sorted({f.rule for r in run.files for f in r.findings} | set(registry))
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for rule_id in used:
        rule = registry.get(rule_id)
        index[rule_id] = len(rules)
        entry: dict[str, Any] = {"id": rule_id, "name": "".join(p.title() for p in rule_id.split("-"))}
        if rule is not None:
            sections = rule.doc_sections()
            entry.update(
                shortDescription={"text": rule.summary},
                fullDescription={"text": sections.get("Why is this bad?", rule.summary)},
                helpUri=rule.url(),
                help={"text": sections.get("Use instead", ""), "markdown": sections.get("Use instead", "")},
                defaultConfiguration={"level": _LEVEL[rule.severity]},
            )
        rules.append(entry)
    results = []
    where = _Locations()
    for report in run.files:
        location = where.of(report)
        for finding in report.findings:
            text = finding.message + (f"\n{finding.help}" if finding.help else "")
            result: dict[str, Any] = {
                "ruleId": finding.rule,
                "ruleIndex": index.get(finding.rule, 0),
                "level": _LEVEL[finding.severity],
                "message": {"text": utf8(text)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": location,
                        "region": {"startLine": finding.line, "startColumn": finding.column,
                                   "endLine": finding.end_line, "endColumn": finding.end_column},
                    }
                }],
            }
            if finding.fix is not None:
                result["fixes"] = [_fix(report, finding.fix, where)]
            results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "migration-lint", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://github.com/pg-migration-lint/pg-migration-lint", "rules": rules}},
            "results": results,
            "columnKind": "unicodeCodePoints",
            **where.base_ids(),
        }],
    }


def render(run: RunReport, registry: dict) -> str:
    import orjson

    return orjson.dumps(report_dict(run, registry), option=orjson.OPT_INDENT_2).decode() + "\n"
