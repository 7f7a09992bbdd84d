"""Verdicts checked on a real PostgreSQL: what a rule says fails does fail (with the SQLSTATE the rule
predicts), and what it lets through runs.

Each case is a migration run statement by statement on a fresh database after its setup (which the
linter sees as the earlier migrations); the lint report of the same migration is compared with what
PostgreSQL did: a statement with a finding of a rule whose findings mean a failing deploy must fail
with one of the rule's `predicts`, a statement without one must run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pg_fixtures import pg_db, pg_server  # noqa: F401

from migration_lint.config import Config
from migration_lint.facts.schema import Schema
from migration_lint.model import MigrationFile
from migration_lint.pipeline.engine import Linter
from migration_lint.rules.registry import all_rules
from migration_lint.syntax.parse import parse

pytestmark = pytest.mark.postgres


@dataclass
class Case:
    name: str
    rule: str
    setup: str
    sql: str
    fails: list[int] = field(default_factory=list)  # 1-based statements of `sql` that PostgreSQL rejects
    config: dict = field(default_factory=dict)


CASES = [
    Case("a column assigned twice", "always-fails",
         "CREATE TABLE t (id int PRIMARY KEY, a int, b int[], c int); CREATE TYPE pair AS (x int, y int);"
         "CREATE TABLE u (p pair);",
         "UPDATE t SET a = 1, a = 2;\n"
         "UPDATE t SET b[1] = 1, b[2] = 2;\n"
         "UPDATE t SET b = '{}', b[1] = 1;\n"
         "UPDATE t SET (a, c) = (1, 2), a = 3;\n"
         "UPDATE u SET p.x = 1, p.x = 2;\n"
         "INSERT INTO t (id, a, a) VALUES (1, 2, 3);\n"
         "INSERT INTO t (id, b[1], b[2]) VALUES (1, 2, 3);\n"
         "INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 1, a = 2;\n"
         "WITH x AS (UPDATE t SET a = 1, a = 2 RETURNING id) SELECT * FROM x;\n",
         fails=[1, 3, 4, 6, 8, 9]),
    Case("a column declared or added twice", "always-fails",
         "CREATE TABLE t (id int, a int);",
         "CREATE TABLE d (a int, a text);\n"
         "ALTER TABLE t ADD COLUMN z int, ADD COLUMN z int;\n"
         "ALTER TABLE t ADD COLUMN a int;\n"
         "ALTER TABLE t ADD COLUMN IF NOT EXISTS a int;\n"
         "ALTER TABLE t DROP COLUMN a, ADD COLUMN a text;\n",
         fails=[1, 2, 3]),
    Case("NOT NULL without a default on a table this migration created and filled", "not-null-without-default", "",
         "CREATE TABLE plan (id text NOT NULL);\n"
         "ALTER TABLE plan ADD COLUMN price int NOT NULL;\n"
         "INSERT INTO plan (id, price) VALUES ('free', 0);\n"
         "ALTER TABLE plan ADD COLUMN tier int NOT NULL;\n"
         "CREATE TABLE plan_copy AS SELECT * FROM plan WITH NO DATA;\n"
         "ALTER TABLE plan_copy ADD COLUMN c int NOT NULL;\n"
         "CREATE TABLE plan_full AS SELECT * FROM plan;\n"
         "ALTER TABLE plan_full ADD COLUMN c int NOT NULL;\n",
         fails=[4, 8]),
    Case("statements a DO block runs: EXECUTE of a constant string", "not-null-without-default",
         "CREATE TABLE \"Order\" (id int); INSERT INTO \"Order\" VALUES (1);",
         "DO $$ BEGIN EXECUTE 'ALTER TABLE \"Order\" ADD COLUMN \"s\" TEXT NOT NULL'; END $$;\n"
         "DO $$ BEGIN ALTER TABLE \"Order\" ADD COLUMN \"t\" TEXT NOT NULL DEFAULT ''; END $$;\n"
         "DO 'BEGIN ALTER TABLE \"Order\" ADD COLUMN \"u\" int NOT NULL; END';\n",
         fails=[1, 3]),
    Case("a DO block's statements: CONCURRENTLY cannot run there", "concurrently-in-transaction",
         "CREATE TABLE post (id int, author_id int);",
         "DO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY post_author_idx ON post (author_id)'; END $$;\n"
         "CREATE INDEX CONCURRENTLY post_id_idx ON post (id);\n",
         fails=[1]),
    Case("REINDEX SYSTEM has no CONCURRENTLY form", "always-fails", "",
         "REINDEX (CONCURRENTLY) SYSTEM {database};\nREINDEX (CONCURRENTLY false) SYSTEM {database};\n", fails=[1]),
]


def _run(conn, sql: str) -> list[str | None]:
    """Each statement in a transaction of its own: None if it ran, else its SQLSTATE."""
    import psycopg

    out: list[str | None] = []
    for stmt in parse(sql).statements:
        try:
            conn.execute(stmt.sql)
            out.append(None)
        except psycopg.Error as exc:
            out.append(exc.sqlstate or "?")
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_verdict_matches_postgres(case, pg_db):  # noqa: F811
    sql = case.sql.replace("{database}", pg_db.info.dbname)
    linter = Linter(Config(select=[case.rule], **case.config), all_rules())
    history = Schema()
    for stmt in parse(case.setup).statements:
        history.apply(stmt.node_type, stmt.node, "setup")
    report = linter.lint_file(MigrationFile(None, "case.sql", text=sql), history)
    # PostgreSQL runs the statements of the file: a finding on what a DO block runs counts for the DO
    parents = {item.statement.index: item.statement.parent for item in report.statements}
    place = {item.statement.index: n for n, item in enumerate(i for i in report.statements if i.statement.parent is None)}
    flagged = {place[parents[f.statement] if parents[f.statement] is not None else f.statement]
               for f in report.findings if f.rule == case.rule and f.statement is not None}
    for stmt in parse(case.setup).statements:
        pg_db.execute(stmt.sql)
    outcome = _run(pg_db, sql)
    failed = [i + 1 for i, state in enumerate(outcome) if state is not None]
    assert failed == case.fails, outcome
    rule = all_rules()[case.rule]
    assert rule.fails_deploy
    assert sorted(i + 1 for i in flagged) == case.fails, report.findings
    for index in flagged:
        assert outcome[index] in rule.predicts, (index, outcome[index], rule.predicts)
