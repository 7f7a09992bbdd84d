from __future__ import annotations

from collections.abc import Iterable, Iterator

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand


def _dropped_later(ctx: Context, cmd: AlterCommand, table: str, column: str) -> bool:
    """Does the migration drop the column (or set NOT NULL again) after this command?"""
    key = ast.table_key(table)
    if any(later.name == column and later.subtype in ("AT_DropColumn", "AT_SetNotNull") for later in cmd.later()):
        return True
    positions = ctx.indexed("drop_not_null.undone", _undone).get((key, column))
    return positions is not None and positions[-1] > ctx.index


def _undone(stmt) -> Iterator[tuple[str, str]]:
    """(table, column) of every column a statement drops or makes NOT NULL (indexed once per file)."""
    if stmt.node_type == "AlterTableStmt":
        key = ast.table_key(ast.relation_name(stmt.node.get("relation")))
        for item in stmt.node.get("cmds") or ():
            cmd = ast.inner(item)
            if cmd.get("subtype") in ("AT_DropColumn", "AT_SetNotNull") and cmd.get("name"):
                yield key, cmd["name"]


class DropNotNull(Rule):
    """`ALTER COLUMN … DROP NOT NULL` on a table the running application reads.

    Not reported: tables created, or columns added, earlier in the same
    migration, and a column the migration drops or makes NOT NULL again.

    ## Why is this bad?
    The application code deployed now was written for a column that is never
    NULL. The migration itself is harmless, but as soon as new code (or the
    backfill) writes a NULL, the old code still running reads it: an ORM
    mapping the column as required fails (Prisma: *Inconsistent column data*
    / *found incompatible value of null*), and plain code dereferences a
    missing value. During a rolling deploy old and new code run side by side.

    ## Example
    ```sql
    ALTER TABLE "Order" ALTER COLUMN "couponCode" DROP NOT NULL;
    ```

    ## Use instead
    ```sql
    -- first deploy code that reads "couponCode" as optional (and does not yet write NULL), then:
    -- migration-lint: ignore drop-not-null -- release 42 reads "couponCode" as optional
    ALTER TABLE "Order" ALTER COLUMN "couponCode" DROP NOT NULL;
    ```

    ## When it's fine
    When the deployed code already treats the column as optional, or nothing
    will write NULL until every instance runs code that can read it.

    ## References
    - PostgreSQL: [ALTER TABLE DROP NOT NULL](https://www.postgresql.org/docs/current/sql-altertable.html)
    - Prisma: [Expand and contract](https://www.prisma.io/docs/guides/data-migration)
    """

    id = "drop-not-null"
    summary = "DROP NOT NULL: the running code may not handle the NULLs that new code writes"
    severity = Severity.WARNING
    checklist = ("deploy-first",)
    statements = ("AlterTableStmt",)
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
            return
        table = ast.relation_name(node.get("relation"))
        if ctx.created_before("relation", table):
            return
        qt = ast.quote_qualified(table)
        columns: list[str] = []  # one finding for the statement's DROP NOT NULLs together
        for cmd in ast.alter_commands(node):
            if cmd.subtype != "AT_DropNotNull":
                continue
            column = cmd.name or "?"
            if ctx.objects.column_added_before(table, column, ctx.index) or _dropped_later(ctx, cmd, table, column):
                continue
            if column not in columns:
                columns.append(column)
        if not columns:
            return
        quoted = [ast.quote_ident(c) for c in columns]
        listed = ", ".join(quoted)
        if len(columns) == 1:
            subject = f"{qt}.{quoted[0]}"
            assumption = f"the running code assumes {quoted[0]} is never NULL"
        else:
            subject = f"{qt} ({listed})"
            assumption = "the running code assumes these columns are never NULL"
        yield ctx.finding(
            node.get("relation"),
            f"DROP NOT NULL on {subject}: {assumption}; once anything writes a NULL, old instances that read the row "
            "can fail until every instance runs the new code",
            help=(f"Deploy code that reads {listed} of {qt} as optional first (expand), and write NULLs only after "
                  "every instance runs it; the migration itself is safe to run before that deploy."
                  + (" With Prisma, make the field optional (`?`) in schema.prisma and ship that client before "
                     "anything writes null." if ctx.is_prisma else "")),
        )
