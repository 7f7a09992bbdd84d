"""What a Prisma project says about its migrations: the Prisma version (package.json) and the
database provider (schema.prisma, migration_lock.toml).

* The version: the nearest package.json, upward from the migrations folder (up
  to the git root), that lists `prisma` or `@prisma/client` in dependencies or
  devDependencies; a range such as ``^6.2.0`` gives ``6.2``. Used only when
  neither the configuration nor ``--prisma-version`` names one.
* The provider: ``provider = "…"`` of the datasource in ``schema.prisma`` next
  to the migrations folder (``prisma/schema.prisma`` for ``prisma/migrations``,
  or the ``.prisma`` files of ``prisma/schema/``), else ``migration_lock.toml``
  in the folder. PostgreSQL (``postgresql``, ``postgres``) is what this tool
  lints; any other provider makes the folder one `unsupported-provider`
  finding instead of a parse error per migration.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from migration_lint.config import nearest_dir
from migration_lint.ingest.repository import git_root
from migration_lint.model import MigrationFile

SUPPORTED_PROVIDERS = ("postgresql", "postgres")
_VERSION = re.compile(r"(\d+)(?:\.(\d+|x|\*))?")
_DATASOURCE = re.compile(r"^\s*datasource\s+\w+\s*\{")
_PROVIDER = re.compile(r'^\s*provider\s*=\s*"([^"]*)"')


@dataclass
class Detected:
    value: str
    path: Path
    line: int = 1


def version_range(spec: str) -> str | None:
    """`^6.2.0` → `6.2`, `~5.22.1` → `5.22`, `>=6 <7` → `6`, `npm:prisma@6.1.0` → `6.1`; None for `latest`, `*`, a tag."""
    spec = spec.strip()
    if "@" in spec:
        spec = spec.rsplit("@", 1)[1]
    if spec.startswith(("workspace:", "file:", "link:", "git", "http")):
        spec = spec.split(":", 1)[1] if spec.startswith("workspace:") else ""
    match = _VERSION.search(spec)
    if not match:
        return None
    major, minor = match.group(1), match.group(2)
    return f"{major}.{minor}" if minor and minor.isdigit() else major


def prisma_version(start: Path) -> tuple[Detected | None, str]:
    """The Prisma version from the nearest package.json that names it, and a warning ("" if none)."""
    start = start.absolute()
    root = git_root(start)
    for directory in (start, *start.parents):
        candidate = directory / "package.json"
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                return None, f"{candidate}: cannot read: {exc}; the Prisma version is not taken from it"
            except json.JSONDecodeError as exc:
                return None, (f"{candidate}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg}); "
                              "the Prisma version is not taken from it")
            if isinstance(data, dict):
                for package in ("prisma", "@prisma/client"):
                    for key in ("dependencies", "devDependencies"):
                        section = data.get(key)
                        spec = section.get(package) if isinstance(section, dict) else None
                        if isinstance(spec, str):
                            version = version_range(spec)
                            if version:
                                return Detected(version, candidate), ""
        if directory == root:
            break
    return None, ""


def assign_versions(files: list[MigrationFile]) -> None:
    """Give each Prisma migration the version of the package.json nearest its folder (a monorepo's projects
    may use different versions). A version the configuration or --prisma-version sets wins over it (see
    `facts.transactions.prisma_version_of`). A package.json that cannot be read gives none (the warning about
    it comes from the run's own detection, `detect_prisma_version`)."""
    found: dict[Path, Detected | None] = {}
    for file in files:
        if file.framework != "prisma" or file.group is None:
            continue
        if file.group not in found:
            found[file.group] = prisma_version(file.group)[0]
        detected = found[file.group]
        if detected is not None:
            file.prisma_version = detected.value


def detect_prisma_version(paths: list[str]) -> tuple[Detected | None, str]:
    """`prisma_version` for the first command-line path that has a package.json naming Prisma."""
    for raw in paths:
        if raw == "-":
            continue
        found, warning = prisma_version(nearest_dir(raw))
        if found or warning:
            return found, warning
    return None, ""


def _schema_files(migrations: Path) -> list[Path]:
    parent = migrations.parent
    files = [parent / "schema.prisma"]
    folder = parent / "schema"
    if folder.is_dir():
        files.extend(sorted(folder.glob("*.prisma")))
    return [f for f in files if f.is_file()]


def provider(migrations: Path) -> Detected | None:
    """The datasource provider of the Prisma migrations folder `migrations`, and where it is declared."""
    for schema in _schema_files(migrations):
        try:
            lines = schema.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        inside = False
        for number, line in enumerate(lines, 1):
            if _DATASOURCE.match(line):
                inside = True
            elif inside and line.strip().startswith("}"):
                inside = False
            elif inside:
                match = _PROVIDER.match(line)
                if match:
                    return Detected(match.group(1).strip(), schema, number)
    lock = migrations / "migration_lock.toml"
    if lock.is_file():
        try:
            lines = lock.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        for number, line in enumerate(lines, 1):
            match = _PROVIDER.match(line)
            if match:
                return Detected(match.group(1).strip(), lock, number)
    return None


def unsupported(migrations: Path) -> Detected | None:
    """The provider if it is not PostgreSQL (cockroachdb too: its SQL and locks differ)."""
    found = provider(migrations)
    if found is not None and found.value.lower() not in SUPPORTED_PROVIDERS:
        return found
    return None
