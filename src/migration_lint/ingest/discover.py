"""Paths → migration files, with the framework, migration name and order of each.

Recognised layouts (checked in this order for each ``.sql`` file):

* Prisma: ``<dir>/<timestamp>_<name>/migration.sql`` (the folder holding the
  migration folders usually has ``migration_lock.toml``).
* Diesel: ``<dir>/<timestamp>_<name>/up.sql`` (``down.sql`` only when asked).
* Flyway: ``V<version>__<description>.sql`` (``R__`` repeatables sort last,
  ``U<version>__`` undo scripts count as down migrations).
* golang-migrate: ``<version>_<name>.up.sql`` / ``.down.sql``.
* Supabase: ``supabase/migrations/<timestamp>_<name>.sql``.
* dbmate: a file with ``-- migrate:up`` (only the up section is linted).
* Drizzle: a file with ``--> statement-breakpoint``, or a folder with ``meta/_journal.json``.
* plain: any other ``.sql`` file; the name is the file stem without a leading version.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from migration_lint.model import MigrationFile

FRAMEWORKS = ("prisma", "drizzle", "flyway", "golang-migrate", "dbmate", "supabase", "diesel", "plain")

_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".hg", ".svn", ".tox", "dist", "build"}

_PRISMA_DIR = re.compile(r"^(\d+)_(.+)$")
_DIESEL_DIR = re.compile(r"^(\d{4}-\d{2}-\d{2}-\d{6}(?:-\d{4})?|\d{8,})_(.+)$")
_FLYWAY = re.compile(r"^(?P<prefix>[VU])(?P<version>[0-9][0-9._]*)__(?P<desc>.+)\.sql$", re.I)
_FLYWAY_REPEATABLE = re.compile(r"^R__(?P<desc>.+)\.sql$", re.I)
_GOLANG = re.compile(r"^(?P<version>\d+)_(?P<name>.+?)\.(?P<dir>up|down)(?:\.[a-z0-9]+)?\.sql$", re.I)
_SUPABASE = re.compile(r"^(?P<version>\d{8,})_(?P<name>.+)\.sql$")
_PLAIN_VERSION = re.compile(r"^(?P<version>\d[\d._-]*?)(?:[_-]+(?P<name>.*))?$")
_DBMATE_UP = re.compile(r"^--\s*migrate:up\b(?P<opts>[^\r\n]*)", re.M)
_DRIZZLE = "--> statement-breakpoint"


class DiscoveryError(Exception):
    """A path given on the command line cannot be used."""


@dataclass
class Discovery:
    files: list[MigrationFile] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    walked: list[Path] = field(default_factory=list)  # directories searched whole (resolved)


def natural_key(value: str) -> tuple:
    """Sort key that orders embedded numbers numerically ("V2" < "V10")."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", value))


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith(".." + os.sep + "..") else rel


def read_head(path: Path, size: int = 65536) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(size).decode("utf-8", errors="replace")
    except OSError:
        return ""


def classify(path: Path, *, head: str | None = None) -> MigrationFile:
    """Work out framework, name, version and group of one ``.sql`` file."""
    name = path.name
    parent = path.parent
    display = _display(path)

    if name == "migration.sql":
        match = _PRISMA_DIR.match(parent.name)
        if match:
            return MigrationFile(path, display, "prisma", match.group(2), match.group(1), parent.parent)
    if name in ("up.sql", "down.sql"):
        match = _DIESEL_DIR.match(parent.name)
        if match:
            return MigrationFile(
                path, display, "diesel", match.group(2), match.group(1), parent.parent,
                direction="up" if name == "up.sql" else "down",
            )
    match = _FLYWAY.match(name)
    if match:
        return MigrationFile(
            path, display, "flyway", match.group("desc"), match.group("version").replace("_", "."), parent,
            direction="down" if match.group("prefix").upper() == "U" else "up",
        )
    match = _FLYWAY_REPEATABLE.match(name)
    if match:
        return MigrationFile(path, display, "flyway", match.group("desc"), "~repeatable", parent)
    match = _GOLANG.match(name)
    if match:
        return MigrationFile(
            path, display, "golang-migrate", match.group("name"), match.group("version"), parent,
            direction=match.group("dir").lower(),
        )

    if head is None:
        head = read_head(path)
    if parent.name == "migrations" and parent.parent.name == "supabase":
        match = _SUPABASE.match(name)
        if match:
            return MigrationFile(path, display, "supabase", match.group("name"), match.group("version"), parent)
    stem = name[:-4] if name.lower().endswith(".sql") else name
    version, migration_name = _split_version(stem)
    dbmate = _DBMATE_UP.search(head)
    if dbmate:
        return MigrationFile(
            path, display, "dbmate", migration_name, version, parent,
            dbmate_no_transaction="transaction:false" in dbmate.group("opts").replace(" ", ""),
        )
    if _DRIZZLE in head or (parent / "meta" / "_journal.json").is_file():
        return MigrationFile(path, display, "drizzle", migration_name, version, parent)
    return MigrationFile(path, display, "plain", migration_name, version, parent)


