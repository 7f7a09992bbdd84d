"""Every kind of fix, proven on a real PostgreSQL.

For each case, a migration folder (an earlier migration that creates the tables, then the migration
under test) is copied twice; one copy is fixed with `--fix --unsafe-fixes`. Then:

* the fixed folder lints again without the fixed rule, and no rule fires that did not fire before;
* original and fixed folders run on two fresh databases (`trace --database-url … --commit`, which seeds
  the earlier migration's tables with rows first): `pg_dump --schema-only` of both is the same schema;
* the trace of the fixed one shows no statement holding a lock that blocks writes to a table that
  existed before while it scans or rewrites it (the long write-blocking lock the fix is for).
"""

from __future__ import annotations

import inspect
import json
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pg_fixtures import pg_server  # noqa: F401

from migration_lint.cli import main
from migration_lint.cli.trace.server import PostgresServer

pytestmark = pytest.mark.postgres

HISTORY = (
    'CREATE TABLE "User" ("id" TEXT NOT NULL, "email" TEXT, CONSTRAINT "User_pkey" PRIMARY KEY ("id"));\n'
    'CREATE TABLE "Post" ("id" TEXT NOT NULL, "authorId" TEXT, "title" TEXT, "score" INTEGER,\n'
    '    CONSTRAINT "Post_pkey" PRIMARY KEY ("id"));\n'
    'CREATE INDEX "Post_title_idx" ON "Post"("title");\n'
)

WRITE_BLOCKING = {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}


@dataclass
class Case:
    id: str
    rule: str
    sql: str
    args: list[str] = field(default_factory=list)
    files_after: int = 2  # migrations in the folder once fixed
    long_lock: bool = True  # the original holds a write-blocking lock while it scans (the check can fail)
    layout: str = "prisma"


CASES = [
    Case("create-index", "non-concurrent-index", 'CREATE INDEX "Post_authorId_idx" ON "Post"("authorId");\n'),
    Case("create-index-prisma-6", "non-concurrent-index",
         'ALTER TABLE "Post" ADD COLUMN "views" INTEGER;\nCREATE INDEX "Post_views_idx" ON "Post"("views");\n',
         ["--prisma-version", "6.0"], files_after=3),
    Case("create-index-golang-migrate", "non-concurrent-index",
         'ALTER TABLE "Post" ADD COLUMN "views" INTEGER;\nCREATE INDEX "Post_views_idx" ON "Post"("views");\n',
         files_after=3, layout="golang-migrate"),
    Case("set-not-null-golang-migrate", "set-not-null", 'ALTER TABLE "Post" ALTER COLUMN "authorId" SET NOT NULL;\n',
         files_after=3, layout="golang-migrate"),
    Case("drop-index", "non-concurrent-index", 'DROP INDEX "Post_title_idx";\n', long_lock=False),
    Case("reindex", "non-concurrent-index", 'REINDEX INDEX "Post_title_idx";\n'),
    Case("foreign-key", "constraint-not-valid",
         'ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id");\n'),
    Case("check", "constraint-not-valid",
         'ALTER TABLE "Post" ADD CONSTRAINT "Post_score_check" CHECK ("score" >= 0);\n'),
    Case("set-not-null", "set-not-null", 'ALTER TABLE "Post" ALTER COLUMN "authorId" SET NOT NULL;\n'),
    Case("set-not-null-prisma-6", "set-not-null", 'ALTER TABLE "Post" ALTER COLUMN "authorId" SET NOT NULL;\n',
         ["--prisma-version", "6.0"], files_after=3),
    Case("unique", "unique-without-index", 'ALTER TABLE "User" ADD CONSTRAINT "User_email_key" UNIQUE ("email");\n'),
    Case("lock-timeout", "missing-lock-timeout", 'ALTER TABLE "Post" ADD COLUMN "views" INTEGER;\n', long_lock=False),
]


def _folder(root: Path, sql: str, layout: str = "prisma") -> Path:
    if layout == "golang-migrate":
        migrations = root / "db" / "migrations"
        migrations.mkdir(parents=True)
        for name, text in {"000001_init": HISTORY, "000002_change_post": sql}.items():
            (migrations / f"{name}.up.sql").write_text(text, encoding="utf-8")
            (migrations / f"{name}.down.sql").write_text("-- nothing\n", encoding="utf-8")
        return migrations
    migrations = root / "prisma" / "migrations"
    for name, text in {"20240101000000_init": HISTORY, "20240301000000_change_post": sql}.items():
        (migrations / name).mkdir(parents=True)
        (migrations / name / "migration.sql").write_text(text, encoding="utf-8")
    (migrations / "migration_lock.toml").write_text('provider = "postgresql"\n', encoding="utf-8")
    return migrations


