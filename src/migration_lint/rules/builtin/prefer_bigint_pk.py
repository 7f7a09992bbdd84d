from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from migration_lint.facts.columns import column_site, old_type
from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_schema_hint
from migration_lint.syntax import ast
from migration_lint.syntax.text import replace_type
from migration_lint.syntax.types import type_base

_KINDS = {
    "int4": "integer", "integer": "integer", "int": "integer", "int2": "smallint", "smallint": "smallint",
    "serial": "serial", "serial4": "serial", "smallserial": "smallserial", "serial2": "smallserial",
}
_WIDER = {"integer": "bigint", "smallint": "bigint", "serial": "bigserial", "smallserial": "bigserial"}
_LIMIT = {"integer": "2,147,483,647", "serial": "2,147,483,647", "smallint": "32,767", "smallserial": "32,767"}
_BIG = frozenset({"int8", "bigint", "bigserial", "serial8", "numeric"})


class PreferBigintPk(Rule):
    """An `integer` / `serial` / `smallint` primary key or sequence-generated column, instead of `bigint`.

    Checked where the column is defined (`CREATE TABLE`, `ALTER TABLE … ADD
    COLUMN`): a `serial` / `smallserial` column, or an `integer` / `smallint`
    column that is an identity or has `DEFAULT nextval(…)`, usually the primary
    key. pg_dump's style counts too (the column first, then `SET DEFAULT
    nextval(…)` or `ADD GENERATED … AS IDENTITY` later in the same migration).
    Also an `ALTER COLUMN … TYPE integer` that narrows a known `bigint` primary
    key. Not reported: integer keys that no sequence feeds (they copy another
    table's key, which is where the fix belongs, or come from the application),
    and a sequence-fed column whose default is dropped or whose type is changed
    later in the same migration (Prisma fills a new column that way).

    ## Why is this bad?
    An `integer` key runs out at 2,147,483,647 (`smallint` at 32,767); after
    that every INSERT fails with "nextval: reached maximum value of sequence"
    or "integer out of range". Busy tables get there sooner than expected (ids
    are burned by rolled-back inserts and `ON CONFLICT` upserts too). Widening
    it then is `ALTER COLUMN … TYPE bigint`, which rewrites the table and all
    its indexes under an ACCESS EXCLUSIVE lock, and the same again for every
    foreign key column that references it. `bigint` costs 4 more bytes a row.

    ## Example
    ```sql
    CREATE TABLE "Event" ("id" serial PRIMARY KEY, "name" text NOT NULL);
    ```

    ## Use instead
    ```sql
    CREATE TABLE "Event" ("id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "name" text NOT NULL);
    ```

    ## When it's fine
    For a table that stays small by nature (a list of countries, a lookup
    table of statuses). Suppress with that reason.

    ## References
    - PostgreSQL: [Numeric Types](https://www.postgresql.org/docs/current/datatype-numeric.html)
    - PostgreSQL wiki: [Don't use serial](https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_serial)
    - PostgreSQL: [CREATE TABLE, GENERATED AS IDENTITY](https://www.postgresql.org/docs/current/sql-createtable.html)
    """

    id = "prefer-bigint-pk"
    summary = "integer/serial primary key or identity overflows at 2^31-1; use bigint"
    severity = Severity.WARNING
    nodes = ("ColumnDef",)

    def check_node(self, node: dict, ctx: Context) -> Iterable[Finding]:
        site = column_site(node, ctx)
        if site is None:
            return
        kind, table, column, _ = site
        type_node: dict = node.get("typeName") or {}
        int_kind = _int_kind(type_node)
        if int_kind is None:
            return
        constraints = [ast.inner(c) for c in node.get("constraints") or ()]
        qt, qc = ast.quote_qualified(table), ast.quote_ident(column)
        if kind == "type":
            yield from self._narrowed(node, ctx, table, column, type_node, int_kind)
            return
        generated = int_kind in ("serial", "smallserial") or any(_generates(c) for c in constraints)
        primary = any(c.get("contype") == "CONSTR_PRIMARY" for c in constraints)
        if kind == "create":
            for element in ctx.statement.node.get("tableElts") or ():
                etype, con = ast.unwrap(element)
                if etype == "Constraint" and con.get("contype") == "CONSTR_PRIMARY" and ast.strings(con.get("keys")) == [column]:
                    primary = True
        later = _later_in_file(ctx, table, column)
        if "widened" in later:
            return  # changed to another type later in this migration
        primary = primary or "primary" in later
        generated = (generated or "generated" in later) and "not-generated" not in later
        if not generated:
            return  # not fed by a sequence: the key comes from elsewhere (a foreign key, the application)
        wider = _WIDER[int_kind]
        replaced = replace_type(ctx.source, ctx.statement, type_node, wider) if kind == "add" else None
        fix = f"`{replaced}`" if replaced else f"Declare {qc} as `{wider}` instead of `{int_kind}` in CREATE TABLE {qt}."
        if primary:
            fix += " Columns that reference it must be bigint too."
        role = "primary key" if primary else "column"
        if int_kind.endswith("serial"):
            what = f"a {int_kind} column" + (" and the primary key" if primary else "")
        elif any(c.get("contype") == "CONSTR_IDENTITY" for c in constraints) or "identity" in later:
            what = f"an {int_kind} identity {role}"
        else:
            what = f"an {int_kind} {role} fed by a sequence"
        prisma = "BigInt @id @default(autoincrement())" if primary else "BigInt @default(autoincrement())"
        yield ctx.finding(
            type_node,
            f"{qt}.{qc} is {what}: it runs out at {_LIMIT[int_kind]}, after which every INSERT fails, and widening "
            "it to bigint then rewrites the table and its indexes under an ACCESS EXCLUSIVE lock (and every foreign "
            "key column that references it)",
            help=fix + prisma_schema_hint(
                ctx, f"declare it as `{prisma}`" + (" (and the fields that reference it as `BigInt`)" if primary else "")),
        )

    def _narrowed(self, node: dict, ctx: Context, table: str, column: str, type_node: dict, int_kind: str) -> Iterable[Finding]:
        """ALTER COLUMN … TYPE integer on a known bigint single-column primary key."""
        model = ctx.schema.table(table)
        old = old_type(ctx.schema, table, column)
        if model is None or old is None or type_base(old) not in _BIG:
            return
        if not any(c.kind == "CONSTR_PRIMARY" and c.columns == [column] for c in model.constraints):
            return
        qt, qc = ast.quote_qualified(table), ast.quote_ident(column)
        old = {"int8": "bigint", "serial8": "bigserial"}.get(old, old)
        yield ctx.finding(
            type_node,
            f"{qt}.{qc} is a primary key and this narrows it from {old} to {int_kind}: it runs out at "
            f"{_LIMIT[int_kind]}, after which every INSERT fails",
            help=f"Keep {qt}.{qc} {old}: leave its type out of this ALTER TABLE.",
        )


