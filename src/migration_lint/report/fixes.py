"""A finding's fix as the reports show it: the files it edits named the way the report names the file."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from migration_lint.ingest.repository import in_repository
from migration_lint.model import Edit, FileReport, Fix, MigrationFile
from migration_lint.report.sanitize import utf8


class RepositoryPaths:
    """Files named from the root of their git repository, as GitHub names them (annotations, code scanning),
    whatever the working directory; a file outside any repository keeps the name the report gives it."""

    def __init__(self) -> None:
        self.known: dict[Path, Path | None] = {}

    def locate(self, path: Path | None) -> tuple[Path, str] | None:
        return in_repository(path, self.known) if path is not None else None

    def of_file(self, file: MigrationFile) -> tuple[Path, str] | None:
        """(root, path from it) of a linted file (stdin named with --stdin-filename: that file)."""
        return self.locate(file.path or file.stands_for)

    def name(self, report: FileReport) -> str:
        found = self.of_file(report.file)
        return found[1] if found else report.file.display.replace("\\", "/")


def edit_path(report: FileReport, edit: Edit) -> str:
    """The file an edit changes: the report's file, or a migration the fix creates, named relative to where
    the report's file is named from (`prisma/migrations/2024…_add_index_concurrently/migration.sql`)."""
    if edit.path is None or report.file.path is None:
        return report.file.display
    relative = os.path.relpath(edit.path, os.path.dirname(os.path.abspath(report.file.path)))
    shown = PurePosixPath(report.file.display.replace("\\", "/")).parent / PurePosixPath(relative.replace("\\", "/"))
    return os.path.normpath(str(shown)).replace("\\", "/")


def fix_dict(report: FileReport, fix: Fix) -> dict[str, Any]:
    """The JSON form: title, safety, and the edits (1-based, end exclusive; `path` only for another file,
    which the fix creates)."""
    edits = []
    for e in fix.edits:
        entry: dict[str, Any] = {"line": e.line, "column": e.column, "end_line": e.end_line,
                                 "end_column": e.end_column, "text": utf8(e.text)}
        if e.path is not None:
            entry = {"path": utf8(edit_path(report, e)), **entry}
        edits.append(entry)
    return {"title": utf8(fix.title), "safe": fix.safe, "edits": edits}
