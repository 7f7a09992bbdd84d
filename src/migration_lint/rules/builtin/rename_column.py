from __future__ import annotations

import re
from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import batched_update
from migration_lint.syntax import ast


def _column_renamed_back(ctx: Context, table: str, old: str) -> bool:
    """A later statement of this migration adds or renames a column to the old name again (a swap)."""
    return ctx.objects.column_added_after(table, old, ctx.index)


_SERIALS = {"serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint",
            "smallserial": "smallint", "serial2": "smallint"}


def _sql_type(text: str) -> str:
    """A type name from the schema model as SQL (`Role` → `"Role"`, `serial` → `integer`)."""
    if text.startswith("<"):
        return text
    text = _SERIALS.get(text, text)
    match = re.fullmatch(r"([^()\[\]]+)(\(.*\))?((?:\[\])*)", text)
    if not match or re.fullmatch(r"[a-z0-9_ ]+", match.group(1)):
        return text
    base = ".".join(ast.quote_ident(part) for part in match.group(1).split("."))
    return base + (match.group(2) or "") + match.group(3)


class RenameColumn(Rule):
    """`ALTER TABLE … RENAME COLUMN` on a table the running application uses.

    Columns of tables created, and columns added, earlier in the same
    migration are not reported, nor a swap where a later statement of the same
    migration gives the old name to another column. Columns of a table renamed
    earlier in the same migration are not reported one by one: `rename-table`
    reports the table.

    ## Why is this bad?
    The application code deployed now keeps running during the deploy and
    until every instance is replaced. From the moment the rename commits, its
    queries that name the old column fail with *column does not exist*, and an
    ORM that selects every mapped column (Prisma, ActiveRecord, Hibernate) fails
    on every query of the table, until the new code runs everywhere.

    ## Example
    ```sql
    ALTER TABLE "User" RENAME COLUMN "name" TO "fullName";
    ```

    ## Use instead
    ```sql
    -- 1. expand: add the new column; deploy code that writes both columns
    ALTER TABLE "User" ADD COLUMN "fullName" text;
    -- 2. migrate: backfill in batches (repeat until it updates no row), then switch reads to "fullName"
    UPDATE "User" SET "fullName" = "name"
    WHERE "id" IN (SELECT "id" FROM "User" WHERE "fullName" IS NULL AND "name" IS NOT NULL LIMIT 1000);
    -- 3. contract, in a later migration once no deployed code uses it:
    -- ALTER TABLE "User" DROP COLUMN "name";
    ```

    ## When it's fine
    When no deployed code uses the column yet (it was added by a migration
    that has not shipped with code), or the deploy stops the application while
    the migration runs. With Prisma, renaming only the field (`@map`) keeps the
    column name and needs no migration.

    ## References
    - strong_migrations: [Renaming a column](https://github.com/ankane/strong_migrations#renaming-a-column)
    - PostgreSQL: [ALTER TABLE RENAME COLUMN](https://www.postgresql.org/docs/current/sql-altertable.html)
    - Prisma: [Mapping field names](https://www.prisma.io/docs/orm/prisma-schema/data-model/database-mapping#mapping-collection-table-and-field-names)
    """

    id = "rename-column"
    summary = "RENAME COLUMN breaks the application code running now: add, backfill, switch, then drop"
    severity = Severity.ERROR
    checklist = ("deploy-first",)
    statements = ("RenameStmt",)
    risk = Risk.MEDIUM
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if node.get("renameType") != "OBJECT_COLUMN":
            return
        relation = node.get("relation")
        table = ast.relation_name(relation)
        old, new = node.get("subname", "?"), node.get("newname", "?")
        if ctx.created_before("relation", table) or ctx.objects.column_added_before(table, old, ctx.index):
            return
        if _column_renamed_back(ctx, table, old):
            return
        qt, qo, qn = ast.quote_qualified(table), ast.quote_ident(old), ast.quote_ident(new)
        relation_type = node.get("relationType", "OBJECT_TABLE")
        if relation_type in ("OBJECT_VIEW", "OBJECT_MATVIEW"):
            kind = "view" if relation_type == "OBJECT_VIEW" else "materialized view"
            yield ctx.finding(
                relation,
                f"renaming column {qo} of {kind} {qt} to {qn} breaks the application code running now: its queries "
                f"that read {qo} fail with \"column does not exist\" until the new code is deployed",
                help=(f"Create a new view with the new column name (or with both names: `SELECT …, {qo}, {qo} AS {qn}`), "
                      f"deploy the code that reads {qn}, then drop the old one in a later migration."),
            )
            return
        model = ctx.schema.table(table)
        column = model.columns.get(old) if model is not None else None
        col_type = column.type if column is not None and column.type not in ("?", "") else "<type of " + old + ">"
        col_type = _sql_type(col_type)
        yield ctx.finding(
            relation,
            f"renaming column {qo} of {qt} to {qn} breaks the application code running now: its queries that use "
            f"{qo} fail with \"column does not exist\" from the moment this commits until the new code is deployed "
            f"(the rename itself takes a brief ACCESS EXCLUSIVE lock on {qt})",
            help=(
                f"Expand, migrate, contract: (1) `ALTER TABLE {qt} ADD COLUMN {qn} {col_type};` and deploy code that "
                f"writes both {qo} and {qn}; (2) backfill in batches, repeated until no row changes: "
                f"`{batched_update(ctx.schema, table, f'{qn} = {qo}', f'{qn} IS NULL AND {qo} IS NOT NULL')}`, then "
                f"deploy code that reads {qn}; (3) in a later migration, once no deployed code "
                f"uses it, `ALTER TABLE {qt} DROP COLUMN {qo};`."
                + (f" With Prisma, rename only the field and keep the column: `{new} … @map(\"{old}\")` in "
                   "schema.prisma needs no migration." if ctx.is_prisma else "")
            ),
        )
