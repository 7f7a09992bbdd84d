from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.transactions import non_transactional
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import outside_transaction_advice

_NAMES = {
    "IndexStmt": "CREATE INDEX CONCURRENTLY",
    "DropStmt": "DROP INDEX CONCURRENTLY",
    "ReindexStmt": "REINDEX CONCURRENTLY",
    "VacuumStmt": "VACUUM",
    "AlterTableStmt": "DETACH PARTITION CONCURRENTLY",
    "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE",
    "AlterSystemStmt": "ALTER SYSTEM",
    "CreateTableSpaceStmt": "CREATE TABLESPACE",
    "DropTableSpaceStmt": "DROP TABLESPACE",
    "AlterEnumStmt": "ALTER TYPE … ADD VALUE (before PostgreSQL 12)",
    "ClusterStmt": "CLUSTER without a table name",
    "DiscardStmt": "DISCARD ALL",
    "CreateSubscriptionStmt": "CREATE SUBSCRIPTION that creates a replication slot",
    "DropSubscriptionStmt": "DROP SUBSCRIPTION of a subscription with a replication slot",
}


def _name(stmt: Statement) -> str:
    if stmt.node_type == "ReindexStmt" and stmt.node.get("kind") in (
            "REINDEX_OBJECT_SCHEMA", "REINDEX_OBJECT_DATABASE", "REINDEX_OBJECT_SYSTEM"):
        return "REINDEX " + stmt.node["kind"].rsplit("_", 1)[1]
    return _NAMES.get(stmt.node_type, stmt.kind)


class ConcurrentlyInTransaction(Rule):
    """A statement that cannot run inside a transaction block, where it will run inside one.

    `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
    `REINDEX … CONCURRENTLY`, `REINDEX SCHEMA/DATABASE/SYSTEM`,
    `DETACH PARTITION … CONCURRENTLY`, `VACUUM`, `CLUSTER` without a table,
    `CREATE/DROP DATABASE`, `CREATE/DROP TABLESPACE`, `ALTER SYSTEM`,
    `DISCARD ALL`, `CREATE SUBSCRIPTION` (unless `connect = false` or
    `create_slot = false`), `DROP SUBSCRIPTION` (of a subscription with a
    replication slot) and (before PostgreSQL 12) `ALTER TYPE … ADD VALUE`
    fail with *cannot run inside a transaction block* (SQLSTATE 25001) when
    they run inside `BEGIN … COMMIT`, or inside the transaction a migration
    tool wraps around the file: Drizzle, Flyway (unless the script is
    non-transactional), golang-migrate and the Supabase CLI for
    multi-statement files, dbmate and Diesel by default, and Prisma before
    7.4 (`prisma_version`) or when its splitter cannot parse the file (it does
    not understand `DROP INDEX CONCURRENTLY`).

    ## Why is this bad?
    The deploy fails. With Prisma the migration is then marked as failed
    (P3018) and has to be resolved by hand before any later migration runs.

    ## Example
    ```sql
    BEGIN;
    CREATE INDEX CONCURRENTLY "Post_authorId_idx" ON "Post" ("authorId");
    COMMIT;
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY "Post_authorId_idx" ON "Post" ("authorId");
    ```

    ## When it's fine
    Never: the statement cannot succeed there.

    ## References
    - PostgreSQL: [CREATE INDEX](https://www.postgresql.org/docs/current/sql-createindex.html) ("a regular CREATE INDEX command can be performed within a transaction block, but CREATE INDEX CONCURRENTLY cannot")
    - Prisma: [Customizing migrations](https://www.prisma.io/docs/orm/prisma-migrate/workflows/customizing-migrations)
    """

    id = "concurrently-in-transaction"
    summary = "CONCURRENTLY (or another non-transactional statement) inside a transaction: the deploy fails"
    severity = Severity.ERROR
    fails_deploy = True
    predicts = ("25001",)
    checklist = ("outside-transaction",)
    statements = tuple(_NAMES)
    risk = Risk.HIGH

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        if not non_transactional(stmt, ctx.pg_version):
            return
        transaction = ctx.transaction
        if not transaction.active:
            return
        name = _name(stmt)
        yield ctx.finding(
            stmt,
            f"{name} cannot run inside a transaction block, and it would run in one ({transaction.reason}): "
            "the deploy fails with SQLSTATE 25001",
            help=outside_transaction_advice(ctx),
        )