def _split_version(stem: str) -> tuple[str | None, str]:
    match = _PLAIN_VERSION.match(stem)
    if match and match.group("name"):
        return match.group("version").rstrip("._-"), match.group("name")
    if match:  # the stem is only a version (e.g. a bare date)
        return match.group("version"), stem
    return None, stem


def _sort_key(item: MigrationFile) -> tuple:
    group = str(item.group or "")
    version = item.version or ""
    repeatable = version == "~repeatable"
    if item.framework == "diesel" or re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{6}(?:-\d{4})?", version):
        # Diesel compares versions with the dashes removed: 2020-07-14-113112 is 20200714113112
        # (compared as strings, so pad to a common length before the numeric comparison)
        version = version.replace("-", "").ljust(24, "0")
    return (group, repeatable, natural_key(version), natural_key(item.name or ""), item.display)


def _walk(root: Path, found: list[Path], problems: list[tuple[str, str]]) -> None:
    """Recursive walk that does not follow directory symlinks (no loops) and reports unreadable dirs."""

    def onerror(error: OSError) -> None:
        problems.append((_display(Path(error.filename or root)), f"cannot read directory: {error.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for filename in sorted(filenames):  # directory order is arbitrary: a file and a link to it keep one name
            if filename.lower().endswith(".sql"):
                found.append(Path(dirpath) / filename)


def discover(
    paths: list[str], *, include_down: bool = False, framework: str | None = None, exclude: list[str] | None = None
) -> Discovery:
    """Expand paths (files, directories, globs) into ordered migration files.

    Files named explicitly are always linted, whatever their name; down
    migrations found in directories are skipped unless `include_down`.
    """
    result = Discovery()
    seen: set[tuple[int, int] | str] = set()
    collected: list[tuple[Path, bool]] = []  # (path, explicit)
    for raw in paths:
        path = Path(raw)
        if any(ch in raw for ch in "*?[") and not path.exists():
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                result.problems.append((raw, "no file matches this pattern"))
            for match in matches:
                candidate = Path(match)
                if candidate.is_dir():
                    found: list[Path] = []
                    _walk(candidate, found, result.problems)
                    collected.extend((f, False) for f in found)
                elif candidate.is_file():
                    collected.append((candidate, True))
            continue
        if path.is_dir():
            found = []
            _walk(path, found, result.problems)
            try:
                result.walked.append(path.resolve())
            except (OSError, RuntimeError):
                pass
            collected.extend((f, False) for f in found)
        elif path.is_file():
            collected.append((path, True))
        elif path.is_symlink():
            result.problems.append((raw, _not_a_file(path) or "broken symbolic link"))
        elif path.exists():
            result.problems.append((raw, "not a regular file or directory"))
        else:
            result.problems.append((raw, "no such file or directory"))

    exclude_patterns = _compile(exclude or [])
    for path, explicit in collected:
        try:  # one stat: the file's identity (a link and its target are one file) and its kind
            st: os.stat_result | None = os.stat(path)
        except OSError:
            st = None  # _not_a_file says why
        key = (st.st_dev, st.st_ino) if st is not None else str(path)
        if key in seen:
            continue
        seen.add(key)
        if exclude and _excluded(path, exclude, exclude_patterns):
            continue
        problem = _not_a_file(path, st)
        if problem:
            result.problems.append((_display(path), problem))
            continue
        item = classify(path)
        item.size = st.st_size if st is not None else None
        if framework and framework != "auto":
            item.framework = framework
        if item.direction == "down" and not include_down and not explicit:
            continue
        result.files.append(item)
    result.files.sort(key=_sort_key)
    return result


def _not_a_file(path: Path, st: os.stat_result | None = None) -> str | None:
    """Why a `.sql` path found in a folder cannot be read as a migration (None if it can).

    Only regular files are opened: reading a FIFO blocks forever, a device never ends.
    """
    try:
        mode = (st or path.stat()).st_mode
    except OSError as exc:
        if path.is_symlink():
            if exc.errno == errno.ELOOP:
                return "symbolic link loop"
            return "broken symbolic link" if exc.errno == errno.ENOENT else f"cannot follow symbolic link: {exc.strerror}"
        return f"cannot read file: {exc.strerror}"
    if stat.S_ISREG(mode):
        return None
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device" if (
        stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) else "not a file"
    return f"not a regular file ({kind})"


def _compile(patterns: list[str]) -> list:
    return [re.compile(glob.translate(p, recursive=True)) if hasattr(glob, "translate") else None for p in patterns]


def excluded(path: Path, patterns: list[str]) -> bool:
    """Whether `exclude` patterns (of the configuration) leave `path` out, as discovery does."""
    return bool(patterns) and _excluded(path, patterns, _compile(patterns))


def _excluded(path: Path, patterns: list[str], compiled: list) -> bool:
    text = path.as_posix()
    for raw, regex in zip(patterns, compiled):
        if regex is not None and (regex.match(text) or regex.match(_display(path).replace(os.sep, "/"))):
            return True
        if Path(text).match(raw):
            return True
        if raw.startswith("/"):  # relative to the configuration file: compare absolute paths
            absolute = path.absolute()
            if (regex is not None and regex.match(absolute.as_posix())) or absolute.match(raw):
                return True
    return False
