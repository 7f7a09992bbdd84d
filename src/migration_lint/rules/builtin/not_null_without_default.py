from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_schema_hint
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand

_FILLED = ("CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED")
_SERIALS = ("serial", "bigserial", "smallserial", "serial2", "serial4", "serial8")


class NotNullWithoutDefault(Rule):
    """`ADD COLUMN … NOT NULL` without a `DEFAULT` on a table that already exists.

    ## Why is this bad?
    Every existing row would get NULL in the new column, so PostgreSQL refuses
    the statement as soon as the table has one row: *column contains null
    values* (SQLSTATE 23502). It passes on an empty development database and
    fails in production.

    ## Example
    ```sql
    ALTER TABLE "Client" ADD COLUMN "companySize" INTEGER NOT NULL;
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Client" ADD COLUMN "companySize" INTEGER NOT NULL DEFAULT 0;
    ```

    ## When it's fine
    On a table created in the same migration, or one that is guaranteed to be
    empty everywhere the migration runs. Without a sensible default, add the
    column as nullable, backfill it in batches, then add the NOT NULL
    constraint without a long lock (see `set-not-null`).

    ## References
    - PostgreSQL: [ALTER TABLE ADD COLUMN](https://www.postgresql.org/docs/current/sql-altertable.html)
    - PostgreSQL 11 release notes: non-null column defaults no longer rewrite the table
    """

    id = "not-null-without-default"
    summary = "ADD COLUMN … NOT NULL without DEFAULT fails on any table that has rows"
    severity = Severity.ERROR
    predicts = ("23502",)
    checklist = ("batch",)
    alter_commands = ("AT_AddColumn",)
    risk = Risk.HIGH
    lock = "ACCESS EXCLUSIVE"

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        table = cmd.table
        if ctx.is_new_table(table):
            return
        qt = ast.quote_qualified(table)
        _, coldef = cmd.definition
        type_name = ast.type_name(coldef.get("typeName"))
        constraints = [ast.unwrap(c)[1] for c in coldef.get("constraints") or ()]
        kinds = {c.get("contype") for c in constraints}
        if not kinds & {"CONSTR_NOTNULL", "CONSTR_PRIMARY"}:
            return
        if kinds & set(_FILLED) or type_name in _SERIALS:
            return
        column = coldef.get("colname", "?")
        qc = ast.quote_ident(column)
        sql_type = _sql_type(coldef)
        yield ctx.finding(
            coldef,
            f"ADD COLUMN {qc} {sql_type} NOT NULL without a DEFAULT fails as soon as {qt} has a row "
            "(existing rows would hold NULL)",
            help=(
                f"Give it a default: `ALTER TABLE {qt} ADD COLUMN {qc} {sql_type} NOT NULL DEFAULT <value>;` "
                "(a constant default adds no rewrite on PostgreSQL 11+). Without a sensible default: "
                f"`ALTER TABLE {qt} ADD COLUMN {qc} {sql_type};`, backfill it in batches, then "
                f"`ALTER TABLE {qt} ADD CONSTRAINT {ast.quote_ident(_check_name(table, column))} CHECK ({qc} IS NOT NULL) NOT VALID;`, "
                f"`ALTER TABLE {qt} VALIDATE CONSTRAINT {ast.quote_ident(_check_name(table, column))};`, "
                f"`ALTER TABLE {qt} ALTER COLUMN {qc} SET NOT NULL;`."
                + prisma_schema_hint(ctx, f"give `{column}` a `@default(...)` or make it optional (`Type?`)")
            ),
        )


def _sql_type(coldef: dict) -> str:
    text = ast.type_name(coldef.get("typeName"))
    return {"int4": "integer", "int8": "bigint", "int2": "smallint", "bool": "boolean", "float8": "double precision",
            "float4": "real", "bpchar": "char"}.get(text, text)


def _check_name(table: str, column: str) -> str:
    return f"{table.split('.')[-1]}_{column}_not_null"
