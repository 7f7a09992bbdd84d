"""Which statements cannot run inside a transaction block, proved on every PostgreSQL version.

The lock model's `transactional` claim is the one source of that fact (the transaction rules, the
framework wrappers, --fix and trace all read it): each statement here runs after BEGIN on a real
server, and PostgreSQL must answer SQLSTATE 25001 exactly when the model says it cannot run there.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from pg_fixtures import PG_VERSIONS, _drop_database

from migration_lint.facts.locks import Model, Settings
from migration_lint.facts.transactions import non_transactional
from migration_lint.syntax.parse import parse

pytestmark = pytest.mark.postgres

SETUP = """
CREATE TABLE t (id int PRIMARY KEY, a int);
CREATE INDEX t_a ON t (a);
CREATE TYPE mood AS ENUM ('sad');
CREATE MATERIALIZED VIEW v AS SELECT id FROM t;
CREATE UNIQUE INDEX v_id ON v (id);
CREATE TABLE p (id int) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE PUBLICATION pub FOR TABLE t;
CREATE SUBSCRIPTION sub_unconnected CONNECTION 'dbname=nowhere' PUBLICATION pub WITH (connect = false);
CREATE SUBSCRIPTION sub_slotless CONNECTION 'dbname=nowhere' PUBLICATION pub WITH (connect = false);
ALTER SUBSCRIPTION sub_slotless SET (slot_name = NONE);
"""

# (statement, lowest version it exists on); {db} is the database's name
STATEMENTS: list[tuple[str, int]] = [
    ("CREATE INDEX CONCURRENTLY t_a2 ON t (a)", 12),
    ("CREATE INDEX t_a3 ON t (a)", 12),
    ("DROP INDEX CONCURRENTLY t_a", 12),
    ("DROP INDEX t_a", 12),
    ("REINDEX (CONCURRENTLY) TABLE t", 14),
    ("REINDEX TABLE CONCURRENTLY t", 12),
    ("REINDEX TABLE t", 12),
    ("REINDEX INDEX t_a", 12),
    ("REINDEX SCHEMA public", 12),
    ("REINDEX DATABASE {db}", 12),
    ("REINDEX SYSTEM {db}", 12),
    ("VACUUM t", 12),
    ("VACUUM (ANALYZE) t", 12),
    ("ANALYZE t", 12),
    ("CLUSTER t USING t_a", 12),
    ("CLUSTER", 12),
    ("REFRESH MATERIALIZED VIEW v", 12),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY v", 12),
    ("ALTER TYPE mood ADD VALUE 'happy'", 12),
    ("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY", 14),
    ("ALTER TABLE p DETACH PARTITION p1", 12),
    ("CREATE DATABASE d_{db}", 12),
    ("DROP DATABASE IF EXISTS d_missing_{db}", 12),
    ("CREATE TABLESPACE ts_{db} LOCATION '/nonexistent'", 12),
    ("DROP TABLESPACE IF EXISTS ts_missing", 12),
    ("ALTER SYSTEM SET work_mem = '4MB'", 12),
    ("DISCARD ALL", 12),
    ("DISCARD TEMP", 12),
    ("CREATE SUBSCRIPTION sub_{db} CONNECTION 'dbname=nowhere' PUBLICATION pub", 12),
    ("CREATE SUBSCRIPTION sub_{db} CONNECTION 'dbname=nowhere' PUBLICATION pub WITH (connect = false)", 12),
    ("CREATE SUBSCRIPTION sub_{db} CONNECTION 'dbname=nowhere' PUBLICATION pub WITH (create_slot = 0, enabled = off, slot_name = NONE)", 12),
    ("CREATE SUBSCRIPTION sub_{db} CONNECTION 'dbname=nowhere' PUBLICATION pub WITH (create_slot = off, enabled = off, slot_name = NONE)", 12),
    ("DROP SUBSCRIPTION sub_unconnected", 12),
    ("COMMIT PREPARED 'nothing'", 12),
    ("ROLLBACK PREPARED 'nothing'", 12),
    ("PREPARE TRANSACTION 'nothing'", 12),
    ("CHECKPOINT", 12),
    ("CREATE TABLE u (id int)", 12),
]


def _model_says_outside(sql: str, version: int) -> bool:
    (stmt,) = parse(sql).statements
    claims = {not Model(Settings(pg_version=float(version))).effect(stmt.node_type, stmt.node).transactional,
              non_transactional(stmt, float(version))}
    assert len(claims) == 1, f"the lock model and the transaction facts disagree on {sql}"
    return claims.pop()


@pytest.fixture(scope="module")
def databases(pg_servers):
    """version -> (server, autocommit connection to a database with SETUP, its name)."""
    import psycopg

    made: dict[int, tuple[Any, Any, str]] = {}
    try:
        def get(version: int) -> tuple[Any, Any, str]:
            if version not in made:
                server = pg_servers(version)
                name = f"t_tx_{secrets.token_hex(4)}"
                with server.connect() as admin:
                    admin.execute(f'CREATE DATABASE "{name}"')
                conn = server.connect(dbname=name)
                assert isinstance(conn, psycopg.Connection)
                for stmt in parse(SETUP).statements:
                    conn.execute(stmt.sql)
                made[version] = (server, conn, name)
            return made[version]

        yield get
    finally:
        for server, conn, name in made.values():
            for sub in ("sub_unconnected", "sub_slotless"):  # a database with subscriptions cannot be dropped
                conn.execute(f"ALTER SUBSCRIPTION {sub} SET (slot_name = NONE)")
                conn.execute(f"DROP SUBSCRIPTION {sub}")
            conn.close()
            _drop_database(server, name)


@pytest.mark.parametrize("version", PG_VERSIONS)
@pytest.mark.parametrize(("template", "since"), STATEMENTS, ids=[s for s, _ in STATEMENTS])
def test_outside_a_transaction_block_exactly_when_postgres_says_so(databases, version, template, since):
    import psycopg

    if version < since:
        pytest.skip(f"not on PostgreSQL {version}")
    _, conn, name = databases(version)
    sql = template.format(db=name)
    claimed = _model_says_outside(sql, version)
    conn.execute("BEGIN")
    try:
        conn.execute(sql)
        sqlstate = None
    except psycopg.Error as exc:
        sqlstate = exc.sqlstate
    finally:
        conn.execute("ROLLBACK")
    refused = sqlstate == "25001"
    assert claimed == refused, (
        f"PostgreSQL {version}: {sql} {'is refused' if refused else 'runs (or fails otherwise: ' + str(sqlstate) + ')'}"
        f" inside a transaction block; the model says it {'cannot' if claimed else 'can'} run there")