def _int_kind(type_node: Any) -> str | None:
    if not isinstance(type_node, dict) or type_node.get("arrayBounds"):
        return None
    names = ast.strings(type_node.get("names"))
    if not names or (len(names) == 2 and names[0] != "pg_catalog") or len(names) > 2:
        return None
    return _KINDS.get(names[-1])


def _generates(con: dict) -> bool:
    """An identity constraint or DEFAULT nextval(…)."""
    if con.get("contype") == "CONSTR_IDENTITY":
        return True
    if con.get("contype") == "CONSTR_DEFAULT":
        kind, call = ast.unwrap(con.get("raw_expr"))
        return kind == "FuncCall" and ast.strings(call.get("funcname"))[-1:] == ["nextval"]
    return False


def _altered_table(stmt: Statement) -> Iterator[str]:
    if stmt.node_type == "AlterTableStmt":
        yield ast.table_key(ast.relation_name(stmt.node.get("relation")))


def _later_in_file(ctx: Context, table: str, column: str) -> set[str]:
    """What later statements of this migration do to the column.

    "primary" (pg_dump style `ADD CONSTRAINT … PRIMARY KEY (column)`), "generated" (`SET DEFAULT nextval(…)`,
    `ADD GENERATED … AS IDENTITY`), "not-generated" (`DROP DEFAULT`, as Prisma does after filling a new column from a
    sequence), "widened" (`ALTER COLUMN … TYPE`).
    """
    key = ast.table_key(table)
    found: set[str] = set()
    later = [i for i in ctx.indexed("alter_table_by_table", _altered_table).get(key, ()) if i > ctx.index]
    for stmt in (ctx.statements[i] for i in later):
        for item in stmt.node.get("cmds") or ():
            cmd = ast.inner(item)
            subtype = cmd.get("subtype")
            if subtype == "AT_AddConstraint":
                con = ast.inner(cmd.get("def"))
                if con.get("contype") == "CONSTR_PRIMARY" and ast.strings(con.get("keys")) == [column]:
                    found.add("primary")
            elif cmd.get("name") == column:
                if subtype == "AT_AlterColumnType":
                    if _int_kind(ast.inner(cmd.get("def")).get("typeName")) is None:
                        return {"widened"}
                elif subtype == "AT_ColumnDefault":
                    if cmd.get("def") is None:
                        return {"not-generated"}
                    if _generates({"contype": "CONSTR_DEFAULT", "raw_expr": cmd.get("def")}):
                        found.add("generated")
                elif subtype == "AT_AddIdentity":
                    found.update(("generated", "identity"))
                elif subtype == "AT_DropIdentity":
                    return {"not-generated"}
    return found
