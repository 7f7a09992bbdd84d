"""Units of work: the migrations of one directory, linted and replayed in order on one schema model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from migration_lint.model import FileReport, MigrationFile


@dataclass
class Step:
    index: int | None  # position in the files being linted; None: an earlier migration, only replayed
    file: MigrationFile


@dataclass
class Unit:
    """The files of one directory, linted and replayed in order on one schema model."""

    key: Path | None
    steps: list[Step] = field(default_factory=list)
    schema: bytes | None = None  # the schema model to start from (pickled, from the cache), else empty
    save_as: bytes | None = None  # when set, keep the schema model after the last step in `final` (pickled)
    final: bytes | None = None


def file_identity(file: MigrationFile) -> tuple:
    """The same file whatever path names it (a symbolic link, `./a` and `a`)."""
    if file.path is None:
        return ("text", id(file))
    try:
        st = file.path.stat()
        return (st.st_dev, st.st_ino)
    except OSError:
        return ("path", str(file.path))


def drop_trees(reports: Iterable[FileReport]) -> None:
    """Forget the parse trees of finished reports (reporters never read them)."""
    for report in reports:
        for item in report.statements:
            item.statement.node = {}
            item.statement.source = None
            item.statement.__dict__.pop("_secrets", None)
