from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.locks import VOLATILE_FUNCTIONS, volatile_expression
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import batched_update, prisma_edit_hint
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand
from migration_lint.syntax.text import COLUMN_CONSTRAINT_WORDS, clause_text
from migration_lint.syntax.types import sql_type

_SERIALS = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})
_SERIAL_BASE = {"serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint",
                "smallserial": "smallint", "serial2": "smallint"}


class AddColumnRewrite(Rule):
    """`ADD COLUMN` that fills every existing row, rewriting a table in use.

    A volatile default (`gen_random_uuid()`, `clock_timestamp()`, `random()`,
    `nextval(…)`, a function not known to be stable), any non-null default
    before PostgreSQL 11, a `GENERATED … STORED` column, an identity column
    and a `serial`/`bigserial` column all make PostgreSQL compute a value for
    every existing row. A constant default, `now()` or `CURRENT_TIMESTAMP` on
    PostgreSQL 11+ is stored once in the catalog and is not reported, nor is
    anything on a table created earlier in the same migration.

    ## Why is this bad?
    The table is rewritten while the statement holds an ACCESS EXCLUSIVE lock:
    every read and write of the table waits until all rows have been copied,
    which on a large table is minutes, and the rewrite needs disk space for a
    second copy of the table and its indexes.

    ## Example
    ```sql
    ALTER TABLE "Order" ADD COLUMN "publicId" uuid NOT NULL DEFAULT gen_random_uuid();
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Order" ADD COLUMN "publicId" uuid;
    ALTER TABLE "Order" ALTER COLUMN "publicId" SET DEFAULT gen_random_uuid();
    -- then backfill the existing rows in batches, outside the migration:
    -- UPDATE "Order" SET "publicId" = gen_random_uuid() WHERE id IN (SELECT id FROM "Order" WHERE "publicId" IS NULL LIMIT 1000);
    ```

    ## When it's fine
    On a table created in the same migration, or one known to stay small.
    A function that is really `STABLE` or `IMMUTABLE` (check `provolatile` in
    `pg_proc`) does not rewrite on PostgreSQL 11+: suppress with that reason.

    ## References
    - PostgreSQL: [ALTER TABLE, Notes](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES) ("adding a column with a volatile DEFAULT … will require the entire table and its indexes to be rewritten")
    - PostgreSQL 11 release notes: [fast ADD COLUMN with a non-null default](https://www.postgresql.org/docs/11/release-11.html)
    - strong_migrations: [Adding a column with a volatile default value](https://github.com/ankane/strong_migrations#adding-a-column-with-a-volatile-default-value)
    """

    id = "add-column-rewrite"
    summary = "ADD COLUMN with a volatile default, a stored generated, identity or serial column rewrites the table"
    severity = Severity.ERROR
    checklist = ("lock-timeout", "long-lock")
    alter_commands = ("AT_AddColumn",)
    lock = "ACCESS EXCLUSIVE"

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        table = cmd.table
        if ctx.is_new_table(table):
            return
        _, coldef = cmd.definition
        finding = self._column(coldef, table, ast.quote_qualified(table), ctx)
        if finding is not None:
            yield finding

    def _column(self, coldef: dict, table: str, qt: str, ctx: Context) -> Finding | None:
        column = coldef.get("colname", "?")
        qc = ast.quote_ident(column)
        type_text = ast.type_name(coldef.get("typeName"))
        type_sql = sql_type(coldef.get("typeName"))
        constraints = [ast.unwrap(c)[1] for c in coldef.get("constraints") or ()]
        not_null = any(c.get("contype") in ("CONSTR_NOTNULL", "CONSTR_PRIMARY") for c in constraints)
        then_not_null = (
            " Then make it NOT NULL without a long lock (see `set-not-null`)." if not_null else ""
        )
        lock_words = (f"under an ACCESS EXCLUSIVE lock: reads and writes of {qt} wait until every row has been "
                      "rewritten")

        if type_text in _SERIALS:
            base = _SERIAL_BASE[type_text]
            sequence = ast.quote_ident(f"{table.split('.')[-1]}_{column}_seq")
            assignment = f"{qc} = nextval('{sequence}')"
            return ctx.finding(
                coldef.get("typeName") or coldef,
                f"ADD COLUMN {qc} {type_text} rewrites {qt} (every existing row gets a value from a new sequence) "
                + lock_words,
                help=(
                    f"Add a plain column and fill it in batches: `ALTER TABLE {qt} ADD COLUMN {qc} {base};`, "
                    f"`CREATE SEQUENCE {sequence} OWNED BY {qt}.{qc};`, "
                    f"`ALTER TABLE {qt} ALTER COLUMN {qc} SET DEFAULT nextval('{sequence}');` (new rows only, no "
                    "rewrite), then backfill the existing rows outside the migration: "
                    f"`{batched_update(ctx.schema, table, assignment, f'{qc} IS NULL')}` "
                    "repeated until it updates no row, then make it NOT NULL without a long lock (see `set-not-null`)."
                    + prisma_edit_hint(ctx)
                ),
            )
        for con in constraints:
            contype = con.get("contype")
            if contype == "CONSTR_IDENTITY":
                return ctx.finding(
                    con,
                    f"ADD COLUMN {qc} … GENERATED AS IDENTITY rewrites {qt} (every existing row gets a value from the "
                    "identity sequence) " + lock_words,
                    help=(
                        f"Add a plain column, backfill it, then make it an identity: `ALTER TABLE {qt} ADD COLUMN {qc} "
                        f"{type_sql};`, backfill the existing rows in batches (outside the migration), make it NOT NULL "
                        f"without a long lock (see `set-not-null`), then `ALTER TABLE {qt} ALTER COLUMN {qc} ADD "
                        f"GENERATED BY DEFAULT AS IDENTITY;` (no rewrite) and move the sequence past the backfilled "
                        f"values with `SELECT setval(pg_get_serial_sequence('{qt}', '{column}'), max({qc})) FROM {qt};`."
                        + prisma_edit_hint(ctx)
                    ),
                )
            if contype == "CONSTR_GENERATED" and con.get("generated_kind", "s") == "s":
                virtual = (" On PostgreSQL 18+, a VIRTUAL generated column is computed when read and adds no "
                           "rewrite." if ctx.pg_version >= 18 else "")
                return ctx.finding(
                    con,
                    f"ADD COLUMN {qc} … GENERATED ALWAYS AS (…) STORED rewrites {qt} (the expression is computed and "
                    "stored for every existing row) " + lock_words,
                    help=(
                        f"There is no rewrite-free way to add a stored generated column to a large table. Add a plain "
                        f"column (`ALTER TABLE {qt} ADD COLUMN {qc} {type_sql};`), fill it for new rows with a "
                        "trigger, backfill the existing rows in batches outside the migration, or compute the value in "
                        "a view or the query instead." + virtual + prisma_edit_hint(ctx)
                    ),
                )
            if contype == "CONSTR_DEFAULT":
                expr = con.get("raw_expr")
                if expr is None or _is_null(expr):
                    continue
                default_sql = clause_text(ctx.source, ctx.statement, con.get("location"), COLUMN_CONSTRAINT_WORDS, skip_first=1) or "<value>"
                if ctx.pg_version < 11:
                    return ctx.finding(
                        con,
                        f"ADD COLUMN {qc} with a DEFAULT rewrites {qt} before PostgreSQL 11 (the default is written "
                        "into every existing row) " + lock_words,
                        help=(
                            f"Add it without a default, then set the default for new rows and backfill the old ones: "
                            f"`ALTER TABLE {qt} ADD COLUMN {qc} {type_sql};`, "
                            f"`ALTER TABLE {qt} ALTER COLUMN {qc} SET DEFAULT {default_sql};`, then "
                            f"`{batched_update(ctx.schema, table, f'{qc} = {default_sql}', f'{qc} IS NULL')}` repeated until "
                            "it updates no row (outside the migration)." + then_not_null + prisma_edit_hint(ctx)
                        ),
                    )
                function = volatile_expression(expr)
                if function is None:
                    continue
                if function in VOLATILE_FUNCTIONS:
                    why = f"{function}() is volatile, so PostgreSQL computes it for every existing row"
                elif function == "a subquery":
                    why = "the default holds a subquery, computed for every existing row"
                else:
                    why = (f"{function}() is not known to be STABLE or IMMUTABLE; if it is volatile, PostgreSQL "
                           "computes it for every existing row")
                return ctx.finding(
                    con,
                    f"ADD COLUMN {qc} … DEFAULT {default_sql} rewrites {qt} ({why}) " + lock_words,
                    help=(
                        f"Add the column without the default, then set it for new rows and backfill the old ones: "
                        f"`ALTER TABLE {qt} ADD COLUMN {qc} {type_sql};`, "
                        f"`ALTER TABLE {qt} ALTER COLUMN {qc} SET DEFAULT {default_sql};` (no rewrite: it only "
                        f"applies to new rows), then "
                        f"`{batched_update(ctx.schema, table, f'{qc} = {default_sql}', f'{qc} IS NULL')}` repeated until it "
                        "updates no row (outside the migration)." + then_not_null + prisma_edit_hint(ctx)
                    ),
                )
        return None


def _is_null(expr: object) -> bool:
    kind, value = ast.unwrap(expr)
    while kind == "TypeCast":
        kind, value = ast.unwrap(value.get("arg"))
    return kind == "A_Const" and bool(value.get("isnull"))
