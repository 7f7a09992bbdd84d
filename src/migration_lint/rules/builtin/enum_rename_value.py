from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import batched, batched_update
from migration_lint.syntax import ast


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _enum_columns(ctx: Context, type_name: str) -> list[tuple[str, str]]:
    """(table, column) pairs whose type is the enum, as far as the schema model knows."""
    base = type_name.rpartition(".")[2]
    found = []
    for table in ctx.schema.tables.values():
        for column in table.columns.values():
            col_type = column.type.rstrip("[]")
            if col_type == type_name or col_type.rpartition(".")[2] == base:
                found.append((table.name, column.name))
    return found


class EnumRenameValue(Rule):
    """`ALTER TYPE … RENAME VALUE` of an enum the running application uses.

    Enums created earlier in the same migration are not reported.

    ## Why is this bad?
    The application code deployed now still writes and compares the old label.
    From the moment the rename commits, its INSERTs and UPDATEs with the old
    value fail with *invalid input value for enum* (SQLSTATE 22P02), its
    `WHERE status = 'old'` queries fail the same way, and rows it reads carry a
    label it does not know (an ORM that maps the enum throws), until the new
    code runs everywhere.

    ## Example
    ```sql
    ALTER TYPE "OrderStatus" RENAME VALUE 'CANCELED' TO 'CANCELLED';
    ```

    ## Use instead
    ```sql
    -- 1. expand: add the new label (it must be committed before it can be used);
    --    deploy code that reads both labels and writes 'CANCELLED'
    ALTER TYPE "OrderStatus" ADD VALUE IF NOT EXISTS 'CANCELLED';
    -- 2. migrate, in batches repeated until no row changes (a later migration):
    -- UPDATE "Order" SET "status" = 'CANCELLED' WHERE "id" IN (SELECT "id" FROM "Order" WHERE "status" = 'CANCELED' LIMIT 1000);
    -- 3. contract: stop reading 'CANCELED'; an enum label cannot be dropped, so leave it unused
    ```

    ## When it's fine
    When no deployed code writes, compares or maps the old label, or the
    deploy stops the application while it runs.

    ## References
    - PostgreSQL: [ALTER TYPE … RENAME VALUE](https://www.postgresql.org/docs/current/sql-altertype.html)
    - PostgreSQL: [Enumerated Types](https://www.postgresql.org/docs/current/datatype-enum.html)
    """

    id = "enum-rename-value"
    summary = "RENAME VALUE of an enum breaks the running code that writes or compares the old label"
    severity = Severity.WARNING
    checklist = ("deploy-first",)
    statements = ("AlterEnumStmt",)
    risk = Risk.MEDIUM

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if not node.get("oldVal") or node.get("newVal") is None:
            return
        type_name = ".".join(ast.strings(node.get("typeName")))
        if ctx.created_before("type", type_name):
            return
        old, new = node["oldVal"], node["newVal"]
        qt = ast.quote_qualified(type_name)
        columns = _enum_columns(ctx, ast.table_key(type_name))
        if columns:
            table, column = columns[0]
            qcol = ast.quote_ident(column)
            backfill = f"`{batched_update(ctx.schema, table, f'{qcol} = {_literal(new)}', f'{qcol} = {_literal(old)}')}`"
            if len(columns) > 1:
                others = ", ".join(f"{ast.quote_qualified(t)}.{ast.quote_ident(c)}" for t, c in columns[1:4])
                backfill += f" (and the same for {others})"
        else:
            backfill = (f"`{batched(f'UPDATE <table> SET <column> = {_literal(new)}', '<table>', 'id', f'<column> = {_literal(old)}')};` "
                        f"for each column of type {qt}")
        yield ctx.finding(
            ctx.statement,
            f"renaming value {_literal(old)} of enum {qt} to {_literal(new)} breaks the application code running now: "
            f"its writes and comparisons with {_literal(old)} fail with \"invalid input value for enum\" from the "
            "moment this commits until the new code is deployed",
            help=(f"Expand, migrate, contract: (1) `ALTER TYPE {qt} ADD VALUE IF NOT EXISTS {_literal(new)};` (committed "
                  f"before anything uses it) and deploy code that reads both labels and writes {_literal(new)}; "
                  f"(2) in a later migration, backfill in batches until no row changes: {backfill}; (3) stop reading "
                  f"{_literal(old)} (an enum label cannot be dropped: leave it unused, or swap in a new type later)."),
        )
