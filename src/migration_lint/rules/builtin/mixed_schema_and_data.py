from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import batch_key, batched
from migration_lint.syntax import ast

_VERBS = {"InsertStmt": "INSERT INTO", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE FROM", "MergeStmt": "MERGE INTO",
          "CopyStmt": "COPY"}
DATA = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt"})
NOT_SCHEMA = DATA | frozenset(
    {"TransactionStmt", "VariableSetStmt", "VariableShowStmt", "SelectStmt", "DoStmt", "CommentStmt", "GrantStmt",
     "GrantRoleStmt", "VacuumStmt", "LockStmt", "ExplainStmt", "CallStmt", "NotifyStmt", "CheckPointStmt",
     "RefreshMatViewStmt", "AlterDefaultPrivilegesStmt"}
)


class MixedSchemaAndData(Rule):
    """Schema changes (DDL) and data changes (INSERT/UPDATE/DELETE/MERGE/COPY) in one migration.

    Data changes on a table created by the same migration (seed rows, fix-ups)
    are not reported: nobody else can be using that table yet.

    ## Why is this bad?
    A backfill in the same transaction as DDL keeps the DDL's ACCESS EXCLUSIVE
    lock for as long as the data change runs, and a failure in either undoes
    both. Data changes on a large table belong in batches that run out of band,
    between two schema migrations: expand (add the new column or table), then
    backfill (batched, resumable, not in a migration transaction), then contract
    (constraints, drop the old column) once the code uses the new shape.

    ## Example
    ```sql
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    UPDATE "Order" SET "currency" = upper("legacyCurrency");
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    ```

    ## When it's fine
    When the data change touches a handful of rows (a lookup value, a feature
    flag) and cannot hold locks for long. Suppress with the reason.

    ## References
    - strong_migrations: [Backfilling data](https://github.com/ankane/strong_migrations#backfilling-data)
    - PostgreSQL: [Explicit Locking](https://www.postgresql.org/docs/current/explicit-locking.html)
    """

    id = "mixed-schema-and-data"
    summary = "DDL and data changes in one migration: split into expand → backfill → contract"
    severity = Severity.WARNING
    checklist = ("batch",)
    migration = True

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        schema_stmt = None
        data_stmt = None
        for stmt in ctx.statements:
            if stmt.node_type in DATA:
                if stmt.node_type == "CopyStmt" and not stmt.node.get("is_from"):
                    continue
                target = ast.relation_name(stmt.node.get("relation")) if stmt.node.get("relation") else None
                if target and ast.table_key(target) in ctx.created[stmt.index]:
                    continue  # seeding or fixing up a table this migration created: nobody uses it yet
                if data_stmt is None:
                    data_stmt = stmt
            elif stmt.node_type not in NOT_SCHEMA and schema_stmt is None:
                schema_stmt = stmt
        if schema_stmt is None or data_stmt is None:
            return
        target = data_stmt.node.get("relation")
        table = ast.quote_qualified(ast.relation_name(target)) if target else "the table"
        example = batched(f"UPDATE {table} SET …", table, batch_key(ctx.schema, ast.relation_name(target)) if target else "id", "…")
        yield ctx.finding(
            data_stmt,
            f"this migration changes the schema ({schema_stmt.kind} on line {schema_stmt.line}) and the data "
            f"({_VERBS.get(data_stmt.node_type, data_stmt.kind)} {table} on line {data_stmt.line})",
            help=(
                "Split it: (1) expand: a migration with only the schema change; (2) backfill: the data change as its "
                f"own step, in batches (e.g. `{example}` "
                "repeated until no row changes), outside the migration transaction; (3) contract: constraints and "
                "drops in a later migration, once the code uses the new shape."
            ),
            at=data_stmt,
        )
