"""pytest fixtures that provide a real, disposable PostgreSQL server.

Import them from ``conftest.py`` (or a test module)::

    from pg_fixtures import pg_db, pg_server  # noqa: F401

``pg_server`` (session scope) starts one :class:`PostgresServer` for the
whole run.  Server binaries are installed automatically with apt when
``CI=true`` or ``MIGRATION_LINT_INSTALL_PG=1``.  When PostgreSQL cannot be
had, tests using the fixture fail loudly under CI and are skipped otherwise.

``pg_db`` (function scope) yields an autocommit psycopg connection to a
fresh database that is dropped after the test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from migration_lint.cli.trace.server import PostgresServer, PostgresUnavailable

if TYPE_CHECKING:
    import psycopg

INSTALL_ENV = "MIGRATION_LINT_INSTALL_PG"


def _in_ci() -> bool:
    """True if the ``CI`` environment variable is set to a truthy value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def _want_install() -> bool:
    """Whether the harness may install PostgreSQL server binaries with apt."""
    return os.environ.get("CI") == "true" or os.environ.get(INSTALL_ENV) == "1"


def _unavailable(reason: str) -> NoReturn:
    """Fail (under CI) or skip (locally) because PostgreSQL cannot be used."""
    if _in_ci():
        pytest.fail(
            "PostgreSQL is required for the `postgres` tests in CI but could not be "
            f"started: {reason}\n"
            "Install the PostgreSQL server in the CI image (e.g. `apt-get install "
            "postgresql`) or point $MIGRATION_LINT_PG_BIN at its bin directory.",
            pytrace=False,
        )
    pytest.skip(
        f"PostgreSQL not available: {reason} "
        f"(set {INSTALL_ENV}=1 to install it automatically with apt, as root on "
        "Debian/Ubuntu, or set $MIGRATION_LINT_PG_BIN)"
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A started, session-wide throwaway PostgreSQL server."""
    reason: str | None = None
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        reason = f"psycopg 3 is not installed ({exc}); install `psycopg[binary]`"
    server = PostgresServer(install=_want_install())
    if reason is None:
        try:
            server.start()
        except PostgresUnavailable as exc:
            reason = str(exc)
    if reason is not None:
        _unavailable(reason)
    try:
        yield server
    finally:
        server.stop()


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
