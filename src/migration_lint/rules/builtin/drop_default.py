from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand


def _restores(cmd: dict[str, Any]) -> bool:
    subtype = cmd.get("subtype")
    return (subtype == "AT_ColumnDefault" and cmd.get("def") is not None) or subtype in ("AT_AddIdentity", "AT_DropColumn")


def _facts(stmt: Statement) -> Iterator[tuple[str | None, ...]]:
    """What a statement does to columns and tables, as far as this rule cares (indexed once per file)."""
    node = stmt.node
    if stmt.node_type == "AlterTableStmt":
        key = ast.table_key(ast.relation_name(node.get("relation")))
        for item in node.get("cmds") or ():
            cmd = ast.inner(item)
            if _restores(cmd):
                yield "restored", key, cmd.get("name")
            if cmd.get("subtype") == "AT_DropNotNull":
                yield "nullable", key, cmd.get("name")
    elif stmt.node_type == "DropStmt" and node.get("removeType") == "OBJECT_TABLE":
        for obj in node.get("objects") or ():
            yield "dropped", ast.table_key(".".join(ast.strings(ast.inner(obj).get("items"))))
    elif stmt.node_type == "RenameStmt" and node.get("renameType") == "OBJECT_COLUMN":
        yield "renamed", ast.table_key(ast.relation_name(node.get("relation"))), node.get("subname")
    elif stmt.node_type == "CreateTrigStmt":
        if node.get("timing", 0) & _TRIGGER_BEFORE and node.get("events", 0) & _TRIGGER_INSERT:
            yield "trigger", ast.table_key(ast.relation_name(node.get("relation")))


def _after(ctx: Context, fact: tuple[str | None, ...]) -> bool:
    positions = ctx.indexed("drop_default.facts", _facts).get(fact)
    return positions is not None and positions[-1] > ctx.index


def _anywhere(ctx: Context, fact: tuple[str, ...]) -> bool:
    return fact in ctx.indexed("drop_default.facts", _facts)


def _default_restored(ctx: Context, cmd: AlterCommand, table: str, column: str) -> bool:
    """Does a later command of this statement, or a later statement, give the column a default again
    (SET DEFAULT, ADD GENERATED … AS IDENTITY) or drop it?"""
    key = ast.table_key(table)
    if any(later.name == column and _restores(later.cmd) for later in cmd.later()):
        return True
    return _after(ctx, ("restored", key, column)) or _after(ctx, ("dropped", key))


def _covered_elsewhere(ctx: Context, table: str, column: str) -> bool:
    """Does the migration make the column nullable (drop-not-null reports that), rename it (rename-column),
    or create a BEFORE INSERT trigger on the table (which can fill the column)?"""
    key = ast.table_key(table)
    return (_anywhere(ctx, ("nullable", key, column)) or _after(ctx, ("renamed", key, column))
            or _anywhere(ctx, ("trigger", key)))


_TRIGGER_BEFORE = 2  # TRIGGER_TYPE_BEFORE
_TRIGGER_INSERT = 4  # TRIGGER_TYPE_INSERT


class DropDefault(Rule):
    """`ALTER COLUMN … DROP DEFAULT` on a table the running application writes to.

    Not reported: tables created earlier in the same migration; nullable
    columns (the running code's INSERTs store NULL and nothing fails; when the
    migration drops NOT NULL, `drop-not-null` reports it); a default that a
    later statement of the migration sets again (Prisma drops and restores
    defaults around an enum type change) or replaces with an identity; a
    column the migration drops or renames (`rename-column` reports that); a
    table that gets a `BEFORE INSERT` trigger in the same migration (it can
    fill the column).

    ## Why is this bad?
    The application code deployed now keeps running during the deploy. Its
    INSERTs that leave the column out relied on the default: once the default
    is gone they fail with a not-null violation (SQLSTATE 23502) if the column
    is NOT NULL. A column added
    with `NOT NULL DEFAULT …` and stripped of its default in the same migration
    (a common way to fill existing rows) breaks every INSERT of the running
    code, which does not know the column yet.

    ## Example
    ```sql
    ALTER TABLE "Invoice" ADD COLUMN "currency" text NOT NULL DEFAULT 'EUR';
    ALTER TABLE "Invoice" ALTER COLUMN "currency" DROP DEFAULT;
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Invoice" ADD COLUMN "currency" text NOT NULL DEFAULT 'EUR';
    -- later, once every deployed instance writes "currency" itself:
    -- ALTER TABLE "Invoice" ALTER COLUMN "currency" DROP DEFAULT;
    ```

    ## When it's fine
    When every deployed version of the code already writes the column on
    every INSERT, or the deploy stops the application while it runs.

    ## References
    - PostgreSQL: [ALTER TABLE ALTER COLUMN DROP DEFAULT](https://www.postgresql.org/docs/current/sql-altertable.html)
    - strong_migrations: [Backward compatible changes](https://github.com/ankane/strong_migrations#checks)
    """

    id = "drop-default"
    summary = "DROP DEFAULT breaks INSERTs of the running code that leave the column out"
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
        model = ctx.schema.table(table)
        qt = ast.quote_qualified(table)
        groups: dict[str, list[str]] = {}  # one finding per kind of column: the statement's DROP DEFAULTs together
        for cmd in ast.alter_commands(node):
            if cmd.subtype != "AT_ColumnDefault" or cmd.cmd.get("def") is not None:
                continue
            column = cmd.name or "?"
            col = model.columns.get(column) if model is not None else None
            added = ctx.objects.column_added_before(table, column, ctx.index)
            if (added or col is not None) and (col is None or not col.not_null):
                continue  # a nullable column: the running code's INSERTs store NULL, nothing fails
            if _default_restored(ctx, cmd, table, column) or _covered_elsewhere(ctx, table, column):
                continue
            kind = "added" if added else "not_null" if col is not None else "unknown"
            groups.setdefault(kind, []).append(column)
        for kind, columns in groups.items():
            quoted = [ast.quote_ident(c) for c in columns]
            listed = ", ".join(quoted)
            one = len(columns) == 1
            what = f"{qt}.{quoted[0]}" if one else f"{qt} ({listed})"
            it = quoted[0] if one else "them"
            if kind == "added":
                message = (f"DROP DEFAULT on {what}, {'a NOT NULL column' if one else 'NOT NULL columns'} added by this "
                           f"migration: the running code does not write {it}, so every INSERT it makes into {qt} "
                           "fails with a not-null violation until the new code is deployed")
            elif kind == "not_null":
                message = (f"DROP DEFAULT on the NOT NULL {'column' if one else 'columns'} {what}: INSERTs of the "
                           f"running code that leave {it} out fail with a not-null violation from the moment this "
                           "commits")
            else:
                message = (f"DROP DEFAULT on {what}: if {'it is' if one else 'they are'} NOT NULL, INSERTs of the "
                           f"running code that leave {it} out fail with a not-null violation from the moment this "
                           "commits (otherwise they store NULL instead of the default)")
            drops = ", ".join(f"ALTER COLUMN {q} DROP DEFAULT" for q in quoted)
            yield ctx.finding(
                node.get("relation"),
                message,
                help=(f"Expand, then contract: first deploy code that writes {listed} on every INSERT into {qt}; then, "
                      f"in a later migration, `ALTER TABLE {qt} {drops};`."
                      + (" With Prisma, keep `@default(…)` in schema.prisma until the code sets the field everywhere."
                         if ctx.is_prisma else "")),
            )
