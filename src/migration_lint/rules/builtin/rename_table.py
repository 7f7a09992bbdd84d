from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast


class RenameTable(Rule):
    """`ALTER TABLE … RENAME TO` on a table the running application uses.

    Tables created earlier in the same migration are not reported, nor a swap:
    a later statement of the same migration gives the old name to another
    table or view (`RENAME TO "Order_old"`, or a view keeps the old name), or
    the new name was dropped or renamed away earlier in the migration
    (`"Order_new"` renamed to `"Order"` after the old `"Order"` went away).

    ## Why is this bad?
    The application code deployed now keeps running during the deploy and
    until every instance is replaced. From the moment the rename commits,
    every query it sends to the old name fails with *relation does not exist*,
    until the new code runs everywhere.

    ## Example
    ```sql
    ALTER TABLE "Team" RENAME TO "Organization";
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Team" RENAME TO "Organization";
    CREATE VIEW "Team" AS SELECT * FROM "Organization";
    -- later, once no deployed code uses "Team":
    -- DROP VIEW "Team";
    ```

    ## When it's fine
    When no deployed code uses the table, or the deploy stops the application
    while the migration runs. A simple view (`SELECT * FROM` one table) is
    automatically updatable, so the old code can keep reading and writing
    through it; run both statements in one transaction. With Prisma, renaming
    only the model (`@@map`) keeps the table name and needs no migration.

    ## References
    - strong_migrations: [Renaming a table](https://github.com/ankane/strong_migrations#renaming-a-table)
    - PostgreSQL: [Updatable Views](https://www.postgresql.org/docs/current/sql-createview.html#SQL-CREATEVIEW-UPDATABLE-VIEWS)
    - Prisma: [Mapping model names](https://www.prisma.io/docs/orm/prisma-schema/data-model/database-mapping#mapping-collection-table-and-field-names)
    """

    id = "rename-table"
    summary = "RENAME TO on a table in use breaks the application code running now"
    severity = Severity.ERROR
    checklist = ("deploy-first",)
    statements = ("RenameStmt",)
    risk = Risk.MEDIUM
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if node.get("renameType") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
            return
        relation = node.get("relation")
        old = ast.relation_name(relation)
        new = node.get("newname", "?")
        if ctx.created_before("relation", old) or ctx.objects.defined_after("relation", old, ctx.index) is not None:
            return
        schema = old.rpartition(".")[0]
        if ctx.objects.vacated_before("relation", f"{schema}.{new}" if schema else new, ctx.index):
            return  # the second half of a swap: the new name was dropped or renamed away just before
        q_old, q_new = ast.quote_qualified(old), ast.quote_ident(new)
        q_new_full = f"{ast.quote_ident(schema)}.{q_new}" if schema else q_new
        prisma = ""
        if ctx.is_prisma:
            prisma = (f" With Prisma, rename only the model and keep the table: `@@map(\"{old.rpartition('.')[2]}\")` "
                      "in schema.prisma needs no migration.")
        yield ctx.finding(
            relation,
            f"renaming table {q_old} to {q_new} breaks the application code running now: its queries fail with "
            f"\"relation {old.rpartition('.')[2]} does not exist\" from the moment this commits until the new code is "
            f"deployed (the rename itself takes a brief ACCESS EXCLUSIVE lock on {q_old})",
            help=(f"Keep the old name working while the old code runs, in the same transaction: `ALTER TABLE {q_old} "
                  f"RENAME TO {q_new}; CREATE VIEW {q_old} AS SELECT * FROM {q_new_full};` (a simple view is "
                  f"updatable, so old code keeps reading and writing), deploy the code that uses {q_new}, then "
                  f"`DROP VIEW {q_old};` in a later migration." + prisma),
        )