def _rules(migrations: Path, args: list[str], capsys) -> list[str]:
    main([str(migrations), "--format", "json", "--no-config", "--no-cache", *args])
    data = json.loads(capsys.readouterr().out)
    return sorted(f["rule"] for f in data["files"] for f in f["findings"])


@contextmanager
def _database(server: PostgresServer) -> Iterator[str]:
    name = f"t_fix_{secrets.token_hex(4)}"
    with server.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.conninfo_for(name)
    finally:
        with server.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _trace(migrations: Path, url: str, args: list[str], out: Path) -> dict[str, Any]:
    main(["trace", str(migrations), "--database-url", url, "--commit", "--rows", "20", "--format", "json",
          "--output", str(out), "--no-config", *args])
    return json.loads(out.read_text(encoding="utf-8"))


def _schema(server: PostgresServer, url: str) -> str:
    pg_dump = (server.bin_dir / "pg_dump") if server.bin_dir and (server.bin_dir / "pg_dump").exists() \
        else shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed next to the server")
    dump = subprocess.run([str(pg_dump), "--schema-only", "--no-owner", "--dbname", url],
                          capture_output=True, text=True, check=True).stdout
    # comments and the random \restrict key of recent pg_dump releases are not schema
    return "\n".join(line for line in dump.splitlines()
                     if line.strip() and not line.startswith(("--", "\\restrict", "\\unrestrict")))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fix_keeps_the_schema_and_drops_the_long_lock(case, pg_server, tmp_path, capsys):  # noqa: F811
    original = _folder(tmp_path / "original", case.sql, case.layout)
    fixed = _folder(tmp_path / "fixed", case.sql, case.layout)
    before = _rules(original, case.args, capsys)
    assert case.rule in before, before

    assert main([str(fixed), "--fix", "--unsafe-fixes", "--no-config", "--no-cache", *case.args]) in (0, 1)
    capsys.readouterr()
    up = "*.up.sql" if case.layout == "golang-migrate" else "*/migration.sql"
    assert len(list(fixed.glob(up))) == case.files_after
    after = _rules(fixed, case.args, capsys)
    assert case.rule not in after, after
    assert set(after) <= set(before), f"the fix made new findings: {sorted(set(after) - set(before))}"

    with _database(pg_server) as url_original, _database(pg_server) as url_fixed:
        trace_original = _trace(original, url_original, case.args, tmp_path / "original.json")
        trace_fixed = _trace(fixed, url_fixed, case.args, tmp_path / "fixed.json")
        for trace in (trace_original, trace_fixed):
            errors = [s["trace"]["error"] for f in trace["files"] for s in f["statements"] if s["trace"]["error"]]
            assert not errors, errors
        assert _schema(pg_server, url_fixed) == _schema(pg_server, url_original)

    assert bool(_long_locks(trace_original)) == case.long_lock, _long_locks(trace_original)
    assert not _long_locks(trace_fixed), _long_locks(trace_fixed)


def _long_locks(trace: dict[str, Any]) -> list[str]:
    """The statements after the first migration that hold a lock blocking writes to one of its tables (as
    PostgreSQL shows it) while they scan or rewrite."""
    found = []
    for file in trace["files"]:
        if "_init" in file["path"] or "000001" in file["path"]:
            continue
        for stmt in file["statements"]:
            held = {lock["relation"] for lock in stmt["trace"]["locks"]
                    if lock["mode"] in WRITE_BLOCKING and lock["relation"] in ("User", "Post")}
            if held and (stmt["scans"] or stmt["rewrites"] or stmt["trace"]["rewrites"]):
                found.append(f"{stmt['sql']!r} blocks writes to {sorted(held)} while it scans or rewrites")
    return found


def test_cases_cover_every_fixing_rule():
    """A rule that offers fixes has a case here."""
    from migration_lint.rules.registry import all_rules

    fixing = set()
    for rule in all_rules().values():
        cls = rule if isinstance(rule, type) else type(rule)
        if re.search(r"\bfix=", inspect.getsource(sys.modules[cls.__module__])):
            fixing.add(cls.id)
    assert len(fixing) >= 5, fixing
    assert fixing <= {c.rule for c in CASES}, sorted(fixing - {c.rule for c in CASES})
