"""Where a new migration goes so that it runs right after a given one, in each tool's layout.

A fix that must run a statement outside the transaction its tool runs a migration in (CONCURRENTLY,
a VALIDATE that must not share the ADD's transaction) moves it into a migration of its own: a Prisma
folder or a Diesel folder with the next timestamp, a Flyway `V<version>.1__…` script, a golang-migrate,
dbmate or Supabase file with the next version. The version must sort after this migration and before
the next one of the folder; where the tool's numbering leaves no room, there is no new migration.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from migration_lint.model import MigrationFile


@dataclass
class NewMigration:
    """Files to create for a migration that runs right after another: `path` receives the SQL (between
    `header` and `footer`), `extra` are created as they are."""

    path: Path
    header: str = ""
    footer: str = ""
    extra: dict[Path, str] = field(default_factory=dict)

    def files(self, sql: str) -> dict[Path, str]:
        return {self.path: self.header + sql + self.footer, **self.extra}


_TIMESTAMP = "%Y%m%d%H%M%S"


def _later_timestamp(version: str) -> str | None:
    """A timestamp one second after `version` (14 digits), or the next integer of the same width."""
    if len(version) == 14 and version.isdigit():
        try:
            return (datetime.strptime(version, _TIMESTAMP) + timedelta(seconds=1)).strftime(_TIMESTAMP)
        except ValueError:
            pass
    if version.isdigit():
        return str(int(version) + 1).zfill(len(version))
    return None


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


@dataclass
class _Index:
    """A folder's migration versions as number tuples, for the questions a new version asks: is it taken,
    and which up migrations sort between two versions."""

    taken: set[tuple[int, ...]]  # every migration's version (down ones too)
    up: list[tuple[tuple[int, ...], str | None, Path | None]]  # (version, name, path) of up migrations, sorted

    @classmethod
    def of(cls, siblings: list[MigrationFile], dashless: bool = False) -> _Index:
        def numbers(file: MigrationFile) -> tuple[int, ...]:
            version = file.version or ""
            return _numbers(version.replace("-", "") if dashless else version)

        taken = {numbers(s) for s in siblings if s.version is not None}
        up = sorted(((numbers(s), s.name, s.path) for s in siblings if s.direction == "up" and s.version is not None),
                    key=lambda entry: entry[0])
        return cls(taken, up)


def _fits(new: str, mine: tuple[int, ...], file: MigrationFile, index: _Index, name: str) -> bool:
    """Does version `new` sort after `file` (version `mine`) and before every later migration of its folder
    (and is it free)? Migrations named `name` between them (made apart from this one before) may run first."""
    wanted = _numbers(new)
    if wanted <= mine:
        return False
    start = bisect.bisect_right(index.up, mine, key=lambda entry: entry[0])
    for theirs, other_name, path in index.up[start:]:
        if theirs > wanted:
            break
        if path == file.path:
            continue
        if theirs == wanted or other_name != name:
            return False
    return True


def _free(version: str, mine: tuple[int, ...], file: MigrationFile, index: _Index, name: str,
          later=None) -> str | None:
    """The first version after `version` that fits (`later` steps to the next one)."""
    candidate: str | None = version
    for _ in range(100):
        if candidate is None:
            return None
        if _numbers(candidate) not in index.taken:
            return candidate if _fits(candidate, mine, file, index, name) else None
        candidate = (later or _later_timestamp)(candidate)
    return None


# folder → (its mtime, its migrations, their index by version spelling: False as written, True without dashes)
_SIBLINGS: dict[Path, tuple[int, list[MigrationFile], dict[bool, _Index]]] = {}


def _siblings(file: MigrationFile, dashless: bool = False) -> _Index:
    """The migrations of the file's folder, read once per run (again when a migration is added to it)."""
    from migration_lint.ingest.discover import discover

    if file.group is None:
        return _Index(set(), [])
    try:
        folder = file.group.resolve()
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return _Index(set(), [])
    known = _SIBLINGS.get(folder)
    if known is None or known[0] != stamp:
        found = [f for f in discover([str(folder)], include_down=True, framework=None).files if f.path is not None]
        known = _SIBLINGS[folder] = (stamp, found, {})
    indexes = known[2]
    if dashless not in indexes:
        indexes[dashless] = _Index.of(known[1], dashless)
    return indexes[dashless]


def next_migration(file: MigrationFile, name: str) -> NewMigration | None:
    """A migration named `name` that runs right after `file` (None: the layout has no room, or no files)."""
    if file.path is None or file.version is None:
        return None
    framework = file.framework
    if framework == "flyway":
        found = _free(f"{file.version}.1", _numbers(file.version), file, _siblings(file), name, later=_later_dotted)
        if found is None:
            return None
        return NewMigration(file.path.with_name(f"V{found}__{name}.sql"))
    later = _later_timestamp(file.version.replace("-", "") if framework == "diesel" else file.version)
    if later is None:
        return None
    version = later
    if framework == "diesel":
        free = _free(version, _numbers(file.version.replace("-", "")), file, _siblings(file, dashless=True), name)
        if free is None:
            return None
        dashed = "-" in file.version and len(free) == 14  # 2020-07-14-113112 or 20200714113112, as the folder has it
        stamp = f"{free[:4]}-{free[4:6]}-{free[6:8]}-{free[8:]}" if dashed else free
        folder = file.path.parent.parent / f"{stamp}_{name}"
        return NewMigration(folder / "up.sql", extra={folder / "down.sql": "-- This migration cannot be undone.\n",
                                                      folder / "metadata.toml": "run_in_transaction = false\n"})
    free = _free(version, _numbers(file.version), file, _siblings(file), name)
    if free is None:
        return None
    version = free
    if framework == "prisma":
        return NewMigration(file.path.parent.parent / f"{version}_{name}" / "migration.sql")
    if framework == "golang-migrate":
        return NewMigration(file.path.with_name(f"{version}_{name}.up.sql"),
                            extra={file.path.with_name(f"{version}_{name}.down.sql"): ""})
    if framework == "dbmate":
        return NewMigration(file.path.with_name(f"{version}_{name}.sql"), header="-- migrate:up transaction:false\n",
                            footer="\n-- migrate:down\n")
    if framework == "supabase":
        return NewMigration(file.path.with_name(f"{version}_{name}.sql"))
    return None  # plain files, Drizzle (all pending migrations in one transaction): no such place


def _later_dotted(version: str) -> str:
    """Flyway: 42.1 → 42.2."""
    head, _, last = version.rpartition(".")
    return f"{head}.{int(last) + 1}" if last.isdigit() else version + ".1"
